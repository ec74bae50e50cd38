//! The model of a hotplug history: ordered [`Event`]s, named [`Mark`]s (the steps of a test
//! run), kernel [`Notice`]s about the elfcorehdr, and the starting [`Topology`] when the capture
//! has one.
//!
//! A history is the same whatever it was imported from; importers only differ in what they
//! know (uevents carry sequence numbers but no APIC ids, the kernel log carries APIC ids but no
//! memory block numbers, a sysfs snapshot carries only a starting topology).

use kdump_types::PhysRange;

use crate::topology::Topology;

/// What happened to a CPU or memory block: the uevent action ([`elfcorehdr::uevent::Action`],
/// the one mapping from uevents).
pub use elfcorehdr::uevent::Action;

/// Which memory block an event is about. Uevents name the block index (`memoryN`); our JSON
/// lines may give the range instead; the kernel log names neither (then both are `None` and
/// replay cannot apply the event).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BlockRef {
    /// `N` of `memoryN`.
    pub index: Option<u64>,
    /// The physical range, when the source gives it.
    pub range: Option<PhysRange>,
}

/// What an event changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// A logical CPU.
    Cpu {
        /// What happened.
        action: Action,
        /// Logical CPU number (`cpuN`).
        cpu: u32,
        /// Local APIC id, when the source says (kernel log "Booting Node 0 Processor 3 APIC 0x3").
        apic_id: Option<u32>,
    },
    /// A memory block.
    Memory {
        /// What happened.
        action: Action,
        /// The block.
        block: BlockRef,
    },
}

/// One event of a history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    /// The kernel's uevent `SEQNUM`, when the source has it.
    pub seq: Option<u64>,
    /// Guest uptime in microseconds (uevent recorder, kernel log timestamp), when known.
    pub uptime_us: Option<u64>,
    /// What changed.
    pub change: Change,
    /// 1-based line of the source the event came from.
    pub line: usize,
}

/// A named point in a history: the state after the events before it (a test step).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mark {
    /// The name (`06-cpu3-online`).
    pub name: String,
    /// Number of events that happened before the mark.
    pub events_before: usize,
}

/// What the kernel said about the elfcorehdr update it runs on each hotplug event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeKind {
    /// "crash hp: updated elfcorehdr": an update was written.
    Updated,
    /// "kexec_trylock() failed, elfcorehdr may be inaccurate": the event's update was dropped.
    UpdateLost,
    /// "update elfcorehdr elfsz N > memsz M": the new header did not fit; the old one stays.
    UpdateTooLarge {
        /// Size of the new header.
        elfsz: u64,
        /// Size of the segment.
        memsz: u64,
    },
}

/// A kernel notice with where it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Notice {
    /// What the kernel said.
    pub kind: NoticeKind,
    /// Number of events that happened before the notice.
    pub events_before: usize,
    /// Guest uptime in microseconds.
    pub uptime_us: Option<u64>,
    /// 1-based line of the source.
    pub line: usize,
}

/// Where a history came from (for reports).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceFormat {
    /// Kernel uevent records, one per line (`SEQNUM ACTION DEVPATH SUBSYSTEM uptime`).
    UeventRecords,
    /// The lab's JSON-lines run log (`history.jsonl` with `guest_uevents`).
    LabJsonl,
    /// `udevadm monitor --kernel --property` output.
    Udevadm,
    /// A sysfs snapshot (starting topology only).
    Sysfs,
    /// Our versioned JSON-lines format (`docs/history-format.md`).
    HistoryJsonl,
    /// A kernel log (dmesg, console, or the dump's own printk buffer).
    KernelLog,
    /// Several histories merged.
    Merged,
}

impl SourceFormat {
    /// Short stable name.
    pub fn name(self) -> &'static str {
        match self {
            SourceFormat::UeventRecords => "uevent-records",
            SourceFormat::LabJsonl => "lab-jsonl",
            SourceFormat::Udevadm => "udevadm-monitor",
            SourceFormat::Sysfs => "sysfs-snapshot",
            SourceFormat::HistoryJsonl => "history-jsonl",
            SourceFormat::KernelLog => "kernel-log",
            SourceFormat::Merged => "merged",
        }
    }
}

/// An ordered hotplug history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct History {
    /// The format it was imported from.
    pub format: SourceFormat,
    /// The topology before the first event, when the capture has one.
    pub start: Option<Topology>,
    /// Memory block size in bytes, when known (`block_size_bytes`).
    pub block_size: Option<u64>,
    /// Events, in the order they happened.
    pub events: Vec<Event>,
    /// Named points (steps).
    pub marks: Vec<Mark>,
    /// Kernel notices about elfcorehdr updates.
    pub notices: Vec<Notice>,
    /// Block sizes the merged sources disagreed on (`(first, other)`), for finding HP007.
    pub block_size_conflicts: Vec<(u64, u64)>,
}

impl History {
    /// An empty history of `format`.
    pub fn new(format: SourceFormat) -> Self {
        History {
            format,
            start: None,
            block_size: None,
            events: Vec::new(),
            marks: Vec::new(),
            notices: Vec::new(),
            block_size_conflicts: Vec::new(),
        }
    }

    /// Sets the block size, recording a conflict when a different one is already known.
    pub fn set_block_size(&mut self, size: u64) {
        match self.block_size {
            Some(b) if b != size => self.block_size_conflicts.push((b, size)),
            _ => self.block_size = Some(size),
        }
    }

    /// Appends `later` after `self`: `later`'s start topology is used only when `self` has none
    /// (a snapshot given first is the start of the events given next); marks and notices keep
    /// their positions relative to `later`'s events.
    pub fn append(&mut self, later: History) {
        let shift = self.events.len();
        if self.format != later.format {
            self.format = SourceFormat::Merged;
        }
        if let Some(bs) = later.block_size {
            self.set_block_size(bs);
        }
        self.block_size_conflicts.extend(later.block_size_conflicts);
        if let Some(start) = later.start {
            if self.start.is_none() && self.events.is_empty() {
                self.start = Some(start);
            } else if let Some(bs) = start.block_size {
                self.set_block_size(bs);
            }
        }
        self.events.extend(later.events);
        self.marks.extend(later.marks.into_iter().map(|m| Mark {
            events_before: m.events_before + shift,
            ..m
        }));
        self.notices
            .extend(later.notices.into_iter().map(|n| Notice {
                events_before: n.events_before + shift,
                ..n
            }));
    }

    /// Number of events that happened before `point` (the prefix replay applies).
    pub fn events_until(&self, point: &Until) -> Result<usize, crate::Error> {
        match point {
            Until::Crash => Ok(self.events.len()),
            Until::Start => Ok(0),
            Until::Step(name) => self
                .marks
                .iter()
                .rev()
                .find(|m| &m.name == name)
                .map(|m| m.events_before)
                .ok_or_else(|| {
                    // A step can be marked more than once (its action, then its snapshot).
                    let mut steps: Vec<&str> = Vec::new();
                    for m in &self.marks {
                        if !steps.contains(&m.name.as_str()) {
                            steps.push(&m.name);
                        }
                    }
                    crate::Error::NoSuchPoint(format!(
                        "step {name:?} (steps: {})",
                        steps.join(", ")
                    ))
                }),
            Until::Seq(n) => Ok(self
                .events
                .iter()
                .rposition(|e| e.seq.is_some_and(|s| s <= *n))
                .map_or(0, |i| i + 1)),
            Until::UptimeUs(t) => Ok(self
                .events
                .iter()
                .rposition(|e| e.uptime_us.is_some_and(|u| u <= *t))
                .map_or(0, |i| i + 1)),
            Until::Events(n) => Ok((*n).min(self.events.len())),
        }
    }
}

/// An instant of a history to replay to.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Until {
    /// After every event: the crash (the default).
    #[default]
    Crash,
    /// Before the first event.
    Start,
    /// At the named mark (test step).
    Step(String),
    /// After the last event whose uevent `SEQNUM` is at most this.
    Seq(u64),
    /// After the last event at or before this guest uptime (microseconds).
    UptimeUs(u64),
    /// After the first `n` events.
    Events(usize),
}

impl Until {
    /// Parses `crash`, `start`, `seq:N`, `uptime:SECONDS`, `events:N`, or a step name.
    pub fn parse(s: &str) -> Until {
        let s = s.trim();
        let num = |p: &str| s.strip_prefix(p).and_then(|v| v.trim().parse::<u64>().ok());
        if s == "crash" {
            Until::Crash
        } else if s == "start" {
            Until::Start
        } else if let Some(n) = num("seq:") {
            Until::Seq(n)
        } else if let Some(n) = num("events:") {
            Until::Events(usize::try_from(n).unwrap_or(usize::MAX))
        } else if let Some(t) = s.strip_prefix("uptime:").and_then(parse_seconds_us) {
            Until::UptimeUs(t)
        } else {
            Until::Step(s.to_string())
        }
    }
}

impl std::fmt::Display for Until {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Until::Crash => f.write_str("crash"),
            Until::Start => f.write_str("start"),
            Until::Step(s) => write!(f, "step {s}"),
            Until::Seq(n) => write!(f, "seq:{n}"),
            Until::UptimeUs(t) => write!(f, "uptime:{}.{:06}", t / 1_000_000, t % 1_000_000),
            Until::Events(n) => write!(f, "events:{n}"),
        }
    }
}

/// Decimal seconds to microseconds ([`elfcorehdr::uevent::parse_seconds_us`], the one parser).
pub use elfcorehdr::uevent::parse_seconds_us;

/// Formats microseconds as seconds with 6 decimals.
pub fn format_seconds_us(us: u64) -> String {
    format!("{}.{:06}", us / 1_000_000, us % 1_000_000)
}
