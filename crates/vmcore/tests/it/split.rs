//! makedumpfile `--split` sets read as one dump: the real dump split by makedumpfile itself
//! (each page of the set equals the same page of makedumpfile's unsplit `-c` output of the
//! same vmcore), and testgen sets for the cases makedumpfile never writes (a missing, an
//! overlapping or a foreign part).
//!
//! makedumpfile is needed for the real-data test: it fails under CI (`CI` set; `.ci/run`
//! installs it) and is skipped with a message elsewhere.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::process::Command;

use testgen::kdump::{Compression, KdumpSpec, PageKind, kdump_bytes, mixed_pages};
use vmcore::{Dump, Error, Extent, PhysAddr, PhysRange};

use super::kdump::{check_pages, spec};

pub(crate) fn makedumpfile_available() -> bool {
    let ok = Command::new("makedumpfile")
        .arg("-v")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must install makedumpfile (Debian) for the --split test"
        );
        eprintln!("skipped: makedumpfile is not installed (apt-get install makedumpfile)");
    }
    ok
}

pub(crate) fn makedumpfile(args: &[&str], vmcore: &Path, out: &[PathBuf]) {
    let o = Command::new("makedumpfile")
        .args(args)
        .arg(vmcore)
        .args(out)
        .output()
        .expect("run makedumpfile");
    assert!(
        o.status.success(),
        "makedumpfile {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Every run of every range by how it is held, in order.
pub(crate) fn extents(d: &Dump) -> Vec<(PhysRange, Extent)> {
    let mut v = Vec::new();
    for r in d.memory().ranges() {
        let _ = d.for_each_extent(r, &mut |range, x| {
            v.push((range, x));
            ControlFlow::Continue(())
        });
    }
    v
}

#[test]
fn real_split_set_reads_like_makedumpfiles_unsplit_dump() {
    if !makedumpfile_available() {
        return;
    }
    let vmcore = real_data::path("kdump/proc-vmcore.elf").expect("real dump");
    let dir = tempfile::tempdir().expect("tempdir");
    let parts: Vec<PathBuf> = (1..=3)
        .map(|i| dir.path().join(format!("set/vmcore.{i}")))
        .collect();
    std::fs::create_dir(dir.path().join("set")).expect("mkdir");
    makedumpfile(&["-c", "-d", "31", "--split"], &vmcore, &parts);
    let whole_path = dir.path().join("whole.kdump");
    makedumpfile(
        &["-c", "-d", "31"],
        &vmcore,
        std::slice::from_ref(&whole_path),
    );

    let whole = Dump::open(&whole_path).expect("whole");
    // In any order, and as a directory.
    let set = Dump::open_split_set(&[&parts[2], &parts[0], &parts[1]]).expect("set");
    let by_dir = Dump::open_input(dir.path().join("set")).expect("set as a directory");
    let info = set.split_parts();
    assert_eq!(info.len(), 3);
    assert!(info.windows(2).all(|w| w[0].end_pfn == w[1].start_pfn));
    assert_eq!(info[0].start_pfn, 0);
    assert_eq!(by_dir.split_parts(), info);
    // One part alone holds a third of the pages; the set holds them all.
    let one = Dump::open(&parts[1]).expect("one part");

    let want = extents(&whole);
    assert_eq!(extents(&set), want, "runs by how they are held");
    assert!(extents(&one).iter().any(|(_, x)| *x == Extent::OtherPart));
    let mut stored = 0u64;
    let (mut a, mut b) = (vec![0u8; 4096], vec![0u8; 4096]);
    for (range, x) in &want {
        if *x != Extent::Stored {
            continue;
        }
        let mut p = range.start.0;
        while p < range.end.0 {
            whole.read_phys(PhysAddr(p), &mut a).expect("whole page");
            set.read_phys(PhysAddr(p), &mut b).expect("set page");
            assert!(a == b, "page {p:#x} differs");
            stored += 1;
            p += 4096;
        }
    }
    assert_eq!(stored, whole.kdump_info().expect("kdump").dumpable_pages);
    // Excluded pages are excluded in the set as in the whole dump.
    let (excluded, _) = want
        .iter()
        .find(|(_, x)| *x == Extent::Excluded)
        .expect("an excluded run");
    assert!(matches!(
        set.read_phys(excluded.start, &mut b),
        Err(Error::PageExcluded { .. })
    ));
    // Both the set and the whole dump agree on what the dump is.
    assert_eq!(set.cpus().len(), whole.cpus().len());
    assert_eq!(
        set.vmcoreinfo().map(|v| v.osrelease()),
        whole.vmcoreinfo().map(|v| v.osrelease())
    );
}

fn synthetic_set(pages: &[PageKind], cuts: &[(u64, u64)]) -> (tempfile::TempDir, Vec<PathBuf>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut paths = Vec::new();
    for (i, &cut) in cuts.iter().enumerate() {
        let mut s: KdumpSpec = spec(6, Compression::Zlib, pages.to_vec());
        s.split = Some(cut);
        let p = dir.path().join(format!("part{i}"));
        std::fs::write(&p, kdump_bytes(&s)).expect("write part");
        paths.push(p);
    }
    (dir, paths)
}

#[test]
fn a_synthetic_set_reads_every_page_as_the_unsplit_spec_says() {
    let pages = mixed_pages(96);
    let (_dir, paths) = synthetic_set(&pages, &[(0, 30), (30, 31), (31, 96)]);
    let d = Dump::open_split_set(&paths).expect("set");
    let whole = spec(6, Compression::Zlib, pages);
    check_pages(&d, &whole);
    // A read across the boundary of two parts.
    let mut buf = vec![0u8; 3 * 4096];
    let r = d.read_phys(PhysAddr(29 * 4096), &mut buf);
    assert_eq!(
        r.is_ok(),
        (29..32).all(|p| whole.pages[p] == PageKind::Data)
    );
}

#[test]
fn a_set_missing_a_part_says_so_and_its_pages_are_not_in_the_dump() {
    let pages = vec![PageKind::Data; 64];
    let (_dir, paths) = synthetic_set(&pages, &[(0, 16), (16, 32), (32, 64)]);
    let d = Dump::open_split_set(&[&paths[0], &paths[2]]).expect("set");
    let f = d
        .findings()
        .iter()
        .find(|f| f.code == "KDUMP012")
        .expect("split-set-incomplete finding");
    assert!(f.message.contains("[0x10, 0x20)"), "{}", f.message);
    let mut buf = [0u8; 4096];
    d.read_phys(PhysAddr(40 * 4096), &mut buf).expect("held");
    assert!(matches!(
        d.read_phys(PhysAddr(20 * 4096), &mut buf),
        Err(Error::NotInDump { .. })
    ));
    let runs = extents(&d);
    assert!(
        runs.iter()
            .any(|(r, x)| *x == Extent::Missing && r.start.0 == 16 * 4096)
    );
}

#[test]
fn overlapping_foreign_and_unsplit_files_are_refused_by_name() {
    let pages = vec![PageKind::Data; 64];
    let (_dir, paths) = synthetic_set(&pages, &[(0, 40), (32, 64)]);
    let e = Dump::open_split_set(&paths).expect_err("overlap");
    assert!(e.to_string().contains("overlap"), "{e}");

    let (_d2, other) = synthetic_set(&[PageKind::Data; 80], &[(32, 80)]);
    let e = Dump::open_split_set(&[&paths[0], &other[0]]).expect_err("foreign part");
    assert!(e.to_string().contains("max_mapnr differs"), "{e}");

    let dir = tempfile::tempdir().expect("tempdir");
    let plain = dir.path().join("plain");
    std::fs::write(&plain, kdump_bytes(&spec(6, Compression::Zlib, pages))).expect("write");
    let e = Dump::open_split_set(&[&paths[0], &plain]).expect_err("not a part");
    assert!(e.to_string().contains("not a --split part"), "{e}");
    // A directory of files that are not parts names the file.
    let e = Dump::open_input(dir.path()).expect_err("not a set");
    assert!(
        matches!(&e, Error::SplitSetMember { file, .. } if *file == plain),
        "{e}"
    );
}

/// Parts may be flattened (`makedumpfile -F --split`): all of them, or some (libkdumpfile's
/// `diskdump-split-flat` and `-mixed` cases); a directory of symbolic links to the parts is a
/// set too.
#[test]
fn flattened_and_mixed_parts_and_linked_parts_form_a_set() {
    use testgen::kdump::{FlatSpec, flatten};
    let pages = mixed_pages(60);
    let (dir, paths) = synthetic_set(&pages, &[(0, 17), (17, 40), (40, 60)]);
    let whole = spec(6, Compression::Zlib, pages);
    for flat_parts in [vec![0, 1, 2], vec![1]] {
        let mut set = Vec::new();
        for (i, p) in paths.iter().enumerate() {
            if flat_parts.contains(&i) {
                let flat = dir.path().join(format!("flat{i}"));
                let image = std::fs::read(p).expect("part");
                std::fs::write(&flat, flatten(&image, &FlatSpec::default())).expect("write");
                set.push(flat);
            } else {
                set.push(p.clone());
            }
        }
        let d = Dump::open_split_set(&set).unwrap_or_else(|e| panic!("{flat_parts:?}: {e}"));
        assert_eq!(d.split_parts().len(), 3);
        check_pages(&d, &whole);
    }
    let links = tempfile::tempdir().expect("tempdir");
    for (i, p) in paths.iter().enumerate() {
        std::os::unix::fs::symlink(p, links.path().join(format!("vmcore.{i}"))).expect("link");
    }
    let d = Dump::open_input(links.path()).expect("a directory of links");
    assert_eq!(d.split_parts().len(), 3);
    check_pages(&d, &whole);
}
