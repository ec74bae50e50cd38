//! ELF cores: /proc/vmcore copies, QEMU `dump-guest-memory` ELF dumps, makedumpfile `-E`
//! output, and raw elfcorehdr segments (headers only, `p_offset` = physical address).
//!
//! goblin decodes the ELF header and program headers (both classes); every range goblin is asked
//! to read is bounds-checked here first so errors carry our offsets. PN_XNUM (more than 65534
//! program headers, which makedumpfile can write) is resolved from section header 0 ourselves,
//! because goblin takes `e_phnum` literally.

use goblin::container::{Container, Ctx, Endian};
use goblin::elf::{Elf, ProgramHeader};
use kdump_types::elf::*;
use kdump_types::{Bytes, FileOffset, Finding, PhysRange, Severity, VirtAddr};

use crate::cpu::Machine;
use crate::error::{Error, Result};
use crate::memmap::{MemoryRange, RangeKind, X86_64_START_KERNEL_MAP};
use crate::notes::{Note, parse_notes};

/// One program header, as the file says it (our type, not goblin's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    /// Index in the program header table.
    pub index: usize,
    /// Absolute file offset of the program header itself.
    pub header_offset: u64,
    /// `p_type`.
    pub p_type: u32,
    /// `p_flags`.
    pub p_flags: u32,
    /// `p_offset` (a physical address in a raw elfcorehdr).
    pub p_offset: u64,
    /// `p_vaddr`.
    pub p_vaddr: u64,
    /// `p_paddr`.
    pub p_paddr: u64,
    /// `p_filesz`.
    pub p_filesz: u64,
    /// `p_memsz`.
    pub p_memsz: u64,
    /// `p_align`.
    pub p_align: u64,
}

impl Segment {
    /// readelf's name for the type.
    pub fn type_name(&self) -> &'static str {
        match self.p_type {
            PT_LOAD => "LOAD",
            PT_NOTE => "NOTE",
            0 => "NULL",
            _ => "OTHER",
        }
    }
    /// readelf's flag string (`RWE`).
    pub fn flags_str(&self) -> String {
        let mut s = String::new();
        s.push(if self.p_flags & PF_R != 0 { 'R' } else { ' ' });
        s.push(if self.p_flags & PF_W != 0 { 'W' } else { ' ' });
        s.push(if self.p_flags & PF_X != 0 { 'E' } else { ' ' });
        s
    }
}

/// What the ELF reader found.
#[derive(Debug)]
pub(crate) struct ElfCore {
    pub class64: bool,
    pub machine: Machine,
    pub headers_only: bool,
    pub segments: Vec<Segment>,
    pub notes: Vec<Note>,
    pub ranges: Vec<MemoryRange>,
    pub findings: Vec<Finding>,
}

/// Parse an ELF core from the whole file.
pub(crate) fn parse(data: &[u8]) -> Result<ElfCore> {
    let b = Bytes::new(data, 0);
    let ident = b.slice("ELF identification", 0, 16)?;
    let class64 = match ident[4] {
        ELFCLASS64 => true,
        ELFCLASS32 => false,
        c => {
            return Err(Error::bad(
                "ELF class (EI_CLASS)",
                4,
                c.into(),
                "neither ELFCLASS32 nor ELFCLASS64",
            ));
        }
    };
    if ident[5] != ELFDATA2LSB {
        return Err(Error::Unsupported {
            what: "ELF byte order",
            offset: 5,
            detail: format!("EI_DATA = {}, only little-endian dumps are read", ident[5]),
        });
    }
    let ehsize = if class64 { EHDR64_SIZE } else { EHDR32_SIZE };
    b.slice("ELF header", 0, ehsize as u64)?;
    let h = Elf::parse_header(data).map_err(|e| Error::Unsupported {
        what: "ELF header",
        offset: 0,
        detail: e.to_string(),
    })?;
    if h.e_type != ET_CORE {
        return Err(Error::bad(
            "e_type",
            16,
            h.e_type.into(),
            "not ET_CORE: this ELF file is not a core dump",
        ));
    }
    let phentsize = if class64 { PHDR64_SIZE } else { PHDR32_SIZE };
    let phentsize_off = if class64 { 54 } else { 42 };
    if usize::from(h.e_phentsize) != phentsize {
        return Err(Error::bad(
            "e_phentsize",
            phentsize_off,
            h.e_phentsize.into(),
            "wrong program header size for this ELF class",
        ));
    }
    let mut findings = Vec::new();
    let phnum_off = if class64 { 56 } else { 44 };
    let mut phnum = u64::from(h.e_phnum);
    if h.e_phnum == PN_XNUM {
        // Extended numbering: the real count is sh_info of section header 0.
        if h.e_shoff == 0 {
            return Err(Error::bad(
                "e_phnum",
                phnum_off,
                u64::from(PN_XNUM),
                "is PN_XNUM (extended numbering) but e_shoff is 0: there is no section header 0 \
                 to hold the program header count",
            ));
        }
        let sh_info_off = h
            .e_shoff
            .checked_add(if class64 { 44 } else { 28 })
            .ok_or_else(|| {
                Error::bad(
                    "e_shoff",
                    if class64 { 40 } else { 32 },
                    h.e_shoff,
                    "overflows",
                )
            })?;
        phnum = u64::from(b.read_u32(
            "section header 0 sh_info (PN_XNUM program header count)",
            sh_info_off,
        )?);
        if phnum == 0 {
            return Err(Error::bad(
                "section header 0 sh_info (PN_XNUM program header count)",
                sh_info_off,
                0,
                "e_phnum is PN_XNUM (0xffff) but the count it points at is 0",
            ));
        }
    }
    if phnum == 0 {
        return Err(Error::bad(
            "e_phnum",
            phnum_off,
            0,
            "a core file without program headers holds nothing",
        ));
    }
    let table_len = phnum * phentsize as u64;
    b.slice("program header table", h.e_phoff, table_len)?;
    let ctx = Ctx::new(
        if class64 {
            Container::Big
        } else {
            Container::Little
        },
        Endian::Little,
    );
    let phdrs: Vec<ProgramHeader> =
        ProgramHeader::parse(data, h.e_phoff as usize, phnum as usize, ctx).map_err(|e| {
            Error::Unsupported {
                what: "program header table",
                offset: h.e_phoff,
                detail: e.to_string(),
            }
        })?;
    let segments: Vec<Segment> = phdrs
        .iter()
        .enumerate()
        .map(|(i, p)| Segment {
            index: i,
            header_offset: h.e_phoff + (i * phentsize) as u64,
            p_type: p.p_type,
            p_flags: p.p_flags,
            p_offset: p.p_offset,
            p_vaddr: p.p_vaddr,
            p_paddr: p.p_paddr,
            p_filesz: p.p_filesz,
            p_memsz: p.p_memsz,
            p_align: p.p_align,
        })
        .collect();

    let file_len = data.len() as u64;
    let loads_and_notes = || {
        segments
            .iter()
            .filter(|s| s.p_type == PT_LOAD || s.p_type == PT_NOTE)
    };
    // A raw elfcorehdr: every segment's p_offset is its physical address, and the data is not in
    // this file (it is the crashed kernel's memory).
    let headers_only = loads_and_notes().count() > 0
        && loads_and_notes().all(|s| s.p_offset == s.p_paddr)
        && loads_and_notes().any(|s| s.p_offset.saturating_add(s.p_filesz) > file_len);
    let machine = Machine::from_e_machine(h.e_machine);

    if h.e_flags & DUMP_ELF_INCOMPLETE != 0 {
        findings.push(Finding::new(
            "ELF004",
            "dump-incomplete-flag",
            Severity::Error,
            Some(if class64 { 48 } else { 36 }),
            "e_flags has DUMP_ELF_INCOMPLETE: makedumpfile stopped before writing every page",
        ));
    }
    if headers_only {
        findings.push(Finding::new(
            "ELF006",
            "headers-only",
            Severity::Info,
            Some(0),
            "raw elfcorehdr: program headers describe the crashed kernel's memory by physical address; the file holds no memory",
        ));
    }

    let mut notes = Vec::new();
    let mut ranges = Vec::new();
    for s in &segments {
        match s.p_type {
            PT_NOTE if !headers_only => {
                let avail = file_len.saturating_sub(s.p_offset).min(s.p_filesz);
                if avail < s.p_filesz {
                    findings.push(Finding::new(
                        "ELF007",
                        "note-segment-truncated",
                        Severity::Error,
                        Some(s.header_offset),
                        format!(
                            "PT_NOTE {} at file offset {:#x} needs {:#x} bytes, the file has {:#x}",
                            s.index, s.p_offset, s.p_filesz, avail
                        ),
                    ));
                }
                if avail > 0 {
                    let seg = b.sub("PT_NOTE data", s.p_offset, avail)?;
                    let (n, f) = parse_notes(seg);
                    notes.extend(n);
                    findings.extend(f);
                }
            }
            PT_LOAD => {
                if s.p_filesz > s.p_memsz {
                    findings.push(Finding::new(
                        "ELF008",
                        "load-filesz-exceeds-memsz",
                        Severity::Warning,
                        Some(s.header_offset),
                        format!(
                            "PT_LOAD {}: p_filesz {:#x} > p_memsz {:#x}; extra bytes ignored",
                            s.index, s.p_filesz, s.p_memsz
                        ),
                    ));
                }
                // PhysRange saturates at the top of the address space: cut the file bytes
                // with it, so `phys.start + file_size` (and `+ present`) cannot overflow.
                let phys = PhysRange::from_start_len(s.p_paddr, s.p_memsz);
                let file_size = s.p_filesz.min(phys.len());
                let present = if headers_only {
                    0
                } else {
                    file_len.saturating_sub(s.p_offset).min(file_size)
                };
                let kind = if machine == Machine::X86_64 && s.p_vaddr >= X86_64_START_KERNEL_MAP {
                    RangeKind::KernelText
                } else {
                    RangeKind::Load
                };
                if !headers_only && present < file_size {
                    findings.push(Finding::new(
                        "ELF001",
                        "load-truncated",
                        Severity::Error,
                        Some(s.header_offset),
                        format!(
                            "PT_LOAD {} (phys {}) needs file bytes {:#x}..{:#x}; the file ends at {:#x}: {:#x} bytes missing",
                            s.index,
                            PhysRange::from_start_len(s.p_paddr, s.p_memsz),
                            s.p_offset,
                            s.p_offset.saturating_add(file_size),
                            file_len,
                            file_size - present
                        ),
                    ));
                }
                ranges.push(MemoryRange {
                    phys,
                    virt: (s.p_vaddr != 0 && s.p_vaddr != u64::MAX).then_some(VirtAddr(s.p_vaddr)),
                    file_offset: (!headers_only).then_some(FileOffset(s.p_offset)),
                    file_size,
                    present,
                    kind,
                    phdr_index: Some(s.index),
                    flags: s.p_flags,
                });
            }
            _ => {}
        }
    }
    overlap_findings(&ranges, &mut findings, &segments, machine);
    Ok(ElfCore {
        class64,
        machine,
        headers_only,
        segments,
        notes,
        ranges,
        findings,
    })
}

fn overlap_findings(
    ranges: &[MemoryRange],
    findings: &mut Vec<Finding>,
    segments: &[Segment],
    machine: Machine,
) {
    let mut ram: Vec<&MemoryRange> = ranges
        .iter()
        .filter(|r| r.kind != RangeKind::KernelText && !r.phys.is_empty())
        .collect();
    ram.sort_by_key(|r| r.phys.start);
    // arm64 kexec-tools adds the kernel image as its own PT_LOAD inside the RAM PT_LOAD that
    // holds it: a range wholly inside another is how that header is built, not damage. Each
    // range is compared with the one reaching furthest so far, so a partial overlap behind a
    // nested range is still seen.
    let mut cover: Option<&MemoryRange> = None;
    for pair in ram.windows(2) {
        let w = match (machine, cover) {
            (Machine::Aarch64, Some(c)) if c.phys.end > pair[0].phys.end => [c, pair[1]],
            _ => [pair[0], pair[1]],
        };
        if machine == Machine::Aarch64 {
            cover = Some(if w[1].phys.end > w[0].phys.end {
                w[1]
            } else {
                w[0]
            });
            let nested = w[1].phys.end <= w[0].phys.end || w[1].phys.start == w[0].phys.start;
            if nested {
                continue;
            }
        }
        if w[0].phys.overlaps(&w[1].phys) {
            let off = w[1]
                .phdr_index
                .and_then(|i| segments.get(i))
                .map(|s| s.header_offset);
            findings.push(Finding::new(
                "ELF003",
                "loads-overlap",
                Severity::Warning,
                off,
                format!(
                    "PT_LOAD {} (phys {}) overlaps PT_LOAD {} (phys {})",
                    w[1].phdr_index.unwrap_or(0),
                    w[1].phys,
                    w[0].phdr_index.unwrap_or(0),
                    w[0].phys
                ),
            ));
        }
    }
}
