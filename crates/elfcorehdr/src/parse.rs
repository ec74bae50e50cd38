//! Reading a raw elfcorehdr back into a model: [`Elfcorehdr::parse`].
//!
//! Errors are reserved for input that is not an ELF64 little-endian header with readable
//! program headers (the capture kernel would reject it too, `parse_crash_elf64_headers()` in
//! fs/proc/vmcore.c). Everything else that differs from what the 6.12 kernel writes becomes a
//! [`Finding`] with the offset, so headers made by kexec-tools (`kexec_load`) and by older
//! kernels parse, and their quirks are listed.

use kdump_types::elf::*;
use kdump_types::{Bytes, Finding, FindingCode, PhysAddr, PhysRange, Severity, VirtAddr};

use crate::build::header_len;
use crate::error::{Error, Result};
use crate::findings as F;

/// Virtual addresses at or above this are the kernel text mapping (`__START_KERNEL_map`).
pub const START_KERNEL_MAP: u64 = 0xffff_ffff_8000_0000;

/// A PT_NOTE of the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoteSegment {
    /// Index of the program header.
    pub phdr_index: usize,
    /// Physical address of the note buffer.
    pub addr: PhysAddr,
    /// Size of the buffer (`p_memsz`).
    pub size: u64,
}

/// A PT_LOAD of the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadSegment {
    /// Index of the program header.
    pub phdr_index: usize,
    /// Physical range (`p_paddr`, `p_memsz`).
    pub range: PhysRange,
    /// `p_vaddr`.
    pub vaddr: VirtAddr,
}

/// The model of a raw elfcorehdr.
///
/// Notes are classified the way both producers order them: every PT_NOTE but the last is a CPU
/// note (in possible-CPU order, so index `i` is the `i`-th possible CPU, not necessarily CPU
/// `i`), the last PT_NOTE is VMCOREINFO. A PT_LOAD whose `p_vaddr` is in the kernel text
/// mapping is the kernel text; the other PT_LOADs are RAM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Elfcorehdr {
    /// The ELF header.
    pub header: Elf64Ehdr,
    /// Every program header, in file order.
    pub phdrs: Vec<Elf64Phdr>,
    /// Per-CPU notes, in phdr order.
    pub cpu_notes: Vec<NoteSegment>,
    /// The VMCOREINFO note, if there is a PT_NOTE at all.
    pub vmcoreinfo: Option<NoteSegment>,
    /// The kernel text PT_LOAD, if any.
    pub kernel_text: Option<LoadSegment>,
    /// RAM PT_LOADs, in phdr order.
    pub ram: Vec<LoadSegment>,
    /// `p_vaddr - p_paddr` shared by every RAM PT_LOAD (the direct-map base), if they agree.
    pub page_offset_base: Option<VirtAddr>,
    /// Bytes used by the header (`e_phoff + e_phnum * 56`).
    pub used_len: usize,
    /// What looked wrong or unlike the 6.12 kernel's output.
    pub findings: Vec<Finding>,
}

fn finding(code: FindingCode, off: u64, msg: String) -> Finding {
    code.finding(Some(off), msg)
}

/// Reads and checks the ELF header fields the capture kernel checks; returns it with the
/// program-header table view. Allocation-free; shared by [`Elfcorehdr::parse`] and the update
/// path's validation.
pub(crate) fn read_header<'a>(bytes: &'a [u8]) -> Result<(Elf64Ehdr, Bytes<'a>)> {
    let data = Bytes::new(bytes, 0);
    let h = Elf64Ehdr::read(&data, 0)?;
    let bad = |what, offset, value: u64, expected| Error::BadField {
        what,
        offset,
        value,
        expected,
    };
    if h.e_ident[..4] != ELFMAG {
        return Err(bad(
            "e_ident[EI_MAG]",
            0,
            u64::from(u32::from_le_bytes([
                h.e_ident[0],
                h.e_ident[1],
                h.e_ident[2],
                h.e_ident[3],
            ])),
            "\\x7fELF",
        ));
    }
    if h.e_ident[4] != ELFCLASS64 {
        return Err(bad(
            "e_ident[EI_CLASS]",
            4,
            h.e_ident[4].into(),
            "ELFCLASS64 (2)",
        ));
    }
    if h.e_ident[5] != ELFDATA2LSB {
        return Err(bad(
            "e_ident[EI_DATA]",
            5,
            h.e_ident[5].into(),
            "ELFDATA2LSB (1)",
        ));
    }
    if usize::from(h.e_phentsize) != PHDR64_SIZE {
        return Err(bad("e_phentsize", 54, h.e_phentsize.into(), "56"));
    }
    if h.e_phnum == PN_XNUM {
        return Err(bad(
            "e_phnum",
            56,
            h.e_phnum.into(),
            "< 0xffff (PN_XNUM extended numbering is not used for an elfcorehdr)",
        ));
    }
    let table_len = u64::from(h.e_phnum) * PHDR64_SIZE as u64;
    let table = data.sub("program header table", h.e_phoff, table_len)?;
    Ok((h, table))
}

impl Elfcorehdr {
    /// Parses a raw elfcorehdr (the segment as kexec loads it: `p_offset` is a physical
    /// address). Trailing bytes after the program headers are allowed (the reserved segment is
    /// larger than the header); non-zero ones are reported as a finding.
    ///
    /// Never panics; allocation is bounded by the input length.
    pub fn parse(bytes: &[u8]) -> Result<Elfcorehdr> {
        let (header, table) = read_header(bytes)?;
        let mut findings = Vec::new();
        let h = &header;
        ehdr_findings(h, &mut findings);

        let n = usize::from(h.e_phnum);
        // Bounded: the table was read from `bytes`, so n * 56 <= bytes.len().
        let mut phdrs = Vec::with_capacity(n);
        for i in 0..n {
            phdrs.push(Elf64Phdr::read(&table, (i * PHDR64_SIZE) as u64)?);
        }
        let ph_off = |i: usize| h.e_phoff.saturating_add((i * PHDR64_SIZE) as u64);
        let (note_idx, cpu_notes, vmcoreinfo) = note_segments(h, &phdrs, &mut findings);
        let (kernel_text, ram) = load_segments(h, &phdrs, &mut findings);
        order_findings(h, &phdrs, &note_idx, kernel_text, &ram, &mut findings);
        let page_offset_base = direct_map_base(&ram, ph_off, &mut findings);

        let used_len = usize::try_from(h.e_phoff)
            .unwrap_or(usize::MAX)
            .saturating_add(n * PHDR64_SIZE)
            .max(header_len(0));
        if let Some(pos) = bytes
            .get(used_len..)
            .and_then(|t| t.iter().position(|&b| b != 0))
        {
            let at = used_len + pos;
            findings.push(finding(F::NONZERO_TAIL, at as u64,
                format!("non-zero byte after the program headers at {at:#x} (stale header data? the kernel copies only the page-aligned new header)")));
        }

        Ok(Elfcorehdr {
            header,
            phdrs,
            cpu_notes,
            vmcoreinfo,
            kernel_text,
            ram,
            page_offset_base,
            used_len,
            findings,
        })
    }

    /// `e_phnum`.
    pub fn phnum(&self) -> u16 {
        self.header.e_phnum
    }

    /// RAM ranges described by the header.
    pub fn ram_ranges(&self) -> impl Iterator<Item = PhysRange> + '_ {
        self.ram.iter().map(|r| r.range)
    }

    /// True when nothing about the header is worse than [`Severity::Info`].
    pub fn is_clean(&self) -> bool {
        self.findings.iter().all(|f| f.severity == Severity::Info)
    }
}

/// What the ELF header says that the kernel would not write.
fn ehdr_findings(h: &Elf64Ehdr, findings: &mut Vec<Finding>) {
    if h.e_type != ET_CORE {
        findings.push(finding(
            F::NOT_ET_CORE,
            ehdr64::E_TYPE as u64,
            format!(
                "e_type is {}, not ET_CORE (4); the capture kernel rejects it",
                h.e_type
            ),
        ));
    }
    if h.e_machine != EM_X86_64 {
        findings.push(finding(
            F::NOT_X86_64,
            ehdr64::E_MACHINE as u64,
            format!("e_machine is {}, not EM_X86_64 (62)", h.e_machine),
        ));
    }
    if h.e_ident[6] != EV_CURRENT || h.e_version != u32::from(EV_CURRENT) {
        findings.push(finding(
            F::BAD_VERSION,
            ident::EI_VERSION,
            format!(
                "EI_VERSION {} / e_version {}; the capture kernel wants EV_CURRENT (1)",
                h.e_ident[6], h.e_version
            ),
        ));
    }
    if usize::from(h.e_ehsize) != EHDR64_SIZE {
        findings.push(finding(
            F::BAD_EHSIZE,
            ehdr64::E_EHSIZE as u64,
            format!(
                "e_ehsize is {}, not 64; the capture kernel rejects it",
                h.e_ehsize
            ),
        ));
    }
    if h.e_phnum == 0 {
        findings.push(finding(
            F::NO_PHDRS,
            ehdr64::E_PHNUM as u64,
            "e_phnum is 0; the capture kernel rejects it".into(),
        ));
    }
    if h.e_phoff != EHDR64_SIZE as u64 {
        findings.push(finding(
            F::UNUSUAL_PHOFF,
            ehdr64::E_PHOFF as u64,
            format!("e_phoff is {:#x}; the kernel writes 64", h.e_phoff),
        ));
    }
    if h.e_shoff != 0 || h.e_shnum != 0 || h.e_flags != 0 || h.e_entry != 0 {
        findings.push(finding(F::UNUSUAL_EHDR_FIELDS, ehdr64::E_ENTRY as u64,
            format!("e_entry {:#x}, e_shoff {:#x}, e_flags {:#x}, e_shnum {}: the kernel leaves these 0",
                h.e_entry, h.e_shoff, h.e_flags, h.e_shnum)));
    }
    if h.e_ident[7..].iter().any(|&b| b != 0) {
        findings.push(finding(
            F::NONZERO_IDENT_PAD,
            7,
            "EI_OSABI/EI_ABIVERSION/EI_PAD are not zero".into(),
        ));
    }
}

/// The PT_NOTEs: every one but the last is a CPU's, the last is VMCOREINFO (as the kernel
/// writes them). Returns their indexes, the CPU notes and VMCOREINFO.
fn note_segments(
    h: &Elf64Ehdr,
    phdrs: &[Elf64Phdr],
    findings: &mut Vec<Finding>,
) -> (Vec<usize>, Vec<NoteSegment>, Option<NoteSegment>) {
    let n = phdrs.len();
    let ph_off = |i: usize| h.e_phoff.saturating_add((i * PHDR64_SIZE) as u64);
    let note_idx: Vec<usize> = (0..n).filter(|&i| phdrs[i].p_type == PT_NOTE).collect();
    let mut cpu_notes = Vec::new();
    let mut vmcoreinfo = None;
    for (k, &i) in note_idx.iter().enumerate() {
        let p = &phdrs[i];
        let seg = NoteSegment {
            phdr_index: i,
            addr: PhysAddr(p.p_paddr),
            size: p.p_memsz,
        };
        if k + 1 == note_idx.len() {
            vmcoreinfo = Some(seg);
        } else {
            cpu_notes.push(seg);
        }
    }
    if note_idx.is_empty() {
        findings.push(finding(
            F::NO_NOTES,
            h.e_phoff,
            "no PT_NOTE: neither CPU notes nor VMCOREINFO".into(),
        ));
    } else if note_idx.len() == 1 {
        findings.push(finding(
            F::NO_CPU_NOTES,
            ph_off(note_idx[0]),
            "one PT_NOTE only (taken as VMCOREINFO): no CPU has a note".into(),
        ));
    }
    (note_idx, cpu_notes, vmcoreinfo)
}

/// The PT_LOADs (the kernel text, then RAM), with findings for every program header the
/// kernel would have written otherwise.
fn load_segments(
    h: &Elf64Ehdr,
    phdrs: &[Elf64Phdr],
    findings: &mut Vec<Finding>,
) -> (Option<LoadSegment>, Vec<LoadSegment>) {
    let ph_off = |i: usize| h.e_phoff.saturating_add((i * PHDR64_SIZE) as u64);
    let mut kernel_text = None;
    let mut ram = Vec::new();
    for (i, p) in phdrs.iter().enumerate() {
        let off = ph_off(i);
        match p.p_type {
            PT_NOTE => {
                if p.p_vaddr != 0 || p.p_flags != 0 {
                    findings.push(finding(
                        F::UNUSUAL_NOTE_PHDR,
                        off,
                        format!(
                            "PT_NOTE #{i}: p_vaddr {:#x}, p_flags {:#x}; the kernel writes 0",
                            p.p_vaddr, p.p_flags
                        ),
                    ));
                }
                if p.p_memsz == 0 {
                    findings.push(finding(
                        F::EMPTY_NOTE,
                        off,
                        format!("PT_NOTE #{i} has size 0"),
                    ));
                }
            }
            PT_LOAD => {
                let seg = LoadSegment {
                    phdr_index: i,
                    range: PhysRange::from_start_len(p.p_paddr, p.p_memsz),
                    vaddr: VirtAddr(p.p_vaddr),
                };
                if p.p_vaddr >= START_KERNEL_MAP && kernel_text.is_none() {
                    kernel_text = Some(seg);
                } else {
                    ram.push(seg);
                }
                if p.p_flags != (PF_R | PF_W | PF_X) {
                    findings.push(finding(
                        F::UNUSUAL_LOAD_FLAGS,
                        off,
                        format!(
                            "PT_LOAD #{i}: p_flags {:#x}; the kernel writes RWX (7)",
                            p.p_flags
                        ),
                    ));
                }
                if p.p_memsz == 0 {
                    findings.push(finding(
                        F::EMPTY_LOAD,
                        off,
                        format!("PT_LOAD #{i} has size 0"),
                    ));
                }
                if p.p_paddr.checked_add(p.p_memsz).is_none() {
                    findings.push(finding(
                        F::LOAD_WRAPS,
                        off,
                        format!(
                            "PT_LOAD #{i}: {:#x} + {:#x} wraps around the address space",
                            p.p_paddr, p.p_memsz
                        ),
                    ));
                }
            }
            other => findings.push(finding(
                F::UNEXPECTED_PHDR_TYPE,
                off,
                format!(
                    "phdr #{i} has p_type {other:#x}; an elfcorehdr has only PT_NOTE and PT_LOAD"
                ),
            )),
        }
        if (p.p_type == PT_NOTE || p.p_type == PT_LOAD) && p.p_offset != p.p_paddr {
            findings.push(finding(F::OFFSET_NOT_PADDR, off + phdr64::P_OFFSET as u64,
                format!("phdr #{i}: p_offset {:#x} != p_paddr {:#x}; in a raw elfcorehdr p_offset is the physical address", p.p_offset, p.p_paddr)));
        }
        if p.p_filesz != p.p_memsz {
            findings.push(finding(
                F::FILESZ_NOT_MEMSZ,
                off + phdr64::P_FILESZ as u64,
                format!(
                    "phdr #{i}: p_filesz {:#x} != p_memsz {:#x}",
                    p.p_filesz, p.p_memsz
                ),
            ));
        }
        if p.p_align != 0 {
            findings.push(finding(
                F::NONZERO_ALIGN,
                off + phdr64::P_ALIGN as u64,
                format!("phdr #{i}: p_align {:#x}; the kernel writes 0", p.p_align),
            ));
        }
    }
    (kernel_text, ram)
}

/// Order: notes, then kernel text, then RAM, as both producers write them; RAM sorted and
/// present.
fn order_findings(
    h: &Elf64Ehdr,
    phdrs: &[Elf64Phdr],
    note_idx: &[usize],
    kernel_text: Option<LoadSegment>,
    ram: &[LoadSegment],
    findings: &mut Vec<Finding>,
) {
    let ph_off = |i: usize| h.e_phoff.saturating_add((i * PHDR64_SIZE) as u64);
    // Order: notes, then kernel text, then RAM, as both producers write them.
    if let (Some(&last_note), Some(first_load)) = (
        note_idx.last(),
        phdrs.iter().position(|p| p.p_type == PT_LOAD),
    ) {
        if first_load < last_note {
            findings.push(finding(
                F::LOAD_BEFORE_NOTE,
                ph_off(first_load),
                format!("PT_LOAD #{first_load} comes before PT_NOTE #{last_note}"),
            ));
        }
    }
    if let Some(kt) = kernel_text {
        if ram.first().is_some_and(|r| r.phdr_index < kt.phdr_index) {
            findings.push(finding(
                F::KTEXT_NOT_FIRST_LOAD,
                ph_off(kt.phdr_index),
                "the kernel text PT_LOAD is not the first PT_LOAD".into(),
            ));
        }
    } else if !ram.is_empty() {
        findings.push(finding(
            F::NO_KERNEL_TEXT,
            h.e_phoff,
            "no PT_LOAD maps the kernel text (p_vaddr >= __START_KERNEL_map)".into(),
        ));
    }
    for w in ram.windows(2) {
        if w[1].range.start < w[0].range.end {
            findings.push(finding(
                F::RAM_OVERLAP_OR_UNSORTED,
                ph_off(w[1].phdr_index),
                format!(
                    "RAM PT_LOAD #{} ({}) overlaps or precedes #{} ({})",
                    w[1].phdr_index, w[1].range, w[0].phdr_index, w[0].range
                ),
            ));
        }
    }
    if ram.is_empty() {
        findings.push(finding(
            F::NO_RAM,
            h.e_phoff,
            "no RAM PT_LOAD: the dump would have no memory".into(),
        ));
    }
}

/// `p_vaddr - p_paddr` shared by every RAM PT_LOAD (the direct-map base), if they agree.
fn direct_map_base(
    ram: &[LoadSegment],
    ph_off: impl Fn(usize) -> u64,
    findings: &mut Vec<Finding>,
) -> Option<VirtAddr> {
    let mut page_offset_base = None;
    let mut consistent = true;
    for r in ram {
        let off = r.vaddr.0.wrapping_sub(r.range.start.0);
        match page_offset_base {
            None => page_offset_base = Some(VirtAddr(off)),
            Some(VirtAddr(b)) if b != off => {
                consistent = false;
                findings.push(finding(
                    F::DIRECT_MAP_MISMATCH,
                    ph_off(r.phdr_index) + phdr64::P_VADDR as u64,
                    format!(
                        "RAM PT_LOAD #{}: p_vaddr - p_paddr = {off:#x}, others {b:#x}",
                        r.phdr_index
                    ),
                ));
            }
            _ => {}
        }
    }
    if !consistent {
        page_offset_base = None;
    }
    page_offset_base
}
