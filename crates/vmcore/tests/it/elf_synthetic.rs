//! Generated ELF vmcores (crates/testgen): round trips of every shape, and hostile inputs.

use proptest::prelude::*;
use testgen::{CpuSpec, ElfSpec, Fill, LoadSpec, elf_bytes, pattern_byte, sample_vmcoreinfo};
use vmcore::{Dump, Error, Format, PhysAddr, VirtAddr};

fn spec(cpus: u32, loads: Vec<LoadSpec>) -> ElfSpec {
    ElfSpec {
        cpus: (0..cpus).map(|i| CpuSpec::numbered(i, 100 + i)).collect(),
        vmcoreinfo: Some(sample_vmcoreinfo()),
        loads,
        ..ElfSpec::default()
    }
}

fn load(paddr: u64, memsz: u64, filesz: u64) -> LoadSpec {
    LoadSpec {
        paddr,
        vaddr: 0xffff_8880_0000_0000 + paddr,
        memsz,
        filesz,
        fill: Fill::Pattern,
    }
}

#[test]
fn round_trip_cpus_ranges_and_reads_across_boundaries() {
    let s = spec(
        4,
        vec![
            load(0x1000, 0x3000, 0x3000),
            load(0x4000, 0x2000, 0x1000),
            load(0x10_0000, 0x1000, 0x1000),
        ],
    );
    let d = Dump::from_bytes(elf_bytes(&s)).unwrap();
    assert_eq!(d.format(), Format::Elf64);
    assert_eq!(d.cpus().len(), 4);
    for (i, c) in d.cpus().iter().enumerate() {
        let r = c.regs.as_ref().unwrap();
        assert_eq!(c.pid, 100 + i as u32);
        assert_eq!(r.pc(), 0xffff_ffff_8100_0000 + i as u64);
        assert_eq!(r.named()[0], ("r15", (i as u64) << 32));
    }
    assert_eq!(d.memory().len(), 3);
    assert_eq!(d.vmcoreinfo().unwrap().page_size(), Some(4096));
    // A read across the boundary of two adjacent PT_LOADs, up to the second one's p_filesz.
    let mut buf = vec![0xaau8; 0x1800];
    d.read_phys(PhysAddr(0x3800), &mut buf).unwrap();
    for (i, b) in buf.iter().enumerate() {
        assert_eq!(
            *b,
            pattern_byte(0x3800 + i as u64),
            "byte at {:#x}",
            0x3800 + i
        );
    }
    // Past p_filesz the pages were excluded (makedumpfile -E's mark), as libkdumpfile reads
    // them; on request they read as zeros.
    let mut buf = vec![0xaau8; 0x2000];
    let e = d.read_phys(PhysAddr(0x3800), &mut buf).unwrap_err();
    assert!(matches!(e, Error::PageExcluded { addr: 0x5000, .. }), "{e}");
    let mut d = d;
    d.set_excluded_as_zero(true);
    d.read_phys(PhysAddr(0x3800), &mut buf).unwrap();
    for (i, b) in buf.iter().enumerate() {
        let a = 0x3800 + i as u64;
        let want = if a < 0x5000 { pattern_byte(a) } else { 0 };
        assert_eq!(*b, want, "byte at {a:#x}");
    }
    // Hole between ranges.
    let e = d.read_phys(PhysAddr(0x8000), &mut [0u8; 1]).unwrap_err();
    assert!(matches!(e, Error::NotInDump { addr: 0x8000 }), "{e}");
    // Virtual addresses through the PT_LOADs.
    assert_eq!(
        d.virt_to_phys_by_segments(VirtAddr(0xffff_8880_0010_0010)),
        Some(PhysAddr(0x10_0010))
    );
    assert!(d.findings().is_empty(), "{:?}", d.findings());
}

#[test]
fn zeroed_register_note_is_no_context_not_zero_registers() {
    let mut s = spec(3, vec![load(0, 0x1000, 0x1000)]);
    s.cpus[1].regs = None;
    let d = Dump::from_bytes(elf_bytes(&s)).unwrap();
    assert!(d.cpus()[1].regs.is_none());
    assert!(d.cpus()[0].regs.is_some() && d.cpus()[2].regs.is_some());
    let f: Vec<_> = d.findings().iter().map(|f| (f.code, f.offset)).collect();
    assert_eq!(f, vec![("CPU001", Some(d.cpus()[1].note_offset))]);
}

#[test]
fn qemu_notes_give_cpu_numbers_and_state() {
    let mut s = spec(2, vec![load(0, 0x1000, 0x1000)]);
    s.qemu_notes = true;
    s.cpus = vec![CpuSpec::numbered(0, 1), CpuSpec::numbered(1, 2)];
    let d = Dump::from_bytes(elf_bytes(&s)).unwrap();
    assert_eq!(d.cpus()[1].cpu, Some(1));
    let q = d.cpus()[1].qemu.unwrap();
    assert_eq!(q.cr[0], 0x8005_0033);
    assert_eq!(q.cr[2], 0x1000);
    assert_eq!(q.rip, d.cpus()[1].regs.unwrap().pc());
    assert_eq!(q.kernel_gs_base, Some(0));
}

#[test]
fn truncated_file_opens_says_what_is_missing_and_serves_the_rest() {
    let mut s = spec(
        1,
        vec![load(0, 0x2000, 0x2000), load(0x10000, 0x2000, 0x2000)],
    );
    let full = elf_bytes(&s).len() as u64;
    s.truncate_to = Some(full - 0x2800);
    let d = Dump::from_bytes(elf_bytes(&s)).unwrap();
    let t = d.truncation().unwrap();
    assert_eq!(t.missing_bytes, 0x2800);
    assert_eq!(t.ranges.len(), 2);
    assert_eq!(t.ranges[0], vmcore::PhysRange::new(0x1800, 0x2000));
    assert_eq!(t.ranges[1], vmcore::PhysRange::new(0x10000, 0x12000));
    let mut b = vec![0u8; 0x1800];
    d.read_phys(PhysAddr(0), &mut b).unwrap();
    assert_eq!(b[0x17ff], pattern_byte(0x17ff));
    let e = d
        .read_phys(PhysAddr(0x1000), &mut [0u8; 0x1000])
        .unwrap_err();
    assert!(matches!(e, Error::BeyondEof { addr: 0x1800, .. }), "{e}");
    assert_eq!(
        d.findings().iter().filter(|f| f.code == "ELF001").count(),
        2
    );
}

#[test]
fn pn_xnum_program_header_count_comes_from_section_zero() {
    let mut s = spec(
        1,
        (0..5).map(|i| load(i * 0x10000, 0x1000, 0x1000)).collect(),
    );
    s.pn_xnum = true;
    let d = Dump::from_bytes(elf_bytes(&s)).unwrap();
    assert_eq!(d.segments().len(), 6);
    assert_eq!(d.memory().len(), 5);
}

#[test]
fn incomplete_flag_and_overlaps_are_findings() {
    let mut s = spec(
        1,
        vec![load(0, 0x2000, 0x2000), load(0x1000, 0x2000, 0x2000)],
    );
    s.e_flags = 1;
    let d = Dump::from_bytes(elf_bytes(&s)).unwrap();
    let codes: Vec<_> = d.findings().iter().map(|f| f.code).collect();
    assert!(
        codes.contains(&"ELF004") && codes.contains(&"ELF003"),
        "{codes:?}"
    );
}

/// arm64 kexec-tools writes the kernel image as a PT_LOAD inside the RAM PT_LOAD that holds
/// it: nested is not ELF003 there (it still is on x86_64); a partial overlap still is, also
/// behind a nested range.
#[test]
fn arm64_nested_kernel_image_load_is_not_an_overlap() {
    let elf003 = |machine: u16, loads: Vec<LoadSpec>| {
        let s = ElfSpec {
            machine,
            cpus: vec![CpuSpec::numbered_for(machine, 0, 1)],
            ..spec(0, loads)
        };
        let d = Dump::from_bytes(elf_bytes(&s)).unwrap();
        d.findings().iter().filter(|f| f.code == "ELF003").count()
    };
    let ram_and_image = || vec![load(0, 0x10000, 0x10000), load(0x2000, 0x3000, 0x3000)];
    assert_eq!(elf003(testgen::EM_AARCH64, ram_and_image()), 0);
    assert_eq!(elf003(testgen::EM_X86_64, ram_and_image()), 1);
    // Same start: one holds the other.
    let same_start = vec![load(0, 0x10000, 0x10000), load(0, 0x3000, 0x3000)];
    assert_eq!(elf003(testgen::EM_AARCH64, same_start), 0);
    // A partial overlap with the RAM range behind the nested image is still found.
    let mut partial = ram_and_image();
    partial.push(load(0xf000, 0x2000, 0x2000));
    assert_eq!(elf003(testgen::EM_AARCH64, partial), 1);
    let plain_partial = vec![load(0, 0x2000, 0x2000), load(0x1000, 0x2000, 0x2000)];
    assert_eq!(elf003(testgen::EM_AARCH64, plain_partial), 1);
}

#[test]
fn sparse_terabyte_dump_with_8192_ranges_and_1024_cpus_opens_lazily() {
    let dir = tempfile_dir();
    let path = dir.join("sparse.vmcore");
    let s = ElfSpec {
        cpus: (0..1024).map(|i| CpuSpec::numbered(i, i)).collect(),
        vmcoreinfo: Some(sample_vmcoreinfo()),
        loads: testgen::sparse_loads(8192, 2 << 20, 1 << 40),
        ..ElfSpec::default()
    };
    let len = testgen::write_elf_file(&s, &path).unwrap();
    assert!(len > 16 << 30, "16 GiB of file holes");
    let d = Dump::open(&path).unwrap();
    assert_eq!(d.cpus().len(), 1024);
    assert_eq!(d.memory().len(), 8192);
    let last = &d.memory().ranges()[8191];
    let mut b = [1u8; 16];
    d.read_phys(PhysAddr(last.phys.start.0 + 5), &mut b)
        .unwrap();
    assert_eq!(b, [0u8; 16], "holes read as zeros");
    std::fs::remove_file(&path).unwrap();
}

fn tempfile_dir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("vmcore-it-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Every byte offset where a field of the generated header sits gets hostile values.
#[test]
fn hostile_headers_give_errors_or_findings_never_panics() {
    let base = elf_bytes(&spec(
        2,
        vec![load(0, 0x1000, 0x1000), load(0x2000, 0x1000, 0x800)],
    ));
    // e_phnum = 0xffff without a section header table.
    let mut b = base.clone();
    b[56..58].copy_from_slice(&0xffffu16.to_le_bytes());
    let e = Dump::from_bytes(b).unwrap_err();
    assert!(e.offset().is_some(), "{e}");
    // Huge p_filesz on the first PT_LOAD (phdr 1, p_filesz at +32).
    let mut b = base.clone();
    let ph1 = 64 + 56;
    b[ph1 + 32..ph1 + 40].copy_from_slice(&u64::MAX.to_le_bytes());
    let d = Dump::from_bytes(b).unwrap();
    assert!(
        d.findings()
            .iter()
            .any(|f| f.code == "ELF001" || f.code == "ELF008")
    );
    // A note whose descsz overflows.
    let mut b = base.clone();
    let notes_off = u64::from_le_bytes(b[64 + 8..64 + 16].try_into().unwrap()) as usize;
    b[notes_off + 4..notes_off + 8].copy_from_slice(&0xffff_fffcu32.to_le_bytes());
    let d = Dump::from_bytes(b).unwrap();
    assert!(
        d.findings()
            .iter()
            .any(|f| f.code == "NOTE001" && f.offset == Some(notes_off as u64))
    );
    // Notes past the end of the file.
    let mut b = base.clone();
    b[64 + 8..64 + 16].copy_from_slice(&(1u64 << 40).to_le_bytes());
    let d = Dump::from_bytes(b).unwrap();
    assert!(d.findings().iter().any(|f| f.code == "ELF007"));
    // Not ET_CORE, an unknown byte order, bad class: errors with the field's offset.
    let mut b = base.clone();
    b[16] = 2;
    assert_eq!(Dump::from_bytes(b).unwrap_err().offset(), Some(16));
    let mut b = base.clone();
    b[5] = 3;
    assert_eq!(Dump::from_bytes(b).unwrap_err().offset(), Some(5));
    // A little-endian file that says big-endian: its e_type reads 0x400, not ET_CORE.
    let mut b = base.clone();
    b[5] = 2;
    let e = Dump::from_bytes(b).unwrap_err();
    assert_eq!(e.offset(), Some(16), "{e}");
    let mut b = base.clone();
    b[4] = 9;
    assert_eq!(Dump::from_bytes(b).unwrap_err().offset(), Some(4));
    // Garbage and empty input.
    assert!(Dump::from_bytes(b"hello world, not a dump".to_vec()).is_err());
    assert!(Dump::from_bytes(Vec::new()).is_err());
    // Every truncation of the header area opens or errors cleanly.
    for n in 0..base.len().min(2048) {
        let _ = Dump::from_bytes(base[..n].to_vec()).map(|d| exercise(&d));
    }
}

/// Call every accessor, as the fuzz target does.
fn exercise(d: &Dump) {
    let _ = (
        d.cpus(),
        d.notes(),
        d.segments(),
        d.vmcoreinfo(),
        d.truncation(),
        d.findings(),
    );
    for r in d.memory().ranges() {
        let mut b = [0u8; 64];
        let _ = d.read_phys(r.phys.start, &mut b);
        let _ = d.read_phys(PhysAddr(r.phys.end.0.saturating_sub(32)), &mut b);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn bit_flips_never_panic(flips in proptest::collection::vec((0usize..1200, any::<u8>()), 1..8)) {
        let mut b = elf_bytes(&spec(2, vec![load(0, 0x1000, 0x1000), load(0x2000, 0x1000, 0x800)]));
        for (at, x) in flips {
            let at = at % b.len();
            b[at] ^= x;
        }
        if let Ok(d) = Dump::from_bytes(b) {
            exercise(&d);
        }
    }

    #[test]
    fn generated_shapes_round_trip(ncpu in 0u32..16, sizes in proptest::collection::vec(1u64..8, 1..12)) {
        let mut loads = Vec::new();
        let mut pa = 0x100000u64;
        for s in &sizes {
            loads.push(load(pa, s * 0x1000, s * 0x1000));
            pa += (s + 1) * 0x1000;
        }
        let d = Dump::from_bytes(elf_bytes(&spec(ncpu, loads.clone()))).unwrap();
        prop_assert_eq!(d.cpus().len(), ncpu as usize);
        prop_assert_eq!(d.memory().len(), loads.len());
        for l in &loads {
            let mut b = [0u8; 3];
            d.read_phys(PhysAddr(l.paddr + l.memsz - 3), &mut b).unwrap();
            prop_assert_eq!(b[2], pattern_byte(l.paddr + l.memsz - 1));
        }
    }
}

#[test]
fn elf32_i386_and_aarch64_registers_decode_in_kernel_order() {
    let s = ElfSpec {
        machine: testgen::EM_386,
        cpus: vec![CpuSpec::numbered_for(testgen::EM_386, 1, 42)],
        vmcoreinfo: Some(sample_vmcoreinfo()),
        loads: vec![load(0x1000, 0x1000, 0x1000)],
        ..ElfSpec::default()
    };
    let d = Dump::from_bytes(elf_bytes(&s)).unwrap();
    assert_eq!(d.format(), Format::Elf32);
    assert_eq!(d.machine(), vmcore::Machine::X86);
    let c = &d.cpus()[0];
    assert_eq!(c.pid, 42);
    let r = c.regs.unwrap();
    assert_eq!(r.pc(), 0xc100_0001);
    assert_eq!(r.named()[0], ("ebx", 0));
    assert_eq!(r.named()[16], ("ss", 16));
    let mut b = [0u8; 4];
    d.read_phys(PhysAddr(0x1ffc), &mut b).unwrap();
    assert_eq!(b[3], pattern_byte(0x1fff));

    let s = ElfSpec {
        machine: testgen::EM_AARCH64,
        cpus: vec![CpuSpec::numbered_for(testgen::EM_AARCH64, 2, 7)],
        loads: vec![load(0x4000_0000, 0x1000, 0x1000)],
        ..ElfSpec::default()
    };
    let d = Dump::from_bytes(elf_bytes(&s)).unwrap();
    assert_eq!(d.machine(), vmcore::Machine::Aarch64);
    let r = d.cpus()[0].regs.unwrap();
    assert_eq!(r.pc(), 0xffff_8000_1000_0002);
    assert_eq!(r.sp(), (2u64 << 32) | 31);
    assert_eq!(r.named()[33], ("pstate", (2u64 << 32) | 33));
}

#[test]
fn loads_that_wrap_or_leave_the_physical_address_space_are_errors() {
    let honest =
        Dump::from_bytes(elf_bytes(&spec(1, vec![load(0x1000, 0x4000, 0x4000)]))).expect("honest");
    assert!(
        honest
            .findings()
            .iter()
            .all(|f| f.code != "ELF010" && f.code != "ELF011")
    );
    // makedumpfile-style excluded tail of absurd size: 16 EiB of "excluded" pages.
    let raw = |paddr, memsz| LoadSpec {
        paddr,
        vaddr: 0,
        memsz,
        filesz: 0x2000,
        fill: Fill::Pattern,
    };
    let d =
        Dump::from_bytes(elf_bytes(&spec(1, vec![raw(0, 0xffff_ffff_ffff_f000)]))).expect("opens");
    let f = d
        .findings()
        .iter()
        .find(|f| f.code == "ELF011")
        .expect("ELF011");
    assert!(
        f.message.contains("p_memsz 0xfffffffffffff000"),
        "{}",
        f.message
    );
    assert!(f.offset.is_some());
    // A range past 2^64.
    let d = Dump::from_bytes(elf_bytes(&spec(
        1,
        vec![raw(0xffff_ffff_ffff_0000, 0x20000)],
    )))
    .expect("opens");
    assert!(d.findings().iter().any(|f| f.code == "ELF010"));
}
