//! The `Dump` facade: one model of a dump, whatever its format.

use std::fs::File;
use std::ops::Deref;
use std::path::{Path, PathBuf};

use kdump_types::{Bytes, Finding, PhysAddr, PhysRange, Severity, VirtAddr};

use crate::cpu::{CpuContext, CpuProblem, Machine, contexts_from_notes};
use crate::elf::{self, Segment};
use crate::error::{Error, Result};
use crate::extents::DataExtents;
use crate::findings as F;
use crate::kdump::{KdumpFile, KdumpInfo};
use crate::memmap::{Location, MemoryMap};
use crate::notes::{NAME_VMCOREINFO, Note, parse_notes};
use crate::vmcoreinfo::VmcoreInfo;

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

/// Map `file` read-only.
#[allow(unsafe_code)]
pub(crate) fn map_file(file: &File) -> std::io::Result<memmap2::Mmap> {
    // SAFETY: memmap2 requires that the file is not modified while mapped, or reads may see
    // changing bytes (never unsoundness in our code, which treats every byte as untrusted and
    // bounds-checks it; a file truncated underneath us can still SIGBUS, as with every mmap
    // reader such as ripgrep). We never write through the map. Dumps are write-once files.
    unsafe { memmap2::Mmap::map(file) }
}

/// Open `path` read-only without waiting: opening a FIFO for reading blocks until a writer
/// appears, so the open must not block before [`check_regular_file`] can refuse it.
fn open_without_blocking(path: &Path) -> std::io::Result<File> {
    use rustix::fs::{Mode, OFlags};
    let fd = rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    Ok(File::from(fd))
}

/// Refuse what is not a regular file: the one check of what the dump readers accept.
///
/// A directory cannot be read; a FIFO or a character device blocks or never ends, and its
/// `st_size` (0) says nothing about how much it holds; a block device's `st_size` is 0 too.
/// A dump is mapped and read at random offsets, which only a regular file allows. A caller
/// that reads a flattened stream from a pipe on purpose reads it into memory itself and
/// uses [`Dump::from_bytes`], which does not come here.
pub fn check_regular_file(path: &Path, file_type: &std::fs::FileType) -> Result<()> {
    use std::os::unix::fs::FileTypeExt;
    let kind = if file_type.is_file() {
        return Ok(());
    } else if file_type.is_dir() {
        "a directory"
    } else if file_type.is_fifo() {
        "a FIFO (named pipe)"
    } else if file_type.is_char_device() {
        "a character device"
    } else if file_type.is_block_device() {
        "a block device (copy the dump into a file first)"
    } else if file_type.is_socket() {
        "a socket"
    } else {
        "not a file"
    };
    Err(Error::NotRegularFile {
        path: path.to_path_buf(),
        kind,
    })
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

/// Detect the format from the first bytes.
pub fn detect(data: &[u8]) -> Result<Format> {
    if data.starts_with(&kdump_types::elf::ELFMAG) {
        return Ok(match data.get(4) {
            Some(&kdump_types::elf::ELFCLASS32) => Format::Elf32,
            _ => Format::Elf64,
        });
    }
    if data.starts_with(b"KDUMP   ") {
        return Ok(Format::KdumpCompressed);
    }
    if data.starts_with(b"makedumpfile\0") {
        return Ok(Format::Flattened);
    }
    Err(Error::UnknownFormat {
        magic: data.iter().take(16).copied().collect(),
    })
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
    /// [`Error::PageExcluded`] unless [`Dump::set_excluded_as_zero`].
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
}

/// Page granularity of partial-page reads: a page the dump covers only in part reads as its
/// covered bytes and zeros elsewhere, as libkdumpfile returns it.
const PARTIAL_PAGE: u64 = 4096;

impl Dump {
    /// Open and map a dump file. The format is detected from the content, not the name.
    ///
    /// Only regular files are opened ([`check_regular_file`]): a FIFO, a character device or a
    /// directory is refused with [`Error::NotRegularFile`] before a byte is read.
    pub fn open(path: impl AsRef<Path>) -> Result<Dump> {
        let path = path.as_ref();
        let io = |source| Error::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = open_without_blocking(path).map_err(io)?;
        let meta = file.metadata().map_err(io)?;
        check_regular_file(path, &meta.file_type())?;
        let len = meta.len();
        // Mapping an empty file fails on some systems; an empty file is simply not a dump.
        let data = if len == 0 {
            DumpData::Owned(Vec::new())
        } else {
            DumpData::Mmap(map_file(&file).map_err(io)?)
        };
        let extents = DataExtents::of_file(&file, data.len() as u64);
        let mut d = Dump::parse_with(data, extents)?;
        d.path = Some(path.to_path_buf());
        Ok(d)
    }

    /// Parse a dump from bytes already in memory.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Dump> {
        Dump::parse(DumpData::Owned(bytes))
    }

    /// Parse a dump from its data.
    pub fn parse(data: DumpData) -> Result<Dump> {
        let extents = DataExtents::all(data.len() as u64);
        Self::parse_with(data, extents)
    }

    fn parse_with(data: DumpData, extents: DataExtents) -> Result<Dump> {
        let format = detect(&data)?;
        match format {
            Format::Elf64 | Format::Elf32 => Self::parse_elf(data, extents),
            Format::KdumpCompressed | Format::Flattened => Self::parse_kdump(data, extents, format),
            Format::Elfcorehdr => unreachable_format(),
        }
    }

    fn parse_elf(data: DumpData, extents: DataExtents) -> Result<Dump> {
        let core = elf::parse(&data)?;
        let format = if core.headers_only {
            Format::Elfcorehdr
        } else if core.class64 {
            Format::Elf64
        } else {
            Format::Elf32
        };
        let mut findings = core.findings;
        let vmcoreinfo = vmcoreinfo_from_notes(&core.notes);
        let cpus = contexts_from_notes(core.machine, &core.notes);
        cpu_findings(&cpus, &mut findings);
        let aliased = aliased_file_bytes(&core.ranges, &core.segments, &mut findings);
        if !core.headers_only {
            let stored: u64 = core
                .ranges
                .iter()
                .filter(|r| r.kind == crate::memmap::RangeKind::Load)
                .filter_map(|r| {
                    let fo = r.file_offset?.0;
                    Some(extents.data_bytes(fo, fo.saturating_add(r.present)))
                })
                .fold(0, u64::saturating_add);
            if stored == 0 && !has_errors(&findings) {
                let loads = core
                    .ranges
                    .iter()
                    .filter(|r| r.kind == crate::memmap::RangeKind::Load)
                    .count();
                findings.push(no_memory_finding(format!(
                    "none of its {loads} RAM PT_LOADs stores a byte the file holds \
                     (cut short, zero fill or holes only)"
                )));
            }
            if core.notes.is_empty() {
                findings.push(no_notes_finding());
            }
        }
        if vmcoreinfo.is_none() && !core.headers_only {
            findings.push(no_vmcoreinfo_finding());
        }
        Ok(Dump {
            path: None,
            format,
            machine: core.machine,
            segments: core.segments,
            notes: core.notes,
            cpus,
            memory: MemoryMap::new(core.ranges),
            vmcoreinfo,
            findings,
            kdump: None,
            excluded_as_zero: false,
            data,
            extents,
            aliased,
        })
    }

    fn parse_kdump(data: DumpData, extents: DataExtents, format: Format) -> Result<Dump> {
        let (kd, mut findings) = KdumpFile::parse_with_extents(&data, &extents)?;
        let machine = kd.machine();
        let mut notes = Vec::new();
        if let Some((blob, base)) = kd.note_data(&data)? {
            let (n, f) = parse_notes(Bytes::new(&blob, base));
            notes = n;
            findings.extend(f);
        }
        let mut vmcoreinfo = vmcoreinfo_from_notes(&notes);
        if vmcoreinfo.is_none()
            && let Some((text, off)) = kd.vmcoreinfo_data(&data)?
        {
            let mut v = VmcoreInfo::parse(&text);
            v.offset = Some(off);
            vmcoreinfo = Some(v);
        }
        let cpus = contexts_from_notes(machine, &notes);
        cpu_findings(&cpus, &mut findings);
        let memory = MemoryMap::new(kd.ram_ranges(&data)?);
        let info = kd.info();
        let stored = kd.readable_descriptors();
        if stored == 0 && !has_errors(&findings) {
            findings.push(no_memory_finding(format!(
                "{} RAM pages, {} dumpable, {} page descriptors in the file (max_mapnr {:#x}, \
                 page size {})",
                info.ram_pages, info.dumpable_pages, stored, info.max_mapnr, info.page_size
            )));
        }
        // Header versions before 4 have no note blob, before 3 no VMCOREINFO: an old dump
        // lacks them by its format, not by damage.
        if notes.is_empty() && info.header_version >= 4 {
            findings.push(no_notes_finding());
        }
        if vmcoreinfo.is_none() && info.header_version >= 3 {
            findings.push(no_vmcoreinfo_finding());
        }
        Ok(Dump {
            path: None,
            format,
            machine,
            segments: Vec::new(),
            notes,
            cpus,
            memory,
            vmcoreinfo,
            findings,
            excluded_as_zero: false,
            kdump: Some(kd),
            data,
            extents,
            aliased: Vec::new(),
        })
    }

    /// A dump rebuilt from a flattened stream ([`Dump::from_stream`]): it reports the
    /// stream's name and format, and the stream's own findings come first.
    pub(crate) fn set_stream_origin(&mut self, name: PathBuf, mut findings: Vec<Finding>) {
        self.path = Some(name);
        self.format = Format::Flattened;
        if let Some(k) = &mut self.kdump {
            k.mark_flattened();
        }
        findings.append(&mut self.findings);
        self.findings = findings;
    }

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
            .and_then(|n| crate::notes::Prpsinfo::parse64(&n.desc))
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
    /// [`Error::PageExcluded`] (libkdumpfile's `-z`). Off by default: an excluded page is not
    /// a page of zeros, and a reader that takes it for one gives silent wrong answers.
    pub fn set_excluded_as_zero(&mut self, on: bool) {
        self.excluded_as_zero = on;
    }

    /// Whether excluded pages read as zeros ([`Dump::set_excluded_as_zero`]).
    pub fn excluded_as_zero(&self) -> bool {
        self.excluded_as_zero
    }

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
    /// A page (4 KiB) that the memory map covers only in part reads as its covered bytes and
    /// zeros elsewhere, as libkdumpfile reads it; a page no range touches is
    /// [`Error::NotInDump`]. [`Dump::covered_bytes`] says how much of a read was covered.
    ///
    /// Errors: [`Error::NotInDump`] for unmapped pages, [`Error::BeyondEof`] for bytes of a
    /// truncated file, [`Error::HeadersOnly`] for a raw elfcorehdr, [`Error::PageExcluded`]
    /// for pages the dump level excluded (kdump-compressed bitmaps, ELF bytes past
    /// `p_filesz`; see [`Dump::set_excluded_as_zero`]) and [`Error::PageLost`] for pages of an
    /// incomplete kdump-compressed dump.
    pub fn read_phys(&self, addr: PhysAddr, buf: &mut [u8]) -> Result<()> {
        if let Some(kd) = &self.kdump {
            if self.excluded_as_zero {
                return self.read_kdump_excluded_as_zero(kd, addr, buf);
            }
            return kd.read_phys(&self.data, addr.0, buf);
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
                    let page = a & !(PARTIAL_PAGE - 1);
                    let page_end = page.saturating_add(PARTIAL_PAGE);
                    if !self.memory.covers_any(page, page_end) {
                        return Err(Error::NotInDump { addr: a });
                    }
                    let gap_end = self
                        .memory
                        .next_start_after(PhysAddr(a))
                        .map_or(page_end, |n| n.0.min(page_end));
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
                    if !self.excluded_as_zero {
                        return Err(Error::PageExcluded {
                            addr: a,
                            pfn: a / PARTIAL_PAGE,
                        });
                    }
                    let n = want.min(len) as usize;
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

    /// kdump-compressed read with excluded pages as zeros, page by page.
    fn read_kdump_excluded_as_zero(
        &self,
        kd: &KdumpFile,
        addr: PhysAddr,
        buf: &mut [u8],
    ) -> Result<()> {
        let mut done = 0usize;
        while done < buf.len() {
            let a = addr
                .0
                .checked_add(done as u64)
                .ok_or(Error::NotInDump { addr: u64::MAX })?;
            let in_page = (PARTIAL_PAGE - a % PARTIAL_PAGE) as usize;
            let n = in_page.min(buf.len() - done);
            match kd.read_phys(&self.data, a, &mut buf[done..done + n]) {
                Ok(()) => {}
                Err(Error::PageExcluded { .. }) => buf[done..done + n].fill(0),
                Err(e) => return Err(e),
            }
            done += n;
        }
        Ok(())
    }

    /// Calls `f(range, extent)` for the runs of the memory range `r` (one of
    /// [`MemoryMap::ranges`]) by how they are held, ascending, until `f` breaks. Nothing is
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

fn unreachable_format() -> Result<Dump> {
    Err(Error::Unsupported {
        what: "format",
        offset: 0,
        detail: "raw elfcorehdr is detected after parsing the ELF headers".into(),
    })
}

fn no_vmcoreinfo_finding() -> Finding {
    F::NO_VMCOREINFO.finding(
        None,
        "no VMCOREINFO note: kernel log, virtual addresses and symbols are unavailable",
    )
}

/// An error finding already says why the dump falls short (truncation, lost bitmaps): then
/// `DUMP001` would only repeat it.
fn has_errors(findings: &[Finding]) -> bool {
    findings.iter().any(|f| f.severity == Severity::Error)
}

/// `DUMP001`: the file stores no page of memory; every read would fail or read zeros, so
/// nothing about the machine's memory can be checked.
fn no_memory_finding(why: String) -> Finding {
    F::NO_READABLE_MEMORY.finding(None, format!("the dump stores no page of memory: {why}"))
}

/// `DUMP002`: no ELF note at all: no CPU registers and no VMCOREINFO.
fn no_notes_finding() -> Finding {
    F::NO_NOTES.finding(
        None,
        "the dump holds no ELF notes: no CPU registers and no VMCOREINFO",
    )
}

/// For each program header index, how many bytes at the start of its PT_LOAD's stored part an
/// earlier PT_LOAD (by file offset, then index) already stores, with finding `ELF009` when
/// any does. Sorted by start, the bytes earlier ranges cover from a range's start on are
/// one prefix `[start, max_end)`, so one sweep finds them. Kernel-text aliases are left out:
/// they alias RAM by design.
fn aliased_file_bytes(
    ranges: &[crate::memmap::MemoryRange],
    segments: &[Segment],
    findings: &mut Vec<Finding>,
) -> Vec<u64> {
    let n_phdrs = segments.len();
    let mut stored: Vec<(u64, u64, usize)> = ranges
        .iter()
        .filter(|r| r.kind == crate::memmap::RangeKind::Load && r.present > 0)
        .filter_map(|r| Some((r.file_offset?.0, r.present, r.phdr_index?)))
        .collect();
    stored.sort_unstable();
    let mut out = vec![0u64; n_phdrs];
    let mut max_end = 0u64;
    let (mut count, mut first) = (0u64, None);
    for &(start, len, i) in &stored {
        let end = start.saturating_add(len);
        if max_end > start {
            let n = max_end.min(end) - start;
            if let Some(slot) = out.get_mut(i) {
                *slot = n;
            }
            count += 1;
            first.get_or_insert((i, start, start + n));
        }
        max_end = max_end.max(end);
    }
    if let Some((i, a, b)) = first {
        findings.push(F::LOADS_SHARE_FILE_BYTES.finding(
            segments.get(i).map(|s| s.header_offset),
            format!(
                "{count} PT_LOADs store memory in file bytes an earlier PT_LOAD also stores \
                 (first: PT_LOAD {i}, file bytes {a:#x}..{b:#x}): the same bytes describe two \
                 physical ranges"
            ),
        ));
    }
    out
}

fn vmcoreinfo_from_notes(notes: &[Note]) -> Option<VmcoreInfo> {
    notes.iter().find(|n| n.name == NAME_VMCOREINFO).map(|n| {
        let mut v = VmcoreInfo::parse(&n.desc);
        v.offset = Some(n.desc_offset);
        v
    })
}

fn cpu_findings(cpus: &[CpuContext], findings: &mut Vec<Finding>) {
    for c in cpus {
        if let Some(p) = &c.problem {
            let code = match p {
                CpuProblem::Zeroed if c.regs.is_none() => F::REGISTER_NOTE_ZEROED,
                _ => F::REGISTER_NOTE_UNDECODABLE,
            };
            findings.push(code.finding(
                Some(c.note_offset),
                format!("register note {}: {p}", c.note_index),
            ));
        }
    }
}
