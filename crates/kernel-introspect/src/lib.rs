//! What crashed, from a Linux crash dump alone: the kernel's symbols (kallsyms), per-CPU
//! backtraces (the in-memory ORC unwind tables), types (the in-memory BTF), tasks and modules —
//! read from the dump with vmcoreinfo as the only key, no vmlinux and no debug package.
//!
//! ```no_run
//! let dump = vmcore::Dump::open("/var/crash/vmcore")?;
//! let kernel = kernel_introspect::Kernel::new(&dump)?;
//! let syms = kernel.symbols()?;
//! for cpu in dump.cpus() {
//!     if let Some(at) = cpu.regs.as_ref().and_then(|r| syms.symbolize(r.pc())) {
//!         println!("register note {} stopped in {at}", cpu.note_index);
//!     }
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Everything is read lazily through [`mem::KernelMemory`]; each table is decoded once per
//! [`Kernel`] and kept. Errors name the kernel virtual address (or vmcoreinfo key) that was
//! missing or wrong; nothing here panics on a corrupt dump, and every loop over dump data has a
//! documented bound.
#![deny(missing_docs)]

pub mod btf;
pub mod crash;
pub mod kallsyms;
pub mod mem;
pub mod modbtf;
pub mod module;
pub mod orc;
pub mod percpu;
pub mod task;
pub mod unwind;

use std::sync::OnceLock;

pub use crash::{CpuBacktrace, CrashSite, CrashSummary};
pub use kallsyms::{AddressEncoding, Kallsyms, Symbol, SymbolOffset};
pub use mem::KernelMemory;
pub use module::SymbolTables;
pub use percpu::CpuMask;
pub use unwind::{Backtrace, Frame, FrameKind, StackKind, StartRegs, StopReason, Unwinder};

/// Result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why kernel state could not be read from a dump.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A vmcoreinfo key this needs is missing.
    #[error("vmcoreinfo has no {key}: {why}")]
    MissingVmcoreinfo {
        /// The key (without `SYMBOL(…)`).
        key: &'static str,
        /// What it is needed for, and since when kernels export it.
        why: &'static str,
    },
    /// A kernel symbol this needs is not in kallsyms.
    #[error("kernel symbol {name} not found in kallsyms: {why}")]
    MissingSymbol {
        /// The symbol.
        name: &'static str,
        /// What it is needed for.
        why: &'static str,
    },
    /// Kernel memory could not be read from the dump.
    // The reader's reason is part of the message (not an error source), because findings
    // keep only the message: "excluded by its dump level" is what a user needs to see.
    #[error("cannot read {len} bytes of kernel memory at {addr:#x}: {cause}")]
    Read {
        /// The kernel virtual address.
        addr: u64,
        /// The length asked for.
        len: u64,
        /// Why (not mapped, excluded by makedumpfile, truncated file…).
        cause: Box<vmcore::Error>,
    },
    /// An address range of test or synthetic memory that is not mapped.
    #[error("kernel address {addr:#x} ({len} bytes) is not mapped")]
    Unmapped {
        /// The kernel virtual address.
        addr: u64,
        /// The length asked for.
        len: u64,
    },
    /// An address plus a length runs past the end of the address space.
    #[error("{len:#x} bytes at {addr:#x} run past the end of the address space")]
    AddressOverflow {
        /// The start.
        addr: u64,
        /// The length.
        len: u64,
    },
    /// A table decoded once per [`Kernel`] could not be decoded; later calls repeat the first
    /// call's reason.
    #[error("{what} unavailable: {reason}")]
    Unavailable {
        /// The table (`kallsyms`, …).
        what: &'static str,
        /// Why, as the first attempt reported it.
        reason: String,
    },
    /// A kernel structure holds values no kernel writes.
    #[error("{what} at {addr:#x}: {detail}")]
    Corrupt {
        /// The structure.
        what: &'static str,
        /// Its kernel virtual address.
        addr: u64,
        /// What was wrong.
        detail: String,
    },
    /// The dump has no kernel BTF (tasks and modules need it).
    #[error(
        "no kernel BTF in the dump ({why}): tasks and modules need a kernel built with CONFIG_DEBUG_INFO_BTF=y"
    )]
    NoBtf {
        /// What was missing.
        why: String,
    },
    /// The kernel's (or a module's) BTF is malformed or lacks a type this needs.
    #[error("BTF at {addr:#x}: {source}")]
    Btf {
        /// Kernel virtual address of the BTF blob.
        addr: u64,
        /// What was wrong.
        source: btf::BtfError,
    },
    /// The dump cannot be used for this at all (no vmcoreinfo, no page tables…).
    #[error(transparent)]
    Dump(#[from] vmcore::Error),
}

impl Error {
    /// A stable short name for the kind of error (as `vmcore::Error::code`); a dump error
    /// keeps the reader's code.
    pub fn code(&self) -> &'static str {
        match self {
            Error::MissingVmcoreinfo { .. } => "missing-vmcoreinfo",
            Error::MissingSymbol { .. } => "missing-symbol",
            Error::Read { .. } => "kernel-memory-unreadable",
            Error::Unmapped { .. } => "unmapped",
            Error::AddressOverflow { .. } => "address-overflow",
            Error::Unavailable { .. } => "unavailable",
            Error::Corrupt { .. } => "corrupt",
            Error::NoBtf { .. } => "no-btf",
            Error::Btf { .. } => "bad-btf",
            Error::Dump(e) => e.code(),
        }
    }

    /// The kernel virtual address the error is about, when it is about one.
    pub fn addr(&self) -> Option<u64> {
        match self {
            Error::Read { addr, .. }
            | Error::Unmapped { addr, .. }
            | Error::AddressOverflow { addr, .. }
            | Error::Corrupt { addr, .. } => Some(*addr),
            Error::Btf { addr, source } => Some(addr.wrapping_add(source.offset().unwrap_or(0))),
            _ => None,
        }
    }
}

/// The kernel inside a dump: the entry point of this crate. Tables are decoded on first use and
/// kept.
#[derive(Debug)]
pub struct Kernel<'d> {
    dump: &'d vmcore::Dump,
    mem: vmcore::paging::VirtReader<'d>,
    kallsyms: OnceLock<std::result::Result<Kallsyms, String>>,
    btf: OnceLock<std::result::Result<std::sync::Arc<btf::Btf>, btf::LoadError>>,
    modules: OnceLock<std::result::Result<module::Modules, btf::LoadError>>,
}

impl<'d> Kernel<'d> {
    /// The kernel of `dump`, read through its kernel page tables. Fails when the dump has no
    /// vmcoreinfo or no usable page tables (a raw elfcorehdr, an unsupported architecture).
    pub fn new(dump: &'d vmcore::Dump) -> Result<Self> {
        let mem = dump.virt_reader()?;
        Ok(Kernel {
            dump,
            mem,
            kallsyms: OnceLock::new(),
            btf: OnceLock::new(),
            modules: OnceLock::new(),
        })
    }

    /// The dump.
    pub fn dump(&self) -> &'d vmcore::Dump {
        self.dump
    }

    /// Kernel virtual memory.
    pub fn memory(&self) -> &vmcore::paging::VirtReader<'d> {
        &self.mem
    }

    /// vmcoreinfo (present: [`Kernel::new`] needs it for the page tables).
    pub fn vmcoreinfo(&self) -> Result<&'d vmcore::VmcoreInfo> {
        self.dump.vmcoreinfo().ok_or(Error::MissingVmcoreinfo {
            key: "VMCOREINFO",
            why: "the dump has no VMCOREINFO note",
        })
    }

    /// The kernel symbol table, decoded on first use.
    pub fn symbols(&self) -> Result<&Kallsyms> {
        let r = self.kallsyms.get_or_init(|| {
            let info = self.vmcoreinfo().map_err(|e| e.to_string())?;
            Kallsyms::from_vmcoreinfo(info, &self.mem).map_err(|e| e.to_string())
        });
        r.as_ref().map_err(|e| Error::Unavailable {
            what: "kallsyms",
            reason: e.clone(),
        })
    }

    /// The address of kernel symbol `name`, or an error saying what it was needed for.
    pub fn symbol_addr(&self, name: &'static str, why: &'static str) -> Result<u64> {
        self.symbols()?
            .lookup_addr(name)
            .ok_or(Error::MissingSymbol { name, why })
    }
}
