//! The kernel views (CPU backtraces, tasks, the crash line, symbols in the hex view) on the
//! real dump, checked against drgn 0.3.0 with Debian's full debug vmlinux of this kernel
//! (testdata/real/oracles/drgn-crash-proc-vmcore.json) and against vmcoreinfo's own symbol
//! addresses.

use crossterm::event::KeyCode;
use insta::assert_snapshot;
use vmcore_tui::state::{AddrSpace, TaskSort};
use vmcore_tui::{Action, View, update};

use crate::{key, press, real_app, render, type_text};

fn oracle() -> serde_json::Value {
    let path = real_data::path("oracles/drgn-crash-proc-vmcore.json").expect("drgn oracle");
    let text = std::fs::read_to_string(path).expect("read the drgn oracle");
    serde_json::from_str(&text).expect("the drgn oracle is JSON")
}

/// How the TUI shows drgn's frame: `symbol+0xoff/` (the size follows), or the user-mode
/// context that ends a trace after a syscall.
fn drgn_frame(f: &serde_json::Value) -> String {
    match (f["symbol"].as_str(), f["offset"].as_u64()) {
        (Some(s), Some(o)) => format!("{s}+{o:#x}/"),
        _ => "(user space) at".to_string(),
    }
}

#[test]
fn cpu_list_shows_real_cpu_numbers_and_the_function_each_stopped_in() {
    let oracle = oracle();
    let mut app = real_app();
    update(&mut app, Action::ShowView(View::Cpus));
    let screen = render(&app, 160, 24);
    let rows: Vec<&str> = screen.lines().skip(3).take(3).collect();
    let cpus = oracle["cpus"].as_array().expect("cpus");
    assert_eq!(rows.len(), cpus.len());
    for (row, want) in rows.iter().zip(cpus) {
        // NOTE, then CPU: the CPU column is the kernel's number, not the note's position.
        let cols: Vec<&str> = row
            .trim_matches(['│', '"', ' '])
            .split_whitespace()
            .collect();
        assert_eq!(
            cols.get(1).copied(),
            Some(want["cpu"].as_u64().expect("cpu").to_string().as_str()),
            "{row}"
        );
        let top = drgn_frame(&want["frames"][0]);
        assert!(row.contains(&top), "{row} lacks {top}");
    }
    assert!(rows[0].contains("crashed"), "{}", rows[0]);
}

#[test]
fn enter_on_a_cpu_shows_drgns_frames_and_esc_closes_it() {
    let oracle = oracle();
    let mut app = real_app();
    press(&mut app, &[key(KeyCode::Char('2')), key(KeyCode::Enter)]);
    assert_eq!(app.cpu_detail, Some(0));
    let screen = render(&app, 160, 60);
    let want: Vec<String> = oracle["cpus"][0]["frames"]
        .as_array()
        .expect("frames")
        .iter()
        .map(drgn_frame)
        .collect();
    // Frame lines in order, each `#N [sp] func+0xoff/0xsize at pc`.
    let frames: Vec<&str> = screen.lines().filter(|l| l.contains("] ")).collect();
    for (i, w) in want.iter().enumerate() {
        let line = frames
            .get(i)
            .unwrap_or_else(|| panic!("no frame #{i}:\n{screen}"));
        assert!(line.contains(&format!("#{i} [")), "{line}");
        assert!(line.contains(w.as_str()), "frame #{i}: {line} is not {w}");
    }
    assert!(frames[0].contains("(interrupted)"), "{}", frames[0]);
    // The trace ends at the user-mode boundary of the `echo c` syscall.
    let last = frames.last().expect("frames");
    assert!(last.contains("(user mode"), "{last}");
    assert!(screen.contains("stop: "), "{screen}");
    press(&mut app, &[key(KeyCode::Esc)]);
    assert_eq!(app.cpu_detail, None);
    assert!(!render(&app, 160, 60).contains("Backtrace"));
}

#[test]
fn overview_names_the_crashed_cpu_task_and_function_as_vmcore_info_does() {
    let oracle = oracle();
    let app = real_app();
    let screen = render(&app, 160, 48);
    let cpu = oracle["panic_cpu"].as_u64().expect("panic_cpu");
    let pid = oracle["crashed_tid"].as_u64().expect("crashed_tid");
    let comm = oracle["cpus"][0]["comm"].as_str().expect("comm");
    let line = format!("Crashed     CPU {cpu}, pid {pid} ({comm}) in ");
    assert!(screen.contains(&line), "no {line:?} in\n{screen}");
    // The same summary the library gives `vmcore info`.
    let kernel = kernel_introspect::Kernel::new(&app.dump).expect("kernel");
    let summary = kernel.crash_summary().expect("crash summary").to_string();
    assert!(screen.contains(&summary), "{summary}\n{screen}");
}

/// The tasks view's rows as (pid, ppid, cpu, state, comm), in screen order.
fn task_rows(app: &vmcore_tui::App) -> Vec<(i32, i32, u32, char, String)> {
    let tasks = app.task_list();
    app.task_rows
        .iter()
        .map(|&i| {
            let e = &tasks[i];
            (
                e.task.pid,
                e.task.ppid,
                e.cpu(),
                e.task.state,
                e.task.comm.clone(),
            )
        })
        .collect()
}

#[test]
fn tasks_view_lists_drgns_tasks_and_sorts_by_pid_state_and_cpu() {
    let oracle = oracle();
    let mut app = real_app();
    press(&mut app, &[key(KeyCode::Char('3'))]);
    assert_eq!(app.view, View::Tasks);
    let rows = task_rows(&app);
    // drgn lists every task but the idle ones (pid 0), by pid.
    let mut want: Vec<(i64, String, String, u64)> = oracle["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .map(|t| {
            (
                t["pid"].as_i64().expect("pid"),
                t["comm"].as_str().expect("comm").to_string(),
                t["state"].as_str().expect("state").to_string(),
                t["cpu"].as_u64().expect("cpu"),
            )
        })
        .collect();
    want.sort();
    let got: Vec<(i64, String, String, u64)> = rows
        .iter()
        .filter(|r| r.0 != 0)
        .map(|r| (i64::from(r.0), r.4.clone(), r.3.to_string(), u64::from(r.2)))
        .collect();
    assert_eq!(got, want);
    let idle = rows.iter().filter(|r| r.0 == 0).count();
    assert_eq!(idle, oracle["online_cpus"].as_array().expect("cpus").len());

    press(&mut app, &[key(KeyCode::Char('s'))]);
    assert_eq!(app.task_sort, TaskSort::State);
    let order = "RDSItTPZX";
    let ranks: Vec<usize> = task_rows(&app)
        .iter()
        .map(|r| order.find(r.3).unwrap_or(usize::MAX))
        .collect();
    assert!(ranks.is_sorted(), "{ranks:?}");
    assert_eq!(task_rows(&app)[0].3, 'R', "running tasks first");

    press(&mut app, &[key(KeyCode::Char('c'))]);
    let cpus: Vec<u32> = task_rows(&app).iter().map(|r| r.2).collect();
    assert!(cpus.is_sorted(), "{cpus:?}");

    press(&mut app, &[key(KeyCode::Char('p'))]);
    assert_eq!(task_rows(&app), rows, "back to the pid order");
    // The help lists the sort keys.
    update(&mut app, Action::ToggleHelp);
    let help: String = vmcore_tui::keymap::help_rows()
        .iter()
        .map(|(_, k, h)| format!("{k} {h}\n"))
        .collect();
    for k in ["p sort by pid", "s sort by state", "c sort by CPU"] {
        assert!(help.contains(k), "{help}");
    }
}

#[test]
fn enter_on_a_sleeping_task_shows_drgns_stack_and_esc_closes_it() {
    let oracle = oracle();
    let mut app = real_app();
    press(&mut app, &[key(KeyCode::Char('3'))]);
    let want = &oracle["task_traces"][0];
    let pid = want["pid"].as_i64().expect("pid");
    let pos = task_rows(&app)
        .iter()
        .position(|r| i64::from(r.0) == pid)
        .expect("the task is listed");
    for _ in 0..pos {
        press(&mut app, &[key(KeyCode::Down)]);
    }
    press(&mut app, &[key(KeyCode::Enter)]);
    assert!(app.task_detail.is_some());
    let screen = render(&app, 160, 48);
    let frames: Vec<&str> = screen.lines().filter(|l| l.contains("] ")).collect();
    // drgn names inlined callers as frames of their own; the dump's ORC sees real frames only.
    let names: Vec<String> = want["frames"]
        .as_array()
        .expect("frames")
        .iter()
        .map(drgn_frame)
        .collect();
    assert_eq!(frames.len(), names.len(), "{screen}");
    for (line, w) in frames.iter().zip(&names) {
        assert!(line.contains(w.as_str()), "{line} is not {w}");
    }
    assert_snapshot!("task_stack_160x48", screen);
    press(&mut app, &[key(KeyCode::Esc)]);
    assert_eq!(app.task_detail, None);
    assert_eq!(app.view, View::Tasks);
}

#[test]
fn no_task_list_is_one_line_naming_config_debug_info_btf() {
    // A synthetic dump has no kernel to read: the view says why in one line, not a table.
    let mut app = crate::synthetic_app(&testgen::ElfSpec::default());
    press(&mut app, &[key(KeyCode::Char('3'))]);
    let screen = render(&app, 160, 10);
    let lines: Vec<&str> = screen
        .lines()
        .filter(|l| l.contains("no task list"))
        .collect();
    assert_eq!(lines.len(), 1, "{screen}");
    assert!(lines[0].contains("CONFIG_DEBUG_INFO_BTF"), "{screen}");
    assert!(!screen.contains("PPID"), "{screen}");
}

#[test]
fn goto_a_symbol_and_the_hex_view_names_it() {
    let mut app = real_app();
    let uts = app
        .dump
        .vmcoreinfo()
        .and_then(|v| v.symbol("init_uts_ns"))
        .expect("vmcoreinfo names init_uts_ns");
    press(
        &mut app,
        &[key(KeyCode::Char('5')), key(KeyCode::Char('g'))],
    );
    type_text(&mut app, "init_uts_ns+0x10");
    press(&mut app, &[key(KeyCode::Enter)]);
    assert_eq!(app.hex.space, AddrSpace::Virt);
    assert_eq!(app.hex.highlight, Some((uts + 0x10, 1)));
    let screen = render(&app, 120, 24);
    assert!(
        screen.contains(&format!("{:#x} = init_uts_ns+0x10/", uts + 0x10)),
        "{screen}"
    );
}

#[test]
fn qemu_dump_cpus_are_numbered_by_the_kernel_and_nothing_panicked() {
    let oracle: serde_json::Value = {
        let path = real_data::path("oracles/drgn-crash-qemu-dump-06-cpu3-online.json")
            .expect("drgn oracle");
        serde_json::from_str(&std::fs::read_to_string(path).expect("read")).expect("json")
    };
    let path = real_data::path("qemu-dumps/dump-06-cpu3-online.elf").expect("QEMU dump");
    let mut app = vmcore_tui::App::open(&path).expect("open the QEMU dump");
    vmcore_tui::jobs::run_pending(&mut app);
    // drgn: panic_cpu is -1; the overview says so instead of naming a CPU.
    assert_eq!(oracle["panic_cpu"].as_i64(), Some(-1));
    let screen = render(&app, 120, 30);
    assert!(
        screen.contains("Crashed     no CPU panicked (panic_cpu is -1)"),
        "{screen}"
    );
    update(&mut app, Action::ShowView(View::Cpus));
    let screen = render(&app, 120, 30);
    let rows: Vec<&str> = screen.lines().skip(3).take(app.dump.cpus().len()).collect();
    for want in oracle["cpus"].as_array().expect("cpus") {
        let n = want["cpu"].as_u64().expect("cpu").to_string();
        let top = drgn_frame(&want["frames"][0]);
        assert!(
            rows.iter().any(|r| {
                let cols: Vec<&str> = r.trim_matches(['│', '"', ' ']).split_whitespace().collect();
                cols.get(1) == Some(&n.as_str()) && r.contains(&top)
            }),
            "no row of CPU {n} in {top}:\n{screen}"
        );
    }
    assert_snapshot!("cpus_qemu_dump_06_120x30", screen);
}
