//! Every view of the real dump rendered at 80×24 and 160×48, snapshotted with insta.

use insta::assert_snapshot;
use vmcore::{PhysAddr, PhysRange};
use vmcore_tui::integrations::HistoryOverlay;
use vmcore_tui::{Action, App, Target, View, update};

use crate::{real_app, render};

const SIZES: [(u16, u16); 2] = [(80, 24), (160, 48)];

fn name(v: View) -> &'static str {
    match v {
        View::Overview => "overview",
        View::Cpus => "cpus",
        View::Tasks => "tasks",
        View::Memory => "memory",
        View::Hex => "hex",
        View::Vmcoreinfo => "vmcoreinfo",
        View::KernelLog => "klog",
        View::Findings => "findings",
    }
}

#[test]
fn every_view_at_two_sizes() {
    for (w, h) in SIZES {
        // A fresh app per size, so list offsets from one size do not leak into the other.
        let mut app = real_app();
        for v in View::ALL {
            update(&mut app, Action::ShowView(v));
            assert_snapshot!(format!("{}_{w}x{h}", name(v)), render(&app, w, h));
        }
    }
}

#[test]
fn cpu_detail() {
    for (w, h) in SIZES {
        let mut app = real_app();
        update(&mut app, Action::SelectCpu(0));
        update(&mut app, Action::Open);
        assert_snapshot!(format!("cpu_detail_{w}x{h}"), render(&app, w, h));
    }
}

#[test]
fn help_overlay() {
    for (w, h) in SIZES {
        let mut app = real_app();
        update(&mut app, Action::ToggleHelp);
        assert_snapshot!(format!("help_{w}x{h}"), render(&app, w, h));
    }
}

#[test]
fn hex_virtual_goto_and_unreadable_bytes() {
    let mut app = real_app();
    let uts = app
        .dump
        .vmcoreinfo()
        .and_then(|v| v.symbol("init_uts_ns"))
        .expect("SYMBOL(init_uts_ns)");
    update(&mut app, Action::Goto(Target::Virt(vmcore::VirtAddr(uts))));
    assert_snapshot!("hex_virtual_init_uts_ns_160x48", render(&app, 160, 48));
    // The end of the first RAM range: readable rows, then `??` rows and the reason.
    let first = app
        .dump
        .memory()
        .ram()
        .next()
        .map(|r| r.phys.end.0)
        .expect("a RAM range");
    update(&mut app, Action::Goto(Target::Phys(PhysAddr(first - 0x40))));
    assert_snapshot!("hex_unreadable_80x24", render(&app, 80, 24));
}

#[test]
fn memory_with_history_overlay() {
    let mut app: App = real_app();
    // The 128 MiB DIMM the sample guest hot-added (testdata/real/history.jsonl) is at 4 GiB.
    app.set_history(HistoryOverlay {
        name: "history.jsonl".into(),
        events: 1,
        hotplugged: vec![PhysRange::new(0x1_0000_0000, 0x1_0800_0000)],
        findings: Vec::new(),
    });
    update(&mut app, Action::ShowView(View::Memory));
    assert_snapshot!("memory_history_160x48", render(&app, 160, 48));
}

#[test]
fn real_history_marks_the_hot_added_dimm_and_diffs_clean() {
    let dump = vmcore::Dump::open(real_data::path("kdump/proc-vmcore.elf").unwrap()).unwrap();
    let h =
        vmcore_tui::integrations::load_history(&real_data::path("history.jsonl").unwrap(), &dump)
            .unwrap();
    assert_eq!(h.name, "history.jsonl");
    assert!(h.events >= 6, "{}", h.events);
    assert_eq!(
        h.hotplugged,
        vec![vmcore::PhysRange::new(0x1_0000_0000, 0x1_0800_0000)]
    );
    // The uevents alone name neither every CPU nor the block size, and no note is attributed
    // to a CPU: nothing was compared, which is a warning (HP016), as in `vmcore check`.
    let warnings: Vec<&str> = h
        .findings
        .iter()
        .filter(|f| f.severity >= vmcore::Severity::Warning)
        .map(|f| f.code)
        .collect();
    assert_eq!(warnings, ["HP016"], "{:?}", h.findings);
    assert!(h.findings.iter().any(|f| f.code == "HP015"));
    // The snapshot at boot, then the events, with the CPUs named by the crash step's state:
    // the dump matches the history.
    let h = vmcore_tui::integrations::load_histories(
        &[
            real_data::path("steps/root-00-boot").unwrap(),
            real_data::path("history.jsonl").unwrap(),
        ],
        &vmcore_tui::integrations::CpuNaming {
            state: Some(real_data::path("steps/root-06-cpu3-online").unwrap()),
            elfcorehdr: None,
        },
        &dump,
    )
    .unwrap();
    assert_eq!(h.name, "root-00-boot + history.jsonl");
    assert!(
        h.findings
            .iter()
            .all(|f| f.severity < vmcore::Severity::Warning),
        "{:?}",
        h.findings
    );
}

#[test]
fn memory_of_a_d31_kdump_shows_the_excluded_pages() {
    // makedumpfile -c -d 31 excluded 79987 of the 114381 RAM pages (70 %).
    let path = real_data::path("kdump/makedumpfile-c-d31.kdump").unwrap();
    let mut app = App::open(&path).unwrap();
    vmcore_tui::jobs::run_pending(&mut app);
    update(&mut app, Action::ShowView(View::Memory));
    let screen = render(&app, 120, 30);
    assert!(screen.contains("▒"), "excluded cells: {screen}");
    assert!(screen.contains("% excluded"), "{screen}");
    assert!(!screen.contains("no file data"), "{screen}");
    assert_snapshot!("memory_kdump_d31_120x30", screen);
}
