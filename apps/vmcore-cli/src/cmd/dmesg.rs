//! `vmcore dmesg`: the kernel log, decoded from vmcoreinfo alone (no debug info).

use std::io::Write;

use anyhow::Context;
use serde_json::{Value, json};
use vmcore::klog::{self, KernelLog, LogRecord};
use vmcore::{Dump, Severity};

use crate::Outcome;

/// Arguments of `vmcore dmesg`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct DmesgArgs {
    /// Print the records as JSON (with level, caller, device info and decoding findings).
    #[arg(long)]
    pub json: bool,
    /// Only the last N records.
    #[arg(long, value_name = "N")]
    pub tail: Option<usize>,
}

/// Run `vmcore dmesg`: plain lines exactly as `makedumpfile --dump-dmesg` writes them
/// (`[    0.000000] text`), or JSON records.
///
/// Findings about the ring (corrupt or wrapped descriptors) appear in the JSON only, so the
/// plain output stays comparable with makedumpfile's; either way they make the outcome
/// `Findings`.
pub fn run(args: &DmesgArgs, dump: &Dump, out: &mut dyn Write) -> anyhow::Result<Outcome> {
    let log = dump
        .kernel_log()
        .context("cannot decode the kernel log from vmcoreinfo")?;
    let records = match args.tail {
        Some(n) => log.last_records(n),
        None => &log.records[..],
    };
    if args.json {
        let doc = crate::json::with_header(dump, log_json(&log, records))?;
        serde_json::to_writer_pretty(&mut *out, &doc)?;
        writeln!(out)?;
    } else {
        klog::write_makedumpfile(records, out)?;
        // The text keeps makedumpfile's format, so findings stay out of it; but an empty log
        // must not look like success: say why on stderr.
        if records.iter().all(|r| r.dataless) {
            for f in &log.findings {
                eprintln!("vmcore: the kernel log has no record with text: {f}");
            }
        }
    }
    let worth_reporting = log.findings.iter().any(|f| f.severity >= Severity::Warning);
    Ok(if worth_reporting {
        Outcome::Findings
    } else {
        Outcome::Clean
    })
}

/// One record as JSON. Absent fields mean the kernel's layout does not record them.
pub fn record_json(r: &LogRecord) -> Value {
    let (secs, usecs) = r.timestamp_parts();
    json!({
        "seq": r.seq,
        "ts_nsec": r.ts_nsec,
        "timestamp": format!("{secs}.{usecs:06}"),
        "level": r.level,
        "facility": r.facility,
        "caller": r.caller.map(|c| c.to_string()),
        "text": r.text_lossy(),
        "subsystem": r.subsystem,
        "device": r.device,
        "dataless": r.dataless,
    })
}

/// The whole log as JSON: format, ring geometry, records and findings.
pub fn log_json(log: &KernelLog, records: &[LogRecord]) -> Value {
    json!({
        "format": match log.format {
            klog::LogFormat::Lockless => "lockless",
            klog::LogFormat::Legacy => "legacy",
        },
        "ring": log.ring.map(|r| json!({
            "prb": format!("{:#x}", r.prb),
            "desc_count": r.desc_count,
            "data_size": r.data_size,
            "head_id": r.head_id,
            "tail_id": r.tail_id,
        })),
        "records": records.iter().map(record_json).collect::<Vec<_>>(),
        "findings": log.findings.iter().map(|f| json!({
            "code": f.code,
            "name": f.name,
            "severity": f.severity.as_str(),
            "message": f.message,
        })).collect::<Vec<_>>(),
    })
}
