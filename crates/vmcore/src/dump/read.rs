//! Reading a dump's memory: physical reads across ranges (partial pages, excluded pages as
//! zeros on request), covered bytes, and extents (stored / zero / excluded / missing / alias).

use kdump_types::{Bytes, PhysAddr, PhysRange, VirtAddr};

use super::{Dump, Extent};
use crate::error::{Error, Result};
use crate::kdump::KdumpFile;
use crate::memmap::Location;

impl Dump {
    /// How many bytes of `[addr, addr + len)` the dump's memory map covers (the rest of a
    /// partly covered page reads as zeros; see [`Dump::read_phys`]).
    pub fn covered_bytes(&self, addr: PhysAddr, len: u64) -> u64 {
        let end = addr.0.saturating_add(len);
        let mut a = addr.0;
        let mut covered = 0u64;
        while a < end {
            match self.memory.find_phys(PhysAddr(a)) {
                Some(r) => {
                    let n = r.phys.end.0.min(end) - a;
                    covered += n;
                    a += n;
                }
                None => match self.memory.next_start_after(PhysAddr(a)) {
                    Some(next) if next.0 < end => a = next.0,
                    _ => break,
                },
            }
        }
        covered
    }

    /// Read physical memory into `buf`, across range boundaries.
    ///
    /// A page (VMCOREINFO's `PAGESIZE`, else 4 KiB) that the memory map covers only in part
    /// reads as its covered bytes and zeros elsewhere, as libkdumpfile reads it; a page no
    /// range touches is [`Error::NotInDump`]. [`Dump::covered_bytes`] says how much of a read was covered.
    ///
    /// Errors: [`Error::NotInDump`] for unmapped pages, [`Error::BeyondEof`] for bytes of a
    /// truncated file, [`Error::HeadersOnly`] for a raw elfcorehdr, [`Error::PageExcluded`]
    /// for pages the dump level excluded (kdump-compressed bitmaps, ELF bytes past
    /// `p_filesz`; see [`Dump::set_excluded_as_zero`]) and [`Error::PageLost`] for pages of an
    /// incomplete kdump-compressed dump.
    pub fn read_phys(&self, addr: PhysAddr, buf: &mut [u8]) -> Result<()> {
        if let Some(kd) = &self.kdump {
            if self.parts.is_empty() && !self.excluded_as_zero {
                return kd.read_phys(&self.data, addr.0, buf);
            }
            return self.read_kdump_by_page(kd, addr, buf);
        }
        let mut done = 0usize;
        while done < buf.len() {
            let a = addr
                .0
                .checked_add(done as u64)
                .ok_or(Error::NotInDump { addr: u64::MAX })?;
            if self.is_headers_only() {
                return Err(Error::HeadersOnly { addr: a });
            }
            let want = (buf.len() - done) as u64;
            match self.memory.locate(PhysAddr(a)) {
                None => {
                    // Zero-fill the uncovered part of a page that some range covers in part.
                    let (page, page_end) = self.partial_page_of(a);
                    if !self.memory.covers_any(page, page_end) {
                        return Err(Error::NotInDump { addr: a });
                    }
                    if !self.page_present(page, page_end) {
                        return Err(Error::PageExcluded {
                            addr: a,
                            pfn: a / self.partial_page(),
                        });
                    }
                    let gap_end = self
                        .memory
                        .next_start_after(PhysAddr(a))
                        .map_or(page_end, |n| n.0.min(page_end));
                    // The last address (2^64 - 1) is past every range's exclusive end, and its
                    // page end saturates onto it: nothing to zero-fill, and no progress to make.
                    if gap_end <= a {
                        return Err(Error::NotInDump { addr: a });
                    }
                    let n = want.min(gap_end - a) as usize;
                    buf[done..done + n].fill(0);
                    done += n;
                }
                Some(Location::File { offset, len }) => {
                    let n = want.min(len) as usize;
                    let src = Bytes::new(&self.data, 0).slice("memory", offset, n as u64)?;
                    buf[done..done + n].copy_from_slice(src);
                    done += n;
                }
                Some(Location::Excluded { len }) => {
                    // Bytes past p_filesz: zeros inside a page that file bytes hold in part
                    // (libkdumpfile reads such a page), else the page was excluded.
                    let (page, page_end) = self.partial_page_of(a);
                    if !self.page_present(page, page_end) {
                        return Err(Error::PageExcluded {
                            addr: a,
                            pfn: a / self.partial_page(),
                        });
                    }
                    let n = want.min(len).min(page_end.saturating_sub(a)) as usize;
                    if n == 0 {
                        return Err(Error::NotInDump { addr: a });
                    }
                    buf[done..done + n].fill(0);
                    done += n;
                }
                Some(Location::Truncated { offset }) => {
                    return Err(Error::BeyondEof {
                        addr: a,
                        offset,
                        file_len: self.file_len(),
                    });
                }
            }
        }
        Ok(())
    }

    /// `[page, page_end)` of the partial-read page holding `a`.
    fn partial_page_of(&self, a: u64) -> (u64, u64) {
        let ps = self.partial_page();
        let page = a & !(ps - 1);
        (page, page.saturating_add(ps))
    }

    /// Whether an ELF dump's page reads at all: some file bytes hold part of it, or any range
    /// covers it when excluded pages read as zeros ([`Dump::set_excluded_as_zero`]), as
    /// libkdumpfile decides with and without `-z`.
    fn page_present(&self, page: u64, page_end: u64) -> bool {
        if self.excluded_as_zero {
            self.memory.covers_any(page, page_end)
        } else {
            self.memory.file_backed_any(page, page_end)
        }
    }

    /// kdump-compressed read page by page: each page from the `--split` part holding it, and
    /// excluded pages as zeros when [`Dump::set_excluded_as_zero`] asked for it.
    fn read_kdump_by_page(&self, first: &KdumpFile, addr: PhysAddr, buf: &mut [u8]) -> Result<()> {
        let ps = first.page_size();
        let mut done = 0usize;
        while done < buf.len() {
            let a = addr
                .0
                .checked_add(done as u64)
                .ok_or(Error::NotInDump { addr: u64::MAX })?;
            let n = ((ps - a % ps) as usize).min(buf.len() - done);
            let out = &mut buf[done..done + n];
            let (kd, data) = self.kdump_for_pfn(first, a / ps);
            match kd.read_phys(data, a, out) {
                Err(Error::PageExcluded { .. }) if self.excluded_as_zero => out.fill(0),
                other => other?,
            }
            done += n;
        }
        Ok(())
    }

    /// Calls `f(range, extent)` for the runs of the memory range `r` (one of
    /// [`MemoryMap::ranges`](crate::MemoryMap::ranges)) by how they are held, ascending, until `f` breaks. Nothing is
    /// read: work is proportional to the runs (the file's data extents, the bitmap bytes the
    /// file stores), never to the size the headers declare, so whole-dump scans can skip what
    /// the file does not hold and read only [`Extent::Stored`] runs.
    pub fn for_each_extent(
        &self,
        r: &crate::memmap::MemoryRange,
        f: &mut dyn FnMut(PhysRange, Extent) -> std::ops::ControlFlow<()>,
    ) -> std::ops::ControlFlow<()> {
        use std::ops::ControlFlow;
        let (s, end) = (r.phys.start.0, r.phys.end.0);
        if s >= end {
            return ControlFlow::Continue(());
        }
        if let Some(kd) = &self.kdump {
            let shift = kd.page_size().trailing_zeros();
            let addr = |pfn: u64| pfn.checked_shl(shift).unwrap_or(u64::MAX).clamp(s, end);
            let (from, to) = (s >> shift, end.div_ceil(kd.page_size()));
            if !self.parts.is_empty() {
                return self.split_extents(kd, from, to, &mut |a, b, x| {
                    f(PhysRange::new(addr(a), addr(b)), x)
                });
            }
            return kd.for_each_extent(&self.data, from, to, &mut |a, b, x| {
                f(PhysRange::new(addr(a), addr(b)), x)
            });
        }
        let Some(fo) = r.file_offset.filter(|_| !self.is_headers_only()) else {
            return f(r.phys, Extent::Missing);
        };
        let present_end = s.saturating_add(r.present).min(end);
        let file_end = s.saturating_add(r.file_size).min(end);
        let alias = r
            .phdr_index
            .and_then(|i| self.aliased.get(i))
            .map_or(0, |&n| n.min(present_end - s));
        let mut at = s;
        if alias > 0 {
            f(PhysRange::new(s, s + alias), Extent::Alias)?;
            at = s + alias;
        }
        // The stored part: data extents of the file are stored, holes read as zeros.
        let from = fo.0.saturating_add(at - s);
        for (a, b) in self
            .extents
            .data_in(from, fo.0.saturating_add(present_end - s))
        {
            let (pa, pb) = (s + (a - fo.0), s + (b - fo.0));
            if at < pa {
                f(PhysRange::new(at, pa), Extent::Zero)?;
            }
            f(PhysRange::new(pa, pb), Extent::Stored)?;
            at = pb;
        }
        if at < present_end {
            f(PhysRange::new(at, present_end), Extent::Zero)?;
        }
        if present_end < file_end {
            f(PhysRange::new(present_end, file_end), Extent::Missing)?;
        }
        if file_end < end {
            f(PhysRange::new(file_end, end), Extent::Excluded)?;
        }
        ControlFlow::Continue(())
    }

    /// Translate a kernel virtual address through the dump's own PT_LOAD virtual addresses
    /// (direct map and kernel text), without page tables.
    pub fn virt_to_phys_by_segments(&self, addr: VirtAddr) -> Option<PhysAddr> {
        self.memory.virt_to_phys(addr)
    }
}
