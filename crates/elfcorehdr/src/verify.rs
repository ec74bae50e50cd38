//! Differences between a header and a state: what `vmcore elfcorehdr verify` reports.

use kdump_types::elf::{PHDR64_SIZE, phdr64};
use kdump_types::{Finding, FindingCode, PhysRange};

use crate::build::Builder;
use crate::error::Result;
use crate::findings as F;
use crate::parse::Elfcorehdr;
use crate::state::SystemState;

fn diff(code: FindingCode, offset: Option<u64>, msg: String) -> Finding {
    code.finding(offset, msg)
}

fn phdr_offset(h: &Elfcorehdr, index: usize) -> Option<u64> {
    Some(
        h.header
            .e_phoff
            .saturating_add((index * PHDR64_SIZE) as u64),
    )
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

    // CPUs: the kernel writes one note per possible CPU, in order.
    for (i, cpu) in state.cpus.iter().enumerate() {
        match header.cpu_notes.get(i) {
            None => out.push(diff(F::CPU_NOTE_MISSING, None, format!(
                "possible CPU {} (crash_notes {:#x}) has no PT_NOTE: its registers would be missing from the dump",
                cpu.id, cpu.crash_notes))),
            Some(n) if n.addr != cpu.crash_notes || n.size != cpu.crash_notes_size => out.push(diff(F::CPU_NOTE_ADDRESS, phdr_offset(&header, n.phdr_index), format!(
                "note #{i} points at {:#x} size {:#x}; possible CPU {} has crash_notes {:#x} size {:#x}",
                n.addr, n.size, cpu.id, cpu.crash_notes, cpu.crash_notes_size))),
            Some(_) => {}
        }
    }
    for n in header.cpu_notes.iter().skip(state.cpus.len()) {
        out.push(diff(
            F::CPU_NOTE_STALE,
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
            F::VMCOREINFO,
            phdr_offset(&header, v.phdr_index),
            format!(
                "VMCOREINFO note {:#x}+{:#x}, the kernel's is {:#x}+{:#x}",
                v.addr, v.size, state.vmcoreinfo.addr, state.vmcoreinfo.size
            ),
        )),
        None => out.push(diff(F::VMCOREINFO, None, "no VMCOREINFO note".into())),
    }
    let kt = state.kernel_text;
    match header.kernel_text {
        Some(t) if t.vaddr == kt.vaddr && t.range.start == kt.paddr && t.range.len() == kt.size => {
        }
        Some(t) => out.push(diff(
            F::KERNEL_TEXT,
            phdr_offset(&header, t.phdr_index),
            format!(
                "kernel text PT_LOAD {} at {:#x}, expected {} at {:#x}",
                t.range,
                t.vaddr,
                PhysRange::from_start_len(kt.paddr.0, kt.size),
                kt.vaddr
            ),
        )),
        None => out.push(diff(F::KERNEL_TEXT, None, "no kernel text PT_LOAD".into())),
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
            out.push(diff(F::RAM_MISSING, None, format!(
                "RAM {r} ({} MiB) is not a PT_LOAD ({} MiB of it covered by other PT_LOADs): a dump would lack it",
                r.len() >> 20, covered >> 20)));
        }
    }
    for h in &header.ram {
        if !want.contains(&h.range) {
            out.push(diff(F::RAM_STALE, phdr_offset(&header, h.phdr_index), format!(
                "PT_LOAD {} is not RAM to dump now (offlined/removed memory or an exclusion): a dump would read it",
                h.range)));
        }
    }
    for h in &header.ram {
        let want_va = h.range.start.0.wrapping_add(state.page_offset_base.0);
        if h.vaddr.0 != want_va {
            out.push(diff(
                F::DIRECT_MAP,
                phdr_offset(&header, h.phdr_index).map(|o| o + phdr64::P_VADDR as u64),
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
                out.push(diff(F::BYTES_DIFFER, Some(pos as u64), format!(
                    "same CPUs, notes and ranges, but the bytes differ from the kernel's layout first at offset {pos:#x}")));
            }
        }
    }
    Ok(out)
}
