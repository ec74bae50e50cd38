//! `vmcore check`: the CI checker of dumps. Per dump: structural validation (everything the
//! readers report), the hotplug-history diff when a history is given, and `--deep` page
//! reads. Dumps are checked in parallel; each gets its own report, in argument order.
//! Output is text, JSON or JUnit (one test case per dump per check); it names files by their
//! file name only and holds no timings, so it is the same wherever and however fast it runs.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use hotplug::Until;
use hotplug::check::{CheckContext, CheckKind, CheckOptions, CheckResult, Skipped, Summary};
use rayon::prelude::*;
use serde::Serialize;
use vmcore::{Dump, Finding, Severity};

use crate::Outcome;

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

impl HistoryArgs {
    /// The checker's options for these arguments (`deep` is `vmcore check`'s own flag).
    pub(crate) fn options(&self, deep: bool) -> CheckOptions {
        CheckOptions {
            histories: self.history.clone(),
            history_from_log: self.history_from_log,
            at: Until::parse(&self.at),
            state: self.state.clone(),
            elfcorehdr: self.elfcorehdr.clone(),
            lenient: self.lenient,
            deep,
        }
    }
}

/// One dump's report as the renderers show it.
struct Report {
    file: String,
    format: Option<&'static str>,
    kind: Option<&'static str>,
    error: Option<String>,
    checks: Vec<CheckResult>,
    /// The crash site, for JSON reports of dumps whose kernel says it.
    crash: Option<crate::json::CrashJson>,
}

fn check_one(
    path: &Path,
    file: String,
    args: &CheckArgs,
    ctx: &CheckContext,
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
    let report = ctx.check_dump_with_progress(&dump, progress);
    // What crashed, for the JSON report (a CI job files it with the failure); the text and
    // JUnit reports stay about the dump's health.
    let crash = (report.error.is_none() && (args.json || matches!(args.format, CheckFormat::Json)))
        .then(|| crate::json::crash_summary(&dump))
        .flatten()
        .and_then(Result::ok)
        .map(crate::json::CrashJson::from);
    Report {
        file,
        format: Some(dump.format().name()),
        kind: Some(report.kind),
        error: report.error.map(|e| format!("{:#}", anyhow::Error::new(e))),
        checks: report.checks,
        crash,
    }
}

/// Why a check was skipped, in the words of the command line.
fn skipped_text(c: &CheckResult) -> Option<&'static str> {
    Some(match c.skipped? {
        Skipped::NoHistory => "no --history given",
        Skipped::NoDeep => "no --deep given",
        Skipped::NoMemory => "a raw elfcorehdr holds no memory",
    })
}

/// The one-line summary of what a check looked at.
fn summary_text(c: &CheckResult) -> Option<String> {
    Some(match c.summary.as_ref()? {
        Summary::History {
            at,
            events_applied,
            events,
            online_cpus,
            online_bytes,
        } => format!(
            "at {at}: {events_applied} of {events} events, CPUs online {}, memory online {}",
            cpulist(online_cpus),
            crate::fmt::size(*online_bytes),
        ),
        Summary::Deep(rep) => format!(
            "{} pages, {} read, {} excluded, {} unreadable runs",
            rep.pages,
            crate::fmt::size(rep.bytes_read),
            rep.excluded_pages,
            rep.unreadable.len()
        ),
    })
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
    let ctx = CheckContext::load(&args.history.options(args.deep))?;
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
    c.failed(threshold)
}

/// `skipped`, `inconclusive`, `failed` or `passed`.
fn status(c: &CheckResult, threshold: Severity) -> &'static str {
    c.status(threshold).as_str()
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
            write!(out, "{}: {status}", c.kind.name())?;
            if let Some(s) = skipped_text(c)
                .map(str::to_string)
                .or_else(|| summary_text(c))
            {
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
    subject: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    offset: Option<String>,
    message: &'a str,
}

#[derive(Serialize)]
struct CheckJson<'a> {
    check: &'static str,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    summary: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    skipped: Option<&'static str>,
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
                        check: c.kind.name(),
                        status: status(c, threshold),
                        summary: summary_text(c),
                        skipped: skipped_text(c),
                        findings: c
                            .findings
                            .iter()
                            .map(|(f, s)| FindingJson {
                                code: f.code,
                                name: f.name,
                                severity: f.severity.as_str(),
                                subject: s.as_ref().map(ToString::to_string),
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
            if r.error.is_some() && c.kind == CheckKind::History {
                continue;
            }
            writeln!(
                out,
                r#"    <testcase classname="{name}" name="{}">"#,
                c.kind.name()
            )?;
            if let Some(why) = skipped_text(c) {
                writeln!(out, r#"      <skipped message="{}"/>"#, xml(why))?;
            } else if check_failed(c, threshold) {
                let worst: Vec<&(Finding, Option<hotplug::Subject>)> = c
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
                            .map(|s| format!(" [{}]", xml(&s.to_string())))
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
