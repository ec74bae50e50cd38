//! The history and the dump side by side, per CPU and per memory block: the model `vmcore
//! diff` prints as tables or JSON.

use kdump_types::PhysRange;

use super::HistoryCheck;
use crate::topology::{BlockStatus, merge};

/// A CPU's state in the history at the check's point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CpuHistory {
    /// Present and online.
    Online,
    /// Present, offline.
    Offline,
    /// Removed.
    Removed,
}

impl CpuHistory {
    /// `online`, `offline` or `removed`.
    pub fn as_str(self) -> &'static str {
        match self {
            CpuHistory::Online => "online",
            CpuHistory::Offline => "offline",
            CpuHistory::Removed => "removed",
        }
    }
}

/// One CPU: what the history says and what the dump holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpuRow {
    /// CPU number; `None` for a register note whose CPU is unknown.
    pub cpu: Option<u32>,
    /// `None` when the history does not mention the CPU.
    pub history: Option<CpuHistory>,
    /// The APIC ID the history gives.
    pub apic_id: Option<u32>,
    /// Register note (or elfcorehdr PT_NOTE) index in the dump.
    pub note: Option<usize>,
    /// Whether that note holds registers.
    pub has_context: Option<bool>,
}

/// One memory block the history knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockRow {
    /// Block index (`memoryN`).
    pub block: u64,
    /// Its physical range, when known.
    pub range: Option<PhysRange>,
    /// Its state in the history.
    pub history: BlockStatus,
    /// Bytes of the block the dump holds (`None` when the block's range is unknown).
    pub dumped_bytes: Option<u64>,
}

/// The comparison, row by row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SideBySide {
    /// CPUs by number (history's and dump's), then notes of unknown CPUs.
    pub cpus: Vec<CpuRow>,
    /// Memory blocks by index.
    pub blocks: Vec<BlockRow>,
    /// Dump RAM ranges inside no memory block the history knows.
    pub unknown_ranges: Vec<PhysRange>,
    /// Bytes online in the history.
    pub online_bytes_history: u64,
    /// Bytes of RAM the dump holds.
    pub ram_bytes_dump: u64,
}

impl HistoryCheck {
    /// The history and the dump side by side.
    pub fn side_by_side(&self) -> SideBySide {
        SideBySide {
            cpus: self.cpu_rows(),
            blocks: self.block_rows(),
            unknown_ranges: self.unknown_ranges(),
            online_bytes_history: self.topology.online_bytes(),
            // Overlapping ranges of a hostile dump could overflow a plain sum.
            ram_bytes_dump: self
                .content
                .ram
                .iter()
                .map(|r| r.range.len())
                .fold(0, u64::saturating_add),
        }
    }

    fn cpu_rows(&self) -> Vec<CpuRow> {
        let (t, c) = (&self.topology, &self.content);
        let mut ids: Vec<u32> = t.cpus.keys().copied().collect();
        ids.extend(c.cpus.iter().filter_map(|s| s.cpu));
        ids.sort_unstable();
        ids.dedup();
        let mut rows: Vec<CpuRow> = ids
            .into_iter()
            .map(|cpu| {
                let st = t.cpus.get(&cpu);
                let slot = c.cpus.iter().find(|s| s.cpu == Some(cpu));
                CpuRow {
                    cpu: Some(cpu),
                    history: st.map(|s| {
                        if s.online {
                            CpuHistory::Online
                        } else if s.present {
                            CpuHistory::Offline
                        } else {
                            CpuHistory::Removed
                        }
                    }),
                    apic_id: st.and_then(|s| s.apic_id),
                    note: slot.map(|s| s.note_index),
                    has_context: slot.map(|s| s.has_context),
                }
            })
            .collect();
        rows.extend(c.cpus.iter().filter(|s| s.cpu.is_none()).map(|s| CpuRow {
            cpu: None,
            history: None,
            apic_id: None,
            note: Some(s.note_index),
            has_context: Some(s.has_context),
        }));
        rows
    }

    fn block_rows(&self) -> Vec<BlockRow> {
        let (t, c) = (&self.topology, &self.content);
        t.memory
            .iter()
            .map(|(&index, &status)| {
                let range = t.block_range(index);
                BlockRow {
                    block: index,
                    range,
                    history: status,
                    dumped_bytes: range.map(|r| {
                        merge(c.ram.iter().filter_map(|x| x.range.intersect(&r)))
                            .iter()
                            .map(|x| x.len())
                            .fold(0u64, u64::saturating_add)
                    }),
                }
            })
            .collect()
    }

    fn unknown_ranges(&self) -> Vec<PhysRange> {
        let (t, c) = (&self.topology, &self.content);
        let known = merge(t.memory.keys().filter_map(|&i| t.block_range(i)));
        c.ram
            .iter()
            .filter(|r| t.block_size.is_some() && !known.iter().any(|k| k.overlaps(&r.range)))
            .map(|r| r.range)
            .collect()
    }
}
