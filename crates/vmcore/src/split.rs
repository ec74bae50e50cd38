//! makedumpfile `--split` sets opened as one dump.
//!
//! `makedumpfile --split` writes N kdump-compressed files. Each is a whole kdump file of its
//! own (the same headers, notes, VMCOREINFO and both bitmaps, which cover the whole machine),
//! but holds page descriptors and page data only for its PFN range `[start_pfn, end_pfn)`
//! (`kdump_sub_header.split`, `start_pfn_64`, `end_pfn_64`). A set is read by sending each
//! page to the part whose range holds it, as libkdumpfile and crash do; the first part
//! answers everything else (headers, notes, bitmaps).
//!
//! ```no_run
//! let dump = vmcore::Dump::open_split_set(&["vmcore.1", "vmcore.2", "vmcore.3"])?;
//! let mut page = [0u8; 4096];
//! dump.read_phys(vmcore::PhysAddr(0x100_0000), &mut page)?;
//! # Ok::<(), vmcore::Error>(())
//! ```

use std::path::{Path, PathBuf};

use crate::dump::{Dump, DumpData, Extent, Format};
use crate::error::{Error, Result};
use crate::findings as F;
use crate::kdump::KdumpFile;

/// A part of a `--split` set other than the first: its file and its PFN range.
#[derive(Debug)]
pub(crate) struct SplitPart {
    path: PathBuf,
    data: DumpData,
    kdump: KdumpFile,
    /// `[start_pfn, end_pfn)`.
    range: (u64, u64),
}

/// One file of a `--split` set ([`Dump::split_parts`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitPartInfo {
    /// The part's file.
    pub path: PathBuf,
    /// First PFN the part holds.
    pub start_pfn: u64,
    /// End (exclusive) of the PFNs the part holds.
    pub end_pfn: u64,
}

impl Dump {
    /// Open the files of a makedumpfile `--split` set as one dump, in any order.
    ///
    /// Every file must be a kdump-compressed part of the same dump (same kernel release,
    /// machine, page size, `max_mapnr` and header timestamp); their PFN ranges must not
    /// overlap. A set whose parts leave PFNs uncovered opens with finding `KDUMP012`
    /// (`split-set-incomplete`), and those pages are [`Error::NotInDump`]. One file that is
    /// not a split part opens as itself.
    pub fn open_split_set<P: AsRef<Path>>(paths: &[P]) -> Result<Dump> {
        let mut dumps = Vec::with_capacity(paths.len());
        for p in paths {
            dumps.push(Dump::open(p.as_ref())?);
        }
        Self::from_split_parts(dumps)
    }

    /// [`Dump::open_split_set`] of dumps already opened (each file exactly once), for a caller
    /// that opened them for another reason first (the CLI, given several files, reads them as
    /// one dump when all are parts of one set).
    pub fn from_split_parts(mut dumps: Vec<Dump>) -> Result<Dump> {
        let single = dumps.len() == 1 && dumps[0].kdump_info().is_none_or(|i| i.split.is_none());
        if single && let Some(d) = dumps.pop() {
            return Ok(d);
        }
        let mut ranged = Vec::with_capacity(dumps.len());
        for d in dumps {
            let range = part_range(&d)?;
            ranged.push((range, d));
        }
        ranged.sort_by_key(|(r, _)| *r);
        for pair in ranged.windows(2) {
            let ((a, da), (b, db)) = (&pair[0], &pair[1]);
            same_dump(da, db)?;
            if b.0 < a.1 {
                return Err(split_error(
                    db,
                    format!(
                        "its PFNs [{:#x}, {:#x}) overlap those of {} [{:#x}, {:#x}): \
                         two parts of one set never share a page",
                        b.0,
                        b.1,
                        show(da),
                        a.0,
                        a.1
                    ),
                ));
            }
        }
        let mut rest = ranged.into_iter();
        let Some(((lo, hi), mut first)) = rest.next() else {
            return Err(Error::SplitSet {
                path: PathBuf::new(),
                detail: "no files given".into(),
            });
        };
        let mut parts = Vec::new();
        for (range, d) in rest {
            parts.push(SplitPart::from_dump(d, range)?);
        }
        first.set_split_parts((lo, hi), parts);
        Ok(first)
    }

    /// The files of a `--split` set opened with [`Dump::open_split_set`], by PFN range (one
    /// entry for a dump that is one part only; empty for a dump that is not split).
    pub fn split_parts(&self) -> Vec<SplitPartInfo> {
        let Some((lo, hi)) = self.kdump_info().and_then(|i| i.split) else {
            return Vec::new();
        };
        let mut v = vec![SplitPartInfo {
            path: self.path().map(Path::to_path_buf).unwrap_or_default(),
            start_pfn: lo,
            end_pfn: hi,
        }];
        v.extend(self.parts().iter().map(|p| SplitPartInfo {
            path: p.path.clone(),
            start_pfn: p.range.0,
            end_pfn: p.range.1,
        }));
        v
    }

    /// Install the other parts of a set on its first part, and replace the per-file
    /// "one part of a set" findings with one for the set (and one for any PFNs no part holds).
    fn set_split_parts(&mut self, first: (u64, u64), parts: Vec<SplitPart>) {
        let n = parts.len() + 1;
        let mut covered = vec![first];
        covered.extend(parts.iter().map(|p| p.range));
        let max_mapnr = self.kdump_info().map_or(0, |i| i.max_mapnr);
        let gaps = gaps(&covered, max_mapnr);
        let findings = self.findings_mut();
        findings.retain(|f| f.code != F::KDUMP_SPLIT_PART.code);
        findings.push(
            F::KDUMP_SPLIT_PART
                .finding(None, format!("a --split set of {n} parts read as one dump")),
        );
        if let Some(&(s, e)) = gaps.first() {
            let pages: u64 = gaps.iter().map(|(s, e)| e - s).sum();
            findings.push(F::SPLIT_SET_INCOMPLETE.finding(
                None,
                format!(
                    "no part of the set holds {pages} PFNs in {} runs (first [{s:#x}, {e:#x})): \
                     a part of the --split set is missing",
                    gaps.len()
                ),
            ));
        }
        self.install_parts(parts);
    }

    /// For a split set: the part (file bytes and kdump reader) holding `pfn`, or `None` when
    /// this dump is not a set or the first part holds it.
    fn part_of(&self, pfn: u64) -> Option<&SplitPart> {
        self.parts()
            .iter()
            .find(|p| (p.range.0..p.range.1).contains(&pfn))
    }

    /// The kdump reader and file bytes that hold `pfn`: its split part's, or the first
    /// part's (which answers for any dump that is not a set).
    pub(crate) fn kdump_for_pfn<'a>(
        &'a self,
        first: &'a KdumpFile,
        pfn: u64,
    ) -> (&'a KdumpFile, &'a [u8]) {
        match self.part_of(pfn) {
            Some(p) => (&p.kdump, &p.data),
            None => (first, self.data()),
        }
    }

    /// [`Dump::for_each_extent`] for a split set, in PFNs: each part reports its own range;
    /// PFNs no part holds are [`Extent::Missing`].
    pub(crate) fn split_extents(
        &self,
        first: &KdumpFile,
        from: u64,
        to: u64,
        f: &mut dyn FnMut(u64, u64, Extent) -> std::ops::ControlFlow<()>,
    ) -> std::ops::ControlFlow<()> {
        let mut at = from;
        while at < to {
            let (end, ctl) = match self.part_of(at) {
                Some(p) => {
                    let end = p.range.1.min(to);
                    (end, p.kdump.for_each_extent(&p.data, at, end, f))
                }
                None => {
                    // The first part, or a gap: the first part says which (its own pages are
                    // Stored/Excluded; pages of no part are OtherPart to it, Missing to a set).
                    let end = self
                        .parts()
                        .iter()
                        .map(|p| p.range.0)
                        .filter(|&s| s > at)
                        .min()
                        .unwrap_or(to)
                        .min(to);
                    let ctl = first.for_each_extent(self.data(), at, end, &mut |a, b, x| {
                        let x = if x == Extent::OtherPart {
                            Extent::Missing
                        } else {
                            x
                        };
                        f(a, b, x)
                    });
                    (end, ctl)
                }
            };
            ctl?;
            at = end;
        }
        std::ops::ControlFlow::Continue(())
    }
}

impl SplitPart {
    fn from_dump(d: Dump, range: (u64, u64)) -> Result<SplitPart> {
        let path = d.path().map(Path::to_path_buf).unwrap_or_default();
        let (data, kdump) = d.into_kdump_parts().ok_or_else(|| Error::SplitSet {
            path: path.clone(),
            detail: "it is not kdump-compressed".into(),
        })?;
        Ok(SplitPart {
            path,
            data,
            kdump,
            range,
        })
    }
}

/// The PFN range of a dump that must be a `--split` part.
fn part_range(d: &Dump) -> Result<(u64, u64)> {
    // Parts may be flattened (`makedumpfile -F --split`), each or some: a flattened part is
    // read through its record index like any flattened dump.
    if !matches!(d.format(), Format::KdumpCompressed | Format::Flattened) {
        return Err(split_error(
            d,
            format!(
                "it is {}, not a kdump-compressed or flattened file: only makedumpfile \
                 --split parts form a set",
                d.format().name()
            ),
        ));
    }
    d.kdump_info().and_then(|i| i.split).ok_or_else(|| {
        split_error(
            d,
            "it is not a --split part (kdump_sub_header.split is 0)".to_string(),
        )
    })
}

/// Two parts of one set come from one dump: the same kernel, machine, page size, PFN count
/// and header timestamp.
fn same_dump(a: &Dump, b: &Dump) -> Result<()> {
    let (Some(x), Some(y)) = (a.kdump_info(), b.kdump_info()) else {
        return Ok(());
    };
    let differ = [
        ("utsname release", x.release != y.release),
        ("utsname machine", x.uts_machine != y.uts_machine),
        ("block_size", x.page_size != y.page_size),
        ("max_mapnr", x.max_mapnr != y.max_mapnr),
        ("timestamp", x.timestamp != y.timestamp),
    ];
    match differ.iter().find(|(_, d)| *d) {
        Some((field, _)) => Err(split_error(
            b,
            format!(
                "its {field} differs from {}'s: the files are parts of different dumps",
                show(a)
            ),
        )),
        None => Ok(()),
    }
}

/// PFN runs of `[0, max_mapnr)` that no range (sorted by start) covers.
fn gaps(ranges: &[(u64, u64)], max_mapnr: u64) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    let mut at = 0u64;
    for &(s, e) in ranges {
        if s > at {
            out.push((at, s.min(max_mapnr)));
        }
        at = at.max(e);
    }
    if at < max_mapnr {
        out.push((at, max_mapnr));
    }
    out.retain(|(s, e)| s < e);
    out
}

fn show(d: &Dump) -> String {
    d.path()
        .map_or_else(|| "a part".to_string(), |p| p.display().to_string())
}

fn split_error(d: &Dump, detail: String) -> Error {
    Error::SplitSet {
        path: d.path().map(Path::to_path_buf).unwrap_or_default(),
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::gaps;

    #[test]
    fn gaps_between_and_after_parts() {
        assert_eq!(gaps(&[(0, 10), (10, 20)], 20), vec![]);
        assert_eq!(gaps(&[(0, 10), (12, 20)], 25), vec![(10, 12), (20, 25)]);
        assert_eq!(gaps(&[(5, 10)], 10), vec![(0, 5)]);
    }
}
