//! Conversion of any readable dump to an ELF64 vmcore, streamed (`vmcore convert --to elf`).
//!
//! The output is what `makedumpfile -E` writes: one PT_NOTE with the dump's notes, then the
//! kernel-text alias and RAM at their kernel virtual addresses (so gdb and crash can read
//! kernel variables, see `load_ranges`), one PT_LOAD per run of pages that could be read,
//! each followed by the run of pages that
//! could not (excluded by the dump level, lost, past the end of a cut file) as zero fill
//! (`p_filesz < p_memsz`). A run of unreadable pages at the start of a RAM range becomes a
//! PT_LOAD with `p_filesz = 0`. That is how makedumpfile's own ELF output marks excluded
//! pages: libkdumpfile and [`Dump::read_phys`] report them as excluded (gdb reads zeros).
//!
//! The writer only needs `Write`: the headers come first, so the layout is planned before
//! any page is written. Planning reads every stored page once (in parallel) to learn which
//! can be read, and writing reads them again, in parallel batches written in order. What the
//! file does not store (zero fill, holes of a sparse file, excluded pages, bytes past the end
//! of a cut file) is known from [`Dump::for_each_extent`] without visiting its pages, so work
//! and memory follow the pages the file holds, not the RAM its headers declare: the pages
//! written are kept as sorted runs, plus one batch of pages.

use std::io::Write;
use std::path::PathBuf;

use crate::cpu::Machine;
use crate::dump::{Dump, Extent};
use crate::error::{Error, Result};
use crate::memmap::{MemoryRange, RangeKind, X86_64_START_KERNEL_MAP};
use crate::notes::NAME_VMCOREINFO;
use kdump_types::elf::{
    EHDR64_SIZE, EM_386, EM_AARCH64, EM_X86_64, Elf64Ehdr, Elf64Phdr, PF_R, PF_W, PF_X,
    PHDR64_SIZE, PT_LOAD, PT_NOTE, push_note_in,
};
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
    /// Pages that read as zeros without being stored (ELF zero fill, holes of a sparse input),
    /// written as zero fill.
    pub pages_zero: u64,
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
        Machine::X86_64 => EM_X86_64,
        Machine::X86 => EM_386,
        Machine::Aarch64 => EM_AARCH64,
        Machine::Other(n) => n,
    }
}

fn note_blob(dump: &Dump) -> Vec<u8> {
    let mut out = Vec::new();
    // Descriptors are copied as stored, so the headers keep the dump's byte order too.
    let order = dump.byte_order();
    let mut put = |name: &str, ty: u32, desc: &[u8]| push_note_in(&mut out, order, name, ty, desc);
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

/// Pages of `r` (PFNs `[first, end)`) by how they are held: page `p` has the kind of the
/// extent holding its first byte inside the range, so the pages partition exactly.
fn page_runs(
    dump: &Dump,
    r: &crate::memmap::MemoryRange,
    ps: u64,
    f: &mut dyn FnMut(u64, u64, Extent),
) {
    let start = r.phys.start.0;
    let _ = dump.for_each_extent(r, &mut |x, kind| {
        let first = if x.start.0 <= start {
            start / ps
        } else {
            x.start.0.div_ceil(ps)
        };
        let end = x.end.0.div_ceil(ps);
        if first < end {
            f(first, end, kind);
        }
        std::ops::ControlFlow::Continue(())
    });
}

/// The ranges to write as PT_LOADs with the virtual address of their first byte, as
/// /proc/vmcore and `makedumpfile -E` lay them out: the kernel-text alias first (`_text` at its
/// KASLR address, a second mapping of RAM written again), then RAM at its direct-map address.
/// Without these virtual addresses gdb and crash cannot read any kernel variable from the
/// output.
///
/// An ELF input keeps its own virtual addresses and kernel-text PT_LOAD. A kdump-compressed
/// input has neither: the direct map starts at `page_offset_base` (from a scan of the kernel
/// page tables, [`Dump::page_offset_base`]), and the kernel text is found from vmcoreinfo
/// (`SYMBOL(_stext)`, `NUMBER(phys_base)`) and its extent from the page tables
/// ([`kernel_text_alias`]). When either cannot be found (no vmcoreinfo, not x86_64) the
/// ranges are written without it.
fn load_ranges(dump: &Dump, ps: u64) -> Vec<(MemoryRange, Option<u64>)> {
    let mut out: Vec<(MemoryRange, Option<u64>)> = Vec::new();
    let ranges = dump.memory().ranges();
    let elf_text: Vec<&MemoryRange> = ranges
        .iter()
        .filter(|r| r.kind == RangeKind::KernelText)
        .collect();
    let has_virt = ranges.iter().any(|r| r.virt.is_some());
    if !elf_text.is_empty() {
        out.extend(
            elf_text
                .into_iter()
                .map(|r| (r.clone(), r.virt.map(|v| v.0))),
        );
    } else if !has_virt && let Some((va, phys)) = kernel_text_alias(dump, ps) {
        // A kdump-compressed dump: the alias reads through the same pages as RAM.
        let alias = MemoryRange {
            phys,
            virt: Some(VirtAddr(va)),
            file_offset: None,
            file_size: 0,
            present: 0,
            kind: RangeKind::KernelText,
            phdr_index: None,
            flags: 0,
        };
        out.push((alias, Some(va)));
    }
    let page_offset = if has_virt {
        None
    } else {
        dump.page_offset_base().ok().map(|p| p.base)
    };
    for r in dump.memory().ram() {
        let first_page = r.phys.start.0 / ps * ps;
        let virt = r
            .virt
            .map(|v| v.0.wrapping_sub(r.phys.start.0 - first_page))
            .or_else(|| page_offset.map(|base| base.wrapping_add(first_page)));
        out.push((r.clone(), virt));
    }
    out.retain(|(r, _)| r.phys.end.0.div_ceil(ps) > r.phys.start.0 / ps);
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

/// Write `dump` as an ELF64 little-endian vmcore to `out`. `progress(done, total)` is called
/// after each batch, in RAM pages over both passes.
///
/// Work and memory are proportional to the pages the file stores, not to the RAM its headers
/// declare: only [`Extent::Stored`] pages are read; pages that read as zeros without being
/// stored, excluded pages and pages the file does not hold become zero fill without being
/// visited one by one; the pages written are kept as sorted runs.
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
    let ram = load_ranges(dump, ps);
    let total: u64 = ram
        .iter()
        .map(|(r, _)| r.phys.end.0.div_ceil(ps) - r.phys.start.0 / ps)
        .fold(0, u64::saturating_add);
    let mut report = ConvertReport::default();
    let written = readable_runs(dump, &ram, ps, total, &mut report, &mut progress)?;
    let loads = plan_loads(&ram, &written, ps);
    let head = elf_head(dump, &loads, ps)?;
    out.write_all(&head).map_err(io)?;
    report.bytes = head.len() as u64;
    report.loads = loads.len();
    write_pages(dump, &loads, ps, out, &mut report, total, &mut progress)?;
    progress(total.saturating_mul(2), total.saturating_mul(2));
    out.flush().map_err(io)?;
    Ok(report)
}

/// Pass 1: which pages of each range can be read, as sorted runs of PFNs (only stored pages
/// are read); what cannot be read is counted in `report`.
fn readable_runs(
    dump: &Dump,
    ram: &[(MemoryRange, Option<u64>)],
    ps: u64,
    total: u64,
    report: &mut ConvertReport,
    progress: &mut impl FnMut(u64, u64),
) -> Result<Vec<Vec<(u64, u64)>>> {
    // Pass 1: which pages can be read, as runs of PFNs per range (read only stored pages).
    let mut written: Vec<Vec<(u64, u64)>> = Vec::with_capacity(ram.len());
    let mut done = 0u64;
    for (r, _) in ram {
        let mut runs: Vec<(u64, u64)> = Vec::new();
        let mut alias = None;
        let note_failure = |report: &mut ConvertReport, pfn: u64, err: Error| {
            report.pages_failed = report.pages_failed.saturating_add(1);
            if report.failures.len() < MAX_FAILURES {
                report.failures.push((pfn * ps, err.to_string()));
            }
        };
        page_runs(dump, r, ps, &mut |first, end, kind| {
            let n = end - first;
            match kind {
                Extent::Stored => {
                    let mut pfn = first;
                    while pfn < end {
                        let m = (end - pfn).min(BATCH as u64);
                        let pfns: Vec<u64> = (pfn..pfn + m).collect();
                        for (k, res) in read_batch(dump, ps, &pfns).into_iter().enumerate() {
                            let p = pfns[k];
                            match res {
                                Ok(_) => match runs.last_mut() {
                                    Some(last) if last.1 == p => last.1 = p + 1,
                                    _ => runs.push((p, p + 1)),
                                },
                                Err(Error::PageExcluded { .. }) => {
                                    report.pages_excluded = report.pages_excluded.saturating_add(1)
                                }
                                Err(Error::PageLost { .. }) => report.pages_lost += 1,
                                Err(err) => note_failure(report, p, err),
                            }
                        }
                        pfn += m;
                        done += m;
                        progress(done, total.saturating_mul(2));
                    }
                    return;
                }
                Extent::Alias => {
                    alias.get_or_insert((
                        r.phdr_index,
                        first.saturating_mul(ps),
                        end.saturating_mul(ps),
                    ));
                }
                // Sums over many ranges of up to 2^52 pages each can pass 2^64.
                Extent::Zero => report.pages_zero = report.pages_zero.saturating_add(n),
                Extent::Excluded => report.pages_excluded = report.pages_excluded.saturating_add(n),
                Extent::Missing | Extent::OtherPart => {
                    // Name the first few pages with the reader's own error, count the rest.
                    let named = (MAX_FAILURES.saturating_sub(report.failures.len()) as u64).min(n);
                    for p in first..first + named {
                        let mut b = vec![0u8; ps as usize];
                        match dump.read_phys(PhysAddr(p * ps), &mut b) {
                            Err(err) => note_failure(report, p, err),
                            Ok(()) => note_failure(report, p, Error::NotInDump { addr: p * ps }),
                        }
                    }
                    report.pages_failed = report.pages_failed.saturating_add(n - named);
                }
            }
            done = done.saturating_add(n);
            progress(done, total.saturating_mul(2));
        });
        written.push(runs);
        if let Some((index, a, b)) = alias {
            return Err(Error::Unsupported {
                what: "ELF conversion",
                offset: index
                    .and_then(|i| dump.segments().get(i))
                    .map_or(0, |s| s.header_offset),
                detail: format!(
                    "PT_LOAD {} stores physical {a:#x}..{b:#x} in file bytes an earlier PT_LOAD \
                     also stores (ELF009); converting would write those bytes again for every \
                     range that aliases them",
                    index.unwrap_or(0)
                ),
            });
        }
    }
    Ok(written)
}

/// The PT_LOADs to write for `ram` given the readable `written` runs of each range.
fn plan_loads(
    ram: &[(MemoryRange, Option<u64>)],
    written: &[Vec<(u64, u64)>],
    ps: u64,
) -> Vec<Load> {
    // Plan the PT_LOADs: each written run, then the pages up to the next run (or the range's
    // end) as zero fill; a range that starts unwritten starts with a zero-fill-only PT_LOAD.
    let mut loads: Vec<Load> = Vec::new();
    for ((r, virt), runs) in ram.iter().zip(written) {
        let (s, e) = (r.phys.start.0 / ps, r.phys.end.0.div_ceil(ps));
        let virt = *virt;
        // A range that ends at the top of the address space has its last page cut there.
        let addr = |pfn: u64| pfn.saturating_mul(ps);
        let mut push = |start: u64, data_end: u64, end: u64| {
            loads.push(Load {
                paddr: addr(start),
                vaddr: virt.map_or(0, |v| v.wrapping_add(addr(start - s))),
                filesz: addr(data_end) - addr(start),
                memsz: addr(end) - addr(start),
            });
        };
        match runs.first() {
            None => push(s, s, e),
            Some(&(a, _)) if a > s => push(s, s, a),
            _ => {}
        }
        for (i, &(a, b)) in runs.iter().enumerate() {
            let next = runs.get(i + 1).map_or(e, |n| n.0);
            push(a, b, next);
        }
    }
    loads
}

/// The ELF header, program headers and notes, padded to the first page of data (encoded by
/// the raw ELF layer, `kdump_types::elf`).
fn elf_head(dump: &Dump, loads: &[Load], ps: u64) -> Result<Vec<u8>> {
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
    let note_off = (EHDR64_SIZE + PHDR64_SIZE * phnum) as u64;
    let data_off = (note_off + notes.len() as u64).next_multiple_of(ps);
    let mut head = Vec::with_capacity(data_off as usize);
    let order = dump.byte_order();
    head.extend_from_slice(
        &Elf64Ehdr::core_in(e_machine(dump.machine()), phnum as u16, order).to_bytes_in(order),
    );
    let note_len = notes.len() as u64;
    let note_phdr = Elf64Phdr {
        p_type: PT_NOTE,
        p_offset: note_off,
        p_filesz: note_len,
        p_memsz: note_len,
        ..Elf64Phdr::default()
    };
    head.extend_from_slice(&note_phdr.to_bytes_in(order));
    let mut off = data_off;
    for l in loads {
        let load = Elf64Phdr {
            p_type: PT_LOAD,
            p_flags: PF_R | PF_W | PF_X,
            p_offset: off,
            p_vaddr: l.vaddr,
            p_paddr: l.paddr,
            p_filesz: l.filesz,
            p_memsz: l.memsz,
            p_align: ps,
        };
        head.extend_from_slice(&load.to_bytes_in(order));
        off += l.filesz;
    }
    head.extend_from_slice(&notes);
    head.resize(data_off as usize, 0);
    Ok(head)
}

/// Pass 2: the page data of every PT_LOAD, in batches read in parallel and written in order.
fn write_pages<W: Write>(
    dump: &Dump,
    loads: &[Load],
    ps: u64,
    out: &mut W,
    report: &mut ConvertReport,
    total: u64,
    progress: &mut impl FnMut(u64, u64),
) -> Result<()> {
    // Pass 2: page data, in batches read in parallel and written in order.
    let zero = vec![0u8; ps as usize];
    let mut done2 = 0u64;
    for l in loads {
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
            progress(total.saturating_add(done2), total.saturating_mul(2));
        }
        done2 = done2.saturating_add((l.memsz - l.filesz) / ps);
    }
    Ok(())
}
