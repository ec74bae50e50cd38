//! Oracle tests on the kernel matrix (testdata/kernels, made by `vmlab run
//! scenarios/kernel-*.json` and frozen by scripts/vm-freeze.sh): Debian 12's Linux 6.1 (no
//! crash hotplug), Debian sid's 7.2 with `crashkernel=192M`, and the same 7.2 with
//! `crashkernel=192M crashkernel=64M,cma`. At every step the kernel's own header, read out of
//! guest RAM, must equal the engine's build from the procfs/sysfs root captured at that
//! instant (or differ where the scenario says the kernel's header is stale), and replaying the
//! step's uevents over the previous kernel header must give the kernel's new one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use elfcorehdr::live::Uevent;
use elfcorehdr::{
    Decision, KernelConfig, KernelProfile, LoadMode, NoOpReason, PhysRange, SystemState, Updater,
    build, verify,
};

fn dir(kernel: &str) -> PathBuf {
    real_data::kernels_root().join(kernel)
}

fn state(kernel: &str, step: &str) -> SystemState {
    SystemState::from_root(dir(kernel).join(format!("steps/root-{step}"))).unwrap()
}

fn kernel_bin(kernel: &str, step: &str) -> Vec<u8> {
    std::fs::read(dir(kernel).join(format!("steps/elfcorehdr-{step}.bin"))).unwrap()
}

/// Steps in order with their expectation (`in-sync` unless the scenario says `stale`).
fn steps(kernel: &str) -> Vec<(String, bool)> {
    let sc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir(kernel).join("scenario.json")).unwrap())
            .unwrap();
    let mut out = vec![("00-boot".to_string(), false)];
    for s in sc["steps"].as_array().unwrap() {
        let stale = s["expect"].as_str() == Some("stale");
        out.push((s["name"].as_str().unwrap().to_string(), stale));
    }
    out
}

/// `guest_uevents` of each step from history.jsonl.
fn uevents(kernel: &str) -> BTreeMap<String, Vec<Uevent>> {
    let text = std::fs::read_to_string(dir(kernel).join("history.jsonl")).unwrap();
    let mut by: BTreeMap<String, Vec<Uevent>> = BTreeMap::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        if v["kind"] != "action" {
            continue;
        }
        let list = by
            .entry(v["step"].as_str().unwrap().to_string())
            .or_default();
        for u in v["guest_uevents"].as_array().into_iter().flatten() {
            list.push(Uevent::parse_record(u.as_str().unwrap()).unwrap());
        }
    }
    by
}

/// Every step: fresh build vs the kernel's bytes, verify's verdict, and the replay of the
/// step's uevents. Returns the decisions taken, for per-kernel assertions.
fn check_matrix_kernel(kernel: &str, profile: KernelProfile) -> Vec<Decision> {
    let ev = uevents(kernel);
    let mut decisions = Vec::new();
    let mut prev: Option<(Vec<u8>, SystemState)> = None;
    for (step, stale) in steps(kernel) {
        let s = state(kernel, &step);
        assert_eq!(s.profile, profile, "{kernel} {step}: detected profile");
        let k = kernel_bin(kernel, &step);
        let cap = s.segment_capacity(&KernelConfig::DEBIAN_6_12);
        let fresh = build(&s, cap).unwrap();
        let diffs = verify::compare(&k, &s).unwrap();
        if stale {
            assert!(fresh[..k.len()] != k[..], "{kernel} {step}: expected stale");
            assert!(
                !diffs.is_empty(),
                "{kernel} {step}: verify sees no staleness"
            );
        } else {
            assert!(
                fresh[..k.len()] == k[..],
                "{kernel} {step}: build differs from the kernel's header"
            );
            assert!(fresh[k.len()..].iter().all(|&b| b == 0));
            assert!(diffs.is_empty(), "{kernel} {step}: {diffs:?}");
        }
        if let Some((pk, ps)) = &prev {
            let mut seg = pk.clone();
            seg.resize(cap.max(pk.len()), 0);
            let mut up = Updater::new(LoadMode::KexecFile);
            for u in ev.get(&step).into_iter().flatten() {
                let Some(e) = u.to_event(s.memory_block_size) else {
                    continue;
                };
                // An offline of a block the step then removed is judged with the state before
                // (the block was still System RAM when the kernel saw the event).
                let d = match up.update_in_place(&mut seg, &s, e) {
                    Ok(ch) => ch.decision,
                    Err(_) => up.update_in_place(&mut seg, ps, e).unwrap().decision,
                };
                decisions.push(d);
            }
            assert!(
                seg[..k.len()] == k[..],
                "{kernel} {step}: replay differs from the kernel's header"
            );
        }
        let mut seg = k;
        seg.resize(cap, 0);
        prev = Some((seg, s));
    }
    decisions
}

/// Linux 6.1: the header is one page, built once by kexec_file_load and never rewritten. The
/// profile predicts it: every memory and CPU event is a no-op, every step's kernel header is
/// the boot build, and after the DIMM is added verify reports RAM the dump would lack.
#[test]
fn linux_6_1_static_header() {
    let d = check_matrix_kernel("6.1", KernelProfile::LINUX_6_1);
    assert_eq!(d.len(), 3, "{d:?}");
    assert!(
        d.iter()
            .all(|d| *d == Decision::NoOp(NoOpReason::NoCrashHotplug))
    );
    let boot = state("6.1", "00-boot");
    assert!(boot.crash_elfcorehdr_size.is_none() && boot.crash_hotplug.memory.is_none());
    let cap = boot.segment_capacity(&KernelConfig::DEBIAN_6_12);
    assert_eq!(cap, 4096, "ALIGN(64 + 8 * 56, 4096)");
    let boot_build = build(&boot, cap).unwrap();
    for (step, _) in steps("6.1") {
        assert!(kernel_bin("6.1", &step) == boot_build, "{step}");
    }
    // What the engine did before it had profiles: the 6.12 MAXSMP segment.
    let as_612 = SystemState {
        profile: KernelProfile::LINUX_6_12,
        ..boot
    };
    assert_eq!(as_612.segment_capacity(&KernelConfig::DEBIAN_6_12), 917_680);
    let after = state("6.1", "01-mem-add");
    let diffs = verify::compare(&boot_build, &after).unwrap();
    assert_eq!(diffs.len(), 1, "{diffs:?}");
    assert_eq!(diffs[0].code, "VER006");
}

/// Linux 7.2 (crashkernel=192M): crash hotplug as in 6.12, byte for byte, at every step.
#[test]
fn linux_7_2_hotplug() {
    let d = check_matrix_kernel("7.2", KernelProfile::LINUX_7);
    assert!(d.contains(&Decision::Regenerate));
    let s = state("7.2", "00-boot");
    assert!(s.crash_cma_from_sysfs && s.crash_cma.is_empty());
    assert_eq!(s.os_release.as_deref(), Some("7.2.13+deb14-amd64"));
}

/// Linux 7.2 with crashkernel=64M,cma: the CMA range stays "System RAM" in /proc/iomem but the
/// kernel leaves it out of the header. The engine takes it from sysfs; without the exclusion
/// (the engine before profiles) the first RAM PT_LOAD is too large at every step; the same
/// range given by hand (`--cma-range`) builds the same bytes.
#[test]
fn linux_7_2_cma_ranges_are_excluded() {
    check_matrix_kernel("7.2-cma", KernelProfile::LINUX_7);
    let s = state("7.2-cma", "00-boot");
    let cma = PhysRange::from_inclusive(0x1a80_0000, 0x1e7f_ffff);
    assert_eq!(s.crash_cma, [cma]);
    assert!(s.system_ram.iter().any(|r| r.contains(cma.start.0)));
    let k = kernel_bin("7.2-cma", "00-boot");
    let cap = s.segment_capacity(&KernelConfig::DEBIAN_6_12);

    let ignoring = SystemState {
        profile: KernelProfile::LINUX_6_12,
        crash_cma: Vec::new(),
        ..s.clone()
    };
    assert!(build(&ignoring, cap).unwrap()[..k.len()] != k[..]);
    let codes: Vec<_> = verify::compare(&k, &ignoring)
        .unwrap()
        .into_iter()
        .map(|f| f.code)
        .collect();
    assert!(codes.contains(&"VER006"), "{codes:?}");

    let by_hand = SystemState {
        crash_cma_from_sysfs: false,
        crash_cma: elfcorehdr::parse_cma_ranges(Path::new("--cma-range"), "1a800000-1e7fffff")
            .unwrap(),
        ..s.clone()
    };
    assert!(build(&by_hand, cap).unwrap()[..k.len()] == k[..]);

    // A 6.12 profile cannot have CMA ranges: an error, not a silently different header.
    let contradictory = SystemState {
        profile: KernelProfile::LINUX_6_12,
        ..s
    };
    assert!(build(&contradictory, cap).is_err());
}

#[test]
fn cma_ranges_text_errors_name_the_line() {
    let p = Path::new("kexec_crash_cma_ranges");
    assert!(elfcorehdr::parse_cma_ranges(p, "").unwrap().is_empty());
    let two = elfcorehdr::parse_cma_ranges(p, "30000000-33ffffff\n1e000000-21ffffff\n").unwrap();
    assert_eq!(two[0].start.0, 0x1e00_0000);
    let e = elfcorehdr::parse_cma_ranges(p, "1e000000-21ffffff\nzz\n").unwrap_err();
    assert!(e.to_string().contains(":2"), "{e}");
    assert!(elfcorehdr::parse_cma_ranges(p, "2000-1000").is_err());
    assert!(elfcorehdr::parse_cma_ranges(p, "1000-2fff\n2000-3fff").is_err());
}

/// The two `crash_exclude_mem_range()` forms differ only when one exclusion partially
/// overlaps two ranges: before 6.8 the kernel trims the first and stops.
#[test]
fn pre_6_8_exclusion_stops_after_the_first_partial_overlap() {
    let start = vec![(0x10_0000, 0x1f_ffff), (0x30_0000, 0x3f_ffff)];
    let mut new = start.clone();
    elfcorehdr::crash_exclude_mem_range(&mut new, 4, 0x18_0000, 0x37_ffff).unwrap();
    assert_eq!(new, [(0x10_0000, 0x17_ffff), (0x38_0000, 0x3f_ffff)]);
    let mut old = start.clone();
    elfcorehdr::crash_exclude_mem_range_pre_6_8(&mut old, 4, 0x18_0000, 0x37_ffff).unwrap();
    assert_eq!(old, [(0x10_0000, 0x17_ffff), (0x30_0000, 0x3f_ffff)]);
    // A split goes right after the split range; a full cover is removed and the walk goes on.
    let mut old = start.clone();
    elfcorehdr::crash_exclude_mem_range_pre_6_8(&mut old, 4, 0x10_0000, 0x34_ffff).unwrap();
    assert_eq!(old, [(0x35_0000, 0x3f_ffff)]);
    let mut old = start;
    elfcorehdr::crash_exclude_mem_range_pre_6_8(&mut old, 3, 0x14_0000, 0x14_ffff).unwrap();
    assert_eq!(
        old,
        [
            (0x10_0000, 0x13_ffff),
            (0x15_0000, 0x1f_ffff),
            (0x30_0000, 0x3f_ffff)
        ]
    );
    let mut full = old.clone();
    assert!(
        elfcorehdr::crash_exclude_mem_range_pre_6_8(&mut full, 3, 0x31_0000, 0x31_ffff).is_err()
    );
    assert_eq!(full, old, "no change on -ENOMEM");
}

/// docs/KERNELS.md's kernel × feature table says, per column, which profile the data's boot
/// root gets, whether that kernel rewrites its header, the segment size and whether CMA ranges
/// are excluded: all four are read back from the data here, so the table cannot drift.
#[test]
fn docs_table_matches_the_profiles() {
    let doc = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/KERNELS.md"),
    )
    .unwrap();
    let table = doc
        .split("<!-- kernels-table")
        .nth(1)
        .and_then(|t| t.split("<!-- /kernels-table -->").next())
        .expect("docs/KERNELS.md has the kernels-table block");
    let rows: BTreeMap<String, Vec<String>> = table
        .lines()
        .filter(|l| l.starts_with('|') && !l.starts_with("|---"))
        .map(|l| {
            let cells: Vec<String> = l
                .trim_matches('|')
                .split('|')
                .map(|c| c.trim().to_string())
                .collect();
            (cells[0].clone(), cells[1..].to_vec())
        })
        .collect();
    let data = &rows["data"];
    assert_eq!(data.len(), 4);
    let yes = |s: &str| match s {
        "yes" => true,
        "no" => false,
        o => panic!("table cell {o:?}: yes or no"),
    };
    for (i, d) in data.iter().enumerate() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(d)
            .join("steps/root-00-boot");
        let s = SystemState::from_root(&root).unwrap();
        assert_eq!(s.profile.name, rows["profile"][i], "{d}");
        assert_eq!(
            s.profile.crash_hotplug,
            yes(&rows["crash hotplug (kernel rewrites the header)"][i]),
            "{d}"
        );
        assert_eq!(
            s.segment_capacity(&KernelConfig::DEBIAN_6_12).to_string(),
            rows["header segment, bytes"][i],
            "{d}"
        );
        assert_eq!(
            s.profile.cma_ranges,
            yes(&rows["CMA ranges excluded"][i]),
            "{d}"
        );
    }
}

/// A dump names its kernel in VMCOREINFO: the makedumpfile twins of the 6.1 and 7.2 runs
/// (their kdump header holds the VMCOREINFO text as is) give the profiles of their roots.
#[test]
fn dumps_name_their_profile_in_vmcoreinfo() {
    for (kernel, want) in [
        ("6.1", KernelProfile::LINUX_6_1),
        ("7.2", KernelProfile::LINUX_7),
    ] {
        let dump = std::fs::read(dir(kernel).join("kdump/makedumpfile-c-d31.kdump")).unwrap();
        let at = dump
            .windows(10)
            .position(|w| w == b"OSRELEASE=")
            .expect("VMCOREINFO in the kdump header");
        let text = String::from_utf8_lossy(&dump[at..(at + 64).min(dump.len())]);
        assert_eq!(
            KernelProfile::from_vmcoreinfo(&text),
            Some(want),
            "{kernel}: {text:?}"
        );
        assert_eq!(state(kernel, "00-boot").profile, want);
    }
    assert_eq!(KernelProfile::from_vmcoreinfo("PAGESIZE=4096\n"), None);
}
