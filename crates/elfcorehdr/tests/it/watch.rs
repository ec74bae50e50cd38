//! The watcher and the uevent parser as a library, on the real 6.12 scenario: a header file
//! kept up to date from the recorded uevents ends as the kernel's own final header.

use std::path::PathBuf;

use elfcorehdr::uevent::{Action, Device, DeviceChange, Uevent, replay_uevents};
use elfcorehdr::watch::{StateOverrides, WatchMode, WatchResult, Watcher};
use elfcorehdr::{Decision, Elfcorehdr, PhdrRole, build};

use crate::real::{kernel_bin, real_dir, state};

fn history() -> PathBuf {
    real_dir().join("../history.jsonl")
}

#[test]
fn a_target_kept_up_to_date_from_the_recorded_uevents_ends_as_the_kernels_header() {
    let dir = tempfile::tempdir().unwrap();
    let hdr = dir.path().join("hdr.bin");
    std::fs::write(&hdr, build(&state("00-boot"), 917_680).unwrap()).unwrap();
    let root = real_dir().join("root-06-cpu3-online");
    let mut w = Watcher::new(
        &root,
        WatchMode::Target(hdr.clone()),
        StateOverrides::default(),
    )
    .unwrap();
    assert!(w.missing_state().is_none());
    let mut handled = Vec::new();
    for u in replay_uevents(&history()).unwrap() {
        if let Some(h) = w.handle(&u).unwrap() {
            handled.push(h);
        }
    }
    // 7 cpu/memory uevents; the first memory add is a no-op, its online regenerates.
    assert_eq!(handled.len(), 7);
    assert_eq!(
        handled[0].event.to_string(),
        "memory-add:0x100000000-0x107ffffff"
    );
    assert!(matches!(handled[0].decision, Decision::NoOp(_)));
    assert_eq!(handled[1].decision, Decision::Regenerate);
    assert!(
        matches!(&handled[1].result, WatchResult::Updated(ch) if ch.phnum_before == 8 && ch.phnum_after == 9),
        "{:?}",
        handled[1].result
    );
    assert!(handled[1].result.to_string().contains("e_phnum 8 -> 9"));
    assert_eq!((w.failed(), w.stale_seen()), (0, false));
    let seg = std::fs::read(&hdr).unwrap();
    let kernel = kernel_bin("06-cpu3-online");
    assert_eq!(&seg[..kernel.len()], &kernel[..]);
}

#[test]
fn a_replay_without_state_skips_memory_events_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = Watcher::new(dir.path(), WatchMode::Replay, StateOverrides::default()).unwrap();
    assert!(w.missing_state().is_some());
    let mut events = Vec::new();
    for u in replay_uevents(&history()).unwrap() {
        if let Some(h) = w.handle(&u).unwrap() {
            assert!(
                h.result.to_string().starts_with("kernel would "),
                "{}",
                h.result
            );
            events.push(h.event.to_string());
        }
    }
    // Only the CPU events: memoryN needs the block size from the state.
    assert_eq!(
        events,
        ["cpu-offline:3", "cpu-offline:1", "cpu-online:3"],
        "{events:?}"
    );
    // Any other mode needs the state.
    let e = Watcher::new(
        dir.path(),
        WatchMode::Live { on_stale: None },
        StateOverrides::default(),
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("cannot read the machine state under"),
        "{e}"
    );
}

#[test]
fn one_parser_says_what_is_wrong_with_a_record_and_one_mapping_names_the_device() {
    let u = Uevent::read_record("782 add /devices/system/memory/memory32 memory 8.07").unwrap();
    assert_eq!((u.seqnum, u.uptime_us), (Some(782), Some(8_070_000)));
    assert_eq!(
        u.change(),
        Ok(Some(DeviceChange {
            action: Action::Add,
            device: Device::MemoryBlock(32),
        }))
    );
    for (line, why) in [
        (
            "782 add /devices/system/cpu/cpu1",
            "expected SEQNUM ACTION DEVPATH SUBSYSTEM [UPTIME]",
        ),
        (
            "x add /devices/system/cpu/cpu1 cpu",
            "SEQNUM is not a decimal number",
        ),
        (
            "1 add devices/system/cpu/cpu1 cpu",
            "DEVPATH does not start with '/'",
        ),
        (
            "1 add /devices/system/cpu/cpu1 cpu soon",
            "UPTIME is not decimal seconds",
        ),
    ] {
        assert_eq!(Uevent::read_record(line), Err(why), "{line}");
    }
    let bad = Uevent::read_record("1 online /devices/system/cpu/cpuX cpu").unwrap();
    assert_eq!(bad.change(), Err("cpuN: N is not a number"));
    assert_eq!(bad.to_event(None), None);
    let other = Uevent::read_record("2 change /devices/system/cpu/cpu1 cpu").unwrap();
    assert_eq!(other.change(), Ok(None));
}

#[test]
fn a_bad_replay_line_names_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("uevents.txt");
    std::fs::write(
        &f,
        "# recorded\n782 add /devices/system/memory/memory32 memory 8.07\nnot a record\n",
    )
    .unwrap();
    let e = replay_uevents(&f).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}:3: expected `SEQNUM ACTION DEVPATH SUBSYSTEM uptime`",
            f.display()
        )
    );
}

#[test]
fn phdr_roles_of_the_kernels_header() {
    let h = Elfcorehdr::parse(&kernel_bin("01-mem-hotadd-128M")).unwrap();
    let roles: Vec<String> = (0..h.phdrs.len()).map(|i| h.role(i).to_string()).collect();
    assert_eq!(
        roles,
        [
            "cpu-note 0",
            "cpu-note 1",
            "cpu-note 2",
            "cpu-note 3",
            "vmcoreinfo",
            "kernel-text",
            "ram",
            "ram",
            "ram"
        ]
    );
    assert!(matches!(h.role(8), PhdrRole::Ram(r) if r.start.0 == 0x1_0000_0000));
    assert_eq!(h.role(9), PhdrRole::Other);
}
