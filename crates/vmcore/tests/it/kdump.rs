//! Tests: kdump-compressed and flattened dumps.
//!
//! Real oracles: every page a compressed dump holds equals the same page of its ELF twin (the
//! same crash written as ELF), CPUs and VMCOREINFO equal the twin's, and the flattened file
//! reads exactly like the seekable one. Synthetic dumps (`testgen::kdump`) cover each header
//! version, compression, zero/excluded/lost pages and hostile fields.

use rayon::prelude::*;
use testgen::kdump::{
    Compression, FlatSpec, KdumpOverrides, KdumpSpec, PageKind, flat_record_header, flatten,
    kdump_bytes, mixed_pages, page_content,
};
use testgen::{CpuSpec, ElfSpec, sample_vmcoreinfo};
use vmcore::{Dump, Error, Format, PhysAddr};

fn open_real(rel: &str) -> Dump {
    let p = real_data::path(rel).unwrap_or_else(|e| panic!("{rel}: {e}"));
    Dump::open(&p).unwrap_or_else(|e| panic!("{}: {e:#}", p.display()))
}

#[derive(Debug, Default, PartialEq, Eq)]
struct PageCounts {
    read: u64,
    excluded: u64,
    zero: u64,
    /// PFNs whose content differs from the twin.
    differ: Vec<u64>,
}

/// Read every RAM page of `kd` and compare it with the same page of `twin`, in parallel.
#[track_caller]
fn compare_with_twin(kd: &Dump, twin: &Dump) -> PageCounts {
    let ps = u64::from(kd.kdump_info().expect("kdump info").page_size);
    let pfns: Vec<u64> = kd
        .memory()
        .ram()
        .flat_map(|r| r.phys.start.0 / ps..r.phys.end.0 / ps)
        .collect();
    pfns.par_chunks(512)
        .map(|chunk| {
            let mut a = vec![0u8; ps as usize];
            let mut b = vec![0u8; ps as usize];
            let mut c = PageCounts::default();
            for &pfn in chunk {
                let addr = PhysAddr(pfn * ps);
                match kd.read_phys(addr, &mut a) {
                    Ok(()) => {
                        twin.read_phys(addr, &mut b)
                            .unwrap_or_else(|e| panic!("twin pfn {pfn:#x}: {e}"));
                        if a != b {
                            c.differ.push(pfn);
                        }
                        c.read += 1;
                        c.zero += u64::from(a.iter().all(|&x| x == 0));
                    }
                    Err(Error::PageExcluded { pfn: p, .. }) if p == pfn => c.excluded += 1,
                    Err(e) => panic!("pfn {pfn:#x}: {e}"),
                }
            }
            c
        })
        .reduce(PageCounts::default, |mut x, y| {
            x.read += y.read;
            x.excluded += y.excluded;
            x.zero += y.zero;
            x.differ.extend(y.differ);
            x
        })
}

#[track_caller]
fn same_cpus_and_vmcoreinfo(kd: &Dump, twin: &Dump, same_instant: bool) {
    assert_eq!(kd.cpus().len(), twin.cpus().len(), "number of CPUs");
    for (a, b) in kd.cpus().iter().zip(twin.cpus()) {
        assert_eq!((a.pid, a.cpu), (b.pid, b.cpu), "note {}", a.note_index);
        if same_instant {
            assert_eq!(a.regs, b.regs, "registers of note {}", a.note_index);
            assert_eq!(a.qemu, b.qemu, "QEMU state of note {}", a.note_index);
        } else {
            // Idle vCPUs 3 ms apart: same place in the idle loop, scratch registers may move.
            let (ra, rb) = (
                a.regs.as_ref().expect("regs"),
                b.regs.as_ref().expect("regs"),
            );
            assert_eq!(
                (ra.pc(), ra.sp()),
                (rb.pc(), rb.sp()),
                "pc, sp of note {}",
                a.note_index
            );
            assert_eq!(
                a.qemu.is_some(),
                b.qemu.is_some(),
                "QEMU note {}",
                a.note_index
            );
        }
    }
    let strip = |d: &Dump| {
        let mut v = d.vmcoreinfo().expect("vmcoreinfo").clone();
        v.offset = None;
        v
    };
    assert_eq!(strip(kd), strip(twin));
}

#[test]
fn real_makedumpfile_c_equals_its_elf_twin() {
    let kd = open_real("kdump/makedumpfile-c-d31.kdump");
    let twin = open_real("kdump/proc-vmcore.elf");
    assert_eq!(kd.format(), Format::KdumpCompressed);
    let info = kd.kdump_info().expect("kdump info").clone();
    assert_eq!(info.header_version, 6);
    assert_eq!(info.compression, "zlib");
    assert_eq!(info.dump_level, 31);
    assert_eq!(info.page_size, 4096);
    assert!(!info.flattened && !info.incomplete && info.pages_counted);
    assert_eq!(info.lost_pages + info.truncated_pages, 0);
    assert!(info.excluded_pages > 0, "-d 31 excludes pages: {info:?}");
    let c = compare_with_twin(&kd, &twin);
    assert_eq!(c.differ, [0u64; 0], "pages that differ from the ELF twin");
    assert_eq!(c.read, info.dumpable_pages);
    assert_eq!(c.excluded, info.excluded_pages);
    assert_eq!(info.ram_pages, info.dumpable_pages + info.excluded_pages);
    same_cpus_and_vmcoreinfo(&kd, &twin, true);
    assert!(
        info.zero_pages > 0,
        "-d 31 points zero pages at the shared zero page: {info:?}"
    );
    assert!(kd.findings().is_empty(), "{:?}", kd.findings());
}

#[test]
fn real_flattened_reads_like_the_seekable_file() {
    let flat = open_real("kdump/makedumpfile-F-c-d31.flat");
    let seek = open_real("kdump/makedumpfile-c-d31.kdump");
    assert_eq!(flat.format(), Format::Flattened);
    let (fi, si) = (
        flat.kdump_info().expect("info"),
        seek.kdump_info().expect("info"),
    );
    assert!(fi.flattened);
    // The rearranged image is the -c file byte for byte (oracles/makedumpfile-F-vs-c.cmp.txt
    // is empty), so every fact but the container is equal.
    let mut fi2 = fi.clone();
    fi2.flattened = false;
    assert_eq!(&fi2, si);
    assert_eq!(fi.image_len, seek.file_len());
    assert!(flat.findings().is_empty(), "{:?}", flat.findings());
    let c = compare_with_twin(&flat, &seek);
    assert_eq!(
        c.differ, [0u64; 0],
        "pages that differ from the seekable file"
    );
    assert_eq!(c.read, si.dumpable_pages);
    assert_eq!(c.excluded, si.excluded_pages);
    same_cpus_and_vmcoreinfo(&flat, &seek, true);
    let notes = |d: &Dump| {
        d.notes()
            .iter()
            .map(|n| (n.name.clone(), n.desc.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(notes(&flat), notes(&seek));
}

#[test]
fn real_qemu_kdump_zlib_equals_its_elf_twin() {
    let kd = open_real("qemu-dumps/dump-06-cpu3-online.kdump-zlib");
    let twin = open_real("qemu-dumps/dump-06-cpu3-online.elf");
    assert_eq!(kd.format(), Format::Flattened);
    let info = kd.kdump_info().expect("info").clone();
    assert_eq!(info.compression, "zlib");
    assert!(info.flattened && info.pages_counted);
    // QEMU filters nothing: every RAM page is stored, zero pages share one page.
    assert_eq!(info.excluded_pages, 0);
    assert!(info.zero_pages > 0, "{info:?}");
    let c = compare_with_twin(&kd, &twin);
    // The two QEMU dumps are not of one instant: qmp-log.jsonl shows the guest RESUMEd for
    // about 3 ms between them (timers, the dump's own bookkeeping), so a handful of pages
    // legitimately differ. Everything else must be identical.
    assert!(
        c.differ.len() < 256,
        "{} pages differ: {:x?}",
        c.differ.len(),
        c.differ
    );
    eprintln!(
        "{} of {} pages differ from the ELF dump taken 3 ms earlier",
        c.differ.len(),
        c.read
    );
    assert_eq!(c.read, info.dumpable_pages);
    assert_eq!(c.excluded, 0);
    assert!(c.zero >= info.zero_pages);
    same_cpus_and_vmcoreinfo(&kd, &twin, false);
    assert_eq!(kd.cpus().len(), 4, "QEMU writes one note per vCPU");
}

// ---- synthetic dumps ----

pub(crate) fn spec(version: u32, compression: Compression, pages: Vec<PageKind>) -> KdumpSpec {
    KdumpSpec {
        header_version: version,
        compression,
        pages,
        notes: ElfSpec {
            cpus: vec![CpuSpec::numbered(0, 1), CpuSpec::numbered(1, 2)],
            vmcoreinfo: Some(sample_vmcoreinfo()),
            ..ElfSpec::default()
        },
        ..KdumpSpec::default()
    }
}

/// Check every PFN of `d` against what `s` says it is.
#[track_caller]
pub(crate) fn check_pages(d: &Dump, s: &KdumpSpec) {
    let ps = u64::from(s.block_size);
    let mut buf = vec![0u8; ps as usize];
    for (pfn, kind) in s.pages.iter().enumerate() {
        let pfn = pfn as u64;
        let addr = PhysAddr(pfn * ps);
        let r = d.read_phys(addr, &mut buf);
        match kind {
            PageKind::Data | PageKind::Raw => {
                r.unwrap_or_else(|e| panic!("pfn {pfn}: {e}"));
                assert!(buf == page_content(pfn, s.block_size), "pfn {pfn} content");
            }
            PageKind::Zero => {
                r.unwrap_or_else(|e| panic!("pfn {pfn}: {e}"));
                assert!(buf.iter().all(|&b| b == 0), "pfn {pfn} is a zero page");
            }
            PageKind::Excluded => {
                assert!(
                    matches!(r, Err(Error::PageExcluded { pfn: p, .. }) if p == pfn),
                    "pfn {pfn}: {r:?}"
                )
            }
            PageKind::Hole => assert!(
                matches!(r, Err(Error::NotInDump { .. })),
                "pfn {pfn}: {r:?}"
            ),
            PageKind::Lost => {
                assert!(
                    matches!(r, Err(Error::PageLost { pfn: p, .. }) if p == pfn),
                    "pfn {pfn}: {r:?}"
                )
            }
            PageKind::Corrupt => {}
        }
    }
    // Partial, unaligned reads across page boundaries go through the cache and agree.
    if let Some(pfn) = (1..s.pages.len())
        .find(|&i| s.pages[i] == PageKind::Data && s.pages[i - 1] == PageKind::Data)
    {
        let mut two = vec![0u8; 100];
        let at = pfn as u64 * ps - 50;
        d.read_phys(PhysAddr(at), &mut two)
            .expect("straddling read");
        let mut want = page_content(pfn as u64 - 1, s.block_size)[ps as usize - 50..].to_vec();
        want.extend_from_slice(&page_content(pfn as u64, s.block_size)[..50]);
        assert_eq!(two, want);
    }
}

#[test]
fn every_version_and_compression_reads_back() {
    for version in 1..=6 {
        for compression in Compression::ALL {
            let s = spec(version, compression, mixed_pages(300));
            let bytes = kdump_bytes(&s);
            for (name, data) in [
                ("seekable", bytes.clone()),
                (
                    "flattened",
                    flatten(
                        &bytes,
                        &FlatSpec {
                            record_size: 1000,
                            shuffle_seed: Some(u64::from(version) * 7 + compression.flag() as u64),
                            rewrite_header: true,
                            ..FlatSpec::default()
                        },
                    ),
                ),
            ] {
                let ctx = format!("v{version} {compression:?} {name}");
                let d = Dump::from_bytes(data).unwrap_or_else(|e| panic!("{ctx}: {e}"));
                let info = d.kdump_info().expect("info");
                assert_eq!(info.header_version, version, "{ctx}");
                assert_eq!(info.flag_compression(), compression.flag(), "{ctx}");
                let kinds = |k: PageKind| s.pages.iter().filter(|&&p| p == k).count() as u64;
                assert_eq!(info.excluded_pages, kinds(PageKind::Excluded), "{ctx}");
                assert_eq!(info.zero_pages, kinds(PageKind::Zero), "{ctx}");
                assert_eq!(info.ram_pages, 300 - kinds(PageKind::Hole), "{ctx}");
                check_pages(&d, &s);
                if version >= 4 {
                    assert_eq!(d.cpus().len(), 2, "{ctx}");
                    assert!(d.cpus()[1].regs.is_some(), "{ctx}");
                }
                if version >= 3 {
                    assert_eq!(
                        d.vmcoreinfo().and_then(|v| v.get("OSRELEASE")),
                        Some("6.12.0-testgen"),
                        "{ctx}"
                    );
                } else {
                    assert!(d.vmcoreinfo().is_none(), "{ctx}");
                }
                let unexpected: Vec<_> = d
                    .findings()
                    .iter()
                    .filter(|f| f.code != "FLAT005" && !f.code.starts_with("NOTE"))
                    .collect();
                assert!(unexpected.is_empty(), "{ctx}: {unexpected:?}");
            }
        }
    }
}

#[test]
fn zero_pages_without_the_shared_page_are_stored_and_read_as_zeros() {
    let mut s = spec(6, Compression::Lzo, mixed_pages(64));
    s.zero_page = false;
    let d = Dump::from_bytes(kdump_bytes(&s)).expect("open");
    assert_eq!(d.kdump_info().expect("info").zero_pages, 0);
    check_pages(&d, &s);
}

#[test]
fn r4_incomplete_dump_reads_lost_pages_as_lost() {
    let mut pages = mixed_pages(100);
    for p in pages.iter_mut().skip(60) {
        if *p != PageKind::Hole && *p != PageKind::Excluded {
            *p = PageKind::Lost;
        }
    }
    let mut s = spec(6, Compression::Zlib, pages);
    s.incomplete = true;
    let d = Dump::from_bytes(kdump_bytes(&s)).expect("open");
    let info = d.kdump_info().expect("info");
    assert!(info.incomplete);
    let lost = s.pages.iter().filter(|&&p| p == PageKind::Lost).count() as u64;
    assert_eq!(info.lost_pages, lost);
    let codes: Vec<_> = d.findings().iter().map(|f| f.code).collect();
    assert!(
        codes.contains(&"KDUMP001") && codes.contains(&"KDUMP009"),
        "{codes:?}"
    );
    check_pages(&d, &s);
}

#[test]
fn a_file_cut_short_opens_and_says_what_is_missing() {
    let s = spec(6, Compression::Snappy, vec![PageKind::Data; 200]);
    let full = kdump_bytes(&s);
    let cut = full.len() as u64 - 20_000;
    let d = Dump::from_bytes(full[..cut as usize].to_vec()).expect("opens");
    let f = d
        .findings()
        .iter()
        .find(|f| f.code == "KDUMP002")
        .expect("truncation finding");
    assert!(f.offset.is_some());
    let info = d.kdump_info().expect("info");
    assert!(
        info.truncated_pages > 0 && info.truncated_pages < 200,
        "{info:?}"
    );
    let mut buf = [0u8; 4096];
    d.read_phys(PhysAddr(0), &mut buf)
        .expect("first page is there");
    let r = d.read_phys(PhysAddr(199 * 4096), &mut buf);
    assert!(
        matches!(r, Err(Error::BeyondEof { offset, file_len, .. }) if offset >= cut && file_len == cut),
        "{r:?}"
    );
    // Cut inside the descriptor table: the table's end is reported.
    let desc_cut = 3 * 4096 + 24 * 100;
    let d = Dump::from_bytes(full[..desc_cut].to_vec()).expect("opens");
    assert!(d.findings().iter().any(|f| f.code == "KDUMP002"));
    let r = d.read_phys(PhysAddr(150 * 4096), &mut buf);
    assert!(matches!(r, Err(Error::BeyondEof { .. })), "{r:?}");
}

#[test]
fn a_flattened_stream_without_end_record_is_a_finding() {
    let s = spec(6, Compression::Zstd, vec![PageKind::Data; 50]);
    let image = kdump_bytes(&s);
    let flat = flatten(&image, &FlatSpec::default());
    for cut in [
        flat.len() - 16,
        flat.len() - 1000,
        flat.len() - 16 - 4096 - 8,
    ] {
        let d = Dump::from_bytes(flat[..cut].to_vec()).expect("opens");
        assert!(
            d.findings()
                .iter()
                .any(|f| f.code == "FLAT001" && f.offset.is_some()),
            "cut {cut}: {:?}",
            d.findings()
        );
        let mut buf = [0u8; 4096];
        d.read_phys(PhysAddr(0), &mut buf).expect("early page");
        assert_eq!(buf.to_vec(), page_content(0, 4096));
    }
}

#[test]
fn split_part_holds_its_range_only() {
    let mut s = spec(6, Compression::Zlib, vec![PageKind::Data; 64]);
    s.split = Some((16, 48));
    let d = Dump::from_bytes(kdump_bytes(&s)).expect("open");
    assert_eq!(d.kdump_info().expect("info").split, Some((16, 48)));
    let mut buf = [0u8; 4096];
    d.read_phys(PhysAddr(20 * 4096), &mut buf).expect("in part");
    assert_eq!(buf.to_vec(), page_content(20, 4096));
    assert!(matches!(
        d.read_phys(PhysAddr(50 * 4096), &mut buf),
        Err(Error::NotInDump { .. })
    ));
}

#[test]
fn eraseinfo_is_reported() {
    let mut s = spec(5, Compression::Zlib, vec![PageKind::Data; 8]);
    s.eraseinfo = Some("erase jiffies 8\n".into());
    let d = Dump::from_bytes(kdump_bytes(&s)).expect("open");
    assert_eq!(d.kdump_info().expect("info").eraseinfo_size, 16);
    assert!(d.findings().iter().any(|f| f.code == "KDUMP010"));
}

// ---- hostile inputs ----

fn hostile(o: KdumpOverrides) -> KdumpSpec {
    let mut s = spec(6, Compression::Zlib, vec![PageKind::Data; 32]);
    s.overrides = o;
    s
}

#[test]
fn bitmaps_claiming_more_pages_than_the_file_holds() {
    let s = hostile(KdumpOverrides {
        max_mapnr: Some(1 << 40),
        bitmap_blocks: Some(u32::MAX),
        ..Default::default()
    });
    let d = Dump::from_bytes(kdump_bytes(&s)).expect("opens with findings");
    let codes: Vec<_> = d.findings().iter().map(|f| f.code).collect();
    // The 2nd bitmap would start past the end of the file: no PFN can be read.
    assert_eq!(codes, ["KDUMP003"]);
    let f = &d.findings()[0];
    assert!(f.offset.is_some_and(|o| o > 1 << 40), "{f}");
    let mut buf = [0u8; 4096];
    let r = d.read_phys(PhysAddr(5 * 4096), &mut buf);
    assert!(matches!(r, Err(Error::BeyondEof { .. })), "{r:?}");
    let r = d.read_phys(PhysAddr(1 << 50), &mut buf);
    assert!(
        matches!(r, Err(Error::BeyondEof { .. } | Error::NotInDump { .. })),
        "{r:?}"
    );
}

#[test]
fn descriptors_pointing_past_the_end_or_negative() {
    let s = hostile(KdumpOverrides {
        desc_offset: vec![(1, 1 << 50), (2, i64::MAX), (3, -4096)],
        desc_size: vec![(4, 1 << 20), (5, 0)],
        desc_flags: vec![(6, 0x3), (7, 0x40)],
        ..Default::default()
    });
    let bytes = kdump_bytes(&s);
    let d = Dump::from_bytes(bytes).expect("open");
    let mut buf = [0u8; 4096];
    let rd = |pfn: u64, buf: &mut [u8]| d.read_phys(PhysAddr(pfn * 4096), buf);
    // Header, sub-header + notes (1 block), bitmaps (2 blocks: each rounded up to a block).
    let desc = |pfn: u64| 4 * 4096 + 24 * pfn;
    assert!(matches!(rd(1, &mut buf), Err(Error::BeyondEof { offset, .. }) if offset == 1 << 50));
    assert!(matches!(rd(2, &mut buf), Err(Error::BeyondEof { .. })));
    assert!(
        matches!(rd(3, &mut buf), Err(Error::BadValue { what: "page_desc.offset", offset, .. }) if offset == desc(3))
    );
    assert!(
        matches!(rd(4, &mut buf), Err(Error::BadValue { what: "page_desc.size", offset, .. }) if offset == desc(4) + 8)
    );
    assert!(matches!(
        rd(5, &mut buf),
        Err(Error::BadValue {
            what: "page_desc.size",
            ..
        })
    ));
    assert!(
        matches!(rd(6, &mut buf), Err(Error::BadValue { what: "page_desc.flags", offset, .. }) if offset == desc(6) + 12)
    );
    assert!(matches!(
        rd(7, &mut buf),
        Err(Error::BadValue {
            what: "page_desc.flags",
            ..
        })
    ));
    rd(8, &mut buf).expect("an honest page next to broken ones");
}

#[test]
fn corrupt_compressed_pages_name_method_pfn_and_offset() {
    for compression in [
        Compression::Zlib,
        Compression::Lzo,
        Compression::Snappy,
        Compression::Zstd,
    ] {
        let mut s = spec(6, compression, vec![PageKind::Data; 8]);
        s.pages[3] = PageKind::Corrupt;
        let d = Dump::from_bytes(kdump_bytes(&s)).expect("open");
        let mut buf = [0u8; 4096];
        let r = d.read_phys(PhysAddr(3 * 4096), &mut buf);
        match r {
            Err(Error::Decompress { pfn: 3, offset, .. }) => assert!(offset > 3 * 4096),
            other => panic!("{compression:?}: {other:?}"),
        }
        // Partial reads report the same.
        assert!(matches!(
            d.read_phys(PhysAddr(3 * 4096 + 8), &mut buf[..8]),
            Err(Error::Decompress { .. })
        ));
        d.read_phys(PhysAddr(4 * 4096), &mut buf)
            .expect("next page");
    }
}

#[test]
fn overflowing_sizes_and_bad_header_fields() {
    let s = hostile(KdumpOverrides {
        size_note: Some(u64::MAX),
        offset_vmcoreinfo: Some(u64::MAX - 10),
        ..Default::default()
    });
    let d = Dump::from_bytes(kdump_bytes(&s)).expect("open");
    let codes: Vec<_> = d.findings().iter().map(|f| f.code).collect();
    assert!(
        codes.contains(&"KDUMP006") && codes.contains(&"KDUMP007"),
        "{codes:?}"
    );
    assert!(d.cpus().is_empty());

    let s = hostile(KdumpOverrides {
        block_size: Some(1000),
        ..Default::default()
    });
    let e = Dump::from_bytes(kdump_bytes(&s)).expect_err("block size");
    assert!(matches!(e, Error::BadValue { offset: 428, .. }), "{e}");

    let s = hostile(KdumpOverrides {
        header_version: Some(0),
        ..Default::default()
    });
    let e = Dump::from_bytes(kdump_bytes(&s)).expect_err("version 0");
    assert!(matches!(e, Error::BadValue { offset: 8, .. }), "{e}");

    let s = hostile(KdumpOverrides {
        header_version: Some(7),
        ..Default::default()
    });
    let d = Dump::from_bytes(kdump_bytes(&s)).expect("version 7 opens");
    assert!(d.findings().iter().any(|f| f.code == "KDUMP004"));

    // A flat record whose offset + size overflows ends the index with a finding.
    let image = kdump_bytes(&spec(6, Compression::Zlib, vec![PageKind::Data; 4]));
    let mut flat = flatten(
        &image,
        &FlatSpec {
            end_marker: false,
            ..FlatSpec::default()
        },
    );
    flat.extend_from_slice(&flat_record_header(i64::MAX, i64::MAX));
    flat.extend_from_slice(&flat_record_header(-1, -1));
    let d = Dump::from_bytes(flat).expect("open");
    assert!(
        d.findings()
            .iter()
            .any(|f| f.code == "FLAT002" && f.offset.is_some())
    );
}

#[test]
fn every_truncation_of_a_small_dump_opens_or_fails_cleanly() {
    let s = spec(6, Compression::Zlib, mixed_pages(40));
    let image = kdump_bytes(&s);
    let flat = flatten(
        &image,
        &FlatSpec {
            record_size: 700,
            shuffle_seed: Some(3),
            ..FlatSpec::default()
        },
    );
    for data in [image, flat] {
        for cut in (0..data.len()).step_by(97) {
            if let Ok(d) = Dump::from_bytes(data[..cut].to_vec()) {
                let mut buf = [0u8; 4096];
                for pfn in 0..40u64 {
                    let _ = d.read_phys(PhysAddr(pfn * 4096), &mut buf);
                    let _ = d.read_phys(PhysAddr(pfn * 4096 + 4000), &mut buf[..200]);
                }
            }
        }
    }
}

#[test]
fn convert_to_elf_keeps_pages_and_makes_excluded_pages_holes() {
    let mut pages = mixed_pages(120);
    pages[100] = PageKind::Lost;
    let s = spec(6, Compression::Zstd, pages);
    let d = Dump::from_bytes(kdump_bytes(&s)).expect("open");
    let mut elf = Vec::new();
    let mut last = (0, 0);
    let report = vmcore::convert::write_elf(&d, &mut elf, |a, b| last = (a, b)).expect("convert");
    assert_eq!(last.0, last.1);
    assert_eq!(report.bytes, elf.len() as u64);
    let kinds = |k: PageKind| s.pages.iter().filter(|&&p| p == k).count() as u64;
    assert_eq!(report.pages_excluded, kinds(PageKind::Excluded));
    assert_eq!(report.pages_lost, 1);
    let e = Dump::from_bytes(elf).expect("the ELF opens");
    assert_eq!(e.format(), Format::Elf64);
    assert_eq!(e.cpus().len(), 2);
    assert_eq!(
        e.vmcoreinfo().and_then(|v| v.get("OSRELEASE")),
        Some("6.12.0-testgen")
    );
    let mut buf = vec![0u8; 4096];
    for (pfn, kind) in s.pages.iter().enumerate() {
        let r = e.read_phys(PhysAddr(pfn as u64 * 4096), &mut buf);
        match kind {
            PageKind::Data | PageKind::Raw => {
                r.expect("data page");
                assert!(buf == page_content(pfn as u64, 4096), "pfn {pfn}");
            }
            PageKind::Zero => {
                r.expect("zero page");
                assert!(buf.iter().all(|&b| b == 0), "pfn {pfn}");
            }
            // Unreadable pages are p_memsz > p_filesz tails: excluded, as makedumpfile -E.
            PageKind::Excluded | PageKind::Lost => {
                assert!(
                    matches!(r, Err(Error::PageExcluded { .. })),
                    "pfn {pfn}: {r:?}"
                );
            }
            PageKind::Hole => assert!(matches!(r, Err(Error::NotInDump { .. })), "pfn {pfn}"),
            PageKind::Corrupt => {}
        }
    }
}

/// A big-endian writer's header (every field byte-swapped; here the two that decide) is named
/// as such, not blamed on block_size.
#[test]
fn big_endian_kdump_reads_as_its_little_endian_twin() {
    // The same dump written by a big-endian machine (every header field, page descriptor and
    // note swapped; bitmaps and page data are bytes) reads page for page alike.
    for compression in [Compression::Zlib, Compression::None] {
        let little = KdumpSpec {
            machine: "s390x".into(),
            ..spec(6, compression, mixed_pages(40))
        };
        let big = KdumpSpec {
            byte_order: testgen::ByteOrder::Big,
            ..little.clone()
        };
        let (l, b) = (
            Dump::from_bytes(kdump_bytes(&little)).expect("little-endian"),
            Dump::from_bytes(kdump_bytes(&big)).expect("big-endian"),
        );
        assert_eq!(b.byte_order(), testgen::ByteOrder::Big);
        assert_eq!(l.byte_order(), testgen::ByteOrder::Little);
        assert_eq!(b.kdump_info().map(|k| k.max_mapnr), Some(40));
        assert_eq!(l.findings().len(), b.findings().len(), "{:?}", b.findings());
        let (mut x, mut y) = (vec![0u8; 4096], vec![0u8; 4096]);
        for pfn in 0..41u64 {
            let (rl, rb) = (
                l.read_phys(PhysAddr(pfn * 4096), &mut x),
                b.read_phys(PhysAddr(pfn * 4096), &mut y),
            );
            assert_eq!(rl.is_ok(), rb.is_ok(), "pfn {pfn}");
            assert!(x == y, "pfn {pfn} differs");
        }
        // Its kernel memory is not interpreted: a page walk names the byte order.
        let e = b.translate(vmcore::VirtAddr(0x1000)).expect_err("no walk");
        assert!(e.to_string().contains("big-endian"), "{e}");
    }
}

#[test]
fn big_endian_32bit_kdump_reads_as_its_little_endian_twin_at_every_version() {
    // 32-bit ppc and s390 writers: the padded 32-bit layout, every field swapped. Their
    // little-endian twin is the same layout with the bytes in the other order.
    for machine in ["ppc", "s390"] {
        for version in 1..=6 {
            let little = KdumpSpec {
                machine: machine.into(),
                abi: testgen::kdump::HeaderAbi::Ilp32Padded,
                notes: ElfSpec {
                    vmcoreinfo: Some(sample_vmcoreinfo()),
                    ..ElfSpec::default()
                },
                ..spec(version, Compression::Zlib, mixed_pages(24))
            };
            let big = KdumpSpec {
                byte_order: testgen::ByteOrder::Big,
                ..little.clone()
            };
            let name = format!("{machine} v{version}");
            let l = Dump::from_bytes(kdump_bytes(&little)).expect("little-endian");
            let b = Dump::from_bytes(kdump_bytes(&big)).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(b.byte_order(), testgen::ByteOrder::Big, "{name}");
            assert_eq!(b.kdump_info().map(|k| k.max_mapnr), Some(24), "{name}");
            assert_eq!(
                b.vmcoreinfo().is_some(),
                version >= 3,
                "{name}: VMCOREINFO through the swapped sub-header"
            );
            check_pages(&b, &big);
            let (mut x, mut y) = (vec![0u8; 4096], vec![0u8; 4096]);
            for pfn in 0..25u64 {
                let (rl, rb) = (
                    l.read_phys(PhysAddr(pfn * 4096), &mut x),
                    b.read_phys(PhysAddr(pfn * 4096), &mut y),
                );
                assert_eq!(rl.is_ok(), rb.is_ok(), "{name} pfn {pfn}");
                assert!(x == y, "{name} pfn {pfn} differs");
            }
        }
    }
}

/// A reader that hands out at most 7 bytes a call, as a pipe may.
struct Trickle<'a>(&'a [u8]);

impl std::io::Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(7).min(self.0.len());
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

#[test]
fn a_flattened_stream_from_a_pipe_reads_like_the_file() {
    for compression in Compression::ALL {
        let s = spec(6, compression, mixed_pages(300));
        let image = kdump_bytes(&s);
        let flat = flatten(
            &image,
            &FlatSpec {
                record_size: 1000,
                shuffle_seed: Some(11),
                rewrite_header: true,
                ..FlatSpec::default()
            },
        );
        let d = Dump::from_stream(Trickle(&flat), "-").unwrap();
        assert_eq!(d.format(), Format::Flattened);
        assert_eq!(d.path(), Some(std::path::Path::new("-")));
        let info = d.kdump_info().expect("info");
        assert!(info.flattened);
        let file = Dump::from_bytes(flat.clone()).unwrap();
        assert_eq!(info, file.kdump_info().unwrap(), "{compression:?}");
        check_pages(&d, &s);
    }
}

#[test]
fn a_cut_or_hostile_stream_from_a_pipe_is_a_finding_or_an_error() {
    let s = spec(6, Compression::Zstd, vec![PageKind::Data; 50]);
    let flat = flatten(&kdump_bytes(&s), &FlatSpec::default());
    // Cut inside the last record, and right before the end record.
    for cut in [flat.len() - 16 - 1000, flat.len() - 16] {
        let d = Dump::from_stream(Trickle(&flat[..cut]), "-").expect("opens");
        assert!(
            d.findings().iter().any(|f| f.code == "FLAT001"),
            "cut {cut}: {:?}",
            d.findings()
        );
        let mut buf = [0u8; 4096];
        d.read_phys(PhysAddr(0), &mut buf).expect("early page");
        assert_eq!(buf.to_vec(), page_content(0, 4096));
    }
    // A record with a negative size stops the stream with a finding.
    let mut bad = flat[..flat.len() - 16].to_vec();
    bad.extend_from_slice(&flat_record_header(0, -5));
    let d = Dump::from_stream(Trickle(&bad), "-").expect("opens");
    assert!(d.findings().iter().any(|f| f.code == "FLAT002"));
    // So does one that would put the image past a pebibyte (no huge sparse file is made).
    let mut far = flat[..flat.len() - 16].to_vec();
    far.extend_from_slice(&flat_record_header(1 << 55, 16));
    far.extend_from_slice(&[0xaa; 16]);
    let d = Dump::from_stream(Trickle(&far), "-").expect("opens");
    assert!(d.findings().iter().any(|f| f.code == "FLAT002"));
    // ELF and kdump-compressed need a seekable file; empty input is no dump.
    let elf = testgen::elf_bytes(&testgen::ElfSpec::default());
    for (what, bytes) in [("elf64", elf), ("kdump-compressed", kdump_bytes(&s))] {
        let e = Dump::from_stream(Trickle(&bytes), "-")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(what) && e.contains("needs a seekable file"),
            "{e}"
        );
    }
    let e = Dump::from_stream(Trickle(&[]), "-")
        .unwrap_err()
        .to_string();
    assert_eq!(e, "the input is empty (0 bytes): not a crash dump");
}

#[test]
fn a_32bit_max_mapnr_that_disagrees_with_max_mapnr_64_is_an_error_naming_both() {
    // libkdumpfile: "Invalid diskdump header content" (its bitmap check fails on 0xffffffff).
    let s = hostile(KdumpOverrides {
        max_mapnr32: Some(0xffff_ffff),
        ..KdumpOverrides::default()
    });
    let d = Dump::from_bytes(kdump_bytes(&s)).expect("opens: max_mapnr_64 is used");
    let f = d
        .findings()
        .iter()
        .find(|f| f.code == "KDUMP013")
        .expect("KDUMP013");
    assert_eq!(f.offset, Some(440));
    assert!(f.message.contains("0xffffffff") && f.message.contains("max_mapnr_64 0x20"));
    assert!(f.message.contains("bitmap blocks"), "{}", f.message);
    // Pages still read by the 64-bit count.
    check_pages(&d, &s);
    // Honest headers, every version: no such finding.
    for v in 1..=6 {
        let d = Dump::from_bytes(kdump_bytes(&spec(v, Compression::Zlib, mixed_pages(40))))
            .expect("honest");
        assert!(d.findings().iter().all(|f| f.code != "KDUMP013"), "v{v}");
    }
}
