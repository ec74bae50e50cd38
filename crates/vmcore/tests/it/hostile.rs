//! Issue #16: headers that declare far more than the file holds. Every input comes from
//! `testgen::hostile` (sparse files where the declared size matters); each test failed before
//! the fix (an allocation of one bit per declared page, a scan of every declared byte, a
//! quadratic or 2^26-step walk, a vacuous pass, an error that named the wrong thing).

use std::collections::BTreeMap;

use testgen::hostile::{self, HostileFile};
use vmcore::klog::{self, MAX_LOG_RECORDS};
use vmcore::{Dump, Error, Extent, Format, PhysAddr, VirtAddr, VmcoreInfo};

fn case(name: &str) -> HostileFile {
    hostile::dumps()
        .into_iter()
        .find(|f| f.name == name)
        .unwrap_or_else(|| panic!("no hostile case {name}"))
}

/// A small case in memory (its sparse tail as zeros).
fn in_memory(name: &str) -> Dump {
    let f = case(name);
    assert!(f.len <= 1 << 20, "{name} is too large for memory");
    let mut b = f.bytes.clone();
    b.resize(f.len as usize, 0);
    Dump::from_bytes(b).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// A case as a (sparse) file, opened with `Dump::open` so its holes are known.
fn on_disk(name: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join(name);
    case(name)
        .write(&p)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    (dir, p)
}

fn codes(d: &Dump) -> Vec<&'static str> {
    d.findings().iter().map(|f| f.code).collect()
}

/// Item 1: a 2^48-byte PT_LOAD in an 8 KiB file: the conversion allocated one bit per
/// declared page (8 GiB) and would have visited 2^36 pages. Now only stored pages are read;
/// the rest is counted and becomes zero fill.
#[test]
fn convert_of_a_2p48_load_in_8k_counts_the_missing_pages_without_visiting_them() {
    let d = in_memory("elf-2p48-load-8k");
    let mut out = Vec::new();
    let r = vmcore::convert::write_elf(&d, &mut out, |_, _| {}).expect("converts");
    // Bytes 0x1000..0x2000 of the file are the PT_LOAD's first page.
    assert_eq!(r.pages_written, 1);
    assert_eq!(r.pages_failed, (1 << 36) - 1);
    assert_eq!(
        r.failures.len(),
        32,
        "the first pages are named, the rest counted"
    );
    assert_eq!(r.bytes, out.len() as u64);
    assert!(out.len() < 64 << 10, "{} bytes", out.len());
    let e = Dump::from_bytes(out).expect("the ELF opens");
    assert_eq!(
        e.memory().ram_bytes(),
        1 << 48,
        "the whole range, as zero fill"
    );
}

/// Item 1: eleven PT_LOADs of 2^64 − 1 bytes in a 736-byte file, all at file offset 0: they
/// alias the same file bytes. The conversion aborted with an allocation of 5.6 PB; now the
/// aliasing is finding ELF009 and the conversion refuses it by name.
#[test]
fn loads_of_2p64_bytes_sharing_file_bytes_are_named_not_converted() {
    let d = in_memory("elf-loads-size-max");
    assert!(codes(&d).contains(&"ELF009"), "{:?}", codes(&d));
    let e = vmcore::convert::write_elf(&d, &mut std::io::sink(), |_, _| {}).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("ELF009") && msg.contains("PT_LOAD"), "{msg}");
    assert!(e.offset().is_some_and(|o| o >= 64), "{e:?}");
}

/// Item 1: five overlapping 1 TiB PT_LOADs (timed out): overlap and aliasing are findings,
/// and the extents of each range are a handful, whatever the declared size.
#[test]
fn five_overlapping_terabyte_loads_have_a_few_extents_each() {
    let d = in_memory("elf-five-overlapping-1t");
    let c = codes(&d);
    assert!(c.contains(&"ELF003") && c.contains(&"ELF009"), "{c:?}");
    for r in d.memory().ram() {
        let mut n = 0;
        let _ = d.for_each_extent(r, &mut |_, _| {
            n += 1;
            std::ops::ControlFlow::Continue(())
        });
        assert!(n <= 3, "{n} extents");
    }
}

/// Item 1: one PT_LOAD whose p_filesz is 2^62 in an 8 KiB file.
#[test]
fn convert_of_a_2p62_filesz_names_the_truncation() {
    let d = in_memory("elf-huge-filesz");
    assert!(codes(&d).contains(&"ELF001"));
    let r = vmcore::convert::write_elf(&d, &mut std::io::sink(), |_, _| {}).expect("converts");
    assert_eq!(r.pages_written, 1);
    assert!(
        r.failures[1].1.contains("past the end of the file"),
        "{r:?}"
    );
}

/// Item 1 / item 2: the extents of a 2^48-byte PT_LOAD in a 16 TiB sparse file: the holes are
/// zeros, known from SEEK_DATA/SEEK_HOLE without touching them, and the rest is missing.
#[test]
fn a_16t_sparse_file_is_holes_and_a_missing_tail() {
    let (_dir, p) = on_disk("elf-16t-sparse");
    let d = Dump::open(&p).expect("opens");
    let r = &d.memory().ranges()[0];
    let mut kinds: BTreeMap<&'static str, u64> = BTreeMap::new();
    let _ = d.for_each_extent(r, &mut |x, k| {
        let name = match k {
            Extent::Stored => "stored",
            Extent::Zero => "zero",
            Extent::Missing => "missing",
            _ => "other",
        };
        *kinds.entry(name).or_default() += x.len();
        std::ops::ControlFlow::Continue(())
    });
    let file = hostile::EXT4_MAX_FILE - 4096;
    assert_eq!(kinds.get("missing"), Some(&((1u64 << 48) - file)));
    assert_eq!(
        kinds.get("zero").copied().unwrap_or(0) + kinds.get("stored").copied().unwrap_or(0),
        file
    );
    // Where the file system reports holes (SEEK_DATA), nothing of the range is stored.
    let on_disk: u64 = d
        .data_extents(0, d.file_len())
        .iter()
        .map(|(s, e)| e - s)
        .sum();
    if on_disk < d.file_len() {
        assert_eq!(kinds.get("stored"), None, "{kinds:?}");
    }
    assert!(codes(&d).contains(&"ELF001"), "{:?}", codes(&d));
}

/// Item 3: max_mapnr 2^36 with 8 GiB bitmaps over a 16 GiB sparse file: the bitmaps were
/// copied to the heap (aborting under a 4 GiB limit). Read in place, the holes cost nothing,
/// and a dump that stores no page says so.
#[test]
fn kdump_bitmaps_of_2p36_pfns_over_a_sparse_file_open_in_place() {
    for name in ["kdump-mapnr-2p33-sparse", "kdump-mapnr-2p36-sparse"] {
        let (_dir, p) = on_disk(name);
        let d = Dump::open(&p).unwrap_or_else(|e| panic!("{name}: {e}"));
        let info = d.kdump_info().expect("kdump");
        assert!(info.max_mapnr >= 1 << 33, "{name}");
        assert_eq!(info.dumpable_pages, 0, "{name}: the 2nd bitmap is a hole");
        assert!(codes(&d).contains(&"DUMP001"), "{name}: {:?}", codes(&d));
        let mut buf = [0u8; 4096];
        assert!(d.read_phys(PhysAddr(1 << 40), &mut buf).is_err());
        let r = vmcore::convert::write_elf(&d, &mut std::io::sink(), |_, _| {}).unwrap();
        assert_eq!(r.pages_written, 0, "{name}");
    }
}

/// Item 5: dumps that hold nothing to check are findings, not clean passes.
#[test]
fn dumps_without_readable_memory_are_findings() {
    // A block_size of 512 in a dump laid out in 4 KiB blocks reads the sub-header from the
    // wrong place: its max_mapnr_64 disagrees with the header's (KDUMP013, an error), which
    // names the damage before "no memory" would.
    for (name, code) in [
        ("kdump-mapnr-zero", "DUMP001"),
        ("kdump-block-size-512", "KDUMP013"),
        ("kdump-second-bitmap-zero", "DUMP001"),
    ] {
        let d = in_memory(name);
        assert!(codes(&d).contains(&code), "{name}: {:?}", codes(&d));
    }
    // A flattened stream whose sub-header record is moved to 2^62: the sub-header is in no
    // record; it used to read as zeros (no RAM, no notes, a clean pass).
    let f = case("flat-subheader-at-2p62");
    let e = Dump::from_bytes(f.bytes).unwrap_err().to_string();
    assert!(
        e.contains("kdump_sub_header at image offset 0x1000") && e.contains("none holds"),
        "{e}"
    );
}

/// Item 6: errors name the record, the field, the value and the offset.
#[test]
fn errors_name_the_flattened_record_and_the_field() {
    let e = Dump::from_bytes(case("flat-first-record-bad").bytes).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("image offset 0x0")
            && msg.contains("record 0 (file offset 0x1000)")
            && msg.contains("offset -5"),
        "{msg}"
    );
    assert_eq!(e.offset(), Some(0x1000));
    // A cut flattened stream with sparsely stored 143,360-byte bitmaps opens, with findings
    // (it was "need 143360 bytes, only 143460 available").
    let d = Dump::from_bytes(case("flat-bitmap-cut").bytes).expect("opens");
    assert_eq!(d.format(), Format::Flattened);
    let c = codes(&d);
    assert!(c.contains(&"FLAT001") && c.contains(&"KDUMP003"), "{c:?}");
    // PN_XNUM without a section header was "e_phnum ... (value 0x0)".
    let e = in_memory_err("elf-pn-xnum-no-section-header");
    assert!(
        e.contains("e_phnum") && e.contains("e_shoff is 0") && e.contains("0xffff"),
        "{e}"
    );
}

fn in_memory_err(name: &str) -> String {
    let f = case(name);
    let mut b = f.bytes.clone();
    b.resize(f.len as usize, 0);
    Dump::from_bytes(b).unwrap_err().to_string()
}

/// Item 6: a null prb pointer or null ring pointers are errors naming the pointer.
#[test]
fn null_printk_pointers_are_named() {
    let d = in_memory("elf-prb-null");
    let e = d.kernel_log().unwrap_err().to_string();
    assert!(e.contains("SYMBOL(prb)") && e.contains("0 (null)"), "{e}");
    // A ring whose descs pointer is null.
    let mut head = hostile::printk_huge_ring(4);
    head[64 + 8..64 + 16].fill(0);
    let d = Dump::from_bytes(hostile::printk_elf(&head, 4)).unwrap();
    let e = d.kernel_log().unwrap_err().to_string();
    assert!(
        e.contains("prb->desc_ring.descs") && e.contains("0 (null)"),
        "{e}"
    );
}

/// Item 4: a ring of 2^26 descriptors in zeroed memory was walked id by id (6.6 s in the
/// klog_decode fuzz target, 7.6 s and 388 MiB through `dmesg`). The walk now visits the
/// newest MAX_LOG_RECORDS ids and says so.
#[test]
fn a_ring_of_2p26_descriptors_is_capped_and_says_so() {
    let head = hostile::printk_huge_ring(26);
    let base = 0xffff_8880_0000_0000u64;
    let info = VmcoreInfo::parse(testgen::printk::LOCKLESS_612_KEYS.as_bytes());
    // Memory: the prb structures; everything else unreadable, as in the fuzz input.
    let read = |va: VirtAddr, buf: &mut [u8]| -> vmcore::Result<()> {
        let off = va.0.wrapping_sub(base) as usize;
        match head.get(off..off + buf.len()) {
            Some(b) => {
                buf.copy_from_slice(b);
                Ok(())
            }
            None => Err(Error::NotInDump { addr: va.0 }),
        }
    };
    let log = klog::decode(&info, &read).expect("decodes with findings");
    let c: Vec<_> = log.findings.iter().map(|f| f.code).collect();
    assert!(c.contains(&"KLOG010"), "{c:?}");
    let capped = log.findings.iter().find(|f| f.code == "KLOG010").unwrap();
    assert!(capped.message.contains("MAX_LOG_RECORDS"), "{capped}");
    assert!(log.records.len() as u64 <= MAX_LOG_RECORDS);
    // Every visited descriptor was unreadable: one tally, not millions of findings.
    let unreadable = log.findings.iter().find(|f| f.code == "KLOG005").unwrap();
    assert!(
        unreadable
            .message
            .starts_with(&format!("{MAX_LOG_RECORDS} ")),
        "{unreadable}"
    );
}

/// Item 7: what is not a regular file is refused by name before it is read.
#[test]
fn directories_and_devices_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let e = Dump::open(dir.path()).unwrap_err();
    assert!(matches!(e, Error::NotRegularFile { .. }), "{e:?}");
    assert!(e.to_string().contains("is a directory"), "{e}");
    let e = Dump::open("/dev/zero").unwrap_err().to_string();
    assert!(e.contains("is a character device"), "{e}");
}
