//! Loaded modules, read through the kernel's BTF: the `modules` list, each module's memory
//! (`mem[MOD_TEXT]` since 6.4, `core_layout` before: whichever member BTF has), its symbol
//! table (`module.kallsyms`: the same symbols `/proc/kallsyms` lists with `[module]`), its ORC
//! tables and its BTF.

use std::collections::HashSet;

use kdump_types::Bytes;
use kdump_types::elf::{Elf64Sym, SYM64_SIZE as ELF64_SYM};

use crate::btf::{Btf, Kind};
use crate::mem::KernelMemory;
use crate::{Error, Kallsyms, Kernel, Result};

/// More modules than a kernel loads (each needs a page of text at least); a longer list is
/// corrupt.
pub const MAX_MODULES: usize = 1 << 16;

/// More symbols than one module has (the largest in-tree modules have about 100k).
pub const MAX_MODULE_SYMBOLS: u32 = 1 << 20;

/// `KSYM_NAME_LEN`: the longest symbol name.
const KSYM_NAME_LEN: usize = 512;

/// One symbol of a module's table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleSymbol {
    /// Its name.
    pub name: String,
    /// Its address (`st_value`).
    pub addr: u64,
    /// Its type character (`typetab`), as `/proc/kallsyms` prints it.
    pub kind: char,
    /// `st_size`.
    pub size: u64,
    /// `st_shndx == SHN_UNDEF`: an undefined symbol, never a symbolization result.
    pub undefined: bool,
}

/// A module's in-memory ORC tables (`module.arch`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModuleOrc {
    /// `arch.orc_unwind_ip`: `i32` offsets, relative to each entry's own address.
    pub ip_table: u64,
    /// `arch.orc_unwind`: the `struct orc_entry` array.
    pub orc_table: u64,
    /// `arch.num_orcs`.
    pub count: u32,
}

/// One loaded module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Module {
    /// Address of its `struct module`.
    pub addr: u64,
    /// Its name (`module.name`).
    pub name: String,
    /// `module.state` (0 live, 1 coming, 2 going, 3 unformed).
    pub state: u32,
    /// Start of its core text (`mem[MOD_TEXT].base`, or `core_layout.base`).
    pub text_base: u64,
    /// Size of its core text (`mem[MOD_TEXT].size`, or `core_layout.size`).
    pub text_size: u64,
    /// Every memory region it owns (`mem[]`: text, data, rodata, init…), `(base, size)`,
    /// empty ones left out.
    pub regions: Vec<(u64, u64)>,
    /// Its ORC tables, when the kernel has ORC.
    pub orc: Option<ModuleOrc>,
    /// `(btf_data, btf_data_size)`, when the module carries BTF.
    pub btf: Option<(u64, u32)>,
    /// Its symbols, in table order (as `/proc/kallsyms` lists them).
    pub symbols: Vec<ModuleSymbol>,
}

impl Module {
    /// Whether `addr` lies in one of its memory regions (the kernel's `within_module`).
    pub fn contains(&self, addr: u64) -> bool {
        self.regions.iter().any(|&(b, s)| addr >= b && addr - b < s)
    }

    /// `addr` as `symbol+offset/size`, as the kernel's `find_kallsyms_symbol` does it: the
    /// highest named, defined symbol not above `addr` (the first of equal ones), sized to the
    /// next symbol or the end of the text.
    pub fn symbolize(&self, addr: u64) -> Option<SymbolAt<'_>> {
        if !self.contains(addr) {
            return None;
        }
        let mut best: Option<&ModuleSymbol> = None;
        // At worst the symbol runs to the end of the region holding `addr`.
        let region = self
            .regions
            .iter()
            .find(|&&(b, s)| addr >= b && addr - b < s)?;
        let mut next_val = region.0.saturating_add(region.1);
        for s in &self.symbols {
            if s.undefined || s.name.is_empty() || is_mapping_symbol(&s.name) {
                continue;
            }
            if s.addr <= addr && best.is_none_or(|b| s.addr > b.addr) {
                best = Some(s);
            }
            if s.addr > addr && s.addr < next_val {
                next_val = s.addr;
            }
        }
        let best = best?;
        Some(SymbolAt {
            name: &best.name,
            addr: best.addr,
            offset: addr - best.addr,
            size: next_val.checked_sub(best.addr),
            module: Some(&self.name),
        })
    }
}

/// ARM and RISC-V mapping symbols and local labels, which the kernel skips.
fn is_mapping_symbol(name: &str) -> bool {
    name.starts_with('$') || name.starts_with(".L") || name.starts_with("L0")
}

/// An address resolved to `symbol+offset/size [module]` (module `None`: the kernel image).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SymbolAt<'a> {
    /// The symbol's name.
    pub name: &'a str,
    /// The symbol's address.
    pub addr: u64,
    /// Distance from the symbol.
    pub offset: u64,
    /// The symbol's size as the kernel counts it (to the next symbol), when known.
    pub size: Option<u64>,
    /// The module, for module text.
    pub module: Option<&'a str>,
}

impl std::fmt::Display for SymbolAt<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}+{:#x}", self.name, self.offset)?;
        if let Some(size) = self.size {
            write!(f, "/{size:#x}")?;
        }
        if let Some(m) = self.module {
            write!(f, " [{m}]")?;
        }
        Ok(())
    }
}

/// Every loaded module.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Modules {
    /// The modules in list order (the most recently loaded first, as lsmod).
    pub modules: Vec<Module>,
    /// What cut the walk short or left a module without symbols.
    pub findings: Vec<crate::task::TaskFinding>,
}

impl Modules {
    /// The module whose memory holds `addr`.
    pub fn module_at(&self, addr: u64) -> Option<&Module> {
        self.modules.iter().find(|m| m.contains(addr))
    }

    /// `addr` resolved inside a module.
    pub fn symbolize(&self, addr: u64) -> Option<SymbolAt<'_>> {
        self.module_at(addr)?.symbolize(addr)
    }

    /// The first defined symbol called `name` in any module.
    pub fn lookup(&self, name: &str) -> Option<(&Module, &ModuleSymbol)> {
        self.modules.iter().find_map(|m| {
            m.symbols
                .iter()
                .find(|s| !s.undefined && s.name == name)
                .map(|s| (m, s))
        })
    }

    /// Every module symbol in `/proc/kallsyms` order (modules in list order, then table
    /// order), without the empty names the kernel skips.
    pub fn symbols(&self) -> impl Iterator<Item = (&Module, &ModuleSymbol)> + '_ {
        self.modules.iter().flat_map(|m| {
            m.symbols
                .iter()
                .filter(|s| !s.name.is_empty())
                .map(move |s| (m, s))
        })
    }
}

/// Where the members of `struct module` are.
#[derive(Debug, Clone, Copy)]
struct ModuleLayout {
    list: u64,
    name: (u64, usize),
    state: u64,
    /// `mem[]`: offset, element size, count, `MOD_TEXT`, and `base`/`size` in an element.
    mem: Option<(u64, u64, u64, u64, u64, u64)>,
    /// `core_layout.base`, `core_layout.size` (before 6.4).
    core_layout: Option<(u64, u64)>,
    kallsyms: u64,
    symtab: u64,
    num_symtab: u64,
    strtab: u64,
    typetab: Option<u64>,
    orc: Option<(u64, u64, u64)>,
    btf: Option<(u64, u64)>,
}

impl ModuleLayout {
    fn from_btf(btf: &Btf) -> std::result::Result<Self, crate::btf::BtfError> {
        let off = |path: &str| btf.member_offset("module", path);
        let name = btf.member("module", "name")?;
        let name_len = btf.size_of(name.type_id)?.clamp(1, 256) as usize;
        let mem = match btf.member("module", "mem") {
            Ok(f) => {
                let arr = btf.resolve(f.type_id)?;
                let a = arr.array().filter(|_| arr.kind() == Kind::Array);
                let (elem, count) = match a {
                    Some(a) => (btf.size_of(a.elem_type)?, a.nelems as u64),
                    None => (btf.size_of(f.type_id)?, 1),
                };
                let text = btf.enum_value("MOD_TEXT").unwrap_or(0).max(0) as u64;
                Some((
                    f.offset(),
                    elem,
                    count.min(16),
                    text,
                    btf.member_offset("module_memory", "base")?,
                    btf.member_offset("module_memory", "size")?,
                ))
            }
            Err(_) => None,
        };
        let core_layout = if mem.is_none() {
            Some((off("core_layout.base")?, off("core_layout.size")?))
        } else {
            None
        };
        let orc = match (
            off("arch.orc_unwind_ip"),
            off("arch.orc_unwind"),
            off("arch.num_orcs"),
        ) {
            (Ok(a), Ok(b), Ok(c)) => Some((a, b, c)),
            _ => None,
        };
        let btf_data = match (off("btf_data"), off("btf_data_size")) {
            (Ok(a), Ok(b)) => Some((a, b)),
            _ => None,
        };
        Ok(ModuleLayout {
            list: off("list")?,
            name: (name.offset(), name_len),
            state: off("state")?,
            mem,
            core_layout,
            kallsyms: off("kallsyms")?,
            symtab: btf.member_offset("mod_kallsyms", "symtab")?,
            num_symtab: btf.member_offset("mod_kallsyms", "num_symtab")?,
            strtab: btf.member_offset("mod_kallsyms", "strtab")?,
            typetab: btf.member_offset("mod_kallsyms", "typetab").ok(),
            orc,
            btf: btf_data,
        })
    }
}

impl Kernel<'_> {
    /// Every loaded module, read on first use and kept.
    pub fn modules(&self) -> Result<&Modules> {
        let r = self.modules.get_or_init(|| {
            self.read_modules()
                .map_err(|e| crate::btf::LoadError::from_error(&e))
        });
        r.as_ref().map_err(crate::btf::LoadError::to_error)
    }

    fn read_modules(&self) -> Result<Modules> {
        let btf = self.btf()?;
        let layout = ModuleLayout::from_btf(btf).map_err(|e| self.btf_error(e))?;
        let head = self.symbol_addr("modules", "the list of loaded modules")?;
        let mem = self.memory();
        let mut out = Modules::default();
        let mut seen = HashSet::new();
        let mut node = mem.read_u64(head)?;
        while node != head {
            if seen.len() >= MAX_MODULES || !seen.insert(node) {
                out.findings.push(crate::task::TaskFinding {
                    addr: node,
                    detail: "the module list loops or is longer than any kernel's".into(),
                });
                break;
            }
            let addr = node.wrapping_sub(layout.list);
            match self.read_module(&layout, addr) {
                Ok((m, finding)) => {
                    out.findings.extend(finding);
                    out.modules.push(m);
                }
                Err(e) => {
                    out.findings.push(crate::task::TaskFinding {
                        addr,
                        detail: format!("module cannot be read: {e}"),
                    });
                    break;
                }
            }
            node = match mem.read_u64(node) {
                Ok(n) => n,
                Err(e) => {
                    out.findings.push(crate::task::TaskFinding {
                        addr: node,
                        detail: format!("the module list's next pointer cannot be read: {e}"),
                    });
                    break;
                }
            };
        }
        Ok(out)
    }

    fn read_module(
        &self,
        l: &ModuleLayout,
        addr: u64,
    ) -> Result<(Module, Option<crate::task::TaskFinding>)> {
        let mem = self.memory();
        let at = |off: u64| addr.wrapping_add(off);
        let name = mem.read_cstr(at(l.name.0), l.name.1)?;
        let state = mem.read_u32(at(l.state))?;
        let mut regions = Vec::new();
        let (text_base, text_size) = if let Some((off, elem, count, text, base, size)) = l.mem {
            let mut text_region = (0, 0);
            for i in 0..count {
                let e = at(off + i * elem);
                let r = (
                    mem.read_u64(e.wrapping_add(base))?,
                    mem.read_u32(e.wrapping_add(size))? as u64,
                );
                if i == text {
                    text_region = r;
                }
                if r.0 != 0 && r.1 != 0 {
                    regions.push(r);
                }
            }
            text_region
        } else {
            let (base, size) = l.core_layout.unwrap_or((0, 0));
            let r = (mem.read_u64(at(base))?, mem.read_u32(at(size))? as u64);
            regions.push(r);
            r
        };
        let orc = match l.orc {
            Some((ip, orc, n)) => Some(ModuleOrc {
                ip_table: mem.read_u64(at(ip))?,
                orc_table: mem.read_u64(at(orc))?,
                count: mem.read_u32(at(n))?,
            }),
            None => None,
        };
        let btf = match l.btf {
            Some((data, size)) => {
                let d = mem.read_u64(at(data))?;
                let s = mem.read_u32(at(size))?;
                (d != 0 && s != 0).then_some((d, s))
            }
            None => None,
        };
        let (symbols, finding) = match self.read_module_symbols(l, addr) {
            Ok(s) => (s, None),
            Err(e) => (
                Vec::new(),
                Some(crate::task::TaskFinding {
                    addr,
                    detail: format!("module {name}: symbols cannot be read: {e}"),
                }),
            ),
        };
        Ok((
            Module {
                addr,
                name,
                state,
                text_base,
                text_size,
                regions,
                orc,
                btf,
                symbols,
            },
            finding,
        ))
    }

    fn read_module_symbols(&self, l: &ModuleLayout, addr: u64) -> Result<Vec<ModuleSymbol>> {
        let mem = self.memory();
        let ks = mem.read_u64(addr.wrapping_add(l.kallsyms))?;
        if ks == 0 {
            return Ok(Vec::new());
        }
        let symtab = mem.read_u64(ks.wrapping_add(l.symtab))?;
        let count = mem.read_u32(ks.wrapping_add(l.num_symtab))?;
        let strtab = mem.read_u64(ks.wrapping_add(l.strtab))?;
        let typetab = match l.typetab {
            Some(o) => Some(mem.read_u64(ks.wrapping_add(o))?),
            None => None,
        };
        if count > MAX_MODULE_SYMBOLS {
            return Err(Error::Corrupt {
                what: "mod_kallsyms.num_symtab",
                addr: ks.wrapping_add(l.num_symtab),
                detail: format!("{count} symbols (at most {MAX_MODULE_SYMBOLS} expected)"),
            });
        }
        let raw = mem.read_vec(symtab, count as usize * ELF64_SYM)?;
        let types = match typetab {
            Some(t) if count > 0 => mem.read_vec(t, count as usize)?,
            _ => Vec::new(),
        };
        let syms = Bytes::new(&raw, symtab);
        let syms: Vec<Elf64Sym> = (0..u64::from(count))
            .map(|i| Elf64Sym::read(&syms, i * ELF64_SYM as u64))
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| Error::Corrupt {
                what: "module symtab",
                addr: symtab,
                detail: e.to_string(),
            })?;
        let max_name = syms.iter().map(|s| s.st_name as usize).max().unwrap_or(0);
        // One read of the whole string table when it is all mapped, else one per name.
        let table = mem.read_vec(strtab, max_name + KSYM_NAME_LEN).ok();
        let mut out = Vec::with_capacity(count as usize);
        for (i, s) in syms.iter().enumerate() {
            let name_off = s.st_name as usize;
            let name = match &table {
                Some(t) => {
                    let rest = &t[name_off.min(t.len())..];
                    let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
                    String::from_utf8_lossy(&rest[..end]).into_owned()
                }
                None => mem.read_cstr(strtab.wrapping_add(name_off as u64), KSYM_NAME_LEN)?,
            };
            out.push(ModuleSymbol {
                name,
                addr: s.st_value,
                kind: types.get(i).map_or('?', |&b| b as char),
                size: s.st_size,
                undefined: s.st_shndx == 0,
            });
        }
        Ok(out)
    }

    /// `addr` as `symbol+offset/size`, in the kernel image or in a module's text (`[module]`):
    /// what `%pS` prints. Modules are read on first use; a dump without BTF resolves kernel
    /// addresses only.
    pub fn symbolize_any(&self, addr: u64) -> Option<SymbolAt<'_>> {
        let kallsyms = self.symbols().ok();
        if let Some(s) = kallsyms.and_then(|k| kernel_symbol_at(k, addr)) {
            return Some(s);
        }
        self.modules().ok()?.symbolize(addr)
    }

    /// The decoded kernel and module symbol tables, owned, for a caller that keeps them
    /// longer than the dump borrow of a [`Kernel`] (an interactive viewer). Decodes what was
    /// not decoded yet; a table that cannot be read is `None`.
    pub fn into_symbol_tables(self) -> SymbolTables {
        // Decode both before taking them out.
        let _ = self.symbols();
        let _ = self.modules();
        SymbolTables {
            kallsyms: self.kallsyms.into_inner().and_then(|r| r.ok()),
            modules: self.modules.into_inner().and_then(|r| r.ok()),
        }
    }

    /// The module whose memory holds `addr` (`None` also when modules cannot be read).
    pub fn module_at(&self, addr: u64) -> Option<&Module> {
        self.modules().ok()?.module_at(addr)
    }
}

fn kernel_symbol_at(k: &Kallsyms, addr: u64) -> Option<SymbolAt<'_>> {
    k.symbolize(addr).map(|s| SymbolAt {
        name: s.symbol.name,
        addr: s.symbol.addr,
        offset: s.offset,
        size: s.size,
        module: None,
    })
}

/// The kernel's and the modules' symbols, owned ([`Kernel::into_symbol_tables`]).
#[derive(Debug, Default)]
pub struct SymbolTables {
    /// kallsyms, when it decoded.
    pub kallsyms: Option<Kallsyms>,
    /// The loaded modules, when the dump has BTF.
    pub modules: Option<Modules>,
}

impl SymbolTables {
    /// `addr` as `symbol+offset/size`, in the kernel image or a module's text, as
    /// [`Kernel::symbolize_any`].
    pub fn symbolize(&self, addr: u64) -> Option<SymbolAt<'_>> {
        if let Some(s) = self
            .kallsyms
            .as_ref()
            .and_then(|k| kernel_symbol_at(k, addr))
        {
            return Some(s);
        }
        self.modules.as_ref()?.symbolize(addr)
    }

    /// The address of the symbol `name`: the kernel image's first, else the first defined
    /// module symbol of that name.
    pub fn lookup(&self, name: &str) -> Option<u64> {
        if let Some(a) = self.kallsyms.as_ref().and_then(|k| k.lookup_addr(name)) {
            return Some(a);
        }
        self.modules.as_ref()?.lookup(name).map(|(_, s)| s.addr)
    }
}
