//! Kernel-log decode time on the real Linux 6.12 `/proc/vmcore` (issue 5): page-table walk to
//! the printk ring, decode of every descriptor, and makedumpfile-format output. Whole-process
//! comparison with `makedumpfile --dump-dmesg`: `scripts/bench-dmesg.sh`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use vmcore::Dump;

fn klog(c: &mut Criterion) {
    let path = real_data::path("kdump/proc-vmcore.elf").expect("real data");
    let dump = Dump::open(&path).expect("open");
    c.bench_function("kernel_log_proc_vmcore_6_12", |b| {
        b.iter(|| {
            let log = black_box(&dump).kernel_log().expect("kernel log");
            black_box(log.records.len())
        })
    });
    c.bench_function("open_kernel_log_format_proc_vmcore_6_12", |b| {
        let mut out = Vec::with_capacity(1 << 16);
        b.iter(|| {
            let d = Dump::open(black_box(&path)).expect("open");
            out.clear();
            d.kernel_log()
                .expect("kernel log")
                .write_makedumpfile(&mut out)
                .expect("format");
            black_box(out.len())
        })
    });
    let qemu =
        Dump::open(real_data::path("qemu-dumps/dump-06-cpu3-online.elf").expect("real data"))
            .expect("open");
    c.bench_function("page_offset_base_scan_qemu_dump", |b| {
        b.iter(|| black_box(black_box(&qemu).page_offset_base().expect("scan").base))
    });
}

criterion_group!(benches, klog);
criterion_main!(benches);
