//! CPU identity without debug info: which CPU wrote each register note of a kernel dump.
//!
//! `/proc/vmcore` merges the per-CPU PT_NOTEs and drops the empty ones (offline CPUs, CPUs that
//! ignored the crash NMI), so "note 2" is not "CPU 2" (drgn#404, crash#105). But the kernel's
//! `crash_save_cpu()` writes each CPU's note into that CPU's `crash_notes` buffer at crash time,
//! and the dump holds that memory too. So: for every possible CPU, read its buffer out of the
//! dump at the physical address the elfcorehdr (or `/sys/devices/system/cpu/cpuN/crash_notes`)
//! gives, and find the register note whose bytes it starts with. A zeroed buffer means the CPU
//! saved nothing.

use kdump_types::PhysAddr;
use vmcore::{Dump, Note};

/// Where each possible CPU's `crash_notes` buffer is.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NoteLocator {
    /// `(cpu, physical address, buffer size)`, ascending by CPU.
    pub buffers: Vec<(u32, PhysAddr, u64)>,
}

impl NoteLocator {
    /// From a captured state (`cpuN/crash_notes`).
    pub fn from_state(state: &elfcorehdr::SystemState) -> Self {
        NoteLocator {
            buffers: state
                .cpus
                .iter()
                .map(|c| (c.id, c.crash_notes, c.crash_notes_size))
                .collect(),
        }
    }
    /// From a raw elfcorehdr: its CPU PT_NOTEs are in possible-CPU order, so note `i` is the
    /// `i`-th entry of `possible` (CPU `i` when `possible` is `None`, i.e. CPUs 0..n).
    pub fn from_elfcorehdr(h: &elfcorehdr::Elfcorehdr, possible: Option<&[u32]>) -> Self {
        NoteLocator {
            buffers: h
                .cpu_notes
                .iter()
                .enumerate()
                .filter_map(|(i, n)| {
                    let cpu = match possible {
                        Some(p) => *p.get(i)?,
                        None => u32::try_from(i).ok()?,
                    };
                    Some((cpu, n.addr, n.size))
                })
                .collect(),
        }
    }
}

/// What a CPU's `crash_notes` buffer held in the dump.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BufferContent {
    /// The register note with this index (among the dump's register notes).
    Note(usize),
    /// All zero: the CPU saved no context (offline, or no NMI response).
    Empty,
    /// Something that is no register note of the dump.
    Other,
    /// The buffer is not readable in the dump (excluded, not dumped, truncated).
    Unreadable(String),
}

/// The result of matching a dump's register notes to CPUs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CpuIdentity {
    /// For each register note (by index), the CPU whose buffer holds it.
    pub note_cpu: Vec<Option<u32>>,
    /// For each possible CPU, what its buffer held.
    pub buffers: Vec<(u32, BufferContent)>,
}

impl CpuIdentity {
    /// The CPU of register note `index`, when found.
    pub fn cpu_of_note(&self, index: usize) -> Option<u32> {
        self.note_cpu.get(index).copied().flatten()
    }
    /// True when every register note was matched to a CPU.
    pub fn complete(&self) -> bool {
        self.note_cpu.iter().all(Option::is_some)
    }
}

/// The bytes of `note` as the kernel lays it out (header, name padded to 4, descriptor padded
/// to 4): what `crash_save_cpu()` wrote into the buffer.
pub fn note_bytes(note: &Note) -> Vec<u8> {
    let name_len = note.name.len() + 1;
    let mut v = Vec::with_capacity(12 + name_len + 3 + note.desc.len() + 3);
    v.extend_from_slice(&(name_len as u32).to_le_bytes());
    v.extend_from_slice(&(note.desc.len() as u32).to_le_bytes());
    v.extend_from_slice(&note.n_type.to_le_bytes());
    v.extend_from_slice(note.name.as_bytes());
    v.push(0);
    while v.len() % 4 != 0 {
        v.push(0);
    }
    v.extend_from_slice(&note.desc);
    while v.len() % 4 != 0 {
        v.push(0);
    }
    v
}

/// Largest `crash_notes` buffer we read (x86_64 is 368 bytes; arm64 a little more).
const MAX_BUFFER: u64 = 64 << 10;

/// Matches every register note of `dump` to the CPU whose `crash_notes` buffer (read from the
/// dump's memory) holds the same bytes.
pub fn identify(dump: &Dump, locator: &NoteLocator) -> CpuIdentity {
    let reg_notes: Vec<&Note> = dump
        .notes()
        .iter()
        .filter(|n| n.name == "CORE" && n.n_type == kdump_types::elf::NT_PRSTATUS)
        .collect();
    let images: Vec<Vec<u8>> = reg_notes.iter().map(|n| note_bytes(n)).collect();
    let mut id = CpuIdentity {
        note_cpu: vec![None; reg_notes.len()],
        buffers: Vec::with_capacity(locator.buffers.len()),
    };
    for &(cpu, addr, size) in &locator.buffers {
        let size = size.clamp(1, MAX_BUFFER) as usize;
        let mut buf = vec![0u8; size];
        let content = match dump.read_phys(addr, &mut buf) {
            Err(e) => BufferContent::Unreadable(e.to_string()),
            Ok(()) if buf.iter().all(|&b| b == 0) => BufferContent::Empty,
            Ok(()) => {
                // Zeroed register notes (all-zero descriptor) cannot name a CPU: skip them.
                match images.iter().enumerate().position(|(i, img)| {
                    id.note_cpu[i].is_none()
                        && reg_notes[i].desc.iter().any(|&b| b != 0)
                        && buf.starts_with(img)
                }) {
                    Some(i) => {
                        id.note_cpu[i] = Some(cpu);
                        BufferContent::Note(i)
                    }
                    None => BufferContent::Other,
                }
            }
        };
        id.buffers.push((cpu, content));
    }
    id
}
