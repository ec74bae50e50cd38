//! Every history importer on arbitrary text, then replay to every point, the history checks
//! and a diff against a real elfcorehdr (step 06 of testdata/real): nothing panics, every
//! problem names a line of the input, and export → import keeps the events. The same text
//! also goes through the small text parsers a captured root and the CLI feed: cpulists,
//! /proc/iomem, kallsyms, index lists, `--at` points, event names.
#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

static REAL_HEADER: &[u8] =
    include_bytes!("../../testdata/real/steps/elfcorehdr-06-cpu3-online.bin");

fn real_content() -> &'static hotplug::DumpContent {
    static C: OnceLock<hotplug::DumpContent> = OnceLock::new();
    C.get_or_init(|| {
        let h = elfcorehdr::Elfcorehdr::parse(REAL_HEADER).expect("real header parses");
        hotplug::DumpContent::of_elfcorehdr(&h, None, Some(4096))
    })
}

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
    let content = real_content();
    for imported in all {
        for p in &imported.problems {
            assert!(
                p.line >= 1 && p.line <= lines,
                "problem line {} of {lines}",
                p.line
            );
        }
        let h = imported.history;
        let mut points: Vec<hotplug::Until> = (0..=h.events.len().min(64))
            .map(hotplug::Until::Events)
            .collect();
        points.extend([hotplug::Until::Start, hotplug::Until::Crash]);
        points.extend(
            h.marks
                .iter()
                .take(8)
                .map(|m| hotplug::Until::Step(m.name.clone())),
        );
        for u in &points {
            if let Ok(t) = hotplug::replay(&h, u) {
                let _ = (t.online_ranges(), t.online_cpus(), t.offline_cpus());
                let _ = hotplug::history_findings(&h, &t);
                for f in hotplug::diff(&t, content) {
                    let _ = (f.finding.to_string(), format!("{:?}", f.subject));
                }
            }
        }
        let back = hotplug::import::jsonl::import("g", &hotplug::import::jsonl::export(&h));
        assert_eq!(back.history.events.len(), h.events.len());
    }
    let _ = hotplug::import::detect(&text);
    let _ = hotplug::import::import_text("f", &text);
    // Captured-root and CLI text parsers.
    let p = Path::new("f");
    let _ = elfcorehdr::parse_cpulist(p, &text);
    let _ = elfcorehdr::parse_iomem(p, &text);
    let _ = elfcorehdr::parse_kallsyms(p, &text);
    for line in text.lines().take(16) {
        let _ = hotplug::import::jsonl::parse_index_list(line);
        let _ = hotplug::Until::parse(line);
        let _ = hotplug::parse_seconds_us(line);
        let _ = elfcorehdr::Event::parse(line, Some(0x800_0000));
        let _ = hotplug::import::klog::split_timestamp(line);
    }
});
