//! `vmcore bt`, `sym`, `ksyms` through the real binary: snapshots on the real dumps, JSON read
//! back and checked against drgn's oracle, exit codes.

use crate::{real, stdout, vmcore};

use serde_json::Value;

#[test]
fn bt_of_the_crashed_cpu_and_of_all_cpus() {
    let f = real("kdump/proc-vmcore.elf");
    let o = vmcore(&["bt", &f]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    insta::assert_snapshot!("proc_vmcore_bt", stdout(&o));
    let o = vmcore(&["bt", "--all", &f]);
    assert_eq!(o.status.code(), Some(0));
    insta::assert_snapshot!("proc_vmcore_bt_all", stdout(&o));
    // Nothing panicked in the QEMU dump: every CPU is shown.
    let o = vmcore(&["bt", &real("qemu-dumps/dump-06-cpu3-online.elf")]);
    assert_eq!(o.status.code(), Some(0));
    insta::assert_snapshot!("qemu_dump_06_bt", stdout(&o));
}

#[test]
fn bt_is_the_same_on_kdump_compressed_and_flattened_twins() {
    let elf = stdout(&vmcore(&["bt", "--all", &real("kdump/proc-vmcore.elf")]));
    for twin in [
        "kdump/makedumpfile-c-d31.kdump",
        "kdump/makedumpfile-F-c-d31.flat",
    ] {
        let o = vmcore(&["bt", "--all", &real(twin)]);
        assert_eq!(o.status.code(), Some(0), "{twin}");
        assert_eq!(stdout(&o), elf, "{twin}");
    }
}

#[test]
fn bt_json_frames_equal_drgn() {
    let o = vmcore(&["bt", "--all", "--json", &real("kdump/proc-vmcore.elf")]);
    assert_eq!(o.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["version"], 1);
    assert_eq!(v["panic_cpu"], 0);
    let oracle: Value = serde_json::from_slice(
        &std::fs::read(real_data::root().join("oracles/drgn-crash-proc-vmcore.json"))
            .expect("oracle"),
    )
    .expect("oracle json");
    let cpus = v["cpus"].as_array().expect("cpus");
    for want in oracle["cpus"].as_array().expect("oracle cpus") {
        let got = cpus
            .iter()
            .find(|c| c["cpu"] == want["cpu"])
            .expect("cpu present");
        let frames = got["frames"].as_array().expect("frames");
        let wframes = want["frames"].as_array().expect("frames");
        assert_eq!(frames.len(), wframes.len());
        for (g, w) in frames.iter().zip(wframes) {
            let pc =
                u64::from_str_radix(g["pc"].as_str().expect("pc").trim_start_matches("0x"), 16)
                    .expect("hex");
            assert_eq!(Some(pc), w["pc"].as_u64());
            assert_eq!(g["symbol"], w["symbol"]);
            assert_eq!(g["interrupted"], w["interrupted"]);
            if w["offset"].is_u64() {
                assert_eq!(g["offset"], w["offset"]);
            }
        }
        assert_eq!(got["stop"]["complete"], true);
    }
    // The user frame carries the user registers.
    let last = &cpus[0]["frames"]
        .as_array()
        .expect("frames")
        .last()
        .cloned()
        .expect("frame");
    assert_eq!(last["kind"], "user");
    assert!(last["registers"].as_array().is_some_and(|r| r.len() == 27));
}

#[test]
fn bt_of_a_cpu_without_a_note_is_an_error() {
    let o = vmcore(&["bt", "--cpu", "1", &real("kdump/proc-vmcore.elf")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no register note of CPU 1"));
    let o = vmcore(&["bt", "--cpu", "2", &real("kdump/proc-vmcore.elf")]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).starts_with("CPU 2, pid 0: register note 1\n"));
    // The crashed task by pid; a sleeping task from its saved context (through BTF); a pid
    // that no task has is an error.
    let o = vmcore(&["bt", "--pid", "874", &real("kdump/proc-vmcore.elf")]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).starts_with("CPU 0, pid 874 (crashed): register note 0\n"));
    let o = vmcore(&["bt", "--pid", "1", &real("kdump/proc-vmcore.elf")]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).starts_with("PID: 1 "));
    let o = vmcore(&["bt", "--pid", "4242", &real("kdump/proc-vmcore.elf")]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn sym_resolves_names_and_addresses() {
    let f = real("kdump/proc-vmcore.elf");
    let o = vmcore(&["sym", "panic", "0xffffffff88ac96c6", "_stext", &f]);
    assert_eq!(o.status.code(), Some(0));
    insta::assert_snapshot!("proc_vmcore_sym", stdout(&o));
    // Unknown names and addresses outside the image resolve to nothing: exit 1.
    let o = vmcore(&["sym", "no_such_symbol", "0x1000", &f]);
    assert_eq!(o.status.code(), Some(1));
    insta::assert_snapshot!("proc_vmcore_sym_unresolved", stdout(&o));
}

#[test]
fn ksyms_is_proc_kallsyms_format() {
    let o = vmcore(&["ksyms", &real("kdump/proc-vmcore.elf")]);
    assert_eq!(o.status.code(), Some(0));
    let text = stdout(&o);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.len() > 160_000, "{} symbols", lines.len());
    for l in &lines {
        let f: Vec<&str> = l.split(' ').collect();
        assert_eq!(f.len(), 3, "{l}");
        assert_eq!(f[0].len(), 16, "{l}");
        assert_eq!(f[1].len(), 1, "{l}");
    }
    // Every line the guest's own /proc/kallsyms printed (selected symbols, same boot).
    let captured =
        std::fs::read_to_string(real_data::root().join("steps/root-06-cpu3-online/proc/kallsyms"))
            .expect("captured kallsyms");
    for want in captured.lines() {
        assert!(lines.contains(&want), "{want}");
    }
    insta::assert_snapshot!("proc_vmcore_ksyms_head", lines[..8].join("\n"));
}

#[test]
fn info_and_cpus_json_name_the_crash() {
    let f = real("kdump/proc-vmcore.elf");
    let v: Value = serde_json::from_slice(&vmcore(&["info", "--json", &f]).stdout).expect("json");
    assert_eq!(v["crash"]["cpu"], 0);
    assert_eq!(v["crash"]["pid"], 874);
    assert_eq!(v["crash"]["site"], "sysrq_handle_crash+0x1a");
    assert_eq!(v["crash"]["frames"][1], "panic+0x2e6");
    let v: Value = serde_json::from_slice(&vmcore(&["cpus", "--json", &f]).stdout).expect("json");
    assert_eq!(v["cpus"][1]["cpu"], 2);
    assert_eq!(v["cpus"][1]["symbol"], "pv_native_safe_halt+0xf/0x20");
    // Nothing panicked in the QEMU dump.
    let q = real("qemu-dumps/dump-06-cpu3-online.elf");
    let v: Value = serde_json::from_slice(&vmcore(&["info", "--json", &q]).stdout).expect("json");
    assert!(v["crash"].is_null());
}

/// `vmcore check --format json` carries the crash site with each dump, as drgn (full debug
/// info) names it: the crashed thread and `panic_cpu`; the text report does not.
#[test]
fn check_json_names_the_crash_as_drgn_does() {
    let oracle: Value = serde_json::from_slice(
        &std::fs::read(real_data::root().join("oracles/drgn-crash-proc-vmcore.json")).unwrap(),
    )
    .unwrap();
    for dump in ["kdump/proc-vmcore.elf", "kdump/makedumpfile-c-d31.kdump"] {
        let o = vmcore(&["check", "--format", "json", &real(dump)]);
        let v: Value = serde_json::from_slice(&o.stdout).unwrap();
        let crash = &v["dumps"][0]["crash"];
        assert_eq!(crash["cpu"], oracle["panic_cpu"], "{dump}");
        assert_eq!(crash["pid"], oracle["crashed_tid"], "{dump}");
        assert_eq!(crash["comm"], "sh", "{dump}");
        assert_eq!(crash["site"], "sysrq_handle_crash+0x1a", "{dump}");
    }
    // A QEMU dump of a running machine: nothing panicked, no crash object.
    let o = vmcore(&[
        "check",
        "--json",
        &real("qemu-dumps/dump-06-cpu3-online.elf"),
    ]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["dumps"][0].get("crash").is_none(), "{v}");
    let o = vmcore(&["check", &real("kdump/proc-vmcore.elf")]);
    assert!(!stdout(&o).contains("sysrq_handle_crash"));
}
