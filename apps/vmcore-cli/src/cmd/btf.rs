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
    #[arg(long, conflicts_with = "json")]
    pub raw_bytes: bool,
    /// Print JSON: `types`, each with `id`, `kind` (bpftool's name), `name` and `raw` (its
    /// bpftool lines), and `missing` (the `--type` names no type has).
    #[arg(long)]
    pub json: bool,
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
    let mut picked = Vec::new();
    let mut missing = Vec::new();
    if args.types.is_empty() {
        picked.extend(btf.types());
    }
    for name in &args.types {
        let before = picked.len();
        picked.extend(btf.types_named(name));
        if picked.len() == before {
            missing.push(name.as_str());
        }
    }
    if args.json {
        let types: Vec<serde_json::Value> = picked
            .iter()
            .map(|t| {
                serde_json::json!({
                    "id": t.id(),
                    "kind": t.raw_kind(),
                    "name": t.name(),
                    "raw": t.raw_dump(),
                })
            })
            .collect();
        let doc = serde_json::json!({
            "btf": args.module.as_deref().unwrap_or("vmlinux"),
            "types": types,
            "missing": missing,
        });
        crate::json::write(out, &crate::json::with_header(&d, doc)?)?;
    } else {
        for t in &picked {
            writeln!(out, "{}", t.raw_dump())?;
        }
        for name in &missing {
            eprintln!("vmcore: no BTF type named {name:?}");
        }
    }
    Ok(if missing.is_empty() {
        Outcome::Clean
    } else {
        Outcome::Findings
    })
}
