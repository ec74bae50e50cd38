//! Other kernels than testdata/real's 6.12: Debian's 6.1 (ORC without `.orc_header`, layout by
//! release) and 7.2 (ORC v4: registers renumbered), each a makedumpfile `-c -d 31` dump from
//! testdata/kernels, against drgn 0.3.0 with the kernel's full debug vmlinux
//! (testdata/kernels/<k>/oracles/drgn-crash-makedumpfile-c-d31.json).

use kernel_introspect::Kernel;
use kernel_introspect::mem::KernelMemory;
use kernel_introspect::orc::OrcLayout;
use serde_json::Value;

use crate::support::{FrameKey, frame_keys, oracle_frames};

/// The two kernels: (directory under testdata/kernels, ORC layout, ORC header hash).
const KERNELS: [(&str, OrcLayout, Option<&str>); 2] = [
    ("6.1", OrcLayout::V4_14, None),
    (
        "7.2",
        OrcLayout::V7,
        Some("137c36ad7627c4dd55932176bb0ecdbd5041fc82"),
    ),
];

fn dump(kernel: &str) -> vmcore::Dump {
    let rel = format!("{kernel}/kdump/makedumpfile-c-d31.kdump");
    let path = real_data::kernel_path(&rel).unwrap_or_else(|e| panic!("{rel}: {e}"));
    vmcore::Dump::open(path).unwrap_or_else(|e| panic!("open {rel}: {e}"))
}

fn oracle(kernel: &str) -> Value {
    let path = real_data::kernels_root().join(format!(
        "{kernel}/oracles/drgn-crash-makedumpfile-c-d31.json"
    ));
    serde_json::from_slice(&std::fs::read(&path).expect("oracle")).expect("json")
}

fn our_frames(trace: &kernel_introspect::unwind::Backtrace) -> Vec<FrameKey> {
    frame_keys(&trace.frames)
}

/// The ORC layout each kernel's dump gives: 6.1 by its release (no `.orc_header`), 7.2 by its
/// known header hash.
#[test]
fn orc_layout_per_kernel() {
    for (k, layout, hash) in KERNELS {
        let d = dump(k);
        let kernel = Kernel::new(&d).expect("kernel");
        let orc = kernel.orc_table().expect("orc");
        assert_eq!(orc.layout, layout, "{k}");
        assert_eq!(orc.header_hash.as_deref(), hash, "{k}");
        assert!(orc.count > 100_000, "{k}: {} ORC entries", orc.count);
    }
}

/// 7.2's entries alone (as for a hash we would not know) decide the v4 layout; 6.12's decide
/// the 6.4 one.
#[test]
fn unknown_hash_layout_by_evidence() {
    let d = dump("7.2");
    let kernel = Kernel::new(&d).expect("kernel");
    let orc = kernel.orc_table().expect("orc");
    let layout = orc
        .layout_by_evidence(kernel.memory(), 0, "unknown")
        .expect("evidence");
    assert_eq!(layout, OrcLayout::V7);
    let d612 = crate::support::proc_vmcore();
    let k612 = Kernel::new(&d612).expect("kernel");
    let orc612 = k612.orc_table().expect("orc");
    assert_eq!(orc612.layout, OrcLayout::V6_4);
    let layout = orc612
        .layout_by_evidence(k612.memory(), 0, "unknown")
        .expect("evidence");
    assert_eq!(layout, OrcLayout::V6_4);
}

/// Every CPU drgn lists unwinds to drgn's frames (symbol, offset, interrupted, pc), to a
/// complete stop, and the crashed task and panic CPU agree.
#[test]
fn cpu_frames_equal_drgn() {
    for (k, _, _) in KERNELS {
        let d = dump(k);
        let want = oracle(k);
        let kernel = Kernel::new(&d).expect("kernel");
        let traces = kernel.backtraces().expect("backtraces");
        let cpus = want["cpus"].as_array().expect("cpus");
        assert_eq!(cpus.len(), 3, "{k}");
        for c in cpus {
            let n = c["cpu"].as_u64().expect("cpu") as u32;
            let bt = traces
                .iter()
                .find(|t| t.cpu == Some(n))
                .unwrap_or_else(|| panic!("{k}: no note of CPU {n}"));
            let trace = bt.trace.as_ref().expect("trace");
            assert_eq!(
                our_frames(trace),
                oracle_frames(&c["frames"]),
                "{k}: CPU {n}"
            );
            let pcs: Vec<u64> = trace.frames.iter().map(|f| f.pc).collect();
            let want_pcs: Vec<u64> = c["frames"]
                .as_array()
                .expect("frames")
                .iter()
                .map(|f| f["pc"].as_u64().expect("pc"))
                .collect();
            assert_eq!(pcs, want_pcs, "{k}: CPU {n} pcs");
            assert!(trace.stop.is_complete(), "{k}: CPU {n}: {}", trace.stop);
            assert_eq!(bt.pid.map(u64::from), c["pid"].as_u64(), "{k}: CPU {n} pid");
        }
        assert_eq!(
            kernel.panic_cpu().expect("panic_cpu").map(u64::from),
            want["panic_cpu"].as_u64(),
            "{k}"
        );
    }
}

/// Tasks: every task we read equals drgn's; where makedumpfile left out a page of the task
/// walk, the walk says so (a finding naming an address the dump cannot give).
#[test]
fn tasks_equal_drgn_where_pages_are_present() {
    for (k, _, _) in KERNELS {
        let d = dump(k);
        let want = oracle(k);
        let kernel = Kernel::new(&d).expect("kernel");
        let list = kernel.tasks().expect("tasks");
        let want_tasks: Vec<(i64, i64, String, String, i64)> = want["tasks"]
            .as_array()
            .expect("tasks")
            .iter()
            .map(|t| {
                (
                    t["pid"].as_i64().expect("pid"),
                    t["tgid"].as_i64().expect("tgid"),
                    t["comm"].as_str().expect("comm").to_string(),
                    t["state"].as_str().expect("state").to_string(),
                    t["cpu"].as_i64().expect("cpu"),
                )
            })
            .collect();
        let got: Vec<(i64, i64, String, String, i64)> = list
            .tasks
            .iter()
            .map(|t| {
                (
                    t.pid as i64,
                    t.tgid as i64,
                    t.comm.clone(),
                    t.state.to_string(),
                    t.cpu as i64,
                )
            })
            .collect();
        let drgn_complete = want["task_walk_faults"]
            .as_array()
            .expect("faults")
            .is_empty();
        if drgn_complete {
            assert_eq!(got, want_tasks, "{k}");
            assert!(list.findings.is_empty(), "{k}: {:?}", list.findings);
        } else {
            for g in &got {
                // Tasks drgn could not read fully are not in its list: compare the others.
                if let Some(w) = want_tasks.iter().find(|w| w.0 == g.0) {
                    assert_eq!(g, w, "{k}: pid {}", g.0);
                }
            }
            let common = got
                .iter()
                .filter(|g| want_tasks.iter().any(|w| w.0 == g.0))
                .count();
            // We read every task drgn read (and, through the pid IDR and child lists, more).
            assert_eq!(common, want_tasks.len(), "{k}: tasks in common");
            assert!(
                !list.findings.is_empty(),
                "{k}: excluded pages not reported"
            );
            // Each task drgn found but could not read is one we report, by its address.
            let unreadable = want["unreadable_tasks"].as_array().expect("unreadable");
            assert!(!unreadable.is_empty(), "{k}");
            for u in unreadable {
                let addr = u["addr"].as_u64().expect("addr");
                assert!(
                    list.findings.iter().any(|f| f.addr == addr),
                    "{k}: unreadable task {addr:#x} not reported"
                );
            }
            for f in &list.findings {
                assert!(
                    kernel.memory().read_u32(f.addr).is_err(),
                    "{k}: finding at readable {:#x}: {f}",
                    f.addr
                );
            }
        }
    }
}

/// Sleeping tasks (drgn's first 40 by pid) unwind to drgn's frames wherever drgn could unwind
/// them; where drgn could not (a page of the task left out), we do not give a complete trace.
#[test]
fn task_traces_equal_drgn_where_pages_are_present() {
    for (k, _, _) in KERNELS {
        let d = dump(k);
        let want = oracle(k);
        let kernel = Kernel::new(&d).expect("kernel");
        let list = kernel.tasks().expect("tasks");
        let unwinder = kernel.unwinder_with_modules().expect("unwinder");
        let (mut compared, mut refused) = (0, 0);
        for t in want["task_traces"].as_array().expect("task_traces") {
            let pid = t["pid"].as_i64().expect("pid") as i32;
            let Some(task) = list.by_pid(pid) else {
                continue;
            };
            let ours = kernel.task_backtrace_with(&unwinder, task);
            if t["error"].is_string() {
                if let Ok(trace) = &ours {
                    assert!(
                        !trace.stop.is_complete(),
                        "{k}: pid {pid}: drgn could not unwind, we did: {:?}",
                        our_frames(trace)
                    );
                }
                refused += 1;
                continue;
            }
            let trace = ours.unwrap_or_else(|e| panic!("{k}: pid {pid}: {e}"));
            assert!(trace.stop.is_complete(), "{k}: pid {pid}: {}", trace.stop);
            assert_eq!(
                our_frames(&trace),
                oracle_frames(&t["frames"]),
                "{k}: pid {pid}"
            );
            compared += 1;
        }
        // 7.2: makedumpfile left out the page holding `thread.sp` of 14 of the 40 tasks.
        let expect = if k == "6.1" { (40, 0) } else { (26, 14) };
        assert_eq!((compared, refused), expect, "{k}: (compared, refused)");
    }
}

/// A table whose entries do not show one numbering clearly is an error naming the hash, not a
/// guess: a mix of both RSP codes, and a table of nothing but undefined entries.
#[test]
fn unclear_evidence_is_an_error() {
    use kernel_introspect::mem::MemoryMap;
    use kernel_introspect::orc::OrcTable;
    const BASE: u64 = 0xffff_ffff_8100_0000;
    // `count` CALL entries (sp = RSP + 8), the i-th with RSP's code `code(i)`.
    let layout_of = |count: u64, code: &dyn Fn(u64) -> u8| {
        let bytes: Vec<u8> = (0..count)
            .flat_map(|i| [8, 0, 0, 0, code(i), 0x02])
            .collect();
        let mut mem = MemoryMap::new();
        mem.insert(BASE, bytes);
        let table = OrcTable {
            ip_table: BASE,
            count,
            entries: BASE,
            layout: OrcLayout::V6_4,
            header_hash: None,
            text: vec![(BASE, BASE + 1)],
        };
        table.layout_by_evidence(&mem, BASE - 20, "0123abcd")
    };
    assert_eq!(layout_of(100, &|_| 5).expect("6.4"), OrcLayout::V6_4);
    assert_eq!(layout_of(100, &|_| 3).expect("v4"), OrcLayout::V7);
    // One RSP code in ten of the other numbering: no decision.
    let mixed = layout_of(100, &|i| if i % 10 == 0 { 3 } else { 5 });
    let e = mixed.expect_err("mixed").to_string();
    assert!(e.contains("0123abcd"), "{e}");
    // Undefined entries only.
    let e = layout_of(100, &|_| 0).expect_err("empty").to_string();
    assert!(e.contains("unknown .orc_header hash"), "{e}");
}
