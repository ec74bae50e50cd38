//! The TUI shows exactly the findings `vmcore check` reports: both run the checker of
//! `hotplug::check`, so on the real dumps, with their histories, the findings the TUI lists
//! (the dump's, then the history check's; before its kernel-log decode adds the decoder's)
//! equal the structure and history findings of `vmcore check --format json`.

use crate::{real, vmcore};

/// Code, severity, offset and message: what both front ends show of a finding.
type Shown = (String, String, Option<String>, String);

fn check_findings(dump: &str, history: &[&str]) -> Vec<Shown> {
    let mut args = vec!["check", "--format", "json", dump];
    args.extend_from_slice(history);
    let o = vmcore(&args);
    assert!(
        matches!(o.status.code(), Some(0 | 1)),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("check JSON");
    let d = &v["dumps"][0];
    assert!(d["error"].is_null(), "{d}");
    let mut out = Vec::new();
    for c in d["checks"].as_array().expect("checks") {
        for f in c["findings"].as_array().expect("findings") {
            let s = |k: &str| f[k].as_str().map(str::to_string);
            out.push((
                s("code").unwrap_or_default(),
                s("severity").unwrap_or_default(),
                s("offset"),
                s("message").unwrap_or_default(),
            ));
        }
    }
    out
}

/// What the TUI lists after opening `dump` with `vmcore-tui DUMP --history … [--state|--elfcorehdr]`.
fn tui_findings(dump: &str, history: &[&str]) -> Vec<Shown> {
    let mut paths = Vec::new();
    let mut ids = vmcore_tui::integrations::CpuNaming::default();
    let mut it = history.iter();
    while let (Some(flag), Some(value)) = (it.next(), it.next()) {
        match *flag {
            "--history" => paths.push(std::path::PathBuf::from(value)),
            "--state" => ids.state = Some(value.into()),
            "--elfcorehdr" => ids.elfcorehdr = Some(value.into()),
            other => panic!("not a TUI flag: {other}"),
        }
    }
    let mut app = vmcore_tui::App::open(std::path::Path::new(dump)).expect("the TUI opens it");
    if !paths.is_empty() {
        let overlay = vmcore_tui::integrations::load_histories(&paths, &ids, &app.dump)
            .expect("the TUI loads the history");
        app.set_history(overlay);
    }
    app.findings
        .iter()
        .map(|f| {
            (
                f.code.to_string(),
                f.severity.as_str().to_string(),
                f.offset.map(|o| format!("{o:#x}")),
                f.message.clone(),
            )
        })
        .collect()
}

#[test]
fn the_tui_lists_exactly_the_findings_of_vmcore_check_on_the_real_dumps() {
    let (boot, events) = (real("steps/root-00-boot"), real("history.jsonl"));
    let (state, header) = (
        real("steps/root-06-cpu3-online"),
        real("steps/elfcorehdr-06-cpu3-online.bin"),
    );
    let full: Vec<&str> = vec!["--history", &boot, "--history", &events, "--state", &state];
    let by_header: Vec<&str> = vec![
        "--history",
        &boot,
        "--history",
        &events,
        "--elfcorehdr",
        &header,
    ];
    let events_only: Vec<&str> = vec!["--history", &events];
    // The scenario, then a source with the history-only findings the TUI used to miss: a
    // memory event without its block (HP013), a dropped and an oversized kernel update (HP011,
    // HP012), and a block size that contradicts the snapshot's (HP007).
    let dir = tempfile::tempdir().unwrap();
    let notices = dir.path().join("notices.jsonl");
    std::fs::write(
        &notices,
        "{\"format\":\"vmcore-hotplug-history\",\"version\":1,\"block_size\":\"0x10000000\"}\n\
         {\"event\":\"memory-online\"}\n\
         {\"notice\":\"update-lost\",\"uptime\":\"40.5\"}\n\
         {\"notice\":\"update-too-large\",\"elfsz\":917736,\"memsz\":917680}\n",
    )
    .unwrap();
    let notices = notices.to_string_lossy().into_owned();
    let with_notices: Vec<&str> = vec![
        "--history",
        &boot,
        "--history",
        &events,
        "--history",
        &notices,
        "--state",
        &state,
    ];
    let dumps = [
        real("kdump/proc-vmcore.elf"),
        real("kdump/makedumpfile-c-d31.kdump"),
        real("qemu-dumps/dump-06-cpu3-online.elf"),
        header.clone(),
        real("steps/qemu-dump-06-cpu3-online.hdr"),
    ];
    let mut codes = std::collections::BTreeSet::new();
    for dump in &dumps {
        for history in [&full, &by_header, &events_only, &with_notices, &Vec::new()] {
            let cli = check_findings(dump, history);
            let tui = tui_findings(dump, history);
            assert_eq!(tui, cli, "{dump} {history:?}");
            codes.extend(cli.into_iter().map(|f| f.0));
        }
    }
    // The comparison covered findings of every kind the two used to disagree on: a structure
    // finding only `check` added (CHK002), the history's own findings (HP007, HP011-HP013),
    // history-inconclusive and unknown block size (HP016, HP015), and the readers' own (ELF001
    // of the cut QEMU header).
    for code in [
        "CHK002", "HP007", "HP011", "HP012", "HP013", "HP015", "HP016", "ELF001",
    ] {
        assert!(codes.contains(code), "{code} not covered: {codes:?}");
    }
}
