//! Issue #16 through the real binary: every command on every hostile input of
//! `testgen::hostile` ends with exit 1 or 2 and a message naming what is wrong: no abort, no
//! panic, no hang. Commands run under `prlimit --data=2147483648` (a 2 GiB heap) and
//! `timeout 20` when those tools exist (util-linux, coreutils), which is how a run that
//! allocates by a header field or scans what the header declares fails here; the limits
//! bound the run, nothing is timed.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

use crate::real;

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Run `vmcore ARGS` with a 2 GiB data limit and a 20 s bound when the tools exist.
fn guarded(args: &[&str]) -> Output {
    let bin = env!("CARGO_BIN_EXE_vmcore");
    let mut argv: Vec<String> = Vec::new();
    if have("prlimit") {
        argv.extend(["prlimit".into(), "--data=2147483648".into()]);
    }
    if have("timeout") {
        argv.extend(["timeout".into(), "20".into()]);
    }
    argv.push(bin.into());
    argv.extend(args.iter().map(|s| s.to_string()));
    Command::new(&argv[0])
        .args(&argv[1..])
        .output()
        .expect("run vmcore")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// What each input must say, and in which command.
const EXPECT: &[(&str, &str, &str)] = &[
    ("elf-loads-size-max", "convert", "ELF009"),
    ("elf-loads-size-max", "info", "ELF009"),
    ("elf-pn-xnum-65535-loads", "convert", "ELF009"),
    ("elf-huge-filesz", "info", "ELF001"),
    ("elf-huge-filesz", "convert", "past the end of the file"),
    ("elf-2p48-load-8k", "info", "ELF001"),
    ("elf-2p48-load-8k", "check --deep", "CHK001"),
    ("elf-five-overlapping-1t", "info", "ELF003"),
    ("elf-five-overlapping-1t", "convert", "ELF009"),
    ("elf-16t-sparse", "info", "ELF001"),
    ("elf-16t-sparse", "check --deep", "CHK001"),
    ("kdump-mapnr-2p33-sparse", "info", "DUMP001"),
    ("kdump-mapnr-2p33-sparse", "check --deep", "CHK003"),
    (
        "kdump-mapnr-2p33-sparse",
        "convert",
        "no page of memory was written",
    ),
    ("kdump-mapnr-2p36-sparse", "info", "DUMP001"),
    ("kdump-mapnr-2p36-sparse", "check --deep", "CHK003"),
    ("elf-prb-ring-2p26", "dmesg", "KLOG010"),
    ("elf-prb-ring-2p26", "dmesg", "MAX_LOG_RECORDS"),
    ("elf-prb-null", "dmesg", "SYMBOL(prb)"),
    ("elf-prb-null", "dmesg", "0 (null)"),
    (
        "flat-subheader-at-2p62",
        "info",
        "kdump_sub_header at image offset 0x1000",
    ),
    ("kdump-mapnr-zero", "info", "DUMP001"),
    ("kdump-mapnr-zero", "check --deep", "CHK003"),
    // block_size 512 in a 4 KiB layout reads the sub-header from the wrong block: its
    // max_mapnr_64 disagrees with the header's, named before "no memory" would be.
    ("kdump-block-size-512", "info", "KDUMP013"),
    ("kdump-second-bitmap-zero", "info", "DUMP001"),
    ("kdump-second-bitmap-zero", "check --deep", "CHK003"),
    (
        "flat-first-record-bad",
        "info",
        "record 0 (file offset 0x1000)",
    ),
    ("flat-bitmap-cut", "info", "KDUMP003"),
    ("elf-pn-xnum-no-section-header", "info", "e_shoff is 0"),
];

/// Inputs whose only damage is the printk ring: the commands that do not decode the log
/// rightly succeed on them.
const LOG_ONLY: &[&str] = &["elf-prb-ring-2p26", "elf-prb-null"];

const COMMANDS: &[&str] = &[
    "info",
    "cpus",
    "map",
    "vmcoreinfo",
    "notes",
    "dmesg",
    "check",
    "check --deep",
    "convert",
    "read --phys 0x1000 --len 64",
];

#[test]
fn every_command_on_every_hostile_input_ends_with_a_named_error_or_finding() {
    let dir = tempfile::tempdir().unwrap();
    let out_elf = dir.path().join("out").join("converted.elf");
    std::fs::create_dir(out_elf.parent().unwrap()).unwrap();
    let mut said: Vec<(String, String, String)> = Vec::new();
    for f in testgen::hostile::dumps() {
        let p = dir.path().join(f.name);
        f.write(&p).unwrap();
        let path = p.to_str().unwrap();
        for cmd in COMMANDS {
            let mut args: Vec<&str> = cmd.split(' ').collect();
            args.insert(1.min(args.len()), path);
            if *cmd == "convert" {
                args.extend(["-o", out_elf.to_str().unwrap(), "--no-progress"]);
            }
            let o = guarded(&args);
            let t = text(&o);
            let code = o.status.code();
            assert!(
                !t.contains("panicked") && !t.contains("memory allocation"),
                "{} {cmd}: {t}",
                f.name
            );
            let ok = match code {
                Some(1 | 2) => true,
                // `read` of bytes the file does hold succeeds, findings or not.
                Some(0) => {
                    (LOG_ONLY.contains(&f.name) && !cmd.starts_with("dmesg"))
                        || cmd.starts_with("read")
                }
                // 124: timeout; 134: abort; None: a signal.
                _ => false,
            };
            assert!(ok, "{} {cmd}: exit {code:?}: {t}", f.name);
            said.push((f.name.to_string(), cmd.to_string(), t));
            // A failed or empty conversion leaves no partial file.
            let left: Vec<_> = std::fs::read_dir(out_elf.parent().unwrap())
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n.contains(".partial."))
                .collect();
            assert!(left.is_empty(), "{} {cmd}: {left:?}", f.name);
        }
    }
    for (name, cmd, needle) in EXPECT {
        let (_, _, t) = said
            .iter()
            .find(|(n, c, _)| n == name && c == cmd)
            .unwrap_or_else(|| panic!("{name} {cmd} not run"));
        assert!(t.contains(needle), "{name} {cmd}: no {needle:?} in:\n{t}");
    }
}

/// Item 4: a history whose start topology lists 666,664 CPUs took 56 s in `check`/`diff`.
#[test]
fn a_history_past_the_cpu_cap_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let h = dir.path().join("h.jsonl");
    std::fs::write(&h, testgen::hostile::history_with_cpus(666_664)).unwrap();
    let dump = real("kdump/proc-vmcore.elf");
    for cmd in ["check", "diff"] {
        let o = guarded(&[cmd, &dump, "--history", h.to_str().unwrap()]);
        let t = text(&o);
        assert_eq!(o.status.code(), Some(2), "{cmd}: {t}");
        assert!(t.contains("MAX_CPUS") && t.contains("cpus_"), "{cmd}: {t}");
    }
}

/// Item 7: a FIFO made `info` and `elfcorehdr update` block forever; `/dev/zero` was read
/// until memory ran out; a directory gave an OS error.
#[test]
fn fifos_devices_and_directories_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    let made = Command::new("mkfifo").arg(&fifo).status();
    let root = real("steps/root-01-mem-hotadd-128M");
    let mut inputs = vec![
        (dir.path().to_str().unwrap().to_string(), "is a directory"),
        ("/dev/zero".to_string(), "is a character device"),
    ];
    if made.is_ok_and(|s| s.success()) {
        inputs.push((fifo.to_str().unwrap().to_string(), "is a FIFO"));
    }
    for (p, why) in &inputs {
        for args in [
            vec!["info", p],
            vec!["check", p],
            vec!["elfcorehdr", "show", p],
            vec!["elfcorehdr", "verify", p, "--root", &root],
            vec![
                "elfcorehdr",
                "update",
                p,
                "--root",
                &root,
                "--event",
                "memory-online:memory32",
            ],
        ] {
            let o = guarded(&args);
            let t = text(&o);
            assert_eq!(o.status.code(), Some(2), "{args:?}: {t}");
            assert!(t.contains(why), "{args:?}: {t}");
        }
    }
}

fn segment(step: &str) -> Vec<u8> {
    real_data::read(&format!("steps/elfcorehdr-{step}.segment.bin")).unwrap()
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Item 8: runs of `elfcorehdr update` killed at different points leave the old or the new
/// header byte for byte; the next successful run removes their temp files; the mode (0600)
/// is kept; a read-only target needs --force.
#[test]
fn update_killed_then_rerun_keeps_mode_and_leaves_no_temp_files() {
    let dir = tempfile::tempdir().unwrap();
    let hdr = dir.path().join("hdr.bin");
    let (old, new) = (segment("00-boot"), segment("01-mem-hotadd-128M"));
    let root = real("steps/root-01-mem-hotadd-128M");
    let args = |p: &Path| {
        vec![
            "elfcorehdr".to_string(),
            "update".into(),
            p.to_str().unwrap().into(),
            "--root".into(),
            root.clone(),
            "--event".into(),
            "memory-online:memory32".into(),
        ]
    };
    for i in 0..12u64 {
        std::fs::write(&hdr, &old).unwrap();
        std::fs::set_permissions(&hdr, std::fs::Permissions::from_mode(0o600)).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_vmcore"))
            .args(args(&hdr))
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Kill points spread over the run (reading the root, building, writing).
        std::thread::sleep(std::time::Duration::from_millis(i * i));
        let _ = child.kill();
        let _ = child.wait();
        let now = std::fs::read(&hdr).unwrap();
        assert!(now == old || now == new, "kill {i}: a mixed header");
    }
    // A killed run may have left its temp file; the next run removes it.
    let o = guarded(&args(&hdr).iter().map(String::as_str).collect::<Vec<_>>());
    assert!(o.status.code().is_some_and(|c| c == 0), "{}", text(&o));
    assert!(std::fs::read(&hdr).unwrap() == new);
    assert_eq!(names(dir.path()), ["hdr.bin"]);
    assert_eq!(
        std::fs::metadata(&hdr).unwrap().permissions().mode() & 0o7777,
        0o600
    );
    // Read-only: refused by name, then replaced with --force, keeping 0444.
    std::fs::write(&hdr, &old).unwrap();
    std::fs::set_permissions(&hdr, std::fs::Permissions::from_mode(0o444)).unwrap();
    let a = args(&hdr);
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    let o = guarded(&a);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("read-only") && text(&o).contains("--force"));
    assert!(std::fs::read(&hdr).unwrap() == old);
    let mut forced = a.clone();
    forced.push("--force");
    let o = guarded(&forced);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(std::fs::read(&hdr).unwrap() == new);
    assert_eq!(
        std::fs::metadata(&hdr).unwrap().permissions().mode() & 0o7777,
        0o444
    );
}

/// Item 8: `convert` left a 0-byte `.partial` on abort; a killed conversion's partial file is
/// removed by the next conversion to the same name.
#[test]
fn convert_removes_stale_partial_files_of_dead_runs() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.elf");
    let mut child = Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    std::fs::write(dir.path().join(format!("out.elf.partial.{dead}")), b"").unwrap();
    let f = testgen::hostile::dumps()
        .into_iter()
        .find(|f| f.name == "elf-2p48-load-8k")
        .unwrap();
    let input = dir.path().join("in.elf");
    f.write(&input).unwrap();
    let o = guarded(&[
        "convert",
        input.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--no-progress",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert_eq!(names(dir.path()), ["in.elf", "out.elf"]);
}

/// Item 9: with no crash kernel loaded, `verify --live` said "failed to fill whole buffer";
/// without `_end` in kallsyms (no CONFIG_KALLSYMS_ALL) it stopped at "symbols _text and
/// _end: not found".
#[test]
fn live_roots_without_end_or_without_a_crash_kernel() {
    let src = real("steps/root-06-cpu3-online");
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    copy_dir(Path::new(&src), &root);
    let ks = root.join("proc/kallsyms");
    let without: String = std::fs::read_to_string(&ks)
        .unwrap()
        .lines()
        .filter(|l| !l.ends_with(" _end"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&ks, without).unwrap();
    let hdr = real("steps/elfcorehdr-06-cpu3-online.bin");
    let r = root.to_str().unwrap();
    let o = guarded(&["elfcorehdr", "verify", &hdr, "--root", r]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    std::fs::write(root.join("sys/kernel/kexec_crash_loaded"), "0\n").unwrap();
    let o = guarded(&["elfcorehdr", "verify", "--live", "--root", r]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("no crash kernel is loaded"),
        "{}",
        text(&o)
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for ent in std::fs::read_dir(from).unwrap() {
        let ent = ent.unwrap();
        let dst = to.join(ent.file_name());
        if ent.file_type().unwrap().is_dir() {
            copy_dir(&ent.path(), &dst);
        } else {
            std::fs::copy(ent.path(), dst).unwrap();
        }
    }
}
