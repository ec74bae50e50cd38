//! Whole-dump checks for `vmcore check`: [`structural`] (what the readers noticed, plus the
//! excluded-page count of kdump-compressed dumps) and [`deep_scan`] (read every page, in
//! parallel, and report the ones that cannot be read).

use kdump_types::{Finding, PhysAddr, PhysRange, Severity};
use rayon::prelude::*;
use vmcore::{Dump, Extent, RangeKind};

use crate::diff::Code;

/// `CHK001 page-unreadable`.
pub const PAGE_UNREADABLE: Code = Code {
    code: "CHK001",
    name: "page-unreadable",
    severity: Severity::Error,
    meaning: "pages the dump's map promises cannot be read (truncated, lost, corrupt)",
};
/// `CHK002 pages-excluded`.
pub const PAGES_EXCLUDED: Code = Code {
    code: "CHK002",
    name: "pages-excluded",
    severity: Severity::Info,
    meaning: "RAM pages a kdump-compressed dump leaves out by its dump level",
};
/// `CHK003 deep-scan-read-nothing`.
pub const DEEP_READ_NOTHING: Code = Code {
    code: "CHK003",
    name: "deep-scan-read-nothing",
    severity: Severity::Warning,
    meaning: "the deep scan found no byte of memory to read: it compared nothing (inconclusive)",
};
/// Every code of this module.
pub const CODES: &[Code] = &[PAGE_UNREADABLE, PAGES_EXCLUDED, DEEP_READ_NOTHING];

/// Everything the readers reported, plus the excluded-page count of kdump-compressed dumps.
pub fn structural(dump: &Dump) -> Vec<Finding> {
    let mut out = dump.findings().to_vec();
    if let Some(k) = dump.kdump_info()
        && k.excluded_pages > 0
    {
        out.push(Finding::new(
            PAGES_EXCLUDED.code,
            PAGES_EXCLUDED.name,
            PAGES_EXCLUDED.severity,
            None,
            format!(
                "{} of {} RAM pages excluded by dump level {} ({} stored)",
                k.excluded_pages, k.ram_pages, k.dump_level, k.dumpable_pages
            ),
        ));
    }
    out
}

/// What [`deep_scan`] found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeepReport {
    /// Bytes read successfully.
    pub bytes_read: u64,
    /// Pages visited.
    pub pages: u64,
    /// Pages excluded by the dump level (kdump-compressed), not errors.
    pub excluded_pages: u64,
    /// Unreadable runs of pages with the reason, ascending.
    pub unreadable: Vec<(PhysRange, &'static str)>,
}

impl DeepReport {
    /// Findings: one per unreadable run (at most `limit`, then a summary), and `CHK003` when
    /// nothing was read: a scan that compared nothing does not pass.
    pub fn findings(&self, limit: usize) -> Vec<Finding> {
        let mut out: Vec<Finding> = Vec::new();
        if self.bytes_read == 0 {
            out.push(Finding::new(
                DEEP_READ_NOTHING.code,
                DEEP_READ_NOTHING.name,
                DEEP_READ_NOTHING.severity,
                None,
                format!(
                    "no byte of memory could be read ({} pages in the map, {} excluded, {} \
                     unreadable runs): the deep check compared nothing",
                    self.pages,
                    self.excluded_pages,
                    self.unreadable.len()
                ),
            ));
        }
        out.extend(self.unreadable.iter().take(limit).map(|(r, why)| {
            Finding::new(
                PAGE_UNREADABLE.code,
                PAGE_UNREADABLE.name,
                PAGE_UNREADABLE.severity,
                None,
                format!("{r} ({} pages): {why}", r.len().div_ceil(4096)),
            )
        }));
        if self.unreadable.len() > limit {
            let rest: u64 = self.unreadable[limit..]
                .iter()
                .map(|(r, _)| r.len().div_ceil(4096))
                .fold(0u64, u64::saturating_add);
            out.push(Finding::new(
                PAGE_UNREADABLE.code,
                PAGE_UNREADABLE.name,
                PAGE_UNREADABLE.severity,
                None,
                format!(
                    "and {} more unreadable runs ({rest} pages)",
                    self.unreadable.len() - limit
                ),
            ));
        }
        out
    }
}

fn reason(e: &vmcore::Error) -> Option<&'static str> {
    Some(match e {
        vmcore::Error::PageExcluded { .. } => return None,
        vmcore::Error::BeyondEof { .. } => "past the end of the file (truncated dump)",
        vmcore::Error::PageLost { .. } => "never written (incomplete dump)",
        vmcore::Error::Decompress { .. } => "does not decompress",
        vmcore::Error::NotInDump { .. } => "not in the dump",
        vmcore::Error::Read(_) => "descriptor or data outside the file",
        _ => "unreadable",
    })
}

/// Bytes per work item: large enough to amortise scheduling, small enough to spread a dump
/// over every core and keep progress smooth.
const CHUNK: u64 = 8 << 20;
const PAGE: u64 = 4096;

#[derive(Default)]
struct Partial {
    bytes: u64,
    excluded: u64,
    bad: Vec<(PhysRange, &'static str)>,
}

/// One piece of work of the deep scan.
#[derive(Clone, Copy)]
enum Work {
    /// ELF: these physical bytes are in the file at this offset; read them in place.
    InFile(PhysRange, u64),
    /// Read through [`Dump::read_phys`] (kdump-compressed: decompress every page).
    ViaReader(PhysRange),
}

/// Reads every page of every RAM range of `dump` (kernel-text aliases once, through RAM), in
/// parallel; `progress(bytes)` is called as pieces finish (from worker threads).
///
/// Only what the file stores is read ([`Dump::for_each_extent`]): ELF dumps in place from the
/// mapped file (every byte is loaded and folded, nothing copied, so the scan runs at memory
/// bandwidth), other formats through `read_phys`, which decompresses each page. What reads as
/// zeros without being stored (zero fill, holes of a sparse file) and file bytes another
/// PT_LOAD already stores count as read without being touched; excluded pages are counted;
/// bytes the headers promise past the end of the file are reported without touching them. So
/// the work follows the bytes the file holds, not the size its headers declare.
pub fn deep_scan(dump: &Dump, progress: &(dyn Fn(u64) + Sync)) -> DeepReport {
    let mut rep = DeepReport::default();
    if dump.is_headers_only() {
        return rep;
    }
    let elf = dump.kdump_info().is_none();
    let mut work = Vec::new();
    let split = |r: PhysRange| {
        let (s, e) = (r.start.0, r.end.0);
        (0..(e - s).div_ceil(CHUNK))
            // A range can end at 2^64 - 1: the last chunk's end must not overflow.
            .map(move |i| {
                PhysRange::new(s + i * CHUNK, (s + i * CHUNK).saturating_add(CHUNK).min(e))
            })
    };
    for r in dump
        .memory()
        .ranges()
        .iter()
        .filter(|r| r.kind != RangeKind::KernelText)
    {
        rep.pages = rep.pages.saturating_add(r.phys.len().div_ceil(PAGE));
        let _ = dump.for_each_extent(r, &mut |x, kind| {
            match (kind, elf, r.file_offset) {
                (Extent::Stored, true, Some(fo)) => {
                    let s = r.phys.start.0;
                    work.extend(split(x).map(|c| Work::InFile(c, fo.0 + (c.start.0 - s))));
                }
                (Extent::Stored, _, _) => work.extend(split(x).map(Work::ViaReader)),
                (Extent::Zero | Extent::Alias, _, _) => {
                    rep.bytes_read = rep.bytes_read.saturating_add(x.len());
                }
                (Extent::Excluded, _, _) => {
                    rep.excluded_pages = rep.excluded_pages.saturating_add(x.len().div_ceil(PAGE));
                }
                (Extent::Missing, _, _) => push_run(
                    &mut rep.unreadable,
                    x,
                    "past the end of the file (truncated dump)",
                ),
                (Extent::OtherPart, _, _) => push_run(&mut rep.unreadable, x, "not in the dump"),
            }
            std::ops::ControlFlow::Continue(())
        });
    }
    let data = dump.data();
    let parts: Vec<Partial> = work
        .par_iter()
        .map_init(Vec::new, |buf: &mut Vec<u8>, w| {
            let mut p = Partial::default();
            match *w {
                Work::InFile(r, off) => {
                    let n = r.len() as usize;
                    match usize::try_from(off)
                        .ok()
                        .and_then(|o| data.get(o..o.checked_add(n)?))
                    {
                        Some(bytes) => {
                            std::hint::black_box(fold(bytes));
                            p.bytes = r.len();
                        }
                        None => {
                            push_run(&mut p.bad, r, "past the end of the file (truncated dump)")
                        }
                    }
                }
                Work::ViaReader(r) => {
                    // At most one chunk; a small range (a fuzz input) needs no 8 MiB buffer.
                    buf.resize(buf.len().max(r.len() as usize), 0);
                    read_via_reader(dump, &r, &mut buf[..r.len() as usize], &mut p)
                }
            }
            let r = match *w {
                Work::InFile(r, _) | Work::ViaReader(r) => r,
            };
            progress(r.len());
            p
        })
        .collect();
    let mut bad = std::mem::take(&mut rep.unreadable);
    for p in parts {
        rep.bytes_read = rep.bytes_read.saturating_add(p.bytes);
        rep.excluded_pages = rep.excluded_pages.saturating_add(p.excluded);
        bad.extend(p.bad);
    }
    bad.sort_by_key(|(r, _)| *r);
    for (r, why) in bad {
        push_run(&mut rep.unreadable, r, why);
    }
    rep
}

/// Loads every byte (8 at a time), so the pages are really read.
fn fold(bytes: &[u8]) -> u64 {
    let mut acc = 0u64;
    let mut words = bytes.chunks_exact(8);
    for w in &mut words {
        let mut a = [0u8; 8];
        a.copy_from_slice(w);
        acc ^= u64::from_ne_bytes(a);
    }
    for &b in words.remainder() {
        acc ^= u64::from(b);
    }
    acc
}

fn read_via_reader(dump: &Dump, r: &PhysRange, slice: &mut [u8], p: &mut Partial) {
    if dump.read_phys(r.start, slice).is_ok() {
        p.bytes = r.len();
        return;
    }
    // Find out which pages, and why.
    let mut a = r.start.0;
    while a < r.end.0 {
        let len = (r.end.0 - a).min(PAGE - a % PAGE);
        let page = &mut slice[..len as usize];
        match dump.read_phys(PhysAddr(a), page) {
            Ok(()) => p.bytes += len,
            Err(e) => match reason(&e) {
                None => p.excluded += 1,
                Some(why) => push_run(&mut p.bad, PhysRange::new(a, a + len), why),
            },
        }
        a += len;
    }
}

fn push_run(v: &mut Vec<(PhysRange, &'static str)>, r: PhysRange, why: &'static str) {
    if let Some((last, w)) = v.last_mut()
        && *w == why
        && last.end == r.start
    {
        last.end = r.end;
        return;
    }
    v.push((r, why));
}
