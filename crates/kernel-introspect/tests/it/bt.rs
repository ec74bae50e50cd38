//! Per-CPU backtraces from the dump alone (kallsyms + in-memory ORC) against drgn with
//! Debian's full debug vmlinux (testdata/real/oracles/drgn-crash-*.json).

use kernel_introspect::{Kernel, StackKind};

use crate::support;

/// `(pc, symbol, offset, interrupted)` of every frame, drgn's fields.
type Row = (u64, Option<String>, Option<u64>, bool);

fn oracle_frames(cpu: &serde_json::Value) -> Vec<Row> {
    cpu["frames"]
        .as_array()
        .expect("frames")
        .iter()
        .map(|f| {
            (
                f["pc"].as_u64().expect("pc"),
                f["symbol"].as_str().map(str::to_string),
                f["offset"].as_u64(),
                f["interrupted"].as_bool().expect("interrupted"),
            )
        })
        .collect()
}

/// Every CPU drgn lists has a register note whose frames equal drgn's exactly.
fn assert_matches_drgn(dump: &vmcore::Dump, oracle: &serde_json::Value) {
    let kernel = Kernel::new(dump).expect("kernel");
    let traces = kernel.backtraces().expect("backtraces");
    let cpus = oracle["cpus"].as_array().expect("cpus");
    // Every online CPU has a note; QEMU also writes one for each offline vCPU.
    assert!(traces.len() >= cpus.len());
    for want in cpus {
        let n = want["cpu"].as_u64().expect("cpu") as u32;
        let bt = traces
            .iter()
            .find(|t| t.cpu == Some(n))
            .unwrap_or_else(|| panic!("no register note numbered CPU {n}"));
        let trace = bt.trace.as_ref().expect("trace");
        let got: Vec<Row> = trace
            .frames
            .iter()
            .map(|f| {
                (
                    f.pc,
                    f.symbol.as_ref().map(|s| s.name.clone()),
                    f.symbol.as_ref().map(|s| s.offset),
                    f.interrupted(),
                )
            })
            .collect();
        assert_eq!(got, oracle_frames(want), "CPU {n}");
        assert!(trace.stop.is_complete(), "CPU {n}: {}", trace.stop);
        // The task stack, or user space for the last frame after a syscall.
        for f in &trace.frames {
            assert!(
                matches!(f.stack, StackKind::Task | StackKind::User),
                "CPU {n}: frame {:#x} on {:?}",
                f.pc,
                f.stack
            );
        }
        if oracle["crashed_tid"].is_u64() {
            assert_eq!(
                bt.pid,
                want["pid"].as_u64().map(|p| p as u32),
                "CPU {n}: pid"
            );
        }
    }
    let panic_cpu = oracle["panic_cpu"].as_i64().expect("panic_cpu");
    assert_eq!(
        kernel.panic_cpu().expect("panic_cpu"),
        u32::try_from(panic_cpu).ok()
    );
}

#[test]
fn proc_vmcore_frames_equal_drgn() {
    let dump = support::proc_vmcore();
    let oracle = support::drgn_oracle("proc-vmcore");
    assert_matches_drgn(&dump, &oracle);
}

#[test]
fn qemu_dump_frames_equal_drgn() {
    let dump = support::qemu_dump_06();
    let oracle = support::drgn_oracle("qemu-dump-06-cpu3-online");
    assert_matches_drgn(&dump, &oracle);
}
