//! makedumpfile's flattened ELF (`-E -F`): read as the ELF dump `makedumpfile -E` writes of the
//! same vmcore, page by page (the real dump; makedumpfile is the oracle).

use std::process::{Command, Stdio};

use vmcore::{Dump, Extent, Format, PhysAddr};

use super::split::{extents, makedumpfile, makedumpfile_available};

#[test]
fn real_flattened_elf_reads_like_makedumpfiles_elf() {
    if !makedumpfile_available() {
        return;
    }
    let vmcore = real_data::path("kdump/proc-vmcore.elf").expect("real dump");
    let dir = tempfile::tempdir().expect("tempdir");
    let elf = dir.path().join("e.elf");
    makedumpfile(&["-E", "-d", "31"], &vmcore, std::slice::from_ref(&elf));
    let flat = dir.path().join("e.flat");
    let out = std::fs::File::create(&flat).expect("create");
    let st = Command::new("makedumpfile")
        .args(["-E", "-F", "-d", "31"])
        .arg(&vmcore)
        .stdout(out)
        .stderr(Stdio::null())
        .status()
        .expect("makedumpfile -E -F");
    assert!(st.success());

    let want = Dump::open(&elf).expect("elf");
    // As a file, and from a pipe.
    let got = Dump::open(&flat).expect("flattened ELF");
    let piped = Dump::from_stream(std::fs::File::open(&flat).expect("open"), "-").expect("pipe");
    assert_eq!(got.format(), Format::Flattened);
    assert!(
        got.kdump_info().is_none(),
        "an ELF image, not kdump-compressed"
    );
    assert_eq!(got.segments().len(), want.segments().len());
    assert_eq!(got.notes().len(), want.notes().len());
    let runs = extents(&want);
    assert_eq!(extents(&got), runs);
    let (mut a, mut b, mut c) = (vec![0u8; 4096], vec![0u8; 4096], vec![0u8; 4096]);
    let mut pages = 0;
    for (range, x) in &runs {
        if *x != Extent::Stored {
            continue;
        }
        let mut p = range.start.0;
        while p + 4096 <= range.end.0 {
            want.read_phys(PhysAddr(p), &mut a).expect("elf page");
            got.read_phys(PhysAddr(p), &mut b).expect("flat page");
            piped.read_phys(PhysAddr(p), &mut c).expect("piped page");
            assert!(a == b && a == c, "page {p:#x} differs");
            pages += 1;
            p += 4096;
        }
    }
    assert!(pages > 20_000, "{pages} pages compared");
    // The pages makedumpfile excluded are excluded in both (p_memsz > p_filesz).
    assert!(runs.iter().any(|(_, x)| *x == Extent::Excluded));
}
