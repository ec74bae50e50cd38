//! `vmcore diff DUMP --history FILE`: the topology replayed from the history, side by side with
//! what the dump holds (CPU contexts, memory blocks, ranges), then the findings.

use std::io::Write;

use anyhow::Context;
use hotplug::DumpKind;
use vmcore::Dump;

use super::check::{HistoryArgs, HistoryContext};
use crate::Outcome;
use crate::fmt::{file_name, size};

/// Arguments of `vmcore diff`.
#[derive(Debug, Clone, clap::Args)]
pub struct DiffArgs {
    /// The dump (or raw elfcorehdr) to compare.
    #[arg(value_name = "DUMP")]
    pub dump: std::path::PathBuf,
    #[command(flatten)]
    pub history: HistoryArgs,
}

/// Run `vmcore diff`.
pub fn run(args: &DiffArgs, out: &mut dyn Write) -> anyhow::Result<Outcome> {
    if args.history.history.is_empty() && !args.history.history_from_log {
        anyhow::bail!("vmcore diff needs --history FILE (or --history-from-log)");
    }
    let ctx = HistoryContext::load(&args.history)?;
    let dump =
        Dump::open(&args.dump).with_context(|| format!("cannot open {}", args.dump.display()))?;
    let Some(d) = ctx.diff_dump(&dump)? else {
        anyhow::bail!("no history");
    };
    let t = &d.topology;
    let c = &d.content;
    writeln!(
        out,
        "{} ({} dump) against the history at {} ({} of {} events)",
        file_name(dump.path()),
        c.kind.name(),
        ctx.until,
        t.events_applied,
        d.history.events.len()
    )?;
    writeln!(out)?;
    writeln!(out, "{:<6} {:<22} dump", "CPU", "history")?;
    let mut cpus: Vec<u32> = t.cpus.keys().copied().collect();
    cpus.extend(c.cpus.iter().filter_map(|s| s.cpu));
    cpus.sort_unstable();
    cpus.dedup();
    for cpu in cpus {
        let hist = match t.cpus.get(&cpu) {
            None => "-".to_string(),
            Some(s) => {
                let mut v = if s.online {
                    "online".to_string()
                } else if s.present {
                    "offline".to_string()
                } else {
                    "removed".to_string()
                };
                if let Some(a) = s.apic_id {
                    v.push_str(&format!(" (APIC {a:#x})"));
                }
                v
            }
        };
        let slot = c.cpus.iter().find(|s| s.cpu == Some(cpu));
        let dumped = match (slot, c.kind) {
            (None, _) => "-".to_string(),
            (Some(s), DumpKind::Elfcorehdr) => format!("PT_NOTE {}", s.note_index),
            (Some(s), _) if s.has_context => format!("note {} (registers)", s.note_index),
            (Some(s), _) => format!("note {} (empty)", s.note_index),
        };
        writeln!(out, "{:<6} {hist:<22} {dumped}", cpu)?;
    }
    for s in c.cpus.iter().filter(|s| s.cpu.is_none()) {
        writeln!(
            out,
            "{:<6} {:<22} note {} ({}; CPU unknown: give --state or --elfcorehdr)",
            "?",
            "",
            s.note_index,
            if s.has_context { "registers" } else { "empty" }
        )?;
    }
    writeln!(out)?;
    writeln!(out, "{:<10} {:<28} {:<9} dump", "block", "range", "history")?;
    for (&index, &status) in &t.memory {
        let range = t.block_range(index);
        let dumped = range
            .map(|r| {
                let cov: u64 = hotplug::merge(c.ram.iter().filter_map(|x| x.range.intersect(&r)))
                    .iter()
                    .map(|x| x.len())
                    .sum();
                if cov == 0 { "-".to_string() } else { size(cov) }
            })
            .unwrap_or_else(|| "?".into());
        writeln!(
            out,
            "{:<10} {:<28} {:<9} {dumped}",
            format!("memory{index}"),
            range.map(|r| r.to_string()).unwrap_or_else(|| "?".into()),
            status.as_str()
        )?;
    }
    let known = hotplug::merge(t.memory.keys().filter_map(|&i| t.block_range(i)));
    let mut extra = Vec::new();
    for r in &c.ram {
        if t.block_size.is_some() && !known.iter().any(|k| k.overlaps(&r.range)) {
            extra.push(r.range);
        }
    }
    if !extra.is_empty() {
        writeln!(out, "dump ranges in no known block:")?;
        for r in extra {
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
        size(t.online_bytes()),
        size(c.ram.iter().map(|r| r.range.len()).sum())
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
    Ok(
        if d.findings
            .iter()
            .any(|f| f.finding.severity >= vmcore::Severity::Warning)
        {
            Outcome::Findings
        } else {
            Outcome::Clean
        },
    )
}
