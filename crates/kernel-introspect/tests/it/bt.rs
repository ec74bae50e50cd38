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

/// The makedumpfile twins of proc-vmcore (dump level 31: user, free, cache and zero pages
/// excluded; zlib-compressed and flattened) give the same traces: every stack page is kept.
#[test]
fn makedumpfile_twins_frames_equal_drgn() {
    let oracle = support::drgn_oracle("proc-vmcore");
    for rel in [
        "kdump/makedumpfile-c-d31.kdump",
        "kdump/makedumpfile-F-c-d31.flat",
    ] {
        let dump = support::real_dump(rel);
        assert_matches_drgn(&dump, &oracle);
    }
}

/// QEMU's flattened kdump-zlib dump of step 06 equals its ELF twin.
#[test]
fn qemu_kdump_zlib_frames_equal_drgn() {
    let dump = support::real_dump("qemu-dumps/dump-06-cpu3-online.kdump-zlib");
    let oracle = support::drgn_oracle("qemu-dump-06-cpu3-online");
    assert_matches_drgn(&dump, &oracle);
}

#[test]
fn crashed_cpu_and_note_cpus_match_drgn() {
    let dump = support::proc_vmcore();
    let kernel = Kernel::new(&dump).expect("kernel");
    let oracle = support::drgn_oracle("proc-vmcore");
    // drgn's crashed thread is the first note's pid; panic_cpu says which CPU that is.
    assert_eq!(kernel.panic_cpu().expect("panic_cpu"), Some(0));
    assert_eq!(kernel.crashing_cpu().expect("crashing_cpu"), Some(0));
    assert_eq!(
        kernel.note_cpus().expect("note cpus"),
        [Some(0), Some(2), Some(3)],
        "crash_notes numbering (/proc/vmcore has notes of online CPUs only)"
    );
    let site = kernel.crash_site().expect("site").expect("crashed");
    assert_eq!(site.cpu, 0);
    assert_eq!(
        site.pid.map(u64::from),
        oracle["crashed_tid"].as_u64(),
        "crashed task"
    );
    let frame = site.frame.expect("site frame");
    assert_eq!(frame.location(), "sysrq_handle_crash+0x1a/0x20");
    // A dump taken while nothing had panicked has no crash site.
    let qemu = support::qemu_dump_06();
    let kq = Kernel::new(&qemu).expect("kernel");
    assert_eq!(kq.panic_cpu().expect("panic_cpu"), None);
    assert!(kq.crash_site().expect("site").is_none());
    assert_eq!(
        kq.note_cpus().expect("note cpus"),
        [Some(0), Some(1), Some(2), Some(3)]
    );
}

/// The ORC format comes from the dump: this 6.12 kernel has an .orc_header.
#[test]
fn orc_layout_is_read_from_the_dump() {
    let dump = support::proc_vmcore();
    let kernel = Kernel::new(&dump).expect("kernel");
    let orc = kernel.orc_table().expect("orc");
    assert_eq!(orc.layout, kernel_introspect::orc::OrcLayout::V6_4);
    assert_eq!(orc.header_hash.as_deref().map(str::len), Some(40));
    assert!(orc.count > 100_000, "{} ORC entries", orc.count);
}

/// Each CPU's IRQ stack (pcpu_hot.hardirq_stack_ptr, 16 KiB) and its six IST stacks
/// (cea_exception_stacks) are found, disjoint, and hold none of the task-stack frames drgn saw.
#[test]
fn per_cpu_irq_and_exception_stacks_are_found() {
    let dump = support::proc_vmcore();
    let kernel = Kernel::new(&dump).expect("kernel");
    let u = kernel.unwinder().expect("unwinder");
    let stacks = u.stacks();
    for cpu in 0..4 {
        let mine: Vec<_> = stacks.iter().filter(|s| s.cpu == cpu).collect();
        assert_eq!(mine.len(), 7, "CPU {cpu}: {mine:?}");
        let irq = mine
            .iter()
            .find(|s| s.kind == StackKind::Irq)
            .expect("irq stack");
        assert_eq!(irq.end - irq.start, 16 * 1024);
        assert_eq!(irq.end % 4096, 0);
    }
    for (i, a) in stacks.iter().enumerate() {
        for b in &stacks[i + 1..] {
            assert!(a.end <= b.start || b.end <= a.start, "{a:?} overlaps {b:?}");
        }
    }
    for bt in kernel.backtraces().expect("bt") {
        for f in bt.trace.expect("trace").frames {
            assert!(!stacks.iter().any(|s| f.sp >= s.start && f.sp < s.end));
        }
    }
}
