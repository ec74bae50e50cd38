//! BTF, tasks and modules on the real Linux 6.12 `/proc/vmcore` (issue 12): the whole vmlinux
//! BTF parsed (bytes already read, then read from the dump and parsed), the first lookup by name
//! (builds the name index), the task list, the modules, and the 40 task traces drgn's oracle
//! has. Whole-process `vmcore ps` and the drgn comparison: docs/PERFORMANCE.md.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use kernel_introspect::Kernel;
use kernel_introspect::btf::Btf;
use kernel_introspect::mem::KernelMemory;
use vmcore::Dump;

fn btf(c: &mut Criterion) {
    let path = real_data::path("kdump/proc-vmcore.elf").expect("real data");
    let dump = Dump::open(&path).expect("open");
    let kernel = Kernel::new(&dump).expect("kernel");
    let syms = kernel.symbols().expect("kallsyms");
    let start = syms.lookup_addr("__start_BTF").expect("__start_BTF");
    let stop = syms.lookup_addr("__stop_BTF").expect("__stop_BTF");
    let bytes = kernel
        .memory()
        .read_vec(start, (stop - start) as usize)
        .expect("BTF bytes");
    c.bench_function("btf_parse_vmlinux_6_12", |b| {
        b.iter(|| black_box(Btf::parse(black_box(bytes.clone())).expect("parse").len()))
    });
    c.bench_function("btf_read_and_parse_vmlinux_6_12", |b| {
        b.iter(|| {
            let raw = kernel
                .memory()
                .read_vec(start, (stop - start) as usize)
                .expect("read");
            black_box(Btf::parse(raw).expect("parse").len())
        })
    });
    c.bench_function("btf_parse_and_first_member_lookup_6_12", |b| {
        b.iter(|| {
            let btf = Btf::parse(black_box(bytes.clone())).expect("parse");
            black_box(
                btf.member_offset("task_struct", "thread.sp")
                    .expect("offset"),
            )
        })
    });
    kernel.btf().expect("btf");
    c.bench_function("tasks_proc_vmcore_6_12", |b| {
        b.iter(|| black_box(black_box(&kernel).tasks().expect("tasks").tasks.len()))
    });
    c.bench_function("kernel_new_btf_tasks_proc_vmcore_6_12", |b| {
        b.iter(|| {
            let k = Kernel::new(black_box(&dump)).expect("kernel");
            black_box(k.tasks().expect("tasks").tasks.len())
        })
    });
    c.bench_function("task_traces_40_proc_vmcore_6_12", |b| {
        let list = kernel.tasks().expect("tasks");
        b.iter(|| {
            let u = kernel.unwinder_with_modules().expect("unwinder");
            let n: usize = list.tasks[..40]
                .iter()
                .map(|t| {
                    kernel
                        .task_backtrace_with(&u, t)
                        .expect("trace")
                        .frames
                        .len()
                })
                .sum();
            black_box(n)
        })
    });
}

criterion_group!(benches, btf);
criterion_main!(benches);
