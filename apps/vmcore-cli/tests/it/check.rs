//! `vmcore check` and `vmcore diff` through the real binary: snapshots of text, JSON and JUnit
//! output on the real scenario (file names only, no timings), exit codes, bad history input.

use crate::{real, stdout, vmcore};
use std::process::Output;

/// The three kinds of real input at the crash step, with the scenario's history.
fn scenario_args(extra: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = vec![
        "check".into(),
        real("kdump/proc-vmcore.elf"),
        real("steps/elfcorehdr-06-cpu3-online.bin"),
        real("steps/qemu-dump-06-cpu3-online.hdr"),
        "--history".into(),
        real("steps/root-00-boot"),
        "--history".into(),
        real("history.jsonl"),
        "--state".into(),
        real("steps/root-06-cpu3-online"),
    ];
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

fn run(args: &[String]) -> Output {
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    vmcore(&a)
}

#[test]
fn check_text_json_junit_on_the_real_scenario() {
    for (format, ext) in [("text", "txt"), ("json", "json"), ("junit", "xml")] {
        let o = run(&scenario_args(&["--format", format]));
        // The QEMU header file is cut after its notes on purpose: ELF001 errors, exit 1.
        assert_eq!(
            o.status.code(),
            Some(1),
            "{format}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let out = stdout(&o);
        assert!(!out.contains("/work/") && !out.contains(&*real_data::root().to_string_lossy()));
        insta::assert_snapshot!(format!("check_scenario_{ext}"), out);
    }
    let o = run(&scenario_args(&["--format", "json"]));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let dumps = v["dumps"].as_array().unwrap();
    assert_eq!(dumps.len(), 3);
    for d in dumps {
        assert_eq!(d["checks"][1]["check"], "history");
        assert_eq!(d["checks"][1]["status"], "passed", "{}", d["file"]);
    }
}

#[test]
fn check_at_an_earlier_step_names_the_cpus_and_ranges_that_changed() {
    let mut a = scenario_args(&["--at", "00-boot", "--fail-on", "error"]);
    a.remove(3); // the QEMU header: keep the two that are complete
    a.remove(2);
    let o = run(&a);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(out.contains("HP001 cpu-online-no-context [CPU 1]"), "{out}");
    assert!(
        out.contains("HP005 dumped-memory-not-present [0x100000000-0x107ffffff]"),
        "{out}"
    );
    insta::assert_snapshot!("check_kernel_dump_at_boot", out);
}

#[test]
fn clean_dump_exits_0_and_unusable_input_exits_2() {
    let o = vmcore(&[
        "check",
        &real("steps/elfcorehdr-06-cpu3-online.bin"),
        "--history",
        &real("steps/root-00-boot"),
        "--history",
        &real("history.jsonl"),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.bin");
    std::fs::write(&junk, b"not a dump at all").unwrap();
    let o = vmcore(&[
        "check",
        &real("steps/elfcorehdr-06-cpu3-online.bin"),
        junk.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stdout(&o).contains("== junk.bin"),
        "the other dumps are still reported"
    );
}

#[test]
fn malformed_history_lines_exit_2_or_are_skipped_with_lenient() {
    let dir = tempfile::tempdir().unwrap();
    let h = dir.path().join("bad.jsonl");
    std::fs::write(
        &h,
        "{\"format\":\"vmcore-hotplug-history\",\"version\":1,\"block_size\":\"0x8000000\"}\n\
         {\"event\":\"cpu-offline\",\"cpu\":1}\n\
         {\"event\":\"cpu-explode\",\"cpu\":1}\n\
         not json\n\
         {\"event\":\"cpu-offline\",\"cpu\":3}\n",
    )
    .unwrap();
    let hdr = real("steps/elfcorehdr-06-cpu3-online.bin");
    let o = vmcore(&["check", &hdr, "--history", h.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("bad.jsonl:3: unknown event \"cpu-explode\""),
        "{err}"
    );
    assert!(err.contains("2 malformed line(s)"), "{err}");
    let o = vmcore(&["check", &hdr, "--history", h.to_str().unwrap(), "--lenient"]);
    assert_eq!(o.status.code(), Some(1), "HP014 is a warning");
    let out = stdout(&o);
    assert!(out.contains("HP014 history-line-malformed"), "{out}");
    assert!(out.contains("bad.jsonl:4"), "{out}");
}

#[test]
fn diff_shows_the_topology_beside_the_dump() {
    let o = vmcore(&[
        "diff",
        &real("kdump/proc-vmcore.elf"),
        "--history",
        &real("steps/root-00-boot"),
        "--history",
        &real("history.jsonl"),
        "--elfcorehdr",
        &real("steps/elfcorehdr-06-cpu3-online.bin"),
        "--at",
        "04-cpu3-offline",
    ]);
    assert_eq!(o.status.code(), Some(1));
    insta::assert_snapshot!("diff_kernel_dump_at_step_04", stdout(&o));
}

#[test]
fn check_history_from_the_dumps_own_kernel_log() {
    let o = vmcore(&[
        "check",
        &real("kdump/proc-vmcore.elf"),
        "--history-from-log",
        "--elfcorehdr",
        &real("steps/elfcorehdr-06-cpu3-online.bin"),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let out = stdout(&o);
    assert!(out.contains("CPUs online 0,2-3"), "{out}");
    assert!(out.contains("HP013 history-event-unresolved"), "{out}");
}

#[test]
fn deep_check_reads_every_page_of_the_kernel_dump() {
    let o = vmcore(&["check", "--deep", &real("kdump/proc-vmcore.elf")]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("deep: ok (114381 pages"),
        "{}",
        stdout(&o)
    );
    // A truncated copy: the missing tail is reported page-exactly.
    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("cut.elf");
    let data = std::fs::read(real("kdump/proc-vmcore.elf")).unwrap();
    std::fs::write(&cut, &data[..data.len() - (1 << 20)]).unwrap();
    let o = vmcore(&["check", "--deep", cut.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(out.contains("CHK001 page-unreadable"), "{out}");
    assert!(
        out.contains("(256 pages): past the end of the file"),
        "{out}"
    );
}

#[test]
fn cpus_names_kernel_notes_by_their_crash_notes_buffer() {
    let dump = real("kdump/proc-vmcore.elf");
    for (flag, src) in [
        ("--state", real("steps/root-06-cpu3-online")),
        ("--elfcorehdr", real("steps/elfcorehdr-06-cpu3-online.bin")),
    ] {
        let o = vmcore(&["cpus", &dump, flag, &src]);
        assert_eq!(o.status.code(), Some(0));
        let notes: Vec<String> = stdout(&o)
            .lines()
            .filter(|l| l.starts_with("note "))
            .map(|l| l.split(" at ").next().unwrap_or("").to_string())
            .collect();
        assert_eq!(
            notes,
            [
                "note 0 (CPU 0, pid 874)",
                "note 1 (CPU 2, pid 0)",
                "note 2 (CPU 3, pid 0)"
            ],
            "{flag}"
        );
    }
    // Without them the dump's own memory says the same: kallsyms gives the per-CPU
    // crash_notes buffers, and each note is found in its CPU's buffer.
    assert!(stdout(&vmcore(&["cpus", &dump])).contains("note 1 (CPU 2, pid 0)"));
}
