//! ELF notes: the generic walk, and the typed notes a crash dump carries.
//!
//! The walk mirrors the kernel's `update_note_header_size_elf64` (fs/proc/vmcore.c): notes are
//! read until the segment ends or a note header with `n_namesz == 0` (the terminator
//! `crash_save_cpu` writes after each CPU's note); a note that would run past the segment ends the
//! walk with a finding, never a panic.

use kdump_types::elf::{NHDR_SIZE, Nhdr};
use kdump_types::{ByteOrder, Bytes, Finding};

use crate::findings as F;

/// The name of register notes (`NN_PRSTATUS`).
pub const NAME_CORE: &str = "CORE";
/// The name of the vmcoreinfo note.
pub const NAME_VMCOREINFO: &str = "VMCOREINFO";
/// The name of QEMU's CPU-state notes.
pub const NAME_QEMU: &str = "QEMU";

/// One note, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// Owner name without the trailing NUL (`"CORE"`, `"VMCOREINFO"`, `"QEMU"`).
    pub name: String,
    /// `n_type`.
    pub n_type: u32,
    /// Absolute file offset of the note header.
    pub offset: u64,
    /// Absolute file offset of the descriptor.
    pub desc_offset: u64,
    /// The descriptor bytes (`n_descsz` of them).
    pub desc: Vec<u8>,
}

impl Note {
    /// A readable name for the type, as readelf prints it.
    pub fn type_name(&self) -> &'static str {
        match (self.name.as_str(), self.n_type) {
            (NAME_CORE, 1) => "NT_PRSTATUS",
            (NAME_CORE, 2) => "NT_PRFPREG",
            (NAME_CORE, 3) => "NT_PRPSINFO",
            (NAME_CORE, 4) => "NT_TASKSTRUCT",
            (NAME_CORE, 6) => "NT_AUXV",
            ("LINUX", 0x202) => "NT_X86_XSTATE",
            (NAME_VMCOREINFO, 0) => "VMCOREINFO",
            (NAME_QEMU, 0) => "QEMU CPU state",
            _ => "unknown",
        }
    }
}

fn align4(n: u64) -> u64 {
    n.saturating_add(3) & !3
}

/// Walk the notes in `seg` (one PT_NOTE segment or a kdump note blob).
///
/// Returns every complete note; a malformed note ends the walk and becomes a finding.
pub fn parse_notes(seg: Bytes<'_>) -> (Vec<Note>, Vec<Finding>) {
    let mut notes = Vec::new();
    let mut findings = Vec::new();
    let len = seg.len() as u64;
    let mut off = 0u64;
    while off + NHDR_SIZE as u64 <= len {
        let Ok(Nhdr {
            n_namesz: namesz,
            n_descsz: descsz,
            n_type,
        }) = Nhdr::read(&seg, off)
        else {
            break;
        };
        if namesz == 0 {
            // The kernel's terminator; what follows is padding.
            break;
        }
        let name_off = off + NHDR_SIZE as u64;
        let desc_off = name_off + align4(u64::from(namesz));
        let next = desc_off + align4(u64::from(descsz));
        let name = match seg.slice("note name", name_off, u64::from(namesz)) {
            Ok(n) => n,
            Err(_) => {
                findings.push(F::NOTE_OVERRUN.finding(Some(seg.base() + off),
                    format!(
                        "note name ({namesz} bytes) runs past the end of its segment ({} bytes left); later notes dropped",
                        len - off
                    ),
                ));
                break;
            }
        };
        let desc = match seg.slice("note desc", desc_off, u64::from(descsz)) {
            Ok(d) => d,
            Err(_) => {
                findings.push(F::NOTE_OVERRUN.finding(Some(seg.base() + off),
                    format!(
                        "note descriptor ({descsz} bytes) runs past the end of its segment ({} bytes left); later notes dropped",
                        len.saturating_sub(desc_off)
                    ),
                ));
                break;
            }
        };
        let name = name.split(|&b| b == 0).next().unwrap_or(&[]);
        notes.push(Note {
            name: String::from_utf8_lossy(name).into_owned(),
            n_type,
            offset: seg.base() + off,
            desc_offset: seg.base() + desc_off,
            desc: desc.to_vec(),
        });
        off = next;
    }
    if off < len
        && off + NHDR_SIZE as u64 > len
        && seg.as_slice()[off as usize..].iter().any(|&b| b != 0)
    {
        findings.push(F::NOTE_TRAILING_BYTES.finding(
            Some(seg.base() + off),
            format!(
                "{} trailing bytes after the last note are not a note header",
                len - off
            ),
        ));
    }
    (notes, findings)
}

/// `NT_PRPSINFO` (`struct elf_prpsinfo`), the fields people look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prpsinfo {
    /// `pr_state`.
    pub state: u8,
    /// `pr_sname`.
    pub sname: char,
    /// `pr_pid`.
    pub pid: u32,
    /// `pr_fname`, the command name.
    pub fname: String,
    /// `pr_psargs`, the command line.
    pub psargs: String,
}

impl Prpsinfo {
    /// Decode a 64-bit `elf_prpsinfo` (136 bytes: state, sname, zomb, nice, flag u64, uid, gid,
    /// pid, ppid, pgrp, sid (u32 each), `fname[16]`, `psargs[80]`), written in `order`.
    pub fn parse64(desc: &[u8], order: ByteOrder) -> Option<Self> {
        if desc.len() < 136 {
            return None;
        }
        let pid = Bytes::new(desc, 0)
            .with_order(order)
            .read_u32("elf_prpsinfo.pr_pid", 24)
            .ok()?;
        let cstr = |b: &[u8]| {
            let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
            String::from_utf8_lossy(&b[..end]).into_owned()
        };
        Some(Prpsinfo {
            state: desc[0],
            sname: desc[1] as char,
            pid,
            fname: cstr(&desc[40..56]),
            psargs: cstr(&desc[56..136]),
        })
    }
}

#[cfg(test)]
mod tests;
