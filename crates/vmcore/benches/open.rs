//! Open + list CPUs + build the memory map of a generated 1 TiB sparse ELF vmcore with 8192
//! PT_LOADs and 1024 CPUs (issue 2's target: under 5 ms). Peer comparison:
//! `scripts/bench-open-peers.sh`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use vmcore::Dump;

fn open_sparse(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("vmcore-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("sparse-1t.vmcore");
    let spec = testgen::ElfSpec {
        cpus: (0..1024)
            .map(|i| testgen::CpuSpec::numbered(i, i))
            .collect(),
        vmcoreinfo: Some(testgen::sample_vmcoreinfo()),
        loads: testgen::sparse_loads(8192, 2 << 20, 1 << 40),
        ..Default::default()
    };
    testgen::write_elf_file(&spec, &path).expect("generate");
    c.bench_function("open_1tib_8192_loads_1024_cpus", |b| {
        b.iter(|| {
            let d = Dump::open(black_box(&path)).expect("open");
            let regs = d.cpus().iter().filter(|c| c.regs.is_some()).count();
            let ram = d.memory().ram_bytes();
            black_box((regs, ram, d.memory().len()))
        })
    });
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, open_sparse);
criterion_main!(benches);
