//! Module BTF: the types a module adds to vmlinux's, as split BTF.
//!
//! `struct module`'s `btf_data` points at the module's `.BTF` section only while the module
//! loads: the section is not kept, and the kernel sets the pointer to NULL once it has parsed
//! it (a dump of a running system always shows NULL there). What lives on is the kernel's
//! parsed copy: `btf_modules` (kernel/bpf/btf.c) lists a `struct btf_module` per module, whose
//! `struct btf` holds the bytes (`data`, `data_size`) — the module's `.BTF` section as built.

use std::collections::HashSet;

use crate::btf::{Btf, MAX_KERNEL_BTF};
use crate::mem::KernelMemory;
use crate::task::TaskFinding;
use crate::{Kernel, Result};

/// At most this many modules' BTF are walked (more than any kernel loads: the list is corrupt).
pub const MAX_MODULE_BTFS: usize = 1 << 16;

/// One module's BTF, split on top of the kernel's.
#[derive(Debug)]
pub struct ModuleBtf {
    /// The module's name (from its `struct module`).
    pub name: String,
    /// Its `struct module`.
    pub module: u64,
    /// Where the kernel keeps the BTF bytes (`btf->data`).
    pub data_addr: u64,
    /// The parsed types (ids continue after vmlinux's).
    pub btf: Btf,
}

/// Every module's BTF the kernel has, and what could not be read.
#[derive(Debug, Default)]
pub struct ModuleBtfs {
    /// In `btf_modules` order (the most recently loaded last).
    pub modules: Vec<ModuleBtf>,
    /// What cut the walk short or left a module's BTF unread.
    pub findings: Vec<TaskFinding>,
}

impl ModuleBtfs {
    /// The BTF of module `name`.
    pub fn get(&self, name: &str) -> Option<&ModuleBtf> {
        self.modules.iter().find(|m| m.name == name)
    }
}

impl Kernel<'_> {
    /// The BTF of every loaded module that has some, from the kernel's `btf_modules` list (see
    /// the module docs). A module whose BTF cannot be read or parsed is a finding, not an
    /// error; the walk is bounded by [`MAX_MODULE_BTFS`] and by loops.
    pub fn module_btfs(&self) -> Result<ModuleBtfs> {
        let base = self.btf_shared()?.clone();
        let e = |err| self.btf_error(err);
        let list = base.member_offset("btf_module", "list").map_err(e)?;
        let module = base.member_offset("btf_module", "module").map_err(e)?;
        let btf_ptr = base.member_offset("btf_module", "btf").map_err(e)?;
        let data = base.member_offset("btf", "data").map_err(e)?;
        let data_size = base.member_offset("btf", "data_size").map_err(e)?;
        let name_off = base.member_offset("module", "name").map_err(e)?;
        let head = self.symbol_addr("btf_modules", "the list of modules' BTF")?;
        let mem = self.memory();
        let mut out = ModuleBtfs::default();
        let mut seen = HashSet::new();
        let mut node = mem.read_u64(head)?;
        while node != head {
            if seen.len() >= MAX_MODULE_BTFS || !seen.insert(node) {
                out.findings.push(TaskFinding {
                    addr: node,
                    detail: "the btf_modules list loops or is longer than any kernel's".into(),
                });
                break;
            }
            let entry = node.wrapping_sub(list);
            let read = || -> Result<std::result::Result<ModuleBtf, String>> {
                let m = mem.read_u64(entry.wrapping_add(module))?;
                let b = mem.read_u64(entry.wrapping_add(btf_ptr))?;
                let name = mem.read_cstr(m.wrapping_add(name_off), 56)?;
                let at = mem.read_u64(b.wrapping_add(data))?;
                let size = u64::from(mem.read_u32(b.wrapping_add(data_size))?);
                if size == 0 || size > MAX_KERNEL_BTF {
                    return Ok(Err(format!(
                        "module {name}: BTF of {size} bytes at {at:#x} (at most {MAX_KERNEL_BTF})"
                    )));
                }
                let bytes = mem.read_vec(at, size as usize)?;
                Ok(match Btf::parse_split(bytes, base.clone()) {
                    Ok(btf) => Ok(ModuleBtf {
                        name,
                        module: m,
                        data_addr: at,
                        btf,
                    }),
                    Err(err) => Err(format!("module {name}: BTF at {at:#x}: {err}")),
                })
            };
            match read() {
                Ok(Ok(m)) => out.modules.push(m),
                Ok(Err(detail)) => out.findings.push(TaskFinding {
                    addr: entry,
                    detail,
                }),
                Err(err) => out.findings.push(TaskFinding {
                    addr: entry,
                    detail: format!("btf_module cannot be read: {err}"),
                }),
            }
            node = match mem.read_u64(node) {
                Ok(n) => n,
                Err(err) => {
                    out.findings.push(TaskFinding {
                        addr: node,
                        detail: format!(
                            "the btf_modules list's next pointer cannot be read: {err}"
                        ),
                    });
                    break;
                }
            };
        }
        Ok(out)
    }
}
