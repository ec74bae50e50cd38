//! `vmcore`: inspect, check and diff Linux crash dumps.
//!
//! The binary is thin: each subcommand lives in `cmd/<name>.rs` with an `Args` struct and a
//! `run` function writing to a `&mut dyn Write`; `main` is the one place that maps results to
//! exit codes (0 clean, 1 findings, 2 unusable input or usage error).

use std::io::{self, Write};
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

mod cmd;
mod fmt;
mod json;

/// What a command found, for the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing to report: exit 0.
    Clean,
    /// Findings at or above the threshold: exit 1.
    Findings,
}

/// Inspect, check and diff Linux crash dumps (ELF vmcores, kdump-compressed, flattened, raw
/// elfcorehdrs).
///
/// Exit codes: 0 clean, 1 findings, 2 unusable input or usage error.
#[derive(Debug, Parser)]
#[command(name = "vmcore", version, propagate_version = true)]
struct Cli {
    /// When to color the output: auto (a terminal, unless NO_COLOR is set), always, never.
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = fmt::ColorWhen::Auto, global = true)]
    color: fmt::ColorWhen,
    #[command(subcommand)]
    cmd: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Summary of a dump: format, kernel, CPUs, memory, findings.
    Info(cmd::info::InfoArgs),
    /// Per-CPU register context, one entry per register note.
    Cpus(cmd::cpus::CpusArgs),
    /// The memory map: physical, virtual and file ranges.
    Map(cmd::map::MapArgs),
    /// VMCOREINFO keys and values.
    Vmcoreinfo(cmd::vmcoreinfo::VmcoreinfoArgs),
    /// Every ELF note with name, type, offset and size.
    Notes(cmd::notes::NotesArgs),
    /// Read physical memory (hexdump, or raw bytes with --raw).
    Read(cmd::read::ReadArgs),
    /// Write any readable dump as an ELF vmcore (excluded pages become zero fill).
    Convert(cmd::convert::ConvertArgs),
    /// Check dumps: structure, hotplug history diff, every page (--deep). For CI.
    Check(cmd::check::CheckArgs),
    /// A dump side by side with the topology replayed from a hotplug history.
    Diff(cmd::diff::DiffArgs),
    /// The kernel log (printk ring buffer), decoded from vmcoreinfo alone.
    Dmesg {
        #[command(flatten)]
        args: cmd::dmesg::DmesgArgs,
        #[command(flatten)]
        dumps: cmd::DumpsArg,
    },
    /// Translate a kernel virtual address (x86_64 and arm64 page-table walks), showing every level.
    Vtop {
        #[command(flatten)]
        args: cmd::vtop::VtopArgs,
        #[command(flatten)]
        dump: cmd::DumpArg,
    },
    /// Kernel backtraces per CPU, from the dump alone (kallsyms + in-memory ORC tables).
    Bt(cmd::bt::BtArgs),
    /// Look up kernel symbols by name or address (kallsyms, from the dump alone).
    Sym(cmd::sym::SymArgs),
    /// Every kernel symbol, in /proc/kallsyms format.
    Ksyms(cmd::sym::KsymsArgs),
    /// Tasks (pid, parent, CPU, state, command) from the dump's own BTF; `>` marks running tasks.
    Ps(cmd::task::PsArgs),
    /// Loaded modules (name, text base, size), like lsmod, from the dump's own BTF.
    Modules(cmd::task::ModulesArgs),
    /// The kernel's or a module's BTF types, read from the dump, as `bpftool btf dump` prints them.
    Btf(cmd::btf::BtfArgs),
    /// Build, update, verify and watch kdump elfcorehdrs (kernel-exact, Linux 6.12 x86_64).
    Elfcorehdr {
        #[command(subcommand)]
        cmd: cmd::elfcorehdr::ElfcorehdrCmd,
    },
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), or write one page per command into a directory.
    Man {
        /// Write vmcore.1 and vmcore-COMMAND.1 here instead of printing vmcore.1.
        #[arg(long, value_name = "DIR")]
        dir: Option<std::path::PathBuf>,
    },
}

fn run(cli: Cli, out: &mut dyn Write) -> anyhow::Result<Outcome> {
    let cmd = cli
        .cmd
        .unwrap_or(Command::Info(cmd::info::InfoArgs::default()));
    match cmd {
        Command::Info(a) => cmd::info::run(&a, out),
        Command::Cpus(a) => cmd::cpus::run(&a, out),
        Command::Map(a) => cmd::map::run(&a, out),
        Command::Vmcoreinfo(a) => cmd::vmcoreinfo::run(&a, out),
        Command::Notes(a) => cmd::notes::run(&a, out),
        Command::Read(a) => cmd::read::run(&a, out),
        Command::Convert(a) => cmd::convert::run(&a, out),
        Command::Check(a) => cmd::check::run(&a, out),
        Command::Diff(a) => cmd::diff::run(&a, out),
        Command::Dmesg { args, dumps } => {
            dumps.run_each(args.json, out, &|d, out| cmd::dmesg::run(&args, d, out))
        }
        Command::Vtop { args, dump } => cmd::vtop::run(&args, &dump.open()?, out),
        Command::Elfcorehdr { cmd } => cmd::elfcorehdr::run(&cmd, out),
        Command::Bt(a) => cmd::bt::run(&a, out),
        Command::Sym(a) => cmd::sym::run_sym(&a, out),
        Command::Ksyms(a) => cmd::sym::run_ksyms(&a, out),
        Command::Ps(a) => cmd::task::run_ps(&a, out),
        Command::Modules(a) => cmd::task::run_modules(&a, out),
        Command::Btf(a) => cmd::btf::run(&a, out),
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "vmcore", out);
            Ok(Outcome::Clean)
        }
        Command::Man { dir } => man(dir.as_deref(), out),
    }
}

/// `vmcore man`: the page of `vmcore`, or with a directory every command's page.
fn man(dir: Option<&std::path::Path>, out: &mut dyn Write) -> anyhow::Result<Outcome> {
    use anyhow::Context as _;
    let cmd = Cli::command();
    let Some(dir) = dir else {
        clap_mangen::Man::new(cmd).render(out)?;
        return Ok(Outcome::Clean);
    };
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut pages = vec![("vmcore".to_string(), cmd.clone())];
    for sub in cmd.get_subcommands() {
        pages.push((format!("vmcore-{}", sub.get_name()), sub.clone()));
        for subsub in sub.get_subcommands() {
            pages.push((
                format!("vmcore-{}-{}", sub.get_name(), subsub.get_name()),
                subsub.clone(),
            ));
        }
    }
    for (name, c) in pages {
        let path = dir.join(format!("{name}.1"));
        let mut buf = Vec::new();
        // clap names commands with &'static str (without its `string` feature); this runs
        // once per page of a short-lived process.
        let title: &'static str = Box::leak(name.clone().into_boxed_str());
        clap_mangen::Man::new(c.name(title)).render(&mut buf)?;
        std::fs::write(&path, buf).with_context(|| format!("cannot write {}", path.display()))?;
        writeln!(out, "{}", path.display())?;
    }
    Ok(Outcome::Clean)
}

fn main() -> ExitCode {
    // --color and NO_COLOR decide clap's own colors (help, usage errors) too, so they are
    // known before parsing.
    let color = fmt::ColorWhen::from_args(std::env::args_os());
    fmt::set_color(color);
    let matches = Cli::command()
        .color(if fmt::color_enabled() {
            clap::ColorChoice::Always
        } else {
            clap::ColorChoice::Never
        })
        .get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => e.exit(),
    };
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let result = run(cli, &mut out).and_then(|o| {
        out.flush()?;
        Ok(o)
    });
    match result {
        Ok(Outcome::Clean) => ExitCode::SUCCESS,
        Ok(Outcome::Findings) => ExitCode::from(1),
        Err(e) => {
            // A closed pipe (`vmcore dmesg | head`) is not an error worth reporting.
            if is_broken_pipe(&e) {
                return ExitCode::SUCCESS;
            }
            let _ = out.flush();
            eprintln!("vmcore: {}: {e:#}", fmt::paint("error", fmt::Paint::Error));
            ExitCode::from(2)
        }
    }
}

/// A closed pipe anywhere in the chain: an `io::Error`, or the one serde_json wraps when a
/// JSON document is written into a closed pipe (`vmcore dmesg --json | head -c 10`).
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
            || c.downcast_ref::<serde_json::Error>()
                .and_then(serde_json::Error::io_error_kind)
                == Some(io::ErrorKind::BrokenPipe)
    })
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        super::Cli::command().debug_assert();
    }
}
