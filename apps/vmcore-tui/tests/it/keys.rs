//! Key sequences through the real key table, without a terminal.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use vmcore::PhysAddr;
use vmcore_tui::integrations::translate;
use vmcore_tui::keymap::{BINDINGS, help_rows};
use vmcore_tui::state::{AddrSpace, LogState};
use vmcore_tui::{View, jobs};

use crate::{key, press, real_app, render, synthetic_app, type_text};

#[test]
fn navigate_views_and_quit() {
    let mut app = real_app();
    press(&mut app, &[key(KeyCode::Char('2'))]);
    assert_eq!(app.view, View::Cpus);
    press(&mut app, &[key(KeyCode::Char('j')), key(KeyCode::Down)]);
    assert_eq!(app.cpus.selected, 2);
    press(&mut app, &[key(KeyCode::Down)]);
    assert_eq!(app.cpus.selected, 2, "stops at the last of the 3 CPUs");
    press(&mut app, &[key(KeyCode::Char('k')), key(KeyCode::Home)]);
    assert_eq!(app.cpus.selected, 0);
    press(&mut app, &[key(KeyCode::Tab)]);
    assert_eq!(app.view, View::Tasks, "Tasks come after CPUs");
    press(&mut app, &[key(KeyCode::Tab)]);
    assert_eq!(app.view, View::Memory);
    press(&mut app, &[key(KeyCode::BackTab), key(KeyCode::Left)]);
    assert_eq!(app.view, View::Cpus);
    press(&mut app, &[key(KeyCode::Left)]);
    assert_eq!(app.view, View::Overview);
    press(&mut app, &[key(KeyCode::Left)]);
    assert_eq!(app.view, View::Findings, "wraps around");
    assert!(app.running);
    press(&mut app, &[key(KeyCode::Char('q'))]);
    assert!(!app.running);
}

#[test]
fn ctrl_c_quits_even_from_a_prompt() {
    let mut app = real_app();
    press(
        &mut app,
        &[key(KeyCode::Char('5')), key(KeyCode::Char('g'))],
    );
    type_text(&mut app, "q");
    assert!(app.running, "q types into the prompt");
    assert_eq!(app.input.as_ref().map(|i| i.text.as_str()), Some("q"));
    let cc = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
    press(&mut app, &[cc]);
    assert!(app.input.is_none(), "C-c leaves the prompt");
    press(&mut app, &[cc]);
    assert!(!app.running);
}

#[test]
fn open_a_cpu_and_close_it() {
    let mut app = real_app();
    press(
        &mut app,
        &[
            key(KeyCode::Char('2')),
            key(KeyCode::Char('j')),
            key(KeyCode::Enter),
        ],
    );
    assert_eq!(app.cpu_detail, Some(1));
    // The backtrace comes first, the registers below it.
    let screen = render(&app, 80, 24);
    assert!(screen.contains("Backtrace"), "{screen}");
    assert!(screen.contains(" #0 ["), "{screen}");
    let screen = render(&app, 160, 60);
    assert!(screen.contains("Registers"), "{screen}");
    assert!(screen.contains("rip"), "{screen}");
    press(&mut app, &[key(KeyCode::Down), key(KeyCode::Down)]);
    assert_eq!(app.detail_scroll, 2);
    press(&mut app, &[key(KeyCode::Esc)]);
    assert_eq!(app.cpu_detail, None);
    assert_eq!(app.view, View::Cpus);
}

#[test]
fn cpu_detail_jumps_to_the_stack() {
    let mut app = real_app();
    press(
        &mut app,
        &[
            key(KeyCode::Char('2')),
            key(KeyCode::Enter),
            key(KeyCode::Char('s')),
        ],
    );
    assert_eq!(app.view, View::Hex);
    assert_eq!(app.hex.space, AddrSpace::Virt);
    let rsp = app.dump.cpus()[0]
        .regs
        .map(|r| r.sp())
        .expect("CPU 0 has registers");
    assert_eq!(app.hex.highlight, Some((rsp, 1)));
}

#[test]
fn goto_a_physical_address_and_page() {
    let mut app = real_app();
    press(&mut app, &[key(KeyCode::Char('5'))]);
    render(&app, 80, 24); // the hex view learns its geometry (8 bytes a row at 80 columns)
    press(&mut app, &[key(KeyCode::Char('g'))]);
    type_text(&mut app, "0x100000");
    press(&mut app, &[key(KeyCode::Enter)]);
    assert_eq!(app.hex.space, AddrSpace::Phys);
    assert_eq!(app.hex.top, 0x100000);
    let screen = render(&app, 80, 24);
    assert!(screen.contains("0000000000100000"), "{screen}");
    let rows = app.hex.rows() as u64;
    press(&mut app, &[key(KeyCode::PageDown)]);
    assert_eq!(app.hex.top, 0x100000 + rows * 8);
    press(&mut app, &[key(KeyCode::PageUp), key(KeyCode::Up)]);
    assert_eq!(app.hex.top, 0x100000 - 8);
}

#[test]
fn goto_a_virtual_address_reads_through_the_page_tables() {
    let mut app = real_app();
    let uts = app
        .dump
        .vmcoreinfo()
        .and_then(|v| v.symbol("init_uts_ns"))
        .expect("symbol");
    press(
        &mut app,
        &[key(KeyCode::Char('5')), key(KeyCode::Char('g'))],
    );
    type_text(&mut app, &format!("v:{uts:x}"));
    press(&mut app, &[key(KeyCode::Enter)]);
    assert_eq!(app.hex.space, AddrSpace::Virt);
    let screen = render(&app, 160, 48);
    // struct uts_namespace starts with the utsname (OFFSET(uts_namespace.name)=0): "Linux".
    assert!(screen.contains("|Linux"), "{screen}");
    assert!(translate(&app.dump, vmcore::VirtAddr(uts)).is_ok());
}

#[test]
fn goto_garbage_is_an_error_not_a_move() {
    let mut app = real_app();
    press(&mut app, &[key(KeyCode::Char('5'))]);
    let top = app.hex.top;
    press(&mut app, &[key(KeyCode::Char('g'))]);
    type_text(&mut app, "12 zz");
    press(&mut app, &[key(KeyCode::Enter)]);
    assert_eq!(app.hex.top, top);
    let screen = render(&app, 80, 24);
    assert!(screen.contains("not a hex address"), "{screen}");
    // A name that is no symbol is an error too, and does not move.
    press(&mut app, &[key(KeyCode::Char('g'))]);
    type_text(&mut app, "no_such_symbol_here");
    press(&mut app, &[key(KeyCode::Enter)]);
    assert_eq!(app.hex.top, top);
    let screen = render(&app, 120, 24);
    assert!(
        screen.contains("no_such_symbol_here: no such kernel or module symbol"),
        "{screen}"
    );
}

#[test]
fn goto_takes_p0x_for_physical_and_v0x_for_virtual() {
    let mut app = real_app();
    press(
        &mut app,
        &[key(KeyCode::Char('5')), key(KeyCode::Char('g'))],
    );
    type_text(&mut app, "p0x100000");
    press(&mut app, &[key(KeyCode::Enter)]);
    assert_eq!(app.hex.space, AddrSpace::Phys);
    assert_eq!(app.hex.top, 0x100000);
    press(&mut app, &[key(KeyCode::Char('g'))]);
    type_text(&mut app, "v0xffffffff88a00000");
    press(&mut app, &[key(KeyCode::Enter)]);
    assert_eq!(app.hex.space, AddrSpace::Virt);
    assert_eq!(app.hex.top, 0xffffffff88a00000);
}

#[test]
fn shift_tab_as_terminals_send_it_goes_to_the_previous_view() {
    let mut app = real_app();
    press(&mut app, &[key(KeyCode::Char('4'))]);
    // crossterm reports Shift-Tab as BackTab with the Shift modifier held.
    press(
        &mut app,
        &[KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT)],
    );
    assert_eq!(app.view, View::Tasks);
}

#[test]
fn unreadable_bytes_show_as_question_marks() {
    let mut app = real_app();
    press(
        &mut app,
        &[key(KeyCode::Char('5')), key(KeyCode::Char('g'))],
    );
    type_text(&mut app, "0"); // below the first PT_LOAD (0x100000)
    press(&mut app, &[key(KeyCode::Enter)]);
    let screen = render(&app, 80, 24);
    assert!(screen.contains("?? ?? ??"), "{screen}");
    assert!(screen.contains("not in the dump"), "{screen}");
}

#[test]
fn search_ascii_then_next_then_hex() {
    let mut app = real_app();
    press(
        &mut app,
        &[key(KeyCode::Char('5')), key(KeyCode::Char('/'))],
    );
    type_text(&mut app, "OSRELEASE=");
    press(&mut app, &[key(KeyCode::Enter)]);
    assert!(app.job.is_none(), "search finished");
    let (first, len) = app.hex.highlight.expect("found");
    assert_eq!(len, 10);
    let mut buf = [0u8; 10];
    app.dump
        .read_phys(PhysAddr(first), &mut buf)
        .expect("match is readable");
    assert_eq!(&buf, b"OSRELEASE=");
    assert!(render(&app, 160, 48).contains("found at physical"));

    press(&mut app, &[key(KeyCode::Char('n'))]);
    if let Some((second, _)) = app.hex.highlight.filter(|&(a, _)| a != first) {
        assert!(second > first);
        app.dump
            .read_phys(PhysAddr(second), &mut buf)
            .expect("readable");
        assert_eq!(&buf, b"OSRELEASE=");
    }

    // The same bytes as hex, from the start of memory, find the first match again.
    press(&mut app, &[key(KeyCode::Home), key(KeyCode::Char('/'))]);
    type_text(&mut app, "x:4f 53 52 45 4c 45 41 53 45 3d");
    press(&mut app, &[key(KeyCode::Enter)]);
    assert_eq!(app.hex.highlight.map(|h| h.0), Some(first));
}

#[test]
fn search_can_be_cancelled() {
    let mut app = real_app();
    press(
        &mut app,
        &[key(KeyCode::Char('5')), key(KeyCode::Char('/'))],
    );
    type_text(&mut app, "x:01 02");
    // Submit without running the job: it is queued, as the event loop would hand it over.
    let a = vmcore_tui::keymap::action_for(key(KeyCode::Enter), &app).expect("Enter submits");
    vmcore_tui::update(&mut app, a);
    assert!(app.job.is_some());
    let cancel = app.job.as_ref().map(|j| j.cancel.clone()).expect("job");
    press(&mut app, &[key(KeyCode::Esc)]);
    assert!(app.job.is_none());
    assert!(cancel.load(std::sync::atomic::Ordering::Relaxed));
    jobs::run_pending(&mut app); // the cancelled job's result is ignored
    assert!(app.job.is_none());
}

#[test]
fn kernel_log_search() {
    let mut app = real_app();
    assert!(matches!(app.log, LogState::Ready(_)), "{:?}", app.status);
    press(
        &mut app,
        &[
            key(KeyCode::Char('7')),
            key(KeyCode::Home),
            key(KeyCode::Char('/')),
        ],
    );
    type_text(&mut app, "sysrq");
    press(&mut app, &[key(KeyCode::Enter)]);
    let LogState::Ready(lines) = &app.log else {
        unreachable!()
    };
    let first = app.log_cursor.selected;
    assert!(
        lines[first].text.to_lowercase().contains("sysrq"),
        "{:?}",
        lines[first]
    );
    press(&mut app, &[key(KeyCode::Char('n'))]);
    let LogState::Ready(lines) = &app.log else {
        unreachable!()
    };
    assert!(
        lines[app.log_cursor.selected]
            .text
            .to_lowercase()
            .contains("sysrq")
    );
    press(&mut app, &[key(KeyCode::Char('N'))]);
    assert_eq!(app.log_cursor.selected, first);
}

#[test]
fn vmcoreinfo_filter() {
    let mut app = real_app();
    let all = app.vmcoreinfo_rows.len();
    press(
        &mut app,
        &[key(KeyCode::Char('6')), key(KeyCode::Char('/'))],
    );
    type_text(&mut app, "printk_info");
    press(&mut app, &[key(KeyCode::Enter)]);
    let n = app.vmcoreinfo_rows.len();
    assert!(n > 0 && n < all, "{n} of {all}");
    let vi = app.dump.vmcoreinfo().expect("vmcoreinfo");
    for &i in &app.vmcoreinfo_rows {
        assert!(vi.entries()[i].0.to_lowercase().contains("printk_info"));
    }
    press(&mut app, &[key(KeyCode::Char('/')), key(KeyCode::Esc)]);
    assert_eq!(app.vmcoreinfo_rows.len(), n, "Esc keeps the filter");
}

#[test]
fn finding_jumps_to_its_cpu() {
    let mut spec = testgen::ElfSpec {
        cpus: (0..4)
            .map(|n| testgen::CpuSpec::numbered(n, n + 1))
            .collect(),
        vmcoreinfo: Some(testgen::sample_vmcoreinfo()),
        loads: testgen::sparse_loads(4, 0x10000, 1 << 30),
        ..testgen::ElfSpec::default()
    };
    spec.cpus[2].regs = None; // a zeroed register note: finding CPU001
    let mut app = synthetic_app(&spec);
    let idx = app
        .findings
        .iter()
        .position(|f| f.code == "CPU001")
        .expect("CPU001");
    press(&mut app, &[key(KeyCode::Char('8'))]);
    for _ in 0..idx {
        press(&mut app, &[key(KeyCode::Down)]);
    }
    // Enter shows the finding in full; Enter again jumps to its CPU.
    press(&mut app, &[key(KeyCode::Enter)]);
    assert_eq!(app.view, View::Findings);
    assert!(app.finding_detail);
    let screen = render(&app, 80, 24);
    assert!(screen.contains("CPU001 register-note-zeroed"), "{screen}");
    press(&mut app, &[key(KeyCode::Enter)]);
    assert_eq!(app.view, View::Cpus);
    assert_eq!(app.cpus.selected, 2);
}

#[test]
fn a_long_finding_is_shown_in_full() {
    let mut app = real_app();
    let long = "x".repeat(150) + " the end of a long finding";
    app.findings.push(vmcore::Finding::new(
        "TEST001",
        "long-finding",
        vmcore::Severity::Warning,
        None,
        long,
    ));
    press(&mut app, &[key(KeyCode::Char('8')), key(KeyCode::End)]);
    let table = render(&app, 80, 24);
    assert!(
        !table.contains("the end of a long finding"),
        "cut in the table"
    );
    press(&mut app, &[key(KeyCode::Enter)]);
    let detail = render(&app, 80, 24);
    assert!(detail.contains("the end of a long finding"), "{detail}");
    press(&mut app, &[key(KeyCode::Esc)]);
    assert!(!app.finding_detail);
    assert_eq!(app.view, View::Findings);
}

#[test]
fn memory_range_opens_in_hex() {
    let mut app = real_app();
    press(
        &mut app,
        &[
            key(KeyCode::Char('4')),
            key(KeyCode::End),
            key(KeyCode::Enter),
        ],
    );
    let last = app
        .dump
        .memory()
        .ranges()
        .last()
        .map(|r| r.phys.start.0)
        .expect("ranges");
    assert_eq!(app.view, View::Hex);
    assert_eq!(app.hex.top, last);
}

#[test]
fn eight_thousand_cpus_scroll_to_the_end() {
    let spec = testgen::ElfSpec {
        cpus: (0..8192)
            .map(|n| testgen::CpuSpec::numbered(n, n + 1))
            .collect(),
        loads: testgen::sparse_loads(8192, 0x1000, 1 << 40),
        ..testgen::ElfSpec::default()
    };
    let mut app = synthetic_app(&spec);
    press(&mut app, &[key(KeyCode::Char('2'))]);
    render(&app, 80, 24);
    press(&mut app, &[key(KeyCode::PageDown)]);
    assert_eq!(app.cpus.selected, app.cpus.page());
    press(&mut app, &[key(KeyCode::End)]);
    assert_eq!(app.cpus.selected, 8191);
    let screen = render(&app, 80, 24);
    assert!(screen.contains("8191"), "{screen}");
    press(
        &mut app,
        &[key(KeyCode::Char('4')), key(KeyCode::Char('G'))],
    );
    assert_eq!(app.ranges.selected, 8191);
    assert!(render(&app, 160, 48).contains("8191"));
}

#[test]
fn mouse_wheel_scrolls() {
    use crossterm::event::{MouseEvent, MouseEventKind};
    let mut app = real_app();
    press(&mut app, &[key(KeyCode::Char('7'))]);
    let end = app.log_cursor.selected;
    let wheel = MouseEvent {
        kind: MouseEventKind::ScrollUp,
        column: 0,
        row: 0,
        modifiers: KeyModifiers::NONE,
    };
    let a = vmcore_tui::keymap::action_for_mouse(wheel, &app).expect("wheel");
    vmcore_tui::update(&mut app, a);
    assert_eq!(app.log_cursor.selected, end - 3);
}

#[test]
fn help_lists_every_binding() {
    let rows = help_rows();
    assert_eq!(rows.len(), BINDINGS.len());
    let mut app = real_app();
    press(&mut app, &[key(KeyCode::Char('?'))]);
    assert!(app.help);
    let screen = render(&app, 80, 24);
    assert!(screen.contains("Everywhere"), "{screen}");
    press(&mut app, &[key(KeyCode::Char('q'))]);
    assert!(!app.help, "q closes the help first");
    assert!(app.running);
}

#[test]
fn resize_keeps_the_selection_visible() {
    let mut app = real_app();
    press(&mut app, &[key(KeyCode::Char('7')), key(KeyCode::End)]);
    let big = render(&app, 160, 48);
    let small = render(&app, 80, 24);
    let LogState::Ready(lines) = &app.log else {
        unreachable!()
    };
    let last = lines
        .last()
        .map(|l| l.text.chars().take(20).collect::<String>())
        .unwrap_or_default();
    assert!(big.contains(&last) && small.contains(&last), "{last}");
}
