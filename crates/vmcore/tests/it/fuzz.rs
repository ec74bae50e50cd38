//! Regressions for what the cargo-fuzz targets in `fuzz/` found (docs/FUZZING.md). Each test
//! is named after what broke and builds its input here, from testgen or as the minimised
//! crash bytes, so no binary file is committed.

use testgen::{ElfSpec, Fill, LoadSpec, elf_bytes};
use vmcore::{Dump, PhysAddr};

/// elf_open: a PT_LOAD whose `p_paddr + p_memsz` runs past the top of the address space had
/// its physical range cut at 2^64 but kept its whole `p_filesz`, so a truncated file made
/// `Dump::truncation` compute `start + p_filesz` and overflow (a panic in debug builds, a
/// wrapped range in release). The fuzzer's input was a QEMU dump header with such a PT_LOAD;
/// this is the same shape from testgen.
#[test]
fn fuzz_elf_load_past_address_space_end_truncation_overflow() {
    let top = u64::MAX - 0xfff;
    let s = ElfSpec {
        loads: vec![LoadSpec {
            paddr: top,
            vaddr: 0,
            memsz: 0x10000,
            filesz: 0x10000,
            fill: Fill::Hole,
        }],
        truncate_to: Some(0x1800), // headers, then 0x800 of the PT_LOAD's bytes
        ..ElfSpec::default()
    };
    let d = Dump::from_bytes(elf_bytes(&s)).expect("opens with findings");
    let t = d.truncation().expect("truncated");
    let r = &d.memory().ranges()[0];
    assert_eq!(
        r.phys.end.0,
        u64::MAX,
        "cut at the top of the address space"
    );
    assert!(r.file_size <= r.phys.len(), "file bytes cut with the range");
    assert_eq!(t.missing_bytes, r.file_size - r.present);
    assert_eq!(t.ranges[0].end.0, u64::MAX);
    // Reads at the edges: served from the file, then beyond EOF, never a panic.
    let mut buf = [0u8; 16];
    d.read_phys(PhysAddr(top), &mut buf).expect("present bytes");
    assert!(d.read_phys(PhysAddr(u64::MAX - 16), &mut buf).is_err());
    assert!(d.memory().ram_bytes() >= r.phys.len());
}
