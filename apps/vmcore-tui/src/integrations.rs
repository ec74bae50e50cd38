//! The seams where readers other crates are still growing plug into the TUI.
//!
//! Each function here is an **integration point**: the views depend only on these signatures
//! and on the TUI-side types below, so when a reader lands or changes only the body changes.
//!
//! - [`kernel_log`]: `vmcore::klog` (wired in) — decodes the printk ring buffer.
//! - [`translate`]: `vmcore::paging` (wired in) — page-table walk, with the PT_LOAD virtual
//!   addresses as the fallback.
//! - [`load_history`]: the `hotplug` crate (not landed yet) — history replay and diff against
//!   the dump.

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

/// The decoded kernel log as the views use it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DecodedLog {
    /// Screen lines, oldest first (a multi-line record becomes several lines).
    pub lines: Vec<LogLine>,
    /// The line holding the panic (or oops) message, when there is one.
    pub panic: Option<usize>,
    /// What the decoder noticed (corrupt descriptors, unreadable pages).
    pub findings: Vec<Finding>,
}

/// Decode the kernel log of `dump` with `vmcore::klog` ([`Dump::kernel_log`]). Runs on the
/// worker thread; `progress(done, total)` is called at the start and the end (the decoder has
/// no finer progress to report).
pub fn kernel_log(dump: &Dump, progress: &mut dyn FnMut(u64, u64)) -> Result<DecodedLog, String> {
    progress(0, 0);
    let log = dump.kernel_log().map_err(|e| e.to_string())?;
    let panic_id = log.panic_record().map(|r| r.seq);
    let mut out = DecodedLog {
        findings: log.findings.clone(),
        ..DecodedLog::default()
    };
    for r in &log.records {
        if Some(r.seq) == panic_id && out.panic.is_none() {
            out.panic = Some(out.lines.len());
        }
        let text = printable(&r.text_lossy());
        for (i, part) in text.split('\n').enumerate() {
            out.lines.push(LogLine {
                level: r.level,
                // Continuation lines are indented under the text, as dmesg does.
                ts_nsec: (i == 0).then_some(r.ts_nsec),
                text: part.to_string(),
            });
        }
    }
    let n = out.lines.len() as u64;
    progress(n, n);
    Ok(out)
}

/// Control characters (other than newline) as `\xNN`, so a corrupt record cannot move the
/// terminal cursor or change colours.
fn printable(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() && c != '\n' {
            out.push_str(&format!("\\x{:02x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

/// Translate a kernel virtual address to a physical one: through the kernel page tables
/// (`vmcore::paging`), falling back to the dump's own PT_LOAD virtual addresses (direct map
/// and kernel text) when the page tables are unusable (no VMCOREINFO, not x86_64).
pub fn translate(dump: &Dump, addr: VirtAddr) -> Result<PhysAddr, String> {
    match dump.translate(addr) {
        Ok(t) => Ok(t.phys),
        Err(walk) => dump
            .virt_to_phys_by_segments(addr)
            .ok_or_else(|| walk.to_string()),
    }
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
        name: path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        ),
        events: text.lines().filter(|l| !l.trim().is_empty()).count(),
        hotplugged: Vec::new(),
        findings: Vec::new(),
    })
}
