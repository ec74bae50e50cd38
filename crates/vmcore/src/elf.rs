//! ELF cores: /proc/vmcore copies, QEMU `dump-guest-memory` ELF dumps, makedumpfile `-E`
//! output, and raw elfcorehdr segments (headers only, `p_offset` = physical address).
//!
//! Headers are decoded by the raw ELF layer (`kdump_types::elf`: `Elf64Ehdr`, `Elf64Phdr`, ELF32
//! widened into them), so every read is bounds-checked and every error names its file offset.
//! Both byte orders are read: `EI_DATA` gives the file's [`ByteOrder`] and every header and note
//! is read in it (ppc64 and s390x dumps are big-endian). PN_XNUM (more than 65534 program
//! headers, which makedumpfile can write) is resolved from section header 0. A program header
//! table whose `e_phentsize` is larger than the class's header is read at that stride, each
//! entry's first bytes being the header (libkdumpfile reads such ELF32 files so); a finding
//! says so.

use kdump_types::elf::ident as raw_ident;
use kdump_types::elf::*;
use kdump_types::{ByteOrder, Bytes, FileOffset, Finding, PhysRange, VirtAddr};

use crate::cpu::Machine;
use crate::error::{Error, Result};
use crate::findings as F;
use crate::memmap::{MemoryRange, RangeKind, X86_64_START_KERNEL_MAP};
use crate::notes::{Note, parse_notes};

/// One program header, as the file says it, and where it is. The header's fields are the raw
/// ELF layer's [`Elf64Phdr`] (ELF32 headers widened), readable directly (`seg.p_type`)
/// through `Deref`, so the fields are declared once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    /// Index in the program header table.
    pub index: usize,
    /// Absolute file offset of the program header itself.
    pub header_offset: u64,
    /// The program header (`p_offset` is a physical address in a raw elfcorehdr).
    pub phdr: Elf64Phdr,
}

impl std::ops::Deref for Segment {
    type Target = Elf64Phdr;
    fn deref(&self) -> &Elf64Phdr {
        &self.phdr
    }
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
    pub byte_order: ByteOrder,
    pub machine: Machine,
    pub headers_only: bool,
    pub segments: Vec<Segment>,
    pub notes: Vec<Note>,
    pub ranges: Vec<MemoryRange>,
    pub findings: Vec<Finding>,
}

/// Parse an ELF core from the whole file.
pub(crate) fn parse(data: &[u8]) -> Result<ElfCore> {
    let (b, layout, h) = read_ehdr(Bytes::new(data, 0))?;
    let class64 = layout == ELF64;
    let phnum = phdr_count(&b, &layout, &h)?;
    let stride = u64::from(h.e_phentsize);
    let segments = read_segments(&b, &layout, h.e_phoff, phnum, stride)?;

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

    let mut findings = Vec::new();
    if stride != layout.phdr_size {
        findings.push(F::PHENTSIZE_LARGER.finding(
            Some(layout.e_phentsize),
            format!(
                "e_phentsize is {stride}, not the {} bytes of an ELF{} program header: each \
                 entry's first {} bytes are read as one (libkdumpfile reads them so)",
                layout.phdr_size,
                if class64 { 64 } else { 32 },
                layout.phdr_size
            ),
        ));
    }
    if h.e_flags & DUMP_ELF_INCOMPLETE != 0 {
        findings.push(F::DUMP_INCOMPLETE_FLAG.finding(
            Some(layout.e_flags),
            "e_flags has DUMP_ELF_INCOMPLETE: makedumpfile stopped before writing every page",
        ));
    }
    if headers_only {
        findings.push(F::HEADERS_ONLY.finding(Some(0),
            "raw elfcorehdr: program headers describe the crashed kernel's memory by physical address; the file holds no memory",
        ));
    }

    let mut notes = Vec::new();
    let mut ranges = Vec::new();
    for s in &segments {
        match s.p_type {
            PT_NOTE if !headers_only => {
                note_segment(&b, s, &mut notes, &mut findings)?;
            }
            PT_LOAD => {
                ranges.push(load_range(
                    s,
                    machine,
                    headers_only,
                    file_len,
                    &mut findings,
                ));
            }
            _ => {}
        }
    }
    overlap_findings(&ranges, &mut findings, &segments, machine);
    load_extent_findings(machine, &segments, &mut findings);
    Ok(ElfCore {
        class64,
        byte_order: b.order(),
        machine,
        headers_only,
        segments,
        notes,
        ranges,
        findings,
    })
}

/// `e_ident` and the ELF header of either class (ELF32 widened), checked for what a core needs:
/// a known byte order, `ET_CORE`, program headers at least the class's size. Returns the file
/// viewed in its byte order.
fn read_ehdr(b: Bytes<'_>) -> Result<(Bytes<'_>, ClassLayout, Elf64Ehdr)> {
    let id = ident(&b)?;
    let layout = match id.class {
        ELFCLASS64 => ELF64,
        ELFCLASS32 => ELF32,
        c => {
            return Err(Error::bad(
                "ELF class (EI_CLASS)",
                raw_ident::EI_CLASS,
                c.into(),
                "neither ELFCLASS32 nor ELFCLASS64",
            ));
        }
    };
    if !id.magic_ok {
        return Err(Error::bad(
            "ELF magic",
            raw_ident::EI_MAG,
            u64::from(u32::from_le_bytes(b.array("ELF magic", 0)?)),
            "not \\x7fELF",
        ));
    }
    let Some(order) = id.byte_order() else {
        return Err(Error::bad(
            "ELF byte order (EI_DATA)",
            raw_ident::EI_DATA,
            id.data.into(),
            "neither ELFDATA2LSB (1) nor ELFDATA2MSB (2)",
        ));
    };
    let b = b.with_order(order);
    b.slice("ELF header", 0, layout.ehdr_size)?;
    let h = if layout == ELF64 {
        Elf64Ehdr::read(&b, 0)?
    } else {
        Elf64Ehdr::read_elf32(&b, 0)?
    };
    if h.e_type != ET_CORE {
        return Err(Error::bad(
            "e_type",
            layout.e_type,
            h.e_type.into(),
            "not ET_CORE: this ELF file is not a core dump",
        ));
    }
    if u64::from(h.e_phentsize) < layout.phdr_size {
        return Err(Error::bad(
            "e_phentsize",
            layout.e_phentsize,
            h.e_phentsize.into(),
            "smaller than a program header of this ELF class",
        ));
    }
    Ok((b, layout, h))
}

/// The number of program headers: `e_phnum`, or section header 0's `sh_info` under PN_XNUM.
fn phdr_count(b: &Bytes<'_>, layout: &ClassLayout, h: &Elf64Ehdr) -> Result<u64> {
    let mut phnum = u64::from(h.e_phnum);
    if h.e_phnum == PN_XNUM {
        // Extended numbering: the real count is sh_info of section header 0.
        if h.e_shoff == 0 {
            return Err(Error::bad(
                "e_phnum",
                layout.e_phnum,
                u64::from(PN_XNUM),
                "is PN_XNUM (extended numbering) but e_shoff is 0: there is no section header 0 \
                 to hold the program header count",
            ));
        }
        let sh_info_off = h
            .e_shoff
            .checked_add(layout.sh_info)
            .ok_or_else(|| Error::bad("e_shoff", layout.e_shoff, h.e_shoff, "overflows"))?;
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
            layout.e_phnum,
            0,
            "a core file without program headers holds nothing",
        ));
    }
    Ok(phnum)
}

/// The program header table (`phnum` entries `stride` bytes apart), checked to be in the file
/// before anything is allocated for it.
fn read_segments(
    b: &Bytes<'_>,
    layout: &ClassLayout,
    e_phoff: u64,
    phnum: u64,
    stride: u64,
) -> Result<Vec<Segment>> {
    // phnum < 2^32 and stride < 2^16: no overflow. The padding of a wide stride need not
    // follow the last entry (libkdumpfile's generator writes ELF32 files so).
    let table_len = (phnum - 1) * stride + layout.phdr_size;
    let table = b.sub("program header table", e_phoff, table_len)?;
    (0..phnum)
        .map(|i| {
            let at = i * stride;
            let p: Elf64Phdr = if *layout == ELF64 {
                Elf64Phdr::read(&table, at)?
            } else {
                Elf64Phdr::read_elf32(&table, at)?
            };
            Ok(Segment {
                index: i as usize,
                header_offset: e_phoff + at,
                phdr: p,
            })
        })
        .collect()
}

/// The notes of one PT_NOTE segment (as much of it as the file holds).
fn note_segment(
    b: &Bytes<'_>,
    s: &Segment,
    notes: &mut Vec<Note>,
    findings: &mut Vec<Finding>,
) -> Result<()> {
    let file_len = b.len() as u64;
    let avail = file_len.saturating_sub(s.p_offset).min(s.p_filesz);
    if avail < s.p_filesz {
        findings.push(F::NOTE_SEGMENT_TRUNCATED.finding(
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
    Ok(())
}

/// The memory range of one PT_LOAD, with findings for what the file lacks.
fn load_range(
    s: &Segment,
    machine: Machine,
    headers_only: bool,
    file_len: u64,
    findings: &mut Vec<Finding>,
) -> MemoryRange {
    if s.p_filesz > s.p_memsz {
        findings.push(F::LOAD_FILESZ_EXCEEDS_MEMSZ.finding(
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
        findings.push(F::LOAD_TRUNCATED.finding(Some(s.header_offset),
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
    MemoryRange {
        phys,
        virt: (s.p_vaddr != 0 && s.p_vaddr != u64::MAX).then_some(VirtAddr(s.p_vaddr)),
        file_offset: (!headers_only).then_some(FileOffset(s.p_offset)),
        file_size,
        present,
        kind,
        phdr_index: Some(s.index),
        flags: s.p_flags,
    }
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
            findings.push(F::LOADS_OVERLAP.finding(
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

/// The highest physical address bits an architecture has (x86_64 and arm64: 52, their
/// architectural `MAXPHYADDR` / `PARange` limits); `None` where this reader does not know.
fn physical_address_bits(machine: Machine) -> Option<u32> {
    match machine {
        Machine::X86_64 | Machine::Aarch64 => Some(52),
        _ => None,
    }
}

/// PT_LOADs whose physical range cannot be memory: one that runs past 2^64 (it is read up to
/// the top of the address space, and says so), or past the architecture's physical address
/// space (such as a p_memsz of 0xfffffffffffff000, which would make a whole-dump scan read
/// 16 EiB of excluded pages). libkdumpfile refuses these; here they are errors with the
/// program header named, so `vmcore check` fails instead of passing on them.
fn load_extent_findings(machine: Machine, segments: &[Segment], findings: &mut Vec<Finding>) {
    let limit = physical_address_bits(machine).map(|b| 1u64 << b);
    for s in segments
        .iter()
        .filter(|s| s.p_type == PT_LOAD && s.p_memsz > 0)
    {
        // p_paddr -1 is how some kernels mark a segment without a physical address.
        if s.p_paddr == u64::MAX {
            continue;
        }
        match s.p_paddr.checked_add(s.p_memsz) {
            None => findings.push(F::LOAD_WRAPS.finding(
                Some(s.header_offset),
                format!(
                    "PT_LOAD {}: p_paddr {:#x} + p_memsz {:#x} runs past 2^64; its memory is \
                     read only up to the top of the physical address space",
                    s.index, s.p_paddr, s.p_memsz
                ),
            )),
            Some(end) if limit.is_some_and(|l| end > l) => {
                findings.push(F::LOAD_BEYOND_PHYSICAL_SPACE.finding(
                    Some(s.header_offset),
                    format!(
                        "PT_LOAD {}: phys {:#x}..{end:#x} (p_memsz {:#x}) ends past the {} \
                     physical address space (2^52): no machine has that memory",
                        s.index,
                        s.p_paddr,
                        s.p_memsz,
                        machine.name()
                    ),
                ))
            }
            Some(_) => {}
        }
    }
}
