//! The app's state (the TEA "model"): what is selected, what is open, what runs in the
//! background. Rendering reads it through `&App`; only [`crate::update::update`] changes it.

use std::cell::Cell;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use vmcore::{Dump, Finding, RangeKind};

use crate::integrations::{HistoryOverlay, KernelModel, LogLine, TaskEntry};
use crate::jobs::Job;

/// The views, in tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum View {
    /// Summary of the dump.
    Overview,
    /// CPU contexts.
    Cpus,
    /// Tasks (from the dump's BTF).
    Tasks,
    /// Memory map.
    Memory,
    /// Hex dump of memory.
    Hex,
    /// VMCOREINFO keys.
    Vmcoreinfo,
    /// The kernel log.
    KernelLog,
    /// Findings.
    Findings,
}

impl View {
    /// Every view in tab order; number key `n` selects `ALL[n - 1]`.
    pub const ALL: [View; 8] = [
        View::Overview,
        View::Cpus,
        View::Tasks,
        View::Memory,
        View::Hex,
        View::Vmcoreinfo,
        View::KernelLog,
        View::Findings,
    ];
    /// Tab title.
    pub fn title(self) -> &'static str {
        match self {
            View::Overview => "Overview",
            View::Cpus => "CPUs",
            View::Tasks => "Tasks",
            View::Memory => "Memory",
            View::Hex => "Hex",
            View::Vmcoreinfo => "vmcoreinfo",
            View::KernelLog => "Log",
            View::Findings => "Findings",
        }
    }
    /// Position in [`View::ALL`].
    pub fn index(self) -> usize {
        View::ALL.iter().position(|&v| v == self).unwrap_or(0)
    }
    /// The next view, wrapping.
    pub fn next(self) -> View {
        View::ALL[(self.index() + 1) % View::ALL.len()]
    }
    /// The previous view, wrapping.
    pub fn prev(self) -> View {
        View::ALL[(self.index() + View::ALL.len() - 1) % View::ALL.len()]
    }
}

/// Selection and scroll position of a list that may have thousands of rows.
///
/// The scroll offset lives in a `Cell` because only the renderer knows how many rows fit; it
/// moves the offset just enough to keep the selection visible (as ratatui's `TableState` does)
/// and remembers the page height for PgUp/PgDn. Rendering stays `&App`.
#[derive(Debug, Default)]
pub struct ListCursor {
    /// Selected row.
    pub selected: usize,
    offset: Cell<usize>,
    page: Cell<usize>,
}

impl ListCursor {
    /// Rows one page moves (the last rendered height, at least 1).
    pub fn page(&self) -> usize {
        self.page.get().max(1)
    }
    /// Move up `n` rows.
    pub fn up(&mut self, n: usize) {
        self.selected = self.selected.saturating_sub(n);
    }
    /// Move down `n` rows in a list of `len`.
    pub fn down(&mut self, n: usize, len: usize) {
        self.selected = self.selected.saturating_add(n).min(len.saturating_sub(1));
    }
    /// Select row `i`, clamped to `len`.
    pub fn select(&mut self, i: usize, len: usize) {
        self.selected = i.min(len.saturating_sub(1));
    }
    /// The rows to draw in `height` rows of a list of `len`, scrolling so the selection is
    /// visible. Only these rows are ever formatted, which is what keeps 8192-row lists cheap.
    pub fn visible(&self, len: usize, height: usize) -> Range<usize> {
        self.page.set(height);
        if len == 0 || height == 0 {
            self.offset.set(0);
            return 0..0;
        }
        let sel = self.selected.min(len - 1);
        let mut off = self.offset.get().min(len.saturating_sub(1));
        if sel < off {
            off = sel;
        } else if sel >= off + height {
            off = sel + 1 - height;
        }
        // After a resize to a taller area, do not leave empty rows below the last entry.
        off = off.min(len.saturating_sub(height));
        self.offset.set(off);
        off..(off + height).min(len)
    }
}

/// What a text prompt is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromptKind {
    /// Hex view: go to an address.
    Goto,
    /// Hex view: search memory.
    HexSearch,
    /// Kernel log: search text.
    LogSearch,
    /// vmcoreinfo: filter.
    Filter,
}

impl PromptKind {
    /// The prompt label.
    pub fn label(self) -> &'static str {
        match self {
            PromptKind::Goto => "goto (hex; v0x…: virtual, p0x…: physical; or a symbol)",
            PromptKind::HexSearch => "search (text, or x: hex bytes)",
            PromptKind::LogSearch => "search log",
            PromptKind::Filter => "filter",
        }
    }
}

/// A prompt being typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    /// What it is for.
    pub kind: PromptKind,
    /// Text so far.
    pub text: String,
}

/// Which address space the hex view shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddrSpace {
    /// Physical addresses.
    Phys,
    /// Kernel virtual addresses.
    Virt,
}

/// The hex view.
#[derive(Debug)]
pub struct HexState {
    /// Address space of `top`.
    pub space: AddrSpace,
    /// Address of the first row (a multiple of the row width).
    pub top: u64,
    /// A match or goto target to highlight: (address, length).
    pub highlight: Option<(u64, usize)>,
    /// The last search needle, for `n`.
    pub needle: Option<Vec<u8>>,
    rows: Cell<usize>,
    row_bytes: Cell<usize>,
}

impl HexState {
    /// Bytes per row at the last render (16, or 8 on narrow terminals).
    pub fn row_bytes(&self) -> usize {
        self.row_bytes.get().max(1)
    }
    /// Rows at the last render.
    pub fn rows(&self) -> usize {
        self.rows.get().max(1)
    }
    /// Record the geometry of a render (called by the hex renderer).
    pub fn set_geometry(&self, rows: usize, row_bytes: usize) {
        self.rows.set(rows);
        self.row_bytes.set(row_bytes);
    }
}

/// The kernel log, decoded in the background.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogState {
    /// Decoding: `done` of `total` units (0 total: unknown).
    Loading {
        /// Units done.
        done: u64,
        /// Units in all.
        total: u64,
    },
    /// The dump has no usable log, or the reader is not available; the reason.
    Unavailable(String),
    /// Decoded lines, oldest first.
    Ready(Vec<LogLine>),
}

/// The order of the tasks view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TaskSort {
    /// Idle tasks first, then by pid (as `vmcore ps` and crash's `ps`).
    #[default]
    Pid,
    /// By state letter (R before S…), then pid.
    State,
    /// By CPU, then pid.
    Cpu,
}

impl TaskSort {
    /// How the view's title names it.
    pub fn name(self) -> &'static str {
        match self {
            TaskSort::Pid => "pid",
            TaskSort::State => "state",
            TaskSort::Cpu => "CPU",
        }
    }
}

/// A background job in progress.
#[derive(Debug, Clone)]
pub struct JobStatus {
    /// Job id (results of superseded jobs are ignored).
    pub id: u64,
    /// What it does.
    pub label: String,
    /// Units done.
    pub done: u64,
    /// Units in all (0 when unknown).
    pub total: u64,
    /// Set to stop it.
    pub cancel: Arc<AtomicBool>,
}

/// Severity of the status-line message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusKind {
    /// Information.
    Info,
    /// Something failed.
    Error,
}

/// Open the dump named on the command line, as `vmcore` does: `-` (standard input) and pipes
/// are read as a stream (only the flattened format can be), a directory is refused by name,
/// anything else is mapped. Errors name the path and keep the OS error.
pub fn open_dump(path: &Path) -> anyhow::Result<Dump> {
    use anyhow::Context as _;
    use std::io::IsTerminal as _;
    let context = || format!("cannot open {}", path.display());
    if path.as_os_str() == "-" {
        let stdin = std::io::stdin();
        if stdin.is_terminal() {
            anyhow::bail!(
                "cannot open - (standard input): it is a terminal; pipe a flattened dump into it"
            );
        }
        return Dump::from_stream(stdin.lock(), "-").context("cannot open - (standard input)");
    }
    Dump::open_input(path).with_context(context)
}

/// The whole app.
#[derive(Debug)]
pub struct App {
    /// The dump (shared with the worker thread).
    pub dump: Arc<Dump>,
    /// File name shown in the title (never the full path, so snapshots do not depend on where
    /// the sample was decompressed).
    pub name: String,
    /// Current view.
    pub view: View,
    /// False once the user quit.
    pub running: bool,
    /// Help overlay shown.
    pub help: bool,
    /// Scroll of the help overlay.
    pub help_scroll: u16,
    /// CPU whose detail popup is open (index into `dump.cpus()`).
    pub cpu_detail: Option<usize>,
    /// Scroll of the CPU detail popup.
    pub detail_scroll: u16,
    /// CPU table.
    pub cpus: ListCursor,
    /// Memory-map table.
    pub ranges: ListCursor,
    /// Indexes of RAM ranges (kernel-text aliases left out), in physical order, for the
    /// address-space picture and for searching.
    pub ram: Vec<usize>,
    /// Hex view.
    pub hex: HexState,
    /// vmcoreinfo list (over `vmcoreinfo_rows`).
    pub vmcoreinfo: ListCursor,
    /// vmcoreinfo filter text.
    pub vmcoreinfo_filter: String,
    /// Indexes of vmcoreinfo entries that pass the filter (computed on change, not per frame).
    pub vmcoreinfo_rows: Vec<usize>,
    /// Kernel log.
    pub log: LogState,
    /// The kernel-log line with the panic message.
    pub log_panic: Option<usize>,
    /// Id of the kernel-log decode job.
    pub log_job: u64,
    /// Kernel-log position.
    pub log_cursor: ListCursor,
    /// Kernel-log search text.
    pub log_query: Option<String>,
    /// Dump findings, then the kernel-log decoder's and the history diff's as they arrive.
    pub findings: Vec<Finding>,
    /// Findings list.
    pub findings_cursor: ListCursor,
    /// The selected finding is open in full (long messages do not fit a table row).
    pub finding_detail: bool,
    /// The loaded hotplug history, if any.
    pub history: Option<HistoryOverlay>,
    /// The prompt being typed.
    pub input: Option<Input>,
    /// Status-line message.
    pub status: Option<(StatusKind, String)>,
    /// The running background job.
    pub job: Option<JobStatus>,
    /// Symbols, backtraces, crash site and tasks; `None` while the background decode runs.
    pub kernel: Option<Arc<KernelModel>>,
    /// Id of the kernel decode job.
    pub kernel_job: u64,
    /// Tasks list (over `task_rows`).
    pub tasks: ListCursor,
    /// Order of the tasks view.
    pub task_sort: TaskSort,
    /// Indexes into the kernel model's tasks, in the chosen order.
    pub task_rows: Vec<usize>,
    /// Task whose stack popup is open (index into the kernel model's tasks).
    pub task_detail: Option<usize>,
    pending: Vec<Job>,
    next_job_id: u64,
}

impl App {
    /// A new app on `dump`, named `name` (a file name) in the title. Queues the kernel-log
    /// decode as a background job.
    pub fn new(dump: Dump, name: impl Into<String>) -> App {
        let dump = Arc::new(dump);
        let ram: Vec<usize> = dump
            .memory()
            .ranges()
            .iter()
            .enumerate()
            .filter(|(_, r)| r.kind != RangeKind::KernelText && !r.phys.is_empty())
            .map(|(i, _)| i)
            .collect();
        let first_ram = ram
            .first()
            .and_then(|&i| dump.memory().ranges().get(i))
            .map_or(0, |r| r.phys.start.0);
        let vmcoreinfo_rows = (0..dump.vmcoreinfo().map_or(0, |v| v.entries().len())).collect();
        // The structure check of `vmcore check`: the readers' findings, plus the excluded pages
        // of a kdump-compressed dump.
        let findings = hotplug::scan::structural(&dump);
        let mut app = App {
            dump,
            name: name.into(),
            view: View::Overview,
            running: true,
            help: false,
            help_scroll: 0,
            cpu_detail: None,
            detail_scroll: 0,
            cpus: ListCursor::default(),
            ranges: ListCursor::default(),
            ram,
            hex: HexState {
                space: AddrSpace::Phys,
                top: first_ram & !0xf,
                highlight: None,
                needle: None,
                rows: Cell::new(16),
                row_bytes: Cell::new(16),
            },
            vmcoreinfo: ListCursor::default(),
            vmcoreinfo_filter: String::new(),
            vmcoreinfo_rows,
            log: LogState::Loading { done: 0, total: 0 },
            log_job: 0,
            log_panic: None,
            log_cursor: ListCursor::default(),
            log_query: None,
            findings,
            findings_cursor: ListCursor::default(),
            finding_detail: false,
            history: None,
            input: None,
            status: None,
            job: None,
            kernel: None,
            kernel_job: 0,
            tasks: ListCursor::default(),
            task_sort: TaskSort::default(),
            task_rows: Vec::new(),
            task_detail: None,
            pending: Vec::new(),
            next_job_id: 1,
        };
        app.queue_log_decode();
        app.queue_kernel_decode();
        app
    }

    /// Open a dump file; the title shows only its file name.
    pub fn open(path: &Path) -> anyhow::Result<App> {
        let dump = open_dump(path)?;
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        Ok(App::new(dump, name))
    }

    /// Attach a hotplug history: its findings join the dump's and its hot-plugged ranges are
    /// highlighted in the memory view.
    pub fn set_history(&mut self, history: HistoryOverlay) {
        self.findings.extend(history.findings.iter().cloned());
        self.history = Some(history);
    }

    fn queue_log_decode(&mut self) {
        let id = self.fresh_job_id();
        self.log = LogState::Loading { done: 0, total: 0 };
        self.log_job = id;
        self.pending.push(Job::DecodeLog { id });
    }

    fn queue_kernel_decode(&mut self) {
        let id = self.fresh_job_id();
        self.kernel_job = id;
        self.pending.push(Job::DecodeKernel { id });
    }

    /// The tasks of the kernel model (empty while decoding or without BTF).
    pub fn task_list(&self) -> &[TaskEntry] {
        self.kernel
            .as_deref()
            .and_then(|k| k.tasks.as_deref().ok())
            .unwrap_or(&[])
    }

    /// Order `task_rows` by `task_sort`, keeping the selected task selected.
    pub fn sort_tasks(&mut self) {
        let selected = self.task_rows.get(self.tasks.selected).copied();
        let tasks = self.task_list();
        let mut rows: Vec<usize> = (0..tasks.len()).collect();
        // Stable sorts over the pid order the list comes in (idle tasks first).
        match self.task_sort {
            TaskSort::Pid => {}
            TaskSort::State => rows.sort_by_key(|&i| state_rank(tasks[i].task.state)),
            TaskSort::Cpu => rows.sort_by_key(|&i| tasks[i].cpu()),
        }
        self.task_rows = rows;
        if let Some(pos) = selected.and_then(|s| self.task_rows.iter().position(|&i| i == s)) {
            self.tasks.selected = pos;
        }
    }

    /// A new job id; results carrying older ids are stale.
    pub fn fresh_job_id(&mut self) -> u64 {
        let id = self.next_job_id;
        self.next_job_id += 1;
        id
    }

    /// Queue a job for the worker.
    pub fn queue(&mut self, job: Job) {
        self.pending.push(job);
    }

    /// Jobs queued by `update` since the last call, for the event loop to hand to the worker.
    pub fn take_jobs(&mut self) -> Vec<Job> {
        std::mem::take(&mut self.pending)
    }

    /// Cancel the running job, if any.
    pub fn cancel_job(&mut self) {
        if let Some(j) = self.job.take() {
            j.cancel.store(true, Ordering::Relaxed);
        }
    }

    /// Number of rows of the current kernel log (0 until decoded).
    pub fn log_len(&self) -> usize {
        match &self.log {
            LogState::Ready(l) => l.len(),
            _ => 0,
        }
    }

    /// Set an information message.
    pub fn info(&mut self, msg: impl Into<String>) {
        self.status = Some((StatusKind::Info, msg.into()));
    }

    /// Set an error message.
    pub fn error(&mut self, msg: impl Into<String>) {
        self.status = Some((StatusKind::Error, msg.into()));
    }
}

/// Where a state letter sorts: running first, then the blocked states a crash reader looks
/// for (uninterruptible `D` before sleeping `S`), then idle, stopped and dead.
fn state_rank(state: char) -> usize {
    "RDSItTPZX".find(state).unwrap_or(usize::MAX)
}
