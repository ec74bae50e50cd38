//! `vmcore vtop`: translate a kernel virtual address, showing every page-table level.

use std::io::Write;

use anyhow::Context;
use serde_json::json;
use vmcore::paging::{PageOffsetSource, PageTables, Translation};
use vmcore::{Dump, Error, VirtAddr};

use crate::Outcome;

/// Arguments of `vmcore vtop`.
#[derive(Debug, Clone, clap::Args)]
pub struct VtopArgs {
    /// Kernel virtual address (hex with 0x, or decimal).
    #[arg(value_parser = super::parse_u64)]
    pub addr: u64,
    /// Walk the tables loaded in this CPU's CR3 (register note index; QEMU dumps carry CR3)
    /// instead of the kernel's init_top_pgt.
    #[arg(long, value_name = "NOTE_INDEX")]
    pub cpu: Option<usize>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

fn size_name(size: u64) -> &'static str {
    match size {
        0x1000 => "4 KiB",
        0x20_0000 => "2 MiB",
        0x4000_0000 => "1 GiB",
        _ => "?",
    }
}

/// Run `vmcore vtop`. An unmapped address is an answer (outcome `Findings`, naming the level
/// whose entry is not present), not a failure; unusable page tables are errors.
pub fn run(args: &VtopArgs, dump: &Dump, out: &mut dyn Write) -> anyhow::Result<Outcome> {
    let tables: PageTables = match args.cpu {
        Some(i) => dump.cpu_page_tables(i),
        None => dump.kernel_page_tables(),
    }
    .context("cannot find the page tables")?;
    let result = dump.translate_with(&tables, VirtAddr(args.addr));
    let direct_map = dump.page_offset_base().ok();
    if args.json {
        let steps = |t: &Translation| {
            t.steps
                .iter()
                .map(|s| {
                    json!({
                        "level": s.level,
                        "table": format!("{:#x}", s.table.0),
                        "index": s.index,
                        "entry_addr": format!("{:#x}", s.entry_addr.0),
                        "entry": format!("{:#018x}", s.entry),
                    })
                })
                .collect::<Vec<_>>()
        };
        let mut v = json!({
            "virt": format!("{:#x}", args.addr),
            "root": format!("{:#x}", tables.root.0),
            "root_source": tables.source.describe(),
            "levels": tables.levels,
            "page_offset_base": direct_map.map(|p| format!("{:#x}", p.base)),
        });
        match &result {
            Ok(t) => {
                v["phys"] = json!(format!("{:#x}", t.phys.0));
                v["page_size"] = json!(t.page_size);
                v["steps"] = json!(steps(t));
            }
            Err(Error::VirtNotMapped { level, entry, .. }) => {
                v["not_mapped"] = json!({ "level": level, "entry": format!("{entry:#018x}") });
            }
            Err(_) => {}
        }
        if let Err(e) = &result
            && !matches!(e, Error::VirtNotMapped { .. })
        {
            return Err(anyhow::anyhow!("{e}"))
                .with_context(|| format!("cannot translate {:#x}", args.addr));
        }
        serde_json::to_writer_pretty(&mut *out, &crate::json::with_header(dump, v)?)?;
        writeln!(out)?;
        return Ok(if result.is_ok() {
            Outcome::Clean
        } else {
            Outcome::Findings
        });
    }

    writeln!(out, "virtual   {:#018x}", args.addr)?;
    writeln!(
        out,
        "tables    {:#x} ({}), {}-level paging",
        tables.root.0,
        tables.source.describe(),
        tables.levels
    )?;
    if let Some(p) = direct_map {
        let how = match p.source {
            PageOffsetSource::ElfLoad => "from the ELF PT_LOADs",
            PageOffsetSource::PageTableScan => "from a page-table scan",
        };
        writeln!(out, "direct map starts at {:#x} ({how})", p.base)?;
    }
    match result {
        Ok(t) => {
            for s in &t.steps {
                writeln!(
                    out,
                    "{:<4} table {:#012x} index {:3} entry at {:#012x} = {:#018x}",
                    s.level, s.table.0, s.index, s.entry_addr.0, s.entry
                )?;
            }
            writeln!(
                out,
                "physical  {:#x} ({} page)",
                t.phys.0,
                size_name(t.page_size)
            )?;
            Ok(Outcome::Clean)
        }
        Err(e @ Error::VirtNotMapped { .. }) => {
            writeln!(out, "{e}")?;
            Ok(Outcome::Findings)
        }
        Err(e) => Err(anyhow::anyhow!("{e}"))
            .with_context(|| format!("cannot translate {:#x}", args.addr)),
    }
}
