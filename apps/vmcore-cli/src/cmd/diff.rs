//! `vmcore diff DUMP --history FILE`: the topology replayed from the history, side by side with
//! what the dump holds (CPU contexts, memory blocks, ranges), then the findings.

use std::io::Write;

use hotplug::DumpKind;
use serde::Serialize;

use super::check::HistoryArgs;
use crate::Outcome;
use crate::fmt::{file_name, size};
use hotplug::check::{CheckContext, SideBySide};

/// Arguments of `vmcore diff`.
#[derive(Debug, Clone, clap::Args)]
pub struct DiffArgs {
    /// The dump (or raw elfcorehdr) to compare.
    #[arg(value_name = "DUMP")]
    pub dump: std::path::PathBuf,
    #[command(flatten)]
    pub history: HistoryArgs,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Output format, as `vmcore check --format` (`json` is the same as `--json`).
    #[arg(long, value_enum, value_name = "FORMAT", conflicts_with = "json")]
    pub format: Option<DiffFormat>,
}

/// Output formats of `vmcore diff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DiffFormat {
    /// Tables and findings.
    Text,
    /// One JSON document (version 1).
    Json,
}

#[derive(Serialize)]
struct CpuRow {
    /// CPU number; None for a register note whose CPU is unknown.
    cpu: Option<u32>,
    /// `online`, `offline`, `removed`, or None when the history does not mention the CPU.
    history: Option<&'static str>,
    apic_id: Option<u32>,
    /// Register note (or elfcorehdr PT_NOTE) index in the dump.
    note: Option<usize>,
    has_context: Option<bool>,
}

#[derive(Serialize)]
struct BlockRow {
    block: u64,
    range: Option<String>,
    history: &'static str,
    /// Bytes of the block the dump holds (None when the block's range is unknown).
    dumped_bytes: Option<u64>,
}

#[derive(Serialize)]
struct DiffJson {
    version: u32,
    file: String,
    kind: &'static str,
    at: String,
    events_applied: usize,
    events: usize,
    cpus: Vec<CpuRow>,
    blocks: Vec<BlockRow>,
    /// Dump RAM ranges inside no memory block the history knows.
    unknown_ranges: Vec<String>,
    online_bytes_history: u64,
    ram_bytes_dump: u64,
    findings: Vec<serde_json::Value>,
}

/// Run `vmcore diff`.
pub fn run(args: &DiffArgs, out: &mut dyn Write) -> anyhow::Result<Outcome> {
    if args.history.history.is_empty() && !args.history.history_from_log {
        anyhow::bail!("vmcore diff needs --history FILE (or --history-from-log)");
    }
    let ctx = CheckContext::load(&args.history.options(false))?;
    let dump = super::open_dump(&args.dump)?;
    let Some(d) = ctx.history_check(&dump)? else {
        anyhow::bail!("no history");
    };
    let t = &d.topology;
    let c = &d.content;
    // One model of the comparison (the checker's); the renderers below only format it.
    let SideBySide {
        cpus,
        blocks,
        unknown_ranges: unknown,
        online_bytes_history,
        ram_bytes_dump: ram_dump,
    } = d.side_by_side();
    let cpus: Vec<CpuRow> = cpus
        .into_iter()
        .map(|r| CpuRow {
            cpu: r.cpu,
            history: r.history.map(|h| h.as_str()),
            apic_id: r.apic_id,
            note: r.note,
            has_context: r.has_context,
        })
        .collect();
    let blocks: Vec<BlockRow> = blocks
        .into_iter()
        .map(|b| BlockRow {
            block: b.block,
            range: b.range.map(|r| r.to_string()),
            history: b.history.as_str(),
            dumped_bytes: b.dumped_bytes,
        })
        .collect();
    let outcome = if d
        .findings
        .iter()
        .any(|f| f.finding.severity >= vmcore::Severity::Warning)
    {
        Outcome::Findings
    } else {
        Outcome::Clean
    };

    if args.json || args.format == Some(DiffFormat::Json) {
        let j = DiffJson {
            version: crate::json::VERSION,
            file: file_name(dump.path()),
            kind: c.kind.name(),
            at: ctx.until().to_string(),
            events_applied: t.events_applied,
            events: d.history.events.len(),
            cpus,
            blocks,
            unknown_ranges: unknown.iter().map(|r| r.to_string()).collect(),
            online_bytes_history,
            ram_bytes_dump: ram_dump,
            findings: d
                .findings
                .iter()
                .map(|f| {
                    serde_json::json!({
                        "code": f.finding.code,
                        "name": f.finding.name,
                        "severity": f.finding.severity.as_str(),
                        "subject": f.subject.to_string(),
                        "offset": f.finding.offset.map(|o| format!("{o:#x}")),
                        "message": f.finding.message,
                    })
                })
                .collect(),
        };
        crate::json::write(out, &j)?;
        return Ok(outcome);
    }

    writeln!(
        out,
        "{} ({} dump) against the history at {} ({} of {} events)",
        file_name(dump.path()),
        c.kind.name(),
        ctx.until(),
        t.events_applied,
        d.history.events.len()
    )?;
    writeln!(out)?;
    writeln!(out, "{:<6} {:<22} dump", "CPU", "history")?;
    for r in &cpus {
        let Some(cpu) = r.cpu else { continue };
        let mut hist = r.history.unwrap_or("-").to_string();
        if let Some(a) = r.apic_id {
            hist.push_str(&format!(" (APIC {a:#x})"));
        }
        let dumped = match (r.note, r.has_context, c.kind) {
            (None, _, _) => "-".to_string(),
            (Some(n), _, DumpKind::Elfcorehdr) => format!("PT_NOTE {n}"),
            (Some(n), Some(true), _) => format!("note {n} (registers)"),
            (Some(n), _, _) => format!("note {n} (empty)"),
        };
        writeln!(out, "{:<6} {hist:<22} {dumped}", cpu)?;
    }
    for r in cpus.iter().filter(|r| r.cpu.is_none()) {
        writeln!(
            out,
            "{:<6} {:<22} note {} ({}; CPU unknown: give --state or --elfcorehdr)",
            "?",
            "",
            r.note.unwrap_or(0),
            if r.has_context == Some(true) {
                "registers"
            } else {
                "empty"
            }
        )?;
    }
    writeln!(out)?;
    writeln!(out, "{:<10} {:<28} {:<9} dump", "block", "range", "history")?;
    for b in &blocks {
        let dumped = match b.dumped_bytes {
            None => "?".to_string(),
            Some(0) => "-".to_string(),
            Some(n) => size(n),
        };
        writeln!(
            out,
            "{:<10} {:<28} {:<9} {dumped}",
            format!("memory{}", b.block),
            b.range.as_deref().unwrap_or("?"),
            b.history
        )?;
    }
    if !unknown.is_empty() {
        writeln!(out, "dump ranges in no known block:")?;
        for r in &unknown {
            writeln!(
                out,
                "           {:<28} {:<9} {}",
                r.to_string(),
                "-",
                size(r.len())
            )?;
        }
    }
    writeln!(
        out,
        "online memory: history {}, dump RAM {}",
        size(online_bytes_history),
        size(ram_dump)
    )?;
    writeln!(out)?;
    if d.findings.is_empty() {
        writeln!(out, "no findings: the dump matches the history")?;
    }
    for f in &d.findings {
        writeln!(
            out,
            "{:<7} {} {} [{}]: {}",
            f.finding.severity.as_str(),
            f.finding.code,
            f.finding.name,
            f.subject,
            f.finding.message
        )?;
    }
    Ok(outcome)
}
