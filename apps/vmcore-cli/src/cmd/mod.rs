//! One module per subcommand.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use vmcore::{Dump, Severity};

use crate::Outcome;

pub mod bt;
pub mod btf;
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
pub mod stale;
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
        open_dump(&path)
    }
}

/// The dumps of `info`, `cpus` and `dmesg`: any number, or the sample when none is given.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct DumpsArg {
    /// The dump files (any supported format; `-` reads a flattened stream from standard
    /// input). Several are reported one after the other, each under a `==> DUMP <==` line
    /// (with --json: a JSON array), except the parts of one makedumpfile --split set, which
    /// are read together as one dump (as a directory of them is). Without one, the bundled
    /// sample dump (a real Linux 6.12 /proc/vmcore) is opened.
    #[arg(value_name = "DUMP")]
    pub dumps: Vec<PathBuf>,
}

impl DumpsArg {
    /// Run `one` on each dump. One dump (or the sample) is reported exactly as before; several
    /// get a header line each, or are gathered into a JSON array with `json`. A dump that
    /// cannot be opened is reported and the others still run; the result is then an error
    /// (exit 2).
    pub fn run_each(
        &self,
        json: bool,
        out: &mut dyn Write,
        one: &dyn Fn(&Dump, &mut dyn Write) -> anyhow::Result<Outcome>,
    ) -> anyhow::Result<Outcome> {
        if self.dumps.len() <= 1 {
            let d = DumpArg {
                dump: self.dumps.first().cloned(),
            }
            .open()?;
            return one(&d, out);
        }
        // Each file is opened once: as a part of one --split set, or as a dump of its own.
        let opened: Vec<anyhow::Result<Dump>> = self.dumps.iter().map(|p| open_dump(p)).collect();
        let split_part = |d: &anyhow::Result<Dump>| {
            d.as_ref()
                .is_ok_and(|d| d.kdump_info().is_some_and(|k| k.split.is_some()))
        };
        if opened.iter().all(split_part) {
            let parts: Vec<Dump> = opened.into_iter().filter_map(Result::ok).collect();
            let d = Dump::from_split_parts(parts)
                .context("these files are --split parts but not one set")?;
            return one(&d, out);
        }
        let mut outcome = Outcome::Clean;
        let mut failed: Vec<String> = Vec::new();
        let mut docs: Vec<serde_json::Value> = Vec::new();
        for (i, (p, d)) in self.dumps.iter().zip(opened).enumerate() {
            let mut buf: Vec<u8> = Vec::new();
            let result = d.and_then(|d| one(&d, &mut buf));
            match &result {
                Ok(o) if *o == Outcome::Findings => outcome = Outcome::Findings,
                Ok(_) => {}
                Err(e) => failed.push(format!("{e:#}")),
            }
            if json {
                docs.push(match &result {
                    Ok(_) => serde_json::from_slice(&buf)?,
                    Err(e) => serde_json::json!({
                        "file": crate::fmt::file_name(Some(p)),
                        "error": format!("{e:#}"),
                    }),
                });
                continue;
            }
            if i > 0 {
                writeln!(out)?;
            }
            writeln!(out, "==> {} <==", p.display())?;
            match &result {
                Ok(_) => out.write_all(&buf)?,
                Err(e) => writeln!(out, "error: {e:#}")?,
            }
        }
        if json {
            crate::json::write(out, &docs)?;
        }
        if !failed.is_empty() {
            out.flush()?;
            anyhow::bail!(
                "{} of {} dumps could not be read: {}",
                failed.len(),
                self.dumps.len(),
                failed.join("; ")
            );
        }
        Ok(outcome)
    }
}

/// Open a dump named on the command line. `-` is standard input and a pipe or FIFO (such as
/// `/dev/stdin` under a pipe) is read as a stream, in one pass: only makedumpfile's flattened
/// format can be (`vmcore::stream`), other formats get an error saying they need a seekable
/// file. Everything else is opened and mapped as a file.
pub fn open_dump(path: &Path) -> anyhow::Result<Dump> {
    let context = || format!("cannot open {}", path.display());
    if path.as_os_str() == "-" {
        let stdin = std::io::stdin();
        if stdin.is_terminal() {
            anyhow::bail!(
                "cannot open - (standard input): it is a terminal; pipe a flattened dump into it \
                 (makedumpfile -F … | vmcore info -)"
            );
        }
        return Dump::from_stream(stdin.lock(), "-")
            .map_err(|e| anyhow::Error::new(e).context("cannot open - (standard input)"));
    }
    Dump::open_input(path).with_context(context)
}

/// The sample dump (`real_data::sample_path`: the source tree's, or an installed copy).
pub fn sample_path() -> anyhow::Result<PathBuf> {
    Ok(real_data::sample_path()?)
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
