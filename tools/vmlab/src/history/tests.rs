//! Unit tests of `history.rs`.

use super::*;
use serde_json::json;

#[test]
fn iso_matches_the_frozen_history() {
    // testdata/real/history.jsonl, first line.
    assert_eq!(iso(1795656265.166447), "2026-11-26T01:24:25.166447+00:00");
    assert_eq!(iso(0.0), "1970-01-01T00:00:00.000000+00:00");
}

#[test]
fn action_records_replay_through_the_engine_reader() {
    let line = record_line(
        1.5,
        "action",
        json!({"step": "01-x", "action": "cpu_offline", "args": [3],
               "guest_uevents": ["788 offline /devices/system/cpu/cpu3 cpu 24.05"]}),
    );
    let v: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["kind"], "action");
    assert_eq!(v["t_host"], 1.5);
    // The recorded uevent format is what elfcorehdr's replay reader takes.
    let u =
        elfcorehdr::live::Uevent::parse_record(v["guest_uevents"][0].as_str().unwrap()).unwrap();
    assert_eq!(
        u.to_event(Some(128 << 20)).unwrap().to_string(),
        "cpu-offline:3"
    );
    // And the step grouping the checks use.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("h.jsonl");
    std::fs::write(&p, format!("{line}\n")).unwrap();
    let by = crate::checks::uevents_by_step(&p).unwrap();
    assert_eq!(by["01-x"].len(), 1);
}
