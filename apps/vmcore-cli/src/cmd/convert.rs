//! `vmcore convert IN -o OUT --to elf`: write any readable dump as an ELF vmcore.
//!
//! The conversion itself is `vmcore::convert::write_elf` (streamed; excluded and lost
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
    let to_stdout = args.output.as_os_str() == "-";
    // Before the (long) conversion: a directory can never be renamed over.
    if !to_stdout && args.output.is_dir() {
        anyhow::bail!(
            "-o {} is a directory: name the file to write, e.g. -o {}",
            args.output.display(),
            args.output.join("vmcore.elf").display()
        );
    }
    let dump = super::open_dump(&args.input)?;
    if !to_stdout
        && let (Ok(a), Ok(b)) = (args.input.canonicalize(), args.output.canonicalize())
        && a == b
    {
        anyhow::bail!("refusing to overwrite the input {}", args.input.display());
    }
    // Write next to the target and rename at the end, so a failed or interrupted conversion
    // never leaves a half-written file under the name the user asked for. The guard removes
    // the partial file on every way out but the rename (errors and panics); partial files of
    // killed runs, whose process is gone, are removed by the next run.
    let tmp = {
        let mut t = args.output.clone().into_os_string();
        t.push(format!(".partial.{}", std::process::id()));
        PathBuf::from(t)
    };
    let mut partial = None;
    let mut sink: Box<dyn Write> = if to_stdout {
        Box::new(BufWriter::with_capacity(1 << 20, std::io::stdout().lock()))
    } else {
        super::stale::remove_stale_partials(&args.output);
        let f = File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
        partial = Some(super::stale::RemoveOnDrop(tmp.clone()));
        Box::new(BufWriter::with_capacity(1 << 20, f))
    };
    let result = convert_into(&dump, &mut sink, args.no_progress).and_then(|r| {
        sink.flush()?;
        Ok(r)
    });
    drop(sink);
    let report = result.with_context(|| format!("writing {}", args.output.display()))?;
    if let Some(guard) = partial {
        std::fs::rename(&tmp, &args.output)
            .with_context(|| format!("renaming {} to {}", tmp.display(), args.output.display()))?;
        guard.disarm();
    }
    summarize(args, to_stdout, &report, out)
}

fn convert_into(
    dump: &vmcore::Dump,
    sink: &mut Box<dyn Write>,
    no_progress: bool,
) -> anyhow::Result<vmcore::convert::ConvertReport> {
    let bar = if no_progress {
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
    let report = vmcore::convert::write_elf(dump, sink, |done, total| {
        bar.set_length(total);
        bar.set_position(done);
    })?;
    bar.finish_and_clear();
    Ok(report)
}

fn summarize(
    args: &ConvertArgs,
    to_stdout: bool,
    report: &vmcore::convert::ConvertReport,
    out: &mut dyn Write,
) -> anyhow::Result<Outcome> {
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
    if report.pages_zero > 0 {
        writeln!(
            summary,
            "zero-filled: {} pages that read as zeros without being stored (zero fill or holes \
             of the input)",
            report.pages_zero
        )?;
    }
    for (addr, why) in &report.failures {
        writeln!(summary, "  unreadable page at {addr:#x}: {why}")?;
    }
    if report.pages_written == 0 {
        writeln!(
            summary,
            "no page of memory was written: the input stores none that can be read"
        )?;
    }
    Ok(
        if report.pages_failed > 0 || report.pages_lost > 0 || report.pages_written == 0 {
            Outcome::Findings
        } else {
            Outcome::Clean
        },
    )
}
