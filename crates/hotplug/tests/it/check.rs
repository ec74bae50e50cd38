//! The checker as a library ([`hotplug::check`]): loaded once, run per dump, on the real
//! scenario; and the errors that name what could not be loaded.

use hotplug::check::{
    CheckContext, CheckKind, CheckOptions, CheckStatus, CpuHistory, Skipped, Summary,
};
use hotplug::{BlockStatus, Until};
use kdump_types::Severity;

use crate::real::real;

fn scenario(state: bool) -> CheckOptions {
    CheckOptions {
        histories: vec![real("steps/root-00-boot"), real("history.jsonl")],
        state: state.then(|| real("steps/root-06-cpu3-online")),
        ..CheckOptions::default()
    }
}

#[test]
fn the_kdump_kernels_dump_passes_every_check_it_runs() {
    let ctx = CheckContext::load(&scenario(true)).unwrap();
    let dump = vmcore::Dump::open(real("kdump/proc-vmcore.elf")).unwrap();
    let r = ctx.check_dump(&dump);
    assert!(r.error.is_none(), "{:?}", r.error);
    assert_eq!(r.kind, "kernel");
    let kinds: Vec<CheckKind> = r.checks.iter().map(|c| c.kind).collect();
    assert_eq!(
        kinds,
        [CheckKind::Structure, CheckKind::History, CheckKind::Deep]
    );
    assert_eq!(r.checks[1].status(Severity::Warning), CheckStatus::Passed);
    assert_eq!(r.checks[2].skipped, Some(Skipped::NoDeep));
    let Some(Summary::History {
        at,
        online_cpus,
        events,
        events_applied,
        ..
    }) = &r.checks[1].summary
    else {
        panic!("{:?}", r.checks[1].summary);
    };
    assert_eq!(*at, Until::Crash);
    assert_eq!(online_cpus, &[0, 2, 3]);
    assert_eq!(events_applied, events);
    assert!(r.findings().all(|f| f.severity < Severity::Warning));
}

#[test]
fn side_by_side_names_each_cpu_and_block() {
    let ctx = CheckContext::load(&scenario(true)).unwrap();
    let dump = vmcore::Dump::open(real("kdump/proc-vmcore.elf")).unwrap();
    let d = ctx.history_check(&dump).unwrap().expect("a history");
    let s = d.side_by_side();
    let cpus: Vec<(Option<u32>, Option<CpuHistory>, bool)> = s
        .cpus
        .iter()
        .map(|r| (r.cpu, r.history, r.note.is_some()))
        .collect();
    assert_eq!(
        cpus,
        [
            (Some(0), Some(CpuHistory::Online), true),
            (Some(1), Some(CpuHistory::Offline), false),
            (Some(2), Some(CpuHistory::Online), true),
            (Some(3), Some(CpuHistory::Online), true),
        ]
    );
    // The DIMM's block (memory32 at 4 GiB) is online and dumped whole.
    let dimm = s.blocks.iter().find(|b| b.block == 32).expect("memory32");
    assert_eq!(dimm.history, BlockStatus::Online);
    assert_eq!(dimm.dumped_bytes, Some(128 << 20));
    assert!(s.unknown_ranges.is_empty(), "{:?}", s.unknown_ranges);
}

#[test]
fn without_a_start_the_check_is_inconclusive_not_passed() {
    let ctx = CheckContext::load(&CheckOptions {
        histories: vec![real("history.jsonl")],
        ..CheckOptions::default()
    })
    .unwrap();
    let dump = vmcore::Dump::open(real("kdump/proc-vmcore.elf")).unwrap();
    let r = ctx.check_dump(&dump);
    assert_eq!(
        r.checks[1].status(Severity::Warning),
        CheckStatus::Inconclusive
    );
    // No history at all: skipped.
    let r = CheckContext::load(&CheckOptions::default())
        .unwrap()
        .check_dump(&dump);
    assert_eq!(r.checks[1].status(Severity::Warning), CheckStatus::Skipped);
}

#[test]
fn load_errors_name_what_could_not_be_loaded() {
    let chain = |o: CheckOptions| {
        let e = CheckContext::load(&o).unwrap_err();
        let mut s = e.to_string();
        let mut src = std::error::Error::source(&e);
        while let Some(x) = src {
            s.push_str(&format!(": {x}"));
            src = x.source();
        }
        s
    };
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.jsonl");
    let e = chain(CheckOptions {
        histories: vec![missing.clone()],
        ..CheckOptions::default()
    });
    assert!(
        e.starts_with(&format!("history: cannot read {}: ", missing.display())),
        "{e}"
    );
    let e = chain(CheckOptions {
        at: Until::Step("99-nowhere".into()),
        ..scenario(false)
    });
    assert!(e.contains("no such point in the history"), "{e}");
    let e = chain(CheckOptions {
        state: Some(dir.path().to_path_buf()),
        ..scenario(false)
    });
    assert!(
        e.starts_with(&format!("cannot read state {}", dir.path().display())),
        "{e}"
    );
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(
        &bad,
        "{\"format\":\"vmcore-hotplug-history\",\"version\":1}\n{\"event\":\"nonsense\"}\n",
    )
    .unwrap();
    let e = chain(CheckOptions {
        histories: vec![bad.clone()],
        ..CheckOptions::default()
    });
    assert!(
        e.starts_with(&format!("history {}: ", bad.display())),
        "{e}"
    );
    // --lenient: the line becomes HP014 and the check goes on.
    let ctx = CheckContext::load(&CheckOptions {
        histories: vec![bad],
        lenient: true,
        ..CheckOptions::default()
    })
    .unwrap();
    let hdr = vmcore::Dump::open(real("steps/elfcorehdr-06-cpu3-online.bin")).unwrap();
    let r = ctx.check_dump(&hdr);
    assert!(r.findings().any(|f| f.code == "HP014"), "{:?}", r.checks);
    assert_eq!(r.checks[2].skipped, Some(Skipped::NoMemory));
}
