//! Tests: x86_64 page-table walks (issue 5).
//!
//! Oracles: the real dumps' own PT_LOAD virtual addresses (kernel text and direct map) for
//! `/proc/vmcore`, and the fact that the QEMU dump of step 06 is the same boot (same KASLR
//! layout, so the same `page_offset_base`). Hostile page tables are built in fake memories here.

use std::collections::HashMap;

use vmcore::paging::{PageOffsetSource, PageTables, RootSource};
use vmcore::{Dump, Error, PhysAddr, VirtAddr};

const PROC_VMCORE: &str = "kdump/proc-vmcore.elf";
const QEMU_06: &str = "qemu-dumps/dump-06-cpu3-online.elf";
/// `p_vaddr - p_paddr` of the direct-map PT_LOADs in `oracles/proc-vmcore.readelf.txt`.
const PAGE_OFFSET_BASE: u64 = 0xffff_88bf_4000_0000;

fn open(rel: &str) -> Dump {
    let path = real_data::path(rel).unwrap_or_else(|e| panic!("{rel}: {e}"));
    Dump::open(&path).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Every `SYMBOL(...)` of the dump's vmcoreinfo.
fn symbols(dump: &Dump) -> Vec<(String, u64)> {
    let info = dump.vmcoreinfo().expect("vmcoreinfo");
    info.entries()
        .iter()
        .filter_map(|(k, _)| {
            let name = k.strip_prefix("SYMBOL(")?.strip_suffix(')')?;
            Some((name.to_string(), info.symbol(name)?))
        })
        .collect()
}

#[test]
fn proc_vmcore_walk_agrees_with_pt_load_virtual_addresses() {
    let dump = open(PROC_VMCORE);
    let tables = dump.kernel_page_tables().unwrap();
    assert_eq!(tables.levels, 4);
    assert_eq!(tables.source, RootSource::InitTopPgt);
    // init_top_pgt ffffffff8a622000 - __START_KERNEL_map + phys_base 0x11000000.
    assert_eq!(tables.root, PhysAddr(0x0a62_2000 + 0x1100_0000));

    // Every symbol the PT_LOADs cover (kernel text and direct map) translates to the same
    // physical address through the page tables; vmemmap has no PT_LOAD and is skipped.
    let mut checked = 0;
    for (name, va) in symbols(&dump) {
        let Some(by_load) = dump.virt_to_phys_by_segments(VirtAddr(va)) else {
            continue;
        };
        let t = dump
            .translate(VirtAddr(va))
            .unwrap_or_else(|e| panic!("{name} {va:#x}: {e}"));
        assert_eq!(t.phys, by_load, "{name} {va:#x}");
        assert_eq!(
            t.steps.len() as u64,
            4 - u64::from(t.page_size.trailing_zeros() - 12) / 9
        );
        checked += 1;
    }
    assert!(checked >= 12, "only {checked} symbols checked");

    // Samples across every PT_LOAD: first, middle and last byte.
    for r in dump.memory().ranges() {
        let Some(v) = r.virt else { continue };
        for off in [0, r.phys.len() / 2, r.phys.len() - 1] {
            let t = dump.translate(VirtAddr(v.0 + off)).unwrap();
            assert_eq!(
                t.phys,
                PhysAddr(r.phys.start.0 + off),
                "va {:#x}",
                v.0 + off
            );
        }
    }
}

#[test]
fn read_virt_equals_read_phys_at_translation() {
    for rel in [PROC_VMCORE, QEMU_06] {
        let dump = open(rel);
        for (name, va) in symbols(&dump) {
            let Ok(t) = dump.translate(VirtAddr(va)) else {
                continue;
            };
            // 10000 bytes cross at least two 4 KiB boundaries.
            let mut by_virt = vec![0u8; 10_000];
            let mut by_phys = vec![0u8; 10_000];
            if dump.read_virt(VirtAddr(va), &mut by_virt).is_err() {
                continue; // runs into an unmapped page: covered by the tests below
            }
            let pages = dump.virt_reader().unwrap();
            let mut done = 0;
            while done < by_phys.len() {
                let t = dump.translate(VirtAddr(va + done as u64)).unwrap();
                let n = (t.bytes_left_in_page() as usize).min(by_phys.len() - done);
                dump.read_phys(t.phys, &mut by_phys[done..done + n])
                    .unwrap();
                done += n;
            }
            assert_eq!(by_virt, by_phys, "{rel} {name} {va:#x} -> {}", t.phys);
            let mut again = vec![0u8; 10_000];
            pages.read(VirtAddr(va), &mut again).unwrap();
            assert_eq!(again, by_virt);
        }
    }
}

#[test]
fn page_offset_base_from_loads_and_from_page_tables() {
    let kdump = open(PROC_VMCORE);
    let p = kdump.page_offset_base().unwrap();
    assert_eq!(
        (p.base, p.source),
        (PAGE_OFFSET_BASE, PageOffsetSource::ElfLoad)
    );
    // The scan agrees with the PT_LOADs on the same dump.
    let tables = kdump.kernel_page_tables().unwrap();
    let scanned = tables
        .scan_direct_map(
            &|pa, buf| kdump.read_phys(pa, buf),
            vmcore::paging::DIRECT_MAP_START_L4,
            0xffff_d08b_0000_0000,
        )
        .unwrap();
    assert_eq!(scanned, PAGE_OFFSET_BASE);

    // The QEMU dump has no virtual addresses: the scan finds the same base (same boot).
    let qemu = open(QEMU_06);
    // (QEMU writes p_vaddr = p_paddr: no kernel virtual address anywhere.)
    assert!(
        qemu.memory()
            .ranges()
            .iter()
            .all(|r| r.virt.is_none_or(|v| v.0 == r.phys.start.0))
    );
    let p = qemu.page_offset_base().unwrap();
    assert_eq!(
        (p.base, p.source),
        (PAGE_OFFSET_BASE, PageOffsetSource::PageTableScan)
    );
    // And physical memory read through the direct map is physical memory.
    let mut a = [0u8; 64];
    let mut b = [0u8; 64];
    qemu.read_virt(VirtAddr(p.base + 0x10_0000), &mut a)
        .unwrap();
    qemu.read_phys(PhysAddr(0x10_0000), &mut b).unwrap();
    assert_eq!(a, b);
}

#[test]
fn qemu_cpu_cr3_maps_the_kernel_like_init_top_pgt() {
    let dump = open(QEMU_06);
    let kernel = dump.kernel_page_tables().unwrap();
    let prb = dump.vmcoreinfo().unwrap().symbol("prb").unwrap();
    let expect = dump.translate(VirtAddr(prb)).unwrap().phys;
    let mut with_cr3 = 0;
    for cpu in dump.cpus() {
        let Ok(tables) = dump.cpu_page_tables(cpu.note_index) else {
            continue;
        };
        assert!(matches!(tables.source, RootSource::Cr3 { .. }));
        assert_eq!(tables.levels, kernel.levels);
        let t = dump.translate_with(&tables, VirtAddr(prb)).unwrap();
        assert_eq!(t.phys, expect, "cpu note {}", cpu.note_index);
        with_cr3 += 1;
    }
    assert!(with_cr3 > 0, "no CPU of the QEMU dump has a CR3");
    assert!(dump.cpu_page_tables(99).is_err());
}

#[test]
fn unmapped_and_non_canonical_addresses_name_the_problem() {
    let dump = open(PROC_VMCORE);
    // The 4-level direct-map window starts 0xffff888000000000; with KASLR this boot's direct
    // map starts at 0xffff88bf40000000, so the window's first gigabytes are unmapped.
    let err = dump.translate(VirtAddr(0xffff_8880_0000_0000)).unwrap_err();
    match &err {
        Error::VirtNotMapped { addr, level, .. } => {
            assert_eq!(*addr, 0xffff_8880_0000_0000);
            assert!(["PGD", "PUD", "PMD", "PTE"].contains(level), "{level}");
        }
        e => panic!("expected VirtNotMapped, got {e}"),
    }
    assert!(err.to_string().contains("is not mapped"), "{err}");
    let mut buf = [0u8; 8];
    assert!(matches!(
        dump.read_virt(VirtAddr(0xffff_8880_0000_0000), &mut buf),
        Err(Error::VirtNotMapped { .. })
    ));
    let err = dump.translate(VirtAddr(0x0000_8000_0000_0000)).unwrap_err();
    assert!(err.to_string().contains("not canonical"), "{err}");
}

// ---- fake memories ----------------------------------------------------------------------

/// Physical memory made of 4 KiB pages; everything else is "not in the dump".
#[derive(Default)]
struct FakePhys {
    pages: HashMap<u64, Vec<u8>>,
}

impl FakePhys {
    fn set_entry(&mut self, table: u64, index: u64, entry: u64) {
        let page = self.pages.entry(table).or_insert_with(|| vec![0; 4096]);
        page[(index * 8) as usize..(index * 8 + 8) as usize].copy_from_slice(&entry.to_le_bytes());
    }
    fn read(&self, pa: PhysAddr, buf: &mut [u8]) -> vmcore::Result<()> {
        for (i, b) in buf.iter_mut().enumerate() {
            let a = pa.0 + i as u64;
            let page = self
                .pages
                .get(&(a & !0xfff))
                .ok_or(Error::NotInDump { addr: a })?;
            *b = page[(a & 0xfff) as usize];
        }
        Ok(())
    }
}

const P: u64 = 1; // present
const RW: u64 = 2;
const PS: u64 = 1 << 7; // large page

fn idx(va: u64, shift: u32) -> u64 {
    (va >> shift) & 0x1ff
}

#[test]
fn four_level_walk_with_4k_2m_and_1g_pages() {
    let mut m = FakePhys::default();
    let root = 0x1000;
    let va_4k = 0xffff_8880_0000_5123u64;
    let va_2m = 0xffff_8880_4020_0000u64 + 0x1_2345;
    let va_1g = 0xffff_8881_0000_0000u64 + 0x1234_5678;
    m.set_entry(root, idx(va_4k, 39), 0x2000 | P | RW);
    m.set_entry(0x2000, idx(va_4k, 30), 0x3000 | P | RW);
    m.set_entry(0x3000, idx(va_4k, 21), 0x4000 | P | RW);
    // Bit 63 (NX) and the SME bit must not leak into the address.
    m.set_entry(
        0x4000,
        idx(va_4k, 12),
        0x8000_0000_0077_7000 | (1 << 47) | P,
    );
    m.set_entry(0x2000, idx(va_2m, 30), 0x5000 | P);
    m.set_entry(0x5000, idx(va_2m, 21), 0x2_0000_0000 | PS | P | (1 << 12)); // PAT bit
    m.set_entry(0x2000, idx(va_1g, 30), 0x40_0000_0000 | PS | P);
    let t = PageTables::new(PhysAddr(root), 4, 1 << 47, RootSource::Explicit);
    let read = |pa, buf: &mut [u8]| m.read(pa, buf);

    let r = t.translate(&read, VirtAddr(va_4k)).unwrap();
    assert_eq!((r.phys, r.page_size), (PhysAddr(0x77_7123), 4096));
    let names: Vec<_> = r.steps.iter().map(|s| s.level).collect();
    assert_eq!(names, ["PGD", "PUD", "PMD", "PTE"]);
    assert_eq!(r.steps[0].entry_addr, PhysAddr(root + idx(va_4k, 39) * 8));

    let r = t.translate(&read, VirtAddr(va_2m)).unwrap();
    assert_eq!(
        (r.phys, r.page_size),
        (PhysAddr(0x2_0000_0000 + 0x1_2345), 2 << 20)
    );
    assert_eq!(r.steps.len(), 3);
    let r = t.translate(&read, VirtAddr(va_1g)).unwrap();
    assert_eq!(
        (r.phys, r.page_size),
        (PhysAddr(0x40_0000_0000 + 0x1234_5678), 1 << 30)
    );
    assert_eq!(r.steps.len(), 2);
    assert_eq!(r.page_phys(), PhysAddr(0x40_0000_0000));

    // Not present at PMD level: the error names it.
    match t.translate(&read, VirtAddr(va_4k + (2 << 20))) {
        Err(Error::VirtNotMapped {
            level: "PMD",
            entry: 0,
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn five_level_walk_names_p4d() {
    let mut m = FakePhys::default();
    let va = 0xff11_0000_1234_5678u64;
    m.set_entry(0x1000, idx(va, 48), 0x2000 | P);
    m.set_entry(0x2000, idx(va, 39), 0x3000 | P);
    m.set_entry(0x3000, idx(va, 30), 0x9_4000_0000 | PS | P);
    let t = PageTables::new(PhysAddr(0x1000), 5, 0, RootSource::Explicit);
    let read = |pa, buf: &mut [u8]| m.read(pa, buf);
    let r = t.translate(&read, VirtAddr(va)).unwrap();
    assert_eq!(r.phys, PhysAddr(0x9_4000_0000 + (va & 0x3fff_ffff)));
    let names: Vec<_> = r.steps.iter().map(|s| s.level).collect();
    assert_eq!(names, ["PGD", "P4D", "PUD"]);
    // 4-level canonical but 5-level canonical too; a 57-bit non-canonical one is refused.
    assert!(t.translate(&read, VirtAddr(0x0100_0000_0000_0000)).is_err());
    // Same PGD entry, next P4D entry: not present.
    match t.translate(&read, VirtAddr(va + (1 << 39))) {
        Err(Error::VirtNotMapped { level: "P4D", .. }) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn page_table_loops_are_errors() {
    let mut m = FakePhys::default();
    let va = 0xffff_8880_0000_0000u64;
    // PGD -> PUD table that points back at the PGD table.
    m.set_entry(0x1000, idx(va, 39), 0x2000 | P);
    m.set_entry(0x2000, idx(va, 30), 0x1000 | P);
    let t = PageTables::new(PhysAddr(0x1000), 4, 0, RootSource::Explicit);
    let read = |pa, buf: &mut [u8]| m.read(pa, buf);
    let err = t.translate(&read, VirtAddr(va)).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("loop") && msg.contains("PUD entry") && msg.contains("PGD"),
        "{msg}"
    );

    // A table pointing at itself.
    let mut m = FakePhys::default();
    m.set_entry(0x1000, idx(va, 39), 0x1000 | P);
    let read = |pa, buf: &mut [u8]| m.read(pa, buf);
    assert!(
        t.translate(&read, VirtAddr(va))
            .unwrap_err()
            .to_string()
            .contains("loop")
    );
    // The direct-map scan over a self-referencing table ends (bounded) with an error.
    let err = t
        .scan_direct_map(&read, va, va + (1 << 45))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("page_offset_base") || err.contains("tables"),
        "{err}"
    );
}

#[test]
fn tables_outside_the_dump_name_the_level() {
    let mut m = FakePhys::default();
    let va = 0xffff_ffff_8100_0000u64;
    m.set_entry(0x1000, idx(va, 39), 0x2000 | P);
    m.set_entry(0x2000, idx(va, 30), 0xdead_b000 | P); // PMD table not in the dump
    let t = PageTables::new(PhysAddr(0x1000), 4, 0, RootSource::Explicit);
    let read = |pa, buf: &mut [u8]| m.read(pa, buf);
    let msg = t.translate(&read, VirtAddr(va)).unwrap_err().to_string();
    assert!(
        msg.contains("PMD table at 0xdeadb000") && msg.contains("PUD entry"),
        "{msg}"
    );
    // A root outside the dump.
    let t = PageTables::new(PhysAddr(0x7_0000_0000), 4, 0, RootSource::Explicit);
    let msg = t.translate(&read, VirtAddr(va)).unwrap_err().to_string();
    assert!(msg.contains("PGD table at 0x700000000"), "{msg}");
}

#[test]
fn direct_map_scan_finds_the_lowest_linear_mapping() {
    let mut m = FakePhys::default();
    let base = 0xffff_8a00_0000_0000u64; // 1 GiB aligned
    // PA 0 mapped at `base` with 1 GiB pages; an unrelated lower mapping outside the window.
    m.set_entry(0x1000, idx(base, 39), 0x2000 | P);
    m.set_entry(0x2000, idx(base, 30), PS | P);
    m.set_entry(0x2000, idx(base, 30) + 1, (1 << 30) | PS | P);
    let t = PageTables::new(PhysAddr(0x1000), 4, 0, RootSource::Explicit);
    let read = |pa, buf: &mut [u8]| m.read(pa, buf);
    assert_eq!(
        t.scan_direct_map(
            &read,
            vmcore::paging::DIRECT_MAP_START_L4,
            0xffff_c000_0000_0000
        )
        .unwrap(),
        base
    );
    // A lowest mapping that is not linear from PA 0 at a 1 GiB boundary is refused.
    let mut m2 = FakePhys::default();
    m2.set_entry(0x1000, idx(base, 39), 0x2000 | P);
    m2.set_entry(0x2000, idx(base, 30), 0x3000 | P);
    m2.set_entry(0x3000, 0, (5 << 21) | PS | P);
    let read2 = |pa, buf: &mut [u8]| m2.read(pa, buf);
    assert!(
        t.scan_direct_map(
            &read2,
            vmcore::paging::DIRECT_MAP_START_L4,
            0xffff_c000_0000_0000
        )
        .is_err()
    );
}

#[test]
fn a_vcpu_that_never_started_has_cr3_0_and_the_error_says_so() {
    let mut spec = testgen::ElfSpec {
        cpus: (0..2)
            .map(|n| testgen::CpuSpec::numbered(n, n + 1))
            .collect(),
        qemu_notes: true,
        ..testgen::ElfSpec::default()
    };
    // QEMU writes a state note for every vCPU; one that never ran has all registers zero.
    spec.cpus[1].regs = None;
    let dump = vmcore::Dump::from_bytes(testgen::elf_bytes(&spec)).unwrap();
    let e = dump.cpu_page_tables(1).unwrap_err().to_string();
    assert!(e.contains("CR3 is 0") && e.contains("never started"), "{e}");
    assert!(!e.contains("only QEMU dumps"), "{e}");
}
