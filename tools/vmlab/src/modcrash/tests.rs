//! Unit tests of `modcrash.rs`.

use super::*;

#[test]
fn stat_fields_after_comm() {
    // comm may hold spaces and parentheses: fields are counted after the last ')'.
    let stat = "123 (a (b) c) R 1 123 1 0 -1 4194304 95 0 0 0 1 2 0 0 20 0 1 0 371 1556480 198 \
                18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 2 0 0 0 0 0";
    assert_eq!(stat_state_cpu(stat), Some(('R', 2)));
    assert_eq!(stat_state_cpu("1 (x) S 0"), None);
    assert_eq!(stat_state_cpu("no parens"), None);
}

fn frame(sym: Option<&str>, off: u64, module: Option<&str>, kind: &str, pc: u64) -> Value {
    json!({"symbol": sym, "offset": off, "module": module, "kind": kind, "pc": format!("{pc:#x}"),
           "area": if module.is_some() { "module" } else if kind == "user" { "user" } else { "kernel" }})
}

/// The shape `vmcore bt --all --json` printed for the frozen run (testdata/kernels/6.12-modcrash).
fn good_bt() -> Value {
    let m = Some(MODULE);
    json!({"cpus": [
        {"cpu": 0, "crashed": true, "stop": {"complete": true, "reason": "user_mode", "message": "entered from user mode"},
         "frames": [
            frame(Some("lab_crash_bug"), 0x2a, m, "interrupted", 0xffffffffc04d303a),
            frame(Some("lab_crash_dispatch"), 0x56, m, "call", 0xffffffffc04d30a6),
            frame(Some("direct_write"), 0x8a, m, "call", 0xffffffffc04d314a),
            frame(Some("full_proxy_write"), 0x57, None, "call", 0xffffffffb474f427),
            frame(Some("vfs_write"), 0xf8, None, "call", 0xffffffffb4654818),
            frame(Some("ksys_write"), 0x6f, None, "call", 0xffffffffb4654d4f),
            frame(Some("do_syscall_64"), 0x87, None, "call", 0xffffffffb4ed7f27),
            frame(Some("entry_SYSCALL_64"), 0xaf, None, "call", 0xffffffffb500012f),
            frame(None, 0, None, "user", 0x47b7a0)]},
        {"cpu": 1, "crashed": false, "stop": {"complete": true, "reason": "user_mode", "message": "entered from user mode"},
         "frames": [frame(None, 0, None, "user", 0x42ec5d)]},
        {"cpu": 2, "crashed": false, "stop": {"complete": true, "reason": "user_mode", "message": "entered from user mode"},
         "frames": [frame(Some("rep_stos_alternative"), 0x40, None, "interrupted", 0xffffffffb4ed3630)]}]})
}

fn scenario() -> Scenario {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/modcrash.json"),
    )
    .unwrap();
    Scenario::parse(&text).unwrap()
}

#[test]
fn module_crash_trace_passes_and_each_break_fails() {
    let sc = scenario();
    let bt = good_bt();
    let passed = check_bt(&bt, &sc).unwrap();
    assert_eq!(passed.len(), 3, "{passed:?}");
    assert!(
        passed[0].contains("lab_crash_bug+0x2a [lab_crash]"),
        "{}",
        passed[0]
    );
    // A module frame left unnamed (no module ORC: the trace stops in the module).
    let mut b = good_bt();
    b["cpus"][0]["frames"][1]["module"] = Value::Null;
    let e = check_bt(&b, &sc).unwrap_err().to_string();
    assert!(e.contains("frame #1"), "{e}");
    // The trace ends before the syscall entry.
    let mut b = good_bt();
    b["cpus"][0]["frames"].as_array_mut().unwrap().truncate(5);
    let e = check_bt(&b, &sc).unwrap_err().to_string();
    assert!(e.contains("entry_SYSCALL_64"), "{e}");
    // The user spinner shown in the kernel, with no way back to user mode.
    let mut b = good_bt();
    b["cpus"][1]["frames"][0]["kind"] = json!("interrupted");
    let e = check_bt(&b, &sc).unwrap_err().to_string();
    assert!(e.contains("CPU 1 spun in user space"), "{e}");
    // The user spinner caught handling a timer tick taken from user mode (seen in a run).
    let mut b = good_bt();
    b["cpus"][1]["frames"] = json!([
        frame(
            Some("__sysvec_apic_timer_interrupt"),
            0x20,
            None,
            "interrupted",
            0xffffffff8c08b520
        ),
        frame(
            Some("sysvec_apic_timer_interrupt"),
            0x38,
            None,
            "call",
            0xffffffff8ccdca38
        ),
        frame(
            Some("asm_sysvec_apic_timer_interrupt"),
            0x1a,
            None,
            "call",
            0xffffffff8ce0160a
        ),
        frame(None, 0, None, "user", 0x4010e0)
    ]);
    let passed = check_bt(&b, &sc).unwrap();
    assert!(
        passed[1].contains("interrupt taken from user mode"),
        "{}",
        passed[1]
    );
    // … but not in a syscall (no asm_ entry stub above the user frame).
    b["cpus"][1]["frames"][2]["symbol"] = json!("entry_SYSCALL_64");
    assert!(check_bt(&b, &sc).is_err());
    // The crash on another CPU than the one the BUG was written on.
    let mut b = good_bt();
    b["cpus"][0]["crashed"] = json!(false);
    b["cpus"][2]["crashed"] = json!(true);
    assert!(check_bt(&b, &sc).is_err());
    // No crashed CPU at all.
    b["cpus"][2]["crashed"] = json!(false);
    let e = check_bt(&b, &sc).unwrap_err().to_string();
    assert!(e.contains("no CPU as crashed"), "{e}");
}

#[test]
fn module_list_and_symbol_must_hold_the_crash_site() {
    let bt = good_bt();
    let mods = json!({"modules": [{"name": "lab_crash", "text_base": "0xffffffffc04d3000", "text_size": 4096}]});
    assert!(
        check_modules(&mods, &bt)
            .unwrap()
            .contains("holds the crashing pc")
    );
    let elsewhere = json!({"modules": [{"name": "lab_crash", "text_base": "0xffffffffc0000000", "text_size": 4096}]});
    assert!(check_modules(&elsewhere, &bt).is_err());
    assert!(check_modules(&json!({"modules": []}), &bt).is_err());
    let out = "ffffffffc04d3010 t lab_crash_bug\t[lab_crash]\n";
    assert!(check_sym(Some(0), out, &bt).is_ok());
    assert!(check_sym(Some(1), out, &bt).is_err());
    assert!(check_sym(Some(0), "ffffffffc04d3010 t lab_crash_bug\n", &bt).is_err());
    assert!(
        check_sym(
            Some(0),
            "ffffffffc04d3000 t lab_crash_bug\t[lab_crash]\n",
            &bt
        )
        .is_err()
    );
}

fn frozen_oracle() -> Value {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/kernels/6.12-modcrash/oracles/drgn-crash-makedumpfile-E-d31.json");
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

/// Our JSON shapes, made from the oracle itself (what a tool that agrees with drgn prints).
fn agreeing(o: &Value) -> (Value, Value, Value) {
    let cpus: Vec<Value> = o["cpus"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let frames: Vec<Value> = c["frames"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| {
                    json!({"pc": format!("{:#x}", f["pc"].as_u64().unwrap()), "symbol": f["symbol"],
                           "offset": f.get("offset").cloned().unwrap_or(Value::Null),
                           "module": f.get("module").cloned().unwrap_or(Value::Null),
                           "interrupted": f["interrupted"]})
                })
                .collect();
            json!({"cpu": c["cpu"], "pid": c["pid"], "frames": frames})
        })
        .collect();
    let mut tasks: Vec<Value> = o["tasks"].as_array().unwrap().clone();
    tasks.push(
        json!({"pid": 0, "tgid": 0, "comm": "swapper/0", "state": "R", "cpu": 0, "idle": true}),
    );
    let mods: Vec<Value> = o["modules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| json!({"name": m["name"], "text_base": format!("{:#x}", m["text_base"].as_u64().unwrap()),
                        "text_size": m["text_size"]}))
        .collect();
    (
        json!({"cpus": cpus}),
        json!({"tasks": tasks}),
        json!({"modules": mods}),
    )
}

#[test]
fn drgn_comparison_passes_on_agreement_and_names_each_difference() {
    let o = frozen_oracle();
    let (bt, ps, mods) = agreeing(&o);
    let passed = drgn_compare(&o, &bt, &ps, &mods).unwrap();
    assert!(passed[0].contains("17 frames"), "{}", passed[0]);
    assert!(passed[1].contains("71 tasks"), "{}", passed[1]);
    // A module frame without its module.
    let mut b = bt.clone();
    b["cpus"][0]["frames"][1]["module"] = Value::Null;
    let e = drgn_compare(&o, &b, &ps, &mods).unwrap_err().to_string();
    assert!(e.contains("frame #1 differs"), "{e}");
    // A trace that stops early.
    let mut b = bt.clone();
    b["cpus"][0]["frames"].as_array_mut().unwrap().truncate(1);
    assert!(drgn_compare(&o, &b, &ps, &mods).is_err());
    // A task missing, a module base off by a page.
    let mut p = ps.clone();
    p["tasks"].as_array_mut().unwrap().remove(3);
    let e = drgn_compare(&o, &bt, &p, &mods).unwrap_err().to_string();
    assert!(e.contains("only drgn"), "{e}");
    let mut m = mods.clone();
    m["modules"][0]["text_base"] = json!("0x1000");
    assert!(drgn_compare(&o, &bt, &ps, &m).is_err());
    // An oracle with nothing in it is not a pass.
    assert!(drgn_compare(&json!({}), &bt, &ps, &mods).is_err());
}

#[test]
fn kernel_release_of_debian_packages() {
    assert_eq!(
        kernel_release("linux-image-6.12.111+deb12-amd64-unsigned 6.12.111-1~deb12u1").as_deref(),
        Some("6.12.111+deb12-amd64")
    );
    assert_eq!(
        kernel_release("linux-image-6.1.0-57-amd64").as_deref(),
        Some("6.1.0-57-amd64")
    );
    assert_eq!(
        kernel_release("linux-binary-unsigned-7.2.13+deb14-amd64"),
        None
    );
}
