//! One dump's report: each check (structure, history, deep), what it found, and whether it
//! passed, failed, was skipped or could not compare anything.

use kdump_types::{Finding, Severity};
use vmcore::Dump;

use super::CheckContext;
use crate::Until;
use crate::diff::{HISTORY_INCONCLUSIVE, Subject};
use crate::error::Error;
use crate::scan::{DeepReport, deep_scan, structural};

/// Unreadable runs reported one by one before a summary finding (`DeepReport::findings`).
const DEEP_FINDINGS_LIMIT: usize = 50;

/// Which check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckKind {
    /// What the readers noticed ([`structural`]).
    Structure,
    /// The history check ([`CheckContext::history_check`]).
    History,
    /// Every page read ([`deep_scan`]).
    Deep,
}

impl CheckKind {
    /// `structure`, `history` or `deep`.
    pub fn name(self) -> &'static str {
        match self {
            CheckKind::Structure => "structure",
            CheckKind::History => "history",
            CheckKind::Deep => "deep",
        }
    }
}

/// Why a check did not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skipped {
    /// No history was given.
    NoHistory,
    /// The deep scan was not asked for.
    NoDeep,
    /// A raw elfcorehdr holds no memory to read.
    NoMemory,
}

/// What a check looked at, for its one-line summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Summary {
    /// The history check.
    History {
        /// The replay point.
        at: Until,
        /// Events replayed.
        events_applied: usize,
        /// Events in the history.
        events: usize,
        /// CPUs online at the point.
        online_cpus: Vec<u32>,
        /// Bytes of memory online at the point.
        online_bytes: u64,
    },
    /// The deep scan.
    Deep(DeepReport),
}

/// A check's verdict at a severity threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckStatus {
    /// The check did not run.
    Skipped,
    /// Nothing could be compared (HP016) and nothing else fails it: neither pass nor fail.
    Inconclusive,
    /// A finding at or above the threshold.
    Failed,
    /// Nothing at or above the threshold.
    Passed,
}

impl CheckStatus {
    /// `skipped`, `inconclusive`, `failed` or `passed`.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckStatus::Skipped => "skipped",
            CheckStatus::Inconclusive => "inconclusive",
            CheckStatus::Failed => "failed",
            CheckStatus::Passed => "passed",
        }
    }
}

/// One check of one dump.
#[derive(Debug, Clone)]
pub struct CheckResult {
    /// Which check.
    pub kind: CheckKind,
    /// Its findings, each with what it is about when the check says.
    pub findings: Vec<(Finding, Option<Subject>)>,
    /// Why it did not run, when it did not.
    pub skipped: Option<Skipped>,
    /// What it looked at, when it ran and has something to say.
    pub summary: Option<Summary>,
}

impl CheckResult {
    fn skipped(kind: CheckKind, why: Skipped) -> CheckResult {
        CheckResult {
            kind,
            findings: Vec::new(),
            skipped: Some(why),
            summary: None,
        }
    }

    /// True when a finding is at or above `threshold`.
    pub fn failed(&self, threshold: Severity) -> bool {
        self.findings.iter().any(|(f, _)| f.severity >= threshold)
    }

    /// A check that could not compare anything (HP016) is inconclusive rather than passed,
    /// unless other findings fail it.
    pub fn inconclusive(&self, threshold: Severity) -> bool {
        let is_hp016 = |f: &Finding| f.code == HISTORY_INCONCLUSIVE.code;
        self.findings.iter().any(|(f, _)| is_hp016(f))
            && !self
                .findings
                .iter()
                .any(|(f, _)| !is_hp016(f) && f.severity >= threshold)
    }

    /// The verdict at `threshold`.
    pub fn status(&self, threshold: Severity) -> CheckStatus {
        if self.skipped.is_some() {
            CheckStatus::Skipped
        } else if self.inconclusive(threshold) {
            CheckStatus::Inconclusive
        } else if self.failed(threshold) {
            CheckStatus::Failed
        } else {
            CheckStatus::Passed
        }
    }
}

/// Every check of one dump.
#[derive(Debug)]
pub struct DumpReport {
    /// `kernel`, `qemu` or `elfcorehdr`: who wrote the dump.
    pub kind: &'static str,
    /// The checks that ran or were skipped, in order (structure, history, deep). When the
    /// history check failed to run (`error`), only the structure check is here.
    pub checks: Vec<CheckResult>,
    /// Why the history check could not run (an undecodable kernel log given as history, a
    /// dump the diff cannot read).
    pub error: Option<Error>,
}

impl DumpReport {
    /// Every finding of every check, in order.
    pub fn findings(&self) -> impl Iterator<Item = &Finding> {
        self.checks.iter().flat_map(|c| &c.findings).map(|(f, _)| f)
    }
}

/// `kernel`, `qemu` or `elfcorehdr`.
fn kind_of(dump: &Dump) -> &'static str {
    if dump.is_headers_only() {
        "elfcorehdr"
    } else if dump.notes().iter().any(|n| n.name == "QEMU") {
        "qemu"
    } else {
        "kernel"
    }
}

impl CheckContext {
    /// Runs every check on `dump` (the deep scan when [`super::CheckOptions::deep`]).
    pub fn check_dump(&self, dump: &Dump) -> DumpReport {
        self.check_dump_with_progress(dump, &|_| {})
    }

    /// [`CheckContext::check_dump`], calling `progress(bytes)` as the deep scan reads.
    pub fn check_dump_with_progress(
        &self,
        dump: &Dump,
        progress: &(dyn Fn(u64) + Sync),
    ) -> DumpReport {
        let mut checks = vec![CheckResult {
            kind: CheckKind::Structure,
            findings: structural(dump).into_iter().map(|f| (f, None)).collect(),
            skipped: None,
            summary: None,
        }];
        let history = match self.history_check(dump) {
            Ok(Some(d)) => CheckResult {
                kind: CheckKind::History,
                summary: Some(Summary::History {
                    at: self.until.clone(),
                    events_applied: d.topology.events_applied,
                    events: d.history.events.len(),
                    online_cpus: d.topology.online_cpus(),
                    online_bytes: d.topology.online_bytes(),
                }),
                findings: d
                    .findings
                    .into_iter()
                    .map(|f| (f.finding, Some(f.subject)))
                    .collect(),
                skipped: None,
            },
            Ok(None) => CheckResult::skipped(CheckKind::History, Skipped::NoHistory),
            Err(e) => {
                return DumpReport {
                    kind: kind_of(dump),
                    checks,
                    error: Some(e),
                };
            }
        };
        checks.push(history);
        checks.push(if dump.is_headers_only() {
            CheckResult::skipped(CheckKind::Deep, Skipped::NoMemory)
        } else if self.deep {
            let rep = deep_scan(dump, progress);
            CheckResult {
                kind: CheckKind::Deep,
                findings: rep
                    .findings(DEEP_FINDINGS_LIMIT)
                    .into_iter()
                    .map(|f| (f, None))
                    .collect(),
                skipped: None,
                summary: Some(Summary::Deep(rep)),
            }
        } else {
            CheckResult::skipped(CheckKind::Deep, Skipped::NoDeep)
        });
        DumpReport {
            kind: kind_of(dump),
            checks,
            error: None,
        }
    }
}
