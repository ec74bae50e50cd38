//! `vmcore check`: the CI checker of dumps. Per dump: structural validation (everything the
//! readers report), the hotplug-history diff when a history is given, and `--deep` page
//! reads. Dumps are checked in parallel; each gets its own report, in argument order.
//! Output is text, JSON or JUnit (one test case per dump per check); it names files by their
//! file name only and holds no timings, so it is the same wherever and however fast it runs.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use hotplug::{DumpContent, History, HotplugFinding, NoteLocator, Topology, Until};
use rayon::prelude::*;
use serde::Serialize;
use vmcore::{Dump, Finding, Severity};

use crate::Outcome;
use crate::fmt::file_name;

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CheckFormat {
    /// One block per dump, one line per finding.
    Text,
    /// One JSON document (version 1).
    Json,
    /// JUnit XML: a test suite per dump, a test case per check.
    Junit,
}

/// Lowest severity that fails the check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    /// Warnings and errors fail (exit 1).
    Warning,
    /// Only errors fail.
    Error,
}

impl FailOn {
    fn severity(self) -> Severity {
        match self {
            FailOn::Warning => Severity::Warning,
            FailOn::Error => Severity::Error,
        }
    }
}

/// Where the history comes from and how to read dumps against it (shared with `vmcore diff`).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct HistoryArgs {
    /// Hotplug history: uevent records, the lab's JSON lines, `udevadm monitor --kernel
    /// --property` output, our JSON lines, a kernel log, or a sysfs snapshot directory (the
    /// start topology). Repeat to append, e.g. a snapshot, then the events after it.
    #[arg(long = "history", value_name = "FILE|DIR")]
    pub history: Vec<PathBuf>,
    /// Also read the hotplug lines of each dump's own kernel log as history (appended).
    #[arg(long)]
    pub history_from_log: bool,
    /// Replay the history to this point: crash (default), start, a step name, seq:N,
    /// uptime:SECONDS or events:N.
    #[arg(long, value_name = "POINT", default_value = "crash")]
    pub at: String,
    /// A captured procfs/sysfs root: crash_notes addresses (to name the CPU of each register
    /// note), the crash kernel exclusion and the elfcorehdr segment size.
    #[arg(long, value_name = "DIR")]
    pub state: Option<PathBuf>,
    /// A raw elfcorehdr whose CPU PT_NOTEs locate each CPU's crash_notes (to name the CPU of
    /// each register note).
    #[arg(long, value_name = "FILE")]
    pub elfcorehdr: Option<PathBuf>,
    /// Skip malformed history lines (reported as HP014) instead of failing with exit 2.
    #[arg(long)]
    pub lenient: bool,
}

/// Arguments of `vmcore check`.
#[derive(Debug, Clone, clap::Args)]
pub struct CheckArgs {
    /// Dumps to check (ELF, kdump-compressed, flattened, raw elfcorehdr).
    #[arg(required = true, value_name = "DUMP")]
    pub dumps: Vec<PathBuf>,
    #[command(flatten)]
    pub history: HistoryArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
    pub format: CheckFormat,
    /// The same as `--format json` (every other command takes `--json`).
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
    /// Lowest severity that makes the exit code 1.
    #[arg(long, value_enum, default_value_t = FailOn::Warning)]
    pub fail_on: FailOn,
    /// Read every page of every dump and report the unreadable ones.
    #[arg(long)]
    pub deep: bool,
}

/// The loaded context shared by every dump.
pub(crate) struct HistoryContext {
    pub history: Option<History>,
    pub problems: Vec<hotplug::LineProblem>,
    pub until: Until,
    pub state: Option<elfcorehdr::SystemState>,
    pub header: Option<elfcorehdr::Elfcorehdr>,
    pub from_log: bool,
}

impl HistoryContext {
    pub(crate) fn load(a: &HistoryArgs) -> anyhow::Result<HistoryContext> {
        let mut history: Option<History> = None;
        let mut problems = Vec::new();
        for p in &a.history {
            let imported = hotplug::import::import_path(p).map_err(|e| match e {
                // Already "cannot read PATH", with the OS error as its source.
                e @ hotplug::Error::Io { .. } => anyhow::Error::new(e).context("history"),
                e => anyhow::Error::new(e).context(format!("cannot read history {}", p.display())),
            })?;
            let h = if a.lenient {
                let (h, mut pr) = imported.lenient();
                problems.append(&mut pr);
                h
            } else {
                imported
                    .strict()
                    .with_context(|| format!("history {}", p.display()))?
            };
            match &mut history {
                None => history = Some(h),
                Some(all) => all.append(h),
            }
        }
        let state = a
            .state
            .as_ref()
            .map(|d| {
                elfcorehdr::SystemState::from_root(d)
                    .with_context(|| format!("cannot read state {}", d.display()))
            })
            .transpose()?;
        let header = a
            .elfcorehdr
            .as_ref()
            .map(|f| -> anyhow::Result<_> {
                let b = std::fs::read(f).with_context(|| format!("cannot read {}", f.display()))?;
                elfcorehdr::Elfcorehdr::parse(&b).with_context(|| format!("{}", f.display()))
            })
            .transpose()?;
        let until = Until::parse(&a.at);
        if let Some(h) = &history {
            // Fail early on a point the history does not have.
            h.events_until(&until)?;
        }
        Ok(HistoryContext {
            history,
            problems,
            until,
            state,
            header,
            from_log: a.history_from_log,
        })
    }

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

    /// The history for `dump` (with its own kernel log when asked) and its problems.
    fn history_for(&self, dump: &Dump) -> anyhow::Result<Option<(History, Vec<String>)>> {
        let mut h = self.history.clone();
        let mut problems: Vec<String> = self.problems.iter().map(|p| p.to_string()).collect();
        if self.from_log {
            let log = dump
                .kernel_log()
                .context("cannot decode the dump's kernel log")?;
            let name = file_name(dump.path());
            let (lh, pr) = hotplug::import::klog::import_records(&name, &log).lenient();
            problems.extend(pr.iter().map(|p| p.to_string()));
            match &mut h {
                None => h = Some(lh),
                Some(all) => all.append(lh),
            }
        }
        Ok(h.map(|h| (h, problems)))
    }

    /// Replays, identifies CPUs and diffs one dump.
    pub(crate) fn diff_dump(&self, dump: &Dump) -> anyhow::Result<Option<DumpDiff>> {
        let Some((history, problems)) = self.history_for(dump)? else {
            return Ok(None);
        };
        let topology = hotplug::replay(&history, &self.until)?;
        let identity = if dump.is_headers_only() {
            None
        } else {
            self.locator().map(|l| hotplug::identify(dump, &l))
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
        // The same check the TUI runs: history findings, the diff, and HP016 when the
        // history cannot determine the topology.
        let mut findings = hotplug::check(&history, &topology, &content);
        for p in &problems {
            findings.push(HotplugFinding {
                finding: Finding::new(
                    hotplug::diff::HISTORY_LINE_MALFORMED.code,
                    hotplug::diff::HISTORY_LINE_MALFORMED.name,
                    hotplug::diff::HISTORY_LINE_MALFORMED.severity,
                    None,
                    format!("skipped {p}"),
                ),
                subject: hotplug::Subject::Cpus,
            });
        }
        Ok(Some(DumpDiff {
            history,
            topology,
            content,
            findings,
        }))
    }
}

/// The diff of one dump.
pub(crate) struct DumpDiff {
    pub history: History,
    pub topology: Topology,
    pub content: DumpContent,
    pub findings: Vec<HotplugFinding>,
}

/// One check of one dump.
struct CheckResult {
    name: &'static str,
    /// `None` when the check did not run (and why, in `skipped`).
    findings: Vec<(Finding, Option<String>)>,
    skipped: Option<String>,
    summary: Option<String>,
}

struct Report {
    file: String,
    format: Option<&'static str>,
    kind: Option<&'static str>,
    error: Option<String>,
    checks: Vec<CheckResult>,
    /// The crash site, for JSON reports of dumps whose kernel says it.
    crash: Option<crate::json::CrashJson>,
}

fn kind_of(dump: &Dump) -> &'static str {
    if dump.is_headers_only() {
        "elfcorehdr"
    } else if dump.notes().iter().any(|n| n.name == "QEMU") {
        "qemu"
    } else {
        "kernel"
    }
}

fn check_one(
    path: &Path,
    file: String,
    args: &CheckArgs,
    ctx: &HistoryContext,
    progress: &(dyn Fn(u64) + Sync),
) -> Report {
    let dump = match super::open_dump(path) {
        Ok(d) => d,
        Err(e) => {
            return Report {
                file,
                format: None,
                kind: None,
                // The whole chain: the OS error is the useful part ("No such file…").
                error: Some(format!("{e:#}")),
                checks: Vec::new(),
                crash: None,
            };
        }
    };
    let mut checks = vec![CheckResult {
        name: "structure",
        findings: hotplug::scan::structural(&dump)
            .into_iter()
            .map(|f| (f, None))
            .collect(),
        skipped: None,
        summary: None,
    }];
    let history_check = match ctx.diff_dump(&dump) {
        Ok(Some(d)) => CheckResult {
            name: "history",
            summary: Some(format!(
                "at {}: {} of {} events, CPUs online {}, memory online {}",
                ctx.until,
                d.topology.events_applied,
                d.history.events.len(),
                cpulist(&d.topology.online_cpus()),
                crate::fmt::size(d.topology.online_bytes()),
            )),
            findings: d
                .findings
                .into_iter()
                .map(|f| (f.finding, Some(f.subject.to_string())))
                .collect(),
            skipped: None,
        },
        Ok(None) => CheckResult {
            name: "history",
            findings: Vec::new(),
            skipped: Some("no --history given".into()),
            summary: None,
        },
        Err(e) => {
            return Report {
                file,
                format: Some(dump.format().name()),
                kind: Some(kind_of(&dump)),
                error: Some(format!("{e:#}")),
                checks,
                crash: None,
            };
        }
    };
    checks.push(history_check);
    checks.push(if args.deep && !dump.is_headers_only() {
        let rep = hotplug::scan::deep_scan(&dump, progress);
        CheckResult {
            name: "deep",
            summary: Some(format!(
                "{} pages, {} read, {} excluded, {} unreadable runs",
                rep.pages,
                crate::fmt::size(rep.bytes_read),
                rep.excluded_pages,
                rep.unreadable.len()
            )),
            findings: rep.findings(50).into_iter().map(|f| (f, None)).collect(),
            skipped: None,
        }
    } else if dump.is_headers_only() {
        CheckResult {
            name: "deep",
            findings: Vec::new(),
            skipped: Some("a raw elfcorehdr holds no memory".into()),
            summary: None,
        }
    } else {
        CheckResult {
            name: "deep",
            findings: Vec::new(),
            skipped: Some("no --deep given".into()),
            summary: None,
        }
    });
    // What crashed, for the JSON report (a CI job files it with the failure); the text and
    // JUnit reports stay about the dump's health.
    let crash = (args.json || matches!(args.format, CheckFormat::Json))
        .then(|| crate::json::crash_summary(&dump))
        .flatten()
        .and_then(Result::ok)
        .map(crate::json::CrashJson::from);
    Report {
        file,
        format: Some(dump.format().name()),
        kind: Some(kind_of(&dump)),
        error: None,
        checks,
        crash,
    }
}

fn cpulist(c: &[u32]) -> String {
    if c.is_empty() {
        "none".into()
    } else {
        elfcorehdr::format_cpulist(c.iter().copied())
    }
}

fn ram_bytes(paths: &[PathBuf]) -> u64 {
    paths
        .iter()
        // Only regular files: a pipe (`-`) would be read here and lost for the check.
        .filter(|p| p.is_file())
        .filter_map(|p| Dump::open(p).ok())
        .map(|d| {
            d.memory()
                .ranges()
                .iter()
                .filter(|r| r.kind != vmcore::RangeKind::KernelText)
                .map(|r| r.phys.len())
                .fold(0u64, u64::saturating_add)
        })
        .fold(0u64, u64::saturating_add)
}

/// Run `vmcore check`.
pub fn run(args: &CheckArgs, out: &mut dyn Write) -> anyhow::Result<Outcome> {
    let ctx = HistoryContext::load(&args.history)?;
    let bar = if args.deep && std::io::stderr().is_terminal() {
        let b = indicatif::ProgressBar::new(ram_bytes(&args.dumps));
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} deep check [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        b
    } else {
        indicatif::ProgressBar::hidden()
    };
    let progress = |n: u64| bar.inc(n);
    // Two `/var/crash/<host-date>/vmcore` must not both be reported as `vmcore`.
    let names = crate::fmt::distinct_names(&args.dumps);
    let reports: Vec<Report> = args
        .dumps
        .par_iter()
        .zip(names)
        .map(|(p, name)| check_one(p, name, args, &ctx, &progress))
        .collect();
    bar.finish_and_clear();
    let threshold = args.fail_on.severity();
    let format = if args.json {
        CheckFormat::Json
    } else {
        args.format
    };
    match format {
        CheckFormat::Text => write_text(out, &reports, threshold)?,
        CheckFormat::Json => write_json(out, &reports, threshold)?,
        CheckFormat::Junit => write_junit(out, &reports, threshold)?,
    }
    let unusable: Vec<String> = reports
        .iter()
        .filter_map(|r| r.error.as_ref().map(|e| format!("{}: {e}", r.file)))
        .collect();
    if !unusable.is_empty() {
        out.flush()?;
        anyhow::bail!(
            "{} of {} dumps could not be checked: {}",
            unusable.len(),
            reports.len(),
            unusable.join("; ")
        );
    }
    let failed = reports
        .iter()
        .flat_map(|r| &r.checks)
        .flat_map(|c| &c.findings)
        .any(|(f, _)| f.severity >= threshold);
    Ok(if failed {
        Outcome::Findings
    } else {
        Outcome::Clean
    })
}

fn check_failed(c: &CheckResult, threshold: Severity) -> bool {
    c.findings.iter().any(|(f, _)| f.severity >= threshold)
}

/// A check that could not compare anything (HP016) is inconclusive rather than ok, unless
/// other findings fail it.
fn inconclusive(c: &CheckResult, threshold: Severity) -> bool {
    let is_hp016 = |f: &Finding| f.code == hotplug::diff::HISTORY_INCONCLUSIVE.code;
    c.findings.iter().any(|(f, _)| is_hp016(f))
        && !c
            .findings
            .iter()
            .any(|(f, _)| !is_hp016(f) && f.severity >= threshold)
}

/// `skipped`, `inconclusive`, `failed` or `passed`.
fn status(c: &CheckResult, threshold: Severity) -> &'static str {
    if c.skipped.is_some() {
        "skipped"
    } else if inconclusive(c, threshold) {
        "inconclusive"
    } else if check_failed(c, threshold) {
        "failed"
    } else {
        "passed"
    }
}

fn write_text(out: &mut dyn Write, reports: &[Report], threshold: Severity) -> anyhow::Result<()> {
    for (i, r) in reports.iter().enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        match (r.format, r.kind) {
            (Some(f), Some(k)) => writeln!(out, "== {} ({f}, {k})", r.file)?,
            _ => writeln!(out, "== {}", r.file)?,
        }
        if let Some(e) = &r.error {
            writeln!(out, "error: {e}")?;
        }
        for c in &r.checks {
            let status = match status(c, threshold) {
                "failed" => crate::fmt::paint("FAILED", crate::fmt::Paint::Error),
                "passed" => crate::fmt::paint("ok", crate::fmt::Paint::Ok),
                "inconclusive" => crate::fmt::paint("inconclusive", crate::fmt::Paint::Warning),
                other => other.to_string(),
            };
            write!(out, "{}: {status}", c.name)?;
            if let Some(s) = c.skipped.as_ref().or(c.summary.as_ref()) {
                write!(out, " ({s})")?;
            }
            writeln!(out)?;
            for (f, subject) in &c.findings {
                let sev = format!("{:<7}", f.severity.as_str());
                let sev = match f.severity {
                    Severity::Error => crate::fmt::paint(&sev, crate::fmt::Paint::Error),
                    Severity::Warning => crate::fmt::paint(&sev, crate::fmt::Paint::Warning),
                    Severity::Info => sev,
                };
                write!(out, "  {sev} {} {}", f.code, f.name)?;
                if let Some(s) = subject {
                    write!(out, " [{s}]")?;
                }
                if let Some(o) = f.offset {
                    write!(out, " @{o:#x}")?;
                }
                writeln!(out, ": {}", f.message)?;
            }
        }
    }
    let (e, w, i) = count(reports);
    writeln!(
        out,
        "\n{} dump(s): {e} error(s), {w} warning(s), {i} info",
        reports.len()
    )?;
    Ok(())
}

fn count(reports: &[Report]) -> (usize, usize, usize) {
    let all = || {
        reports
            .iter()
            .flat_map(|r| &r.checks)
            .flat_map(|c| &c.findings)
    };
    let n = |s: Severity| all().filter(|(f, _)| f.severity == s).count();
    (n(Severity::Error), n(Severity::Warning), n(Severity::Info))
}

#[derive(Serialize)]
struct FindingJson<'a> {
    code: &'static str,
    name: &'static str,
    severity: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    subject: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    offset: Option<String>,
    message: &'a str,
}

#[derive(Serialize)]
struct CheckJson<'a> {
    check: &'static str,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    summary: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    skipped: Option<&'a str>,
    findings: Vec<FindingJson<'a>>,
}

#[derive(Serialize)]
struct DumpJson<'a> {
    file: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    format: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
    checks: Vec<CheckJson<'a>>,
    /// Which CPU crashed and where (absent when the dump's kernel cannot say).
    #[serde(skip_serializing_if = "Option::is_none")]
    crash: Option<&'a crate::json::CrashJson>,
}

#[derive(Serialize)]
struct CheckDocJson<'a> {
    version: u32,
    fail_on: &'static str,
    dumps: Vec<DumpJson<'a>>,
    errors: usize,
    warnings: usize,
    infos: usize,
}

fn write_json(out: &mut dyn Write, reports: &[Report], threshold: Severity) -> anyhow::Result<()> {
    let (errors, warnings, infos) = count(reports);
    let doc = CheckDocJson {
        version: crate::json::VERSION,
        fail_on: threshold.as_str(),
        dumps: reports
            .iter()
            .map(|r| DumpJson {
                file: &r.file,
                format: r.format,
                kind: r.kind,
                error: r.error.as_deref(),
                crash: r.crash.as_ref(),
                checks: r
                    .checks
                    .iter()
                    .map(|c| CheckJson {
                        check: c.name,
                        status: status(c, threshold),
                        summary: c.summary.as_deref(),
                        skipped: c.skipped.as_deref(),
                        findings: c
                            .findings
                            .iter()
                            .map(|(f, s)| FindingJson {
                                code: f.code,
                                name: f.name,
                                severity: f.severity.as_str(),
                                subject: s.as_deref(),
                                offset: f.offset.map(|o| format!("{o:#x}")),
                                message: &f.message,
                            })
                            .collect(),
                    })
                    .collect(),
            })
            .collect(),
        errors,
        warnings,
        infos,
    };
    crate::json::write(out, &doc)
}

fn xml(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            // XML 1.0 forbids most control characters, even escaped.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => o.push('?'),
            c => o.push(c),
        }
    }
    o
}

fn write_junit(out: &mut dyn Write, reports: &[Report], threshold: Severity) -> anyhow::Result<()> {
    let cases: usize = reports.iter().map(|r| r.checks.len().max(1)).sum();
    let failures: usize = reports
        .iter()
        .flat_map(|r| &r.checks)
        .filter(|c| c.skipped.is_none() && check_failed(c, threshold))
        .count();
    let errors = reports.iter().filter(|r| r.error.is_some()).count();
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        out,
        r#"<testsuites name="vmcore check" tests="{cases}" failures="{failures}" errors="{errors}">"#
    )?;
    for r in reports {
        let f = r
            .checks
            .iter()
            .filter(|c| c.skipped.is_none() && check_failed(c, threshold))
            .count();
        let s = r.checks.iter().filter(|c| c.skipped.is_some()).count();
        let e = usize::from(r.error.is_some());
        let name = xml(&r.file);
        writeln!(
            out,
            r#"  <testsuite name="{name}" tests="{}" failures="{f}" errors="{e}" skipped="{s}">"#,
            r.checks.len().max(1)
        )?;
        if let Some(err) = &r.error {
            let t = if r.checks.is_empty() {
                "open"
            } else {
                "history"
            };
            writeln!(out, r#"    <testcase classname="{name}" name="{t}">"#)?;
            writeln!(out, r#"      <error message="{}"/>"#, xml(err))?;
            writeln!(out, "    </testcase>")?;
        }
        for c in &r.checks {
            if r.error.is_some() && c.name == "history" {
                continue;
            }
            writeln!(
                out,
                r#"    <testcase classname="{name}" name="{}">"#,
                c.name
            )?;
            if let Some(why) = &c.skipped {
                writeln!(out, r#"      <skipped message="{}"/>"#, xml(why))?;
            } else if check_failed(c, threshold) {
                let worst: Vec<&(Finding, Option<String>)> = c
                    .findings
                    .iter()
                    .filter(|(f, _)| f.severity >= threshold)
                    .collect();
                let first = worst.first().map(|(f, _)| f.code).unwrap_or("");
                writeln!(
                    out,
                    r#"      <failure type="{first}" message="{} finding(s) at or above {}">"#,
                    worst.len(),
                    threshold.as_str()
                )?;
                for (f, s) in &c.findings {
                    writeln!(
                        out,
                        "{} {} {}{}: {}",
                        f.severity.as_str(),
                        f.code,
                        f.name,
                        s.as_ref()
                            .map(|s| format!(" [{}]", xml(s)))
                            .unwrap_or_default(),
                        xml(&f.message)
                    )?;
                }
                writeln!(out, "      </failure>")?;
            }
            if !c.findings.is_empty() && !check_failed(c, threshold) {
                let text: Vec<String> = c
                    .findings
                    .iter()
                    .map(|(f, _)| {
                        format!(
                            "{} {} {}: {}",
                            f.severity.as_str(),
                            f.code,
                            f.name,
                            f.message
                        )
                    })
                    .collect();
                writeln!(
                    out,
                    "      <system-out>{}</system-out>",
                    xml(&text.join("\n"))
                )?;
            }
            writeln!(out, "    </testcase>")?;
        }
        writeln!(out, "  </testsuite>")?;
    }
    writeln!(out, "</testsuites>")?;
    Ok(())
}
