//! Conversion of any readable dump to an ELF64 vmcore, streamed (`vmcore convert --to elf`).
//!
//! The output is what `makedumpfile -E` writes: one PT_NOTE with the dump's notes, then the
//! kernel-text alias and RAM at their kernel virtual addresses (so gdb and crash can read
//! kernel variables, see `load_ranges`), one PT_LOAD per run of pages that could be read, each followed by the run of pages that
//! could not (excluded by the dump level, lost, past the end of a cut file) as zero fill
//! (`p_filesz < p_memsz`). A run of unreadable pages at the start of a RAM range becomes a
//! PT_LOAD with `p_filesz = 0`. That is how makedumpfile's own ELF output marks excluded
//! pages: libkdumpfile and [`Dump::read_phys`] report them as excluded (gdb reads zeros).
//!
//! The writer only needs `Write`: the headers come first, so the layout is planned before
//! any page is written. Planning reads every page once (in parallel) to learn which can be
//! read, and writing reads them again, in parallel batches written in order; memory stays
//! at one bit per RAM page plus one batch of pages.

use std::io::Write;
use std::path::PathBuf;

use crate::cpu::Machine;
use crate::dump::Dump;
use crate::error::{Error, Result};
use crate::memmap::{RangeKind, X86_64_START_KERNEL_MAP};
use crate::notes::NAME_VMCOREINFO;
use kdump_types::{PhysAddr, PhysRange, VirtAddr};

/// Pages read per parallel batch.
const BATCH: usize = 1024;
/// Failures kept in the report.
const MAX_FAILURES: usize = 32;

/// What [`write_elf`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConvertReport {
    /// Bytes written.
    pub bytes: u64,
    /// PT_LOAD program headers written.
    pub loads: usize,
    /// Pages written with data.
    pub pages_written: u64,
    /// RAM pages written as zero fill because they could not be read, by reason.
    pub pages_excluded: u64,
    /// Lost pages (incomplete dump) written as zero fill.
    pub pages_lost: u64,
    /// Pages that failed to read for another reason (truncation, corruption), zero-filled.
    pub pages_failed: u64,
    /// The first failures: address and error text.
    pub failures: Vec<(u64, String)>,
}

/// One output PT_LOAD.
#[derive(Debug, Clone, Copy)]
struct Load {
    paddr: u64,
    vaddr: u64,
    filesz: u64,
    memsz: u64,
}

fn io(source: std::io::Error) -> Error {
    Error::Io {
        path: PathBuf::from("<convert output>"),
        source,
    }
}

fn e_machine(m: Machine) -> u16 {
    match m {
        Machine::X86_64 => 62,
        Machine::X86 => 3,
        Machine::Aarch64 => 183,
        Machine::Other(n) => n,
    }
}

fn note_blob(dump: &Dump) -> Vec<u8> {
    let mut out = Vec::new();
    let mut put = |name: &str, ty: u32, desc: &[u8]| {
        let n = name.len() as u32 + 1;
        out.extend_from_slice(&n.to_le_bytes());
        out.extend_from_slice(&(desc.len() as u32).to_le_bytes());
        out.extend_from_slice(&ty.to_le_bytes());
        out.extend_from_slice(name.as_bytes());
        out.push(0);
        out.resize(out.len().next_multiple_of(4), 0);
        out.extend_from_slice(desc);
        out.resize(out.len().next_multiple_of(4), 0);
    };
    for n in dump.notes() {
        put(&n.name, n.n_type, &n.desc);
    }
    // A kdump-compressed dump of header version 3 has VMCOREINFO but no note blob.
    if !dump.notes().iter().any(|n| n.name == NAME_VMCOREINFO)
        && let Some(v) = dump.vmcoreinfo()
    {
        let text: String = v
            .entries()
            .iter()
            .map(|(k, v)| format!("{k}={v}\n"))
            .collect();
        put(NAME_VMCOREINFO, 0, text.as_bytes());
    }
    out
}

/// The ranges to write as PT_LOADs, `(first pfn, end pfn, virtual address of the first
/// page)`, as /proc/vmcore and `makedumpfile -E` lay them out: the kernel-text alias first
/// (`_text` at its KASLR address, a second mapping of RAM written again), then RAM at its
/// direct-map address. Without these virtual addresses gdb and crash cannot read any kernel
/// variable from the output.
///
/// An ELF input keeps its own virtual addresses and kernel-text PT_LOAD. A kdump-compressed
/// input has neither: the direct map starts at `page_offset_base` (from a scan of the kernel
/// page tables, [`Dump::page_offset_base`]), and the kernel text is found from vmcoreinfo
/// (`SYMBOL(_stext)`, `NUMBER(phys_base)`) and its extent from the page tables
/// ([`kernel_text_alias`]). When either cannot be found (no vmcoreinfo, not x86_64) the
/// ranges are written without it, as before.
fn load_ranges(dump: &Dump, ps: u64) -> Vec<(u64, u64, Option<u64>)> {
    let pfns = |r: &crate::memmap::MemoryRange| (r.phys.start.0 / ps, r.phys.end.0.div_ceil(ps));
    let mut out: Vec<(u64, u64, Option<u64>)> = Vec::new();
    let ranges = dump.memory().ranges();
    let elf_text: Vec<_> = ranges
        .iter()
        .filter(|r| r.kind == RangeKind::KernelText)
        .collect();
    let has_virt = ranges.iter().any(|r| r.virt.is_some());
    if !elf_text.is_empty() {
        for r in elf_text {
            let (s, e) = pfns(r);
            out.push((s, e, r.virt.map(|v| v.0)));
        }
    } else if !has_virt && let Some((va, phys)) = kernel_text_alias(dump, ps) {
        out.push((phys.start.0 / ps, phys.end.0.div_ceil(ps), Some(va)));
    }
    let page_offset = if has_virt {
        None
    } else {
        dump.page_offset_base().ok().map(|p| p.base)
    };
    for r in dump.memory().ram() {
        let (s, e) = pfns(r);
        let virt = r
            .virt
            .map(|v| v.0)
            .or_else(|| page_offset.map(|base| base.wrapping_add(s * ps)));
        out.push((s, e, virt));
    }
    out.retain(|(s, e, _)| e > s);
    out
}

/// Page-table walks [`kernel_text_alias`] may do: a real kernel needs a few hundred (2 MiB
/// pages, 4 KiB around the freed init sections); a hostile dump cannot make it run long.
const KERNEL_TEXT_WALK_BUDGET: usize = 1 << 16;

/// The kernel-text mapping of an x86_64 dump without ELF virtual addresses: from `_text`
/// (vmcoreinfo `SYMBOL(_stext)`, which Linux places at `_text`) to the end of the last page of
/// the kernel image mapping that maps RAM linearly (`va - __START_KERNEL_map + phys_base`),
/// walking the kernel page tables up to `__START_KERNEL_map + KERNEL_IMAGE_SIZE`. The kernel
/// keeps that mapping to `_brk_end` rounded up to 2 MiB (`cleanup_highmap`), so the alias can
/// end a little past `_end`, which /proc/vmcore uses; every address /proc/vmcore maps is
/// mapped the same way.
pub fn kernel_text_alias(dump: &Dump, ps: u64) -> Option<(u64, PhysRange)> {
    if dump.machine() != Machine::X86_64 {
        return None;
    }
    let info = dump.vmcoreinfo()?;
    let text = info.symbol("_stext")?;
    let phys_base = u64::try_from(info.number("phys_base")?).ok()?;
    let image_size = info
        .number("KERNEL_IMAGE_SIZE")
        .and_then(|n| u64::try_from(n).ok())
        .filter(|&n| n > 0 && n <= 1 << 30)
        .unwrap_or(1 << 30);
    let window_end = X86_64_START_KERNEL_MAP.checked_add(image_size)?;
    if text < X86_64_START_KERNEL_MAP || text >= window_end || text % ps != 0 {
        return None;
    }
    let linear = |va: u64| (va - X86_64_START_KERNEL_MAP).wrapping_add(phys_base);
    let tables = dump.kernel_page_tables().ok()?;
    let mut va = text;
    let mut end = None;
    for _ in 0..KERNEL_TEXT_WALK_BUDGET {
        if va >= window_end {
            break;
        }
        let step = match dump.translate_with(&tables, VirtAddr(va)) {
            Ok(t) => {
                let left = t.page_size - (va & (t.page_size - 1));
                if t.phys.0 == linear(va) {
                    end = Some(va + left);
                }
                left
            }
            // Skip the whole unmapped region the missing entry stands for.
            Err(Error::VirtNotMapped { level, .. }) => {
                let span: u64 = match level {
                    "PTE" => 1 << 12,
                    "PMD" => 1 << 21,
                    "PUD" => 1 << 30,
                    _ => 1 << 39,
                };
                span - (va & (span - 1))
            }
            Err(_) => break,
        };
        va = va.checked_add(step)?;
    }
    let end = end?;
    Some((text, PhysRange::new(linear(text), linear(end))))
}

/// Read a batch of pages (in parallel with the `parallel` feature).
fn read_batch(dump: &Dump, ps: u64, pfns: &[u64]) -> Vec<Result<Vec<u8>>> {
    let one = |&pfn: &u64| {
        let mut b = vec![0u8; ps as usize];
        dump.read_phys(PhysAddr(pfn * ps), &mut b).map(|()| b)
    };
    #[cfg(feature = "parallel")]
    {
        use rayon::prelude::*;
        pfns.par_iter().map(one).collect()
    }
    #[cfg(not(feature = "parallel"))]
    {
        pfns.iter().map(one).collect()
    }
}

/// Write `dump` as an ELF64 little-endian vmcore to `out`. `progress(done, total)` is called
/// after each batch, in RAM pages over both passes.
pub fn write_elf<W: Write>(
    dump: &Dump,
    out: &mut W,
    mut progress: impl FnMut(u64, u64),
) -> Result<ConvertReport> {
    let ps = dump
        .kdump_info()
        .map(|i| u64::from(i.page_size))
        .or_else(|| dump.vmcoreinfo().and_then(|v| v.page_size()))
        .filter(|p| p.is_power_of_two())
        .unwrap_or(4096);
    let ranges = load_ranges(dump, ps);
    let total: u64 = ranges.iter().map(|(s, e, _)| e - s).sum();
    let mut report = ConvertReport::default();

    // Pass 1: which pages can be read (one bit per RAM page).
    let mut readable = vec![0u64; total.div_ceil(64) as usize];
    let mut done = 0u64;
    let mut idx = 0u64;
    for &(s, e, _) in &ranges {
        let mut pfn = s;
        while pfn < e {
            let n = (e - pfn).min(BATCH as u64);
            let pfns: Vec<u64> = (pfn..pfn + n).collect();
            for (k, r) in read_batch(dump, ps, &pfns).into_iter().enumerate() {
                let bit = idx + k as u64;
                match r {
                    Ok(_) => readable[(bit / 64) as usize] |= 1 << (bit % 64),
                    Err(Error::PageExcluded { .. }) => report.pages_excluded += 1,
                    Err(Error::PageLost { .. }) => report.pages_lost += 1,
                    Err(err) => {
                        report.pages_failed += 1;
                        if report.failures.len() < MAX_FAILURES {
                            report.failures.push((pfns[k] * ps, err.to_string()));
                        }
                    }
                }
            }
            idx += n;
            pfn += n;
            done += n;
            progress(done, 2 * total);
        }
    }
    let is_readable = |bit: u64| readable[(bit / 64) as usize] >> (bit % 64) & 1 == 1;

    // Plan the PT_LOADs: a readable run, then the unreadable run after it as zero fill.
    let mut loads: Vec<Load> = Vec::new();
    let mut bit = 0u64;
    for &(s, e, virt) in &ranges {
        let mut pfn = s;
        while pfn < e {
            let start = pfn;
            while pfn < e && is_readable(bit + pfn - s) {
                pfn += 1;
            }
            let data_end = pfn;
            while pfn < e && !is_readable(bit + pfn - s) {
                pfn += 1;
            }
            loads.push(Load {
                paddr: start * ps,
                vaddr: virt.map_or(0, |v| v + (start - s) * ps),
                filesz: (data_end - start) * ps,
                memsz: (pfn - start) * ps,
            });
        }
        bit += e - s;
    }

    // Headers.
    let notes = note_blob(dump);
    let phnum = loads.len() + 1;
    if phnum >= 0xffff {
        return Err(Error::Unsupported {
            what: "ELF conversion",
            offset: 0,
            detail: format!("{phnum} program headers need PN_XNUM, which is not written yet"),
        });
    }
    let note_off = 64 + 56 * phnum as u64;
    let data_off = (note_off + notes.len() as u64).next_multiple_of(ps);
    let mut head = Vec::with_capacity(data_off as usize);
    head.extend_from_slice(&[0x7f, b'E', b'L', b'F', 2, 1, 1, 0]);
    head.resize(16, 0);
    head.extend_from_slice(&4u16.to_le_bytes()); // ET_CORE
    head.extend_from_slice(&e_machine(dump.machine()).to_le_bytes());
    head.extend_from_slice(&1u32.to_le_bytes());
    head.extend_from_slice(&0u64.to_le_bytes()); // e_entry
    head.extend_from_slice(&64u64.to_le_bytes()); // e_phoff
    head.extend_from_slice(&0u64.to_le_bytes()); // e_shoff
    head.extend_from_slice(&0u32.to_le_bytes()); // e_flags
    for v in [64u16, 56, phnum as u16, 0, 0, 0] {
        head.extend_from_slice(&v.to_le_bytes());
    }
    let mut phdr = |ty: u32, flags: u32, off: u64, va: u64, pa: u64, fsz: u64, msz: u64| {
        head.extend_from_slice(&ty.to_le_bytes());
        head.extend_from_slice(&flags.to_le_bytes());
        for v in [off, va, pa, fsz, msz, if ty == 1 { ps } else { 0 }] {
            head.extend_from_slice(&v.to_le_bytes());
        }
    };
    phdr(4, 0, note_off, 0, 0, notes.len() as u64, notes.len() as u64);
    let mut off = data_off;
    for l in &loads {
        phdr(1, 7, off, l.vaddr, l.paddr, l.filesz, l.memsz);
        off += l.filesz;
    }
    head.extend_from_slice(&notes);
    head.resize(data_off as usize, 0);
    out.write_all(&head).map_err(io)?;
    report.bytes = data_off;
    report.loads = loads.len();

    // Pass 2: page data, in batches read in parallel and written in order.
    let zero = vec![0u8; ps as usize];
    let mut done2 = 0u64;
    for l in &loads {
        let first = l.paddr / ps;
        let n = l.filesz / ps;
        let mut k = 0;
        while k < n {
            let m = (n - k).min(BATCH as u64);
            let pfns: Vec<u64> = (first + k..first + k + m).collect();
            for (j, r) in read_batch(dump, ps, &pfns).into_iter().enumerate() {
                match r {
                    Ok(b) => out.write_all(&b).map_err(io)?,
                    Err(err) => {
                        // Read in pass 1 but not now: only a file changing underneath us.
                        report.pages_failed += 1;
                        if report.failures.len() < MAX_FAILURES {
                            report.failures.push((pfns[j] * ps, err.to_string()));
                        }
                        out.write_all(&zero).map_err(io)?;
                    }
                }
            }
            report.pages_written += m;
            report.bytes += m * ps;
            k += m;
            done2 += m;
            progress(total + done2, 2 * total);
        }
        done2 += (l.memsz - l.filesz) / ps;
    }
    progress(2 * total, 2 * total);
    out.flush().map_err(io)?;
    Ok(report)
}
