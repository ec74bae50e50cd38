//! Build and in-place update cost, for a MAXSMP-sized machine (8192 CPUs + 8192 RAM ranges) and a
//! small VM (64 CPUs + 4 ranges). Run with `cargo bench -p elfcorehdr`.

use criterion::{Criterion, criterion_group, criterion_main};
use elfcorehdr::{
    BlockState, Builder, CpuState, Event, KernelText, LoadMode, MemoryBlock, NoteLocation,
    PhysAddr, PhysRange, SystemState, Updater, VirtAddr, aligned_header_len, build,
};
use std::hint::black_box;

const BLOCK: u64 = 128 << 20;

/// `cpus` possible CPUs and `ranges` RAM PT_LOADs (low RAM split by the crash kernel, then
/// one 128 MiB block every other block above 4 GiB).
fn machine(cpus: u32, ranges: usize) -> SystemState {
    let mut system_ram = vec![PhysRange::from_inclusive(0x100000, 0x7fffffff)];
    let mut memory_blocks = Vec::new();
    for i in 0..ranges.saturating_sub(2) as u64 {
        let idx = 32 + 2 * i;
        system_ram.push(PhysRange::from_start_len(idx * BLOCK, BLOCK));
        memory_blocks.push(MemoryBlock {
            index: idx,
            phys_index: idx,
            state: BlockState::Online,
        });
    }
    SystemState {
        cpus: (0..cpus)
            .map(|id| CpuState {
                id,
                present: true,
                online: true,
                crash_notes: PhysAddr(0x7e00_0000 + u64::from(id) * 0x1000),
                crash_notes_size: 368,
            })
            .collect(),
        vmcoreinfo: NoteLocation {
            addr: PhysAddr(0x1940000),
            size: 0x1024,
        },
        system_ram,
        crash_kernel: Some(PhysRange::from_inclusive(0x0d00_0000, 0x18ff_ffff)),
        kernel_text: KernelText {
            vaddr: VirtAddr(0xffffffff88a00000),
            paddr: PhysAddr(0x19a00000),
            size: 0x2c30000,
        },
        page_offset_base: VirtAddr(0xffff88bf40000000),
        memory_block_size: Some(BLOCK),
        memory_blocks,
        ..SystemState::default()
    }
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
