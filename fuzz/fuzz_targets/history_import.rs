//! Every history importer on arbitrary text, then replay to every point and a diff: nothing
//! panics, every problem names a line of the input, and export → import keeps the events.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let lines = text.lines().count().max(1);
    let all = [
        hotplug::import::uevent::import("f", &text),
        hotplug::import::lab::import("f", &text),
        hotplug::import::udevadm::import("f", &text),
        hotplug::import::jsonl::import("f", &text),
        hotplug::import::klog::import_text("f", &text),
    ];
    for imported in all {
        for p in &imported.problems {
            assert!(p.line >= 1 && p.line <= lines);
        }
        let h = imported.history;
        for n in 0..=h.events.len().min(64) {
            if let Ok(t) = hotplug::replay(&h, &hotplug::Until::Events(n)) {
                let _ = t.online_ranges();
                let _ = hotplug::history_findings(&h, &t);
            }
        }
        let back = hotplug::import::jsonl::import("g", &hotplug::import::jsonl::export(&h));
        assert_eq!(back.history.events.len(), h.events.len());
    }
    let _ = hotplug::import::import_text("f", &text);
});
