//! The real scenario (testdata/real: Linux 6.12 guest under QEMU, 7 hotplug steps, then a
//! crash into kdump): every header and dump diffs clean against the history replayed to its
//! own step, and against any other step names exactly what changed in between.

use std::collections::BTreeSet;
use std::path::PathBuf;

use hotplug::{
    BufferContent, DumpContent, History, NoteLocator, Subject, Topology, Until, diff, identify,
    import, replay,
};
use kdump_types::{PhysRange, Severity};

pub use real_data::STEPS;

pub fn real(rel: &str) -> PathBuf {
    let dir = real_data::root().join(rel);
    if dir.is_dir() {
        return dir;
    }
    real_data::path(rel).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// The boot snapshot as the start, then the lab run log's uevents.
pub fn scenario_history() -> History {
    let mut h = import::import_path(&real("steps/root-00-boot"))
        .unwrap()
        .strict()
        .unwrap();
    h.append(
        import::import_path(&real("history.jsonl"))
            .unwrap()
            .strict()
            .unwrap(),
    );
    h
}

fn at(h: &History, step: &str) -> Topology {
    replay(h, &Until::Step(step.into())).unwrap()
}

fn problems(fs: &[hotplug::HotplugFinding]) -> Vec<(&'static str, Subject)> {
    fs.iter()
        .filter(|f| f.finding.severity >= Severity::Warning)
        .map(|f| (f.finding.code, f.subject))
        .collect()
}

const DIMM: PhysRange = PhysRange {
    start: kdump_types::PhysAddr(0x1_0000_0000),
    end: kdump_types::PhysAddr(0x1_0800_0000),
};

#[test]
fn replay_matches_every_sysfs_snapshot() {
    let h = scenario_history();
    assert_eq!(
        h.marks.iter().map(|m| m.name.as_str()).collect::<Vec<_>>()[..7],
        STEPS
    );
    for step in STEPS {
        let replayed = at(&h, step);
        let snap = import::sysfs::topology(&real(&format!("steps/root-{step}"))).unwrap();
        assert_eq!(replayed.online_cpus(), snap.online_cpus(), "{step}");
        assert_eq!(replayed.online_ranges(), snap.online_ranges(), "{step}");
        assert_eq!(
            replayed.blocks(hotplug::BlockStatus::Offline),
            snap.blocks(hotplug::BlockStatus::Offline),
            "{step}"
        );
    }
    let crash = replay(&h, &Until::Crash).unwrap();
    assert_eq!(crash.online_cpus(), vec![0, 2, 3]);
}

/// What changed between two steps, as (code, subject) pairs the diff of a header taken at
/// `dump_step` against the history at `history_step` must name.
fn expected_memory(dump_step: usize, history_step: usize) -> Vec<(&'static str, Subject)> {
    // The DIMM's block 32 is in the header from step 01 on; it is online at 01, 03–06 and
    // offline at 02 (offline is info, not a problem).
    let dumped = dump_step >= 1;
    let present = history_step >= 1;
    let online = present && history_step != 2;
    let block = Subject::Block {
        index: 32,
        range: Some(DIMM),
    };
    match (dumped, present, online) {
        (false, true, true) => vec![("HP004", block)],
        (true, false, _) => vec![("HP005", Subject::Range(DIMM))],
        _ => vec![],
    }
}

#[test]
fn elfcorehdr_of_each_step_against_each_step() {
    let h = scenario_history();
    for (d, dstep) in STEPS.iter().enumerate() {
        let bytes = std::fs::read(real(&format!("steps/elfcorehdr-{dstep}.bin"))).unwrap();
        let header = elfcorehdr::Elfcorehdr::parse(&bytes).unwrap();
        let content = DumpContent::of_elfcorehdr(&header, None, None);
        for (t, tstep) in STEPS.iter().enumerate() {
            let fs = diff(&at(&h, tstep), &content);
            // CPU events never change a ≥ 6.6 kexec_file header: no CPU finding ever.
            assert_eq!(
                problems(&fs),
                expected_memory(d, t),
                "header {dstep} vs history {tstep}"
            );
            let offline_info = fs.iter().any(|f| f.finding.code == "HP008");
            assert_eq!(offline_info, d >= 1 && t == 2, "{dstep} vs {tstep}");
        }
    }
}

#[test]
fn qemu_dumps_cut_after_their_notes_against_each_step() {
    let h = scenario_history();
    for (d, dstep) in STEPS.iter().enumerate() {
        let dump = vmcore::Dump::open(real(&format!("steps/qemu-dump-{dstep}.hdr"))).unwrap();
        let content = DumpContent::of_dump(&dump, None, None, None).unwrap();
        assert_eq!(content.kind, hotplug::DumpKind::Qemu);
        assert_eq!(content.cpus.len(), 4, "a note per vCPU, online or not");
        for (t, tstep) in STEPS.iter().enumerate() {
            let fs = diff(&at(&h, tstep), &content);
            assert_eq!(
                problems(&fs),
                expected_memory(d, t),
                "qemu {dstep} vs history {tstep}"
            );
        }
    }
}

#[test]
fn full_qemu_dump_of_step_06_is_clean_at_06() {
    let h = scenario_history();
    let dump = vmcore::Dump::open(real("qemu-dumps/dump-06-cpu3-online.elf")).unwrap();
    let content = DumpContent::of_dump(&dump, None, None, None).unwrap();
    assert_eq!(problems(&diff(&at(&h, "06-cpu3-online"), &content)), vec![]);
    assert_eq!(
        problems(&diff(&at(&h, "00-boot"), &content)),
        vec![("HP005", Subject::Range(DIMM))]
    );
}

fn proc_vmcore_identity() -> (vmcore::Dump, hotplug::CpuIdentity) {
    let dump = vmcore::Dump::open(real("kdump/proc-vmcore.elf")).unwrap();
    let state = elfcorehdr::SystemState::from_root(real("steps/root-06-cpu3-online")).unwrap();
    let id = identify(&dump, &NoteLocator::from_state(&state));
    (dump, id)
}

#[test]
fn crash_notes_in_the_kernel_dump_name_cpus_0_2_3() {
    let (_dump, id) = proc_vmcore_identity();
    assert_eq!(id.note_cpu, vec![Some(0), Some(2), Some(3)]);
    assert_eq!(
        id.buffers,
        vec![
            (0, BufferContent::Note(0)),
            (1, BufferContent::Empty),
            (2, BufferContent::Note(1)),
            (3, BufferContent::Note(2)),
        ]
    );
    // The raw header of the last step gives the same answer (its PT_NOTEs are the buffers).
    let bytes = std::fs::read(real("steps/elfcorehdr-06-cpu3-online.bin")).unwrap();
    let header = elfcorehdr::Elfcorehdr::parse(&bytes).unwrap();
    let dump = vmcore::Dump::open(real("kdump/proc-vmcore.elf")).unwrap();
    let id2 = identify(&dump, &NoteLocator::from_elfcorehdr(&header, None));
    assert_eq!(id2, id);
}

#[test]
fn kernel_dump_against_each_step_names_the_cpus_that_changed() {
    let h = scenario_history();
    let (dump, id) = proc_vmcore_identity();
    let content = DumpContent::of_dump(&dump, Some(&id), None, None).unwrap();
    assert_eq!(content.kind, hotplug::DumpKind::KernelVmcore);
    for (t, tstep) in STEPS.iter().enumerate() {
        let top = at(&h, tstep);
        let mut want: BTreeSet<(&str, Subject)> = expected_memory(6, t).into_iter().collect();
        // Online at the crash: 0, 2, 3.
        for cpu in top.online_cpus() {
            if ![0, 2, 3].contains(&cpu) {
                want.insert(("HP001", Subject::Cpu(cpu)));
            }
        }
        for cpu in [0u32, 2, 3] {
            if !top.online_cpus().contains(&cpu) {
                want.insert(("HP002", Subject::Cpu(cpu)));
            }
        }
        let got: BTreeSet<(&str, Subject)> = problems(&diff(&top, &content)).into_iter().collect();
        assert_eq!(got, want, "proc-vmcore vs history {tstep}");
    }
    // At the crash (= step 06) it is clean.
    let crash = replay(&h, &Until::Crash).unwrap();
    assert!(problems(&diff(&crash, &content)).is_empty());
}

#[test]
fn without_identity_the_kernel_dump_is_compared_by_count() {
    let h = scenario_history();
    let dump = vmcore::Dump::open(real("kdump/proc-vmcore.elf")).unwrap();
    let content = DumpContent::of_dump(&dump, None, None, None).unwrap();
    let fs = diff(&at(&h, "06-cpu3-online"), &content);
    assert!(problems(&fs).is_empty());
    assert_eq!(fs.iter().filter(|f| f.finding.code == "HP010").count(), 3);
    let fs = diff(&at(&h, "03-mem-block-online"), &content);
    assert_eq!(problems(&fs), vec![("HP009", Subject::Cpus)]);
}

#[test]
fn kernel_log_of_the_dump_replays_to_the_crash_cpus() {
    let dump = vmcore::Dump::open(real("kdump/proc-vmcore.elf")).unwrap();
    let log = dump.kernel_log().unwrap();
    let imported = import::klog::import_records("proc-vmcore.elf", &log);
    assert!(imported.problems.is_empty(), "{:?}", imported.problems);
    let h = imported.history;
    let t = replay(&h, &Until::Crash).unwrap();
    assert_eq!(t.online_cpus(), vec![0, 2, 3]);
    assert_eq!(t.cpus[&3].apic_id, Some(3));
    // Three memory events (hp_action 3, 4, 3) without a block: counted, not replayed.
    assert_eq!(t.unresolved.len(), 3);
    assert_eq!(
        h.notices
            .iter()
            .filter(|n| n.kind == hotplug::NoticeKind::Updated)
            .count(),
        3
    );
    // The console log (production kernel, then the capture kernel) gives the same CPU events.
    let text = import::import_path(&real("console.log"))
        .unwrap()
        .strict()
        .unwrap();
    assert_eq!(text.format, hotplug::SourceFormat::KernelLog);
    let strip = |h: &History| {
        h.events
            .iter()
            .map(|e| (e.change, e.uptime_us))
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(&text), strip(&h));
}
