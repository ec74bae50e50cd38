//! `vmcore convert IN -o OUT --to elf`: write any readable dump as an ELF vmcore.
//!
//! The conversion itself is `vmcore::kdump::convert::write_elf` (streamed; excluded and lost
//! pages become zero fill, `p_filesz < p_memsz`). This module opens the files, draws a
//! progress bar on a terminal (indicatif hides it otherwise) and prints a summary.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use anyhow::Context;

use crate::Outcome;

/// Output formats of `vmcore convert`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ConvertTarget {
    /// ELF64 vmcore, as /proc/vmcore or `makedumpfile -E` writes it.
    #[default]
    Elf,
}

/// Arguments of `vmcore convert`.
#[derive(Debug, Clone, clap::Args)]
pub struct ConvertArgs {
    /// The dump to convert (any format vmcore reads: ELF, kdump-compressed, flattened).
    pub input: PathBuf,
    /// Where to write the result (`-` for standard output).
    #[arg(short, long)]
    pub output: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ConvertTarget::Elf)]
    pub to: ConvertTarget,
    /// Do not draw a progress bar.
    #[arg(long)]
    pub no_progress: bool,
}

/// Run `vmcore convert`.
pub fn run(args: &ConvertArgs, out: &mut dyn Write) -> anyhow::Result<Outcome> {
    let dump = vmcore::Dump::open(&args.input)
        .with_context(|| format!("opening {}", args.input.display()))?;
    let to_stdout = args.output.as_os_str() == "-";
    let mut sink: Box<dyn Write> = if to_stdout {
        Box::new(BufWriter::with_capacity(1 << 20, std::io::stdout().lock()))
    } else {
        let f = File::create(&args.output)
            .with_context(|| format!("creating {}", args.output.display()))?;
        Box::new(BufWriter::with_capacity(1 << 20, f))
    };
    let bar = if args.no_progress {
        indicatif::ProgressBar::hidden()
    } else {
        // Draws on stderr, and only when stderr is a terminal.
        let b = indicatif::ProgressBar::new(0);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} {msg} [{bar:40}] {percent:>3}% eta {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        b.set_message("converting");
        b
    };
    let report = vmcore::kdump::convert::write_elf(&dump, &mut sink, |done, total| {
        bar.set_length(total);
        bar.set_position(done);
    })
    .with_context(|| format!("writing {}", args.output.display()))?;
    bar.finish_and_clear();
    drop(sink);
    // With `-o -` the data owns stdout; the summary goes to stderr then.
    let mut err = std::io::stderr();
    let summary: &mut dyn Write = if to_stdout { &mut err } else { out };
    writeln!(
        summary,
        "{} -> {}: ELF64, {} PT_LOADs, {} bytes, {} pages written",
        args.input.display(),
        args.output.display(),
        report.loads,
        report.bytes,
        report.pages_written
    )?;
    writeln!(
        summary,
        "zero-filled (p_filesz < p_memsz): {} excluded, {} lost, {} unreadable",
        report.pages_excluded, report.pages_lost, report.pages_failed
    )?;
    for (addr, why) in &report.failures {
        writeln!(summary, "  unreadable page at {addr:#x}: {why}")?;
    }
    Ok(if report.pages_failed > 0 || report.pages_lost > 0 {
        Outcome::Findings
    } else {
        Outcome::Clean
    })
}
