//! Bad input: clear errors, and a target that stays untouched.

use elfcorehdr::{
    Elfcorehdr, Error, Event, KernelConfig, PhysRange, SystemState, build, update_in_place,
};

use crate::real::{kernel_segment, state};
use crate::synth::{BLOCK, machine};

#[test]
fn truncated_headers_name_the_offset() {
    let seg = kernel_segment("00-boot");
    for len in [0, 1, 63] {
        let e = Elfcorehdr::parse(&seg[..len]).unwrap_err();
        assert_eq!(e.code(), "truncated", "{len}");
        assert_eq!(e.offset(), Some(0));
    }
    // The ELF header is there but the phdr table is cut in the middle.
    let e = Elfcorehdr::parse(&seg[..64 + 3 * 56 + 10]).unwrap_err();
    assert_eq!(e.code(), "truncated");
    assert_eq!(e.offset(), Some(64));
    assert!(e.to_string().contains("program header table"), "{e}");
}

#[test]
fn garbage_is_an_error_or_a_finding_never_a_panic() {
    let e = Elfcorehdr::parse(&[0u8; 4096]).unwrap_err();
    assert_eq!((e.code(), e.offset()), ("bad-field", Some(0)));
    let mut seg = kernel_segment("00-boot");
    seg[4] = 1; // ELFCLASS32
    assert_eq!(Elfcorehdr::parse(&seg).unwrap_err().offset(), Some(4));
    let mut seg = kernel_segment("00-boot");
    seg[54] = 32; // e_phentsize
    assert_eq!(Elfcorehdr::parse(&seg).unwrap_err().offset(), Some(54));
    let mut seg = kernel_segment("00-boot");
    seg[56..58].copy_from_slice(&0xffffu16.to_le_bytes()); // PN_XNUM
    let e = Elfcorehdr::parse(&seg).unwrap_err();
    assert_eq!(e.offset(), Some(56), "{e}");
    // A bad phdr type and p_offset != p_paddr are findings with the phdr's offset.
    let mut seg = kernel_segment("00-boot");
    seg[64 + 56 * 7] = 9;
    seg[64 + 56 * 6 + 8] ^= 1;
    let h = Elfcorehdr::parse(&seg).unwrap();
    let codes: Vec<_> = h.findings.iter().map(|f| (f.code, f.offset)).collect();
    assert!(codes.contains(&("EHDR017", Some(64 + 56 * 7))), "{codes:?}");
    assert!(
        codes.contains(&("EHDR018", Some(64 + 56 * 6 + 8))),
        "{codes:?}"
    );
    // Stale bytes after the header are reported.
    let mut seg = kernel_segment("00-boot");
    seg[5000] = 1;
    let h = Elfcorehdr::parse(&seg).unwrap();
    assert_eq!(h.findings[0].code, "EHDR027");
    assert_eq!(h.findings[0].offset, Some(5000));
}

#[test]
fn more_ranges_than_the_segment_holds_is_unfit_and_leaves_the_target() {
    let cap = KernelConfig::DEBIAN_6_12.segment_capacity(0, 0);
    // 8192 possible CPUs (MAXSMP machine) + 8193 ranges: more than CRASH_MAX_MEMORY_RANGES.
    let big = machine(8192, 8193);
    let e = build(&big, cap).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Unfit {
                capacity: 917_680,
                ..
            }
        ),
        "{e}"
    );
    // The page alignment of the kernel's copy makes even 8192 ranges unfit at 8192 CPUs.
    assert!(matches!(
        build(&machine(8192, 8192), cap),
        Err(Error::Unfit { .. })
    ));
    // 4 CPUs leave room: the slots are shared.
    build(&machine(4, 8192), cap).unwrap();

    // machine(c, r) has c + 2 + (r + 1) phdrs (low RAM is split by the crash kernel); the
    // largest count whose page-aligned size fits 917,680 bytes is 16,382.
    let fits = machine(8192, 8187);
    let mut target = build(&fits, cap).unwrap();
    let copy = target.clone();
    let grown = machine(8192, 8188);
    let last = grown.system_ram.last().unwrap();
    let e = update_in_place(&mut target, &grown, Event::MemoryOnline(*last)).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Unfit {
                phdrs: 16_383,
                need: 921_600,
                capacity: 917_680
            }
        ),
        "{e}"
    );
    assert!(target == copy, "target changed on error");
}

#[test]
fn more_phdrs_than_e_phnum_holds_is_an_error() {
    let s = machine(65_000, 600);
    let e = build(&s, 8 << 20).unwrap_err();
    assert!(matches!(e, Error::TooManyPhdrs { max: 0xfffe, .. }), "{e}");
}

#[test]
fn out_of_range_slots_is_the_kernels_enomem() {
    let mut s = machine(2, 1);
    // Two interior exclusions in the same range would need 2 splits; x86 gives 2 extra slots,
    // so a third split fails. Crash kernel + crash kernel low + ... use a single RAM range.
    s.system_ram = vec![PhysRange::from_inclusive(0x100000, 0xffffffff)];
    s.crash_kernel = Some(PhysRange::from_inclusive(0x1000_0000, 0x1fff_ffff));
    s.crash_kernel_low = Some(PhysRange::from_inclusive(0x3000_0000, 0x3fff_ffff));
    // 1 range + 2 slots = 3: two splits fit.
    assert_eq!(elfcorehdr::memory_ranges(&s).unwrap().len(), 3);
    let mut ranges = vec![(0x100000u64, 0xffffffffu64)];
    elfcorehdr::crash_exclude_mem_range(&mut ranges, 2, 0x1000_0000, 0x1fff_ffff).unwrap();
    let e =
        elfcorehdr::crash_exclude_mem_range(&mut ranges, 2, 0x3000_0000, 0x3fff_ffff).unwrap_err();
    assert_eq!(e.code(), "out-of-range-slots");
    assert!(e.to_string().contains("0x30000000-0x3fffffff"), "{e}");
    assert_eq!(ranges.len(), 2);
}

#[test]
fn unknown_cpu_or_block_is_an_error_and_the_target_is_untouched() {
    let s = state("01-mem-hotadd-128M");
    let mut seg = kernel_segment("00-boot");
    let copy = seg.clone();
    for (ev, code) in [
        ("cpu-online:7", "unknown-cpu"),
        ("cpu-offline:4", "unknown-cpu"),
        ("cpu-add:99", "unknown-cpu"),
        (
            "memory-online:0x200000000-0x207ffffff",
            "unknown-memory-block",
        ),
        (
            "memory-offline:0x100000000-0x100ffffff",
            "unknown-memory-block",
        ),
        ("memory-online:memory33", "unknown-memory-block"),
    ] {
        let event = Event::parse(ev, s.memory_block_size).unwrap();
        let e = update_in_place(&mut seg, &s, event).unwrap_err();
        assert_eq!(e.code(), code, "{ev}: {e}");
        assert!(seg == copy, "{ev}: target changed");
    }
    let e = update_in_place(&mut seg, &s, Event::CpuOnline(9)).unwrap_err();
    assert!(e.to_string().contains("possible: 0-3"), "{e}");
}

#[test]
fn a_target_that_is_not_a_header_is_refused_untouched() {
    let s = state("01-mem-hotadd-128M");
    let mut junk = vec![0xa5u8; 917_680];
    let copy = junk.clone();
    let e = update_in_place(
        &mut junk,
        &s,
        Event::MemoryOnline(PhysRange::from_start_len(0x1_0000_0000, BLOCK)),
    )
    .unwrap_err();
    assert_eq!(e.offset(), Some(0));
    assert!(junk == copy);
}

#[test]
fn bad_event_strings() {
    for bad in [
        "",
        "memory-online",
        "memory-online:0x10-0x5",
        "cpu-online:x",
        "dance:1",
        "memory-online:memory3",
        "memory-online:zz-0x1",
    ] {
        let e = Event::parse(bad, None).unwrap_err();
        assert_eq!(e.code(), "bad-event", "{bad}");
    }
}

#[test]
fn invalid_states_are_refused() {
    let mut s = machine(2, 3);
    s.cpus.clear();
    assert_eq!(build(&s, 1 << 20).unwrap_err().code(), "invalid-state");
    let mut s = machine(2, 3);
    s.system_ram.swap(2, 3);
    assert_eq!(build(&s, 1 << 20).unwrap_err().code(), "invalid-state");
    let _ = SystemState::default();
}
