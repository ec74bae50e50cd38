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
    /// x86_64: walk the tables loaded in this CPU's CR3 (register note index; QEMU dumps carry CR3)
    /// instead of the kernel's init_top_pgt.
    #[arg(long, value_name = "NOTE_INDEX")]
    pub cpu: Option<usize>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

fn size_name(size: u64) -> String {
    match size {
        0 => "?".into(),
        s if s >= 1 << 40 && s % (1 << 40) == 0 => format!("{} TiB", s >> 40),
        s if s >= 1 << 30 && s % (1 << 30) == 0 => format!("{} GiB", s >> 30),
        s if s >= 1 << 20 && s % (1 << 20) == 0 => format!("{} MiB", s >> 20),
        s if s % 1024 == 0 => format!("{} KiB", s >> 10),
        _ => "?".into(),
    }
}

/// Run `vmcore vtop`. An unmapped address is an answer (outcome `Findings`, naming the level
/// whose entry is not present), not a failure; unusable page tables are errors.
pub fn run(args: &VtopArgs, dump: &Dump, out: &mut dyn Write) -> anyhow::Result<Outcome> {
    if dump.machine() == vmcore::Machine::Aarch64 {
        return run_arm64(args, dump, out);
    }
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

/// `vmcore vtop` on arm64: the walk of `swapper_pg_dir`, and the linear-map arithmetic
/// (`__pa`) beside it when the address is in the linear map, so the two can be compared.
fn run_arm64(args: &VtopArgs, dump: &Dump, out: &mut dyn Write) -> anyhow::Result<Outcome> {
    if args.cpu.is_some() {
        anyhow::bail!(
            "--cpu: arm64 register notes carry no TTBR, so only the kernel's swapper_pg_dir can be walked (drop --cpu)"
        );
    }
    let space = dump.arm64_space().context("cannot find the page tables")?;
    let t = &space.tables;
    let result = space.translate(&|pa, buf| dump.read_phys(pa, buf), VirtAddr(args.addr));
    let linear = space.linear_to_phys(args.addr);
    let agrees = |t: &Translation| linear.map(|pa| pa == t.phys.0);
    if args.json {
        let mut v = json!({
            "virt": format!("{:#x}", args.addr),
            "root": format!("{:#x}", t.root.0),
            "root_source": t.source.describe(),
            "levels": t.layout.levels,
            "granule": t.layout.page_size(),
            "va_bits": t.layout.va_bits,
            "config_va_bits": space.config_va_bits,
            "kimage_voffset": format!("{:#x}", space.kimage_voffset),
            "phys_offset": format!("{:#x}", space.phys_offset),
            "page_offset": space.linear.map(|l| format!("{:#x}", l.page_offset)),
            "linear_map_phys": linear.map(|pa| format!("{pa:#x}")),
        });
        match &result {
            Ok(tr) => {
                v["phys"] = json!(format!("{:#x}", tr.phys.0));
                v["page_size"] = json!(tr.page_size);
                v["contiguous"] = json!(tr.contiguous);
                v["linear_map_agrees"] = json!(agrees(tr));
                v["steps"] = json!(
                    tr.steps
                        .iter()
                        .map(|s| json!({
                            "level": s.level,
                            "table": format!("{:#x}", s.table.0),
                            "index": s.index,
                            "entry_addr": format!("{:#x}", s.entry_addr.0),
                            "entry": format!("{:#018x}", s.entry),
                        }))
                        .collect::<Vec<_>>()
                );
            }
            Err(Error::VirtNotMapped { level, entry, .. }) => {
                v["not_mapped"] = json!({ "level": level, "entry": format!("{entry:#018x}") });
            }
            Err(e) => {
                return Err(anyhow::anyhow!("{e}"))
                    .with_context(|| format!("cannot translate {:#x}", args.addr));
            }
        }
        serde_json::to_writer_pretty(&mut *out, &crate::json::with_header(dump, v)?)?;
        writeln!(out)?;
        return Ok(match &result {
            Ok(tr) if agrees(tr) != Some(false) => Outcome::Clean,
            _ => Outcome::Findings,
        });
    }
    writeln!(out, "virtual   {:#018x}", args.addr)?;
    let t1sz = space
        .t1sz
        .map_or_else(String::new, |t| format!("TCR_EL1_T1SZ {t}, "));
    writeln!(
        out,
        "tables    {:#x} ({}), {}-level, {} granule, {}-bit VA ({t1sz}VA_BITS {})",
        t.root.0,
        t.source.describe(),
        t.layout.levels,
        size_name(t.layout.page_size()),
        t.layout.va_bits,
        space.config_va_bits
    )?;
    if let Some(l) = space.linear {
        writeln!(
            out,
            "linear map starts at {:#x} (PAGE_OFFSET), PHYS_OFFSET {:#x}; kimage_voffset {:#x}",
            l.page_offset, space.phys_offset, space.kimage_voffset
        )?;
    }
    match result {
        Ok(tr) => {
            for s in &tr.steps {
                writeln!(
                    out,
                    "{:<4} table {:#012x} index {:4} entry at {:#012x} = {:#018x}",
                    s.level, s.table.0, s.index, s.entry_addr.0, s.entry
                )?;
            }
            let kind = if tr.steps.len() < usize::from(t.layout.levels) {
                "block"
            } else {
                "page"
            };
            let cont = if tr.contiguous { ", contiguous" } else { "" };
            writeln!(
                out,
                "physical  {:#x} ({} {kind}{cont})",
                tr.phys.0,
                size_name(tr.page_size)
            )?;
            match linear {
                Some(pa) if pa == tr.phys.0 => {
                    writeln!(out, "linear map: __pa = {pa:#x}, the same")?;
                    Ok(Outcome::Clean)
                }
                Some(pa) => {
                    writeln!(
                        out,
                        "linear map: __pa = {pa:#x}, which DIFFERS from the walk: PHYS_OFFSET or the tables are wrong"
                    )?;
                    Ok(Outcome::Findings)
                }
                None => Ok(Outcome::Clean),
            }
        }
        Err(e @ Error::VirtNotMapped { .. }) => {
            writeln!(out, "{e}")?;
            if let Some(pa) = linear {
                writeln!(out, "linear map: __pa would be {pa:#x}")?;
            }
            Ok(Outcome::Findings)
        }
        Err(e) => Err(anyhow::anyhow!("{e}"))
            .with_context(|| format!("cannot translate {:#x}", args.addr)),
    }
}
