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

/// The CPU that crashed, named by the kernel log, and what the note order then implies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrashingCpu {
    /// The CPU number the log names (`CPU: N … PID: P` of the oops or panic).
    pub cpu: u32,
    /// The register note whose `pr_pid` is that task's.
    pub note_index: usize,
    /// The log line it was read from.
    pub line: String,
    /// Notes whose CPU follows from the note order: notes are in ascending CPU order (the
    /// elfcorehdr lists possible CPUs in order and /proc/vmcore keeps that order), so when the
    /// crashing CPU `N` is note `N`, notes `0..N` are CPUs `0..N`.
    pub by_order: Vec<(usize, u32)>,
}

/// `CPU: 2 UID: 0 PID: 874 Comm: …` (6.x) or `CPU: 2 PID: 874 Comm: …` (older): the CPU and
/// the task's pid.
fn parse_cpu_line(text: &str) -> Option<(u32, u32)> {
    let rest = text.trim_start().strip_prefix("CPU: ")?;
    let mut words = rest.split_whitespace();
    let cpu = words.next()?.parse().ok()?;
    let mut pid = None;
    while let Some(w) = words.next() {
        if w == "PID:" {
            pid = words.next()?.parse().ok();
            break;
        }
    }
    Some((cpu, pid?))
}

/// The crashing CPU of a kernel dump from its own kernel log: the `CPU: N … PID: P` line of
/// the panic's stack dump (or of the oops before it) names CPU N, and the one register note with context whose `pr_pid`
/// is P is its note. `None` when the log has no such line or the pid matches no note or
/// several (idle tasks all have pid 0).
pub fn crashing_cpu_from_log(dump: &Dump, log: &vmcore::KernelLog) -> Option<CrashingCpu> {
    // panic() prints the message, then the stack with its `CPU:` line; an oops prints the
    // `CPU:` line before its panic. So: the first such line after the panic message, else the
    // last one before it.
    let panic_at = log
        .panic_record()
        .and_then(|p| log.records.iter().position(|r| r.seq == p.seq))
        .unwrap_or(log.records.len());
    let parse = |r: &vmcore::LogRecord| {
        let text = r.text_lossy();
        parse_cpu_line(&text).map(|(c, p)| (c, p, text.into_owned()))
    };
    let (cpu, pid, line) = log.records[panic_at..]
        .iter()
        .find_map(parse)
        .or_else(|| log.records[..panic_at].iter().rev().find_map(parse))?;
    let mut hits = dump
        .cpus()
        .iter()
        .filter(|c| c.regs.is_some() && c.pid == pid);
    let note = hits.next()?;
    if hits.next().is_some() {
        return None;
    }
    let k = note.note_index;
    let by_order = if u32::try_from(k).ok() == Some(cpu) {
        (0..k).map(|i| (i, i as u32)).collect()
    } else {
        Vec::new()
    };
    Some(CrashingCpu {
        cpu,
        note_index: k,
        line,
        by_order,
    })
}

#[cfg(test)]
mod log_tests {
    #[test]
    fn cpu_lines_of_old_and_new_kernels() {
        assert_eq!(
            super::parse_cpu_line(
                "CPU: 0 UID: 0 PID: 874 Comm: sh Kdump: loaded Not tainted 6.12.111+deb12-amd64 #1"
            ),
            Some((0, 874))
        );
        assert_eq!(
            super::parse_cpu_line("CPU: 3 PID: 1 Comm: init Not tainted 5.10.0 #1"),
            Some((3, 1))
        );
        assert_eq!(super::parse_cpu_line("CPU: 3 is up"), None);
        assert_eq!(super::parse_cpu_line("smpboot: CPU: 1 PID: 2"), None);
    }
}
