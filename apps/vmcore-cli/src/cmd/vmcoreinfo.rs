//! `vmcore vmcoreinfo`: the VMCOREINFO note.

use std::io::Write;

use serde::Serialize;

use super::{DumpArg, outcome_of};
use crate::Outcome;
use crate::json::{self, DumpHeaderJson};

/// Arguments of `vmcore vmcoreinfo`.
#[derive(Debug, Clone, clap::Args)]
pub struct VmcoreinfoArgs {
    #[command(flatten)]
    pub dump: DumpArg,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Print only the value of this key (e.g. `OSRELEASE`, `SYMBOL(prb)`).
    #[arg(long)]
    pub key: Option<String>,
}

#[derive(Serialize)]
struct VmcoreinfoJson {
    #[serde(flatten)]
    header: DumpHeaderJson,
    offset: Option<String>,
    entries: Vec<(String, String)>,
}

/// Run `vmcore vmcoreinfo`.
pub fn run(args: &VmcoreinfoArgs, out: &mut dyn Write) -> anyhow::Result<Outcome> {
    let d = args.dump.open()?;
    let Some(v) = d.vmcoreinfo() else {
        anyhow::bail!("the dump has no VMCOREINFO note");
    };
    if v.entries().is_empty() {
        anyhow::bail!(
            "the VMCOREINFO note{} holds no KEY=VALUE line",
            v.offset
                .map(|o| format!(" at file offset {o:#x}"))
                .unwrap_or_default()
        );
    }
    if let Some(k) = &args.key {
        match v.get(k) {
            Some(val) => writeln!(out, "{val}")?,
            None => anyhow::bail!("VMCOREINFO has no key {k:?}"),
        }
        return Ok(Outcome::Clean);
    }
    if args.json {
        json::write(
            out,
            &VmcoreinfoJson {
                header: DumpHeaderJson::of(&d),
                offset: v.offset.map(|o| format!("{o:#x}")),
                entries: v.entries().to_vec(),
            },
        )?;
    } else {
        for (k, val) in v.entries() {
            writeln!(out, "{k}={val}")?;
        }
    }
    Ok(outcome_of(&d))
}
