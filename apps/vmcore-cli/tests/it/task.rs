//! `vmcore ps`, `modules` and `bt --pid` through the real binary on the real dumps: snapshots of
//! the text, JSON read back and compared with drgn's oracle (testdata/real/oracles).

use crate::{real, stdout, vmcore};
use serde_json::Value;

fn oracle(name: &str) -> Value {
    let path = real_data::root().join(format!("oracles/drgn-crash-{name}.json"));
    serde_json::from_slice(&std::fs::read(path).expect("oracle")).expect("json")
}

#[test]
fn ps_modules_and_bt_on_the_kernel_vmcore() {
    let f = real("kdump/proc-vmcore.elf");
    for (name, args) in [
        ("ps", vec!["ps", &f]),
        ("modules", vec!["modules", &f]),
        ("bt_pid_1", vec!["bt", "--pid", "1", &f]),
        ("bt_pid_874", vec!["bt", "--pid", "874", &f]),
    ] {
        let o = vmcore(&args);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{name}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        insta::assert_snapshot!(format!("proc_vmcore_{name}"), stdout(&o));
    }
}

#[test]
fn ps_json_lists_drgns_tasks_and_the_running_ones() {
    for (file, name) in [
        ("kdump/proc-vmcore.elf", "proc-vmcore"),
        (
            "qemu-dumps/dump-06-cpu3-online.elf",
            "qemu-dump-06-cpu3-online",
        ),
    ] {
        let o = vmcore(&["ps", "--json", &real(file)]);
        assert_eq!(o.status.code(), Some(0));
        let v: Value = serde_json::from_slice(&o.stdout).expect("json");
        assert_eq!(v["version"], 1);
        let tasks = v["tasks"].as_array().expect("tasks");
        let key = |t: &Value| {
            (
                t["pid"].as_i64(),
                t["tgid"].as_i64(),
                t["comm"].as_str().map(str::to_string),
                t["state"].as_str().map(str::to_string),
                t["cpu"].as_i64(),
            )
        };
        let ours: Vec<_> = tasks
            .iter()
            .filter(|t| t["idle"] == false)
            .map(key)
            .collect();
        let want: Vec<_> = oracle(name)["tasks"]
            .as_array()
            .expect("tasks")
            .iter()
            .map(key)
            .collect();
        assert_eq!(ours, want, "{name}");
        // The running task of each online CPU, as drgn's cpu_curr().
        let running: Vec<(i64, i64)> = tasks
            .iter()
            .filter_map(|t| Some((t["running_on"].as_i64()?, t["pid"].as_i64()?)))
            .collect::<std::collections::BTreeMap<_, _>>()
            .into_iter()
            .collect();
        let want: Vec<(i64, i64)> = oracle(name)["cpus"]
            .as_array()
            .expect("cpus")
            .iter()
            .map(|c| {
                (
                    c["cpu"].as_i64().expect("cpu"),
                    c["pid"].as_i64().expect("pid"),
                )
            })
            .collect();
        assert_eq!(running, want, "{name}");
    }
}

#[test]
fn modules_and_bt_json() {
    let f = real("kdump/proc-vmcore.elf");
    let o = vmcore(&["modules", "--json", &f]);
    let v: Value = serde_json::from_slice(&o.stdout).expect("json");
    let m = &v["modules"][0];
    let want = &oracle("proc-vmcore")["modules"][0];
    assert_eq!(m["name"], want["name"]);
    assert_eq!(m["text_size"], want["text_size"]);
    assert_eq!(
        m["text_base"],
        format!("{:#x}", want["text_base"].as_u64().expect("base"))
    );

    let o = vmcore(&["bt", "--pid", "2", "--json", &f]);
    let v: Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["complete"], true);
    let want = &oracle("proc-vmcore")["task_traces"][1];
    assert_eq!(want["pid"], 2);
    let names = |a: &Value, k: &str| -> Vec<Value> {
        a.as_array()
            .expect("frames")
            .iter()
            .map(|f| f[k].clone())
            .collect()
    };
    assert_eq!(
        names(&v["frames"], "symbol"),
        names(&want["frames"], "symbol")
    );
    assert_eq!(
        names(&v["frames"], "offset"),
        names(&want["frames"], "offset")
    );

    let o = vmcore(&["bt", "--pid", "99999", &f]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no task with pid 99999"));
}

/// Module symbols in `ksyms` (`/proc/kallsyms` format: a tab, then `[module]`) and `sym`.
#[test]
fn ksyms_and_sym_include_module_symbols() {
    let f = real("kdump/proc-vmcore.elf");
    let o = vmcore(&["ksyms", &f]);
    let text = stdout(&o);
    let module_lines: Vec<&str> = text
        .lines()
        .filter(|l| l.ends_with("\t[qemu_fw_cfg]"))
        .collect();
    assert!(module_lines.len() > 50, "{}", module_lines.len());
    let probe = module_lines
        .iter()
        .find(|l| l.contains(" t fw_cfg_sysfs_probe\t"))
        .expect("fw_cfg_sysfs_probe");
    let addr = &probe[..16];
    let o = vmcore(&["sym", "fw_cfg_sysfs_probe", &format!("0x{addr}"), &f]);
    assert_eq!(o.status.code(), Some(0));
    let lines: Vec<String> = stdout(&o).lines().map(str::to_string).collect();
    assert_eq!(
        lines[0],
        format!("{addr} t fw_cfg_sysfs_probe\t[qemu_fw_cfg]")
    );
    assert!(
        lines[1].starts_with(&format!("{addr} fw_cfg_sysfs_probe+0x0/"))
            && lines[1].ends_with(" [qemu_fw_cfg]"),
        "{}",
        lines[1]
    );
}

/// On the makedumpfile twin, task_structs in left-out pages are warnings (exit 1), named with
/// their address and why; every other task is listed.
#[test]
fn ps_on_a_makedumpfile_twin_names_the_left_out_tasks() {
    let o = vmcore(&["ps", &real("kdump/makedumpfile-c-d31.kdump")]);
    assert_eq!(o.status.code(), Some(1));
    let text = stdout(&o);
    let warnings: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("warning: "))
        .collect();
    assert_eq!(warnings.len(), 3, "{text}");
    assert!(warnings[0].starts_with("warning: task list: 0xffff88bf41958000: "));
    assert!(
        warnings[0].ends_with("was excluded from the dump by its dump level"),
        "{text}"
    );
    assert!(
        text.contains(">    874       1    0  ffff88bf41eb48c0  R   sh\n"),
        "{text}"
    );
}

/// `vmcore btf` prints the dump's own BTF exactly as bpftool prints the blob `--raw-bytes`
/// writes (Debian's bpftool 7.1: every one of the 266,255 lines of the real 6.12 vmlinux BTF,
/// and a module's split BTF over it); `--type` picks types by name.
#[test]
fn btf_prints_as_bpftool_prints_the_same_blob() {
    let ok = std::process::Command::new("bpftool")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must install bpftool (Debian) for the BTF test"
        );
        eprintln!("skipped: bpftool is not installed (apt-get install bpftool)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bpftool = |args: &[&str]| {
        let o = std::process::Command::new("bpftool")
            .args(args)
            .output()
            .expect("run bpftool");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).expect("utf-8")
    };
    let blob = |dump: &str, extra: &[&str], name: &str| {
        let mut args = vec!["btf", dump, "--raw-bytes"];
        args.extend_from_slice(extra);
        let o = vmcore(&args);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        let p = dir.path().join(name);
        std::fs::write(&p, &o.stdout).unwrap();
        p.to_string_lossy().into_owned()
    };
    let f = real("kdump/proc-vmcore.elf");
    let vmlinux = blob(&f, &[], "vmlinux.btf");
    let want = bpftool(&["btf", "dump", "file", &vmlinux, "format", "raw"]);
    let got = stdout(&vmcore(&["btf", &f]));
    assert_eq!(got.lines().count(), 266_255);
    assert!(
        got == want,
        "vmcore btf differs from bpftool's dump of the same blob"
    );
    // One type by name, and a name no type has (exit 1).
    let o = vmcore(&["btf", &f, "--type", "list_head"]);
    assert_eq!(
        stdout(&o),
        "[93] STRUCT 'list_head' size=16 vlen=2\n\t'next' type_id=95 bits_offset=0\n\t'prev' type_id=95 bits_offset=64\n"
    );
    assert_eq!(
        vmcore(&["btf", &f, "--type", "no_such_type"]).status.code(),
        Some(1)
    );
    let o = vmcore(&["btf", &f, "--type", "list_head", "--type", "nope", "--json"]);
    assert_eq!(o.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["types"][0]["kind"], "STRUCT");
    assert_eq!(v["types"][0]["id"], 93);
    assert_eq!(v["missing"][0], "nope");
    // A module's split BTF, over the kernel's.
    let m = real_data::kernel_path("6.12-modcrash/kdump/makedumpfile-E-d31.elf")
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let base = blob(&m, &[], "mc-vmlinux.btf");
    let module = blob(&m, &["--module", "qemu_fw_cfg"], "qemu_fw_cfg.btf");
    let want = bpftool(&["btf", "-B", &base, "dump", "file", &module, "format", "raw"]);
    let got = stdout(&vmcore(&["btf", &m, "--module", "qemu_fw_cfg"]));
    assert_eq!(got, want);
    let o = vmcore(&["btf", &m, "--module", "lab_crash"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("modules with BTF: qemu_fw_cfg"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}
