//! Build and in-place update cost, for a MAXSMP-sized machine (8192 CPUs + 8192 RAM ranges) and a
//! small VM (64 CPUs + 4 ranges). Run with `cargo bench -p elfcorehdr`.

use criterion::{Criterion, criterion_group, criterion_main};
use elfcorehdr::{Builder, Event, LoadMode, SystemState, Updater, aligned_header_len, build};
use std::hint::black_box;

// The same synthetic machine the property and hostile-input tests use.
#[path = "../tests/it/synth.rs"]
mod synth;

/// `cpus` possible CPUs and exactly `ranges` RAM PT_LOADs (`synth::machine(c, r)` has `r + 1`:
/// low RAM is split by the crash kernel).
fn machine(cpus: u32, ranges: usize) -> SystemState {
    synth::machine(cpus as usize, ranges.saturating_sub(1))
}

fn bench_case(c: &mut Criterion, name: &str, cpus: u32, ranges: usize) {
    let state = machine(cpus, ranges);
    let phdrs = state.cpus.len() + 2 + ranges;
    // The MAXSMP segment (917,680 B) cannot hold 8192 CPUs + 8192 ranges once page-aligned
    // (see docs/elfcorehdr.md), so size the buffer to the header here.
    let cap = aligned_header_len(phdrs).max(917_680);
    let mut seg = build(&state, cap).expect("benchmark state builds");
    let last = *state.system_ram.last().expect("has RAM");

    let mut g = c.benchmark_group(name);
    g.bench_function("build (allocating Vec)", |b| {
        b.iter(|| build(black_box(&state), cap).expect("fits"))
    });
    let mut builder = Builder::with_range_capacity(ranges);
    let mut out = vec![0u8; cap];
    g.bench_function("Builder::write_into (reused buffers)", |b| {
        b.iter(|| {
            builder
                .write_into(black_box(&state), &mut out)
                .expect("fits")
        })
    });
    let mut up = Updater::new(LoadMode::KexecFile);
    g.bench_function("update_in_place memory-online (Updater)", |b| {
        b.iter(|| {
            up.update_in_place(&mut seg, black_box(&state), Event::MemoryOnline(last))
                .expect("update")
                .bytes_written
        })
    });
    g.bench_function("update_in_place cpu-offline (no-op decision)", |b| {
        b.iter(|| {
            up.update_in_place(&mut seg, black_box(&state), Event::CpuOffline(1))
                .expect("update")
                .bytes_written
        })
    });
    g.finish();
}

fn engine(c: &mut Criterion) {
    bench_case(c, "large 8192 CPUs + 8192 ranges", 8192, 8192);
    bench_case(c, "small 64 CPUs + 4 ranges", 64, 4);
}

criterion_group!(benches, engine);
criterion_main!(benches);
