//! Issue #16, items 7–9: what header files may be, what a replacement keeps, and live roots
//! without `_end` in kallsyms.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use elfcorehdr::file::{self, WriteOptions};
use elfcorehdr::{Event, LoadMode, SystemState};

use crate::cli_inputs::copy_dir;
use crate::real::{kernel_segment, real_dir, state};

fn update(path: &Path, opts: WriteOptions) -> elfcorehdr::Result<elfcorehdr::Changes> {
    let s1 = state("01-mem-hotadd-128M");
    let ev = Event::parse("memory-online:memory32", s1.memory_block_size).unwrap();
    file::update_file_with(path, &s1, ev, LoadMode::KexecFile, opts)
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Item 7: `/dev/zero` was read until memory ran out (the size cap trusted st_size, 0); a
/// FIFO blocked forever; a directory gave an OS error. Each is refused by name.
#[test]
fn header_files_that_are_not_regular_files_are_refused() {
    let e = file::read_header_file(Path::new("/dev/zero")).unwrap_err();
    assert!(e.to_string().contains("is a character device"), "{e}");
    let dir = tempfile::tempdir().unwrap();
    let e = file::read_header_file(dir.path()).unwrap_err();
    assert!(e.to_string().contains("is a directory"), "{e}");
    let fifo = dir.path().join("fifo");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    if made.is_ok_and(|s| s.success()) {
        // Opened without O_NONBLOCK this would wait for a writer forever.
        let e = file::read_header_file(&fifo).unwrap_err();
        assert!(e.to_string().contains("is a FIFO"), "{e}");
        let e = update(&fifo, WriteOptions::default()).unwrap_err();
        assert!(e.to_string().contains("is a FIFO"), "{e}");
    }
}

/// Item 8: the replacement keeps the target's permission bits (a 0600 file became 0644) and
/// owner; a read-only target is refused unless forced (it was silently replaced).
#[test]
fn update_keeps_the_mode_and_refuses_a_read_only_target() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("hdr.bin");
    std::fs::write(&p, kernel_segment("00-boot")).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
    let owner = std::fs::metadata(&p).unwrap().uid();
    assert!(update(&p, WriteOptions::default()).unwrap().changed());
    let m = std::fs::metadata(&p).unwrap();
    assert_eq!(m.permissions().mode() & 0o7777, 0o600);
    assert_eq!(m.uid(), owner);
    assert!(std::fs::read(&p).unwrap() == kernel_segment("01-mem-hotadd-128M"));

    std::fs::write(&p, kernel_segment("00-boot")).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o444)).unwrap();
    let e = update(&p, WriteOptions::default()).unwrap_err();
    assert_eq!(e.code(), "read-only-target");
    assert!(e.to_string().contains("0444"), "{e}");
    assert!(std::fs::read(&p).unwrap() == kernel_segment("00-boot"));
    assert!(update(&p, WriteOptions { force: true }).unwrap().changed());
    assert_eq!(
        std::fs::metadata(&p).unwrap().permissions().mode() & 0o7777,
        0o444
    );
    assert!(std::fs::read(&p).unwrap() == kernel_segment("01-mem-hotadd-128M"));
    assert_eq!(names(dir.path()), ["hdr.bin"]);
}

/// Item 8: a symlink target was replaced by a regular file while the file it named kept the
/// old header. Now the named file is replaced and the link kept.
#[test]
fn update_through_a_symlink_replaces_the_file_it_names() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real.bin");
    let link = dir.path().join("link.bin");
    std::fs::write(&real, kernel_segment("00-boot")).unwrap();
    std::os::unix::fs::symlink("real.bin", &link).unwrap();
    assert!(update(&link, WriteOptions::default()).unwrap().changed());
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(std::fs::read(&real).unwrap() == kernel_segment("01-mem-hotadd-128M"));
    // A dangling link is refused, not replaced by a new file.
    let dangling = dir.path().join("dangling.bin");
    std::os::unix::fs::symlink("nowhere.bin", &dangling).unwrap();
    assert!(file::write_atomically(&dangling, b"x").is_err());
    assert!(!dir.path().join("nowhere.bin").exists());
}

/// Item 8: killed runs left `.NAME.tmp.PID` files that no later run removed.
#[test]
fn temp_files_of_dead_runs_are_removed_by_the_next_write() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("hdr.bin");
    std::fs::write(&p, kernel_segment("00-boot")).unwrap();
    // A process that has exited: its PID names no live process (until reused).
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    std::fs::write(dir.path().join(format!(".hdr.bin.tmp.{dead}")), b"partial").unwrap();
    // A live process's temp file is left alone (PID 1 always lives).
    std::fs::write(dir.path().join(".hdr.bin.tmp.1"), b"in use").unwrap();
    assert!(update(&p, WriteOptions::default()).unwrap().changed());
    assert_eq!(names(dir.path()), [".hdr.bin.tmp.1", "hdr.bin"]);
}

/// Item 9: a kernel without CONFIG_KALLSYMS_ALL lists no `_end` (seen on 6.18); the kernel
/// text size then comes from /proc/kcore's KCORE_TEXT header. Oracle: on every real root
/// KCORE_TEXT spans exactly kallsyms' `_text`.. `_end`.
#[test]
fn kernel_text_comes_from_kcore_when_kallsyms_has_no_end() {
    for step in crate::real::STEPS {
        let root = real_dir().join(format!("root-{step}"));
        let ks = std::fs::read_to_string(root.join("proc/kallsyms")).unwrap();
        let (t, e) = elfcorehdr::parse_kallsyms(&root.join("proc/kallsyms"), &ks).unwrap();
        let (kt, size) = elfcorehdr::kernel_text_from_kcore(&root.join("proc/kcore")).unwrap();
        assert_eq!((kt, size), (t, e.0 - t.0), "{step}");
    }
    let src = real_dir().join("root-06-cpu3-online");
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&src, dir.path());
    let ks = dir.path().join("proc/kallsyms");
    let text = std::fs::read_to_string(&ks).unwrap();
    let without: String = text
        .lines()
        .filter(|l| !l.ends_with(" _end"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_ne!(text, without);
    std::fs::write(&ks, without).unwrap();
    let e = elfcorehdr::parse_kallsyms(&ks, &std::fs::read_to_string(&ks).unwrap()).unwrap_err();
    assert!(e.to_string().contains("_end"), "{e}");
    let s = SystemState::from_root(dir.path()).unwrap();
    assert_eq!(s, state("06-cpu3-online"));
}

/// Item 9: `kexec_crash_loaded` says whether there is an elfcorehdr to read at all.
#[test]
fn crash_kernel_loaded_reads_sysfs() {
    let src = real_dir().join("root-06-cpu3-online");
    assert_eq!(elfcorehdr::crash_kernel_loaded(&src).unwrap(), Some(true));
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&src, dir.path());
    std::fs::write(dir.path().join("sys/kernel/kexec_crash_loaded"), "0\n").unwrap();
    assert_eq!(
        elfcorehdr::crash_kernel_loaded(dir.path()).unwrap(),
        Some(false)
    );
    std::fs::remove_file(dir.path().join("sys/kernel/kexec_crash_loaded")).unwrap();
    assert_eq!(elfcorehdr::crash_kernel_loaded(dir.path()).unwrap(), None);
}
