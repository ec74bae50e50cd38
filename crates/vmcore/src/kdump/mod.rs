//! makedumpfile's kdump-compressed ("KDUMP   ") and flattened ("makedumpfile") formats.
//!
//! A kdump-compressed dump is laid out in blocks of `block_size` (= the page size):
//!
//! | block | content |
//! |---|---|
//! | 0 | [`DiskDumpHeader`] |
//! | 1 … | [`KdumpSubHeader`], then a copy of the ELF notes (`offset_note`, `size_note`) |
//! | `1 + sub_hdr_size` … | 1st bitmap (RAM pages), then 2nd bitmap (dumpable pages) |
//! | `1 + sub_hdr_size + bitmap_blocks` | one [`PageDesc`] per set bit of the 2nd bitmap |
//! | then | page data (the shared zero page first when zero pages are excluded) |
//!
//! The flattened format stores that image as out-of-order records; [`FlatIndex`] indexes them
//! once at open and every read below goes through it (see `flat.rs`).
//!
//! Opening reads the headers, indexes both bitmaps in place (they are read through the
//! file's mapping, never copied: one cumulative popcount per 512 stored PFNs, and nothing for
//! the holes of a sparse file or the image bytes no flattened record wrote), and, for dumps of
//! up to [`DESC_SCAN_LIMIT`] pages, scans the descriptor table once to count zero and lost
//! pages and find truncation. Memory and work are bounded by the bitmap bytes the file really
//! holds, so a header that claims more than the file holds (`max_mapnr` 2^36 over a sparse
//! file) costs nothing. The RAM ranges (runs of the 1st bitmap) are capped at
//! [`MAX_RAM_RANGES`].
//!
//! Reads decompress one page at a time; whole-page reads go straight into the caller's
//! buffer (so parallel scans never contend on a lock) and partial reads (page-table walks,
//! structure reads) go through a small LRU of decompressed pages. [`KdumpFile`] is
//! `Send + Sync`.
//!
//! Offsets in errors and findings are file offsets. For a flattened file they are offsets
//! in the flattened file when a record holds the byte, and offsets in the rearranged image
//! (what `makedumpfile -R` would write) otherwise (bytes past the end of a cut stream).

pub(crate) mod bitmap;
mod flat;
mod header;
mod page;

use std::borrow::Cow;
use std::ops::ControlFlow;
use std::sync::{Mutex, PoisonError};

use kdump_types::kdump::{disk_dump_header as dh, kdump_sub_header as sh};
use kdump_types::{Bytes, Finding, FindingCode, PhysAddr, PhysRange, ReadError};

pub use bitmap::Bitmap;
pub use flat::{FlatIndex, FlatRecord, MDF_HEADER_SIZE};
pub use header::{
    COMPRESSION_MASK, DISK_DUMP_HEADER_SIZE, DUMP_DH_COMPRESSED_INCOMPLETE, DUMP_DH_COMPRESSED_LZO,
    DUMP_DH_COMPRESSED_SNAPPY, DUMP_DH_COMPRESSED_ZLIB, DUMP_DH_COMPRESSED_ZSTD,
    DUMP_DH_EXCLUDED_VMEMMAP, DiskDumpHeader, KDUMP_SUB_HEADER_SIZE, KdumpSubHeader,
    compression_name,
};
pub use page::{PAGE_DESC_SIZE, PageDesc};

use crate::cpu::Machine;
use crate::dump::Extent;
use crate::error::{Error, Result};
use crate::extents::DataExtents;
use crate::findings as F;
use crate::memmap::{MemoryRange, RangeKind};

/// Dumps with at most this many dumpable pages (16 GiB of 4 KiB pages) have their descriptor
/// table scanned at open (at most 96 MiB read) to count zero and lost pages exactly.
pub const DESC_SCAN_LIMIT: u64 = 4 << 20;

/// Most runs of RAM pages (set bits of the 1st bitmap) a dump may have: a real machine's
/// memory map has tens of holes; a bitmap of alternating bits would make one memory range
/// per two pages, many times the file's size in memory.
pub const MAX_RAM_RANGES: usize = 1 << 20;

/// Decompressed pages kept for partial reads.
const CACHE_PAGES: usize = 32;

/// Header facts of a kdump-compressed dump, for `vmcore info`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KdumpInfo {
    /// The file is in the flattened format (records), not seekable kdump-compressed.
    pub flattened: bool,
    /// `header_version`.
    pub header_version: u32,
    /// Compression named by `status` (`"zlib"`, `"lzo"`, `"snappy"`, `"zstd"`, `"none"`).
    pub compression: &'static str,
    /// `dump_level` (sub-header).
    pub dump_level: u32,
    /// Page size (`block_size`).
    pub page_size: u32,
    /// Highest PFN + 1.
    pub max_mapnr: u64,
    /// Pages that are RAM (set in the 1st bitmap).
    pub ram_pages: u64,
    /// Pages stored (set in the 2nd bitmap).
    pub dumpable_pages: u64,
    /// RAM pages excluded by the dump level.
    pub excluded_pages: u64,
    /// Stored pages that are the shared zero page.
    pub zero_pages: u64,
    /// The header says the dump is incomplete.
    pub incomplete: bool,
    /// `nr_cpus`.
    pub nr_cpus: u32,
    /// utsname release.
    pub release: String,
    /// utsname machine.
    pub uts_machine: String,
    /// Header timestamp (seconds).
    pub timestamp: i64,
    /// `status` flags as stored.
    pub status: u32,
    /// `phys_base` (sub-header).
    pub phys_base: u64,
    /// Dumpable pages whose descriptor has offset 0: never written (incomplete dump).
    pub lost_pages: u64,
    /// Dumpable pages whose descriptor or data lies past the end of the file.
    pub truncated_pages: u64,
    /// `zero_pages`, `lost_pages` and `truncated_pages` come from a scan of every descriptor
    /// (false above [`DESC_SCAN_LIMIT`] pages: then they are 0 or a lower bound).
    pub pages_counted: bool,
    /// `[start_pfn, end_pfn)` of a `--split` part.
    pub split: Option<(u64, u64)>,
    /// Bytes of erase-info text (data erased with `--config`), 0 when none.
    pub eraseinfo_size: u64,
    /// Length of the kdump-compressed image (the file, or the rearranged flattened stream).
    pub image_len: u64,
}

impl KdumpInfo {
    /// The `DUMP_DH_COMPRESSED_*` bit of `status` (0 for raw pages).
    pub fn flag_compression(&self) -> u32 {
        self.status & COMPRESSION_MASK
    }
}

/// Where the image bytes are: the file itself, or flattened records.
#[derive(Debug)]
enum Layout {
    Plain { len: u64 },
    Flat(FlatIndex),
}

impl Layout {
    fn image_len(&self) -> u64 {
        match self {
            Layout::Plain { len } => *len,
            Layout::Flat(f) => f.image_len(),
        }
    }
    /// File offset of image offset `off` (see the module doc for flattened files).
    fn file_pos(&self, off: u64) -> u64 {
        match self {
            Layout::Plain { .. } => off,
            Layout::Flat(f) => f.file_pos(off).unwrap_or(off),
        }
    }
    /// The pieces of image range `[off, off + len)` the file holds, as `(byte in the range,
    /// file offset, length)`: the range itself in a plain file, the records that cover it in
    /// a flattened one; either cut to the file's data extents (holes read as zeros).
    fn pieces(&self, extents: &DataExtents, off: u64, len: u64) -> Vec<(u64, u64, u64)> {
        let stored: Vec<(u64, u64, u64)> = match self {
            Layout::Plain { .. } => vec![(0, off, len)],
            Layout::Flat(f) => f
                .records_in(off, len)
                .map(|r| (r.image - off, r.file, r.len))
                .collect(),
        };
        let mut out = Vec::new();
        for (at, file, n) in stored {
            for (s, e) in extents.data_in(file, file.saturating_add(n)) {
                out.push((at + (s - file), s, e - s));
            }
        }
        out
    }
    /// [`Layout::read`] for a structure the dump cannot do without: for a flattened file, a
    /// failure names the record stream's state (where it stopped and why). With `whole`,
    /// every byte must be in a record: a header that falls into a gap of the image (which
    /// would read as zeros) is an error, not a header of zeros.
    fn read_needed<'a>(
        &self,
        data: &'a [u8],
        what: &'static str,
        off: u64,
        len: u64,
        whole: bool,
    ) -> Result<Cow<'a, [u8]>> {
        let gap = match self {
            Layout::Flat(f) if whole => f.records_in(off, len).map(|r| r.len).sum::<u64>() < len,
            _ => false,
        };
        let read = if gap {
            Err(ReadError::Truncated {
                what,
                offset: off,
                need: len,
                have: 0,
            })
        } else {
            self.read(data, what, off, len)
        };
        read.map_err(|e| match self {
            Layout::Plain { .. } => Error::Read(e),
            Layout::Flat(f) => {
                let have = f.records_in(off, len).map(|r| r.len).sum();
                let (offset, stream) = match f.stop() {
                    Some((n, at, why)) => (
                        at,
                        format!(
                            "the record stream stops at record {n} (file offset {at:#x}): {why}"
                        ),
                    ),
                    None => (
                        data.len() as u64,
                        format!(
                            "the stream is complete ({} records) and none holds these bytes",
                            f.records_read()
                        ),
                    ),
                };
                Error::FlatGap {
                    what,
                    image: off,
                    need: len,
                    have,
                    offset,
                    stream,
                }
            }
        })
    }
    fn read<'a>(
        &self,
        data: &'a [u8],
        what: &'static str,
        off: u64,
        len: u64,
    ) -> Result<Cow<'a, [u8]>, ReadError> {
        if len == 0 {
            return Ok(Cow::Borrowed(&[]));
        }
        match self {
            Layout::Plain { .. } => Bytes::new(data, 0).slice(what, off, len).map(Cow::Borrowed),
            Layout::Flat(f) => f.read(data, what, off, len),
        }
    }
}

/// The state of one PFN, from the bitmaps alone (no descriptor read).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageState {
    /// Not RAM (memory hole), or past `max_mapnr`.
    NotInDump,
    /// RAM that the dump level excluded.
    Excluded,
    /// Stored; its descriptor is the `n`-th of the table.
    Dumpable(u64),
    /// Stored in another part of a `--split` set.
    OtherSplitPart,
    /// The bitmaps that would say are past the end of the file.
    Unknown,
}

#[derive(Debug, Default)]
struct PageCache {
    /// Most recently used first.
    pages: Vec<(u64, Box<[u8]>)>,
}

/// An opened kdump-compressed or flattened dump. It does not own the file's bytes: every
/// method that reads takes them (`data`), as [`crate::Dump`] owns the mapping.
#[derive(Debug)]
pub struct KdumpFile {
    info: KdumpInfo,
    header: DiskDumpHeader,
    sub: KdumpSubHeader,
    layout: Layout,
    page_shift: u32,
    /// 1st bitmap: RAM.
    ram: Bitmap,
    /// 2nd bitmap: dumpable (its rank gives a page's descriptor index).
    dumpable: Bitmap,
    /// PFNs whose bitmap bits the file holds (less than `max_mapnr` when cut short).
    known_pfns: u64,
    bitmap_off: u64,
    bitmap_half: u64,
    /// Image offset of the descriptor table.
    desc_base: u64,
    /// Descriptors in the table.
    desc_count: u64,
    /// Rank of the split part's first PFN (descriptors of a part start at its `start_pfn`).
    desc_rank_base: u64,
    /// Image offset of the verified all-zero shared page.
    zero_page: Option<u64>,
    notes_ok: bool,
    vmcoreinfo_ok: bool,
    cache: Mutex<PageCache>,
}

impl KdumpFile {
    /// Parse the headers, bitmaps and (flattened) record index of `data`, the whole file.
    pub fn parse(data: &[u8]) -> Result<(KdumpFile, Vec<Finding>)> {
        Self::parse_with_extents(data, &DataExtents::all(data.len() as u64))
    }

    /// [`KdumpFile::parse`] of a file whose data extents are known: the bitmaps' holes are
    /// never read.
    pub fn parse_with_extents(
        data: &[u8],
        extents: &DataExtents,
    ) -> Result<(KdumpFile, Vec<Finding>)> {
        let mut findings = Vec::new();
        let layout = if data.starts_with(b"makedumpfile\0") {
            let (idx, f) = FlatIndex::build(data)?;
            findings.extend(f);
            Layout::Flat(idx)
        } else {
            Layout::Plain {
                len: data.len() as u64,
            }
        };
        let image_len = layout.image_len();
        let head = layout.read_needed(data, "disk_dump_header", 0, DISK_DUMP_HEADER_SIZE, true)?;
        if head.starts_with(&kdump_types::elf::ELFMAG) {
            return Err(Error::Unsupported {
                what: "flattened ELF dump",
                offset: layout.file_pos(0),
                detail: "the flattened stream holds an ELF image; rearrange it with \
                         `makedumpfile -R out < file` and open the result"
                    .into(),
            });
        }
        let header = DiskDumpHeader::parse(&Bytes::new(&head, layout.file_pos(0)))?;
        let version = header.header_version;
        if version > header::MAX_KNOWN_VERSION {
            findings.push(F::KDUMP_VERSION_UNKNOWN.finding(
                Some(layout.file_pos(dh::HEADER_VERSION)),
                format!("header_version {version} is newer than 6; reading it as version 6"),
            ));
        }
        let bs = u64::from(header.block_size);
        let sub_bytes = layout.read_needed(
            data,
            "kdump_sub_header",
            bs,
            KdumpSubHeader::size_for(version),
            true,
        )?;
        let sub = KdumpSubHeader::parse(&Bytes::new(&sub_bytes, layout.file_pos(bs)), version)?;

        // Bitmaps. Products of two u32 by a block size of at most 2^18 cannot overflow u64.
        let bitmap_off = (1 + u64::from(header.sub_hdr_size)) * bs;
        let bitmap_len = u64::from(header.bitmap_blocks) * bs;
        let bitmap_half = bitmap_len / 2;
        let desc_base = bitmap_off + bitmap_len;
        let mut max_mapnr = match sub.max_mapnr_64 {
            Some(m) if version >= 6 => m,
            _ => u64::from(header.max_mapnr),
        };
        let claimed_mapnr = max_mapnr;
        let bitmap_bits = bitmap_half.saturating_mul(8);
        if max_mapnr > bitmap_bits {
            findings.push(F::KDUMP_BITMAP_SHORT.finding(
                Some(layout.file_pos(dh::BITMAP_BLOCKS)),
                format!(
                    "max_mapnr {max_mapnr:#x} needs more bits than the bitmaps' {bitmap_bits:#x} \
                     (bitmap_blocks {}): PFNs from {bitmap_bits:#x} on are read as not in the dump",
                    header.bitmap_blocks
                ),
            ));
            max_mapnr = bitmap_bits;
        }
        let bm_bytes = max_mapnr.div_ceil(8);
        let avail = |off: u64| image_len.saturating_sub(off).min(bm_bytes);
        let (avail1, avail2) = (avail(bitmap_off), avail(bitmap_off + bitmap_half));
        let known_pfns = (avail1.min(avail2) * 8).min(max_mapnr);
        if known_pfns < max_mapnr {
            findings.push(F::KDUMP_BITMAP_TRUNCATED.finding(Some(layout.file_pos(bitmap_off + bitmap_half + avail2)),
                format!(
                    "the file ends inside the bitmaps (1st at {:#x}, 2nd at {:#x}, {bm_bytes} bytes \
                     each): only PFNs below {known_pfns:#x} of {max_mapnr:#x} can be read",
                    layout.file_pos(bitmap_off),
                    layout.file_pos(bitmap_off + bitmap_half)
                ),
            ));
        }
        let ram = Bitmap::from_pieces(data, known_pfns, layout.pieces(extents, bitmap_off, avail1));
        let dumpable = Bitmap::from_pieces(
            data,
            known_pfns,
            layout.pieces(extents, bitmap_off + bitmap_half, avail2),
        );

        // A --split part holds the descriptors of its own PFN range only.
        let split = match sub.split {
            Some(s) if s != 0 => {
                let start = sub.start_pfn_64.or(sub.start_pfn).unwrap_or(0);
                let end = sub.end_pfn_64.or(sub.end_pfn).unwrap_or(max_mapnr);
                findings.push(F::KDUMP_SPLIT_PART.finding(
                    Some(layout.file_pos(bs + sh::SPLIT)),
                    format!(
                        "this file is one part of a --split set and holds PFNs \
                         [{start:#x}, {end:#x}) only"
                    ),
                ));
                Some((start, end.max(start)))
            }
            _ => None,
        };
        let (lo, hi) = split.unwrap_or((0, known_pfns));
        let desc_rank_base = dumpable.rank(data, lo);
        let desc_count = dumpable.rank(data, hi) - desc_rank_base;
        let ram_pages = ram.count_ones();
        let dumpable_pages = dumpable.count_ones();
        let excluded_pages = ram.count_and_not(data, &dumpable);

        let incomplete = header.status & DUMP_DH_COMPRESSED_INCOMPLETE != 0;
        if incomplete {
            findings.push(F::KDUMP_INCOMPLETE.finding(
                Some(layout.file_pos(dh::STATUS)),
                "the header's DUMP_DH_COMPRESSED_INCOMPLETE flag is set: makedumpfile stopped \
                 early (out of space); pages it did not write read as lost",
            ));
        }
        if header.status & COMPRESSION_MASK != 0
            && (header.status & COMPRESSION_MASK).count_ones() > 1
        {
            findings.push(F::KDUMP_STATUS_COMPRESSION.finding(
                Some(layout.file_pos(dh::STATUS)),
                format!(
                    "status {:#x} names several compression methods; each page's own flags \
                     decide how it is read",
                    header.status
                ),
            ));
        }

        let mut info = KdumpInfo {
            flattened: matches!(layout, Layout::Flat(_)),
            header_version: version,
            compression: compression_name(header.status),
            dump_level: sub.dump_level,
            page_size: header.block_size,
            max_mapnr: claimed_mapnr,
            ram_pages,
            dumpable_pages,
            excluded_pages,
            zero_pages: 0,
            incomplete,
            nr_cpus: header.nr_cpus,
            release: header.release.clone(),
            uts_machine: header.machine.clone(),
            timestamp: header.timestamp_sec,
            status: header.status,
            phys_base: sub.phys_base,
            lost_pages: 0,
            truncated_pages: 0,
            pages_counted: false,
            split,
            eraseinfo_size: sub.size_eraseinfo.unwrap_or(0),
            image_len,
        };

        let notes_ok = check_region(
            &layout,
            image_len,
            sub.offset_note,
            sub.size_note,
            (F::KDUMP_NOTES_UNREADABLE, "ELF notes"),
            &mut findings,
        );
        let vmcoreinfo_ok = check_region(
            &layout,
            image_len,
            sub.offset_vmcoreinfo,
            sub.size_vmcoreinfo,
            (F::KDUMP_VMCOREINFO_UNREADABLE, "VMCOREINFO"),
            &mut findings,
        );
        if info.eraseinfo_size > 0 {
            findings.push(F::KDUMP_ERASEINFO.finding(
                sub.offset_eraseinfo.map(|o| layout.file_pos(o)),
                format!(
                    "the dump carries {} bytes of erase info: some kernel data was erased or \
                     nullified on purpose (makedumpfile --config)",
                    info.eraseinfo_size
                ),
            ));
        }

        let mut kd = KdumpFile {
            info: KdumpInfo::default(),
            header,
            sub,
            layout,
            page_shift: bs.trailing_zeros(),
            ram,
            dumpable,
            known_pfns,
            bitmap_off,
            bitmap_half,
            desc_base,
            desc_count,
            desc_rank_base,
            zero_page: None,
            notes_ok,
            vmcoreinfo_ok,
            cache: Mutex::new(PageCache::default()),
        };
        kd.find_zero_page(data);
        kd.scan_descriptors(data, &mut info, &mut findings);
        kd.info = info;
        Ok((kd, findings))
    }

    /// The shared zero page is the first page data (right after the descriptor table), raw
    /// and all zeros; makedumpfile writes it when `dump_level` excludes zero pages, QEMU always.
    fn find_zero_page(&mut self, data: &[u8]) {
        let Some(at) = self
            .desc_count
            .checked_mul(PAGE_DESC_SIZE)
            .and_then(|n| n.checked_add(self.desc_base))
        else {
            return;
        };
        let ps = self.page_size();
        if let Ok(page) = self.layout.read(data, "zero page", at, ps)
            && page.iter().all(|&b| b == 0)
        {
            self.zero_page = Some(at);
        }
    }

    /// Count zero, lost and truncated pages from the descriptor table (bounded, see
    /// [`DESC_SCAN_LIMIT`]), and report what a cut-short file lacks.
    fn scan_descriptors(&self, data: &[u8], info: &mut KdumpInfo, findings: &mut Vec<Finding>) {
        let image_len = self.layout.image_len();
        let table_end = self
            .desc_count
            .checked_mul(PAGE_DESC_SIZE)
            .and_then(|n| n.checked_add(self.desc_base));
        let readable = image_len.saturating_sub(self.desc_base) / PAGE_DESC_SIZE;
        let readable = readable.min(self.desc_count);
        if readable < self.desc_count {
            findings.push(F::KDUMP_TRUNCATED.finding(Some(
                    self.layout
                        .file_pos(self.desc_base + readable * PAGE_DESC_SIZE),
                ),
                format!(
                    "the page descriptor table (at {:#x}, {} descriptors, ending at {}) runs past \
                     the end of the data ({image_len:#x}): {} dumpable pages have no descriptor",
                    self.layout.file_pos(self.desc_base),
                    self.desc_count,
                    table_end.map_or("overflow".to_string(), |e| format!("{e:#x}")),
                    self.desc_count - readable
                ),
            ));
        }
        let counted = self.desc_count <= DESC_SCAN_LIMIT;
        let (mut zero, mut lost, mut past) = (0u64, 0u64, self.desc_count - readable);
        let (mut first_lost, mut first_past) = (None, None);
        if counted {
            const CHUNK: u64 = 4096;
            let mut i = 0;
            while i < readable {
                let n = CHUNK.min(readable - i);
                let off = self.desc_base + i * PAGE_DESC_SIZE;
                let Ok(chunk) = self.layout.read(data, "page_desc", off, n * PAGE_DESC_SIZE) else {
                    break;
                };
                for (k, raw) in chunk.chunks_exact(PAGE_DESC_SIZE as usize).enumerate() {
                    let mut a = [0u8; 24];
                    a.copy_from_slice(raw);
                    let d = PageDesc::from_bytes(&a);
                    let at = off + k as u64 * PAGE_DESC_SIZE;
                    if d.offset == 0 {
                        lost += 1;
                        first_lost.get_or_insert(at);
                    } else if Some(d.offset as u64) == self.zero_page {
                        zero += 1;
                    } else if d.offset > 0
                        && (d.offset as u64).saturating_add(u64::from(d.size)) > image_len
                    {
                        past += 1;
                        first_past.get_or_insert(at);
                    }
                }
                i += n;
            }
        } else if readable > 0 {
            // Too many pages to scan at open: page data is written in PFN order, so the last
            // descriptor tells whether the data was cut short.
            let at = self.desc_base + (readable - 1) * PAGE_DESC_SIZE;
            if let Ok(raw) = self.layout.read(data, "page_desc", at, PAGE_DESC_SIZE)
                && let Ok(a) = <[u8; 24]>::try_from(&raw[..])
            {
                let d = PageDesc::from_bytes(&a);
                if d.offset > 0 && (d.offset as u64).saturating_add(u64::from(d.size)) > image_len {
                    first_past = Some(at);
                    past += 1;
                }
            }
        }
        if lost > 0 {
            findings.push(F::KDUMP_PAGES_LOST.finding(
                first_lost.map(|o| self.layout.file_pos(o)),
                format!(
                    "{lost} dumpable pages have a descriptor with offset 0: they were never \
                     written (incomplete dump) and read as lost"
                ),
            ));
        }
        if let Some(at) = first_past {
            findings.push(F::KDUMP_TRUNCATED.finding(
                Some(self.layout.file_pos(at)),
                format!(
                    "the file is cut short: {}page data lies past its end ({image_len:#x} bytes); \
                     the first such descriptor is at {:#x}",
                    if counted {
                        format!("{} pages' ", past - (self.desc_count - readable))
                    } else {
                        String::new()
                    },
                    self.layout.file_pos(at)
                ),
            ));
        }
        info.zero_pages = zero;
        info.lost_pages = lost;
        info.truncated_pages = past;
        info.pages_counted = counted;
    }

    /// The image was rebuilt from a flattened stream read from a pipe.
    pub(crate) fn mark_flattened(&mut self) {
        self.info.flattened = true;
    }

    /// Header facts.
    pub fn info(&self) -> &KdumpInfo {
        &self.info
    }
    /// The main header.
    pub fn header(&self) -> &DiskDumpHeader {
        &self.header
    }
    /// The sub-header.
    pub fn sub_header(&self) -> &KdumpSubHeader {
        &self.sub
    }
    /// The flattened record index, for flattened files.
    pub fn flat_index(&self) -> Option<&FlatIndex> {
        match &self.layout {
            Layout::Flat(f) => Some(f),
            Layout::Plain { .. } => None,
        }
    }
    /// Architecture from utsname.
    pub fn machine(&self) -> Machine {
        Machine::from_uts(&self.info.uts_machine)
    }
    /// Page size in bytes.
    pub fn page_size(&self) -> u64 {
        1u64 << self.page_shift
    }
    /// The 1st bitmap (RAM pages).
    pub fn ram_bitmap(&self) -> &Bitmap {
        &self.ram
    }
    /// The 2nd bitmap (dumpable pages).
    pub fn dumpable_bitmap(&self) -> &Bitmap {
        &self.dumpable
    }

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
    /// The erase-info text and its file offset (header version ≥ 5).
    pub fn eraseinfo_data(&self, data: &[u8]) -> Result<Option<(Vec<u8>, u64)>> {
        let ok = self
            .sub
            .offset_eraseinfo
            .zip(self.sub.size_eraseinfo)
            .and_then(|(o, s)| o.checked_add(s))
            .is_some_and(|e| e <= self.layout.image_len());
        self.region(
            data,
            ok,
            "erase info",
            self.sub.offset_eraseinfo,
            self.sub.size_eraseinfo,
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
        Ok((PageDesc::from_bytes(&a), at))
    }

    /// The page descriptor of `pfn`, or why there is none.
    pub fn page_desc(&self, data: &[u8], pfn: u64) -> Result<PageDesc> {
        let addr = pfn.checked_shl(self.page_shift).unwrap_or(u64::MAX);
        self.desc_for(data, pfn, addr).map(|(d, _)| d)
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

    /// Read the whole page `pfn` into `dst` (`dst.len()` must be the page size).
    pub fn read_page(&self, data: &[u8], pfn: u64, dst: &mut [u8]) -> Result<()> {
        let addr = pfn.checked_shl(self.page_shift).unwrap_or(u64::MAX);
        if dst.len() as u64 != self.page_size() {
            return Err(Error::bad(
                "read_page buffer",
                0,
                dst.len() as u64,
                "is not one page long",
            ));
        }
        self.load_page(data, pfn, addr, dst)
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

    /// Physical address of page `pfn`.
    pub fn pfn_addr(&self, pfn: u64) -> PhysAddr {
        PhysAddr(pfn.checked_shl(self.page_shift).unwrap_or(u64::MAX))
    }
}

/// Check that a sub-header region lies inside the image; a finding when it does not.
fn check_region(
    layout: &Layout,
    image_len: u64,
    off: Option<u64>,
    size: Option<u64>,
    (code, what): (FindingCode, &'static str),
    findings: &mut Vec<Finding>,
) -> bool {
    let (Some(off), Some(size)) = (off, size) else {
        return false;
    };
    if size == 0 {
        return false;
    }
    match off.checked_add(size) {
        Some(end) if end <= image_len => true,
        _ => {
            findings.push(code.finding(
                Some(layout.file_pos(off)),
                format!(
                    "the {what} ({size} bytes at {off:#x}) lie past the end of the data \
                     ({image_len:#x} bytes): the dump is cut short or the sub-header is corrupt"
                ),
            ));
            false
        }
    }
}
