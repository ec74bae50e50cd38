//! `vmcore sym` and `vmcore ksyms`: the kernel's symbol table (kallsyms), decoded from the dump
//! alone.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;

use super::{DumpArg, parse_u64};
use crate::Outcome;

/// Arguments of `vmcore sym`.
#[derive(Debug, Clone, clap::Args)]
pub struct SymArgs {
    /// Symbol names and/or addresses (hex with 0x, or decimal), then optionally the dump file
    /// (the last argument, when it names an existing file). Without a dump, the bundled sample.
    #[arg(required = true, value_name = "NAME|ADDR... [DUMP]")]
    pub args: Vec<String>,
}

/// Arguments of `vmcore ksyms`.
#[derive(Debug, Clone, clap::Args)]
pub struct KsymsArgs {
    #[command(flatten)]
    pub dump: DumpArg,
}

/// Split `NAME|ADDR... [DUMP]`: the last argument is the dump when it is an existing file and
/// not the only argument.
fn split(args: &[String]) -> (Vec<String>, DumpArg) {
    if args.len() > 1 {
        if let Some(last) = args.last() {
            if std::path::Path::new(last).is_file() {
                return (
                    args[..args.len() - 1].to_vec(),
                    DumpArg {
                        dump: Some(PathBuf::from(last)),
                    },
                );
            }
        }
    }
    (args.to_vec(), DumpArg::default())
}

/// Run `vmcore sym`: `ADDR TYPE NAME` for a name, `ADDR NAME+OFF/SIZE` for an address. Exit 1
/// when something did not resolve.
pub fn run_sym(args: &SymArgs, out: &mut dyn Write) -> anyhow::Result<Outcome> {
    let (queries, dump) = split(&args.args);
    let d = dump.open()?;
    let kernel = kernel_introspect::Kernel::new(&d).context("cannot read the kernel")?;
    let syms = kernel.symbols().context("cannot decode kallsyms")?;
    let mut outcome = Outcome::Clean;
    for q in &queries {
        let as_addr = (q.starts_with("0x") || q.chars().all(|c| c.is_ascii_digit()))
            .then(|| parse_u64(q).ok())
            .flatten();
        match as_addr {
            // Kernel image first, then module text (`name+off/size [module]`).
            Some(addr) => match kernel.symbolize_any(addr) {
                Some(s) => writeln!(out, "{addr:016x} {s}")?,
                None => {
                    writeln!(out, "{addr:016x} (not in the kernel image)")?;
                    outcome = Outcome::Findings;
                }
            },
            None => {
                let mut any = false;
                for s in syms.lookup_all(q) {
                    writeln!(out, "{:016x} {} {}", s.addr, s.kind, s.name)?;
                    any = true;
                }
                if let Ok(mods) = kernel.modules() {
                    for (m, s) in mods.symbols().filter(|(_, s)| s.name == *q && !s.undefined) {
                        writeln!(out, "{:016x} {} {}\t[{}]", s.addr, s.kind, s.name, m.name)?;
                        any = true;
                    }
                }
                if !any {
                    writeln!(out, "{q}: no such kernel symbol")?;
                    outcome = Outcome::Findings;
                }
            }
        }
    }
    Ok(outcome)
}

/// Run `vmcore ksyms`: every symbol in `/proc/kallsyms` format, in kallsyms order.
pub fn run_ksyms(args: &KsymsArgs, out: &mut dyn Write) -> anyhow::Result<Outcome> {
    let d = args.dump.open()?;
    let kernel = kernel_introspect::Kernel::new(&d).context("cannot read the kernel")?;
    let syms = kernel.symbols().context("cannot decode kallsyms")?;
    for s in syms.iter() {
        writeln!(out, "{:016x} {} {}", s.addr, s.kind, s.name)?;
    }
    // Module symbols follow, as in /proc/kallsyms (needs the dump's BTF for `struct module`).
    if let Ok(mods) = kernel.modules() {
        for (m, s) in mods.symbols() {
            writeln!(out, "{:016x} {} {}\t[{}]", s.addr, s.kind, s.name, m.name)?;
        }
    }
    Ok(Outcome::Clean)
}
