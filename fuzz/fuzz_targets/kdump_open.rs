//! Open arbitrary bytes as a kdump-compressed or flattened dump and call every accessor
//! (`vmcore_fuzz::exercise_dump`: reads at range edges, page walks, kernel log), reads of
//! whole pages, partial pages, excluded and past-the-end PFNs; `exercise_dump` also runs the
//! deep scan and the ELF conversion, which read only the pages the dump stores. Seeds: `scripts/fuzz-seed.sh` (`testgen::kdump` images for every compression, the 32-bit layouts, a flattened ELF image,
//! and header version, flattened streams, and the heads of the real kdump files).
#![no_main]

use libfuzzer_sys::fuzz_target;
use vmcore::{Dump, PhysAddr};

fuzz_target!(|data: &[u8]| {
    // Steer random inputs towards the kdump readers: the first byte picks a signature.
    let mut bytes = Vec::with_capacity(data.len() + 16);
    match data.first() {
        Some(b) if b & 3 == 0 => bytes.extend_from_slice(b"KDUMP   "),
        Some(b) if b & 3 == 1 => bytes.extend_from_slice(b"makedumpfile\0\0\0\0"),
        _ => {}
    }
    bytes.extend_from_slice(data.get(1..).unwrap_or(&[]));
    let Ok(d) = Dump::from_bytes(bytes) else {
        return;
    };
    vmcore_fuzz::exercise_dump(&d);
    let Some(info) = d.kdump_info() else {
        return;
    };
    let ps = u64::from(info.page_size);
    let mut page = vec![0u8; ps as usize];
    for r in d.memory().ranges().iter().take(16) {
        let _ = d.read_phys(r.phys.start, &mut page);
        let _ = d.read_phys(
            PhysAddr(r.phys.start.0.saturating_add(7)),
            &mut page[..64.min(ps as usize)],
        );
    }
    for pfn in [
        0,
        1,
        info.max_mapnr.saturating_sub(1),
        info.max_mapnr,
        u64::MAX / ps.max(1),
    ] {
        let _ = d.read_phys(PhysAddr(pfn.saturating_mul(ps)), &mut page);
    }
});
