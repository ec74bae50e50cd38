//! What every dump-opening fuzz target does after a successful open: call every accessor a
//! user reaches through the CLI and the TUI (headers, notes, registers, the memory map, reads
//! at range edges, page-table walks, virtual reads, the kernel log and the hotplug crate's
//! structural view), so a panic anywhere behind `Dump::open` is found, not just in the header
//! parser.

use vmcore::klog::KernelLog;
use vmcore::{Dump, PhysAddr, VirtAddr};

/// At most this many ranges, symbols and CPUs are visited, so one unit stays fast.
const LIMIT: usize = 32;

/// Every accessor of an opened dump.
pub fn exercise_dump(d: &Dump) {
    let _ = (
        d.format().name(),
        d.machine().name(),
        d.file_len(),
        d.is_headers_only(),
    );
    let _ = (
        d.truncation(),
        d.kdump_info().map(|i| format!("{i:?}")),
        d.prpsinfo(),
    );
    for s in d.segments() {
        let _ = (s.type_name(), s.flags_str());
    }
    for n in d.notes() {
        let _ = n.type_name();
    }
    for f in d.findings() {
        let _ = f.to_string();
    }
    for c in d.cpus().iter().take(LIMIT) {
        if let Some(r) = &c.regs {
            let _ = (r.named(), r.pc(), r.sp(), r.flags());
        }
    }
    let mut sym_vas = Vec::new();
    if let Some(v) = d.vmcoreinfo() {
        let _ = (
            v.osrelease(),
            v.build_id(),
            v.page_size(),
            v.kernel_offset(),
            v.crash_time(),
        );
        let _ = (
            v.number("phys_base"),
            v.size("printk_ringbuffer"),
            v.offset_of("printk_info.seq"),
        );
        let _ = v.length("printk_info_device");
        for (k, _) in v.entries().iter().take(LIMIT) {
            if let Some(name) = k.strip_prefix("SYMBOL(").and_then(|k| k.strip_suffix(')')) {
                if let Some(va) = v.symbol(name) {
                    sym_vas.push(va);
                }
            }
        }
    }

    // Physical reads at the edges of every range: first byte, straddling the end, the last
    // byte, one past the end; a whole page from the start.
    let mem = d.memory();
    let _ = (
        mem.len(),
        mem.is_empty(),
        mem.ram_bytes(),
        mem.ram().count(),
    );
    let mut buf = vec![0u8; 4096];
    for r in mem.ranges().iter().take(LIMIT) {
        let (start, end) = (r.phys.start.0, r.phys.end.0);
        let _ = (r.phys.len(), r.phys.last(), r.missing(), r.virt_range());
        let _ = d.read_phys(PhysAddr(start), &mut buf);
        let _ = d.read_phys(PhysAddr(start), &mut buf[..1]);
        let _ = d.read_phys(PhysAddr(end.saturating_sub(100)), &mut buf);
        let _ = d.read_phys(PhysAddr(end.saturating_sub(1)), &mut buf[..1]);
        let _ = d.read_phys(PhysAddr(end), &mut buf[..1]);
        let _ = (
            mem.find_phys(PhysAddr(start)),
            mem.locate(PhysAddr(end.saturating_sub(1))),
        );
        let _ = mem.locate(PhysAddr(start.wrapping_add(r.present)));
        if let Some(v) = r.virt {
            let _ = mem.virt_to_phys(v);
            let _ = d.virt_to_phys_by_segments(VirtAddr(
                v.0.saturating_add(r.phys.len().saturating_sub(1)),
            ));
            sym_vas.push(v.0);
        }
    }
    let _ = d.read_phys(PhysAddr(u64::MAX - 10), &mut buf[..64]);

    // Page-table walks and virtual reads (x86_64 only; errors elsewhere).
    let _ = d.page_offset_base();
    if let Ok(t) = d.kernel_page_tables() {
        let _ = t.source.describe();
        for &va in sym_vas.iter().take(LIMIT) {
            if let Ok(tr) = d.translate_with(&t, VirtAddr(va)) {
                let _ = (tr.steps.len(), tr.page_phys(), tr.bytes_left_in_page());
            }
        }
    }
    for i in 0..d.cpus().len().min(4) {
        let _ = d.cpu_page_tables(i);
    }
    for &va in sym_vas.iter().take(8) {
        let _ = d.read_virt(VirtAddr(va), &mut buf[..16]);
        let _ = d.read_virt(VirtAddr(va.wrapping_add(4090)), &mut buf[..16]);
    }
    if let Ok(log) = d.kernel_log() {
        exercise_log(&log);
    }

    // The extents of each range tile it exactly, ascending; stored ELF bytes can be read.
    for r in d.memory().ranges().iter().take(LIMIT) {
        let mut at = r.phys.start.0;
        let _ = d.for_each_extent(r, &mut |x, kind| {
            assert!(
                x.start.0 == at && x.end.0 > x.start.0,
                "{x} after {at:#x} in {r:?}"
            );
            assert!(x.end.0 <= r.phys.end.0, "{x} past {r:?}");
            at = x.end.0;
            // read_phys serves an address from one range; with overlapping ranges that may be
            // another one (truncated), so only the range it picks is checked.
            let served_here = d
                .memory()
                .find_phys(x.start)
                .is_some_and(|f| std::ptr::eq(f, r));
            if kind == vmcore::Extent::Stored && d.kdump_info().is_none() && served_here {
                d.read_phys(x.start, &mut [0u8; 1])
                    .expect("a stored byte reads");
            }
            std::ops::ControlFlow::Continue(())
        });
        if d.kdump_info().is_none() && !r.phys.is_empty() {
            assert_eq!(at, r.phys.end.0, "extents end at the range's end: {r:?}");
        }
    }

    // What `vmcore check` does with a dump before reading memory, then `--deep` and
    // `convert`, whose work now follows the bytes the dump stores (issue #16).
    let _ = hotplug::scan::structural(d);
    let _ = hotplug::DumpContent::of_dump(d, None, None, None);
    let rep = hotplug::scan::deep_scan(d, &|_| {});
    let _ = rep.findings(8);
    if let Ok(r) = vmcore::convert::write_elf(d, &mut std::io::sink(), |_, _| {}) {
        assert!(r.failures.len() <= 32);
    }
}

/// Every accessor of a decoded kernel log, and the hotplug importer that reads one.
pub fn exercise_log(log: &KernelLog) {
    let _ = log.panic_record();
    let _ = log.last_records(5);
    let _ = log.to_makedumpfile_string();
    for r in &log.records {
        let _ = (
            r.text_lossy(),
            r.timestamp_parts(),
            r.caller.map(|c| c.to_string()),
        );
    }
    for f in &log.findings {
        let _ = f.to_string();
    }
    let _ = hotplug::import::klog::import_records("log", log);
}
