//! Generated cases (testgen) for every finding code, each asserted by code and subject.

use hotplug::{
    BlockStatus, CpuStatus, DumpContent, NoteLocator, Subject, Topology, Until, diff,
    history_findings, identify, import, replay,
};
use kdump_types::{PhysAddr, PhysRange};
use testgen::{CpuSpec, ElfSpec, Fill, LoadSpec};

const MIB128: u64 = 128 << 20;
/// Where the generated dumps keep the CPUs' crash_notes buffers (inside the first load).
const NOTES_PA: u64 = 0x10_0000;

fn codes(fs: &[hotplug::HotplugFinding]) -> Vec<(&'static str, Subject)> {
    fs.iter().map(|f| (f.finding.code, f.subject)).collect()
}

fn topology(online: &[u32], offline: &[u32], blocks: &[(u64, BlockStatus)]) -> Topology {
    let mut t = Topology {
        cpus_complete: true,
        memory_complete: true,
        block_size: Some(MIB128),
        ..Topology::default()
    };
    for &c in online {
        t.cpus.insert(
            c,
            CpuStatus {
                present: true,
                online: true,
                apic_id: None,
            },
        );
    }
    for &c in offline {
        t.cpus.insert(
            c,
            CpuStatus {
                present: true,
                online: false,
                apic_id: None,
            },
        );
    }
    for &(b, s) in blocks {
        t.memory.insert(b, s);
        t.changed_blocks.insert(b);
    }
    t
}

fn ram_load(paddr: u64, size: u64, fill: Fill) -> LoadSpec {
    LoadSpec {
        paddr,
        vaddr: 0xffff_8880_0000_0000 + paddr,
        memsz: size,
        filesz: size,
        fill,
    }
}

/// A kernel dump whose register notes are for `cpus` (in that order), with every CPU of
/// `possible` having a crash_notes buffer at `NOTES_PA + cpu * 0x200` holding its note (or
/// zeros), as crash_save_cpu leaves them. Memory: one 128 MiB load per block of `blocks`.
fn kernel_dump(cpus: &[u32], possible: &[u32], blocks: &[u64]) -> (vmcore::Dump, NoteLocator) {
    let spec = ElfSpec {
        cpus: cpus
            .iter()
            .map(|&c| CpuSpec::numbered(c, 100 + c))
            .collect(),
        vmcoreinfo: Some(testgen::sample_vmcoreinfo()),
        loads: blocks
            .iter()
            .map(|&b| {
                ram_load(
                    b * MIB128,
                    MIB128,
                    if b == 0 { Fill::Pattern } else { Fill::Hole },
                )
            })
            .collect(),
        ..ElfSpec::default()
    };
    let mut bytes = testgen::elf_bytes(&spec);
    let first = vmcore::Dump::from_bytes(bytes.clone()).unwrap();
    let load0 = first
        .memory()
        .find_phys(PhysAddr(0))
        .unwrap()
        .file_offset
        .unwrap()
        .0 as usize;
    let notes: Vec<Vec<u8>> = first
        .notes()
        .iter()
        .filter(|n| n.name == "CORE")
        .map(hotplug::identity::note_bytes)
        .collect();
    for &p in possible {
        let at = load0 + (NOTES_PA + u64::from(p) * 0x200) as usize;
        bytes[at..at + 368].fill(0);
        if let Some(i) = cpus.iter().position(|&c| c == p) {
            bytes[at..at + notes[i].len()].copy_from_slice(&notes[i]);
        }
    }
    let locator = NoteLocator {
        buffers: possible
            .iter()
            .map(|&p| (p, PhysAddr(NOTES_PA + u64::from(p) * 0x200), 368))
            .collect(),
    };
    (vmcore::Dump::from_bytes(bytes).unwrap(), locator)
}

fn kernel_content(
    cpus: &[u32],
    possible: &[u32],
    blocks: &[u64],
    identify_cpus: bool,
) -> DumpContent {
    let (dump, loc) = kernel_dump(cpus, possible, blocks);
    let id = identify(&dump, &loc);
    assert!(id.complete());
    DumpContent::of_dump(&dump, identify_cpus.then_some(&id), None, None).unwrap()
}

#[test]
fn hp001_and_hp002_from_crash_notes_identity() {
    // The dump saved CPUs 0 and 2; the history has 0 and 1 online, 2 offline.
    let c = kernel_content(&[0, 2], &[0, 1, 2], &[0], true);
    assert_eq!(
        c.cpus.iter().map(|s| s.cpu).collect::<Vec<_>>(),
        vec![Some(0), Some(2)]
    );
    let t = topology(&[0, 1], &[2], &[(0, BlockStatus::Online)]);
    assert_eq!(
        codes(&diff(&t, &c)),
        vec![("HP001", Subject::Cpu(1)), ("HP002", Subject::Cpu(2))]
    );
}

#[test]
fn hp003_zeroed_note_of_an_online_qemu_cpu() {
    let spec = ElfSpec {
        cpus: vec![CpuSpec::numbered(0, 1), CpuSpec { pid: 0, regs: None }],
        qemu_notes: true,
        loads: vec![ram_load(0, MIB128, Fill::Hole)],
        ..ElfSpec::default()
    };
    let dump = vmcore::Dump::from_bytes(testgen::elf_bytes(&spec)).unwrap();
    let c = DumpContent::of_dump(&dump, None, None, None).unwrap();
    assert_eq!(c.kind, hotplug::DumpKind::Qemu);
    let t = topology(&[0, 1], &[], &[(0, BlockStatus::Online)]);
    assert_eq!(codes(&diff(&t, &c)), vec![("HP003", Subject::Cpu(1))]);
    // An offline vCPU's empty note is what QEMU writes: no finding.
    let t = topology(&[0], &[1], &[(0, BlockStatus::Online)]);
    assert_eq!(codes(&diff(&t, &c)), vec![]);
}

fn block(index: u64) -> Subject {
    Subject::Block {
        index,
        range: Some(PhysRange::from_start_len(index * MIB128, MIB128)),
    }
}

#[test]
fn hp004_hp005_hp008_memory_blocks() {
    // Loads for blocks 0, 1, 3 and 5; history: 2 online (missing), 3 removed (stale),
    // 5 offline (kept by the kernel: info), 7 absent but block 6 dumped → not present.
    let c = kernel_content(&[0], &[0], &[0, 1, 3, 5, 6], true);
    let t = topology(
        &[0],
        &[],
        &[
            (0, BlockStatus::Online),
            (1, BlockStatus::Online),
            (2, BlockStatus::Online),
            (3, BlockStatus::Removed),
            (5, BlockStatus::Offline),
        ],
    );
    assert_eq!(
        codes(&diff(&t, &c)),
        vec![
            ("HP004", block(2)),
            ("HP005", block(3)),
            ("HP008", block(5)),
            (
                "HP005",
                Subject::Range(PhysRange::from_start_len(6 * MIB128, MIB128))
            ),
        ]
    );
}

#[test]
fn hp007_pt_load_edge_inside_a_hot_added_block() {
    let spec = ElfSpec {
        cpus: vec![CpuSpec::numbered(0, 1)],
        loads: vec![
            ram_load(0, MIB128, Fill::Hole),
            ram_load(4 * MIB128, MIB128 / 2, Fill::Hole),
        ],
        ..ElfSpec::default()
    };
    let dump = vmcore::Dump::from_bytes(testgen::elf_bytes(&spec)).unwrap();
    let c = DumpContent::of_dump(&dump, None, None, None).unwrap();
    let mut t = topology(
        &[],
        &[],
        &[(0, BlockStatus::Online), (4, BlockStatus::Online)],
    );
    t.added_blocks.insert(4);
    let r = PhysRange::from_start_len(4 * MIB128, MIB128 / 2);
    // (Without crash_notes the note is not attributed to a CPU: HP010, info.)
    assert_eq!(
        codes(&diff(&t, &c)),
        vec![("HP010", Subject::Note(0)), ("HP007", Subject::Range(r))]
    );
}

#[test]
fn hp009_and_hp010_without_identity() {
    let c = kernel_content(&[0, 2], &[0, 1, 2], &[0], false);
    let t = topology(&[0, 1, 2], &[], &[(0, BlockStatus::Online)]);
    assert_eq!(codes(&diff(&t, &c)), vec![("HP009", Subject::Cpus)]);
    let t = topology(&[0, 2], &[1], &[(0, BlockStatus::Online)]);
    assert_eq!(
        codes(&diff(&t, &c)),
        vec![("HP010", Subject::Note(0)), ("HP010", Subject::Note(1))]
    );
}

#[test]
fn hp006_elfcorehdr_segment_nearly_full() {
    let bytes = real_data::read("steps/elfcorehdr-06-cpu3-online.bin").unwrap();
    let h = elfcorehdr::Elfcorehdr::parse(&bytes).unwrap();
    let t = Topology::default();
    // 9 program headers used of 10.
    let c = DumpContent::of_elfcorehdr(&h, None, Some(64 + 10 * 56));
    assert_eq!(codes(&diff(&t, &c)), vec![("HP006", Subject::Header)]);
    // The kernel's real segment (917,680 bytes, 16,386 slots) is far from full.
    let c = DumpContent::of_elfcorehdr(&h, None, Some(917_680));
    assert_eq!(codes(&diff(&t, &c)), vec![]);
}

#[test]
fn hp011_hp012_hp013_hp015_from_the_history() {
    let text = "{\"format\":\"vmcore-hotplug-history\",\"version\":1}\n\
        {\"event\":\"memory-online\",\"block\":4}\n\
        {\"notice\":\"update-lost\",\"uptime\":\"12.5\"}\n\
        {\"event\":\"memory-online\"}\n\
        {\"notice\":\"update-too-large\",\"elfsz\":917736,\"memsz\":917680}\n";
    let h = import::import_text("h.jsonl", text)
        .unwrap()
        .strict()
        .unwrap();
    let t = replay(&h, &Until::Crash).unwrap();
    assert_eq!(
        codes(&history_findings(&h, &t)),
        vec![
            ("HP011", Subject::History { line: 3 }),
            ("HP012", Subject::History { line: 5 }),
            ("HP013", Subject::History { line: 4 }),
        ]
    );
    // No block size anywhere: memory cannot be compared.
    let c = kernel_content(&[0], &[0], &[0], true);
    assert_eq!(codes(&diff(&t, &c)), vec![("HP015", Subject::Header)]);
    // Replayed only to the first event, the later notices do not count yet.
    let t1 = replay(&h, &Until::Events(1)).unwrap();
    assert_eq!(
        codes(&history_findings(&h, &t1)),
        vec![("HP011", Subject::History { line: 3 })]
    );
}

#[test]
fn hp007_block_size_conflict_between_sources() {
    let a = import::import_text(
        "a.jsonl",
        "{\"format\":\"vmcore-hotplug-history\",\"version\":1,\"block_size\":\"0x8000000\"}\n",
    )
    .unwrap()
    .strict()
    .unwrap();
    let b = import::import_text(
        "b.jsonl",
        "{\"format\":\"vmcore-hotplug-history\",\"version\":1,\"block_size\":134217728}\n",
    )
    .unwrap()
    .strict()
    .unwrap();
    let c = import::import_text(
        "c.jsonl",
        "{\"format\":\"vmcore-hotplug-history\",\"version\":1,\"block_size\":\"0x10000000\"}\n",
    )
    .unwrap()
    .strict()
    .unwrap();
    let mut h = a;
    h.append(b);
    assert!(h.block_size_conflicts.is_empty());
    h.append(c);
    let t = replay(&h, &Until::Crash).unwrap();
    assert_eq!(
        codes(&history_findings(&h, &t)),
        vec![("HP007", Subject::Header)]
    );
}

#[test]
fn chk001_deep_scan_of_a_truncated_dump_and_chk002_excluded_pages() {
    let spec = ElfSpec {
        cpus: vec![CpuSpec::numbered(0, 1)],
        vmcoreinfo: Some(testgen::sample_vmcoreinfo()),
        loads: vec![ram_load(0, 4 << 20, Fill::Pattern)],
        ..ElfSpec::default()
    };
    let full = testgen::elf_bytes(&spec);
    let cut = full[..full.len() - 3 * 4096].to_vec();
    let dump = vmcore::Dump::from_bytes(cut).unwrap();
    let rep = hotplug::scan::deep_scan(&dump, &|_| {});
    assert_eq!(rep.pages, 1024);
    assert_eq!(
        rep.unreadable,
        vec![(
            PhysRange::new((4 << 20) - 3 * 4096, 4 << 20),
            "past the end of the file (truncated dump)"
        )]
    );
    assert_eq!(rep.findings(10)[0].code, "CHK001");
    let ok = hotplug::scan::deep_scan(&vmcore::Dump::from_bytes(full).unwrap(), &|_| {});
    assert!(ok.unreadable.is_empty());
    assert_eq!(ok.bytes_read, 4 << 20);

    let kd =
        vmcore::Dump::open(real_data::path("kdump/makedumpfile-c-d31.kdump").unwrap()).unwrap();
    let s = hotplug::scan::structural(&kd);
    assert!(s.iter().any(|f| f.code == "CHK002"), "{s:?}");
}
