//! `vmcore btf`: the kernel's (or a module's) BTF type information, read from the dump's own
//! memory, printed as `bpftool btf dump ... format raw` prints it; `--raw-bytes` writes the
//! blob itself, for bpftool or libbpf.

use std::io::{IsTerminal, Write};

use anyhow::Context;

use super::DumpArg;
use crate::Outcome;

/// Arguments of `vmcore btf`.
#[derive(Debug, Clone, clap::Args)]
pub struct BtfArgs {
    #[command(flatten)]
    pub dump: DumpArg,
    /// Only types of this name (any kind; repeatable), as `bpftool btf dump` lines.
    #[arg(long = "type", value_name = "NAME")]
    pub types: Vec<String>,
    /// A loaded module's BTF (split BTF over vmlinux's: its ids continue vmlinux's) instead of
    /// the kernel's.
    #[arg(long, value_name = "MODULE")]
    pub module: Option<String>,
    /// Write the BTF blob itself (for `bpftool btf dump file FILE`; a module's needs
    /// `--base-btf` with the kernel's). Refused on a terminal.
    #[arg(long)]
    pub raw_bytes: bool,
}

/// Run `vmcore btf`. Exit 1 when a `--type` name matched nothing.
pub fn run(args: &BtfArgs, out: &mut dyn Write) -> anyhow::Result<Outcome> {
    let d = args.dump.open()?;
    let kernel = kernel_introspect::Kernel::new(&d).context("cannot read the kernel")?;
    let modules;
    let btf = match &args.module {
        None => kernel.btf().context("cannot read the kernel's BTF")?,
        Some(name) => {
            modules = kernel.module_btfs().context("cannot read module BTF")?;
            let found = modules.get(name).with_context(|| {
                let have: Vec<&str> = modules.modules.iter().map(|m| m.name.as_str()).collect();
                format!(
                    "no BTF for module {name:?} (modules with BTF: {})",
                    if have.is_empty() {
                        "none".to_string()
                    } else {
                        have.join(", ")
                    }
                )
            })?;
            &found.btf
        }
    };
    if args.raw_bytes {
        anyhow::ensure!(
            !std::io::stdout().is_terminal(),
            "--raw-bytes writes binary BTF: redirect it to a file or a pipe"
        );
        out.write_all(btf.bytes())?;
        return Ok(Outcome::Clean);
    }
    if args.types.is_empty() {
        for t in btf.types() {
            writeln!(out, "{}", t.raw_dump())?;
        }
        return Ok(Outcome::Clean);
    }
    let mut outcome = Outcome::Clean;
    for name in &args.types {
        let mut any = false;
        for t in btf.types_named(name) {
            writeln!(out, "{}", t.raw_dump())?;
            any = true;
        }
        if !any {
            eprintln!("vmcore: no BTF type named {name:?}");
            outcome = Outcome::Findings;
        }
    }
    Ok(outcome)
}
