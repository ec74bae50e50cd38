//! Deterministic generator of synthetic crash dumps for tests, fuzz seeds and benchmarks.
//!
//! Fixtures are generated, never hand-edited: a test describes the dump it wants with an
//! [`ElfSpec`] (N CPUs, M PT_LOADs, sparse multi-TiB address spaces, zeroed register notes,
//! QEMU-style notes, truncation) and [`write_elf`] writes it. Large address spaces cost nothing
//! on disk: page data is only written when [`LoadSpec::fill`] asks for it, the rest is a file hole.
//!
//! This crate does not depend on `vmcore`, so it cannot copy a parser bug into the fixtures;
//! ELF64 headers and notes are encoded by the raw ELF layer of `kdump-types` (checked there
//! against gABI byte literals), the ELF32 core and `struct elf_prstatus` are written out here.
#![deny(missing_docs)]

use std::io::{self, Seek, SeekFrom, Write};

pub use kdump_types::ByteOrder;
use kdump_types::elf::{
    EHDR64_SIZE, Elf64Ehdr, Elf64Phdr, PHDR64_SIZE, PN_XNUM, push_note_in, shdr64,
};

pub mod arm64pt;
pub mod btf;
pub mod hostile;
pub mod kallsyms;
pub mod kdump;
pub mod printk;

/// ELF machine numbers.
pub const EM_X86_64: u16 = 62;
/// aarch64.
pub const EM_AARCH64: u16 = 183;
/// i386 (written as an ELF32 core).
pub const EM_386: u16 = 3;

/// How a PT_LOAD's file bytes are filled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fill {
    /// Every byte is [`pattern_byte`] of its physical address: tests can predict any read.
    Pattern,
    /// Nothing is written: a file hole, reading as zeros (cheap for TiB-sized sparse dumps).
    Hole,
}

/// One PT_LOAD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadSpec {
    /// `p_paddr`.
    pub paddr: u64,
    /// `p_vaddr` (0 for none).
    pub vaddr: u64,
    /// `p_memsz`.
    pub memsz: u64,
    /// `p_filesz` (≤ memsz; less means zero fill, as makedumpfile writes excluded pages).
    pub filesz: u64,
    /// File bytes.
    pub fill: Fill,
}

/// One register note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpuSpec {
    /// `pr_pid`.
    pub pid: u32,
    /// Registers in kernel order (`user_regs_struct`: 27 for x86_64 (r15 … gs), 34 for
    /// aarch64 (x0 … x30, sp, pc, pstate), 17 for i386 (written as u32)), or `None` for a
    /// zeroed note.
    pub regs: Option<Vec<u64>>,
}

impl CpuSpec {
    /// A CPU with predictable registers: register `i` = `(n << 32) | i`, rip = `0xffffffff81000000 + n`.
    pub fn numbered(n: u32, pid: u32) -> Self {
        let mut regs = [0u64; 27];
        for (i, r) in regs.iter_mut().enumerate() {
            *r = (u64::from(n) << 32) | i as u64;
        }
        regs[16] = 0xffff_ffff_8100_0000 + u64::from(n);
        CpuSpec {
            pid,
            regs: Some(regs.to_vec()),
        }
    }

    /// Like [`CpuSpec::numbered`] for any machine: register `i` = `(n << 32) | i` (truncated to
    /// 32 bits on i386), with the program counter set to a recognisable value.
    pub fn numbered_for(machine: u16, n: u32, pid: u32) -> Self {
        let (count, pc) = match machine {
            EM_AARCH64 => (34, 32),
            EM_386 => (17, 12),
            _ => return Self::numbered(n, pid),
        };
        let mut regs: Vec<u64> = (0..count)
            .map(|i| (u64::from(n) << 32) | i as u64)
            .collect();
        if machine == EM_386 {
            for r in &mut regs {
                *r &= 0xffff_ffff;
            }
            regs[pc] = 0xc100_0000 + u64::from(n);
        } else {
            regs[pc] = 0xffff_8000_1000_0000 + u64::from(n);
        }
        CpuSpec {
            pid,
            regs: Some(regs),
        }
    }
}

/// A synthetic ELF64 little-endian vmcore.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElfSpec {
    /// `e_machine`.
    pub machine: u16,
    /// Register notes, in order.
    pub cpus: Vec<CpuSpec>,
    /// Also write one `QEMU` CPU-state note per CPU (QEMU dumps; pr_pid is then CPU index + 1).
    pub qemu_notes: bool,
    /// VMCOREINFO text, if any.
    pub vmcoreinfo: Option<String>,
    /// PT_LOADs, in order.
    pub loads: Vec<LoadSpec>,
    /// `e_flags`.
    pub e_flags: u32,
    /// Cut the file to this many bytes after writing it (truncated dumps).
    pub truncate_to: Option<u64>,
    /// Write e_phnum = PN_XNUM and the real count in section header 0 (needs > 0 phdrs).
    pub pn_xnum: bool,
    /// Byte order of every header and note (big-endian: ppc64, s390x).
    pub byte_order: ByteOrder,
    /// Write an ELF32 core whatever the machine (i386 always is one).
    pub elf32: bool,
    /// ELF32 only: `e_phentsize` larger than 32, each program header padded to it (as some
    /// writers did; libkdumpfile reads them at that stride).
    pub elf32_phentsize: Option<u16>,
}

impl Default for ElfSpec {
    fn default() -> Self {
        ElfSpec {
            machine: EM_X86_64,
            cpus: Vec::new(),
            qemu_notes: false,
            vmcoreinfo: None,
            loads: Vec::new(),
            e_flags: 0,
            truncate_to: None,
            pn_xnum: false,
            byte_order: ByteOrder::Little,
            elf32: false,
            elf32_phentsize: None,
        }
    }
}

/// The byte a [`Fill::Pattern`] range holds at physical address `addr`.
pub fn pattern_byte(addr: u64) -> u8 {
    let x = addr.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (x >> 56) as u8 ^ (addr >> 12) as u8
}

/// A typical VMCOREINFO text for a 6.12 x86_64 kernel (keys only what tests need).
pub fn sample_vmcoreinfo() -> String {
    "OSRELEASE=6.12.0-testgen\nPAGESIZE=4096\nSYMBOL(swapper_pg_dir)=ffffffff82a0a000\n\
     SYMBOL(init_top_pgt)=ffffffff82a0a000\nNUMBER(phys_base)=0\nKERNELOFFSET=0\n\
     NUMBER(pgtable_l5_enabled)=0\nCRASHTIME=1700000000\n"
        .to_string()
}

/// Uniform sparse layout: `n` PT_LOADs of `size` bytes spread evenly over `span` bytes of
/// physical address space (for example 8192 ranges over 1 TiB), as file holes.
pub fn sparse_loads(n: u64, size: u64, span: u64) -> Vec<LoadSpec> {
    let stride = (span / n.max(1)).max(size);
    (0..n)
        .map(|i| LoadSpec {
            paddr: i * stride,
            vaddr: 0xffff_8880_0000_0000 + i * stride,
            memsz: size,
            filesz: size,
            fill: Fill::Hole,
        })
        .collect()
}

/// The note segment bytes of `spec` (in its byte order).
pub fn note_bytes(spec: &ElfSpec) -> Vec<u8> {
    let o = spec.byte_order;
    let note = |out: &mut Vec<u8>, name: &str, ty: u32, desc: &[u8]| {
        push_note_in(out, o, name, ty, desc);
    };
    let mut out = Vec::new();
    for c in &spec.cpus {
        // struct elf_prstatus: x86_64 336 bytes (pr_pid at 32, pr_reg at 112, 27 × u64);
        // aarch64 392 bytes (pr_reg at 112, 34 × u64); i386 144 bytes (pr_pid at 24, pr_reg
        // at 72, 17 × u32).
        let (size, pid_at, reg_at, width) = match spec.machine {
            EM_AARCH64 => (392, 32, 112, 8),
            // ppc64: 48 × u64 of elf_gregset_t, then fpvalid.
            21 => (504, 32, 112, 8),
            _ if spec.machine == EM_386 || spec.elf32 => (144, 24, 72, 4),
            _ => (336, 32, 112, 8),
        };
        let mut d = vec![0u8; size];
        if let Some(regs) = &c.regs {
            d[pid_at..pid_at + 4].copy_from_slice(&o.u32_bytes(c.pid));
            for (i, r) in regs.iter().enumerate() {
                let at = reg_at + width * i;
                if at + width > size {
                    break;
                }
                if width == 8 {
                    d[at..at + 8].copy_from_slice(&o.u64_bytes(*r));
                } else {
                    d[at..at + 4].copy_from_slice(&o.u32_bytes(*r as u32));
                }
            }
        }
        note(&mut out, "CORE", 1, &d);
    }
    if spec.qemu_notes {
        for c in &spec.cpus {
            // QEMUCPUState: version 1, size 440, rip at 136, cr[] at 392.
            let mut d = vec![0u8; 440];
            d[0..4].copy_from_slice(&o.u32_bytes(1));
            d[4..8].copy_from_slice(&o.u32_bytes(440));
            if let Some(regs) = &c.regs {
                d[136..144].copy_from_slice(&o.u64_bytes(regs[16]));
                d[392..400].copy_from_slice(&o.u64_bytes(0x8005_0033));
                d[408..416].copy_from_slice(&o.u64_bytes(0x1000));
            }
            note(&mut out, "QEMU", 0, &d);
        }
    }
    if let Some(v) = &spec.vmcoreinfo {
        note(&mut out, "VMCOREINFO", 0, v.as_bytes());
    }
    out
}

/// Write `spec` as an ELF core (ELF32 for i386 or [`ElfSpec::elf32`], ELF64 otherwise).
/// Returns the file length.
pub fn write_elf<W: Write + Seek>(spec: &ElfSpec, w: &mut W) -> io::Result<u64> {
    if spec.machine == EM_386 || spec.elf32 {
        return write_elf32(spec, w);
    }
    let o = spec.byte_order;
    let notes = note_bytes(spec);
    let phnum = spec.loads.len() + 1;
    let shoff = if spec.pn_xnum { EHDR64_SIZE as u64 } else { 0 };
    let phoff = EHDR64_SIZE as u64 + if spec.pn_xnum { shdr64::SIZE as u64 } else { 0 };
    let notes_off = phoff + (PHDR64_SIZE * phnum) as u64;
    let mut data_off = (notes_off + notes.len() as u64).next_multiple_of(4096);

    let mut h = Vec::with_capacity(notes_off as usize);
    let e_phnum = if spec.pn_xnum { PN_XNUM } else { phnum as u16 };
    let ehdr = Elf64Ehdr {
        e_phoff: phoff,
        e_shoff: shoff,
        e_flags: spec.e_flags,
        e_shentsize: if spec.pn_xnum { shdr64::SIZE as u16 } else { 0 },
        e_shnum: u16::from(spec.pn_xnum),
        ..Elf64Ehdr::core_in(spec.machine, e_phnum, o)
    };
    h.extend_from_slice(&ehdr.to_bytes_in(o));
    if spec.pn_xnum {
        let mut sh = [0u8; shdr64::SIZE];
        sh[shdr64::SH_INFO..shdr64::SH_INFO + 4].copy_from_slice(&o.u32_bytes(phnum as u32));
        h.extend_from_slice(&sh);
    }
    let nlen = notes.len() as u64;
    let note_phdr = Elf64Phdr {
        p_type: 4,
        p_offset: notes_off,
        p_filesz: nlen,
        p_memsz: nlen,
        ..Elf64Phdr::default()
    };
    h.extend_from_slice(&note_phdr.to_bytes_in(o));
    let mut placements = Vec::with_capacity(spec.loads.len());
    for l in &spec.loads {
        let filesz = l.filesz.min(l.memsz);
        let load = Elf64Phdr {
            p_type: 1,
            p_flags: 7,
            p_offset: data_off,
            p_vaddr: l.vaddr,
            p_paddr: l.paddr,
            p_filesz: filesz,
            p_memsz: l.memsz,
            p_align: 0,
        };
        h.extend_from_slice(&load.to_bytes_in(o));
        placements.push((data_off, l));
        data_off += filesz;
    }
    h.extend_from_slice(&notes);
    w.seek(SeekFrom::Start(0))?;
    w.write_all(&h)?;
    let mut buf = vec![0u8; 1 << 16];
    for (off, l) in placements {
        if l.fill != Fill::Pattern {
            continue;
        }
        w.seek(SeekFrom::Start(off))?;
        let filesz = l.filesz.min(l.memsz);
        let mut done = 0u64;
        while done < filesz {
            let n = (filesz - done).min(buf.len() as u64) as usize;
            for (i, b) in buf[..n].iter_mut().enumerate() {
                *b = pattern_byte(l.paddr + done + i as u64);
            }
            w.write_all(&buf[..n])?;
            done += n as u64;
        }
    }
    let len = spec.truncate_to.unwrap_or(data_off).min(data_off);
    Ok(len)
}

fn write_elf32<W: Write + Seek>(spec: &ElfSpec, w: &mut W) -> io::Result<u64> {
    let o = spec.byte_order;
    let notes = note_bytes(spec);
    let phnum = spec.loads.len() + 1;
    let phoff = 52u32;
    let phentsize = spec.elf32_phentsize.unwrap_or(32).max(32);
    let notes_off = phoff + u32::from(phentsize) * phnum as u32;
    let mut data_off = (u64::from(notes_off) + notes.len() as u64).next_multiple_of(4096);
    let mut h = Vec::new();
    h.extend_from_slice(b"\x7fELF\x01");
    h.push(o.elf_data());
    h.extend_from_slice(b"\x01\0\0\0\0\0\0\0\0\0");
    h.extend_from_slice(&o.u16_bytes(4));
    h.extend_from_slice(&o.u16_bytes(spec.machine));
    h.extend_from_slice(&o.u32_bytes(1));
    h.extend_from_slice(&o.u32_bytes(0)); // e_entry
    h.extend_from_slice(&o.u32_bytes(phoff));
    h.extend_from_slice(&o.u32_bytes(0)); // e_shoff
    h.extend_from_slice(&o.u32_bytes(spec.e_flags));
    for v in [52u16, phentsize, phnum as u16, 0, 0, 0] {
        h.extend_from_slice(&o.u16_bytes(v));
    }
    // Elf32_Phdr order: type, offset, vaddr, paddr, filesz, memsz, flags, align; then
    // padding up to e_phentsize.
    let ph = |h: &mut Vec<u8>, v: [u32; 8]| {
        for x in v {
            h.extend_from_slice(&o.u32_bytes(x));
        }
        h.resize(h.len() + usize::from(phentsize) - 32, 0);
    };
    let nlen = notes.len() as u32;
    ph(&mut h, [4, notes_off, 0, 0, nlen, nlen, 0, 0]);
    let mut placements = Vec::new();
    for l in &spec.loads {
        let filesz = l.filesz.min(l.memsz);
        ph(
            &mut h,
            [
                1,
                data_off as u32,
                l.vaddr as u32,
                l.paddr as u32,
                filesz as u32,
                l.memsz as u32,
                7,
                0,
            ],
        );
        placements.push((data_off, l));
        data_off += filesz;
    }
    h.extend_from_slice(&notes);
    w.seek(SeekFrom::Start(0))?;
    w.write_all(&h)?;
    for (off, l) in placements {
        if l.fill == Fill::Pattern {
            w.seek(SeekFrom::Start(off))?;
            let bytes: Vec<u8> = (0..l.filesz.min(l.memsz))
                .map(|i| pattern_byte(l.paddr + i))
                .collect();
            w.write_all(&bytes)?;
        }
    }
    Ok(spec.truncate_to.unwrap_or(data_off).min(data_off))
}

/// Write `spec` to a file at `path` (sparse where the spec has holes, cut when truncated).
pub fn write_elf_file(spec: &ElfSpec, path: &std::path::Path) -> io::Result<u64> {
    let mut f = std::fs::File::create(path)?;
    let len = write_elf(spec, &mut f)?;
    f.set_len(len)?;
    Ok(len)
}

/// Write `spec` into memory.
pub fn elf_bytes(spec: &ElfSpec) -> Vec<u8> {
    let mut c = io::Cursor::new(Vec::new());
    // Writing into a Vec cannot fail.
    let len = write_elf(spec, &mut c).unwrap_or(0);
    let mut v = c.into_inner();
    v.resize(len as usize, 0);
    v
}
