//! What `vmcore check` costs: (1) 1,000 generated kernel dumps (64 CPUs, 64 PT_LOADs each)
//! opened, checked structurally, their notes attributed to CPUs and diffed against a history,
//! in parallel as the CLI does; (2) `--deep` on the largest real dump (QEMU, 656 MiB), in
//! page cache. Shell comparison with `cat`: `scripts/bench-check.sh`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hotplug::{DumpContent, Topology, Until, diff, replay};
use rayon::prelude::*;

fn history() -> hotplug::History {
    let mut text = String::from(
        "{\"format\":\"vmcore-hotplug-history\",\"version\":1,\"block_size\":\"0x8000000\"}\n\
         {\"start\":{\"cpus_possible\":\"0-63\",\"cpus_online\":\"0-63\",\"memory_online\":\"0-63\"}}\n",
    );
    for c in 32..40 {
        text.push_str(&format!("{{\"event\":\"cpu-offline\",\"cpu\":{c}}}\n"));
    }
    hotplug::import::import_text("bench.jsonl", &text)
        .and_then(|i| i.strict())
        .expect("history")
}

fn check_many(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tmp");
    let paths: Vec<std::path::PathBuf> = (0..1000u32)
        .map(|i| {
            let spec = testgen::ElfSpec {
                cpus: (0..64)
                    .map(|n| testgen::CpuSpec::numbered(n, n + i))
                    .collect(),
                vmcoreinfo: Some(testgen::sample_vmcoreinfo()),
                loads: testgen::sparse_loads(64, 2 << 20, 64 << 27),
                ..Default::default()
            };
            let p = dir.path().join(format!("d{i}.vmcore"));
            testgen::write_elf_file(&spec, &p).expect("write");
            p
        })
        .collect();
    let h = history();
    let t: Topology = replay(&h, &Until::Crash).expect("replay");
    let mut g = c.benchmark_group("check");
    g.throughput(Throughput::Elements(paths.len() as u64));
    g.sample_size(10);
    g.bench_function("1000_generated_dumps", |b| {
        b.iter(|| {
            let n: usize = paths
                .par_iter()
                .map(|p| {
                    let d = vmcore::Dump::open(p).expect("open");
                    let s = hotplug::scan::structural(&d);
                    let content = DumpContent::of_dump(&d, None, None, None).expect("content");
                    s.len() + diff(&t, &content).len()
                })
                .sum();
            black_box(n)
        })
    });
    g.finish();
}

fn deep_real(c: &mut Criterion) {
    let Ok(path) = real_data::path("qemu-dumps/dump-06-cpu3-online.elf") else {
        return;
    };
    let d = vmcore::Dump::open(&path).expect("open");
    let bytes: u64 = d.memory().ram().map(|r| r.phys.len()).sum();
    let mut g = c.benchmark_group("deep");
    g.throughput(Throughput::Bytes(bytes));
    g.sample_size(10);
    g.bench_function("qemu_dump_06", |b| {
        b.iter(|| black_box(hotplug::scan::deep_scan(&d, &|_| {}).bytes_read))
    });
    g.finish();
}

criterion_group!(benches, check_many, deep_real);
criterion_main!(benches);
