//! Opening a dump: the file checked and mapped (the one `unsafe` block of the crate), the
//! format detected, the format's reader run, and the whole-dump findings (`DUMP*`, `NOTE003`,
//! `CPU*`, `ELF009`).

use std::fs::File;
use std::path::{Path, PathBuf};

use kdump_types::{Bytes, Finding, Severity};

use super::{Dump, DumpData, Format};
use crate::cpu::{CpuContext, CpuProblem, contexts_from_notes};
use crate::elf::{self, Segment};
use crate::error::{Error, Result};
use crate::extents::DataExtents;
use crate::findings as F;
use crate::kdump::KdumpFile;
use crate::memmap::MemoryMap;
use crate::notes::{NAME_VMCOREINFO, Note, parse_notes};
use crate::vmcoreinfo::VmcoreInfo;

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
    // Formats libkdumpfile reads and this crate does not: named, not "unknown".
    const LKCD_MAGIC: u64 = 0xa819_0173_618f_23ed;
    let head8 = data.get(..8).and_then(|b| <[u8; 8]>::try_from(b).ok());
    let other = match head8 {
        Some(m) if u64::from_le_bytes(m) == LKCD_MAGIC || u64::from_be_bytes(m) == LKCD_MAGIC => {
            Some("an LKCD dump (the pre-kdump Linux Kernel Crash Dump format)")
        }
        Some(m) if &m == b"sadump\0\0" => Some("a Fujitsu sadump dump"),
        _ => None,
    };
    if let Some(what) = other {
        return Err(Error::Unsupported {
            what: "dump format",
            offset: 0,
            detail: format!("{what} is not read (libkdumpfile reads it)"),
        });
    }
    Err(Error::UnknownFormat {
        magic: data.iter().take(16).copied().collect(),
    })
}

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

    pub(crate) fn parse_with(data: DumpData, extents: DataExtents) -> Result<Dump> {
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
        let cpus = contexts_from_notes(core.machine, core.byte_order, &core.notes);
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
            byte_order: core.byte_order,
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
            parts: Vec::new(),
        })
    }

    fn parse_kdump(data: DumpData, extents: DataExtents, format: Format) -> Result<Dump> {
        // A flattened stream's image is known only once its records are indexed, which the
        // kdump reader does anyway: an ELF image there (`makedumpfile -E -F`) is read as ELF.
        let (kd, mut findings) = match KdumpFile::parse_with_extents(&data, &extents) {
            Err(Error::Unsupported { what, .. }) if what == crate::kdump::FLATTENED_ELF => {
                return Self::rebuild_flattened_elf(&data);
            }
            r => r?,
        };
        let machine = kd.machine();
        let byte_order = kd.info().byte_order;
        let mut notes = Vec::new();
        if let Some((blob, base)) = kd.note_data(&data)? {
            let (n, f) = parse_notes(Bytes::new(&blob, base).with_order(byte_order));
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
        let cpus = contexts_from_notes(machine, byte_order, &notes);
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
            byte_order,
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
            parts: Vec::new(),
        })
    }

    /// A flattened stream of an ELF dump (`makedumpfile -E -F`), rebuilt into an anonymous
    /// temporary file as `makedumpfile -R` would and read as ELF: an ELF dump's headers point
    /// anywhere in the image, so it is not read through the record index as kdump-compressed
    /// images are. The temporary file is about the size of the stream (see `crate::stream`).
    fn rebuild_flattened_elf(data: &[u8]) -> Result<Dump> {
        Dump::from_stream(data, PathBuf::new())
    }

    /// The other parts of a `--split` set (empty for any other dump).
    pub(crate) fn parts(&self) -> &[crate::split::SplitPart] {
        &self.parts
    }

    pub(crate) fn install_parts(&mut self, parts: Vec<crate::split::SplitPart>) {
        self.parts = parts;
    }

    pub(crate) fn findings_mut(&mut self) -> &mut Vec<Finding> {
        &mut self.findings
    }

    /// The file bytes and kdump reader of a kdump-compressed dump, to become a part of a set.
    pub(crate) fn into_kdump_parts(self) -> Option<(DumpData, KdumpFile)> {
        let Dump { data, kdump, .. } = self;
        Some((data, kdump?))
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
                // Nothing is wrong with the note; this tool does not read that machine's.
                CpuProblem::MachineNotDecoded(_) => F::REGISTERS_NOT_DECODED,
                _ => F::REGISTER_NOTE_UNDECODABLE,
            };
            findings.push(code.finding(
                Some(c.note_offset),
                format!("register note {}: {p}", c.note_index),
            ));
        }
    }
}
