//! Text inputs: procfs/sysfs parsing errors name file and line; uevents map to events.

use std::path::Path;

use elfcorehdr::live::Uevent;
use elfcorehdr::{Event, PhysRange, SystemState, parse_cpulist, parse_iomem};

#[test]
fn iomem_without_root_is_a_clear_error() {
    let text = "00000000-00000000 : Reserved\n00000000-00000000 : System RAM\n  00000000-00000000 : Crash kernel\n";
    let e = parse_iomem(Path::new("/proc/iomem"), text).unwrap_err();
    assert_eq!(e.code(), "addresses-hidden");
    assert!(e.to_string().contains("/proc/iomem"));
}

#[test]
fn text_errors_name_file_and_line() {
    let e = parse_iomem(
        Path::new("x/iomem"),
        "00000000-00000fff : Reserved\nzzzz-1 : System RAM\n",
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "x/iomem:2: iomem range (hex START-END): \"zzzz-1 : System RAM\""
    );
    let e = parse_cpulist(Path::new("possible"), "0-3,x\n").unwrap_err();
    assert!(
        e.to_string().starts_with("possible:1: cpulist entry"),
        "{e}"
    );
    assert!(parse_cpulist(Path::new("p"), "0-4294967295").is_err());
    assert_eq!(
        parse_cpulist(Path::new("p"), "0-2,5,7-8\n").unwrap(),
        [0, 1, 2, 5, 7, 8]
    );
    assert_eq!(elfcorehdr::format_cpulist([0, 1, 2, 5, 7, 8]), "0-2,5,7-8");
}

#[test]
fn from_root_of_a_missing_dir_names_the_file() {
    let e = SystemState::from_root("/nonexistent-root").unwrap_err();
    assert_eq!(e.code(), "io");
    assert!(
        e.to_string().contains("/nonexistent-root/proc/iomem"),
        "{e}"
    );
}

#[test]
fn from_root_with_hidden_addresses_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let src = crate::real::real_dir().join("root-00-boot");
    copy_dir(&src, dir.path());
    let iomem = std::fs::read_to_string(dir.path().join("proc/iomem")).unwrap();
    let zeroed: String = iomem
        .lines()
        .map(|l| {
            let (r, n) = l.split_once(" : ").unwrap();
            let indent = &r[..r.len() - r.trim_start().len()];
            format!("{indent}00000000-00000000 : {n}\n")
        })
        .collect();
    std::fs::write(dir.path().join("proc/iomem"), zeroed).unwrap();
    let e = SystemState::from_root(dir.path()).unwrap_err();
    assert_eq!(e.code(), "addresses-hidden", "{e}");
}

pub fn copy_dir(from: &Path, to: &Path) {
    for ent in std::fs::read_dir(from).unwrap() {
        let ent = ent.unwrap();
        let dst = to.join(ent.file_name());
        if ent.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&dst).unwrap();
            copy_dir(&ent.path(), &dst);
        } else {
            std::fs::copy(ent.path(), dst).unwrap();
        }
    }
}

#[test]
fn recorded_uevents_become_events() {
    let bs = Some(0x8000000);
    let u = Uevent::parse_record("783 online /devices/system/memory/memory32 memory 8.42").unwrap();
    assert_eq!(u.seqnum, Some(783));
    assert_eq!(
        u.to_event(bs),
        Some(Event::MemoryOnline(PhysRange::from_inclusive(
            0x100000000,
            0x107ffffff
        )))
    );
    let u = Uevent::parse_record("788 offline /devices/system/cpu/cpu3 cpu 24.05").unwrap();
    assert_eq!(u.to_event(bs), Some(Event::CpuOffline(3)));
    let u = Uevent::parse_record(
        "787 remove /devices/system/machinecheck/machinecheck3 machinecheck 24.04",
    )
    .unwrap();
    assert_eq!(u.to_event(bs), None);
    assert!(Uevent::parse_record("not a uevent").is_none());
    let msg = b"online@/devices/system/cpu/cpu1\0ACTION=online\0DEVPATH=/devices/system/cpu/cpu1\0SUBSYSTEM=cpu\0SEQNUM=42\0";
    let u = Uevent::parse_netlink(msg).unwrap();
    assert_eq!(
        (u.seqnum, u.to_event(None)),
        (Some(42), Some(Event::CpuOnline(1)))
    );
    assert!(Uevent::parse_netlink(b"libudev\0\xfe\xed").is_none());
}

#[test]
fn every_uevent_in_the_recorded_history_parses() {
    let text = std::fs::read_to_string(crate::real::real_dir().join("../history.jsonl")).unwrap();
    let mut events = Vec::new();
    for line in text.lines() {
        // history.jsonl is JSON; the uevents are the quoted strings of "guest_uevents".
        let Some(rest) = line.split("\"guest_uevents\": [").nth(1) else {
            continue;
        };
        let list = rest.split(']').next().unwrap();
        for item in list.split("\", \"") {
            let u = Uevent::parse_record(item.trim_matches('"')).unwrap();
            if let Some(e) = u.to_event(Some(0x8000000)) {
                events.push(e.to_string());
            }
        }
    }
    assert_eq!(
        events,
        [
            "memory-add:0x100000000-0x107ffffff",
            "memory-online:0x100000000-0x107ffffff",
            "memory-offline:0x100000000-0x107ffffff",
            "memory-online:0x100000000-0x107ffffff",
            "cpu-offline:3",
            "cpu-offline:1",
            "cpu-online:3",
        ]
    );
}

#[test]
fn atomic_file_update_replaces_or_leaves_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hdr.bin");
    std::fs::write(&path, crate::real::kernel_segment("00-boot")).unwrap();
    let s1 = crate::real::state("01-mem-hotadd-128M");
    let ev = Event::parse("memory-online:memory32", s1.memory_block_size).unwrap();
    let ch =
        elfcorehdr::file::update_file(&path, &s1, ev, elfcorehdr::LoadMode::KexecFile).unwrap();
    assert!(ch.changed());
    assert!(std::fs::read(&path).unwrap() == crate::real::kernel_segment("01-mem-hotadd-128M"));
    let before = std::fs::read(&path).unwrap();
    let e = elfcorehdr::file::update_file(
        &path,
        &s1,
        Event::CpuOnline(12),
        elfcorehdr::LoadMode::KexecFile,
    )
    .unwrap_err();
    assert_eq!(e.code(), "unknown-cpu");
    assert!(std::fs::read(&path).unwrap() == before);
    // No temporary file is left behind.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}
