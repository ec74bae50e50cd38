//! `vmcore cpus`: per-CPU register context.

use std::io::Write;

use serde::Serialize;

use super::{DumpsArg, outcome_of};
use crate::Outcome;
use crate::json::{self, CpuJson, DumpHeaderJson};

/// Arguments of `vmcore cpus`.
#[derive(Debug, Clone, clap::Args)]
pub struct CpusArgs {
    #[command(flatten)]
    pub dumps: DumpsArg,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// A captured procfs/sysfs root: name the CPU of each register note of a kernel dump by
    /// finding the note in that CPU's crash_notes buffer inside the dump.
    #[arg(long, value_name = "DIR")]
    pub state: Option<std::path::PathBuf>,
    /// A raw elfcorehdr: same, with the crash_notes addresses of its CPU PT_NOTEs.
    #[arg(long, value_name = "FILE")]
    pub elfcorehdr: Option<std::path::PathBuf>,
}

/// The CPU of each register note from crash_notes (`--state` / `--elfcorehdr`), if given.
fn identity(args: &CpusArgs, d: &vmcore::Dump) -> anyhow::Result<Option<hotplug::CpuIdentity>> {
    use anyhow::Context;
    let locator = if let Some(dir) = &args.state {
        let s = elfcorehdr::SystemState::from_root(dir)
            .with_context(|| format!("cannot read state {}", dir.display()))?;
        hotplug::NoteLocator::from_state(&s)
    } else if let Some(f) = &args.elfcorehdr {
        let b = std::fs::read(f).with_context(|| format!("cannot read {}", f.display()))?;
        let h = elfcorehdr::Elfcorehdr::parse(&b).with_context(|| format!("{}", f.display()))?;
        hotplug::NoteLocator::from_elfcorehdr(&h, None)
    } else {
        return Ok(None);
    };
    Ok(Some(hotplug::identify(d, &locator)))
}

#[derive(Serialize)]
struct CpusJson {
    #[serde(flatten)]
    header: DumpHeaderJson,
    cpus: Vec<CpuJson>,
}

/// Run `vmcore cpus` on each dump.
pub fn run(args: &CpusArgs, out: &mut dyn Write) -> anyhow::Result<Outcome> {
    args.dumps
        .run_each(args.json, out, &|d, out| run_one(args, d, out))
}

fn run_one(args: &CpusArgs, d: &vmcore::Dump, out: &mut dyn Write) -> anyhow::Result<Outcome> {
    let id = identity(args, d)?;
    // Without --state/--elfcorehdr the kernel itself says: each note is in its CPU's
    // crash_notes buffer, found through kallsyms (none of this works without vmcoreinfo).
    let kernel = d
        .vmcoreinfo()
        .and_then(|_| kernel_introspect::Kernel::new(d).ok());
    let note_cpus = kernel
        .as_ref()
        .and_then(|k| k.note_cpus().ok())
        .unwrap_or_default();
    let from_notes = |i: usize| note_cpus.get(i).copied().flatten();
    // Without crash_notes (no kallsyms), a kernel dump's own log names the crashing CPU (and
    // the note order the CPUs below it).
    let crashed = match &id {
        None if d
            .cpus()
            .iter()
            .any(|c| c.cpu.is_none() && from_notes(c.note_index).is_none()) =>
        {
            d.kernel_log()
                .ok()
                .and_then(|log| hotplug::crashing_cpu_from_log(d, &log))
        }
        _ => None,
    };
    let from_log = |i: usize| {
        let c = crashed.as_ref()?;
        if c.note_index == i {
            return Some((c.cpu, "the crashing CPU, named by the kernel log"));
        }
        c.by_order
            .iter()
            .find(|(n, _)| *n == i)
            .map(|&(_, cpu)| (cpu, "by note order below the crashing CPU"))
    };
    let cpu_of = |c: &vmcore::CpuContext| {
        c.cpu
            .or_else(|| id.as_ref().and_then(|i| i.cpu_of_note(c.note_index)))
            .or_else(|| from_notes(c.note_index))
            .or_else(|| from_log(c.note_index).map(|(cpu, _)| cpu))
    };
    let symbol_of = |c: &vmcore::CpuContext| {
        let syms = kernel.as_ref()?.symbols().ok()?;
        Some(syms.symbolize(c.regs?.pc())?.to_string())
    };
    if args.json {
        json::write(
            out,
            &CpusJson {
                header: DumpHeaderJson::of(d),
                cpus: d
                    .cpus()
                    .iter()
                    .map(|c| CpuJson {
                        cpu: cpu_of(c),
                        symbol: symbol_of(c),
                        ..CpuJson::from(c)
                    })
                    .collect(),
            },
        )?;
        return Ok(outcome_of(d));
    }
    if d.cpus().is_empty() {
        writeln!(out, "no register notes")?;
    }
    for c in d.cpus() {
        let who = match cpu_of(c) {
            Some(n) => format!("CPU {n}"),
            None => "CPU ?".to_string(),
        };
        write!(
            out,
            "note {} ({who}, pid {}) at offset {:#x}",
            c.note_index, c.pid, c.note_offset
        )?;
        let how = match (c.cpu, &id, from_notes(c.note_index)) {
            (None, None, Some(_)) => Some("identified by its per-CPU crash_notes buffer"),
            (None, None, None) => from_log(c.note_index).map(|(_, how)| how),
            _ => None,
        };
        match how {
            Some(how) => writeln!(out, ": {how}")?,
            None => writeln!(out)?,
        }
        if let Some(at) = symbol_of(c) {
            writeln!(out, "  at {at}")?;
        }
        match &c.regs {
            None => writeln!(
                out,
                "  no context: {}",
                c.problem
                    .as_ref()
                    .map_or_else(|| "no registers".to_string(), ToString::to_string)
            )?,
            Some(r) => {
                for chunk in r.named().chunks(3) {
                    let line: Vec<String> = chunk
                        .iter()
                        .map(|(n, v)| format!("{n:>8} {v:#018x}"))
                        .collect();
                    writeln!(out, "  {}", line.join("  "))?;
                }
            }
        }
        if let Some(q) = &c.qemu {
            writeln!(
                out,
                "  qemu: cr0 {:#x} cr2 {:#x} cr3 {:#x} cr4 {:#x}",
                q.cr[0], q.cr[2], q.cr[3], q.cr[4]
            )?;
            writeln!(
                out,
                "        gdt {:#x}/{:#x} idt {:#x}/{:#x} fs.base {:#x} gs.base {:#x}{}",
                q.gdt.base,
                q.gdt.limit,
                q.idt.base,
                q.idt.limit,
                q.fs.base,
                q.gs.base,
                q.kernel_gs_base
                    .map(|k| format!(" kernel_gs_base {k:#x}"))
                    .unwrap_or_default()
            )?;
            for (n, s) in [
                ("cs", q.cs),
                ("ss", q.ss),
                ("ds", q.ds),
                ("es", q.es),
                ("fs", q.fs),
                ("gs", q.gs),
                ("tr", q.tr),
                ("ldt", q.ldt),
            ] {
                writeln!(
                    out,
                    "        {n:<3} sel {:#06x} base {:#x} limit {:#x} flags {:#x}",
                    s.selector, s.base, s.limit, s.flags
                )?;
            }
        }
    }
    Ok(outcome_of(d))
}
