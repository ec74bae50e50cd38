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
    // The user spinner shown in the kernel.
    let mut b = good_bt();
    b["cpus"][1]["frames"][0]["kind"] = json!("interrupted");
    let e = check_bt(&b, &sc).unwrap_err().to_string();
    assert!(e.contains("CPU 1 spun in user space"), "{e}");
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
