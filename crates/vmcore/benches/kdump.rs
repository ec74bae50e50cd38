//! Decompress-and-hash every stored page of kdump-compressed dumps, on all cores and on one.
//!
//! Inputs: the largest real compressed dump (QEMU `kdump-zlib`, flattened, 656 MiB of RAM,
//! 167968 stored pages), makedumpfile's `-c -d 31` dump, and a generated 256 MiB zlib dump
//! (`testgen::kdump`, 65536 distinct pages; generated in memory at start-up).
//! Throughput is in pages; `scripts/bench-kdump-peers.sh` measures drgn and makedumpfile on
//! the same real files.
//!
//! `cargo bench -p vmcore --bench kdump`

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rayon::prelude::*;
use vmcore::{Dump, Error, PhysAddr};

/// Read every RAM page; fold each stored page into a cheap hash so nothing is optimised away.
fn scan(d: &Dump) -> u64 {
    let ps = u64::from(d.kdump_info().map_or(4096, |i| i.page_size));
    let pfns: Vec<u64> = d
        .memory()
        .ram()
        .flat_map(|r| r.phys.start.0 / ps..r.phys.end.0 / ps)
        .collect();
    pfns.par_chunks(1024)
        .map(|chunk| {
            let mut buf = vec![0u8; ps as usize];
            let mut h = 0u64;
            for &pfn in chunk {
                match d.read_phys(PhysAddr(pfn * ps), &mut buf) {
                    Ok(()) => {
                        for w in buf.chunks_exact(8) {
                            let mut a = [0u8; 8];
                            a.copy_from_slice(w);
                            h = h.rotate_left(5) ^ u64::from_le_bytes(a);
                        }
                    }
                    Err(Error::PageExcluded { .. }) => {}
                    Err(e) => panic!("pfn {pfn:#x}: {e}"),
                }
            }
            h
        })
        .reduce(|| 0, |a, b| a ^ b)
}

/// Size of the generated dump in MiB: 256 by default to keep set-up short on shared cores;
/// `VMCORE_BENCH_BIG_MIB=4096` gives the 4 GiB dump issue 4 names.
fn generated_mib() -> usize {
    std::env::var("VMCORE_BENCH_BIG_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

fn generated() -> Dump {
    use testgen::kdump::{Compression, KdumpSpec, PageKind, kdump_bytes};
    let spec = KdumpSpec {
        compression: Compression::Zlib,
        pages: vec![PageKind::Data; generated_mib() * 256],
        ..KdumpSpec::default()
    };
    Dump::from_bytes(kdump_bytes(&spec)).expect("generated dump")
}

fn bench(c: &mut Criterion) {
    let mut inputs: Vec<(&str, Dump)> = Vec::new();
    for (name, rel) in [
        (
            "qemu-kdump-zlib",
            "qemu-dumps/dump-06-cpu3-online.kdump-zlib",
        ),
        ("makedumpfile-c-d31", "kdump/makedumpfile-c-d31.kdump"),
    ] {
        let p = real_data::path(rel).expect("real data");
        inputs.push((name, Dump::open(p).expect("open")));
    }
    let big = format!("generated-{}M-zlib", generated_mib());
    inputs.push((big.as_str(), generated()));
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("pool");
    let mut g = c.benchmark_group("kdump-read-every-page");
    g.sample_size(10);
    for (name, d) in &inputs {
        let pages = d.kdump_info().map_or(0, |i| i.dumpable_pages);
        g.throughput(Throughput::Elements(pages));
        g.bench_function(format!("{name}/all-cores"), |b| {
            b.iter(|| black_box(scan(d)))
        });
        g.bench_function(format!("{name}/one-core"), |b| {
            b.iter(|| one.install(|| black_box(scan(d))))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
