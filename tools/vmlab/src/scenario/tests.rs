//! Unit tests of `scenario.rs`.

use super::*;

const OK: &str = r#"{ "name": "t", "steps": [
    { "name": "01-add", "do": ["mem-add dimm1 128M"] },
    { "name": "02-off", "do": ["mem-offline dimm1 0", "cpu-offline 3"] },
    { "name": "03-rm", "do": ["mem-remove dimm1"], "expect": "stale" } ],
    "crash": { "online_cpus": [0, 1, 2] } }"#;

#[test]
fn parses_steps_and_defaults() {
    let s = Scenario::parse(OK).unwrap();
    assert_eq!(s.machine.maxcpus, 4);
    assert_eq!(s.steps.len(), 3);
    assert_eq!(s.steps[2].expect, Expect::Stale);
    assert_eq!(s.steps[0].expect, Expect::InSync);
    assert_eq!(
        Action::parse(&s.steps[0].actions[0]).unwrap(),
        Action::MemAdd {
            id: "dimm1".into(),
            size: 128 << 20
        }
    );
    assert_eq!(Action::parse("cpu-online 2").unwrap(), Action::CpuOnline(2));
}

#[test]
fn typos_are_errors_not_dropped_steps() {
    let e = Scenario::parse(r#"{"name":"t","steps":[],"stesp":[]}"#).unwrap_err();
    assert!(format!("{e:#}").contains("unknown field"), "{e:#}");
    let e = Scenario::parse(r#"{"name":"t","steps":[{"name":"a","do":["mem-add x 100M"]}]}"#)
        .unwrap_err();
    assert!(format!("{e:#}").contains("128 MiB"), "{e:#}");
    let e = Scenario::parse(r#"{"name":"t","steps":[{"name":"a","do":["cpu-offline 0"]}]}"#)
        .unwrap_err();
    assert!(format!("{e:#}").contains("cpu0"), "{e:#}");
    let e = Scenario::parse(r#"{"name":"t","steps":[{"name":"a","do":["mem-remove d"]}]}"#)
        .unwrap_err();
    assert!(format!("{e:#}").contains("not plugged"), "{e:#}");
    let e = Action::parse("cpu-unplug 2").unwrap_err();
    assert!(format!("{e:#}").contains("unknown action"), "{e:#}");
    let e = Scenario::parse(r#"{"name":"t","steps":[{"name":"00-boot","do":["cpu-offline 1"]}]}"#)
        .unwrap_err();
    assert!(format!("{e:#}").contains("twice"), "{e:#}");
}

#[test]
fn the_repo_scenarios_parse() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "json") {
            Scenario::load(&p).unwrap();
            n += 1;
        }
    }
    assert!(
        n >= 2,
        "expected the scenario files under {}",
        dir.display()
    );
}

#[test]
fn kernel_package_and_cma_reservation() {
    let s = Scenario::parse(
        r#"{"name": "k", "kernel": {"package": "a,b", "apt_suite": "sid"},
            "machine": {"crashkernel": "192M", "crashkernel_cma": "64M"},
            "steps": [{"name": "01", "do": ["cpu-offline 1"]}]}"#,
    )
    .unwrap();
    let k = s.kernel.as_ref().unwrap();
    assert_eq!(
        (k.package.as_str(), k.apt_suite.as_deref()),
        ("a,b", Some("sid"))
    );
    assert!(
        s.kernel_append()
            .contains("crashkernel=192M crashkernel=64M,cma "),
        "{}",
        s.kernel_append()
    );
    let e = Scenario::parse(
        r#"{"name": "k", "kernel": {"pkg": "a"}, "steps": [{"name": "01", "do": ["cpu-offline 1"]}]}"#,
    )
    .unwrap_err();
    assert!(format!("{e:#}").contains("pkg"), "{e:#}");
}

#[test]
fn lab_crash_trigger_places_cpus() {
    let s = Scenario::parse(
        r#"{"name": "m", "machine": {"smp": 3, "maxcpus": 3, "coldplug_cores": []}, "steps": [],
            "crash": {"trigger": "lab-crash-bug", "crash_cpu": 0, "user_spin_cpus": [1],
                      "kernel_spin_cpus": [2]}}"#,
    )
    .unwrap();
    assert_eq!(s.crash.trigger, Trigger::LabCrashBug);
    assert_eq!(
        (
            s.crash.user_spin_cpus.as_slice(),
            s.crash.kernel_spin_cpus.as_slice()
        ),
        (&[1][..], &[2][..])
    );
    assert_eq!(Scenario::parse(OK).unwrap().crash.trigger, Trigger::Sysrq);
    for (bad, why) in [
        (
            r#""trigger": "lab-crash-bug", "user_spin_cpus": [3]"#,
            "does not exist",
        ),
        (
            r#""trigger": "lab-crash-bug", "crash_cpu": 1, "kernel_spin_cpus": [1]"#,
            "two jobs",
        ),
        (r#""user_spin_cpus": [1]"#, "lab-crash-bug trigger only"),
        (r#""trigger": "oops""#, "unknown variant"),
    ] {
        let e = Scenario::parse(&format!(
            r#"{{"name": "m", "machine": {{"smp": 3, "maxcpus": 3, "coldplug_cores": []}},
                "steps": [], "crash": {{{bad}}}}}"#
        ))
        .unwrap_err();
        assert!(format!("{e:#}").contains(why), "{bad}: {e:#}");
    }
}
