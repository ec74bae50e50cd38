//! `vmcore bt`: per-CPU kernel backtraces from the dump alone (kallsyms + the in-memory ORC
//! unwind tables), in the style of crash's `bt`.

use std::io::Write;

use anyhow::Context;
use kernel_introspect::unwind::{CodeArea, Frame, FrameKind, StopReason};
use kernel_introspect::{CpuBacktrace, Kernel};
use serde::Serialize;

use super::DumpArg;
use crate::Outcome;
use crate::json::{self, DumpHeaderJson};

/// Arguments of `vmcore bt`.
#[derive(Debug, Clone, clap::Args)]
pub struct BtArgs {
    #[command(flatten)]
    pub dump: DumpArg,
    /// Only this CPU.
    #[arg(long, value_name = "N", conflicts_with_all = ["all", "pid"])]
    pub cpu: Option<u32>,
    /// This task: the CPUs running it (`pr_pid` of the register notes); a task that was not
    /// running is unwound from the context it saved when it last slept, through the dump's BTF
    /// (CONFIG_DEBUG_INFO_BTF). 0 with no note of pid 0: the first online CPU's idle task.
    #[arg(long, value_name = "P", conflicts_with = "all")]
    pub pid: Option<u32>,
    /// Every CPU with a register note (the default when no CPU is known to have crashed).
    #[arg(long)]
    pub all: bool,
    /// Print JSON instead of text (every frame, with registers of interrupted frames).
    #[arg(long)]
    pub json: bool,
}

// The JSON shape of `vmcore bt --json` (docs/json-schema.md); kept next to the command as it
// is its only user.
#[derive(Serialize)]
struct BtJson {
    #[serde(flatten)]
    header: DumpHeaderJson,
    panic_cpu: Option<u32>,
    crashed_cpu: Option<u32>,
    cpus: Vec<CpuBtJson>,
}

#[derive(Serialize)]
struct CpuBtJson {
    note_index: usize,
    cpu: Option<u32>,
    pid: Option<u32>,
    crashed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    problem: Option<String>,
    frames: Vec<FrameJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stop: Option<StopJson>,
}

#[derive(Serialize)]
struct FrameJson {
    index: usize,
    pc: String,
    sp: String,
    symbol: Option<String>,
    offset: Option<u64>,
    size: Option<u64>,
    module: Option<String>,
    area: &'static str,
    kind: &'static str,
    interrupted: bool,
    stack: &'static str,
    method: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    registers: Option<Vec<(&'static str, String)>>,
}

#[derive(Serialize)]
struct StopJson {
    reason: &'static str,
    complete: bool,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    addr: Option<String>,
}

fn area_name(a: CodeArea) -> &'static str {
    match a {
        CodeArea::Kernel => "kernel",
        CodeArea::Module => "module",
        CodeArea::User => "user",
        CodeArea::Unknown => "unknown",
    }
}

fn frame_json(i: usize, f: &Frame) -> FrameJson {
    let (kind, regs) = match &f.kind {
        FrameKind::Call => ("call", None),
        FrameKind::Interrupted { regs, partial } => (
            if *partial {
                "interrupted_partial"
            } else {
                "interrupted"
            },
            Some(regs),
        ),
        FrameKind::User { regs } => ("user", Some(regs)),
    };
    FrameJson {
        index: i,
        pc: format!("{:#x}", f.pc),
        sp: format!("{:#x}", f.sp),
        symbol: f.symbol.as_ref().map(|s| s.name.clone()),
        offset: f.symbol.as_ref().map(|s| s.offset),
        size: f.symbol.as_ref().and_then(|s| s.size),
        module: f.module.clone(),
        area: area_name(f.area),
        kind,
        interrupted: f.interrupted(),
        stack: f.stack.name(),
        method: f.method.name(),
        registers: regs.map(|r| {
            r.named()
                .into_iter()
                .map(|(n, v)| (n, format!("{v:#x}")))
                .collect()
        }),
    }
}

fn stop_json(s: &StopReason) -> StopJson {
    let (reason, addr) = match s {
        StopReason::EndOfStack => ("end_of_stack", None),
        StopReason::UserMode => ("user_mode", None),
        StopReason::NoUnwindInfo { pc } => ("no_unwind_info", Some(*pc)),
        StopReason::NotText { pc } => ("not_text", Some(*pc)),
        StopReason::Unreadable { addr, .. } => ("unreadable", Some(*addr)),
        StopReason::Corrupt { addr, .. } => ("corrupt", Some(*addr)),
        StopReason::NoProgress { sp, .. } => ("no_progress", Some(*sp)),
        StopReason::TooManyFrames => ("too_many_frames", None),
        StopReason::TooManyStackSwitches => ("too_many_stack_switches", None),
    };
    StopJson {
        reason,
        complete: s.is_complete(),
        message: s.to_string(),
        addr: addr.map(|a| format!("{a:#x}")),
    }
}

/// Run `vmcore bt`. Exit 1 when a selected trace ended early (unreadable or corrupt stack).
pub fn run(args: &BtArgs, out: &mut dyn Write) -> anyhow::Result<Outcome> {
    let d = args.dump.open()?;
    let kernel = Kernel::new(&d).context("cannot read the kernel from this dump")?;
    let all = kernel
        .backtraces()
        .context("cannot build the backtrace unwinder")?;
    // A task no register note names was not running: its saved context, through BTF.
    if let Some(pid) = args.pid.filter(|&p| !all.iter().any(|b| b.pid == Some(p))) {
        let pid = i32::try_from(pid).context("pid out of range")?;
        return super::task::run_bt_pid(&d, pid, args.json, out);
    }
    let panic_cpu = kernel.panic_cpu().ok().flatten();
    let crashed_cpu = kernel.crashed_cpu().ok().flatten();
    let selected: Vec<&CpuBacktrace> = match args.cpu {
        Some(n) => {
            let v: Vec<_> = all.iter().filter(|b| b.cpu == Some(n)).collect();
            if v.is_empty() {
                let known: Vec<String> = all
                    .iter()
                    .map(|b| b.cpu.map_or("?".to_string(), |c| c.to_string()))
                    .collect();
                anyhow::bail!(
                    "no register note of CPU {n} in this dump (notes of CPUs: {})",
                    known.join(", ")
                );
            }
            v
        }
        None if args.pid.is_some() => {
            let p = args.pid;
            let v: Vec<_> = all
                .iter()
                .filter(|b| b.pid.is_some() && b.pid == p)
                .collect();
            if v.is_empty() {
                anyhow::bail!(
                    "no register note of pid {} (only tasks running on a CPU have one)",
                    p.unwrap_or_default()
                );
            }
            v
        }
        None if !args.all && all.iter().any(|b| b.crashed) => {
            all.iter().filter(|b| b.crashed).collect()
        }
        None => all.iter().collect(),
    };
    let incomplete = selected
        .iter()
        .any(|b| b.trace.as_ref().is_ok_and(|t| !t.stop.is_complete()));
    let outcome = if incomplete {
        Outcome::Findings
    } else {
        Outcome::Clean
    };
    if args.json {
        let doc = BtJson {
            header: DumpHeaderJson::of(&d),
            panic_cpu,
            crashed_cpu,
            cpus: selected
                .iter()
                .map(|b| CpuBtJson {
                    note_index: b.note_index,
                    cpu: b.cpu,
                    pid: b.pid,
                    crashed: b.crashed,
                    problem: b.trace.as_ref().err().cloned(),
                    frames: b
                        .trace
                        .as_ref()
                        .map(|t| {
                            t.frames
                                .iter()
                                .enumerate()
                                .map(|(i, f)| frame_json(i, f))
                                .collect()
                        })
                        .unwrap_or_default(),
                    stop: b.trace.as_ref().ok().map(|t| stop_json(&t.stop)),
                })
                .collect(),
        };
        json::write(out, &doc)?;
        return Ok(outcome);
    }
    for (n, b) in selected.iter().enumerate() {
        if n > 0 {
            writeln!(out)?;
        }
        write_text(out, b)?;
    }
    Ok(outcome)
}

fn write_text(out: &mut dyn Write, b: &CpuBacktrace) -> anyhow::Result<()> {
    let cpu = b.cpu.map_or("CPU ?".to_string(), |c| format!("CPU {c}"));
    let pid = b.pid.map(|p| format!(", pid {p}")).unwrap_or_default();
    let crashed = if b.crashed { " (crashed)" } else { "" };
    writeln!(out, "{cpu}{pid}{crashed}: register note {}", b.note_index)?;
    let t = match &b.trace {
        Ok(t) => t,
        Err(why) => {
            writeln!(out, "  no backtrace: {why}")?;
            return Ok(());
        }
    };
    let mut prev_stack = None;
    for (i, f) in t.frames.iter().enumerate() {
        if prev_stack.is_some_and(|s| s != f.stack) {
            writeln!(out, " --- <{} stack> ---", f.stack.name())?;
        }
        prev_stack = Some(f.stack);
        let mut notes = Vec::new();
        if f.interrupted() && !matches!(f.kind, FrameKind::User { .. }) {
            notes.push("interrupted");
        }
        if !f.method.is_primary() {
            notes.push(f.method.name());
        }
        let notes = if notes.is_empty() {
            String::new()
        } else {
            format!(" ({})", notes.join(", "))
        };
        writeln!(
            out,
            "{:>3} [{:016x}] {} at {:016x}{notes}",
            format!("#{i}"),
            f.sp,
            f.location(),
            f.pc
        )?;
        // Saved registers of pt_regs frames (frame 0's are the register note: `vmcore cpus`).
        if i > 0 {
            if let FrameKind::Interrupted { regs, .. } | FrameKind::User { regs } = &f.kind {
                for chunk in regs.named().iter().take(21).collect::<Vec<_>>().chunks(3) {
                    let line: Vec<String> = chunk
                        .iter()
                        .map(|(n, v)| format!("{:>8}: {v:016x}", n.to_uppercase()))
                        .collect();
                    writeln!(out, "      {}", line.join("  "))?;
                }
            }
        }
    }
    writeln!(out, "    stop: {}", t.stop)?;
    Ok(())
}
