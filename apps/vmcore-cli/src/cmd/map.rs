//! `vmcore map`: the memory map.

use std::io::Write;

use serde::Serialize;

use super::{DumpArg, outcome_of};
use crate::Outcome;
use crate::json::{self, DumpHeaderJson, RangeJson, SegmentJson};

/// Arguments of `vmcore map`.
#[derive(Debug, Clone, clap::Args)]
pub struct MapArgs {
    #[command(flatten)]
    pub dump: DumpArg,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Also list every ELF program header as the file has it (like `readelf -l`).
    #[arg(long)]
    pub segments: bool,
}

#[derive(Serialize)]
struct MapJson {
    #[serde(flatten)]
    header: DumpHeaderJson,
    ranges: Vec<RangeJson>,
    segments: Vec<SegmentJson>,
}

/// Run `vmcore map`.
pub fn run(args: &MapArgs, out: &mut dyn Write) -> anyhow::Result<Outcome> {
    let d = args.dump.open()?;
    if args.json {
        json::write(
            out,
            &MapJson {
                header: DumpHeaderJson::of(&d),
                ranges: d.memory().ranges().iter().map(RangeJson::from).collect(),
                segments: d.segments().iter().map(SegmentJson::from).collect(),
            },
        )?;
        return Ok(outcome_of(&d));
    }
    writeln!(
        out,
        "{:<12} {:<18} {:<18} {:>12} {:<18} {:<12} note",
        "kind", "phys start", "phys end", "size", "virt start", "file offset"
    )?;
    for r in d.memory().ranges() {
        let kind = match r.kind {
            vmcore::RangeKind::Load => "load",
            vmcore::RangeKind::KernelText => "kernel-text",
            vmcore::RangeKind::KdumpRam => "ram",
        };
        let mut note = String::new();
        if r.missing() > 0 {
            note = format!("TRUNCATED: {:#x} bytes missing", r.missing());
        } else if r.file_size < r.phys.len() && r.file_offset.is_some() {
            note = format!("zero-filled from +{:#x}", r.file_size);
        }
        writeln!(
            out,
            "{:<12} {:<#18x} {:<#18x} {:>#12x} {:<18} {:<12} {}",
            kind,
            r.phys.start.0,
            r.phys.last(),
            r.phys.len(),
            r.virt
                .map(|v| format!("{:#x}", v.0))
                .unwrap_or_else(|| "-".into()),
            r.file_offset
                .map(|o| format!("{:#x}", o.0))
                .unwrap_or_else(|| "-".into()),
            note
        )?;
    }
    if args.segments && !d.segments().is_empty() {
        writeln!(out)?;
        writeln!(
            out,
            "{:<5} {:<5} {:<18} {:<18} {:<18} {:<12} {:<12} {:<3} align",
            "phdr", "type", "offset", "vaddr", "paddr", "filesz", "memsz", "flg"
        )?;
        for s in d.segments() {
            writeln!(
                out,
                "{:<5} {:<5} {:<#18x} {:<#18x} {:<#18x} {:<#12x} {:<#12x} {:<3} {:#x}",
                s.index,
                s.type_name(),
                s.p_offset,
                s.p_vaddr,
                s.p_paddr,
                s.p_filesz,
                s.p_memsz,
                s.flags_str(),
                s.p_align
            )?;
        }
    }
    Ok(outcome_of(&d))
}
