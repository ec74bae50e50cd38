//! The `Dump` facade: one model of a dump, whatever its format.
//!
//! Rooms: this file holds the model and its accessors; `open.rs` opens a file (map, detect,
//! read the format, whole-dump findings); `read.rs` reads memory and extents.

use std::ops::Deref;
use std::path::{Path, PathBuf};

use kdump_types::{ByteOrder, Finding, PhysRange};

use crate::cpu::{CpuContext, Machine};
use crate::elf::Segment;
use crate::extents::DataExtents;
use crate::kdump::{KdumpFile, KdumpInfo};
use crate::memmap::MemoryMap;
use crate::notes::Note;
use crate::vmcoreinfo::VmcoreInfo;

mod open;
mod read;

pub(crate) use open::map_file;
pub use open::{check_regular_file, detect};

/// The bytes of a dump: a read-only memory map of the file, or owned bytes.
#[derive(Debug)]
pub enum DumpData {
    /// A mapped file.
    Mmap(memmap2::Mmap),
    /// Bytes in memory.
    Owned(Vec<u8>),
}

impl Deref for DumpData {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            DumpData::Mmap(m) => m,
            DumpData::Owned(v) => v,
        }
    }
}

/// The format of a dump, detected from its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// ELF64 core (/proc/vmcore, QEMU `dump-guest-memory`, makedumpfile `-E`).
    Elf64,
    /// ELF32 core.
    Elf32,
    /// A raw kexec elfcorehdr segment: headers only, no memory.
    Elfcorehdr,
    /// makedumpfile kdump-compressed ("KDUMP   ").
    KdumpCompressed,
    /// makedumpfile flattened format (`-F`, QEMU `kdump-*`).
    Flattened,
}

impl Format {
    /// Short stable name (used in JSON).
    pub fn name(&self) -> &'static str {
        match self {
            Format::Elf64 => "elf64",
            Format::Elf32 => "elf32",
            Format::Elfcorehdr => "elfcorehdr",
            Format::KdumpCompressed => "kdump-compressed",
            Format::Flattened => "flattened",
        }
    }
}

/// Pages of a physical range of a kdump-compressed dump ([`Dump::page_counts`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PageCounts {
    /// Pages that are RAM.
    pub ram: u64,
    /// Pages the dump stores (the others were excluded by its dump level).
    pub stored: u64,
}

/// How a run of a dump's memory is held, known from the headers, the bitmaps and the file
/// system alone: no page is read to find out (see [`Dump::for_each_extent`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extent {
    /// Stored in the file. Reading it may still fail (a lost or corrupt kdump page).
    Stored,
    /// Reads as zeros without being stored: a hole of a sparse file.
    Zero,
    /// Left out by the dump level: kdump-compressed pages missing from the 2nd bitmap, ELF
    /// bytes past `p_filesz` (makedumpfile -E's mark). Reads fail with
    /// [`Error::PageExcluded`](crate::Error::PageExcluded) unless [`Dump::set_excluded_as_zero`].
    Excluded,
    /// The headers promise it, the file does not hold it (a cut-short file; a raw
    /// elfcorehdr's memory).
    Missing,
    /// Stored in file bytes that an earlier PT_LOAD (in file order) also stores: readable,
    /// but the same bytes again (finding `ELF009`; real dumps never do this).
    Alias,
    /// Stored in another part of a kdump `--split` set.
    OtherPart,
}

/// Summary of a truncated dump.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Truncation {
    /// Bytes the headers promise that the file does not hold.
    pub missing_bytes: u64,
    /// Physical ranges whose bytes are (partly) missing.
    pub ranges: Vec<PhysRange>,
}

/// An opened crash dump. Opening reads headers, notes and bitmaps only; memory is read on
/// demand with [`Dump::read_phys`].
#[derive(Debug)]
pub struct Dump {
    path: Option<PathBuf>,
    data: DumpData,
    format: Format,
    machine: Machine,
    /// The byte order of the headers and notes (and of the machine that wrote them).
    byte_order: ByteOrder,
    segments: Vec<Segment>,
    notes: Vec<Note>,
    cpus: Vec<CpuContext>,
    memory: MemoryMap,
    vmcoreinfo: Option<VmcoreInfo>,
    findings: Vec<Finding>,
    kdump: Option<KdumpFile>,
    /// Read pages the dump marks excluded as zeros (libkdumpfile's `-z`) instead of failing.
    excluded_as_zero: bool,
    extents: DataExtents,
    /// Per ELF program header index: bytes at the start of its stored part that an earlier
    /// PT_LOAD (in file order) already stores.
    aliased: Vec<u64>,
    /// The other parts of a makedumpfile `--split` set ([`Dump::open_split_set`]).
    parts: Vec<crate::split::SplitPart>,
}

/// Page granularity of partial-page reads when VMCOREINFO names none: a page the dump covers
/// only in part reads as its covered bytes and zeros elsewhere, as libkdumpfile returns it.
const PARTIAL_PAGE: u64 = 4096;

impl Dump {
    /// The page of partial-page reads: VMCOREINFO's `PAGESIZE` (64 KiB on ppc64, 16 or
    /// 64 KiB on some arm64 kernels) when it is a power of two from 512 bytes to 256 KiB,
    /// else 4 KiB. libkdumpfile pages by the same size.
    pub(crate) fn partial_page(&self) -> u64 {
        self.vmcoreinfo
            .as_ref()
            .and_then(|v| v.page_size())
            .filter(|p| p.is_power_of_two() && (512..=1 << 18).contains(p))
            .unwrap_or(PARTIAL_PAGE)
    }
}

impl Dump {
    /// The file this dump was opened from.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }
    /// The raw bytes of the file.
    pub fn data(&self) -> &[u8] {
        &self.data
    }
    /// File size in bytes.
    pub fn file_len(&self) -> u64 {
        self.data.len() as u64
    }
    /// Detected format.
    pub fn format(&self) -> Format {
        self.format
    }
    /// Architecture.
    pub fn machine(&self) -> Machine {
        self.machine
    }
    /// Byte order of the dump's headers and notes: big-endian for ppc64 and s390x dumps.
    /// Kernel memory of a big-endian machine is not interpreted (no page walk, log or
    /// symbols: [`Dump::address_space`] says so); its physical pages read as stored.
    pub fn byte_order(&self) -> ByteOrder {
        self.byte_order
    }
    /// ELF program headers (empty for kdump-compressed dumps).
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }
    /// Every note, in file order.
    pub fn notes(&self) -> &[Note] {
        &self.notes
    }
    /// The first `NT_PRPSINFO` note (the crashing task's command name and arguments), when the
    /// dump has one (kernel dumps usually do not; userspace-style cores do).
    pub fn prpsinfo(&self) -> Option<crate::notes::Prpsinfo> {
        self.notes
            .iter()
            .find(|n| {
                n.name == crate::notes::NAME_CORE && n.n_type == kdump_types::elf::NT_PRPSINFO
            })
            .and_then(|n| crate::notes::Prpsinfo::parse64(&n.desc, self.byte_order))
    }
    /// One context per register note, in dump order.
    pub fn cpus(&self) -> &[CpuContext] {
        &self.cpus
    }
    /// The memory map.
    pub fn memory(&self) -> &MemoryMap {
        &self.memory
    }
    /// VMCOREINFO, when the dump carries it.
    pub fn vmcoreinfo(&self) -> Option<&VmcoreInfo> {
        self.vmcoreinfo.as_ref()
    }
    /// kdump-compressed header facts, for kdump-compressed and flattened dumps.
    pub fn kdump_info(&self) -> Option<&KdumpInfo> {
        self.kdump.as_ref().map(|k| k.info())
    }
    /// For a kdump-compressed or flattened dump, how many pages of `range` are RAM (1st bitmap)
    /// and how many of those are stored (2nd bitmap): the rest were excluded by the dump level.
    /// `None` for other formats, which store every page they describe.
    pub fn page_counts(&self, range: PhysRange) -> Option<PageCounts> {
        let kd = self.kdump.as_ref()?;
        let ps = kd.page_size();
        let (s, e) = (range.start.0 / ps, range.end.0.div_ceil(ps));
        // Set bits in [s, e) by rank: the bitmaps are read in place, never copied.
        let count = |b: &crate::kdump::bitmap::Bitmap| {
            b.rank(&self.data, e).saturating_sub(b.rank(&self.data, s))
        };
        Some(PageCounts {
            ram: count(kd.ram_bitmap()),
            stored: count(kd.dumpable_bitmap()),
        })
    }

    /// Everything the readers noticed that did not stop them.
    pub fn findings(&self) -> &[Finding] {
        &self.findings
    }
    /// The data ranges of the file within `[start, end)` (file offsets), ascending: the rest
    /// are holes of a sparse file, which read as zeros. Every byte counts as data when the
    /// file system cannot tell, and for dumps held in memory.
    pub fn data_extents(&self, start: u64, end: u64) -> Vec<(u64, u64)> {
        self.extents.data_in(start, end).collect()
    }
    /// True for a raw elfcorehdr (headers only).
    pub fn is_headers_only(&self) -> bool {
        self.format == Format::Elfcorehdr
    }

    /// How much of the dump is missing because the file is shorter than its headers say.
    pub fn truncation(&self) -> Option<Truncation> {
        let mut t = Truncation {
            missing_bytes: 0,
            ranges: Vec::new(),
        };
        for r in self.memory.ranges() {
            if r.file_offset.is_some() && r.missing() > 0 {
                // Overlapping ranges can each miss most of the address space.
                t.missing_bytes = t.missing_bytes.saturating_add(r.missing());
                t.ranges.push(PhysRange::new(
                    r.phys.start.0 + r.present,
                    r.phys.start.0 + r.file_size,
                ));
            }
        }
        (t.missing_bytes > 0).then_some(t)
    }

    /// Read pages the dump excluded (makedumpfile's dump level: kdump-compressed pages missing
    /// from the bitmap, ELF bytes past `p_filesz`) as zeros instead of failing with
    /// [`Error::PageExcluded`](crate::Error::PageExcluded) (libkdumpfile's `-z`). Off by default: an excluded page is not
    /// a page of zeros, and a reader that takes it for one gives silent wrong answers.
    pub fn set_excluded_as_zero(&mut self, on: bool) {
        self.excluded_as_zero = on;
    }

    /// Whether excluded pages read as zeros ([`Dump::set_excluded_as_zero`]).
    pub fn excluded_as_zero(&self) -> bool {
        self.excluded_as_zero
    }
}
