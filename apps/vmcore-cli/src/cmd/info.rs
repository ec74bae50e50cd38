//! `vmcore info`: a summary of the dump.

use std::io::Write;

use serde::Serialize;

use super::{DumpsArg, outcome_of};
use crate::Outcome;
use crate::fmt;
use crate::json::{self, DumpHeaderJson, FindingJson};

/// Arguments of `vmcore info`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct InfoArgs {
    #[command(flatten)]
    pub dumps: DumpsArg,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct InfoJson {
    #[serde(flatten)]
    header: DumpHeaderJson,
    file_size: u64,
    kernel_release: Option<String>,
    crash_time: Option<i64>,
    register_notes: usize,
    cpus_with_context: usize,
    ranges: usize,
    ram_bytes: u64,
    vmcoreinfo_keys: usize,
    truncated_bytes: u64,
    /// The panic (or oops) message from the kernel log, when the log decodes and has one.
    panic_message: Option<String>,
    /// Records in the kernel log (None when it cannot be decoded).
    log_records: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    kdump: Option<KdumpJson>,
    /// Which CPU crashed and where (kallsyms + ORC); null when it cannot be told (no
    /// vmcoreinfo, no kallsyms) or nothing panicked.
    crash: Option<json::CrashJson>,
    findings: Vec<FindingJson>,
}

#[derive(Serialize)]
struct KdumpJson {
    flattened: bool,
    header_version: u32,
    compression: &'static str,
    dump_level: u32,
    page_size: u32,
    max_mapnr: u64,
    ram_pages: u64,
    dumpable_pages: u64,
    excluded_pages: u64,
    /// Null when the dump is too large for the open-time descriptor scan (`pages_counted`).
    zero_pages: Option<u64>,
    incomplete: bool,
    /// The files of a `--split` set (a directory of parts), by PFN range; absent otherwise.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    split_parts: Vec<SplitPartJson>,
}

#[derive(Serialize)]
struct SplitPartJson {
    file: String,
    start_pfn: u64,
    end_pfn: u64,
}

/// Run `vmcore info` on each dump.
pub fn run(args: &InfoArgs, out: &mut dyn Write) -> anyhow::Result<Outcome> {
    args.dumps
        .run_each(args.json, out, &|d, out| run_one(args, d, out))
}

fn run_one(args: &InfoArgs, d: &vmcore::Dump, out: &mut dyn Write) -> anyhow::Result<Outcome> {
    let vi = d.vmcoreinfo();
    let with_ctx = d.cpus().iter().filter(|c| c.regs.is_some()).count();
    let trunc = d.truncation().map(|t| t.missing_bytes).unwrap_or(0);
    // The log needs only vmcoreinfo; a dump without it (or with excluded log pages) just has no
    // panic line in the summary.
    let log = vi.and_then(|_| d.kernel_log().ok());
    let panic_message = log
        .as_ref()
        .and_then(|l| l.panic_record())
        .map(|r| r.text_lossy().into_owned());
    let crash = json::crash_summary(d);
    // The dump's findings and the kernel-log decoder's, as the TUI lists them.
    let findings: Vec<&vmcore::Finding> = d
        .findings()
        .iter()
        .chain(log.iter().flat_map(|l| &l.findings))
        .collect();
    let outcome = if findings
        .iter()
        .any(|f| f.severity >= vmcore::Severity::Warning)
    {
        Outcome::Findings
    } else {
        outcome_of(d)
    };
    if args.json {
        let j = InfoJson {
            header: DumpHeaderJson::of(d),
            file_size: d.file_len(),
            kernel_release: vi.and_then(|v| v.osrelease()).map(str::to_string),
            crash_time: vi.and_then(|v| v.crash_time()),
            register_notes: d.cpus().len(),
            cpus_with_context: with_ctx,
            ranges: d.memory().len(),
            ram_bytes: d.memory().ram_bytes(),
            vmcoreinfo_keys: vi.map(|v| v.entries().len()).unwrap_or(0),
            truncated_bytes: trunc,
            panic_message: panic_message.clone(),
            log_records: log.as_ref().map(|l| l.records.len()),
            kdump: d.kdump_info().map(|k| KdumpJson {
                flattened: k.flattened,
                header_version: k.header_version,
                compression: k.compression,
                dump_level: k.dump_level,
                page_size: k.page_size,
                max_mapnr: k.max_mapnr,
                ram_pages: k.ram_pages,
                dumpable_pages: k.dumpable_pages,
                excluded_pages: k.excluded_pages,
                zero_pages: k.pages_counted.then_some(k.zero_pages),
                incomplete: k.incomplete,
                split_parts: split_set(d)
                    .iter()
                    .map(|p| SplitPartJson {
                        file: crate::fmt::file_name(Some(&p.path)),
                        start_pfn: p.start_pfn,
                        end_pfn: p.end_pfn,
                    })
                    .collect(),
            }),
            crash: crash
                .clone()
                .and_then(Result::ok)
                .map(json::CrashJson::from),
            findings: findings.iter().copied().map(FindingJson::from).collect(),
        };
        json::write(out, &j)?;
        return Ok(outcome);
    }
    writeln!(out, "file:        {}", fmt::file_name(d.path()))?;
    let parts = split_set(d);
    if !parts.is_empty() {
        writeln!(out, "split set:   {} parts", parts.len())?;
        for p in &parts {
            writeln!(
                out,
                "             {} holds PFNs [{:#x}, {:#x})",
                fmt::file_name(Some(&p.path)),
                p.start_pfn,
                p.end_pfn
            )?;
        }
    }
    // Little-endian is every dump this tool walks; a big-endian one says so where it is read.
    let order = match d.byte_order() {
        vmcore::ByteOrder::Little => String::new(),
        vmcore::ByteOrder::Big => ", big-endian".into(),
    };
    writeln!(
        out,
        "format:      {} ({}{order}), {} bytes",
        d.format().name(),
        d.machine().name(),
        d.file_len()
    )?;
    if let Some(k) = d.kdump_info() {
        writeln!(
            out,
            "kdump:       header v{}, {} compression, dump level {}, page size {}{}",
            k.header_version,
            k.compression,
            k.dump_level,
            k.page_size,
            if k.flattened { ", flattened" } else { "" }
        )?;
        writeln!(
            out,
            "pages:       {} RAM, {} dumpable, {} excluded, {} zero (max_mapnr {})",
            k.ram_pages,
            k.dumpable_pages,
            k.excluded_pages,
            // Above the open-time scan limit the zero pages are not counted; say so rather
            // than print a 0 that reads as a fact.
            if k.pages_counted {
                k.zero_pages.to_string()
            } else {
                "uncounted".to_string()
            },
            k.max_mapnr
        )?;
        if k.incomplete {
            writeln!(
                out,
                "             INCOMPLETE: the dump was cut short when written"
            )?;
        }
    }
    match vi {
        Some(v) => {
            writeln!(out, "kernel:      {}", v.osrelease().unwrap_or("?"))?;
            match v.crash_time() {
                Some(t) => writeln!(out, "crash time:  {} (CRASHTIME={t})", fmt::utc(t))?,
                None => writeln!(
                    out,
                    "crash time:  none (no CRASHTIME: taken from a live system, e.g. by QEMU)"
                )?,
            }
            writeln!(out, "vmcoreinfo:  {} keys", v.entries().len())?;
            if let Some(l) = &log {
                writeln!(out, "kernel log:  {} records", l.records.len())?;
                if let Some(p) = &panic_message {
                    writeln!(out, "panic:       {p}")?;
                }
                // The lines just before the panic say what led to it ("sysrq: Trigger a
                // crash", the oops); after it come register dumps.
                let end = l
                    .panic_record()
                    .and_then(|p| l.records.iter().position(|r| r.seq == p.seq))
                    .unwrap_or(l.records.len());
                for r in &l.records[end.saturating_sub(3)..end] {
                    writeln!(
                        out,
                        "  [{:>5}.{:06}] {}",
                        r.ts_nsec / 1_000_000_000,
                        r.ts_nsec % 1_000_000_000 / 1000,
                        r.text_lossy()
                    )?;
                }
            }
        }
        None => writeln!(out, "vmcoreinfo:  none")?,
    }
    if d.is_headers_only() {
        writeln!(
            out,
            "contents:    raw elfcorehdr: {} program headers describe memory; no data",
            d.segments().len()
        )?;
    }
    writeln!(
        out,
        "cpus:        {} register notes, {} with context",
        d.cpus().len(),
        with_ctx
    )?;
    match &crash {
        Some(Ok(c)) => {
            writeln!(out, "crashed:     {c}")?;
            let top: Vec<String> = c
                .frames
                .iter()
                .enumerate()
                .map(|(i, f)| format!("#{i} {f}"))
                .collect();
            if !top.is_empty() {
                writeln!(out, "             {}", top.join("  "))?;
            }
        }
        Some(Err(why)) => writeln!(out, "crashed:     {why}")?,
        None => {}
    }
    let aliases = d.memory().len() - d.memory().ram().count();
    writeln!(
        out,
        "memory:      {} ranges ({} RAM{}), {} of RAM",
        d.memory().len(),
        d.memory().ram().count(),
        if aliases > 0 {
            format!(" + {aliases} kernel-text alias")
        } else {
            String::new()
        },
        fmt::size(d.memory().ram_bytes())
    )?;
    if let Some(t) = d.truncation() {
        writeln!(
            out,
            "truncated:   {} missing in {} range(s)",
            fmt::size(t.missing_bytes),
            t.ranges.len()
        )?;
    }
    writeln!(out, "findings:    {}", findings.len())?;
    for f in &findings {
        writeln!(out, "  {f}")?;
    }
    Ok(outcome)
}

/// The parts of a `--split` set read as one dump; empty for one file (a lone part says what
/// it is in its own finding).
fn split_set(d: &vmcore::Dump) -> Vec<vmcore::SplitPartInfo> {
    let parts = d.split_parts();
    if parts.len() > 1 { parts } else { Vec::new() }
}
