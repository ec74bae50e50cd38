//! Whole-dump checks for `vmcore check`: [`structural`] (what the readers noticed, plus the
//! excluded-page count of kdump-compressed dumps) and [`deep_scan`] (read every page, in
//! parallel, and report the ones that cannot be read).

use kdump_types::{Finding, PhysAddr, PhysRange, Severity};
use rayon::prelude::*;
use vmcore::{Dump, RangeKind};

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
/// Every code of this module.
pub const CODES: &[Code] = &[PAGE_UNREADABLE, PAGES_EXCLUDED];

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
    /// Findings: one per unreadable run (at most `limit`, then a summary).
    pub fn findings(&self, limit: usize) -> Vec<Finding> {
        let mut out: Vec<Finding> = self
            .unreadable
            .iter()
            .take(limit)
            .map(|(r, why)| {
                Finding::new(
                    PAGE_UNREADABLE.code,
                    PAGE_UNREADABLE.name,
                    PAGE_UNREADABLE.severity,
                    None,
                    format!("{r} ({} pages): {why}", r.len().div_ceil(4096)),
                )
            })
            .collect();
        if self.unreadable.len() > limit {
            let rest: u64 = self.unreadable[limit..]
                .iter()
                .map(|(r, _)| r.len().div_ceil(4096))
                .sum();
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
    pages: u64,
    excluded: u64,
    bad: Vec<(PhysRange, &'static str)>,
}

/// Reads every page of every RAM range of `dump` (kernel-text aliases once, through RAM), in
/// parallel; `progress(bytes)` is called as chunks finish (from worker threads).
pub fn deep_scan(dump: &Dump, progress: &(dyn Fn(u64) + Sync)) -> DeepReport {
    if dump.is_headers_only() {
        return DeepReport::default();
    }
    let chunks: Vec<PhysRange> = dump
        .memory()
        .ranges()
        .iter()
        .filter(|r| r.kind != RangeKind::KernelText)
        .flat_map(|r| {
            let (s, e) = (r.phys.start.0, r.phys.end.0);
            (0..(e - s).div_ceil(CHUNK)).map(move |i| {
                PhysRange::new(s + i * CHUNK, (s + (i + 1) * CHUNK).min(e))
            })
        })
        .collect();
    let parts: Vec<Partial> = chunks
        .par_iter()
        .map_init(
            || vec![0u8; CHUNK as usize],
            |buf, r| {
                let mut p = Partial::default();
                let n = r.len() as usize;
                let slice = &mut buf[..n];
                p.pages = r.len().div_ceil(PAGE);
                match dump.read_phys(r.start, slice) {
                    Ok(()) => p.bytes = r.len(),
                    Err(_) => {
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
                }
                progress(r.len());
                p
            },
        )
        .collect();
    let mut rep = DeepReport::default();
    for p in parts {
        rep.bytes_read += p.bytes;
        rep.pages += p.pages;
        rep.excluded_pages += p.excluded;
        for (r, why) in p.bad {
            push_run(&mut rep.unreadable, r, why);
        }
    }
    rep
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
