//! Differences between a header and a state: what `vmcore elfcorehdr verify` reports.

use kdump_types::{Finding, PhysRange, Severity};

use crate::build::Builder;
use crate::error::Result;
use crate::parse::Elfcorehdr;
use crate::state::SystemState;

fn diff(
    code: &'static str,
    name: &'static str,
    sev: Severity,
    offset: Option<u64>,
    msg: String,
) -> Finding {
    Finding::new(code, name, sev, offset, msg)
}

fn phdr_offset(h: &Elfcorehdr, index: usize) -> Option<u64> {
    Some(h.header.e_phoff.saturating_add((index * 56) as u64))
}

/// Compares `header` with what the 6.12 kernel would write for `state`. Returns one finding per
/// difference (empty when the header is what the kernel would write, byte for byte).
///
/// Codes: `VER001 cpu-note-missing`, `VER002 cpu-note-stale`, `VER003 cpu-note-address`,
/// `VER004 vmcoreinfo`, `VER005 kernel-text`, `VER006 ram-missing`, `VER007 ram-stale`,
/// `VER008 direct-map`, `VER009 bytes-differ`.
pub fn compare(header_bytes: &[u8], state: &SystemState) -> Result<Vec<Finding>> {
    let header = Elfcorehdr::parse(header_bytes)?;
    let mut out = Vec::new();
    let e = Severity::Error;

    // CPUs: the kernel writes one note per possible CPU, in order.
    for (i, cpu) in state.cpus.iter().enumerate() {
        match header.cpu_notes.get(i) {
            None => out.push(diff("VER001", "cpu-note-missing", e, None, format!(
                "possible CPU {} (crash_notes {:#x}) has no PT_NOTE: its registers would be missing from the dump",
                cpu.id, cpu.crash_notes))),
            Some(n) if n.addr != cpu.crash_notes || n.size != cpu.crash_notes_size => out.push(diff(
                "VER003", "cpu-note-address", e, phdr_offset(&header, n.phdr_index), format!(
                "note #{i} points at {:#x} size {:#x}; possible CPU {} has crash_notes {:#x} size {:#x}",
                n.addr, n.size, cpu.id, cpu.crash_notes, cpu.crash_notes_size))),
            Some(_) => {}
        }
    }
    for n in header.cpu_notes.iter().skip(state.cpus.len()) {
        out.push(diff(
            "VER002",
            "cpu-note-stale",
            Severity::Warning,
            phdr_offset(&header, n.phdr_index),
            format!(
                "note at {:#x} is beyond the {} possible CPUs",
                n.addr,
                state.cpus.len()
            ),
        ));
    }
    match header.vmcoreinfo {
        Some(v) if v.addr == state.vmcoreinfo.addr && v.size == state.vmcoreinfo.size => {}
        Some(v) => out.push(diff(
            "VER004",
            "vmcoreinfo",
            e,
            phdr_offset(&header, v.phdr_index),
            format!(
                "VMCOREINFO note {:#x}+{:#x}, the kernel's is {:#x}+{:#x}",
                v.addr, v.size, state.vmcoreinfo.addr, state.vmcoreinfo.size
            ),
        )),
        None => out.push(diff(
            "VER004",
            "vmcoreinfo",
            e,
            None,
            "no VMCOREINFO note".into(),
        )),
    }
    let kt = state.kernel_text;
    match header.kernel_text {
        Some(t) if t.vaddr == kt.vaddr && t.range.start == kt.paddr && t.range.len() == kt.size => {
        }
        Some(t) => out.push(diff(
            "VER005",
            "kernel-text",
            e,
            phdr_offset(&header, t.phdr_index),
            format!(
                "kernel text PT_LOAD {} at {:#x}, expected {} at {:#x}",
                t.range,
                t.vaddr,
                PhysRange::from_start_len(kt.paddr.0, kt.size),
                kt.vaddr
            ),
        )),
        None => out.push(diff(
            "VER005",
            "kernel-text",
            e,
            None,
            "no kernel text PT_LOAD".into(),
        )),
    }

    let mut b = Builder::new();
    let want: Vec<PhysRange> = b
        .memory_ranges(state)?
        .iter()
        .map(|&(s, e)| PhysRange::from_inclusive(s, e))
        .collect();
    for r in &want {
        if !header.ram.iter().any(|h| h.range == *r) {
            let covered: u64 = header
                .ram
                .iter()
                .filter_map(|h| h.range.intersect(r))
                .map(|x| x.len())
                .fold(0u64, u64::saturating_add);
            out.push(diff("VER006", "ram-missing", e, None, format!(
                "RAM {r} ({} MiB) is not a PT_LOAD ({} MiB of it covered by other PT_LOADs): a dump would lack it",
                r.len() >> 20, covered >> 20)));
        }
    }
    for h in &header.ram {
        if !want.contains(&h.range) {
            out.push(diff("VER007", "ram-stale", e, phdr_offset(&header, h.phdr_index), format!(
                "PT_LOAD {} is not RAM to dump now (offlined/removed memory or an exclusion): a dump would read it",
                h.range)));
        }
    }
    for h in &header.ram {
        let want_va = h.range.start.0.wrapping_add(state.page_offset_base.0);
        if h.vaddr.0 != want_va {
            out.push(diff(
                "VER008",
                "direct-map",
                Severity::Warning,
                phdr_offset(&header, h.phdr_index).map(|o| o + 16),
                format!(
                    "PT_LOAD {}: p_vaddr {:#x}, __va() is {want_va:#x}",
                    h.range, h.vaddr
                ),
            ));
            break;
        }
    }
    if out.is_empty() {
        // Same content; compare the bytes the kernel would write (catches ELF header fields
        // and order differences).
        let mut exp = vec![0u8; crate::build::kernel_buffer_len(state)?];
        if b.write_into(state, &mut exp).is_ok() {
            let n = header.used_len.min(header_bytes.len());
            if let Some(pos) = (0..n).find(|&i| exp.get(i) != header_bytes.get(i)) {
                out.push(diff("VER009", "bytes-differ", Severity::Warning, Some(pos as u64), format!(
                    "same CPUs, notes and ranges, but the bytes differ from the kernel's layout first at offset {pos:#x}")));
            }
        }
    }
    Ok(out)
}
