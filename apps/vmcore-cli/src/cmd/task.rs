//! `vmcore ps`, `vmcore modules` and `vmcore bt --pid` (called from `cmd::bt`): tasks, modules and a task's stack, read
//! through the dump's own BTF (kernels built with CONFIG_DEBUG_INFO_BTF), no vmlinux.

use std::io::Write;

use anyhow::Context;
use kernel_introspect::Kernel;
use kernel_introspect::task::Task;
use kernel_introspect::unwind::{Backtrace, FrameKind};
use serde::Serialize;

use super::DumpArg;
use crate::Outcome;
use crate::json::{self, DumpHeaderJson};

fn hex(v: u64) -> String {
    format!("{v:#x}")
}

/// Arguments of `vmcore ps`.
#[derive(Debug, Clone, clap::Args)]
pub struct PsArgs {
    #[command(flatten)]
    pub dump: DumpArg,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `vmcore modules`.
#[derive(Debug, Clone, clap::Args)]
pub struct ModulesArgs {
    #[command(flatten)]
    pub dump: DumpArg,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct TaskJson {
    pid: i32,
    tgid: i32,
    ppid: i32,
    comm: String,
    state: String,
    cpu: u32,
    /// The CPU it was running on when the dump was taken (crash's `>`).
    running_on: Option<u32>,
    on_cpu: bool,
    kernel_thread: bool,
    idle: bool,
    task: String,
}

impl TaskJson {
    fn of(t: &Task, idle: bool) -> Self {
        TaskJson {
            pid: t.pid,
            tgid: t.tgid,
            ppid: t.ppid,
            comm: t.comm.clone(),
            state: t.state.to_string(),
            cpu: t.cpu,
            running_on: t.running_on,
            on_cpu: t.on_cpu,
            kernel_thread: t.is_kernel_thread(),
            idle,
            task: hex(t.addr),
        }
    }
}

#[derive(Serialize)]
struct FindingJson {
    addr: String,
    message: String,
}

impl From<&kernel_introspect::task::TaskFinding> for FindingJson {
    fn from(f: &kernel_introspect::task::TaskFinding) -> Self {
        FindingJson {
            addr: hex(f.addr),
            message: f.detail.clone(),
        }
    }
}

#[derive(Serialize)]
struct PsJson {
    #[serde(flatten)]
    header: DumpHeaderJson,
    tasks: Vec<TaskJson>,
    findings: Vec<FindingJson>,
}

/// Clean when the walk noticed nothing, Findings otherwise (`ps`, `modules`).
fn outcome_for<T>(findings: &[T]) -> Outcome {
    if findings.is_empty() {
        Outcome::Clean
    } else {
        Outcome::Findings
    }
}

fn kernel(d: &vmcore::Dump) -> anyhow::Result<Kernel<'_>> {
    Kernel::new(d).context("cannot read the kernel's memory")
}

/// Run `vmcore ps`: the idle tasks, then every task by pid.
pub fn run_ps(args: &PsArgs, out: &mut dyn Write) -> anyhow::Result<Outcome> {
    let d = args.dump.open()?;
    let k = kernel(&d)?;
    let list = k.tasks().context("cannot list tasks")?;
    let outcome = outcome_for(&list.findings);
    if args.json {
        json::write(
            out,
            &PsJson {
                header: DumpHeaderJson::of(&d),
                tasks: list
                    .idle
                    .iter()
                    .map(|t| TaskJson::of(t, true))
                    .chain(list.tasks.iter().map(|t| TaskJson::of(t, false)))
                    .collect(),
                findings: list.findings.iter().map(FindingJson::from).collect(),
            },
        )?;
        return Ok(outcome);
    }
    writeln!(out, "     PID    PPID  CPU        TASK        ST  COMM")?;
    for (t, idle) in list
        .idle
        .iter()
        .map(|t| (t, true))
        .chain(list.tasks.iter().map(|t| (t, false)))
    {
        let mark = if t.running_on.is_some() { '>' } else { ' ' };
        // crash shows kernel threads (and the idle tasks) in brackets.
        let comm = if idle || t.is_kernel_thread() {
            format!("[{}]", t.comm)
        } else {
            t.comm.clone()
        };
        // The idle tasks' CPU is the run queue's, as crash numbers swapper/N.
        let cpu = match (idle, t.running_on) {
            (true, Some(c)) => c,
            _ => t.cpu,
        };
        writeln!(
            out,
            "{mark}{:>7} {:>7} {:>4}  {:016x}  {}   {comm}",
            t.pid, t.ppid, cpu, t.addr, t.state
        )?;
    }
    for f in &list.findings {
        writeln!(out, "warning: task list: {f}")?;
    }
    Ok(outcome)
}

#[derive(Serialize)]
struct ModuleJson {
    name: String,
    text_base: String,
    text_size: u64,
    state: u32,
    symbols: usize,
    module: String,
}

#[derive(Serialize)]
struct ModulesJson {
    #[serde(flatten)]
    header: DumpHeaderJson,
    modules: Vec<ModuleJson>,
    findings: Vec<FindingJson>,
}

/// Run `vmcore modules`: like lsmod, with each module's text base.
pub fn run_modules(args: &ModulesArgs, out: &mut dyn Write) -> anyhow::Result<Outcome> {
    let d = args.dump.open()?;
    let k = kernel(&d)?;
    let mods = k.modules().context("cannot list modules")?;
    let outcome = outcome_for(&mods.findings);
    if args.json {
        json::write(
            out,
            &ModulesJson {
                header: DumpHeaderJson::of(&d),
                modules: mods
                    .modules
                    .iter()
                    .map(|m| ModuleJson {
                        name: m.name.clone(),
                        text_base: hex(m.text_base),
                        text_size: m.text_size,
                        state: m.state,
                        symbols: m.symbols.len(),
                        module: hex(m.addr),
                    })
                    .collect(),
                findings: mods.findings.iter().map(FindingJson::from).collect(),
            },
        )?;
        return Ok(outcome);
    }
    writeln!(
        out,
        "Module                  Base                Size  Symbols"
    )?;
    for m in &mods.modules {
        writeln!(
            out,
            "{:<22}  {:#018x}  {:>6}  {:>7}",
            m.name,
            m.text_base,
            m.text_size,
            m.symbols.len()
        )?;
    }
    if mods.modules.is_empty() {
        writeln!(out, "(no modules loaded)")?;
    }
    for f in &mods.findings {
        writeln!(out, "warning: modules: {f}")?;
    }
    Ok(outcome)
}

#[derive(Serialize)]
struct FrameJson {
    index: usize,
    pc: String,
    sp: String,
    symbol: Option<String>,
    offset: Option<u64>,
    module: Option<String>,
    interrupted: bool,
    user: bool,
    stack: &'static str,
    method: &'static str,
}

#[derive(Serialize)]
struct TaskTraceJson {
    #[serde(flatten)]
    header: DumpHeaderJson,
    task: TaskJson,
    frames: Vec<FrameJson>,
    complete: bool,
    stop: String,
}

fn frames_json(bt: &Backtrace) -> Vec<FrameJson> {
    bt.frames
        .iter()
        .enumerate()
        .map(|(i, f)| FrameJson {
            index: i,
            pc: hex(f.pc),
            sp: hex(f.sp),
            symbol: f.symbol.as_ref().map(|s| s.name.clone()),
            offset: f.symbol.as_ref().map(|s| s.offset),
            module: f.module.clone(),
            interrupted: f.interrupted(),
            user: matches!(f.kind, FrameKind::User { .. }),
            stack: f.stack.name(),
            method: f.method.name(),
        })
        .collect()
}

/// Run `vmcore bt --pid P`: one task's stack, from its saved context (or its CPU's register
/// note when it was running).
pub fn run_bt_pid(
    d: &vmcore::Dump,
    pid: i32,
    json_out: bool,
    out: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let k = kernel(d)?;
    let list = k.tasks().context("cannot list tasks")?;
    let task = list
        .by_pid(pid)
        .with_context(|| format!("no task with pid {pid} in the dump"))?;
    let bt = k
        .task_backtrace(task)
        .with_context(|| format!("cannot unwind pid {pid}"))?;
    let outcome = if bt.stop.is_complete() {
        Outcome::Clean
    } else {
        Outcome::Findings
    };
    if json_out {
        json::write(
            out,
            &TaskTraceJson {
                header: DumpHeaderJson::of(d),
                task: TaskJson::of(task, task.pid == 0),
                frames: frames_json(&bt),
                complete: bt.stop.is_complete(),
                stop: bt.stop.to_string(),
            },
        )?;
        return Ok(outcome);
    }
    let state = match task.running_on {
        Some(cpu) => format!("running on CPU {cpu}"),
        None => format!("state {}, last on CPU {}", task.state, task.cpu),
    };
    writeln!(
        out,
        "PID: {:<6} TASK: {:016x}  COMM: \"{}\"  ({state})",
        task.pid, task.addr, task.comm
    )?;
    for (i, f) in bt.frames.iter().enumerate() {
        let module = match (&f.module, &f.symbol) {
            (Some(m), Some(_)) => format!(" [{m}]"),
            _ => String::new(),
        };
        let mark = match f.kind {
            FrameKind::Call => "",
            FrameKind::Interrupted { .. } => " (interrupted)",
            FrameKind::User { .. } => " (user mode)",
        };
        writeln!(
            out,
            " #{i:<2} [{:016x}] {}{module} at {:016x}{mark}",
            f.sp,
            f.location(),
            f.pc
        )?;
    }
    if !bt.stop.is_complete() {
        writeln!(out, "warning: trace ends early: {}", bt.stop)?;
    }
    Ok(outcome)
}
