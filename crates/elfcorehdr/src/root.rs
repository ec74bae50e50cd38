//! Reading a [`SystemState`] from a procfs/sysfs root (the crate's only filesystem reads besides
//! [`crate::live`] and [`crate::file`]).
//!
//! Sources (all under `root`):
//! - `proc/iomem`: top-level "System RAM" (what `walk_system_ram_res()` finds on x86; nested
//!   "System RAM" such as dax/kmem is not handled), "Crash kernel" (one or two: the one below
//!   4 GiB is `crashk_low_res` when there are two), "Kernel code" start = `__pa_symbol(_text)`.
//! - `proc/kallsyms`: `_text`, `_end`. Without `CONFIG_KALLSYMS_ALL` kallsyms lists no
//!   data symbols and no `_end`; then the kernel text size comes from `/proc/kcore`'s
//!   `KCORE_TEXT` program header (`kclist_add(&kcore_text, _text, _end - _text)`).
//! - `proc/kcore` (ELF headers only): a PT_LOAD with a real `p_paddr` below the kernel text
//!   mapping maps the direct map, so `page_offset_base = p_vaddr - p_paddr`; the PT_LOAD at
//!   or above the kernel text mapping with a real `p_paddr` is `KCORE_TEXT`.
//! - `sys/kernel/kexec_crash_loaded` ([`crash_kernel_loaded`]): whether a crash kernel (and
//!   so an elfcorehdr) is loaded.
//! - `sys/devices/system/cpu/{possible,present,online}`, `cpuN/crash_notes` (hex, no prefix),
//!   `cpuN/crash_notes_size` (decimal), `cpu/crash_hotplug`.
//! - `sys/kernel/vmcoreinfo` (`"%pa %x"`: `0x…` address, hex size without prefix),
//!   `sys/kernel/crash_elfcorehdr_size` (decimal).
//! - `sys/devices/system/memory/block_size_bytes` (hex), `memoryN/{phys_index,state}`,
//!   `memory/crash_hotplug`.
//! - `proc/sys/kernel/osrelease` and `sys/kernel/kexec_crash_cma_ranges` (6.17+), if present:
//!   with `crash_elfcorehdr_size` they choose the [`KernelProfile`](crate::KernelProfile).

use std::io::Read;
use std::path::{Path, PathBuf};

use kdump_types::elf::{EHDR64_SIZE, PHDR64_SIZE, PT_LOAD};
use kdump_types::{Bytes, PhysAddr, PhysRange, VirtAddr, parse_hex as hex};

use crate::error::{Error, Result};
use crate::parse::START_KERNEL_MAP;
use crate::state::{
    BlockState, CpuState, CrashHotplug, KernelText, MemoryBlock, NoteLocation, SystemState,
};
use kdump_types::elf::{Elf64Ehdr, Elf64Phdr};

/// Largest text file we read (a large machine's /proc/iomem is some hundred KiB).
const MAX_TEXT: u64 = 16 << 20;
/// Largest CPU count a cpulist may expand to.
const MAX_CPUS: usize = 1 << 16;

fn read_text(path: &Path) -> Result<String> {
    let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut s = String::new();
    f.take(MAX_TEXT)
        .read_to_string(&mut s)
        .map_err(|e| Error::io(path, e))?;
    Ok(s)
}

fn read_opt(path: &Path) -> Result<Option<String>> {
    match read_text(path) {
        Ok(s) => Ok(Some(s)),
        Err(Error::Io { error, .. }) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

fn text_err(path: &Path, line: usize, what: &'static str, text: &str) -> Error {
    Error::Text {
        path: path.to_path_buf(),
        line,
        what,
        text: text
            .lines()
            .next()
            .unwrap_or("")
            .trim()
            .chars()
            .take(200)
            .collect(),
    }
}

/// One value file: the first line, parsed by `f`.
fn value<T>(path: &Path, what: &'static str, f: impl Fn(&str) -> Option<T>) -> Result<T> {
    let s = read_text(path)?;
    let first = s.lines().next().unwrap_or("");
    f(first.trim()).ok_or_else(|| text_err(path, 1, what, first))
}

fn opt_value<T>(
    path: &Path,
    what: &'static str,
    f: impl Fn(&str) -> Option<T>,
) -> Result<Option<T>> {
    match read_opt(path)? {
        None => Ok(None),
        Some(s) => {
            let first = s.lines().next().unwrap_or("");
            f(first.trim())
                .map(Some)
                .ok_or_else(|| text_err(path, 1, what, first))
        }
    }
}

/// Parses a Linux cpulist (`0-3,8,10-11`; empty is no CPU).
pub fn parse_cpulist(path: &Path, text: &str) -> Result<Vec<u32>> {
    let line = text.lines().next().unwrap_or("").trim();
    let mut out = Vec::new();
    if line.is_empty() {
        return Ok(out);
    }
    for part in line.split(',') {
        let bad = || text_err(path, 1, "cpulist entry", part);
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (a.trim().parse::<u32>(), b.trim().parse::<u32>()),
            None => (part.trim().parse::<u32>(), part.trim().parse::<u32>()),
        };
        let (a, b) = (a.map_err(|_| bad())?, b.map_err(|_| bad())?);
        if b < a || out.len() + (b - a) as usize >= MAX_CPUS {
            return Err(bad());
        }
        out.extend(a..=b);
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// Parses `/sys/kernel/kexec_crash_cma_ranges` (`crash_cma_ranges_show()`, 6.17+: one
/// `"%08llx-%08llx\n"` line per CMA crash range, inclusive end; empty without `,cma`), or the
/// same text given by the user. `path` only names the file in errors. Ranges come back
/// ascending; overlapping ones are an error.
pub fn parse_cma_ranges(path: &Path, text: &str) -> Result<Vec<PhysRange>> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let r = line
            .split_once('-')
            .and_then(|(a, b)| Some((hex(a)?, hex(b)?)))
            .filter(|(a, b)| a <= b)
            .ok_or_else(|| text_err(path, n + 1, "CMA range (hex START-END, inclusive)", line))?;
        out.push(PhysRange::from_inclusive(r.0, r.1));
    }
    out.sort();
    for w in out.windows(2) {
        if w[0].end > w[1].start {
            return Err(text_err(
                path,
                1,
                "disjoint CMA ranges",
                &format!("{} overlaps {}", w[0], w[1]),
            ));
        }
    }
    Ok(out)
}

/// What `/proc/iomem` says about the header.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Iomem {
    /// Top-level "System RAM", ascending.
    pub system_ram: Vec<PhysRange>,
    /// Every "Crash kernel" resource, in file order.
    pub crash_kernel: Vec<PhysRange>,
    /// Start of "Kernel code" (`__pa_symbol(_text)`).
    pub kernel_code: Option<PhysAddr>,
}

/// Parses `/proc/iomem` text. `path` only names the file in errors.
pub fn parse_iomem(path: &Path, text: &str) -> Result<Iomem> {
    let mut io = Iomem::default();
    let mut any_nonzero = false;
    let mut lines = 0usize;
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        lines += 1;
        let depth = line.len() - line.trim_start().len();
        let (range, name) = line
            .trim_start()
            .split_once(" : ")
            .ok_or_else(|| text_err(path, n + 1, "iomem line (START-END : NAME)", line))?;
        let (a, b) = range
            .split_once('-')
            .ok_or_else(|| text_err(path, n + 1, "iomem range", line))?;
        let (a, b) = match (hex(a), hex(b)) {
            (Some(a), Some(b)) if a <= b => (a, b),
            _ => return Err(text_err(path, n + 1, "iomem range (hex START-END)", line)),
        };
        any_nonzero |= a != 0 || b != 0;
        let r = PhysRange::from_inclusive(a, b);
        match name.trim() {
            "System RAM" if depth == 0 => io.system_ram.push(r),
            "Crash kernel" => io.crash_kernel.push(r),
            "Kernel code" if io.kernel_code.is_none() => io.kernel_code = Some(PhysAddr(a)),
            _ => {}
        }
    }
    if lines > 0 && !any_nonzero {
        return Err(Error::AddressesHidden {
            path: path.to_path_buf(),
        });
    }
    io.system_ram.sort();
    Ok(io)
}

/// `_text` and `_end` from `/proc/kallsyms` text.
pub fn parse_kallsyms(path: &Path, text: &str) -> Result<(VirtAddr, VirtAddr)> {
    match kallsyms_text_end(path, text)? {
        (t, Some(e)) => Ok((t, e)),
        (_, None) => Err(text_err(
            path,
            text.lines().count().max(1),
            "symbol _end (kallsyms without CONFIG_KALLSYMS_ALL lists no data symbols)",
            "not found",
        )),
    }
}

/// `_text`, and `_end` when kallsyms lists it.
fn kallsyms_text_end(path: &Path, text: &str) -> Result<(VirtAddr, Option<VirtAddr>)> {
    let (mut t, mut e) = (None, None);
    for (n, line) in text.lines().enumerate() {
        let mut it = line.split_whitespace();
        let (Some(addr), Some(_kind), Some(name)) = (it.next(), it.next(), it.next()) else {
            continue;
        };
        let slot = match name {
            "_text" => &mut t,
            "_end" => &mut e,
            _ => continue,
        };
        let a = hex(addr).ok_or_else(|| text_err(path, n + 1, "kallsyms address", line))?;
        if a == 0 {
            return Err(Error::AddressesHidden {
                path: path.to_path_buf(),
            });
        }
        *slot = Some((VirtAddr(a), n + 1));
    }
    match (t, e) {
        (Some((t, _)), Some((e, _))) if e > t => Ok((t, Some(e))),
        (Some(_), Some((_, ln))) => Err(text_err(path, ln, "_end after _text", "_end <= _text")),
        (Some((t, _)), None) => Ok((t, None)),
        _ => Err(text_err(
            path,
            text.lines().count().max(1),
            "symbol _text",
            "not found",
        )),
    }
}

/// The program headers of `/proc/kcore` (only the headers are read).
fn kcore_phdrs(path: &Path) -> Result<(Elf64Ehdr, Vec<Elf64Phdr>)> {
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut head = [0u8; EHDR64_SIZE];
    f.read_exact(&mut head).map_err(|e| Error::io(path, e))?;
    let h = Elf64Ehdr::decode(&head);
    if h.e_ident[..4] != kdump_types::elf::ELFMAG || usize::from(h.e_phentsize) != PHDR64_SIZE {
        return Err(Error::BadField {
            what: "kcore Elf64_Ehdr",
            offset: 0,
            value: h.e_phentsize.into(),
            expected: "an ELF64 header with 56-byte program headers",
        });
    }
    let end = h
        .e_phoff
        .saturating_add(u64::from(h.e_phnum) * PHDR64_SIZE as u64);
    // e_phnum is a u16, so this is at most a few MiB.
    let mut buf = Vec::new();
    let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    f.take(end)
        .read_to_end(&mut buf)
        .map_err(|e| Error::io(path, e))?;
    let data = Bytes::new(&buf, 0);
    let phdrs = (0..u64::from(h.e_phnum))
        .map(|i| Elf64Phdr::read(&data, h.e_phoff + i * PHDR64_SIZE as u64))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok((h, phdrs))
}

/// The kernel text mapping from `/proc/kcore`'s `KCORE_TEXT` program header: the PT_LOAD at
/// or above the kernel text mapping with a real `p_paddr` (module and vmalloc areas have
/// `p_paddr` -1). Its `p_vaddr` is `_text` and its size `_end - _text`.
pub fn kernel_text_from_kcore(path: &Path) -> Result<(VirtAddr, u64)> {
    let (h, phdrs) = kcore_phdrs(path)?;
    phdrs
        .iter()
        .find(|p| {
            p.p_type == PT_LOAD
                && p.p_vaddr >= START_KERNEL_MAP
                && p.p_paddr != u64::MAX
                && p.p_memsz > 0
        })
        .map(|p| (VirtAddr(p.p_vaddr), p.p_memsz))
        .ok_or_else(|| Error::BadField {
            what: "kcore program headers",
            offset: h.e_phoff,
            value: h.e_phnum.into(),
            expected: "a KCORE_TEXT PT_LOAD (p_vaddr in the kernel text mapping, p_paddr != -1)",
        })
}

/// Whether a crash kernel is loaded (`sys/kernel/kexec_crash_loaded` under `root`): `None`
/// when the file is absent (a kernel without kexec, or a captured root without it).
pub fn crash_kernel_loaded(root: &Path) -> Result<Option<bool>> {
    opt_value(
        &root.join("sys/kernel/kexec_crash_loaded"),
        "kexec_crash_loaded (0 or 1)",
        |s| match s {
            "0" => Some(false),
            "1" => Some(true),
            _ => None,
        },
    )
}

/// The direct-map base from `/proc/kcore`'s program headers (only the headers are read).
pub fn page_offset_base_from_kcore(path: &Path) -> Result<VirtAddr> {
    let (h, phdrs) = kcore_phdrs(path)?;
    let mut base = None;
    for (i, p) in phdrs.iter().enumerate() {
        if p.p_type == PT_LOAD
            && p.p_paddr != u64::MAX
            && p.p_vaddr < START_KERNEL_MAP
            && p.p_vaddr >= p.p_paddr
        {
            let b = p.p_vaddr - p.p_paddr;
            match base {
                None => base = Some(b),
                Some(x) if x != b => {
                    return Err(Error::BadField {
                        what: "kcore PT_LOAD p_vaddr - p_paddr",
                        offset: h.e_phoff + i as u64 * PHDR64_SIZE as u64 + 16,
                        value: b,
                        expected: "the same direct-map offset as the other RAM PT_LOADs",
                    });
                }
                _ => {}
            }
        }
    }
    base.map(VirtAddr).ok_or_else(|| Error::BadField {
        what: "kcore program headers",
        offset: h.e_phoff,
        value: h.e_phnum.into(),
        expected: "a direct-map PT_LOAD (p_paddr != -1, p_vaddr below the kernel text mapping)",
    })
}

impl SystemState {
    /// Reads the state from a procfs/sysfs root: `/` on a live machine (as root), or a captured
    /// folder laid out the same way. See the module docs of `root.rs` for every file read.
    ///
    /// Errors name the file (and line); a root whose addresses read as zero (not run as root)
    /// is [`Error::AddressesHidden`], never a wrong state.
    pub fn from_root(root: impl AsRef<Path>) -> Result<SystemState> {
        Self::read_root(root.as_ref(), None)
    }

    /// Re-reads what hotplug can change (`/proc/iomem`, the CPU lists and `crash_notes`,
    /// memory blocks, sysfs sizes) from the same root, keeping what cannot change while the
    /// kernel runs: the kernel text mapping (from `/proc/kallsyms`, which the kernel generates
    /// on every read: seconds in an emulated guest, where `watch` measured 4–12 s per event)
    /// and the direct-map base (from `/proc/kcore`'s headers).
    pub fn refresh_from_root(&self, root: impl AsRef<Path>) -> Result<SystemState> {
        Self::read_root(root.as_ref(), Some(self))
    }

    fn read_root(root: &Path, boot: Option<&SystemState>) -> Result<SystemState> {
        let p = |rel: &str| -> PathBuf { root.join(rel) };

        let iomem_path = p("proc/iomem");
        let iomem = parse_iomem(&iomem_path, &read_text(&iomem_path)?)?;
        let (crash_kernel, crash_kernel_low) = crash_kernels(&iomem, &iomem_path)?;
        let kernel_code = iomem
            .kernel_code
            .ok_or_else(|| text_err(&iomem_path, 1, "a \"Kernel code\" resource", "none found"))?;

        let (text, end, page_offset_base) = kernel_text_span(root, boot)?;

        let cpu_dir = p("sys/devices/system/cpu");
        let cpus = read_cpus(&cpu_dir)?;
        let bool01 = |s: &str| match s {
            "0" => Some(false),
            "1" => Some(true),
            _ => None,
        };
        let cpu_hp = opt_value(
            &cpu_dir.join("crash_hotplug"),
            "crash_hotplug (0 or 1)",
            bool01,
        )?;

        let vmci_path = p("sys/kernel/vmcoreinfo");
        let vmcoreinfo = value(&vmci_path, "vmcoreinfo (\"0xADDR SIZE\", both hex)", |s| {
            let (a, b) = s.split_once(' ')?;
            Some(NoteLocation {
                addr: PhysAddr(hex(a)?),
                size: hex(b)?,
            })
        })?;
        if vmcoreinfo.addr.0 == 0 {
            return Err(Error::AddressesHidden { path: vmci_path });
        }
        let crash_elfcorehdr_size = opt_value(
            &p("sys/kernel/crash_elfcorehdr_size"),
            "crash_elfcorehdr_size (decimal)",
            |s| s.parse().ok(),
        )?;

        let mem_dir = p("sys/devices/system/memory");
        let memory_block_size = opt_value(
            &mem_dir.join("block_size_bytes"),
            "block_size_bytes (hex)",
            hex,
        )?;
        let mem_hp = opt_value(
            &mem_dir.join("crash_hotplug"),
            "crash_hotplug (0 or 1)",
            bool01,
        )?;
        let memory_blocks = match memory_block_size {
            Some(_) => read_memory_blocks(&mem_dir)?,
            None => Vec::new(),
        };

        let os_release = read_opt(&p("proc/sys/kernel/osrelease"))?
            .map(|s| s.lines().next().unwrap_or("").trim().to_string())
            .filter(|s| !s.is_empty());
        let cma_path = p("sys/kernel/kexec_crash_cma_ranges");
        let cma_text = read_opt(&cma_path)?;
        let crash_cma = match &cma_text {
            Some(t) => parse_cma_ranges(&cma_path, t)?,
            None => Vec::new(),
        };
        let profile = crate::profile::KernelProfile::detect(
            os_release.as_deref(),
            crash_elfcorehdr_size.is_some(),
            cma_text.is_some(),
        );
        let state = SystemState {
            profile,
            os_release,
            crash_cma,
            crash_cma_from_sysfs: cma_text.is_some(),
            cpus,
            vmcoreinfo,
            system_ram: iomem.system_ram,
            crash_kernel,
            crash_kernel_low,
            kernel_text: KernelText {
                vaddr: text,
                paddr: kernel_code,
                size: end.0 - text.0,
            },
            page_offset_base,
            crash_elfcorehdr_size,
            crash_hotplug: CrashHotplug {
                cpu: cpu_hp,
                memory: mem_hp,
            },
            memory_block_size,
            memory_blocks,
        };
        state.validate()?;
        Ok(state)
    }
}

/// `crashk_res` and `crashk_low_res` from the "Crash kernel" resources of /proc/iomem.
fn crash_kernels(
    iomem: &Iomem,
    iomem_path: &Path,
) -> Result<(Option<PhysRange>, Option<PhysRange>)> {
    let ranges = match iomem.crash_kernel.as_slice() {
        [] => (None, None),
        [one] => (Some(*one), None),
        [a, b] => {
            // crashk_low_res is the one below 4 GiB; crashk_res is the other.
            if a.start < b.start {
                (Some(*b), Some(*a))
            } else {
                (Some(*a), Some(*b))
            }
        }
        _ => {
            return Err(text_err(
                iomem_path,
                1,
                "at most two \"Crash kernel\" resources",
                "more than two",
            ));
        }
    };
    Ok(ranges)
}

/// `_text`, `_end` and `page_offset_base`: from the boot state when refreshing, else from
/// /proc/kallsyms (or /proc/kcore's KCORE_TEXT header when there is no `_end`) and
/// /proc/kcore.
fn kernel_text_span(
    root: &Path,
    boot: Option<&SystemState>,
) -> Result<(VirtAddr, VirtAddr, VirtAddr)> {
    let p = |rel: &str| -> PathBuf { root.join(rel) };
    let span = match boot {
        Some(b) => (
            b.kernel_text.vaddr,
            VirtAddr(b.kernel_text.vaddr.0.saturating_add(b.kernel_text.size)),
            b.page_offset_base,
        ),
        None => {
            let ks_path = p("proc/kallsyms");
            let kcore = p("proc/kcore");
            let (text, end) = match kallsyms_text_end(&ks_path, &read_text(&ks_path)?)? {
                (t, Some(e)) => (t, e),
                // No CONFIG_KALLSYMS_ALL: no `_end`; KCORE_TEXT spans _text.._end.
                (t, None) => {
                    let (kt, size) = kernel_text_from_kcore(&kcore)?;
                    if kt != t {
                        return Err(Error::InvalidState {
                            what: format!(
                                "{} has no _end, and the KCORE_TEXT header of {} starts at \
                                 {:#x}, not at _text {:#x}",
                                ks_path.display(),
                                kcore.display(),
                                kt.0,
                                t.0
                            ),
                        });
                    }
                    (t, VirtAddr(t.0.saturating_add(size)))
                }
            };
            (text, end, page_offset_base_from_kcore(&kcore)?)
        }
    };
    Ok(span)
}

/// Every possible CPU with its `crash_notes` buffer, from sysfs.
fn read_cpus(cpu_dir: &Path) -> Result<Vec<CpuState>> {
    let list = |name: &str| -> Result<Vec<u32>> {
        let path = cpu_dir.join(name);
        parse_cpulist(&path, &read_text(&path)?)
    };
    let possible = list("possible")?;
    let present = list("present")?;
    let online = list("online")?;
    let mut cpus = Vec::with_capacity(possible.len());
    for &id in &possible {
        let d = cpu_dir.join(format!("cpu{id}"));
        let notes_path = d.join("crash_notes");
        let crash_notes = match read_opt(&notes_path)? {
            Some(s) => hex(s.lines().next().unwrap_or("")).ok_or_else(|| {
                text_err(&notes_path, 1, "crash_notes (hex physical address)", &s)
            })?,
            None => {
                return Err(Error::InvalidState {
                    what: format!(
                        "{} is missing: CPU {id} is possible but has no sysfs crash_notes (not present?); \
                         the kernel's header still has a note for it, at an address sysfs does not show",
                        notes_path.display()
                    ),
                });
            }
        };
        let size_path = d.join("crash_notes_size");
        let crash_notes_size = value(&size_path, "crash_notes_size (decimal)", |s| s.parse().ok())?;
        cpus.push(CpuState {
            id,
            present: present.binary_search(&id).is_ok(),
            online: online.binary_search(&id).is_ok(),
            crash_notes: PhysAddr(crash_notes),
            crash_notes_size,
        });
    }
    Ok(cpus)
}

/// The memory blocks of sysfs (`memoryN/phys_index`, `state`), sorted by index.
fn read_memory_blocks(mem_dir: &Path) -> Result<Vec<MemoryBlock>> {
    let mut memory_blocks = Vec::new();
    let rd = std::fs::read_dir(mem_dir).map_err(|e| Error::io(mem_dir, e))?;
    for ent in rd {
        let ent = ent.map_err(|e| Error::io(mem_dir, e))?;
        let name = ent.file_name();
        let Some(index) = name
            .to_str()
            .and_then(|n| n.strip_prefix("memory"))
            .and_then(|n| n.parse::<u64>().ok())
        else {
            continue;
        };
        let d = ent.path();
        let phys_index = value(&d.join("phys_index"), "phys_index (hex)", hex)?;
        let state = value(
            &d.join("state"),
            "state (online/offline/going-offline)",
            |s| match s {
                "online" => Some(BlockState::Online),
                "offline" => Some(BlockState::Offline),
                "going-offline" => Some(BlockState::GoingOffline),
                _ => None,
            },
        )?;
        memory_blocks.push(MemoryBlock {
            index,
            phys_index,
            state,
        });
    }
    memory_blocks.sort_by_key(|b| b.index);
    Ok(memory_blocks)
}
