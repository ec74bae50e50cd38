//! The arm64 page walk on real dumps (issue 17): testdata/kernels/arm64-6.12, Debian 6.12.111
//! arm64 (VA_BITS=52 built, 48-bit at run time, KASLR, PHYS_OFFSET below zero), the kdump
//! kernel's /proc/vmcore and QEMU's dump of the same boot. Oracle: drgn 0.3.0's page walks
//! (`page_walks` of oracles/drgn-arm64-*.json: drgn's PA and the descriptors of a hardware walk
//! from TTBR1) for kernel text and data, the linear map, vmalloc, modules, vmemmap and per-CPU
//! areas; drgn's `get_dmesg` for the kernel log.

use serde_json::Value;
use vmcore::paging::RootSource;
use vmcore::{Dump, Error, VirtAddr};

const DUMPS: [&str; 2] = ["vmcore-raw", "qemu-dump"];

fn dump(name: &str) -> Dump {
    let rel = format!("arm64-6.12/kdump/{name}.elf");
    let path = real_data::kernel_path(&rel).unwrap_or_else(|e| panic!("{rel}: {e}"));
    Dump::open(&path).unwrap_or_else(|e| panic!("open {rel}: {e}"))
}

fn drgn(name: &str) -> Value {
    let path = real_data::kernels_root()
        .join("arm64-6.12/oracles")
        .join(format!("drgn-arm64-{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("json")
}

const LEVEL_NAMES: [&str; 4] = ["PGD", "PUD", "PMD", "PTE"];

/// Every kernel address drgn walked: the same physical address and the same descriptors at
/// every level (table, index, entry); where drgn found no mapping, the same level and entry in
/// our "not mapped" answer. The 16 bytes drgn read there are what a virtual read gives.
#[test]
fn arm64_vtop_equals_drgn_page_walk_for_every_address() {
    for name in DUMPS {
        let d = dump(name);
        let o = drgn(name);
        let space = d.arm64_space().expect("arm64 space");
        let p = &o["walk_params"];
        assert_eq!(
            u64::from(space.tables.layout.levels),
            p["levels"].as_u64().unwrap()
        );
        assert_eq!(
            u64::from(space.tables.layout.va_bits),
            p["va_bits_effective"].as_u64().unwrap()
        );
        assert_eq!(space.tables.root.0, p["ttbr1_pa"].as_u64().unwrap());
        assert_eq!(space.tables.source, RootSource::SwapperPgDirKimage);
        let reader = d.virt_reader().expect("virt reader");
        let (mut mapped, mut unmapped, mut user) = (0, 0, 0);
        for w in o["page_walks"].as_array().expect("page_walks") {
            let va = w["va"].as_u64().expect("va");
            let what = format!("{name}: {} {} {va:#x}", w["kind"], w["what"]);
            if w["kind"] == "user" {
                // TTBR0 (a task's tables) is not in the dump's registers: not ours to walk.
                let e = d.translate(VirtAddr(va)).unwrap_err();
                assert!(
                    e.to_string().contains("not a kernel address"),
                    "{what}: {e}"
                );
                user += 1;
                continue;
            }
            let levels = w["levels"].as_array().expect("levels");
            match (d.translate(VirtAddr(va)), w["pa"].as_u64()) {
                (Ok(t), Some(pa)) => {
                    assert_eq!(t.phys.0, pa, "{what}");
                    assert_eq!(t.steps.len(), levels.len(), "{what}");
                    for (s, l) in t.steps.iter().zip(levels) {
                        let n = l["level"].as_u64().unwrap() as usize;
                        assert_eq!(s.level, LEVEL_NAMES[n], "{what}");
                        assert_eq!(s.table.0, l["table_pa"].as_u64().unwrap(), "{what}");
                        assert_eq!(u64::from(s.index), l["index"].as_u64().unwrap(), "{what}");
                        assert_eq!(s.entry, l["entry"].as_u64().unwrap(), "{what}");
                    }
                    let kind = levels.last().unwrap()["kind"].as_str().unwrap();
                    let block = t.steps.len() < 4;
                    assert_eq!(kind, if block { "block" } else { "page" }, "{what}");
                    if let Some(hex) = w["bytes16"].as_str() {
                        // drgn read them physically; virtually they may cross into an
                        // unmapped page (`_end - 1`): compare what is in this page.
                        let n = (t.bytes_left_in_page() as usize).min(16);
                        let mut buf = vec![0u8; n];
                        reader
                            .read(VirtAddr(va), &mut buf)
                            .unwrap_or_else(|e| panic!("{what}: {e}"));
                        let got: String = buf.iter().map(|b| format!("{b:02x}")).collect();
                        assert_eq!(got, hex[..2 * n], "{what}");
                    }
                    if w["kind"] == "linear" {
                        assert_eq!(space.linear_to_phys(va), Some(pa), "{what}: __pa");
                    }
                    mapped += 1;
                }
                (Err(Error::VirtNotMapped { level, entry, .. }), None) => {
                    let last = levels.last().expect("a level");
                    assert_eq!(last["kind"], "invalid", "{what}");
                    let n = last["level"].as_u64().unwrap() as usize;
                    assert_eq!(level, LEVEL_NAMES[n], "{what}");
                    assert_eq!(entry, last["entry"].as_u64().unwrap(), "{what}");
                    unmapped += 1;
                }
                (got, want) => panic!("{what}: ours {got:?}, drgn {want:?}"),
            }
        }
        assert!(
            mapped >= 75,
            "{name}: only {mapped} mapped addresses compared"
        );
        assert!(unmapped >= 2, "{name}: {unmapped} unmapped");
        let oracle_user = o["page_walks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|w| w["kind"] == "user")
            .count();
        assert_eq!(user, oracle_user, "{name}");
    }
}

/// The linear map by arithmetic (`PHYS_OFFSET` 0xfff0ec49c0000000, below zero) gives the
/// /proc/vmcore RAM PT_LOAD's own virtual address for the start of RAM.
#[test]
fn arm64_linear_map_wraps_phys_offset_as_the_kernel_does() {
    let d = dump("vmcore-raw");
    let s = d.arm64_space().expect("space");
    assert_eq!(s.phys_offset, 0xfff0_ec49_c000_0000);
    assert_eq!(s.config_va_bits, 52);
    assert_eq!(s.t1sz, Some(16));
    let ram = d
        .memory()
        .ranges()
        .iter()
        .find(|r| r.phys.start.0 == 0x4000_0000 && r.phys.len() > 0x1000_0000)
        .expect("RAM PT_LOAD");
    let va = ram.virt.expect("vaddr").0;
    assert_eq!(va, 0xffff_13b6_8000_0000);
    assert_eq!(s.linear_to_phys(va), Some(0x4000_0000));
    assert_eq!(d.translate(VirtAddr(va)).unwrap().phys.0, 0x4000_0000);
    // The kernel image is not linear; kimage_voffset places it.
    let text = 0xffff_a9ae_0480_0000u64;
    assert_eq!(s.linear_to_phys(text), None);
    assert_eq!(s.kimage_to_phys(text), 0x4020_0000);
    assert_eq!(d.translate(VirtAddr(text)).unwrap().phys.0, 0x4020_0000);
}

/// The kernel log of both dumps equals drgn's `get_dmesg`: QEMU's dump has no virtual
/// addresses in its PT_LOAD, so this needs the page walk.
#[test]
fn arm64_dmesg_equals_drgn() {
    for name in DUMPS {
        let d = dump(name);
        let o = drgn(name);
        let want = o["dmesg"].as_str().expect("dmesg");
        let log = d.kernel_log().unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut got = String::new();
        for r in &log.records {
            let (s, us) = r.timestamp_parts();
            for line in r.text_lossy().split('\n') {
                got.push_str(&format!("[{s:5}.{us:06}] {line}\n"));
            }
        }
        let (got, want) = (got.trim_end(), want.trim_end());
        if let Some((i, (g, w))) = got
            .lines()
            .zip(want.lines())
            .enumerate()
            .find(|(_, (g, w))| g != w)
        {
            panic!("{name}: line {i} differs:\n ours {g:?}\n drgn {w:?}");
        }
        let (g, w) = (got.lines().count(), want.lines().count());
        assert_eq!(
            g,
            w,
            "{name}: ours ends {:?}, drgn ends {:?}",
            got.lines().last(),
            want.lines().nth(g.min(w))
        );
        assert!(
            log.records.len() > 200,
            "{name}: {} records",
            log.records.len()
        );
    }
}

/// arm64 kexec-tools nests the kernel-image PT_LOAD in the RAM PT_LOAD: no ELF003, no finding
/// at all on either dump.
#[test]
fn arm64_dumps_have_no_findings() {
    for name in DUMPS {
        let d = dump(name);
        let codes: Vec<_> = d.findings().iter().map(|f| f.code).collect();
        assert!(codes.is_empty(), "{name}: {codes:?}");
    }
}
