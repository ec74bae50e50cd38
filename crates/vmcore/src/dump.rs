//! The `Dump` facade: one model of a dump, whatever its format.

use std::fs::File;
use std::ops::Deref;
use std::path::{Path, PathBuf};

use kdump_types::{Bytes, Finding, PhysAddr, PhysRange, Severity, VirtAddr};

use crate::cpu::{CpuContext, Machine, contexts_from_notes};
use crate::elf::{self, Segment};
use crate::error::{Error, Result};
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
}

/// Page granularity of partial-page reads: a page the dump covers only in part reads as its
/// covered bytes and zeros elsewhere, as libkdumpfile returns it.
const PARTIAL_PAGE: u64 = 4096;

impl Dump {
    /// Open and map a dump file. The format is detected from the content, not the name.
    pub fn open(path: impl AsRef<Path>) -> Result<Dump> {
        let path = path.as_ref();
        let io = |source| Error::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = File::open(path).map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        // Mapping an empty file fails on some systems; an empty file is simply not a dump.
        let data = if len == 0 {
            DumpData::Owned(Vec::new())
        } else {
            DumpData::Mmap(map_file(&file).map_err(io)?)
        };
        let mut d = Dump::parse(data)?;
        d.path = Some(path.to_path_buf());
        Ok(d)
    }

    /// Parse a dump from bytes already in memory.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Dump> {
        Dump::parse(DumpData::Owned(bytes))
    }

    /// Parse a dump from its data.
    pub fn parse(data: DumpData) -> Result<Dump> {
        let format = detect(&data)?;
        match format {
            Format::Elf64 | Format::Elf32 => Self::parse_elf(data),
            Format::KdumpCompressed | Format::Flattened => Self::parse_kdump(data, format),
            Format::Elfcorehdr => unreachable_format(),
        }
    }

    fn parse_elf(data: DumpData) -> Result<Dump> {
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
        if vmcoreinfo.is_none() && !core.headers_only {
            findings.push(Finding::new(
                "NOTE003",
                "no-vmcoreinfo",
                Severity::Warning,
                None,
                "no VMCOREINFO note: kernel log, virtual addresses and symbols are unavailable",
            ));
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
        })
    }

    fn parse_kdump(data: DumpData, format: Format) -> Result<Dump> {
        let (kd, mut findings) = KdumpFile::parse(&data)?;
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
        let memory = MemoryMap::new(kd.ram_ranges());
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
        Some(PageCounts {
            ram: kd.ram_bitmap().count_range(s, e),
            stored: kd.dumpable_bitmap().count_range(s, e),
        })
    }

    /// Everything the readers noticed that did not stop them.
    pub fn findings(&self) -> &[Finding] {
        &self.findings
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
            let (code, name, sev) = if c.regs.is_none() && p.contains("zeroed") {
                ("CPU001", "register-note-zeroed", Severity::Warning)
            } else {
                ("CPU002", "register-note-undecodable", Severity::Error)
            };
            findings.push(Finding::new(
                code,
                name,
                sev,
                Some(c.note_offset),
                format!("register note {}: {p}", c.note_index),
            ));
        }
    }
}
