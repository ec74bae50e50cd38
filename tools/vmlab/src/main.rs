//! `vmlab`: run a real-kernel scenario, or recheck a run folder with the host-side checks.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use vmlab::checks::{Break, check_run};
use vmlab::run::{Options, run, say};
use vmlab::scenario::Scenario;

/// Real-kernel tests: a Linux 6.12 guest under QEMU hot-plugs, crashes, and is checked by our
/// tools.
#[derive(Debug, Parser)]
#[command(name = "vmlab")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Boot a guest, drive a scenario, crash it, check everything. Exit 0 only when every
    /// check passed.
    Run {
        /// Scenario file (scenarios/*.json).
        scenario: PathBuf,
        /// Run folder (default target/vmlab/runs/<scenario name>).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Our vmcore binary (default target/release/vmcore).
        #[arg(long)]
        vmcore: Option<PathBuf>,
        /// Boot attempts (TCG sometimes oopses at boot).
        #[arg(long, default_value_t = 3)]
        attempts: u32,
    },
    /// Re-run the host-side header checks on a run folder (or testdata/real): the engine's
    /// build of each `steps/root-<step>` against `steps/elfcorehdr-<step>.bin`, and its replay
    /// of the recorded uevents. Honours VMLAB_BREAK_ENGINE.
    Recheck {
        /// Run folder.
        dir: PathBuf,
        /// Scenario with the per-step expectations (default: DIR/scenario.json, else all in sync).
        #[arg(long)]
        scenario: Option<PathBuf>,
    },
}

fn workspace() -> PathBuf {
    // tools/vmlab -> workspace root; the harness uses scripts/ and target/ from there.
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn main_() -> anyhow::Result<()> {
    match Cli::parse().cmd {
        Cmd::Run {
            scenario,
            out,
            vmcore,
            attempts,
        } => {
            let ws = workspace().canonicalize()?;
            let name = Scenario::load(&scenario)?.name;
            run(&Options {
                scenario,
                out: out.unwrap_or_else(|| ws.join("target/vmlab/runs").join(name)),
                vmcore: vmcore.unwrap_or_else(|| ws.join("target/release/vmcore")),
                workspace: ws,
                attempts: attempts.max(1),
            })
        }
        Cmd::Recheck { dir, scenario } => {
            let sc_path = scenario.or_else(|| {
                let p = dir.join("scenario.json");
                p.exists().then_some(p)
            });
            let mut expects = BTreeMap::new();
            if let Some(p) = sc_path {
                for s in Scenario::load(&p)?.steps {
                    expects.insert(s.name, s.expect);
                }
            }
            let brk = Break::from_env()?;
            let n = check_run(&dir, &expects, brk, say)
                .with_context(|| format!("recheck of {}", dir.display()))?;
            say(&format!(
                "recheck {}: all {n} header checks passed",
                dir.display()
            ));
            Ok(())
        }
    }
}

fn main() -> ExitCode {
    match main_() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vmlab: FAILED: {e:#}");
            ExitCode::FAILURE
        }
    }
}
