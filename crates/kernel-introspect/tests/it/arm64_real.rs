//! What crashed, on real arm64 dumps (issue 17): testdata/kernels/arm64-6.12 (Debian 6.12.111
//! arm64 under QEMU, 4 vCPUs: CPU0 idle, CPU1 spinning in user space, CPU2 in `read()`, CPU3
//! panicking from `echo c > /proc/sysrq-trigger`), the kdump kernel's /proc/vmcore and QEMU's
//! dump of the same boot taken before the crash. Oracle: drgn 0.3.0 with the kernel's debug
//! vmlinux (DWARF CFI), `oracles/drgn-crash-*.json` (every possible CPU's frames, tasks, 40
//! sleeping tasks' frames) and `oracles/drgn-arm64-*.json` (per-CPU data).

use kernel_introspect::Kernel;
use kernel_introspect::mem::KernelMemory;
use kernel_introspect::unwind::arm64::bl_target;
use kernel_introspect::unwind::{Backtrace, FrameKind, UnwindMethod};
use serde_json::Value;

use crate::support::{FrameKey, frame_keys, oracle_frames};
use vmcore::Dump;

const DUMPS: [&str; 2] = ["vmcore-raw", "qemu-dump"];

fn dump(name: &str) -> Dump {
    let rel = format!("arm64-6.12/kdump/{name}.elf");
    let path = real_data::kernel_path(&rel).unwrap_or_else(|e| panic!("{rel}: {e}"));
    Dump::open(&path).unwrap_or_else(|e| panic!("open {rel}: {e}"))
}

fn oracle(kind: &str, name: &str) -> Value {
    let path = real_data::kernels_root()
        .join("arm64-6.12/oracles")
        .join(format!("drgn-{kind}-{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("json")
}

/// Our frames as drgn shows them: drgn ends a kernel trace at the entry from user space
/// (`el0t_64_sync`) without a frame for the user context; ours adds it, so a trailing user
/// frame after kernel frames is left out of the comparison (and checked separately).
fn our_frames(trace: &Backtrace) -> Vec<FrameKey> {
    let mut frames: &[_] = &trace.frames;
    if frames.len() > 1 && matches!(frames.last().map(|f| &f.kind), Some(FrameKind::User { .. })) {
        frames = &frames[..frames.len() - 1];
    }
    frame_keys(frames)
}

/// Every register note has its CPU number: /proc/vmcore's through the per-CPU `crash_notes`
/// buffers (the same as drgn's `per_cpu_ptr(crash_notes, n)` order here), QEMU's by vCPU.
#[test]
fn arm64_every_note_has_a_cpu_number() {
    for name in DUMPS {
        let d = dump(name);
        let kernel = Kernel::new(&d).expect("kernel");
        let cpus = kernel.note_cpus().expect("note cpus");
        assert_eq!(cpus, [Some(0), Some(1), Some(2), Some(3)], "{name}");
        // Each note's pr_pid is the task drgn found current on that CPU (QEMU: vCPU + 1).
        let o = oracle("arm64", name);
        for (c, n) in d.cpus().iter().zip(&cpus) {
            let want = o["percpu"][n.unwrap() as usize]["curr_pid"]
                .as_u64()
                .unwrap();
            if name == "qemu-dump" {
                assert_eq!(u64::from(c.pid), u64::from(n.unwrap()) + 1, "{name}");
            } else {
                assert_eq!(u64::from(c.pid), want, "{name}: CPU {n:?}");
            }
        }
    }
}

/// Our frames without the callers recovered from x30 that drgn does not show, and those.
fn without_extra_link_register_frames(
    trace: &Backtrace,
    want: &[FrameKey],
) -> (Vec<FrameKey>, Vec<(u64, FrameKey)>) {
    let keys = our_frames(trace);
    let mut kept = Vec::new();
    let mut dropped = Vec::new();
    for (f, k) in trace.frames.iter().zip(keys) {
        if f.method == UnwindMethod::LinkRegister && !want.contains(&k) {
            dropped.push((f.pc, k));
        } else {
            kept.push(k);
        }
    }
    (kept, dropped)
}

/// `bt --all`: every CPU's frames equal drgn's DWARF unwind (symbol, offset, interrupted); the
/// CPU in user space has no kernel frames; the panic CPU is the crashed one.
///
/// One frame is ours only: CPU 2 of /proc/vmcore was stopped in the assembly leaf
/// `__arch_clear_user`, which has no CFI, so drgn falls back to frame records and skips its
/// caller `read_zero` (whose record returns to `vfs_read`); we take `read_zero+0xb8` from x30
/// because the instruction before it is `bl __arch_clear_user` (checked here too).
#[test]
fn arm64_cpu_backtraces_equal_drgn() {
    let mut dropped_all = Vec::new();
    for name in DUMPS {
        let d = dump(name);
        let o = oracle("crash", name);
        let kernel = Kernel::new(&d).expect("kernel");
        let traces = kernel.backtraces().expect("backtraces");
        for want in o["cpus"].as_array().expect("cpus") {
            let n = want["cpu"].as_u64().unwrap() as u32;
            let bt = traces
                .iter()
                .find(|b| b.cpu == Some(n))
                .unwrap_or_else(|| panic!("{name}: no note for CPU {n}"));
            let trace = bt.trace.as_ref().expect("trace");
            let wanted = oracle_frames(&want["frames"]);
            let (ours, dropped) = without_extra_link_register_frames(trace, &wanted);
            assert_eq!(ours, wanted, "{name}: CPU {n}");
            for (pc, k) in dropped {
                let insn = kernel.memory().read_u32(pc - 4).expect("code");
                let callee = trace.frames[0].pc;
                let func = kernel
                    .symbols()
                    .unwrap()
                    .symbolize(callee)
                    .unwrap()
                    .symbol
                    .addr;
                assert_eq!(bl_target(pc - 4, insn), Some(func), "{name}: CPU {n}");
                dropped_all.push((name, n, k));
            }
            assert!(trace.stop.is_complete(), "{name}: CPU {n}: {}", trace.stop);
            if want["user_mode"].as_bool() == Some(true) {
                assert_eq!(trace.frames.len(), 1, "{name}: CPU {n}");
                assert!(matches!(trace.frames[0].kind, FrameKind::User { .. }));
            }
        }
        let crashed: Vec<_> = traces.iter().filter(|b| b.crashed).map(|b| b.cpu).collect();
        let want = o["panic_cpu"].as_i64().unwrap();
        if want < 0 {
            assert!(crashed.is_empty(), "{name}");
        } else {
            assert_eq!(crashed, [Some(want as u32)], "{name}");
        }
    }
    assert_eq!(
        dropped_all,
        [(
            "vmcore-raw",
            2,
            (Some("read_zero".to_string()), 0xb8, false)
        )]
    );
}

/// `ps`: the task list equals drgn's `for_each_task` (pid, tgid, comm, state letter, CPU), and
/// each CPU's current task is the one drgn found on its run queue.
#[test]
fn arm64_tasks_equal_drgn() {
    for name in DUMPS {
        let d = dump(name);
        let o = oracle("crash", name);
        let kernel = Kernel::new(&d).expect("kernel");
        let list = kernel.tasks().expect("tasks");
        assert!(list.findings.is_empty(), "{name}: {:?}", list.findings);
        let ours: Vec<(i64, i64, String, String, i64)> = list
            .tasks
            .iter()
            .map(|t| {
                (
                    i64::from(t.pid),
                    i64::from(t.tgid),
                    t.comm.clone(),
                    t.state.to_string(),
                    i64::from(t.cpu),
                )
            })
            .collect();
        let mut want: Vec<(i64, i64, String, String, i64)> = o["tasks"]
            .as_array()
            .expect("tasks")
            .iter()
            .map(|t| {
                (
                    t["pid"].as_i64().unwrap(),
                    t["tgid"].as_i64().unwrap(),
                    t["comm"].as_str().unwrap().to_string(),
                    t["state"].as_str().unwrap().to_string(),
                    t["cpu"].as_i64().unwrap(),
                )
            })
            .collect();
        want.sort();
        let mut sorted = ours.clone();
        sorted.sort();
        assert_eq!(sorted, want, "{name}");
        let a = oracle("arm64", name);
        for p in a["percpu"].as_array().expect("percpu") {
            let cpu = p["cpu"].as_u64().unwrap() as u32;
            let rq = kernel.cpu_tasks(cpu).expect("run queue");
            assert_eq!(
                rq.curr,
                p["curr_task"].as_u64().unwrap(),
                "{name}: CPU {cpu}"
            );
        }
    }
}

/// Sleeping tasks (drgn's first 40 by pid) unwind from `thread.cpu_context` to drgn's frames;
/// tasks running on a CPU unwind from that CPU's register note.
#[test]
fn arm64_task_traces_equal_drgn() {
    for name in DUMPS {
        let d = dump(name);
        let o = oracle("crash", name);
        let kernel = Kernel::new(&d).expect("kernel");
        let list = kernel.tasks().expect("tasks");
        let unwinder = kernel.unwinder_with_modules().expect("unwinder");
        let mut compared = 0;
        for t in o["task_traces"].as_array().expect("task_traces") {
            let pid = t["pid"].as_i64().unwrap() as i32;
            let task = list
                .by_pid(pid)
                .unwrap_or_else(|| panic!("{name}: pid {pid} not found"));
            let trace = kernel
                .task_backtrace_with(&unwinder, task)
                .unwrap_or_else(|e| panic!("{name}: pid {pid}: {e}"));
            let wanted = oracle_frames(&t["frames"]);
            let (ours, _) = without_extra_link_register_frames(&trace, &wanted);
            assert_eq!(ours, wanted, "{name}: pid {pid}");
            assert!(
                trace.stop.is_complete(),
                "{name}: pid {pid}: {}",
                trace.stop
            );
            compared += 1;
        }
        assert_eq!(compared, 40, "{name}");
    }
}

/// The one loaded module (qemu_fw_cfg) is where 6.5+ arm64 puts modules, within 2 GiB below the
/// randomized image and outside vmcoreinfo's MODULES_VADDR..MODULES_END: its code is module
/// code, named by the module list drgn gives.
#[test]
fn arm64_module_code_is_named() {
    use kernel_introspect::unwind::{CodeArea, StartRegs, Unwinder};
    let d = dump("vmcore-raw");
    let o = oracle("crash", "vmcore-raw");
    let kernel = Kernel::new(&d).expect("kernel");
    let m = &o["modules"][0];
    assert_eq!(m["name"], "qemu_fw_cfg");
    let text = m["text_base"].as_u64().unwrap();
    let mods = kernel.modules().expect("modules");
    assert_eq!(
        mods.modules
            .iter()
            .map(|m| m.name.as_str())
            .collect::<Vec<_>>(),
        ["qemu_fw_cfg"]
    );
    let u = kernel.unwinder().expect("unwinder");
    let mut trace = u.unwind(&StartRegs {
        ip: text + 0x40,
        ..StartRegs::default()
    });
    kernel.name_module_frames(&mut trace);
    assert_eq!(trace.frames[0].area, CodeArea::Module);
    assert_eq!(trace.frames[0].module.as_deref(), Some("qemu_fw_cfg"));
}

/// Each CPU's IRQ stack is where drgn reads per-CPU `irq_stack_ptr` (16 KiB, vmalloc'd), and its
/// overflow stack is its copy of `overflow_stack`; all disjoint, none holding a frame of the
/// (task-stack) traces above.
#[test]
fn arm64_irq_and_overflow_stacks_are_found() {
    use kernel_introspect::unwind::StackKind;
    for name in DUMPS {
        let d = dump(name);
        let o = oracle("arm64", name);
        let kernel = Kernel::new(&d).expect("kernel");
        let u = kernel.unwinder().expect("unwinder");
        let stacks = u.stacks();
        for p in o["percpu"].as_array().expect("percpu") {
            let cpu = p["cpu"].as_u64().unwrap() as u32;
            let irq = stacks
                .iter()
                .find(|s| s.cpu == cpu && s.kind == StackKind::Irq)
                .unwrap_or_else(|| panic!("{name}: CPU {cpu}: no IRQ stack"));
            assert_eq!(irq.start, p["irq_stack_ptr"].as_u64().unwrap(), "{name}");
            assert_eq!(irq.end - irq.start, 16 * 1024);
            let overflow = stacks
                .iter()
                .find(|s| s.cpu == cpu && s.kind == StackKind::Overflow)
                .expect("overflow stack");
            assert_eq!(overflow.end - overflow.start, 4096);
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
}
