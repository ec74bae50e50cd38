//! Tasks and modules read through the dump's own BTF, against drgn with Debian's full debug
//! vmlinux (testdata/real/oracles/drgn-crash-*.json).

use kernel_introspect::Kernel;
use kernel_introspect::mem::KernelMemory;
use kernel_introspect::task::state_letter;
use serde_json::Value;

use crate::support::{FrameKey, frame_keys, oracle_frames};

use crate::support;

/// `(pid, tgid, comm, state, cpu)` of every task, as the oracle lists them (by pid).
fn oracle_tasks(oracle: &Value) -> Vec<(i64, i64, String, String, i64)> {
    oracle["tasks"]
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
        .collect()
}

fn our_tasks(dump: &vmcore::Dump) -> Vec<(i64, i64, String, String, i64)> {
    let kernel = Kernel::new(dump).expect("kernel");
    let list = kernel.tasks().expect("tasks");
    assert!(list.findings.is_empty(), "{:?}", list.findings);
    list.tasks
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
        .collect()
}

#[test]
fn tasks_equal_drgn_on_proc_vmcore() {
    let oracle = support::drgn_oracle("proc-vmcore");
    let want = oracle_tasks(&oracle);
    assert_eq!(want.len(), 79);
    assert_eq!(our_tasks(&support::proc_vmcore()), want);
}

#[test]
fn tasks_equal_drgn_on_qemu_dump_06() {
    let oracle = support::drgn_oracle("qemu-dump-06-cpu3-online");
    assert_eq!(our_tasks(&support::qemu_dump_06()), oracle_tasks(&oracle));
    // QEMU's kdump-zlib twin of the same dump keeps every page: the same tasks and modules.
    let zlib = support::real_dump("qemu-dumps/dump-06-cpu3-online.kdump-zlib");
    assert_eq!(our_tasks(&zlib), oracle_tasks(&oracle));
    let kernel = Kernel::new(&zlib).expect("kernel");
    let m = &kernel.modules().expect("modules").modules;
    assert_eq!(m.len(), 1);
    assert_eq!(
        (m[0].name.as_str(), m[0].text_base, m[0].text_size),
        (
            oracle["modules"][0]["name"].as_str().expect("name"),
            oracle["modules"][0]["text_base"].as_u64().expect("base"),
            oracle["modules"][0]["text_size"].as_u64().expect("size"),
        )
    );
}

/// makedumpfile -d 31 drops user, cache, free and zero pages: a task_struct in a page it left
/// out cannot be read; the walk reports it and finds the rest backwards, through the process
/// tree and the pid IDR. Every task whose page is there equals drgn's.
#[test]
fn tasks_equal_drgn_on_makedumpfile_twins() {
    let want = oracle_tasks(&support::drgn_oracle("proc-vmcore"));
    let full = support::proc_vmcore();
    let full_kernel = Kernel::new(&full).expect("kernel");
    let full_list = full_kernel.tasks().expect("tasks");
    for dump in [support::makedumpfile_c(), support::makedumpfile_flat()] {
        let kernel = Kernel::new(&dump).expect("kernel");
        let list = kernel.tasks().expect("tasks");
        let got: Vec<_> = list
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
        // Every task read equals drgn's.
        assert!(got.iter().all(|g| want.contains(g)));
        // makedumpfile 1.7.2 left out slab pages holding two task_structs (pids 48 and 181,
        // on both the task list and kthreadd's children list) and one page of 20 struct pids
        // (the pid IDR's way to the tasks between them). Each is a finding naming an address
        // that is readable in the ELF dump and not in the twin.
        let missing: Vec<u64> = list.findings.iter().map(|f| f.addr).collect();
        assert_eq!(missing.len(), 3, "{:?}", list.findings);
        for addr in &missing {
            assert!(
                kernel.memory().read_u32(*addr).is_err(),
                "{addr:#x} readable"
            );
            assert!(
                full_kernel.memory().read_u32(*addr).is_ok(),
                "{addr:#x} not in ELF"
            );
        }
        assert!(
            list.findings[2].detail.contains("20 struct pid"),
            "{}",
            list.findings[2]
        );
        let pids: Vec<i32> = list.tasks.iter().map(|t| t.pid).collect();
        for (pid, addr) in [(48, missing[0]), (181, missing[1])] {
            assert!(!pids.contains(&pid));
            assert_eq!(full_list.by_pid(pid).expect("in the ELF dump").addr, addr);
        }
        // The rest: the tasks before and after the gap on the list, and those the IDR reached.
        assert_eq!(got.len(), 58, "{} of {} tasks", got.len(), want.len());
    }
}

#[test]
fn each_cpu_runs_the_task_drgn_names() {
    for (dump, name) in [
        (support::proc_vmcore(), "proc-vmcore"),
        (support::qemu_dump_06(), "qemu-dump-06-cpu3-online"),
    ] {
        let oracle = support::drgn_oracle(name);
        let kernel = Kernel::new(&dump).expect("kernel");
        let list = kernel.tasks().expect("tasks");
        let want: Vec<(u32, i32, String)> = oracle["cpus"]
            .as_array()
            .expect("cpus")
            .iter()
            .map(|c| {
                (
                    c["cpu"].as_u64().expect("cpu") as u32,
                    c["pid"].as_i64().expect("pid") as i32,
                    c["comm"].as_str().expect("comm").to_string(),
                )
            })
            .collect();
        let got: Vec<(u32, i32, String)> = list
            .cpus
            .iter()
            .map(|rq| {
                let t = list
                    .tasks
                    .iter()
                    .chain(&list.idle)
                    .find(|t| t.addr == rq.curr)
                    .expect("rq->curr is a known task");
                assert_eq!(t.running_on, Some(rq.cpu), "{name}: {t:?}");
                (rq.cpu, t.pid, t.comm.clone())
            })
            .collect();
        assert_eq!(got, want, "{name}");
        // One idle task per online CPU, named as the kernel names them.
        let idle: Vec<String> = list.idle.iter().map(|t| t.comm.clone()).collect();
        assert_eq!(idle, ["swapper/0", "swapper/2", "swapper/3"], "{name}");
        assert!(list.idle.iter().all(|t| t.pid == 0));
    }
}

#[test]
fn ppid_and_kernel_threads() {
    let dump = support::proc_vmcore();
    let kernel = Kernel::new(&dump).expect("kernel");
    let list = kernel.tasks().expect("tasks");
    let by = |pid| list.by_pid(pid).expect("task");
    // init and kthreadd are children of the idle task; kernel threads of kthreadd.
    assert_eq!((by(1).ppid, by(2).ppid, by(3).ppid), (0, 0, 2));
    assert!(!by(1).is_kernel_thread() && by(2).is_kernel_thread());
    // The crashing shell (drgn's crashed thread) is a user process on CPU 0.
    let sh = by(874);
    assert_eq!(
        (sh.comm.as_str(), sh.running_on, sh.on_cpu),
        ("sh", Some(0), true)
    );
    assert_eq!(sh.ppid, 1);
}

#[test]
fn state_letters_follow_the_kernel() {
    // TASK_RUNNING, TASK_INTERRUPTIBLE, TASK_UNINTERRUPTIBLE, __TASK_STOPPED, __TASK_TRACED.
    assert_eq!(state_letter(0, 0), 'R');
    assert_eq!(state_letter(1, 0), 'S');
    assert_eq!(state_letter(2, 0), 'D');
    assert_eq!(state_letter(0x4, 0), 'T');
    assert_eq!(state_letter(0x8, 0), 't');
    // exit_state EXIT_DEAD / EXIT_ZOMBIE; TASK_PARKED; TASK_IDLE = UNINTERRUPTIBLE|NOLOAD.
    assert_eq!(state_letter(0, 0x10), 'X');
    assert_eq!(state_letter(0x80, 0x20), 'Z');
    assert_eq!(state_letter(0x40, 0), 'P');
    assert_eq!(state_letter(0x402, 0), 'I');
    // TASK_WAKEKILL|TASK_UNINTERRUPTIBLE = TASK_KILLABLE; RT-lock waits and frozen tasks show D.
    assert_eq!(state_letter(0x102, 0), 'D');
    assert_eq!(state_letter(0x1000, 0), 'D');
    assert_eq!(state_letter(0x8000, 0), 'D');
}

#[test]
fn modules_equal_drgn() {
    for (dump, name) in [
        (support::proc_vmcore(), "proc-vmcore"),
        (support::qemu_dump_06(), "qemu-dump-06-cpu3-online"),
        (support::makedumpfile_c(), "proc-vmcore"),
    ] {
        let oracle = support::drgn_oracle(name);
        let kernel = Kernel::new(&dump).expect("kernel");
        let mods = kernel.modules().expect("modules");
        assert!(mods.findings.is_empty(), "{:?}", mods.findings);
        let want: Vec<(String, u64, u64)> = oracle["modules"]
            .as_array()
            .expect("modules")
            .iter()
            .map(|m| {
                (
                    m["name"].as_str().expect("name").to_string(),
                    m["text_base"].as_u64().expect("base"),
                    m["text_size"].as_u64().expect("size"),
                )
            })
            .collect();
        let got: Vec<(String, u64, u64)> = mods
            .modules
            .iter()
            .map(|m| (m.name.clone(), m.text_base, m.text_size))
            .collect();
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn module_symbols_resolve_module_text() {
    let dump = support::proc_vmcore();
    let kernel = Kernel::new(&dump).expect("kernel");
    let mods = kernel.modules().expect("modules");
    let m = &mods.modules[0];
    assert_eq!(m.name, "qemu_fw_cfg");
    assert!(m.symbols.len() > 10, "{} symbols", m.symbols.len());
    let orc = m.orc.expect("module ORC");
    assert!(orc.count > 0);
    // Every defined text symbol of the module resolves to itself, with the module named.
    let mut checked = 0;
    for s in m.symbols.iter().filter(|s| {
        !s.undefined && matches!(s.kind, 't' | 'T') && m.contains(s.addr) && !s.name.is_empty()
    }) {
        let at = kernel.symbolize_any(s.addr + 1).expect("resolves");
        assert_eq!(at.module, Some("qemu_fw_cfg"));
        assert_eq!(at.addr, s.addr, "{} vs {}", at.name, s.name);
        assert_eq!(at.offset, 1);
        checked += 1;
    }
    assert!(checked > 5, "{checked}");
    assert_eq!(
        kernel.symbolize_any(m.text_base + m.text_size),
        None,
        "past the module's text"
    );
    // Kernel addresses still resolve without a module.
    let pc = 0xffff_ffff_896e_399b_u64; // drgn: __schedule+1275 (pid 1's first frame)
    let at = kernel.symbolize_any(pc).expect("kernel symbol");
    assert_eq!((at.name, at.offset, at.module), ("__schedule", 1275, None));
}

fn oracle_traces(oracle: &Value) -> Vec<(i32, Vec<FrameKey>)> {
    oracle["task_traces"]
        .as_array()
        .expect("task_traces")
        .iter()
        .map(|t| {
            let frames = oracle_frames(&t["frames"]);
            (t["pid"].as_i64().expect("pid") as i32, frames)
        })
        .collect()
}

fn our_traces(dump: &vmcore::Dump, pids: &[i32]) -> Vec<(i32, Vec<FrameKey>)> {
    let kernel = Kernel::new(dump).expect("kernel");
    let list = kernel.tasks().expect("tasks");
    let unwinder = kernel.unwinder_with_modules().expect("unwinder");
    pids.iter()
        .map(|&pid| {
            let task = list.by_pid(pid).expect("task");
            let trace = kernel.task_backtrace_with(&unwinder, task).expect("trace");
            assert!(trace.stop.is_complete(), "pid {pid}: {}", trace.stop);
            (pid, frame_keys(&trace.frames))
        })
        .collect()
}

#[test]
fn sleeping_task_traces_equal_drgn() {
    for (dump, name) in [
        (support::proc_vmcore(), "proc-vmcore"),
        (support::qemu_dump_06(), "qemu-dump-06-cpu3-online"),
    ] {
        let want = oracle_traces(&support::drgn_oracle(name));
        assert_eq!(want.len(), 40);
        let pids: Vec<i32> = want.iter().map(|w| w.0).collect();
        let got = our_traces(&dump, &pids);
        for (g, w) in got.iter().zip(&want) {
            assert_eq!(g, w, "{name}: pid {}", w.0);
        }
    }
}

/// The stacks are kernel pages makedumpfile keeps: every task it kept unwinds as on the full
/// dump.
#[test]
fn sleeping_task_traces_equal_drgn_on_makedumpfile_twin() {
    let want = oracle_traces(&support::drgn_oracle("proc-vmcore"));
    let dump = support::makedumpfile_c();
    let kernel = Kernel::new(&dump).expect("kernel");
    let list = kernel.tasks().expect("tasks");
    let kept: Vec<&(i32, Vec<FrameKey>)> =
        want.iter().filter(|w| list.by_pid(w.0).is_some()).collect();
    assert!(kept.len() >= 35, "{} of 40", kept.len());
    let pids: Vec<i32> = kept.iter().map(|w| w.0).collect();
    let got = our_traces(&dump, &pids);
    for (g, w) in got.iter().zip(kept) {
        assert_eq!(g, w, "pid {}", w.0);
    }
}

#[test]
fn running_task_trace_is_its_cpus_and_module_frames_are_named() {
    let dump = support::proc_vmcore();
    let kernel = Kernel::new(&dump).expect("kernel");
    let oracle = support::drgn_oracle("proc-vmcore");
    let list = kernel.tasks().expect("tasks");
    // pid 874 ran on CPU 0: its trace is CPU 0's, from the register note.
    let sh = list.by_pid(874).expect("sh");
    let trace = kernel.task_backtrace(sh).expect("trace");
    let want: Vec<(Option<String>, bool)> = oracle["cpus"][0]["frames"]
        .as_array()
        .expect("frames")
        .iter()
        .map(|f| {
            (
                f["symbol"].as_str().map(str::to_string),
                f["interrupted"].as_bool().expect("b"),
            )
        })
        .collect();
    let got: Vec<(Option<String>, bool)> = trace
        .frames
        .iter()
        .map(|f| (f.symbol.as_ref().map(|s| s.name.clone()), f.interrupted()))
        .collect();
    assert_eq!(got, want);
    // A frame in module text gets the module's symbol and name, as %pS prints it.
    let m = &kernel.modules().expect("modules").modules[0];
    let sym = m
        .symbols
        .iter()
        .find(|s| s.kind == 't' && m.contains(s.addr) && s.size > 8)
        .expect("a text symbol");
    let mut fake = trace.clone();
    fake.frames[1].pc = sym.addr + 5;
    fake.frames[1].symbol = None;
    fake.frames[1].area = kernel_introspect::unwind::CodeArea::Module;
    kernel.name_module_frames(&mut fake);
    let f = &fake.frames[1];
    assert_eq!(f.module.as_deref(), Some("qemu_fw_cfg"));
    let s = f.symbol.as_ref().expect("named");
    assert_eq!((s.name.as_str(), s.offset), (sym.name.as_str(), 5));
    assert!(
        f.location().starts_with(&format!("{}+0x5/", sym.name)),
        "{}",
        f.location()
    );
}

/// Hostile task lists, built in memory with a made-up `task_struct` layout: every walk ends,
/// with the tasks it could read and a finding naming where it went wrong.
mod hostile {
    use kernel_introspect::mem::MemoryMap;
    use kernel_introspect::task::{TaskLayout, TaskWalker, ThreadLinks};

    const SIZE: u64 = 0x100;
    const INIT: u64 = 0xffff_8880_0000_0000;

    fn layout() -> TaskLayout {
        TaskLayout {
            tasks: 0x10,
            pid: 0x20,
            tgid: 0x24,
            comm: (0x30, 16),
            state: (0x0, 4),
            exit_state: 0x40,
            cpu: 0x44,
            on_cpu: Some(0x48),
            flags: 0x4c,
            real_parent: 0x50,
            stack: 0x58,
            threads: ThreadLinks::ThreadGroup { thread_group: 0x60 },
            thread_sp: 0x70,
            children: Some((0x80, 0x90)),
            pid_idr: None,
        }
    }

    /// Task `i` lives at `INIT + i * SIZE` (0 is init_task).
    fn at(i: u64) -> u64 {
        INIT + i * SIZE
    }

    /// A task_struct whose `tasks` list points to tasks `next`/`prev` (by index), a thread
    /// group ring through `thread_next`, and empty children.
    fn task(pid: u32, next: u64, prev: u64, thread_next: u64) -> Vec<u8> {
        let mut b = vec![0u8; SIZE as usize];
        let l = layout();
        let put = |b: &mut Vec<u8>, off: u64, v: &[u8]| {
            b[off as usize..off as usize + v.len()].copy_from_slice(v)
        };
        put(&mut b, l.tasks, &(at(next) + l.tasks).to_le_bytes());
        put(&mut b, l.tasks + 8, &(at(prev) + l.tasks).to_le_bytes());
        put(&mut b, l.pid, &pid.to_le_bytes());
        put(&mut b, l.tgid, &pid.to_le_bytes());
        put(&mut b, l.comm.0, format!("task{pid}").as_bytes());
        put(&mut b, l.state.0, &1u32.to_le_bytes());
        put(&mut b, l.real_parent, &at(0).to_le_bytes());
        put(&mut b, 0x60, &(at(thread_next) + 0x60).to_le_bytes());
        let children = at(pid as u64) + 0x80; // an empty list: points to itself
        put(&mut b, 0x80, &children.to_le_bytes());
        put(&mut b, 0x88, &children.to_le_bytes());
        b
    }

    fn walk(tasks: &[(u64, Vec<u8>)]) -> kernel_introspect::task::TaskList {
        let mut mem = MemoryMap::new();
        for (i, bytes) in tasks {
            mem.insert(at(*i), bytes.clone());
        }
        TaskWalker::new(&mem, layout()).walk(INIT)
    }

    fn pids(list: &kernel_introspect::task::TaskList) -> Vec<i32> {
        list.tasks.iter().map(|t| t.pid).collect()
    }

    #[test]
    fn a_well_formed_ring_is_read_whole() {
        let list = walk(&[
            (0, task(0, 1, 3, 0)),
            (1, task(1, 2, 0, 1)),
            (2, task(2, 3, 1, 2)),
            (3, task(3, 0, 2, 3)),
        ]);
        assert!(list.findings.is_empty(), "{:?}", list.findings);
        assert_eq!(pids(&list), [1, 2, 3]);
        assert_eq!(list.tasks[0].comm, "task1");
        assert_eq!(list.tasks[0].state, 'S');
    }

    #[test]
    fn a_cycle_that_misses_init_task_ends_with_a_finding() {
        // init → 1 → 2 → 1 → 2 …
        let list = walk(&[
            (0, task(0, 1, 2, 0)),
            (1, task(1, 2, 0, 1)),
            (2, task(2, 1, 1, 2)),
        ]);
        assert_eq!(pids(&list), [1, 2]);
        assert_eq!(list.findings.len(), 1, "{:?}", list.findings);
        assert!(list.findings[0].detail.contains("loops back"));
        assert_eq!(list.findings[0].addr, at(1) + 0x10);
        // A task pointing at itself.
        let list = walk(&[(0, task(0, 1, 1, 0)), (1, task(1, 1, 0, 1))]);
        assert_eq!(pids(&list), [1]);
        assert!(list.findings[0].detail.contains("loops back"));
    }

    #[test]
    fn an_unreadable_task_is_named_and_the_rest_read_backwards() {
        // init ⇄ 1 ⇄ 2 (missing) ⇄ 3 ⇄ init.
        let list = walk(&[
            (0, task(0, 1, 3, 0)),
            (1, task(1, 2, 0, 1)),
            (3, task(3, 0, 2, 3)),
        ]);
        assert_eq!(pids(&list), [1, 3]);
        assert_eq!(list.findings.len(), 1, "{:?}", list.findings);
        assert_eq!(list.findings[0].addr, at(2));
        assert!(list.findings[0].detail.contains("cannot be read"));
    }

    #[test]
    fn a_thread_ring_that_never_returns_ends_with_a_finding() {
        // Task 1's thread group: 1 → 2 → 3 → 2 …; tasks 2 and 3 are threads, not on the list.
        let mut t2 = task(2, 0, 0, 3);
        let mut t3 = task(3, 0, 0, 2);
        for t in [&mut t2, &mut t3] {
            t[0x24..0x28].copy_from_slice(&1u32.to_le_bytes()); // tgid 1
        }
        let list = walk(&[
            (0, task(0, 1, 1, 0)),
            (1, task(1, 0, 0, 2)),
            (2, t2),
            (3, t3),
        ]);
        assert_eq!(pids(&list), [1, 2, 3]);
        assert!(list.tasks[1..].iter().all(|t| t.tgid == 1));
        assert_eq!(list.findings.len(), 1, "{:?}", list.findings);
        assert!(list.findings[0].detail.contains("loops back"));
    }

    #[test]
    fn an_unreadable_head_is_a_finding() {
        let list = walk(&[]);
        assert!(list.tasks.is_empty());
        assert_eq!(list.findings.len(), 1);
        assert_eq!(list.findings[0].addr, at(0) + 0x10);
    }
}

#[test]
fn owned_symbol_tables_answer_as_the_kernel_does() {
    let dump = support::proc_vmcore();
    let oracle = support::drgn_oracle("proc-vmcore");
    let map = support::system_map();
    let kernel = Kernel::new(&dump).expect("kernel");
    let m = kernel.modules().expect("modules").modules[0].clone();
    let module_sym = m
        .symbols
        .iter()
        .find(|s| !s.undefined && matches!(s.kind, 't' | 'T') && m.contains(s.addr))
        .expect("a module text symbol")
        .clone();
    let pc = oracle["task_traces"][0]["frames"][0]["pc"]
        .as_u64()
        .expect("pc");
    let banner = kernel.symbol_addr("linux_banner", "test").expect("banner");
    let tables = kernel.into_symbol_tables();
    // Kernel text: drgn's frame (pid 1's first) names __schedule+1275.
    let at = tables.symbolize(pc).expect("kernel symbol");
    assert_eq!((at.name, at.offset, at.module), ("__schedule", 1275, None));
    // Module text: named with the module, as drgn lists it.
    let at = tables
        .symbolize(module_sym.addr + 1)
        .expect("module symbol");
    assert_eq!(
        (at.addr, at.offset, at.module),
        (module_sym.addr, 1, Some("qemu_fw_cfg"))
    );
    assert_eq!(tables.lookup(&module_sym.name), Some(module_sym.addr));
    // Names resolve to the run-time address System.map + KERNELOFFSET gives.
    let offset = dump
        .vmcoreinfo()
        .and_then(|v| v.kernel_offset())
        .expect("KERNELOFFSET");
    let linked = map
        .iter()
        .find(|(_, _, n)| n == "linux_banner")
        .map(|(a, _, _)| *a)
        .expect("System.map has linux_banner");
    assert_eq!(tables.lookup("linux_banner"), Some(linked + offset));
    assert_eq!(tables.lookup("linux_banner"), Some(banner));
    assert_eq!(tables.lookup("no_such_symbol_anywhere"), None);
}

#[test]
fn crash_summary_names_drgns_crashed_cpu_and_task() {
    let dump = support::proc_vmcore();
    let oracle = support::drgn_oracle("proc-vmcore");
    let kernel = Kernel::new(&dump).expect("kernel");
    let s = kernel.crash_summary().expect("summary");
    assert_eq!(u64::from(s.cpu), oracle["panic_cpu"].as_u64().expect("cpu"));
    assert_eq!(
        s.pid.map(u64::from),
        oracle["crashed_tid"].as_u64(),
        "crashed task"
    );
    assert_eq!(s.comm.as_deref(), oracle["cpus"][0]["comm"].as_str());
    // drgn's frames #0-#3 of the crashed CPU, as `function+0xoff`.
    let want: Vec<String> = oracle["cpus"][0]["frames"]
        .as_array()
        .expect("frames")
        .iter()
        .take(4)
        .map(|f| {
            format!(
                "{}+{:#x}",
                f["symbol"].as_str().expect("symbol"),
                f["offset"].as_u64().expect("offset")
            )
        })
        .collect();
    assert_eq!(s.frames, want);
    assert_eq!(
        s.to_string(),
        format!(
            "CPU {}, pid {} ({}) in sysrq_handle_crash+0x1a",
            s.cpu,
            s.pid.expect("pid"),
            s.comm.as_deref().expect("comm")
        )
    );
}
