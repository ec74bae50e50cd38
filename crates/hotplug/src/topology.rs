//! [`Topology`]: which CPUs and memory blocks exist and are online at one instant, and
//! [`replay`], which computes it from a [`History`].

use std::collections::{BTreeMap, BTreeSet};

use kdump_types::PhysRange;

use crate::error::Result;
use crate::history::{Action, BlockRef, Change, History, Until};

/// Most CPUs a history may name (start topology and events together): 65,536, eight times
/// the largest `NR_CPUS` Linux builds for (8,192 on x86 with `MAXSMP`). The cap keeps a
/// hostile history (`cpus_present: "0-666663"`) from costing time and memory out of
/// proportion to what it says.
pub const MAX_CPUS: usize = 1 << 16;
/// Most memory blocks a history may name: 1,048,576 (128 TiB of 128 MiB blocks; machines that
/// large use 2 GiB blocks).
pub const MAX_MEMORY_BLOCKS: usize = 1 << 20;

/// One CPU's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CpuStatus {
    /// Present (the device exists).
    pub present: bool,
    /// Online.
    pub online: bool,
    /// Local APIC id, when a source said.
    pub apic_id: Option<u32>,
}

/// One memory block's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockStatus {
    /// Present and online.
    Online,
    /// Present, offline (added but not onlined, or offlined).
    Offline,
    /// Removed (hot-unplugged).
    Removed,
}

impl BlockStatus {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            BlockStatus::Online => "online",
            BlockStatus::Offline => "offline",
            BlockStatus::Removed => "removed",
        }
    }
}

/// An event replay could not apply, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unresolved {
    /// Index of the event in the history.
    pub event_index: usize,
    /// 1-based line of the source.
    pub line: usize,
    /// Why it was not applied.
    pub why: &'static str,
}

/// CPUs and memory blocks at one instant.
///
/// What a history does not say stays unknown: `cpus` and `memory` list only the CPUs and
/// blocks the start snapshot or an event named, and `cpus_complete` / `memory_complete` say
/// whether the lists are complete (a snapshot was the start). The diff only asserts what is
/// known.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Topology {
    /// Known CPUs by logical number.
    pub cpus: BTreeMap<u32, CpuStatus>,
    /// `cpus` lists every possible CPU (a snapshot gave the start).
    pub cpus_complete: bool,
    /// Known memory blocks by index.
    pub memory: BTreeMap<u64, BlockStatus>,
    /// `memory` lists every present block at the start.
    pub memory_complete: bool,
    /// Memory block size in bytes, when known.
    pub block_size: Option<u64>,
    /// Blocks a replayed event hot-added (their PT_LOAD edges must be block-aligned).
    pub added_blocks: BTreeSet<u64>,
    /// Blocks a replayed event changed (boot blocks the history never touched are not in it).
    pub changed_blocks: BTreeSet<u64>,
    /// Number of history events applied.
    pub events_applied: usize,
    /// Events that could not be applied.
    pub unresolved: Vec<Unresolved>,
}

impl Topology {
    /// Logical numbers of online CPUs, ascending.
    pub fn online_cpus(&self) -> Vec<u32> {
        self.cpus
            .iter()
            .filter(|(_, s)| s.online)
            .map(|(&c, _)| c)
            .collect()
    }
    /// Logical numbers of known CPUs that are not online, ascending.
    pub fn offline_cpus(&self) -> Vec<u32> {
        self.cpus
            .iter()
            .filter(|(_, s)| !s.online)
            .map(|(&c, _)| c)
            .collect()
    }
    /// The physical range of block `index`, when the block size is known.
    pub fn block_range(&self, index: u64) -> Option<PhysRange> {
        let bs = self.block_size?;
        let start = index.checked_mul(bs)?;
        Some(PhysRange::from_start_len(start, bs))
    }
    /// Blocks in `status`, ascending.
    pub fn blocks(&self, status: BlockStatus) -> Vec<u64> {
        self.memory
            .iter()
            .filter(|(_, s)| **s == status)
            .map(|(&i, _)| i)
            .collect()
    }
    /// Online memory as merged physical ranges (empty when the block size is unknown).
    pub fn online_ranges(&self) -> Vec<PhysRange> {
        merge(
            self.blocks(BlockStatus::Online)
                .into_iter()
                .filter_map(|i| self.block_range(i)),
        )
    }
    /// Online memory in bytes (0 when the block size is unknown).
    pub fn online_bytes(&self) -> u64 {
        self.online_ranges().iter().map(|r| r.len()).sum()
    }

    fn apply(&mut self, index: usize, line: usize, change: &Change) {
        match *change {
            Change::Cpu {
                action,
                cpu,
                apic_id,
            } => {
                if self.cpus.len() >= MAX_CPUS && !self.cpus.contains_key(&cpu) {
                    self.unresolved.push(Unresolved {
                        event_index: index,
                        line,
                        why: "names a CPU beyond the 65,536 a history may hold (MAX_CPUS)",
                    });
                    return;
                }
                let s = self.cpus.entry(cpu).or_default();
                if apic_id.is_some() {
                    s.apic_id = apic_id;
                }
                match action {
                    Action::Add => s.present = true,
                    Action::Remove => {
                        s.present = false;
                        s.online = false;
                    }
                    Action::Online => {
                        s.present = true;
                        s.online = true;
                    }
                    Action::Offline => {
                        s.present = true;
                        s.online = false;
                    }
                }
            }
            Change::Memory { action, block } => {
                let Some(idx) = self.block_index(&block) else {
                    self.unresolved.push(Unresolved {
                        event_index: index,
                        line,
                        why: "memory event names no block (or a range without the block size)",
                    });
                    return;
                };
                if self.memory.len() >= MAX_MEMORY_BLOCKS && !self.memory.contains_key(&idx) {
                    self.unresolved.push(Unresolved {
                        event_index: index,
                        line,
                        why: "names a memory block beyond the 1,048,576 a history may hold \
                              (MAX_MEMORY_BLOCKS)",
                    });
                    return;
                }
                let status = match action {
                    // A hot-added block comes up offline; auto-onlining sends its own `online`.
                    Action::Add | Action::Offline => BlockStatus::Offline,
                    Action::Remove => BlockStatus::Removed,
                    Action::Online => BlockStatus::Online,
                };
                self.changed_blocks.insert(idx);
                if action == Action::Add {
                    self.added_blocks.insert(idx);
                }
                self.memory.insert(idx, status);
            }
        }
    }

    fn block_index(&self, b: &BlockRef) -> Option<u64> {
        if let Some(i) = b.index {
            return Some(i);
        }
        let r = b.range?;
        let bs = self.block_size.filter(|&bs| bs > 0)?;
        Some(r.start.0 / bs)
    }
}

/// Merges ranges (any order) into sorted, disjoint, non-adjacent ranges.
pub fn merge(ranges: impl IntoIterator<Item = PhysRange>) -> Vec<PhysRange> {
    let mut v: Vec<PhysRange> = ranges.into_iter().filter(|r| !r.is_empty()).collect();
    v.sort();
    let mut out: Vec<PhysRange> = Vec::with_capacity(v.len());
    for r in v {
        match out.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => out.push(r),
        }
    }
    out
}

/// The topology after the events of `history` up to `until` (at the crash: [`Until::Crash`]).
///
/// Errors only when `until` names a step the history does not have.
pub fn replay(history: &History, until: &Until) -> Result<Topology> {
    let n = history.events_until(until)?;
    let mut t = history.start.clone().unwrap_or_default();
    if t.block_size.is_none() {
        t.block_size = history.block_size;
    }
    for (i, e) in history.events.iter().take(n).enumerate() {
        t.apply(i, e.line, &e.change);
    }
    t.events_applied = n;
    Ok(t)
}
