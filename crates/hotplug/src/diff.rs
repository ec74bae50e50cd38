//! Diffing a [`Topology`] against what a dump or elfcorehdr holds: [`diff`] → findings with
//! stable codes ([`CODES`], listed in `docs/findings.md`), each about one CPU, block or range.
//!
//! The rules follow what the kernel does (REFERENCE §8.1), so a dump that is exactly what
//! Linux ≥ 6.6 produces diffs clean:
//! - A raw elfcorehdr (kexec_file_load, ≥ 6.6) has a PT_NOTE for every *possible* CPU: a note
//!   for an offline CPU is expected; an online CPU without one is HP001.
//! - `/proc/vmcore` (and makedumpfile output made from it) has NT_PRSTATUS only for CPUs that
//!   saved context at the crash: the online ones. Notes are attributed to CPUs by
//!   [`crate::identity`]; without it only the count is compared (HP009/HP010).
//! - QEMU `dump-guest-memory` has a note per vCPU whatever the guest did, numbered by
//!   `pr_pid - 1`: notes of offline CPUs are not findings. QEMU RAM blocks that are not whole
//!   memory blocks (VGA RAM, firmware ROM) are device memory, not flagged.
//! - An offline memory block stays "System RAM" in /proc/iomem, so the kernel keeps its
//!   PT_LOAD: HP008 is *info*. Memory that is removed, or was never added, must not be dumped
//!   (HP005); online memory must be (HP004).

use kdump_types::{Finding, PhysRange};
use vmcore::{Dump, RangeKind};

use crate::error::Result;
use crate::identity::CpuIdentity;
use crate::topology::{BlockStatus, Topology, merge};

/// One finding code: code, name, severity, what it means. The same type as every crate's
/// codes, registered the same way (`kdump_types::finding_codes!`).
pub use kdump_types::FindingCode as Code;

kdump_types::finding_codes! {
    CPU_ONLINE_NO_CONTEXT = "HP001", "cpu-online-no-context", Error,
        "a CPU online at the crash has no register context (or, in an elfcorehdr, no PT_NOTE)";
    CONTEXT_FOR_OFFLINE_CPU = "HP002", "context-for-offline-cpu", Warning,
        "a kernel dump holds registers of a CPU the history says was offline or removed";
    REGISTER_NOTE_ZEROED = "HP003", "register-note-zeroed", Error,
        "the register note of an online CPU is empty: it did not save its context";
    ONLINE_MEMORY_NOT_DUMPED = "HP004", "online-memory-not-dumped", Error,
        "an online memory block is covered by no PT_LOAD";
    DUMPED_MEMORY_NOT_PRESENT = "HP005", "dumped-memory-not-present", Error,
        "a PT_LOAD describes memory that was removed or never added";
    CAPACITY_NEAR_EXHAUSTION = "HP006", "elfcorehdr-capacity-near-exhaustion", Warning,
        "the elfcorehdr segment has room for few more program headers";
    BLOCK_SIZE_MISMATCH = "HP007", "block-size-mismatch", Warning,
        "the history and the dump (or two sources) disagree on the memory block size";
    DUMPED_MEMORY_OFFLINE = "HP008", "dumped-memory-offline", Info,
        "an offline block is dumped: the kernel keeps offline blocks as System RAM";
    CPU_COUNT_MISMATCH = "HP009", "cpu-count-mismatch", Error,
        "the number of register notes differs from the number of online CPUs";
    CPU_IDENTITY_UNKNOWN = "HP010", "cpu-identity-unknown", Info,
        "register notes could not be attributed to CPUs (give --state or --elfcorehdr)";
    ELFCOREHDR_UPDATE_LOST = "HP011", "elfcorehdr-update-lost", Error,
        "the kernel dropped an elfcorehdr update (kexec_trylock failed)";
    ELFCOREHDR_UPDATE_TOO_LARGE = "HP012", "elfcorehdr-update-too-large", Error,
        "the kernel's new elfcorehdr did not fit its segment; the old one stayed";
    HISTORY_EVENT_UNRESOLVED = "HP013", "history-event-unresolved", Info,
        "a history event could not be replayed (memory event without a block)";
    HISTORY_LINE_MALFORMED = "HP014", "history-line-malformed", Warning,
        "a history line was not understood and skipped (--lenient)";
    BLOCK_SIZE_UNKNOWN = "HP015", "block-size-unknown", Info,
        "memory blocks are known but their size is not, so memory was not compared";
    HISTORY_INCONCLUSIVE = "HP016", "history-inconclusive", Warning,
        "the history gives no starting topology and nothing it names could be compared with the dump";
}

/// What a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Subject {
    /// A logical CPU.
    Cpu(u32),
    /// A register note the CPU of which is unknown.
    Note(usize),
    /// A memory block (with its range when the block size is known).
    Block {
        /// Index.
        index: u64,
        /// Range.
        range: Option<PhysRange>,
    },
    /// A physical range.
    Range(PhysRange),
    /// The elfcorehdr as a whole.
    Header,
    /// The history (a line of it).
    History {
        /// 1-based line.
        line: usize,
    },
    /// The set of CPUs as a whole.
    Cpus,
    /// The replayed topology as a whole.
    Topology,
}

impl std::fmt::Display for Subject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Subject::Cpu(c) => write!(f, "CPU {c}"),
            Subject::Note(n) => write!(f, "note {n}"),
            Subject::Block {
                index,
                range: Some(r),
            } => write!(f, "memory{index} {r}"),
            Subject::Block { index, range: None } => write!(f, "memory{index}"),
            Subject::Range(r) => write!(f, "{r}"),
            Subject::Header => f.write_str("elfcorehdr"),
            Subject::History { line } => write!(f, "history line {line}"),
            Subject::Cpus => f.write_str("CPUs"),
            Subject::Topology => f.write_str("topology"),
        }
    }
}

/// A finding and what it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HotplugFinding {
    /// Code, severity, offset, one-line explanation.
    pub finding: Finding,
    /// The CPU, block or range.
    pub subject: Subject,
}

pub(crate) fn hf(
    code: Code,
    subject: Subject,
    offset: Option<u64>,
    message: String,
) -> HotplugFinding {
    HotplugFinding {
        finding: Finding::new(code.code, code.name, code.severity, offset, message),
        subject,
    }
}

/// Which producer's rules apply to a dump.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DumpKind {
    /// A kernel dump: /proc/vmcore or makedumpfile output made from it.
    KernelVmcore,
    /// QEMU `dump-guest-memory`.
    Qemu,
    /// A raw elfcorehdr (the header kexec loads).
    Elfcorehdr,
}

impl DumpKind {
    /// Short stable name.
    pub fn name(self) -> &'static str {
        match self {
            DumpKind::KernelVmcore => "kernel",
            DumpKind::Qemu => "qemu",
            DumpKind::Elfcorehdr => "elfcorehdr",
        }
    }
}

/// One CPU slot of a dump: a register note, or an elfcorehdr CPU PT_NOTE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuSlot {
    /// Position among the register notes (or CPU PT_NOTEs).
    pub note_index: usize,
    /// The CPU, when known.
    pub cpu: Option<u32>,
    /// Registers saved (an elfcorehdr PT_NOTE counts as a slot that will receive them).
    pub has_context: bool,
    /// File offset of the note (or program header).
    pub offset: Option<u64>,
}

/// One RAM range of a dump.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RamRange {
    /// The range.
    pub range: PhysRange,
    /// File offset of its program header, for ELF.
    pub offset: Option<u64>,
}

/// How full an elfcorehdr segment is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderUse {
    /// Program headers written (`e_phnum`).
    pub used_phdrs: u64,
    /// Program headers the segment can hold (`(capacity - 64) / 56`).
    pub capacity_phdrs: u64,
}

/// What a dump or header holds, as far as the diff cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DumpContent {
    /// Whose rules apply.
    pub kind: DumpKind,
    /// CPU slots in note order.
    pub cpus: Vec<CpuSlot>,
    /// RAM ranges (kernel-text aliases excluded), ascending.
    pub ram: Vec<RamRange>,
    /// For an elfcorehdr whose segment size is known.
    pub header_use: Option<HeaderUse>,
    /// Ranges the producer leaves out on purpose (x86: low 1 MiB, crash kernel reservation),
    /// when known (from a captured state); empty when unknown.
    pub excluded: Vec<PhysRange>,
}

impl DumpContent {
    /// Sets the ranges the kernel excludes, from a captured state.
    pub fn with_exclusions_of(mut self, state: &elfcorehdr::SystemState) -> Self {
        self.excluded = state.excluded_ranges().collect();
        self
    }
}

impl DumpContent {
    /// From an opened dump. `identity` attributes a kernel dump's notes to CPUs; a raw
    /// elfcorehdr (headers only) is parsed with [`DumpContent::of_elfcorehdr`], its segment
    /// size taken as `capacity` or, when the file is larger than the header, the file length.
    pub fn of_dump(
        dump: &Dump,
        identity: Option<&CpuIdentity>,
        possible: Option<&[u32]>,
        capacity: Option<u64>,
    ) -> Result<DumpContent> {
        if dump.is_headers_only() {
            let h = elfcorehdr::Elfcorehdr::parse(dump.data())?;
            let cap = capacity
                .or_else(|| (dump.file_len() > h.used_len as u64).then_some(dump.file_len()));
            return Ok(DumpContent::of_elfcorehdr(&h, possible, cap));
        }
        let qemu = dump.notes().iter().any(|n| n.name == "QEMU");
        let cpus = dump
            .cpus()
            .iter()
            .map(|c| CpuSlot {
                note_index: c.note_index,
                cpu: if qemu {
                    // QEMU writes notes in vCPU order and pr_pid = index + 1 (0 when zeroed).
                    c.cpu.or(u32::try_from(c.note_index).ok())
                } else {
                    identity.and_then(|i| i.cpu_of_note(c.note_index))
                },
                has_context: c.regs.is_some(),
                offset: Some(c.note_offset),
            })
            .collect();
        let ram = dump
            .memory()
            .ranges()
            .iter()
            .filter(|r| r.kind != RangeKind::KernelText && !r.phys.is_empty())
            .map(|r| RamRange {
                range: r.phys,
                offset: r
                    .phdr_index
                    .and_then(|i| dump.segments().get(i).map(|s| s.header_offset)),
            })
            .collect();
        Ok(DumpContent {
            kind: if qemu {
                DumpKind::Qemu
            } else {
                DumpKind::KernelVmcore
            },
            cpus,
            ram,
            header_use: None,
            excluded: Vec::new(),
        })
    }

    /// From a parsed raw elfcorehdr. PT_NOTE `i` is the `i`-th possible CPU (`possible`, or CPU
    /// `i`); `capacity` is the segment size in bytes when known.
    pub fn of_elfcorehdr(
        h: &elfcorehdr::Elfcorehdr,
        possible: Option<&[u32]>,
        capacity: Option<u64>,
    ) -> DumpContent {
        let phoff = h.header.e_phoff;
        let at = |i: usize| Some(phoff.saturating_add(i as u64 * 56));
        DumpContent {
            kind: DumpKind::Elfcorehdr,
            cpus: h
                .cpu_notes
                .iter()
                .enumerate()
                .map(|(i, n)| CpuSlot {
                    note_index: i,
                    cpu: match possible {
                        Some(p) => p.get(i).copied(),
                        None => u32::try_from(i).ok(),
                    },
                    has_context: true,
                    offset: at(n.phdr_index),
                })
                .collect(),
            ram: h
                .ram
                .iter()
                .map(|l| RamRange {
                    range: l.range,
                    offset: at(l.phdr_index),
                })
                .collect(),
            header_use: capacity.map(|c| HeaderUse {
                used_phdrs: u64::from(h.header.e_phnum),
                capacity_phdrs: c.saturating_sub(64) / 56,
            }),
            excluded: Vec::new(),
        }
    }
}

fn mib(n: u64) -> String {
    if n % (1 << 20) == 0 {
        format!("{} MiB", n >> 20)
    } else {
        format!("{n:#x} bytes")
    }
}

/// Compares `topology` (the history replayed to an instant) with `content`.
pub fn diff(topology: &Topology, content: &DumpContent) -> Vec<HotplugFinding> {
    let mut out = Vec::new();
    diff_cpus(topology, content, &mut out);
    diff_memory(topology, content, &mut out);
    if let Some(u) = content.header_use {
        let free = u.capacity_phdrs.saturating_sub(u.used_phdrs);
        if free == 0 || u.used_phdrs.saturating_mul(10) >= u.capacity_phdrs.saturating_mul(9) {
            out.push(hf(
                CAPACITY_NEAR_EXHAUSTION,
                Subject::Header,
                Some(56),
                format!(
                    "{} of {} program headers used, room for {free} more: the next memory hotplug may not fit and leave the header stale",
                    u.used_phdrs, u.capacity_phdrs
                ),
            ));
        }
    }
    out
}

fn diff_cpus(t: &Topology, c: &DumpContent, out: &mut Vec<HotplugFinding>) {
    let online = t.online_cpus();
    let slot_of = |cpu: u32| c.cpus.iter().find(|s| s.cpu == Some(cpu));
    match c.kind {
        DumpKind::Elfcorehdr => {
            for &cpu in &online {
                if slot_of(cpu).is_none() {
                    out.push(hf(
                        CPU_ONLINE_NO_CONTEXT,
                        Subject::Cpu(cpu),
                        None,
                        format!(
                            "CPU {cpu} is online but the header has no PT_NOTE for it ({} CPU notes): a dump would lack its registers",
                            c.cpus.len()
                        ),
                    ));
                }
            }
        }
        DumpKind::Qemu => {
            for &cpu in &online {
                match slot_of(cpu) {
                    None => out.push(hf(
                        CPU_ONLINE_NO_CONTEXT,
                        Subject::Cpu(cpu),
                        None,
                        format!(
                            "CPU {cpu} is online but the QEMU dump has no note for it ({} vCPU notes)",
                            c.cpus.len()
                        ),
                    )),
                    Some(s) if !s.has_context => out.push(hf(
                        REGISTER_NOTE_ZEROED,
                        Subject::Cpu(cpu),
                        s.offset,
                        format!("CPU {cpu} is online but its register note is empty"),
                    )),
                    Some(_) => {}
                }
            }
        }
        DumpKind::KernelVmcore => {
            let with_context: Vec<&CpuSlot> = c.cpus.iter().filter(|s| s.has_context).collect();
            let identified = with_context.iter().all(|s| s.cpu.is_some());
            if identified {
                for &cpu in &online {
                    match slot_of(cpu) {
                        None => out.push(hf(
                            CPU_ONLINE_NO_CONTEXT,
                            Subject::Cpu(cpu),
                            None,
                            format!(
                                "CPU {cpu} was online but the dump has no register note for it: it was offline at the crash, ignored the crash NMI, or the history is wrong"
                            ),
                        )),
                        Some(s) if !s.has_context => out.push(hf(
                            REGISTER_NOTE_ZEROED,
                            Subject::Cpu(cpu),
                            s.offset,
                            format!("CPU {cpu} was online but its register note is empty"),
                        )),
                        Some(_) => {}
                    }
                }
                for s in &with_context {
                    let Some(cpu) = s.cpu else { continue };
                    if let Some(st) = t.cpus.get(&cpu).filter(|st| !st.online) {
                        out.push(hf(
                            CONTEXT_FOR_OFFLINE_CPU,
                            Subject::Cpu(cpu),
                            s.offset,
                            format!(
                                "register note {} holds CPU {cpu}'s registers, but the history has CPU {cpu} {} at this point",
                                s.note_index,
                                if st.present { "offline" } else { "removed" }
                            ),
                        ));
                    }
                }
            } else if !online.is_empty()
                // A history without a starting snapshot knows only the CPUs its events name;
                // other CPUs may be online too, so only "fewer notes than known-online CPUs"
                // is a mismatch then.
                && (with_context.len() < online.len()
                    || (t.cpus_complete && with_context.len() != online.len()))
            {
                out.push(hf(
                    CPU_COUNT_MISMATCH,
                    Subject::Cpus,
                    None,
                    format!(
                        "{} register notes with context, but {} CPUs online ({}); notes are not attributed to CPUs (give --state or --elfcorehdr)",
                        with_context.len(),
                        online.len(),
                        elfcorehdr::format_cpulist(online.iter().copied())
                    ),
                ));
            } else {
                for s in with_context.iter().filter(|s| s.cpu.is_none()) {
                    out.push(hf(
                        CPU_IDENTITY_UNKNOWN,
                        Subject::Note(s.note_index),
                        s.offset,
                        format!(
                            "register note {} is not attributed to a CPU (pr_pid is the task, not the CPU); give --state or --elfcorehdr",
                            s.note_index
                        ),
                    ));
                }
            }
        }
    }
}

fn covered(ram: &[RamRange], r: &PhysRange) -> u64 {
    merge(ram.iter().filter_map(|x| x.range.intersect(r)))
        .iter()
        .map(|x| x.len())
        .sum()
}

fn diff_memory(t: &Topology, c: &DumpContent, out: &mut Vec<HotplugFinding>) {
    let Some(bs) = t.block_size.filter(|&b| b > 0) else {
        if !t.memory.is_empty() {
            out.push(hf(
                BLOCK_SIZE_UNKNOWN,
                Subject::Header,
                None,
                format!(
                    "{} memory blocks are known but not their size (give a sysfs snapshot or block_size): memory not compared",
                    t.memory.len()
                ),
            ));
        }
        return;
    };
    for (&index, &status) in &t.memory {
        let Some(range) = t.block_range(index) else {
            continue;
        };
        let cov = covered(&c.ram, &range);
        let subject = Subject::Block {
            index,
            range: Some(range),
        };
        let first_offset = c
            .ram
            .iter()
            .find(|x| x.range.overlaps(&range))
            .and_then(|x| x.offset);
        // Boot memory the history never touched may be excluded on purpose (the crash kernel
        // reservation can cover whole blocks): flag it only when the exclusions are known and
        // do not explain it. Hotplugged blocks are never excluded.
        let missing = if t.changed_blocks.contains(&index) {
            cov == 0
        } else {
            !c.excluded.is_empty()
                && cov == 0
                && subtract(range, &merge(c.excluded.iter().copied())).len() == 1
                && subtract(range, &merge(c.excluded.iter().copied()))[0] == range
        };
        match status {
            BlockStatus::Online if missing => out.push(hf(
                ONLINE_MEMORY_NOT_DUMPED,
                subject,
                None,
                format!(
                    "memory{index} ({range}, {}) is online but no PT_LOAD covers it: a dump would lack it",
                    mib(range.len())
                ),
            )),
            BlockStatus::Offline if cov > 0 => out.push(hf(
                DUMPED_MEMORY_OFFLINE,
                subject,
                first_offset,
                format!(
                    "memory{index} ({range}) is offline but dumped ({}): offline blocks stay System RAM, as the kernel intends",
                    mib(cov)
                ),
            )),
            BlockStatus::Removed if cov > 0 => out.push(hf(
                DUMPED_MEMORY_NOT_PRESENT,
                subject,
                first_offset,
                format!(
                    "memory{index} ({range}) was removed but a PT_LOAD still covers {} of it: the header is stale",
                    mib(cov)
                ),
            )),
            _ => {}
        }
    }
    if t.memory_complete {
        let known = merge(t.memory.keys().filter_map(|&i| t.block_range(i)));
        for r in &c.ram {
            for piece in subtract(r.range, &known) {
                let whole_blocks = piece.start.0 % bs == 0 && piece.len() % bs == 0;
                if c.kind == DumpKind::Qemu && !whole_blocks {
                    // VGA RAM, firmware ROM: QEMU RAM blocks that are not guest memory blocks.
                    continue;
                }
                out.push(hf(
                    DUMPED_MEMORY_NOT_PRESENT,
                    Subject::Range(piece),
                    r.offset,
                    format!(
                        "PT_LOAD {} covers {piece} ({}), which is in no memory block present at this point: removed or never added",
                        r.range,
                        mib(piece.len())
                    ),
                ));
            }
        }
    }
    for r in &c.ram {
        for edge in [r.range.start.0, r.range.end.0] {
            let block = edge / bs;
            if edge % bs != 0 && t.added_blocks.contains(&block) {
                out.push(hf(
                    BLOCK_SIZE_MISMATCH,
                    Subject::Range(r.range),
                    r.offset,
                    format!(
                        "PT_LOAD {} has an edge at {edge:#x}, inside hot-added memory{block} of the history's {} blocks: the two disagree on the block size",
                        r.range,
                        mib(bs)
                    ),
                ));
            }
        }
    }
}

/// `r` minus every range of `holes` (sorted, disjoint).
fn subtract(r: PhysRange, holes: &[PhysRange]) -> Vec<PhysRange> {
    let mut out = Vec::new();
    let mut cur = r.start.0;
    for h in holes {
        if h.end.0 <= cur || h.start.0 >= r.end.0 {
            continue;
        }
        if h.start.0 > cur {
            out.push(PhysRange::new(cur, h.start.0));
        }
        cur = cur.max(h.end.0);
    }
    if cur < r.end.0 {
        out.push(PhysRange::new(cur, r.end.0));
    }
    out
}
