//! A real crash inside a module (testdata/kernels/6.12-modcrash, see its MANIFEST.txt) through
//! the real binary: `bt --all --json`, `ps --json`, `modules --json` and `sym` against drgn 0.3.0
//! with Debian's debug vmlinux and the module's DWARF.

use serde_json::Value;

use crate::{stdout, vmcore};

fn dump() -> String {
    let rel = "6.12-modcrash/kdump/makedumpfile-E-d31.elf";
    real_data::kernel_path(rel)
        .unwrap_or_else(|e| panic!("{rel}: {e}"))
        .to_string_lossy()
        .into_owned()
}

fn oracle() -> Value {
    let p =
        real_data::kernels_root().join("6.12-modcrash/oracles/drgn-crash-makedumpfile-E-d31.json");
    serde_json::from_slice(&std::fs::read(p).expect("oracle")).expect("oracle json")
}

fn json(args: &[&str]) -> Value {
    let o = vmcore(args);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).expect("json")
}

fn hex(v: &Value) -> u64 {
    u64::from_str_radix(v.as_str().expect("hex").trim_start_matches("0x"), 16).expect("hex")
}

/// Every frame of every CPU: pc, symbol, offset, module, interrupted, as drgn gives them.
#[test]
fn bt_all_json_equals_drgn_with_module_frames() {
    let f = dump();
    let v = json(&["bt", "--all", "--json", &f]);
    let o = oracle();
    assert_eq!(v["panic_cpu"], o["panic_cpu"]);
    let cpus = v["cpus"].as_array().expect("cpus");
    let mut module_frames = 0;
    for want in o["cpus"].as_array().expect("oracle cpus") {
        let got = cpus
            .iter()
            .find(|c| c["cpu"] == want["cpu"])
            .expect("cpu present");
        assert_eq!(got["pid"], want["pid"]);
        assert_eq!(got["crashed"], want["cpu"] == o["panic_cpu"]);
        let g: Vec<(u64, Value, Value, Value, Value)> = got["frames"]
            .as_array()
            .expect("frames")
            .iter()
            .map(|f| {
                (
                    hex(&f["pc"]),
                    f["symbol"].clone(),
                    f["offset"].clone(),
                    f["module"].clone(),
                    f["interrupted"].clone(),
                )
            })
            .collect();
        let w: Vec<(u64, Value, Value, Value, Value)> = want["frames"]
            .as_array()
            .expect("frames")
            .iter()
            .map(|f| {
                (
                    f["pc"].as_u64().expect("pc"),
                    f["symbol"].clone(),
                    f.get("offset").cloned().unwrap_or(Value::Null),
                    f.get("module").cloned().unwrap_or(Value::Null),
                    f["interrupted"].clone(),
                )
            })
            .collect();
        assert_eq!(g, w, "CPU {}", want["cpu"]);
        assert_eq!(got["stop"]["complete"], true);
        module_frames += w.iter().filter(|f| !f.3.is_null()).count();
    }
    assert_eq!(module_frames, 3);
}

/// The crashed CPU's trace as people read it, module frames marked `[lab_crash]`.
#[test]
fn bt_text_names_module_frames() {
    let o = vmcore(&["bt", &dump()]);
    assert_eq!(o.status.code(), Some(0));
    insta::assert_snapshot!("modcrash_bt", stdout(&o));
}

#[test]
fn ps_and_modules_json_equal_drgn() {
    let f = dump();
    let o = oracle();
    // drgn's for_each_task skips the idle tasks, which `ps` marks as such.
    let ps = json(&["ps", "--json", &f]);
    let mut got: Vec<(Value, Value, Value, Value, Value)> = ps["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .filter(|t| t["idle"] == false)
        .map(|t| {
            (
                t["pid"].clone(),
                t["tgid"].clone(),
                t["comm"].clone(),
                t["state"].clone(),
                t["cpu"].clone(),
            )
        })
        .collect();
    let mut want: Vec<(Value, Value, Value, Value, Value)> = o["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .map(|t| {
            (
                t["pid"].clone(),
                t["tgid"].clone(),
                t["comm"].clone(),
                t["state"].clone(),
                t["cpu"].clone(),
            )
        })
        .collect();
    got.sort_by_key(|t| t.0.as_i64());
    want.sort_by_key(|t| t.0.as_i64());
    assert_eq!(want.len(), 71);
    assert_eq!(got, want);
    let mods = json(&["modules", "--json", &f]);
    let got: Vec<(Value, u64, Value)> = mods["modules"]
        .as_array()
        .expect("modules")
        .iter()
        .map(|m| {
            (
                m["name"].clone(),
                hex(&m["text_base"]),
                m["text_size"].clone(),
            )
        })
        .collect();
    let want: Vec<(Value, u64, Value)> = o["modules"]
        .as_array()
        .expect("modules")
        .iter()
        .map(|m| {
            (
                m["name"].clone(),
                m["text_base"].as_u64().expect("base"),
                m["text_size"].clone(),
            )
        })
        .collect();
    assert_eq!(got, want);
}

/// `vmcore sym` finds the module function by name, at the address drgn's frame implies.
#[test]
fn sym_resolves_the_crashing_module_function() {
    let o = oracle();
    let f0 = &o["cpus"][0]["frames"][0];
    let start = f0["pc"].as_u64().expect("pc") - f0["offset"].as_u64().expect("offset");
    let out = vmcore(&["sym", "lab_crash_bug", &dump()]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        stdout(&out),
        format!("{start:016x} t lab_crash_bug\t[lab_crash]\n")
    );
}
