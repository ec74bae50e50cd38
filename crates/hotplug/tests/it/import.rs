//! Importers on real captures, bad input with line numbers, and round trips through our JSON
//! lines format.

use hotplug::{Action, Change, History, SourceFormat, Until, import, replay};
use proptest::prelude::*;

use crate::real::{STEPS, real, scenario_history};

/// Every uevent record of the real run log, in order.
fn real_records() -> Vec<String> {
    let text = std::fs::read_to_string(real("history.jsonl")).unwrap();
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v.get("guest_uevents").cloned())
        .flat_map(|u| {
            u.as_array()
                .unwrap()
                .iter()
                .map(|r| r.as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        })
        .collect()
}

fn events(h: &History) -> Vec<(Change, Option<u64>, Option<u64>)> {
    h.events
        .iter()
        .map(|e| (e.change, e.seq, e.uptime_us))
        .collect()
}

#[test]
fn lab_log_uevent_records_and_udevadm_text_give_the_same_events() {
    let lab = import::import_path(&real("history.jsonl"))
        .unwrap()
        .strict()
        .unwrap();
    assert_eq!(lab.format, SourceFormat::LabJsonl);
    // 782 add/783 online memory32, 785 offline, 786 online, 788 cpu3 offline, 790 cpu1
    // offline, 792 cpu3 online; machinecheck and container uevents are not hotplug state.
    assert_eq!(
        lab.events
            .iter()
            .map(|e| e.seq.unwrap())
            .collect::<Vec<_>>(),
        vec![782, 783, 785, 786, 788, 790, 792]
    );
    let records = real_records().join("\n");
    let rec = import::import_text("uevents.txt", &records)
        .unwrap()
        .strict()
        .unwrap();
    assert_eq!(rec.format, SourceFormat::UeventRecords);
    assert_eq!(events(&rec), events(&lab));
    // udevadm text rendered from the same records (a fixture made by code, not by hand).
    let udev = import::udevadm::render_from_records(real_records().iter().map(String::as_str));
    insta::assert_snapshot!("udevadm_from_real_uevents", udev);
    let u = import::import_text("udevadm.txt", &udev)
        .unwrap()
        .strict()
        .unwrap();
    assert_eq!(u.format, SourceFormat::Udevadm);
    assert_eq!(events(&u), events(&lab));
}

#[test]
fn our_json_lines_round_trip_the_real_history() {
    let h = scenario_history();
    let text = import::jsonl::export(&h);
    insta::assert_snapshot!("scenario_history_jsonl", text);
    let back = import::import_text("h.jsonl", &text)
        .unwrap()
        .strict()
        .unwrap();
    assert_eq!(events(&back), events(&h));
    assert_eq!(back.marks, h.marks);
    for step in STEPS {
        let u = Until::Step(step.into());
        assert_eq!(
            replay(&back, &u).unwrap().online_cpus(),
            replay(&h, &u).unwrap().online_cpus()
        );
        assert_eq!(
            replay(&back, &u).unwrap().online_ranges(),
            replay(&h, &u).unwrap().online_ranges()
        );
    }
}

#[test]
fn malformed_lines_are_reported_with_their_numbers() {
    let text = "782 add /devices/system/memory/memory32 memory 8.07\n\
                78x add /devices/system/memory/memory32 memory 8.07\n\
                783 online /devices/system/memory/memoryZ memory 8.42\n\
                784 online /devices/system/cpu/cpu1 cpu soon\n\
                785 offline /devices/system/cpu/cpu1 cpu 9.5\n";
    let imported = import::import_text("u.txt", text).unwrap();
    let lines: Vec<usize> = imported.problems.iter().map(|p| p.line).collect();
    assert_eq!(lines, vec![2, 3, 4]);
    let err = imported.clone().strict().unwrap_err();
    assert_eq!(err.line(), Some(2));
    assert!(
        err.to_string()
            .starts_with("u.txt:2: SEQNUM is not a decimal number"),
        "{err}"
    );
    let (h, problems) = imported.lenient();
    assert_eq!(problems.len(), 3);
    assert_eq!(h.events.len(), 2, "the good lines are kept");

    let lab = "{\"kind\":\"action\",\"guest_uevents\":[\"1 online /devices/system/cpu/cpu1 cpu 1.0\", 7]}\n{oops\n";
    let p: Vec<(usize, String)> = import::import_text("l.jsonl", lab)
        .unwrap()
        .problems
        .into_iter()
        .map(|p| (p.line, p.what))
        .collect();
    assert_eq!(p.len(), 2);
    assert_eq!(p[0], (1, "guest_uevents[1] is not a string".to_string()));
    assert_eq!(p[1].0, 2);

    let udev =
        "KERNEL[1.0] online /devices/system/cpu/cpu1 (cpu)\nACTION=online\nSEQNUM=x\n\ngarbage\n";
    let p: Vec<usize> = import::import_text("m.txt", udev)
        .unwrap()
        .problems
        .iter()
        .map(|p| p.line)
        .collect();
    assert_eq!(p, vec![1, 5]);

    let ours =
        "{\"format\":\"vmcore-hotplug-history\",\"version\":2}\n{\"event\":\"cpu-online\"}\n";
    let p: Vec<usize> = import::import_text("o.jsonl", ours)
        .unwrap()
        .problems
        .iter()
        .map(|p| p.line)
        .collect();
    assert_eq!(p, vec![1, 2]);

    assert!(matches!(
        import::import_text("x", "hello world"),
        Err(hotplug::Error::UnknownFormat { .. })
    ));
}

#[test]
fn sysfs_snapshot_is_a_start_topology() {
    let h = import::import_path(&real("steps/root-05-cpu1-offline"))
        .unwrap()
        .strict()
        .unwrap();
    let t = h.start.as_ref().unwrap();
    assert_eq!(t.online_cpus(), vec![0, 2]);
    assert_eq!(t.offline_cpus(), vec![1, 3]);
    assert_eq!(t.block_size, Some(128 << 20));
    assert_eq!(
        t.memory.keys().copied().collect::<Vec<_>>(),
        vec![0, 1, 2, 3, 32]
    );
    assert!(h.events.is_empty());
}

fn arb_change() -> impl Strategy<Value = Change> {
    let action = prop_oneof![
        Just(Action::Add),
        Just(Action::Remove),
        Just(Action::Online),
        Just(Action::Offline)
    ];
    prop_oneof![
        (action.clone(), 0u32..8, proptest::option::of(0u32..16)).prop_map(
            |(action, cpu, apic_id)| Change::Cpu {
                action,
                cpu,
                apic_id
            }
        ),
        (action, 0u64..64).prop_map(|(action, b)| Change::Memory {
            action,
            block: hotplug::BlockRef {
                index: Some(b),
                range: None
            },
        }),
    ]
}

proptest! {
    /// Any event sequence survives export → import, and replay agrees at every prefix.
    #[test]
    fn jsonl_export_import_is_lossless(changes in proptest::collection::vec(arb_change(), 0..40)) {
        let mut h = History::new(SourceFormat::HistoryJsonl);
        h.block_size = Some(128 << 20);
        for (i, c) in changes.iter().enumerate() {
            h.events.push(hotplug::Event { seq: Some(i as u64 + 1), uptime_us: Some(i as u64 * 1500), change: *c, line: 0 });
        }
        let text = import::jsonl::export(&h);
        let back = import::import_text("p.jsonl", &text).unwrap().strict().unwrap();
        prop_assert_eq!(events(&back), events(&h));
        for n in 0..=changes.len() {
            let a = replay(&h, &Until::Events(n)).unwrap();
            let b = replay(&back, &Until::Events(n)).unwrap();
            prop_assert_eq!(a.online_cpus(), b.online_cpus());
            prop_assert_eq!(a.online_ranges(), b.online_ranges());
        }
    }

    /// Importers never panic on arbitrary text; every problem names a line inside it.
    #[test]
    fn importers_survive_any_text(text in "[ -~\n\\[\\]{}]{0,400}") {
        if let Ok(i) = import::import_text("f", &text) {
            let n = text.lines().count().max(1);
            for p in &i.problems {
                prop_assert!(p.line >= 1 && p.line <= n);
            }
        }
        let _ = import::klog::import_text("k", &text);
        let _ = import::udevadm::import("u", &text);
        let _ = import::lab::import("l", &text);
        let _ = import::jsonl::import("j", &text);
    }
}
