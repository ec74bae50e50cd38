//! One module per subcommand.

use std::path::PathBuf;

use anyhow::Context;
use vmcore::{Dump, Severity};

use crate::Outcome;

pub mod bt;
pub mod check;
pub mod convert;
pub mod cpus;
pub mod diff;
pub mod dmesg;
pub mod elfcorehdr;
pub mod info;
pub mod map;
pub mod notes;
pub mod read;
pub mod sym;
pub mod task;
pub mod vmcoreinfo;
pub mod vtop;

/// The dump argument shared by every dump command: a path, or the bundled sample when absent.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct DumpArg {
    /// The dump file (any supported format). Without it, the bundled sample dump (a real Linux
    /// 6.12 /proc/vmcore) is opened.
    pub dump: Option<PathBuf>,
}

impl DumpArg {
    /// Open the dump (or the sample).
    pub fn open(&self) -> anyhow::Result<Dump> {
        let path = match &self.dump {
            Some(p) => p.clone(),
            None => sample_path()?,
        };
        Dump::open(&path).with_context(|| format!("cannot open {}", path.display()))
    }
}

/// The bundled sample dump, decompressed on first use.
pub fn sample_path() -> anyhow::Result<PathBuf> {
    real_data::path("kdump/proc-vmcore.elf").context(
        "the bundled sample dump (testdata/real/kdump/proc-vmcore.elf.zst) is not available",
    )
}

/// Clean, or Findings when the dump has warnings or errors.
pub fn outcome_of(dump: &Dump) -> Outcome {
    if dump
        .findings()
        .iter()
        .any(|f| f.severity >= Severity::Warning)
    {
        Outcome::Findings
    } else {
        Outcome::Clean
    }
}

/// Parse a number given as hex (`0x…`) or decimal.
pub fn parse_u64(s: &str) -> Result<u64, String> {
    let t = s.trim().replace('_', "");
    let r = if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        u64::from_str_radix(h, 16)
    } else {
        t.parse()
    };
    r.map_err(|e| format!("{s:?} is not a number (hex with 0x, or decimal): {e}"))
}
