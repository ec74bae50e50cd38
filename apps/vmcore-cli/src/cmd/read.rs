//! `vmcore read`: physical memory as a hexdump or raw bytes.

use std::io::Write;

use anyhow::Context;
use vmcore::PhysAddr;

use super::{DumpArg, parse_u64};
use crate::Outcome;

/// Largest read, so a typo cannot ask for terabytes.
const MAX_LEN: u64 = 1 << 30;

/// Arguments of `vmcore read`.
#[derive(Debug, Clone, clap::Args)]
pub struct ReadArgs {
    #[command(flatten)]
    pub dump: DumpArg,
    /// Physical address (hex with 0x, or decimal).
    #[arg(long, value_parser = parse_u64)]
    pub phys: u64,
    /// Number of bytes (at most 1 GiB).
    #[arg(long, value_parser = parse_u64, default_value = "256")]
    pub len: u64,
    /// Write the raw bytes instead of a hexdump.
    #[arg(long, conflicts_with = "json")]
    pub raw: bool,
    /// Read pages the dump level excluded as zeros instead of failing (libkdumpfile's `-z`).
    #[arg(long)]
    pub zero_excluded: bool,
    /// JSON: the bytes in hex and how many of them the dump covers.
    #[arg(long)]
    pub json: bool,
}

#[derive(serde::Serialize)]
struct ReadJson {
    #[serde(flatten)]
    header: crate::json::DumpHeaderJson,
    phys: String,
    len: u64,
    /// Bytes the dump's memory map covers; the rest of a partly covered page reads as zeros.
    covered: u64,
    zero_excluded: bool,
    hex: String,
}

/// Run `vmcore read`.
pub fn run(args: &ReadArgs, out: &mut dyn Write) -> anyhow::Result<Outcome> {
    if args.len > MAX_LEN {
        anyhow::bail!("--len {} is larger than the 1 GiB limit", args.len);
    }
    let mut d = args.dump.open()?;
    d.set_excluded_as_zero(args.zero_excluded);
    let mut buf = vec![0u8; args.len as usize];
    d.read_phys(PhysAddr(args.phys), &mut buf)
        .with_context(|| format!("cannot read {} bytes at {:#x}", args.len, args.phys))?;
    if args.json {
        let v = ReadJson {
            header: crate::json::DumpHeaderJson::of(&d),
            phys: format!("{:#x}", args.phys),
            len: args.len,
            covered: d.covered_bytes(PhysAddr(args.phys), args.len),
            zero_excluded: args.zero_excluded,
            hex: buf.iter().map(|b| format!("{b:02x}")).collect(),
        };
        crate::json::write(out, &v)?;
    } else if args.raw {
        out.write_all(&buf)?;
    } else {
        hexdump(out, args.phys, &buf)?;
    }
    Ok(Outcome::Clean)
}

/// `xxd`-style lines: address, 16 bytes in hex, ASCII.
pub fn hexdump(out: &mut dyn Write, base: u64, buf: &[u8]) -> std::io::Result<()> {
    for (i, chunk) in buf.chunks(16).enumerate() {
        let addr = base + (i * 16) as u64;
        write!(out, "{addr:016x}: ")?;
        for j in 0..16 {
            match chunk.get(j) {
                Some(b) => write!(out, "{b:02x}")?,
                None => write!(out, "  ")?,
            }
            if j % 2 == 1 {
                write!(out, " ")?;
            }
        }
        let ascii: String = chunk
            .iter()
            .map(|&b| {
                if (0x20..0x7f).contains(&b) {
                    b as char
                } else {
                    '.'
                }
            })
            .collect();
        writeln!(out, " {ascii}")?;
    }
    Ok(())
}
