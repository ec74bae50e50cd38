//! `vmcore notes`: every ELF note.

use std::io::Write;

use serde::Serialize;

use super::{DumpArg, outcome_of};
use crate::Outcome;
use crate::json::{self, DumpHeaderJson, NoteJson};

/// Arguments of `vmcore notes`.
#[derive(Debug, Clone, clap::Args)]
pub struct NotesArgs {
    #[command(flatten)]
    pub dump: DumpArg,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct NotesJson {
    #[serde(flatten)]
    header: DumpHeaderJson,
    notes: Vec<NoteJson>,
}

/// Run `vmcore notes`.
pub fn run(args: &NotesArgs, out: &mut dyn Write) -> anyhow::Result<Outcome> {
    let d = args.dump.open()?;
    if args.json {
        json::write(
            out,
            &NotesJson {
                header: DumpHeaderJson::of(&d),
                notes: d.notes().iter().map(NoteJson::from).collect(),
            },
        )?;
        return Ok(outcome_of(&d));
    }
    if d.is_headers_only() {
        writeln!(
            out,
            "raw elfcorehdr: notes live in the crashed kernel's memory; PT_NOTE headers:"
        )?;
        for s in d.segments().iter().filter(|s| s.p_type == 4) {
            writeln!(
                out,
                "  phdr {:<4} phys {:#x} size {:#x}",
                s.index, s.p_paddr, s.p_memsz
            )?;
        }
        return Ok(outcome_of(&d));
    }
    writeln!(
        out,
        "{:<12} {:<16} {:>8} {:>12}",
        "owner", "type", "size", "offset"
    )?;
    for n in d.notes() {
        writeln!(
            out,
            "{:<12} {:<16} {:>8} {:>#12x}",
            n.name,
            n.type_name(),
            n.desc.len(),
            n.offset
        )?;
    }
    Ok(outcome_of(&d))
}
