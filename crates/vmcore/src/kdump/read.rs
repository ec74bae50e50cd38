//! Reading an opened kdump image: the note and VMCOREINFO blobs, RAM ranges, page states,
//! page descriptors, pages (decompressed one at a time), and extents.

use std::ops::ControlFlow;
use std::sync::PoisonError;

use kdump_types::PhysRange;

use super::{CACHE_PAGES, KdumpFile, MAX_RAM_RANGES, PAGE_DESC_SIZE, PageDesc, PageState, page};
use crate::dump::Extent;
use crate::error::{Error, Result};
use crate::memmap::{MemoryRange, RangeKind};

impl KdumpFile {
    fn region(
        &self,
        data: &[u8],
        ok: bool,
        what: &'static str,
        off: Option<u64>,
        size: Option<u64>,
    ) -> Result<Option<(Vec<u8>, u64)>> {
        let (Some(off), Some(size)) = (off, size) else {
            return Ok(None);
        };
        if !ok || size == 0 {
            return Ok(None);
        }
        let b = self.layout.read_needed(data, what, off, size, false)?;
        Ok(Some((b.into_owned(), self.layout.file_pos(off))))
    }

    /// The ELF note blob and its file offset (header version ≥ 4). `None` when the dump has
    /// none or it is unreadable (then a finding says so).
    pub fn note_data(&self, data: &[u8]) -> Result<Option<(Vec<u8>, u64)>> {
        self.region(
            data,
            self.notes_ok,
            "ELF notes",
            self.sub.offset_note,
            self.sub.size_note,
        )
    }
    /// The vmcoreinfo text and its file offset (header version ≥ 3).
    pub fn vmcoreinfo_data(&self, data: &[u8]) -> Result<Option<(Vec<u8>, u64)>> {
        self.region(
            data,
            self.vmcoreinfo_ok,
            "VMCOREINFO",
            self.sub.offset_vmcoreinfo,
            self.sub.size_vmcoreinfo,
        )
    }

    /// RAM ranges: runs of set bits of the 1st bitmap (at most [`MAX_RAM_RANGES`]).
    pub fn ram_ranges(&self, data: &[u8]) -> Result<Vec<MemoryRange>> {
        let shift = self.page_shift;
        let runs = self
            .ram
            .runs(data, MAX_RAM_RANGES)
            .ok_or_else(|| Error::Corrupt {
                what: "kdump 1st bitmap",
                detail: format!(
                    "the bitmap at file offset {:#x} has more than {MAX_RAM_RANGES} runs of RAM \
                 pages (MAX_RAM_RANGES, the cap on memory ranges; a real memory map has tens)",
                    self.layout.file_pos(self.bitmap_off)
                ),
            })?;
        Ok(runs
            .into_iter()
            .map(|(s, e)| MemoryRange {
                phys: PhysRange::new(s << shift, e.checked_shl(shift).unwrap_or(u64::MAX)),
                virt: None,
                file_offset: None,
                file_size: 0,
                present: 0,
                kind: RangeKind::KdumpRam,
                phdr_index: None,
                flags: 0,
            })
            .collect())
    }

    /// What the bitmaps say about `pfn` (no descriptor is read).
    pub fn page_state(&self, data: &[u8], pfn: u64) -> PageState {
        if pfn >= self.known_pfns {
            let mapnr = match self.sub.max_mapnr_64 {
                Some(m) if self.info.header_version >= 6 => m,
                _ => u64::from(self.header.max_mapnr),
            };
            let in_bitmaps = pfn < mapnr.min(self.bitmap_half.saturating_mul(8));
            return if in_bitmaps {
                PageState::Unknown
            } else {
                PageState::NotInDump
            };
        }
        if self.dumpable.get(data, pfn) {
            if let Some((lo, hi)) = self.info.split
                && !(lo..hi).contains(&pfn)
            {
                return PageState::OtherSplitPart;
            }
            return PageState::Dumpable(self.dumpable.rank(data, pfn) - self.desc_rank_base);
        }
        if self.ram.get(data, pfn) {
            PageState::Excluded
        } else {
            PageState::NotInDump
        }
    }

    /// The descriptor of `pfn`; `addr` is the address being read, for errors.
    fn desc_for(&self, data: &[u8], pfn: u64, addr: u64) -> Result<(PageDesc, u64)> {
        let index = match self.page_state(data, pfn) {
            PageState::Dumpable(i) => i,
            PageState::Excluded => return Err(Error::PageExcluded { addr, pfn }),
            PageState::NotInDump | PageState::OtherSplitPart => {
                return Err(Error::NotInDump { addr });
            }
            PageState::Unknown => {
                let byte = pfn / 8;
                return Err(Error::BeyondEof {
                    addr,
                    offset: self.bitmap_off + self.bitmap_half + byte,
                    file_len: data.len() as u64,
                });
            }
        };
        // index < desc_count, so this cannot overflow for a table that fits the image; checked
        // anyway because desc_count comes from a bitmap.
        let at = index
            .checked_mul(PAGE_DESC_SIZE)
            .and_then(|n| n.checked_add(self.desc_base))
            .ok_or(Error::bad(
                "page_desc index",
                self.desc_base,
                index,
                "overflows",
            ))?;
        let raw = self
            .layout
            .read(data, "page_desc", at, PAGE_DESC_SIZE)
            .map_err(|_| Error::BeyondEof {
                addr,
                offset: self.layout.file_pos(at),
                file_len: data.len() as u64,
            })?;
        let mut a = [0u8; 24];
        a.copy_from_slice(&raw[..24]);
        Ok((PageDesc::from_bytes(&a, self.header.byte_order), at))
    }

    /// Decompress page `pfn` into `dst` (exactly one page). `addr` is for errors.
    fn load_page(&self, data: &[u8], pfn: u64, addr: u64, dst: &mut [u8]) -> Result<()> {
        let (d, at) = self.desc_for(data, pfn, addr)?;
        if d.offset == 0 {
            return Err(Error::PageLost { addr, pfn });
        }
        let ps = self.page_size();
        if let Some((what, value, why)) = d.problem(ps as u32) {
            let field = match what {
                "page_desc.offset" => 0,
                "page_desc.size" => 8,
                _ => 12,
            };
            return Err(Error::bad(
                what,
                self.layout.file_pos(at + field),
                value,
                why,
            ));
        }
        let off = d.offset as u64;
        if Some(off) == self.zero_page {
            dst.fill(0);
            return Ok(());
        }
        let src = self
            .layout
            .read(data, "page data", off, u64::from(d.size))
            .map_err(|_| Error::BeyondEof {
                addr,
                offset: self.layout.file_pos(off),
                file_len: data.len() as u64,
            })?;
        page::decompress(d.flags, &src, dst).map_err(|(what, detail)| Error::Decompress {
            pfn,
            offset: self.layout.file_pos(off),
            what,
            detail,
        })
    }

    /// Copy `out.len()` bytes at `in_page` of page `pfn` through the page cache.
    fn read_partial(
        &self,
        data: &[u8],
        pfn: u64,
        addr: u64,
        in_page: usize,
        out: &mut [u8],
    ) -> Result<()> {
        {
            let mut c = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(i) = c.pages.iter().position(|(p, _)| *p == pfn) {
                c.pages[..=i].rotate_right(1);
                out.copy_from_slice(&c.pages[0].1[in_page..in_page + out.len()]);
                return Ok(());
            }
        }
        let mut page = vec![0u8; self.page_size() as usize].into_boxed_slice();
        self.load_page(data, pfn, addr, &mut page)?;
        out.copy_from_slice(&page[in_page..in_page + out.len()]);
        let mut c = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        if c.pages.len() >= CACHE_PAGES {
            c.pages.pop();
        }
        c.pages.insert(0, (pfn, page));
        Ok(())
    }

    /// Read physical memory: whole pages are decompressed straight into `buf`, partial pages
    /// go through a small cache.
    pub fn read_phys(&self, data: &[u8], addr: u64, buf: &mut [u8]) -> Result<()> {
        let ps = self.page_size();
        let mut done = 0usize;
        while done < buf.len() {
            let a = addr
                .checked_add(done as u64)
                .ok_or(Error::NotInDump { addr: u64::MAX })?;
            let pfn = a >> self.page_shift;
            let in_page = (a & (ps - 1)) as usize;
            let n = (ps as usize - in_page).min(buf.len() - done);
            let out = &mut buf[done..done + n];
            if n as u64 == ps {
                self.load_page(data, pfn, a, out)?;
            } else {
                self.read_partial(data, pfn, a, in_page, out)?;
            }
            done += n;
        }
        Ok(())
    }

    /// Descriptors of the table that lie inside the image (the rest of a cut file's table is
    /// missing).
    pub fn readable_descriptors(&self) -> u64 {
        (self.layout.image_len().saturating_sub(self.desc_base) / PAGE_DESC_SIZE)
            .min(self.desc_count)
    }

    /// Calls `f(start_pfn, end_pfn, extent)` for the runs of PFNs `[from, to)` by how they
    /// are held, from the bitmaps and descriptor count alone (no descriptor or page is read),
    /// ascending, until `f` breaks. PFNs the 1st bitmap does not mark as RAM are skipped.
    /// Work is proportional to the bitmap bytes stored for the range.
    pub fn for_each_extent(
        &self,
        data: &[u8],
        from: u64,
        to: u64,
        f: &mut dyn FnMut(u64, u64, Extent) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        let dumpable = &self.dumpable;
        self.ram.for_each_run(data, from, to, &mut |rs, re| {
            let mut at = rs;
            dumpable.for_each_run(data, rs, re, &mut |s, e| {
                if at < s {
                    f(at, s, Extent::Excluded)?;
                }
                at = e;
                self.stored_extents(data, s, e, f)
            })?;
            if at < re {
                f(at, re, Extent::Excluded)?;
            }
            ControlFlow::Continue(())
        })
    }

    /// The dumpable run `[s, e)` split into pages of another `--split` part, pages with a
    /// descriptor in the file, and pages whose descriptor is past its end.
    fn stored_extents(
        &self,
        data: &[u8],
        s: u64,
        e: u64,
        f: &mut dyn FnMut(u64, u64, Extent) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        let (lo, hi) = self.info.split.unwrap_or((0, u64::MAX));
        let a = s.max(lo).min(e);
        let b = e.min(hi).max(a);
        if s < a {
            f(s, a, Extent::OtherPart)?;
        }
        if a < b {
            let idx = self
                .dumpable
                .rank(data, a)
                .saturating_sub(self.desc_rank_base);
            let cut = a
                .saturating_add(self.readable_descriptors().saturating_sub(idx))
                .min(b);
            if a < cut {
                f(a, cut, Extent::Stored)?;
            }
            if cut < b {
                f(cut, b, Extent::Missing)?;
            }
        }
        if b < e {
            f(b, e, Extent::OtherPart)?;
        }
        ControlFlow::Continue(())
    }
}
