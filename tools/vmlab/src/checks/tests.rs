//! Unit tests of `checks.rs`.

use super::*;

fn real() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/real")
}

#[test]
fn the_frozen_real_run_passes_every_step() {
    let mut lines = Vec::new();
    let n = check_run(&real(), &BTreeMap::new(), Break::None, |l| {
        lines.push(l.to_string())
    })
    .unwrap();
    // 7 fresh builds + 6 replays.
    assert_eq!(n, 13, "{lines:#?}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("step 01-mem-hotadd-128M: engine replay of 2 event(s)")),
        "{lines:#?}"
    );
}

#[test]
fn a_swapped_phdr_order_fails_naming_step_and_byte() {
    let e = check_run(&real(), &BTreeMap::new(), Break::SwapPhdrs, |_| {}).unwrap_err();
    let m = format!("{e:#}");
    assert!(m.contains("step 00-boot"), "{m}");
    // e_phnum 8 at boot: 4 CPU notes, VMCOREINFO, kernel text, then the two RAM ranges
    // phdr[6] and phdr[7] swapped: p_type and p_flags agree, so the first differing byte is
    // phdr[6].p_offset at 64 + 6*56 + 8 = 0x198, and its low two bytes agree
    // (0x100000 vs 0x19000000): byte 0x19a.
    assert!(m.contains("offset 0x19a"), "{m}");
    assert!(m.contains("phdr[6].p_offset"), "{m}");
}

#[test]
fn a_missing_exclusion_fails_naming_step_and_byte() {
    let e = check_run(
        &real(),
        &BTreeMap::new(),
        Break::NoCrashkernelExclusion,
        |_| {},
    )
    .unwrap_err();
    let m = format!("{e:#}");
    assert!(m.contains("step 00-boot"), "{m}");
    // Without the exclusion the two RAM ranges around "Crash kernel" are one: one phdr fewer.
    assert!(
        m.contains("offset 0x38 (56): ELF header e_phnum: kernel 0x8, engine 0x7"),
        "{m}"
    );
}

#[test]
fn stale_expectation_on_an_in_sync_step_fails() {
    let mut ex = BTreeMap::new();
    ex.insert("02-mem-block-offline".to_string(), Expect::Stale);
    let e = check_run(&real(), &ex, Break::None, |_| {}).unwrap_err();
    assert!(format!("{e:#}").contains("step 02-mem-block-offline: the scenario expects a stale"));
}

/// The kernel matrix runs (testdata/kernels, see docs/KERNELS.md) recheck clean with their
/// scenarios' expectations: 6.1's static header (stale after the DIMM add, every event a
/// no-op), 7.2, and 7.2 with a CMA crash range.
#[test]
fn the_frozen_kernel_matrix_runs_pass_every_step() {
    for (kernel, checks) in [("6.1", 5), ("7.2", 13), ("7.2-cma", 13)] {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../testdata/kernels")
            .join(kernel);
        let sc = crate::scenario::Scenario::load(&dir.join("scenario.json")).unwrap();
        let expects = sc
            .steps
            .iter()
            .map(|s| (s.name.clone(), s.expect))
            .collect();
        let mut lines = Vec::new();
        let n = check_run(&dir, &expects, Break::None, |l| lines.push(l.to_string()))
            .unwrap_or_else(|e| panic!("{kernel}: {e:#}"));
        assert_eq!(n, checks, "{kernel}: {lines:#?}");
        if kernel == "6.1" {
            assert!(
                lines.iter().any(|l| l.contains("NoOp(NoCrashHotplug)")),
                "{lines:#?}"
            );
        }
    }
}

/// Dropping the crash kernel exclusion breaks every kernel of the matrix, at the boot step.
#[test]
fn a_missing_exclusion_fails_on_every_matrix_kernel() {
    for kernel in ["6.1", "7.2", "7.2-cma"] {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../testdata/kernels")
            .join(kernel);
        let e = check_run(
            &dir,
            &BTreeMap::new(),
            Break::NoCrashkernelExclusion,
            |_| {},
        )
        .unwrap_err();
        assert!(format!("{e:#}").contains("step 00-boot"), "{kernel}: {e:#}");
    }
}
