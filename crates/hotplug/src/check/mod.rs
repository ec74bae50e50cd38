//! The dump checker: the one pipeline `vmcore check`, `vmcore diff` and `vmcore-tui` run.
//!
//! A [`CheckContext`] is loaded once from [`CheckOptions`] (the histories, appended in order; a
//! captured procfs/sysfs root; a raw elfcorehdr; the replay point). Per dump,
//! [`CheckContext::history_check`] replays the history, names the CPU of each register note
//! and diffs ([`HistoryCheck`], whose [`HistoryCheck::side_by_side`] is the table `vmcore
//! diff` prints), and [`CheckContext::check_dump`] runs every check ([`DumpReport`]: structure,
//! history, deep scan). Renderers (text, JSON, JUnit, the TUI's views) live in the apps.
//!
//! ```no_run
//! use hotplug::check::{CheckContext, CheckOptions};
//! # fn main() -> Result<(), hotplug::Error> {
//! let ctx = CheckContext::load(&CheckOptions {
//!     histories: vec!["steps/root-00-boot".into(), "history.jsonl".into()],
//!     state: Some("steps/root-06-cpu3-online".into()),
//!     ..CheckOptions::default()
//! })?;
//! let dump = vmcore::Dump::open("proc-vmcore.elf")?;
//! let report = ctx.check_dump(&dump);
//! for f in report.findings() {
//!     println!("{} {}: {}", f.code, f.name, f.message);
//! }
//! # Ok(())
//! # }
//! ```

mod findings;
mod report;
mod side;

use std::path::{Path, PathBuf};

use kdump_types::Finding;
use vmcore::Dump;

use crate::diff::{DumpContent, HISTORY_LINE_MALFORMED, HotplugFinding, Subject};
use crate::error::{Error, LineProblem, Result};
use crate::history::{History, Until};
use crate::identity::{NoteLocator, identify};
use crate::topology::{Topology, replay};

pub use findings::{history_check, history_findings, inconclusive_reason};
pub use report::{CheckKind, CheckResult, CheckStatus, DumpReport, Skipped, Summary};
pub use side::{BlockRow, CpuHistory, CpuRow, SideBySide};

/// What a check reads besides the dumps (the CLI's `--history`, `--state`, `--elfcorehdr`,
/// `--at`, `--lenient`, `--history-from-log`, `--deep`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckOptions {
    /// History files or sysfs snapshot directories, appended in order.
    pub histories: Vec<PathBuf>,
    /// Also read the hotplug lines of each dump's own kernel log as history (appended).
    pub history_from_log: bool,
    /// The point to replay the history to.
    pub at: Until,
    /// A captured procfs/sysfs root: crash_notes addresses, exclusions, segment size.
    pub state: Option<PathBuf>,
    /// A raw elfcorehdr whose CPU PT_NOTEs locate each CPU's crash_notes.
    pub elfcorehdr: Option<PathBuf>,
    /// Skip malformed history lines (each becomes HP014) instead of failing.
    pub lenient: bool,
    /// Read every page of every dump ([`crate::scan::deep_scan`]).
    pub deep: bool,
}

/// Everything loaded once for a run of checks, shared (read-only) by every dump.
#[derive(Debug, Clone)]
pub struct CheckContext {
    history: Option<History>,
    problems: Vec<LineProblem>,
    until: Until,
    state: Option<elfcorehdr::SystemState>,
    header: Option<elfcorehdr::Elfcorehdr>,
    from_log: bool,
    deep: bool,
}

/// The history check of one dump: what was compared and what was found.
#[derive(Debug, Clone)]
pub struct HistoryCheck {
    /// The history the dump was compared with (its own kernel log's lines included when asked).
    pub history: History,
    /// The history replayed to the check's point.
    pub topology: Topology,
    /// What the dump holds, CPUs named where they could be.
    pub content: DumpContent,
    /// History findings, the diff, HP016 and HP014 (skipped lines), in that order.
    pub findings: Vec<HotplugFinding>,
}

/// Imports one history file for a check, naming the file in the error.
fn import_history(path: &Path, lenient: bool, problems: &mut Vec<LineProblem>) -> Result<History> {
    let imported = crate::import::import_path(path).map_err(|e| match e {
        // Already "cannot read PATH", with the OS error as its source.
        e @ Error::Io { .. } => Error::HistoryUnreadable(Box::new(e)),
        e => Error::HistoryImport {
            path: path.to_path_buf(),
            source: Box::new(e),
        },
    })?;
    if lenient {
        let (h, mut pr) = imported.lenient();
        problems.append(&mut pr);
        Ok(h)
    } else {
        imported.strict().map_err(|e| Error::HistoryMalformed {
            path: path.to_path_buf(),
            source: Box::new(e),
        })
    }
}

fn read_header(path: &Path) -> Result<elfcorehdr::Elfcorehdr> {
    let bytes = std::fs::read(path).map_err(|source| Error::HeaderUnreadable {
        path: path.to_path_buf(),
        source,
    })?;
    elfcorehdr::Elfcorehdr::parse(&bytes).map_err(|source| Error::HeaderInvalid {
        path: path.to_path_buf(),
        source,
    })
}

impl CheckContext {
    /// Reads the histories (in order, appended), the state and the elfcorehdr. Fails on the
    /// first unreadable input, and on a replay point the history does not have.
    pub fn load(options: &CheckOptions) -> Result<CheckContext> {
        let mut history: Option<History> = None;
        let mut problems = Vec::new();
        for path in &options.histories {
            let h = import_history(path, options.lenient, &mut problems)?;
            match &mut history {
                None => history = Some(h),
                Some(all) => all.append(h),
            }
        }
        let state = options
            .state
            .as_ref()
            .map(|dir| {
                elfcorehdr::SystemState::from_root(dir).map_err(|source| Error::State {
                    path: dir.clone(),
                    source,
                })
            })
            .transpose()?;
        let header = options.elfcorehdr.as_deref().map(read_header).transpose()?;
        if let Some(h) = &history {
            // Fail early on a point the history does not have.
            h.events_until(&options.at)?;
        }
        Ok(CheckContext {
            history,
            problems,
            until: options.at.clone(),
            state,
            header,
            from_log: options.history_from_log,
            deep: options.deep,
        })
    }

    /// The point the history is replayed to.
    pub fn until(&self) -> &Until {
        &self.until
    }

    /// True when a history was given (files, or each dump's kernel log).
    pub fn has_history(&self) -> bool {
        self.history.is_some() || self.from_log
    }

    /// The possible CPUs: the state's, else those of a history whose start lists every CPU.
    fn possible(&self) -> Option<Vec<u32>> {
        if let Some(s) = &self.state {
            return Some(s.cpus.iter().map(|c| c.id).collect());
        }
        let start = self.history.as_ref()?.start.as_ref()?;
        start
            .cpus_complete
            .then(|| start.cpus.keys().copied().collect())
    }

    fn locator(&self) -> Option<NoteLocator> {
        if let Some(s) = &self.state {
            return Some(NoteLocator::from_state(s));
        }
        let possible = self.possible();
        self.header
            .as_ref()
            .map(|h| NoteLocator::from_elfcorehdr(h, possible.as_deref()))
    }

    /// The history for `dump` (with its own kernel log when asked) and the skipped lines.
    fn history_for(&self, dump: &Dump) -> Result<Option<(History, Vec<String>)>> {
        let mut h = self.history.clone();
        let mut problems: Vec<String> = self.problems.iter().map(|p| p.to_string()).collect();
        if self.from_log {
            let log = dump.kernel_log().map_err(Error::KernelLog)?;
            let name = dump
                .path()
                .and_then(|p| p.file_name())
                .map_or_else(|| "-".into(), |n| n.to_string_lossy().into_owned());
            let (lh, pr) = crate::import::klog::import_records(&name, &log).lenient();
            problems.extend(pr.iter().map(|p| p.to_string()));
            match &mut h {
                None => h = Some(lh),
                Some(all) => all.append(lh),
            }
        }
        Ok(h.map(|h| (h, problems)))
    }

    /// Replays the history, names the CPU of each register note and diffs one dump; `None`
    /// when no history was given.
    pub fn history_check(&self, dump: &Dump) -> Result<Option<HistoryCheck>> {
        let Some((history, problems)) = self.history_for(dump)? else {
            return Ok(None);
        };
        let topology = replay(&history, &self.until)?;
        let identity = if dump.is_headers_only() {
            None
        } else {
            self.locator().map(|l| identify(dump, &l))
        };
        let capacity = self
            .state
            .as_ref()
            .map(|s| s.segment_capacity(&elfcorehdr::KernelConfig::DEBIAN_6_12) as u64);
        let possible = self.possible();
        let mut content =
            DumpContent::of_dump(dump, identity.as_ref(), possible.as_deref(), capacity)?;
        if let Some(s) = &self.state {
            content = content.with_exclusions_of(s);
        }
        let mut findings = history_check(&history, &topology, &content);
        for p in &problems {
            findings.push(HotplugFinding {
                finding: Finding::new(
                    HISTORY_LINE_MALFORMED.code,
                    HISTORY_LINE_MALFORMED.name,
                    HISTORY_LINE_MALFORMED.severity,
                    None,
                    format!("skipped {p}"),
                ),
                subject: Subject::Cpus,
            });
        }
        Ok(Some(HistoryCheck {
            history,
            topology,
            content,
            findings,
        }))
    }
}
