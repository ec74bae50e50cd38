//! Finding and loading the running kernel's BTF from a dump (`__start_BTF`..`__stop_BTF`),
//! once per [`crate::Kernel`], with the failure kept so every caller gets the same answer.

use super::*;

/// A larger `__stop_BTF - __start_BTF` is not a kernel's BTF (6.12's is about 5 MiB; an
/// allyesconfig build's about 30 MiB).
pub const MAX_KERNEL_BTF: u64 = 256 << 20;

/// Why the kernel's BTF could not be loaded, kept so that every caller gets the same answer.
#[derive(Debug, Clone)]
pub(crate) enum LoadError {
    NoBtf(String),
    Btf { addr: u64, source: BtfError },
    Other { addr: u64, detail: String },
}

impl LoadError {
    pub(crate) fn from_error(e: &crate::Error) -> Self {
        match e {
            crate::Error::NoBtf { why } => LoadError::NoBtf(why.clone()),
            crate::Error::Btf { addr, source } => LoadError::Btf {
                addr: *addr,
                source: source.clone(),
            },
            other => LoadError::Other {
                addr: other.addr().unwrap_or(0),
                detail: other.to_string(),
            },
        }
    }

    pub(crate) fn to_error(&self) -> crate::Error {
        match self {
            LoadError::NoBtf(why) => crate::Error::NoBtf { why: why.clone() },
            LoadError::Btf { addr, source } => crate::Error::Btf {
                addr: *addr,
                source: source.clone(),
            },
            LoadError::Other { addr, detail } => crate::Error::Corrupt {
                what: "kernel BTF",
                addr: *addr,
                detail: detail.clone(),
            },
        }
    }
}

/// Read and parse the kernel's BTF from `mem`, finding `__start_BTF`/`__stop_BTF` through
/// `lookup` (kallsyms). No such symbols: [`crate::Error::NoBtf`], naming
/// CONFIG_DEBUG_INFO_BTF. Other errors name the kernel address that was wrong.
pub fn read_kernel_btf(
    lookup: impl Fn(&str) -> Option<u64>,
    mem: &(impl crate::mem::KernelMemory + ?Sized),
) -> crate::Result<Btf> {
    load(lookup, mem).map_err(|e| e.to_error())
}

fn load(
    lookup: impl Fn(&str) -> Option<u64>,
    mem: &(impl crate::mem::KernelMemory + ?Sized),
) -> std::result::Result<Btf, LoadError> {
    let (Some(start), Some(stop)) = (lookup("__start_BTF"), lookup("__stop_BTF")) else {
        return Err(LoadError::NoBtf(
            "kallsyms has no __start_BTF/__stop_BTF".into(),
        ));
    };
    let len = stop
        .checked_sub(start)
        .filter(|&l| l > 0 && l <= MAX_KERNEL_BTF);
    let Some(len) = len else {
        return Err(LoadError::Other {
            addr: start,
            detail: format!(
                "__start_BTF {start:#x} .. __stop_BTF {stop:#x} is not a BTF blob (at most {MAX_KERNEL_BTF} bytes)"
            ),
        });
    };
    let bytes = mem
        .read_vec(start, len as usize)
        .map_err(|e| LoadError::Other {
            addr: e.addr().unwrap_or(start),
            detail: e.to_string(),
        })?;
    Btf::parse(bytes).map_err(|source| LoadError::Btf {
        addr: start,
        source,
    })
}

impl crate::Kernel<'_> {
    /// The kernel's own BTF (`__start_BTF`..`__stop_BTF`), read and indexed on first use.
    /// [`crate::Error::NoBtf`] when the kernel was built without CONFIG_DEBUG_INFO_BTF.
    pub fn btf(&self) -> crate::Result<&Btf> {
        self.btf_shared().map(|b| &**b)
    }

    /// The kernel's BTF as a shared handle (the base of module BTF).
    pub(crate) fn btf_shared(&self) -> crate::Result<&Arc<Btf>> {
        let r = self.btf.get_or_init(|| {
            let syms = self.symbols().map_err(|e| LoadError::from_error(&e))?;
            load(|name| syms.lookup_addr(name), self.memory()).map(Arc::new)
        });
        r.as_ref().map_err(LoadError::to_error)
    }
}
