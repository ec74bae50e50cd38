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

/// klog_decode (issue #16 session): the page cache remembers pages none of whose bytes read;
/// to tell, it probed the page's last byte at `page + 4095`, which overflows for the last page
/// of the address space (the fuzzer's `prb` pointed at `0xffffffffffffff66`). A panic in debug
/// builds; now the probe wraps and the decode is an error naming the unreadable pointer.
#[test]
fn fuzz_klog_unreadable_last_page_of_the_address_space_overflowed() {
    use vmcore::{Error, VirtAddr, VmcoreInfo, klog};
    let base = 0xffff_8880_0000_0000u64;
    let mem = 0xffff_ffff_ffff_ff66u64.to_le_bytes();
    let read = |va: VirtAddr, buf: &mut [u8]| -> vmcore::Result<()> {
        let off = va.0.wrapping_sub(base) as usize;
        match mem.get(off..off.wrapping_add(buf.len())) {
            Some(b) if off < mem.len() => {
                buf.copy_from_slice(b);
                Ok(())
            }
            _ => Err(Error::NotInDump { addr: va.0 }),
        }
    };
    let info = VmcoreInfo::parse(testgen::printk::LOCKLESS_612_KEYS.as_bytes());
    let e = klog::decode(&info, &read).unwrap_err().to_string();
    assert!(
        e.contains("count_bits") && e.contains("0xffffffffffffff66"),
        "{e}"
    );
}

/// elf_open (issue #16 session, from the hostile seed `elf-loads-size-max`): a PT_LOAD at the
/// top of the address space whose file bytes alias an earlier PT_LOAD's made the conversion
/// compute the alias's end address as `end_pfn * page_size` = 2^64 (a panic in debug
/// builds); page counts summed over many huge ranges could pass 2^64 too. They saturate now.
#[test]
fn fuzz_convert_alias_at_the_top_of_the_address_space_overflowed() {
    use testgen::hostile::{RawElf, RawPhdr, raw_elf_bytes};
    let e = RawElf {
        phdrs: vec![
            RawPhdr::load(0, 0, 0x2000),
            // Its file bytes 0x100..0x10ff lie inside the first PT_LOAD's.
            RawPhdr::load(u64::MAX - 0xfff, 0x100, 0x1000),
        ],
        ..RawElf::default()
    };
    let mut bytes = raw_elf_bytes(&e);
    bytes.resize(0x4000, 0);
    let d = Dump::from_bytes(bytes).expect("opens with findings");
    let err = vmcore::convert::write_elf(&d, &mut std::io::sink(), |_, _| {}).unwrap_err();
    assert!(err.to_string().contains("ELF009"), "{err}");
}

/// elf_open (timeout): a PT_LOAD running to the top of the address space, then a read of the
/// last address, 2^64 - 1. No range holds it (ends are exclusive), but a range covers its
/// page, so the partial-page read zero-filled "up to the page end", which saturated onto the
/// address itself: zero bytes a turn, forever. It is now not in the dump.
#[test]
fn fuzz_elf_read_of_the_last_address_made_no_progress() {
    let s = ElfSpec {
        loads: vec![LoadSpec {
            paddr: u64::MAX - 0xffff,
            vaddr: 0,
            memsz: 0x10000,
            filesz: 0x10000,
            fill: Fill::Pattern,
        }],
        ..ElfSpec::default()
    };
    for zero in [false, true] {
        let mut d = Dump::from_bytes(elf_bytes(&s)).expect("opens");
        d.set_excluded_as_zero(zero);
        let mut b = [0u8; 1];
        assert!(matches!(
            d.read_phys(PhysAddr(u64::MAX), &mut b),
            Err(vmcore::Error::NotInDump { addr: u64::MAX })
        ));
        // The byte before it is the range's last.
        d.read_phys(PhysAddr(u64::MAX - 1), &mut b)
            .expect("last byte");
        assert_eq!(b[0], testgen::pattern_byte(u64::MAX - 1));
        let mut two = [0u8; 2];
        assert!(d.read_phys(PhysAddr(u64::MAX - 1), &mut two).is_err());
    }
}

/// Shapes libkdumpfile's own test generators write that were refused (its `elf-basic-flat`,
/// `elf-empty-i386`, `diskdump-empty-i386`), made here by testgen: a flattened stream of an
/// ELF image shorter than a `disk_dump_header`; an ELF32 whose `e_phentsize` is 56 with no
/// padding after its last entry; an IA-32 kdump that ends right after its packed sub-header.
#[test]
fn short_images_libkdumpfile_writes_open() {
    use testgen::kdump::{FlatSpec, HeaderAbi, KdumpSpec, flatten, kdump_bytes};
    // Headers only: ELF header, one empty PT_NOTE.
    let tiny = elf_bytes(&ElfSpec {
        truncate_to: Some(64 + 56),
        ..ElfSpec::default()
    });
    assert!(tiny.len() < 464);
    let d = Dump::from_bytes(flatten(&tiny, &FlatSpec::default())).expect("flattened ELF");
    assert_eq!(d.segments().len(), 1);

    let elf32 = elf_bytes(&ElfSpec {
        machine: testgen::EM_386,
        elf32_phentsize: Some(56),
        truncate_to: Some(52 + 32),
        ..ElfSpec::default()
    });
    let d = Dump::from_bytes(elf32).expect("ELF32, 56-byte stride, last entry unpadded");
    assert_eq!(d.segments().len(), 1);
    assert!(d.findings().iter().any(|f| f.code == "ELF012"));

    let s = KdumpSpec {
        abi: HeaderAbi::Ilp32Packed,
        machine: "i686".into(),
        ..KdumpSpec::default()
    };
    let packed = HeaderAbi::Ilp32Packed.sub_header().size_for(6);
    let image = kdump_bytes(&KdumpSpec {
        overrides: testgen::kdump::KdumpOverrides {
            truncate_to: Some(4096 + packed),
            ..Default::default()
        },
        ..s
    });
    let d = Dump::from_bytes(image).expect("IA-32 kdump ending after its sub-header");
    assert_eq!(d.kdump_info().map(|k| k.header_version), Some(6));
}

/// LKCD and sadump files (formats libkdumpfile reads and this crate does not) are named in
/// the error, not called "not a crash dump".
#[test]
fn lkcd_and_sadump_are_named_not_unknown() {
    for (magic, name) in [
        (0xa819_0173_618f_23edu64.to_le_bytes(), "LKCD"),
        (0xa819_0173_618f_23edu64.to_be_bytes(), "LKCD"),
        (*b"sadump\0\0", "sadump"),
    ] {
        let mut b = magic.to_vec();
        b.resize(4096, 0);
        let e = Dump::from_bytes(b).expect_err("not read");
        assert!(
            matches!(e, vmcore::Error::Unsupported { .. }) && e.to_string().contains(name),
            "{e}"
        );
    }
}

/// kdump_open (out of memory): a flattened stream of an ELF image whose one record sits at a
/// far offset. The image is rebuilt into a sparse temporary file, but was opened as if every
/// byte of it were data, so a deep scan or a conversion read the whole hole (the fuzzer's
/// input: 980 GB, 320 s and 20 GB of page cache for `check --deep`). The rebuilt image now
/// carries its holes, and the work follows the bytes the records wrote.
#[test]
fn fuzz_flattened_elf_with_a_far_record_is_not_read_hole_by_hole() {
    use testgen::kdump::{FlatSpec, flat_record_header, flatten};
    let far = 1u64 << 40;
    // Headers only: one PT_LOAD whose file bytes run to the far record and past it.
    let headers = elf_bytes(&ElfSpec {
        loads: vec![LoadSpec {
            paddr: 0,
            vaddr: 0,
            memsz: far + 0x2000,
            filesz: far + 0x2000,
            fill: Fill::Hole,
        }],
        truncate_to: Some(64 + 2 * 56),
        ..ElfSpec::default()
    });
    let mut stream = flatten(
        &headers,
        &FlatSpec {
            end_marker: false,
            ..FlatSpec::default()
        },
    );
    stream.extend_from_slice(&flat_record_header(far as i64, 0x2000));
    stream.extend(std::iter::repeat_n(0x5a, 0x2000));
    stream.extend_from_slice(&flat_record_header(-1, -1));
    let d = Dump::from_bytes(stream).expect("flattened ELF");
    let mut stored = 0u64;
    for r in d.memory().ranges() {
        let _ = d.for_each_extent(r, &mut |x, kind| {
            if kind == vmcore::Extent::Stored {
                stored += x.end.0 - x.start.0;
            }
            std::ops::ControlFlow::Continue(())
        });
    }
    assert!(stored <= 0x10000, "{stored:#x} bytes counted as stored");
    let report = vmcore::convert::write_elf(&d, &mut std::io::sink(), |_, _| {}).expect("converts");
    assert!(report.pages_written <= 16, "{} pages", report.pages_written);
}
