//! The seams where readers other crates are still growing plug into the TUI.
//!
//! Each function here is an **integration point**: the views depend only on these signatures
//! and on the TUI-side types below, so when a reader lands only the body changes.
//!
//! - [`kernel_log`]: `vmcore::klog` (issue 5) — decodes the printk ring buffer.
//! - [`translate`]: `vmcore::paging` / `Dump::translate` (issue 5) — page-table walk. Until then
//!   virtual addresses go through the dump's own PT_LOAD virtual addresses (direct map and
//!   kernel text), which covers what a /proc/vmcore or QEMU dump maps.
//! - [`load_history`]: the `hotplug` crate — history replay and diff against the dump.

use std::path::Path;

use vmcore::{Dump, Finding, PhysAddr, PhysRange, VirtAddr};

/// One kernel log record as the log view shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// Syslog level 0 (emerg) … 7 (debug), when known.
    pub level: Option<u8>,
    /// Timestamp in nanoseconds since boot, when known.
    pub ts_nsec: Option<u64>,
    /// The text, without the level prefix.
    pub text: String,
}

/// Decode the kernel log of `dump`. Runs on the worker thread; `progress(done, total)` may be
/// called as it goes.
///
/// INTEGRATION POINT (`vmcore::klog`, issue 5): when `Dump::kernel_log()` lands, convert its
/// records into [`LogLine`]s here. Everything else (background decode, level colours, search,
/// the overview's panic line and log tail) already works on the result.
pub fn kernel_log(
    dump: &Dump,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Vec<LogLine>, String> {
    progress(0, 0);
    if dump.vmcoreinfo().is_none() {
        return Err("the dump has no VMCOREINFO note, so the log cannot be located".into());
    }
    Err("kernel log decoding is not available yet (vmcore::klog, issue 5)".into())
}

/// Translate a kernel virtual address to a physical one.
///
/// INTEGRATION POINT (`vmcore::paging`, issue 5): replace the PT_LOAD lookup with
/// `dump.translate(addr)` (page-table walk), keeping the PT_LOAD lookup as the fallback for
/// dumps without page-table information.
pub fn translate(dump: &Dump, addr: VirtAddr) -> Result<PhysAddr, String> {
    dump.virt_to_phys_by_segments(addr).ok_or_else(|| {
        format!("virtual address {addr:#x} is not mapped by any PT_LOAD of the dump")
    })
}

/// What a hotplug history adds to the views.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HistoryOverlay {
    /// File name of the history.
    pub name: String,
    /// Events read.
    pub events: usize,
    /// Physical ranges that were hot-plugged (highlighted in the memory view).
    pub hotplugged: Vec<PhysRange>,
    /// Findings of the history diff (shown after the dump's own findings).
    pub findings: Vec<Finding>,
}

/// Load a hotplug history for `dump`.
///
/// INTEGRATION POINT (`hotplug` crate): import the history, replay it to the dump's crash
/// time, fill `hotplugged` with the memory blocks added by hotplug and `findings` with the diff
/// against the dump. Until the crate lands this only counts the events, so `--history` is
/// accepted and the overview says a history is loaded.
pub fn load_history(path: &Path, _dump: &Dump) -> anyhow::Result<HistoryOverlay> {
    use anyhow::Context as _;
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading history {}", path.display()))?;
    Ok(HistoryOverlay {
        name: path
            .file_name()
            .map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned()),
        events: text.lines().filter(|l| !l.trim().is_empty()).count(),
        hotplugged: Vec::new(),
        findings: Vec::new(),
    })
}

/// The panic (or oops) line of a kernel log, searching from the end.
pub fn panic_message(lines: &[LogLine]) -> Option<&str> {
    const MARKERS: [&str; 5] = [
        "Kernel panic - not syncing",
        "BUG:",
        "Oops:",
        "general protection fault",
        "sysrq: Trigger a crash",
    ];
    lines
        .iter()
        .rev()
        .find(|l| MARKERS.iter().any(|m| l.text.contains(m)))
        .map(|l| l.text.as_str())
}
