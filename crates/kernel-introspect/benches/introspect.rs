//! What-crashed timings on the real Linux 6.12 `/proc/vmcore` (issue 11): the whole kallsyms
//! table decoded from vmcoreinfo alone, and every CPU's backtrace (ORC tables checked, per-CPU
//! stacks found, crash_notes matched, all notes unwound). Whole-process numbers (`vmcore bt
//! --all`) and the drgn comparison are in docs/PERFORMANCE.md.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use kernel_introspect::{Kallsyms, Kernel};
use vmcore::Dump;

fn introspect(c: &mut Criterion) {
    let path = real_data::path("kdump/proc-vmcore.elf").expect("real data");
    let dump = Dump::open(&path).expect("open");
    let info = dump.vmcoreinfo().expect("vmcoreinfo");
    let mem = dump.virt_reader().expect("page tables");
    c.bench_function("kallsyms_decode_proc_vmcore_6_12", |b| {
        b.iter(|| {
            let k = Kallsyms::from_vmcoreinfo(black_box(info), &mem).expect("kallsyms");
            black_box(k.len())
        })
    });
    let kernel = Kernel::new(&dump).expect("kernel");
    kernel.symbols().expect("kallsyms");
    c.bench_function("backtraces_all_cpus_proc_vmcore_6_12", |b| {
        b.iter(|| {
            let bts = black_box(&kernel).backtraces().expect("backtraces");
            black_box(bts.len())
        })
    });
    c.bench_function("kernel_new_kallsyms_backtraces_proc_vmcore_6_12", |b| {
        b.iter(|| {
            let k = Kernel::new(black_box(&dump)).expect("kernel");
            black_box(k.backtraces().expect("backtraces").len())
        })
    });
}

criterion_group!(benches, introspect);
criterion_main!(benches);
