//! Tests: arm64 page-table walks (issue 17).
//!
//! Tables are built by `testgen::arm64pt` (its own descriptor encoding, written from the
//! architecture) and walked back: every mapping must come back as the same physical address,
//! size and contiguous bit, for every granule and VA size Linux uses. Hostile tables (loops,
//! blocks where none may be) and absurd vmcoreinfo values end in clear errors.

use proptest::prelude::*;
use testgen::arm64pt::Arm64Tables as Gen;
use vmcore::paging::RootSource;
use vmcore::paging::arm64::{Arm64Layout, Arm64Space, Arm64Tables, untag};
use vmcore::{Error, PhysAddr, VirtAddr, VmcoreInfo};

/// (page shift, VA bits) of every arm64 Linux configuration, plus the LPA2 fallbacks.
const CONFIGS: &[(u32, u32)] = &[
    (12, 39),
    (12, 48),
    (12, 52),
    (14, 36),
    (14, 47),
    (14, 48),
    (14, 52),
    (16, 42),
    (16, 48),
    (16, 52),
];

/// Leaf sizes a walker must accept for a granule and VA size: the page, and the block sizes
/// the architecture allows at the levels the tables have.
fn leaf_shifts(page_shift: u32, va_bits: u32) -> Vec<u32> {
    let g = Gen::new(page_shift, va_bits, 0x1000_0000);
    let lpa2 = page_shift != 16 && va_bits == 52;
    let blocks: &[u32] = match (page_shift, lpa2) {
        (12, false) => &[21, 30],
        (12, true) => &[21, 30, 39],
        (14, false) => &[25],
        (14, true) => &[25, 36],
        _ => &[29, 42],
    };
    let levels: Vec<u32> = (0..g.levels).map(|d| g.shift_of(d)).collect();
    let mut out = vec![page_shift];
    out.extend(blocks.iter().filter(|s| levels.contains(s)));
    out
}

fn walker(g: &Gen) -> Arm64Tables {
    let layout = Arm64Layout::new(1 << g.page_shift, g.va_bits).expect("layout");
    assert_eq!(u32::from(layout.levels), g.levels);
    Arm64Tables::new(PhysAddr(g.root), layout, RootSource::Explicit)
}

fn reader(g: &Gen) -> impl Fn(PhysAddr, &mut [u8]) -> vmcore::Result<()> + '_ {
    |pa: PhysAddr, buf: &mut [u8]| {
        if g.read(pa.0, buf) {
            Ok(())
        } else {
            Err(Error::NotInDump { addr: pa.0 })
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Build tables → walk → the same mapping, at a random offset inside each leaf.
    #[test]
    fn walk_returns_every_mapping(
        config in 0..CONFIGS.len(),
        picks in prop::collection::vec((any::<u64>(), any::<u64>(), any::<u8>(), any::<bool>(), any::<u64>()), 1..24),
    ) {
        let (page_shift, va_bits) = CONFIGS[config];
        let shifts = leaf_shifts(page_shift, va_bits);
        let pa_bits = if page_shift == 16 || va_bits == 52 { 52 } else { 48 };
        // Tables above 2^48 when the format can say so: the high output-address bits count.
        let base = if pa_bits == 52 { 0x000a_0000_0000_0000 } else { 0x4000_0000 };
        let mut g = Gen::new(page_shift, va_bits, base);
        let mut probes = Vec::new();
        for (va, pa, s, cont, off) in picks {
            let shift = shifts[s as usize % shifts.len()];
            let va = (u64::MAX << va_bits) | (va & ((1u64 << va_bits) - 1));
            let pa = pa & ((1u64 << pa_bits) - 1);
            if g.map(va, pa, shift, cont) {
                let mask = (1u64 << shift) - 1;
                probes.push(((va & !mask) | (off & mask), (pa & !mask) | (off & mask), shift, cont));
            }
        }
        // The first mapping always lands (the tables start empty).
        prop_assert!(!probes.is_empty());
        let t = walker(&g);
        let read = reader(&g);
        for (va, pa, shift, cont) in probes {
            let r = t.translate(&read, VirtAddr(va)).map_err(|e| TestCaseError::fail(format!("{va:#x}: {e}")))?;
            prop_assert_eq!(r.phys, PhysAddr(pa), "va {:#x}", va);
            prop_assert_eq!(r.page_size, 1u64 << shift);
            prop_assert_eq!(r.contiguous, cont);
            prop_assert_eq!(r.steps.last().map(|s| s.level), Some(level_of(&g, shift)));
            // A KASAN-style tag in the top byte does not change the answer.
            let tagged = (va & !(0xffu64 << 56)) | (0xf3u64 << 56);
            prop_assert_eq!(untag(tagged), va);
            prop_assert_eq!(t.translate(&read, VirtAddr(tagged)).map(|r| r.phys).ok(), Some(PhysAddr(pa)));
        }
    }
}

fn level_of(g: &Gen, shift: u32) -> &'static str {
    let layout = Arm64Layout::new(1 << g.page_shift, g.va_bits).expect("layout");
    let depth = (0..g.levels)
        .position(|d| g.shift_of(d) == shift)
        .expect("level");
    layout.level_name(depth)
}

#[test]
fn level_names_follow_linux_folding() {
    let names = |ps: u64, bits: u32| {
        let l = Arm64Layout::new(ps, bits).unwrap();
        (0..usize::from(l.levels))
            .map(|d| l.level_name(d))
            .collect::<Vec<_>>()
    };
    assert_eq!(names(4096, 48), ["PGD", "PUD", "PMD", "PTE"]);
    assert_eq!(names(4096, 52), ["PGD", "P4D", "PUD", "PMD", "PTE"]);
    assert_eq!(names(4096, 39), ["PGD", "PMD", "PTE"]);
    assert_eq!(names(65536, 48), ["PGD", "PMD", "PTE"]);
    assert_eq!(names(65536, 42), ["PGD", "PTE"]);
    assert_eq!(names(16384, 47), ["PGD", "PMD", "PTE"]);
}

#[test]
fn unmapped_and_user_addresses_are_answers_not_guesses() {
    let mut g = Gen::new(12, 48, 0x4000_0000);
    let va = 0xffff_8000_1000_0000;
    assert!(g.map(va, 0x4_0000_0000, 12, false));
    let t = walker(&g);
    let read = reader(&g);
    // Next page: the PTE is empty.
    match t.translate(&read, VirtAddr(va + 0x1000)) {
        Err(Error::VirtNotMapped {
            level: "PTE",
            entry: 0,
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
    // Another PGD slot: nothing there.
    match t.translate(&read, VirtAddr(0xffff_0000_0000_0000)) {
        Err(Error::VirtNotMapped { level: "PGD", .. }) => {}
        other => panic!("{other:?}"),
    }
    // A user address is not in TTBR1's half.
    let e = t
        .translate(&read, VirtAddr(0x0000_ffff_0000_0000))
        .unwrap_err();
    assert!(e.to_string().contains("not a kernel address"), "{e}");
}

#[test]
fn looping_tables_end_in_an_error() {
    // Every level's entry points back to the root: the walk must stop at the second visit.
    for &(ps, bits) in CONFIGS {
        let mut g = Gen::new(ps, bits, 0x4000_0000);
        let va = u64::MAX << bits;
        let root = g.root;
        let desc = g.encode_pa(root) | 0b11;
        for i in 0..(1u64 << (ps - 3)).min(1 << (bits - g.shift_of(0))) {
            g.set_entry(root, i, desc);
        }
        let e = walker(&g).translate(&reader(&g), VirtAddr(va)).unwrap_err();
        assert!(
            e.to_string().contains("page-table loop"),
            "{ps}/{bits}: {e}"
        );
    }
}

#[test]
fn a_block_where_the_granule_allows_none_is_corrupt() {
    // 4 KiB, 48-bit: a block descriptor in the top (512 GiB) level is invalid without LPA2.
    let mut g = Gen::new(12, 48, 0x4000_0000);
    let va = 0xffff_8000_0000_0000u64;
    let root = g.root;
    g.set_entry(root, (va >> 39) & 0x1ff, 0x80_0000_0000 | 0b01 | (1 << 10));
    let e = walker(&g).translate(&reader(&g), VirtAddr(va)).unwrap_err();
    assert!(e.to_string().contains("does not allow"), "{e}");
}

#[test]
fn unreadable_table_names_the_descriptor_pointing_there() {
    let mut g = Gen::new(16, 48, 0x4000_0000);
    let va = 0xffff_0000_0000_0000u64;
    let root = g.root;
    // A table descriptor to memory that holds nothing.
    g.set_entry(root, (va >> 42) & 0x3f, g.encode_pa(0x7_0000_0000) | 0b11);
    let e = walker(&g).translate(&reader(&g), VirtAddr(va)).unwrap_err();
    let s = e.to_string();
    assert!(
        s.contains("PMD table at 0x700000000") && s.contains("PGD descriptor"),
        "{s}"
    );
}

fn info(text: &str) -> VmcoreInfo {
    VmcoreInfo::parse(text.as_bytes())
}

#[test]
fn debian_52_bit_kernel_on_a_48_bit_cpu() {
    // Debian's arm64 kernels: VA_BITS=52, 4 KiB pages; without LPA2 the CPU runs 48-bit
    // (TCR_EL1_T1SZ=16), and PHYS_OFFSET is moved down by _PAGE_OFFSET(48) - _PAGE_OFFSET(52)
    // so the linear map still starts at PAGE_OFFSET: it wraps below zero.
    let ram = 0x4000_0000u64;
    let phys_offset =
        ram.wrapping_sub(0xffff_0000_0000_0000u64.wrapping_sub(0xfff0_0000_0000_0000));
    let s = Arm64Space::from_vmcoreinfo(&info(&format!(
        "OSRELEASE=6.12.48+deb13-arm64\nPAGESIZE=4096\nNUMBER(VA_BITS)=52\n\
         NUMBER(kimage_voffset)=0xffff7fff3f600000\nNUMBER(PHYS_OFFSET)={phys_offset:#x}\n\
         NUMBER(TCR_EL1_T1SZ)=0x10\nKERNELOFFSET=7ec00000\nSYMBOL(swapper_pg_dir)=ffff8000822d6000\n"
    )))
    .unwrap();
    assert_eq!(s.tables.layout.va_bits, 48);
    assert_eq!(s.tables.layout.levels, 4);
    assert_eq!(s.config_va_bits, 52);
    assert_eq!(s.t1sz, Some(16));
    assert_eq!(
        s.tables.root,
        PhysAddr(0xffff_8000_822d_6000u64.wrapping_sub(0xffff_7fff_3f60_0000))
    );
    assert_eq!(s.tables.source, RootSource::SwapperPgDirKimage);
    assert_eq!(s.kaslr_offset, Some(0x7ec0_0000));
    // The first linear-map address of a 48-bit CPU is the start of RAM.
    assert_eq!(s.linear_to_phys(0xffff_0000_0000_0000), Some(ram));
    assert_eq!(
        s.linear_to_phys(0xffff_0000_0123_4567),
        Some(ram + 0x123_4567)
    );
    // The kernel image (above PAGE_END) is not linear.
    assert_eq!(s.linear_to_phys(0xffff_8000_8000_0000), None);
    assert_eq!(s.kimage_to_phys(0xffff_8000_822d_6000), s.tables.root.0);
}

#[test]
fn sixty_four_k_pages_keep_the_52_bit_shape() {
    // With 64 KiB pages the kernel offsets TTBR1 instead of folding: walk VA_BITS.
    let s = Arm64Space::from_vmcoreinfo(&info(
        "PAGESIZE=65536\nNUMBER(VA_BITS)=52\nNUMBER(kimage_voffset)=0xffff800000000000\n\
         NUMBER(PHYS_OFFSET)=0x80000000\nNUMBER(TCR_EL1_T1SZ)=0x10\n\
         SYMBOL(swapper_pg_dir)=ffff800081230000\n",
    ))
    .unwrap();
    assert_eq!((s.tables.layout.va_bits, s.tables.layout.levels), (52, 3));
}

#[test]
fn absurd_vmcoreinfo_values_are_clear_errors() {
    let base = "NUMBER(kimage_voffset)=0xffff800000000000\nNUMBER(PHYS_OFFSET)=0x40000000\n\
                SYMBOL(swapper_pg_dir)=ffff800081230000\n";
    for (extra, needle) in [
        (
            "PAGESIZE=4096\nNUMBER(TCR_EL1_T1SZ)=0x0\n",
            "64-bit virtual address",
        ),
        (
            "PAGESIZE=4096\nNUMBER(TCR_EL1_T1SZ)=0xffffffffffffffff\n",
            "TCR_EL1_T1SZ",
        ),
        ("PAGESIZE=4096\nNUMBER(TCR_EL1_T1SZ)=0x30\n", "16-bit"),
        ("PAGESIZE=4096\nNUMBER(VA_BITS)=99\n", "99-bit"),
        ("PAGESIZE=4096\nNUMBER(VA_BITS)=-5\n", "VA_BITS"),
        (
            "PAGESIZE=8192\nNUMBER(VA_BITS)=48\n",
            "not an arm64 granule",
        ),
        ("PAGESIZE=4096\n", "NUMBER(TCR_EL1_T1SZ) or NUMBER(VA_BITS)"),
        ("NUMBER(VA_BITS)=48\n", "PAGESIZE"),
    ] {
        let e = Arm64Space::from_vmcoreinfo(&info(&format!("{extra}{base}"))).unwrap_err();
        assert!(e.to_string().contains(needle), "{extra}: {e}");
    }
    // swapper_pg_dir that is not granule-aligned after kimage_voffset.
    let e = Arm64Space::from_vmcoreinfo(&info(
        "PAGESIZE=65536\nNUMBER(VA_BITS)=48\nNUMBER(kimage_voffset)=0xffff800000001000\n\
         NUMBER(PHYS_OFFSET)=0x40000000\nSYMBOL(swapper_pg_dir)=ffff800081230000\n",
    ))
    .unwrap_err();
    assert!(e.to_string().contains("not aligned"), "{e}");
    // Missing kimage_voffset.
    let e = Arm64Space::from_vmcoreinfo(&info(
        "PAGESIZE=4096\nNUMBER(VA_BITS)=48\nNUMBER(PHYS_OFFSET)=0x40000000\nSYMBOL(swapper_pg_dir)=ffff800081230000\n",
    ))
    .unwrap_err();
    assert!(e.to_string().contains("kimage_voffset"), "{e}");
}
