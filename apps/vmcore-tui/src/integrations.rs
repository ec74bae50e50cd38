//! The seams where readers other crates are still growing plug into the TUI.
//!
//! Each function here is an **integration point**: the views depend only on these signatures
//! and on the TUI-side types below, so when a reader lands or changes only the body changes.
//!
//! - [`kernel_log`]: `vmcore::klog` (wired in) — decodes the printk ring buffer.
//! - [`translate`]: `vmcore::paging` (wired in) — page-table walk, with the PT_LOAD virtual
//!   addresses as the fallback.
//! - [`load_history`]: the `hotplug` crate's checker (wired in) — the same history check as
//!   `vmcore check`.
//! - [`kernel_model`]: the `kernel-introspect` crate (wired in) — symbols, per-CPU backtraces,
//!   the crash site, tasks and their stacks.

use std::path::{Path, PathBuf};

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

/// Where the CPU of each register note comes from, for the history diff (`--state`,
/// `--elfcorehdr`, as in `vmcore check`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CpuNaming {
    /// A captured procfs/sysfs root (its crash_notes addresses).
    pub state: Option<PathBuf>,
    /// A raw elfcorehdr (its CPU PT_NOTEs).
    pub elfcorehdr: Option<PathBuf>,
}

/// Load one hotplug history for `dump` (see [`load_histories`]).
pub fn load_history(path: &Path, dump: &Dump) -> anyhow::Result<HistoryOverlay> {
    load_histories(&[path.to_path_buf()], &CpuNaming::default(), dump)
}

/// Load hotplug histories for `dump` with the checker `vmcore check` runs
/// ([`hotplug::check::CheckContext`]): import each (any format the crate reads: uevent
/// records, udevadm text, sysfs snapshot, JSON lines, kernel log) and append them in order (a
/// snapshot, then the events after it), replay to the crash, name CPUs with `ids` when given,
/// and run the same history check, so the findings are exactly `vmcore check`'s; then mark the
/// memory blocks hot-added.
pub fn load_histories(
    paths: &[PathBuf],
    ids: &CpuNaming,
    dump: &Dump,
) -> anyhow::Result<HistoryOverlay> {
    use anyhow::Context as _;
    if paths.is_empty() {
        anyhow::bail!("no history given");
    }
    let ctx = hotplug::check::CheckContext::load(&hotplug::check::CheckOptions {
        histories: paths.to_vec(),
        state: ids.state.clone(),
        elfcorehdr: ids.elfcorehdr.clone(),
        ..hotplug::check::CheckOptions::default()
    })?;
    let names: Vec<String> = paths
        .iter()
        .map(|p| {
            p.file_name().map_or_else(
                || p.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            )
        })
        .collect();
    let check = ctx
        .history_check(dump)
        .with_context(|| format!("checking history {} against the dump", names.join(" + ")))?
        .context("no history given")?;
    Ok(HistoryOverlay {
        name: names.join(" + "),
        events: check.history.events.len(),
        hotplugged: hotplugged(&check.history, &check.topology, dump),
        findings: check.findings.into_iter().map(|f| f.finding).collect(),
    })
}

/// The physical ranges the history hot-added, for the memory view's highlight.
fn hotplugged(
    history: &hotplug::History,
    topology: &hotplug::Topology,
    dump: &Dump,
) -> Vec<PhysRange> {
    // The highlight needs each added block's range: from the event when the source gives it,
    // else index × block size. Uevent-only histories lack `block_size_bytes`; then the memory
    // section size from vmcoreinfo stands in, which is the block size on x86_64 machines below
    // 64 GiB (memory_block_size_bytes()); the highlight is visual only, the diff does not use it.
    let block_size = topology.block_size.or_else(|| {
        let bits = dump.vmcoreinfo()?.number("SECTION_SIZE_BITS")?;
        (0..48).contains(&bits).then(|| 1u64 << bits)
    });
    let mut hotplugged: Vec<PhysRange> = Vec::new();
    for e in &history.events {
        if let hotplug::Change::Memory {
            action: hotplug::Action::Add,
            block,
        } = e.change
        {
            let r = block.range.or_else(|| {
                let (i, bs) = (block.index?, block_size?);
                Some(PhysRange::from_start_len(i.checked_mul(bs)?, bs))
            });
            if let Some(r) = r
                && !hotplugged.contains(&r)
            {
                hotplugged.push(r);
            }
        }
    }
    hotplugged
}

/// One task of the tasks view, with its stack.
#[derive(Debug, Clone)]
pub struct TaskEntry {
    /// The task.
    pub task: kernel_introspect::task::Task,
    /// A per-CPU idle task (`swapper/N`, pid 0), listed first as crash's `ps` does.
    pub idle: bool,
    /// Its stack ([`kernel_introspect::Kernel::task_backtrace`]), or why there is none.
    pub trace: Result<kernel_introspect::Backtrace, String>,
}

impl TaskEntry {
    /// The CPU to show: an idle task's is its run queue's (swapper/N), else `task_cpu()`.
    pub fn cpu(&self) -> u32 {
        match (self.idle, self.task.running_on) {
            (true, Some(c)) => c,
            _ => self.task.cpu,
        }
    }
}

/// What the kernel views show, decoded once from the dump alone by `kernel-introspect`.
#[derive(Debug)]
pub struct KernelModel {
    /// Kernel and module symbols (hex view, goto by name).
    pub symbols: kernel_introspect::SymbolTables,
    /// Each register note's CPU number and backtrace, in dump order; or why there are none.
    pub cpus: Option<Vec<kernel_introspect::CpuBacktrace>>,
    /// Why there are no backtraces, when `cpus` is `None`.
    pub cpus_error: Option<String>,
    /// The crash line of `vmcore info`, or why it cannot be told.
    pub crash: Option<Result<kernel_introspect::CrashSummary, String>>,
    /// Idle tasks then every task by pid; or why there are none (no BTF names
    /// CONFIG_DEBUG_INFO_BTF).
    pub tasks: Result<Vec<TaskEntry>, String>,
    /// What the task walk noticed (cyclic lists, unreadable tasks).
    pub task_findings: Vec<String>,
}

/// The kernel's symbols, backtraces, crash site and tasks, for the CPU, tasks, overview and
/// hex views. Runs on the worker thread (the real 6.12 dump's kallsyms + ORC + BTF decode and
/// every task's stack take tens of milliseconds). Never fails: what cannot be read is an
/// `Err` (or `None`) naming why, per part.
pub fn kernel_model(dump: &Dump) -> KernelModel {
    let kernel = match dump.vmcoreinfo().ok_or_else(|| {
        "the dump has no VMCOREINFO note: no kernel symbols, backtraces or tasks".to_string()
    }) {
        Ok(_) => kernel_introspect::Kernel::new(dump).map_err(|e| e.to_string()),
        Err(e) => Err(e),
    };
    let kernel = match kernel {
        Ok(k) => k,
        Err(why) => {
            return KernelModel {
                symbols: kernel_introspect::SymbolTables::default(),
                cpus: None,
                cpus_error: Some(why.clone()),
                crash: None,
                tasks: Err(why),
                task_findings: Vec::new(),
            };
        }
    };
    let (cpus, cpus_error) = match kernel.backtraces() {
        Ok(b) => (Some(b), None),
        Err(e) => (None, Some(e.to_string())),
    };
    let crash = Some(kernel.crash_summary());
    let mut task_findings = Vec::new();
    let tasks = kernel.tasks().map_err(|e| e.to_string()).map(|list| {
        task_findings = list.findings.iter().map(ToString::to_string).collect();
        // One unwinder (module ORC included) for every task.
        let unwinder = kernel.unwinder_with_modules();
        list.idle
            .iter()
            .map(|t| (t, true))
            .chain(list.tasks.iter().map(|t| (t, false)))
            .map(|(t, idle)| TaskEntry {
                task: t.clone(),
                idle,
                trace: match &unwinder {
                    Ok(u) => kernel.task_backtrace_with(u, t).map_err(|e| e.to_string()),
                    Err(e) => Err(e.to_string()),
                },
            })
            .collect()
    });
    KernelModel {
        symbols: kernel.into_symbol_tables(),
        cpus,
        cpus_error,
        crash,
        tasks,
        task_findings,
    }
}
