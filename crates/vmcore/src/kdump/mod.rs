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
//! Rooms: this file holds the model ([`KdumpFile`], [`KdumpInfo`]); `header.rs` the two fixed
//! headers, `layout.rs` where the image bytes are (file or flattened records), `open.rs` the
//! steps of opening, `scan.rs` the descriptor scan at open, `read.rs` everything read after,
//! `bitmap.rs`, `page.rs` and `flat.rs` the on-disk structures.
//!
//! Offsets in errors and findings are file offsets. For a flattened file they are offsets
//! in the flattened file when a record holds the byte, and offsets in the rearranged image
//! (what `makedumpfile -R` would write) otherwise (bytes past the end of a cut stream).

pub(crate) mod bitmap;
mod flat;
mod header;
mod layout;
mod open;
mod page;
mod read;
mod scan;

use std::sync::Mutex;

/// What [`KdumpFile`] names a flattened stream of an ELF image in its
/// [`Error::Unsupported`](crate::Error::Unsupported): `Dump` reads those as ELF.
pub(crate) const FLATTENED_ELF: &str = "flattened ELF dump";

pub use bitmap::Bitmap;
pub use flat::{FlatIndex, MDF_HEADER_SIZE};
pub use header::{COMPRESSION_MASK, DISK_DUMP_HEADER_SIZE, DiskDumpHeader, KdumpSubHeader};
pub use page::{PAGE_DESC_SIZE, PageDesc};

use crate::cpu::Machine;
use layout::Layout;

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
    /// Byte order of the headers, page descriptors and notes.
    pub byte_order: kdump_types::ByteOrder,
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
    /// The image was rebuilt from a flattened stream read from a pipe.
    pub(crate) fn mark_flattened(&mut self) {
        self.info.flattened = true;
    }

    /// Header facts.
    pub fn info(&self) -> &KdumpInfo {
        &self.info
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
}
