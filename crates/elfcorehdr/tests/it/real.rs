//! Oracle tests against a real Linux 6.12 guest (testdata/real, see its MANIFEST.md): the kernel's
//! own elfcorehdr bytes at every hotplug step, next to the procfs/sysfs root captured at that
//! instant.

use std::path::PathBuf;

use elfcorehdr::{
    Decision, Elfcorehdr, Event, KernelConfig, LoadMode, NoOpReason, SystemState, Updater, build,
    kernel_buffer_len,
};

pub use real_data::STEPS;

pub fn real_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/real/steps")
}

pub fn state(step: &str) -> SystemState {
    SystemState::from_root(real_dir().join(format!("root-{step}"))).unwrap()
}

pub fn kernel_bin(step: &str) -> Vec<u8> {
    std::fs::read(real_dir().join(format!("elfcorehdr-{step}.bin"))).unwrap()
}

pub fn kernel_segment(step: &str) -> Vec<u8> {
    let f =
        std::fs::File::open(real_dir().join(format!("elfcorehdr-{step}.segment.bin.zst"))).unwrap();
    zstd::decode_all(f).unwrap()
}

#[test]
fn state_matches_the_captured_files() {
    let s = state("00-boot");
    assert_eq!(s.cpus.len(), 4);
    assert_eq!(s.cpus[0].crash_notes.0, 0x1e43d800);
    assert_eq!(s.cpus[3].crash_notes.0, 0x1e5bd800);
    assert!(
        s.cpus
            .iter()
            .all(|c| c.crash_notes_size == 368 && c.present && c.online)
    );
    assert_eq!(
        (s.vmcoreinfo.addr.0, s.vmcoreinfo.size),
        (0x1940000, 0x1024)
    );
    assert_eq!(s.system_ram.len(), 2);
    assert_eq!(s.system_ram[1].to_string(), "0x100000-0x1ffccfff");
    assert_eq!(s.crash_kernel.unwrap().to_string(), "0xd000000-0x18ffffff");
    assert_eq!(s.crash_kernel_low, None);
    assert_eq!(s.kernel_text.vaddr.0, 0xffffffff88a00000);
    assert_eq!(s.kernel_text.paddr.0, 0x19a00000);
    assert_eq!(s.kernel_text.size, 0x2c30000);
    assert_eq!(s.page_offset_base.0, 0xffff88bf40000000);
    assert_eq!(s.crash_elfcorehdr_size, Some(917616));
    assert_eq!(s.crash_hotplug.cpu, Some(true));
    assert_eq!(s.crash_hotplug.memory, Some(true));
    assert_eq!(s.memory_block_size, Some(0x8000000));
    assert_eq!(s.memory_blocks.len(), 4);

    let s5 = state("05-cpu1-offline");
    let online: Vec<u32> = s5.cpus.iter().filter(|c| c.online).map(|c| c.id).collect();
    assert_eq!(online, [0, 2]);
    let s2 = state("02-mem-block-offline");
    assert_eq!(
        s2.memory_block(32).unwrap().state,
        elfcorehdr::BlockState::Offline
    );
}

#[test]
fn capacity_is_what_the_kernel_reserved() {
    let s = state("00-boot");
    assert_eq!(KernelConfig::DEBIAN_6_12.segment_capacity(2, 0), 917_680);
    assert_eq!(
        KernelConfig::DEBIAN_6_12.sysfs_elfcorehdr_size() as u64,
        s.crash_elfcorehdr_size.unwrap()
    );
    assert_eq!(s.segment_capacity(&KernelConfig::DEBIAN_6_12), 917_680);
    let smp64 = KernelConfig {
        nr_cpus_default: 64,
        ..KernelConfig::DEBIAN_6_12
    };
    assert_eq!(smp64.segment_capacity(2, 0), 462_512);
    let no_memhp = KernelConfig {
        memory_hotplug: false,
        ..KernelConfig::DEBIAN_6_12
    };
    assert_eq!(no_memhp.segment_capacity(3, 0), (3 + 2 + 8192) * 56 + 64);
}

/// build(state) equals the kernel's bytes at every step: the used header, the kernel's
/// page-aligned buffer, and the whole reserved segment with its zero padding.
#[test]
fn build_equals_kernel_bytes_at_every_step() {
    for step in STEPS {
        let s = state(step);
        let bin = kernel_bin(step);
        let seg = kernel_segment(step);
        assert_eq!(seg.len(), 917_680, "{step}");
        let cap = s.segment_capacity(&KernelConfig::DEBIAN_6_12);
        let ours = build(&s, cap).unwrap();
        assert_eq!(&ours[..bin.len()], &bin[..], "{step}: header bytes differ");
        assert!(ours == seg, "{step}: whole segment differs");
        let bare = build(&s, kernel_buffer_len(&s).unwrap()).unwrap();
        assert_eq!(bare.len(), 4096);
        assert_eq!(&bare[..], &seg[..4096], "{step}");
    }
}

/// The readelf oracle: every phdr line of `readelf -l -W` matches our parse of the kernel bytes.
#[test]
fn parse_agrees_with_readelf() {
    for step in STEPS {
        let text = std::fs::read_to_string(
            real_dir().join(format!("../oracles/elfcorehdr-{step}.readelf.txt")),
        )
        .unwrap();
        let h = Elfcorehdr::parse(&kernel_segment(step)).unwrap();
        assert!(h.findings.is_empty(), "{step}: {:?}", h.findings);
        let n: usize = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("Number of program headers:"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert_eq!(n, usize::from(h.phnum()), "{step}");
        let rows: Vec<Vec<u64>> = text
            .lines()
            .map(str::trim)
            .filter(|l| l.starts_with("NOTE ") || l.starts_with("LOAD "))
            .map(|l| {
                l.split_whitespace()
                    .skip(1)
                    .take(5)
                    .map(|v| u64::from_str_radix(v.trim_start_matches("0x"), 16).unwrap())
                    .collect()
            })
            .collect();
        assert_eq!(rows.len(), h.phdrs.len(), "{step}");
        for (row, p) in rows.iter().zip(&h.phdrs) {
            assert_eq!(
                row,
                &[p.p_offset, p.p_vaddr, p.p_paddr, p.p_filesz, p.p_memsz],
                "{step}"
            );
        }
        assert_eq!(h.cpu_notes.len(), 4);
        assert_eq!(h.vmcoreinfo.unwrap().size, 0x1024);
        assert_eq!(h.kernel_text.unwrap().vaddr.0, 0xffffffff88a00000);
        assert_eq!(h.page_offset_base.unwrap().0, 0xffff88bf40000000);
        assert_eq!(h.used_len, kernel_bin(step).len());
    }
}

/// Replays the recorded hotplug history with update_in_place, starting from the kernel's step-00
/// segment and the state captured after each action; every step ends byte-identical to the
/// kernel's segment. The decisions match what the kernel logged ("hp_action 3/4 … updated
/// elfcorehdr" for memory, no update for CPUs).
#[test]
fn replaying_the_history_reaches_every_kernel_header() {
    let events = [
        (
            "01-mem-hotadd-128M",
            "memory-online:0x100000000-0x107ffffff",
        ),
        ("02-mem-block-offline", "memory-offline:memory32"),
        ("03-mem-block-online", "memory-online:memory32"),
        ("04-cpu3-offline", "cpu-offline:3"),
        ("05-cpu1-offline", "cpu-offline:1"),
        ("06-cpu3-online", "cpu-online:3"),
    ];
    let mut seg = kernel_segment("00-boot");
    let mut up = Updater::new(LoadMode::KexecFile);
    for (step, ev) in events {
        let s = state(step);
        let event = Event::parse(ev, s.memory_block_size).unwrap();
        let ch = up.update_in_place(&mut seg, &s, event).unwrap().clone();
        match step {
            "01-mem-hotadd-128M" => {
                assert_eq!(ch.decision, Decision::Regenerate);
                assert_eq!((ch.phnum_before, ch.phnum_after), (8, 9));
                assert_eq!(ch.changed_phdrs, [8], "only the new last PT_LOAD differs");
                assert!(ch.ehdr_changed);
            }
            "02-mem-block-offline" | "03-mem-block-online" => {
                // The kernel regenerates but the bytes come out identical: an offline block
                // stays a System RAM resource.
                assert_eq!(ch.decision, Decision::Regenerate);
                assert!(!ch.changed(), "{step}: {ch:?}");
            }
            _ => {
                assert_eq!(
                    ch.decision,
                    Decision::NoOp(NoOpReason::AllPossibleCpusDescribed)
                );
                assert_eq!(ch.bytes_written, 0);
            }
        }
        assert!(
            seg == kernel_segment(step),
            "{step}: segment differs from the kernel's"
        );
    }
}

/// A CPU event on a kexec_load image whose header the kernel has not rewritten yet regenerates
/// (the x86 shortcut needs file_mode or elfcorehdr_updated); afterwards CPU events are no-ops.
#[test]
fn kexec_load_cpu_event_regenerates_once() {
    let s = state("00-boot");
    let mut seg = kernel_segment("00-boot");
    seg[100] ^= 0xff; // pretend kexec-tools wrote something different
    let mut up = Updater::new(LoadMode::KexecLoad { updated: false });
    let ch = up
        .update_in_place(&mut seg, &s, Event::CpuOffline(3))
        .unwrap()
        .clone();
    assert_eq!(ch.decision, Decision::Regenerate);
    assert_eq!(ch.changed_phdrs, [0]);
    assert_eq!(up.mode(), LoadMode::KexecLoad { updated: true });
    let ch = up
        .update_in_place(&mut seg, &s, Event::CpuOnline(3))
        .unwrap();
    assert_eq!(
        ch.decision,
        Decision::NoOp(NoOpReason::AllPossibleCpusDescribed)
    );
    assert!(seg == build(&s, 917_680).unwrap());
}

#[test]
fn verify_finds_the_stale_header_when_the_update_is_missed() {
    // The kernel's header from before the DIMM came online, against the state after it: the
    // new range is missing (what a dropped kexec_trylock event leaves behind).
    let stale = kernel_segment("00-boot");
    let after = state("01-mem-hotadd-128M");
    let diffs = elfcorehdr::verify::compare(&stale, &after).unwrap();
    assert_eq!(diffs.len(), 1, "{diffs:?}");
    assert_eq!(diffs[0].code, "VER006");
    assert!(
        diffs[0].message.contains("0x100000000-0x107ffffff"),
        "{}",
        diffs[0].message
    );
    // And every kernel header verifies clean against its own step.
    for step in STEPS {
        let d = elfcorehdr::verify::compare(&kernel_segment(step), &state(step)).unwrap();
        assert!(d.is_empty(), "{step}: {d:?}");
    }
}

#[test]
fn refresh_from_root_equals_a_full_read_at_every_step() {
    // `watch` reads the state once, then refreshes only what hotplug changes per event.
    let boot = state("00-boot");
    for step in STEPS {
        let root = real_dir().join(format!("root-{step}"));
        let refreshed = boot.refresh_from_root(&root).unwrap();
        assert_eq!(refreshed, SystemState::from_root(&root).unwrap(), "{step}");
    }
}
