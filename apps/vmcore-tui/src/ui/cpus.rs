//! CPUs: one row per register note with its CPU number and the function it stopped in;
//! Enter opens its backtrace, every register and QEMU's CPU state.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Style, Stylize};
use ratatui::text::Line;
use ratatui::widgets::{Block, Cell, Clear, Paragraph, Row, Table, TableState};
use vmcore::{CpuContext, QemuCpuState};

use super::{SELECTED, centered};
use crate::state::App;

pub(super) fn render(frame: &mut Frame, area: Rect, app: &App) {
    let cpus = app.dump.cpus();
    let block = Block::bordered().title(format!(" CPUs ({}) ", cpus.len()));
    // Inner height minus the header row.
    let rows_h = area.height.saturating_sub(3) as usize;
    let vis = app.cpus.visible(cpus.len(), rows_h);
    let first = vis.start;
    // Narrow terminals drop RSP and FLAGS (they are in the detail) to keep the function.
    let wide = area.width >= 120;
    let rows = cpus[vis.clone()]
        .iter()
        .zip(vis)
        .map(|(c, i)| row(app, i, c, wide));
    let mut widths = vec![
        Constraint::Length(5),
        Constraint::Length(5),
        Constraint::Length(7),
        Constraint::Length(18),
    ];
    let mut header = vec!["NOTE", "CPU", "PID", "RIP"];
    if wide {
        widths.extend([Constraint::Length(18), Constraint::Length(8)]);
        header.extend(["RSP", "FLAGS"]);
    }
    widths.extend([Constraint::Length(8), Constraint::Min(10)]);
    header.extend(["STATE", "FUNCTION"]);
    let table = Table::new(rows, widths)
        .header(Row::new(header).bold())
        .block(block)
        .row_highlight_style(SELECTED);
    let mut state =
        TableState::default().with_selected((!cpus.is_empty()).then(|| app.cpus.selected - first));
    frame.render_stateful_widget(table, area, &mut state);

    if let Some((i, c)) = app.cpu_detail.and_then(|i| cpus.get(i).map(|c| (i, c))) {
        render_detail(frame, area, app, i, c);
    }
}

/// The kernel's view of register note `i`: its CPU number (from `crash_notes`) and trace.
fn backtrace_of(app: &App, i: usize) -> Option<&kernel_introspect::CpuBacktrace> {
    app.kernel.as_deref()?.cpus.as_ref()?.get(i)
}

fn row(app: &App, i: usize, c: &CpuContext, wide: bool) -> Row<'static> {
    let bt = backtrace_of(app, i);
    let cpu = bt
        .and_then(|b| b.cpu)
        .or(c.cpu)
        .map_or_else(|| "-".to_string(), |n| n.to_string());
    let mut cells = vec![Cell::from(c.note_index.to_string()), Cell::from(cpu)];
    match &c.regs {
        Some(r) => {
            cells.push(Cell::from(c.pid.to_string()));
            cells.push(Cell::from(format!("{:016x}", r.pc())));
            if wide {
                cells.push(Cell::from(format!("{:016x}", r.sp())));
                cells.push(Cell::from(format!("{:x}", r.flags())));
            }
            let state = if bt.is_some_and(|b| b.crashed) {
                Cell::from("crashed").style(Style::new().fg(Color::Red).bold())
            } else if c.problem.is_some() {
                Cell::from("problem")
            } else {
                Cell::from("saved")
            };
            cells.push(state);
            let function = match app.kernel.as_deref() {
                None => Cell::from("…"),
                Some(k) => match k.symbols.symbolize(r.pc()) {
                    Some(s) => Cell::from(s.to_string()),
                    // A CPU stopped in user space has no kernel symbol.
                    None if r.pc() < 0x8000_0000_0000_0000 => Cell::from("(user space)"),
                    None => Cell::from("?"),
                },
            };
            cells.push(function);
        }
        None => {
            cells.push(Cell::from("-"));
            cells.push(Cell::from("-"));
            if wide {
                cells.push(Cell::from("-"));
                cells.push(Cell::from("-"));
            }
            cells.push(Cell::from("-"));
            cells.push(
                Cell::from(
                    c.problem
                        .as_ref()
                        .map_or_else(|| "no registers".to_string(), ToString::to_string),
                )
                .style(Style::new().fg(Color::Yellow)),
            );
        }
    }
    Row::new(cells)
}

/// The detail text of one CPU (also used by tests).
/// `cpu`: the note's CPU number when the kernel's `crash_notes` told it and the note did not.
pub(crate) fn detail_lines(c: &CpuContext, cpu: Option<u32>) -> Vec<Line<'static>> {
    let mut v = vec![
        Line::from(format!(
            "note {} at file offset {:#x} · cpu {} · pid {} · ppid {}",
            c.note_index,
            c.note_offset,
            c.cpu
                .or(cpu)
                .map_or_else(|| "unknown".to_string(), |n| n.to_string()),
            c.pid,
            c.ppid
        )),
        Line::from(format!(
            "signal {} · code {} · errno {} · cursig {}",
            c.signal.si_signo, c.signal.si_code, c.signal.si_errno, c.signal.cursig
        )),
    ];
    if let Some(p) = &c.problem {
        v.push(Line::from(p.to_string()).fg(Color::Yellow));
    }
    v.push(Line::from(""));
    match &c.regs {
        Some(r) => {
            v.push(Line::from("Registers").bold());
            let named = r.named();
            // Two columns keep all 27 x86_64 registers on one 24-row screen.
            for pair in named.chunks(2) {
                let cells: Vec<String> = pair
                    .iter()
                    .map(|(n, val)| format!("{n:>8} {val:016x}"))
                    .collect();
                v.push(Line::from(cells.join("    ")));
            }
            v.push(Line::from(format!("   flags {}", r.flag_names())));
        }
        None => v.push(Line::from("no registers saved").fg(Color::Yellow)),
    }
    if let Some(q) = &c.qemu {
        v.push(Line::from(""));
        v.extend(qemu_lines(q));
    }
    v
}

fn qemu_lines(q: &QemuCpuState) -> Vec<Line<'static>> {
    let mut v = vec![
        Line::from(format!(
            "QEMU CPU state (version {}, {} bytes)",
            q.version, q.size
        ))
        .bold(),
        Line::from(format!(
            "     rip {:016x}    rflags {:016x}",
            q.rip, q.rflags
        )),
    ];
    for (i, cr) in q.cr.iter().enumerate() {
        if i % 2 == 0 {
            v.push(Line::from(format!("     cr{i} {cr:016x}")));
        } else if let Some(last) = v.last_mut() {
            last.push_span(format!("       cr{i} {cr:016x}"));
        }
    }
    if let Some(k) = q.kernel_gs_base {
        v.push(Line::from(format!("kernel_gs_base {k:016x}")));
    }
    v.push(Line::from(
        "     seg selector base             limit    flags",
    ));
    let segs = [
        ("cs", q.cs),
        ("ds", q.ds),
        ("es", q.es),
        ("fs", q.fs),
        ("gs", q.gs),
        ("ss", q.ss),
        ("ldt", q.ldt),
        ("tr", q.tr),
        ("gdt", q.gdt),
        ("idt", q.idt),
    ];
    for (n, s) in segs {
        v.push(Line::from(format!(
            "     {n:<3} {:04x}     {:016x} {:08x} {:08x}",
            s.selector, s.base, s.limit, s.flags
        )));
    }
    v
}

/// The backtrace section of a CPU's detail.
fn backtrace_section(app: &App, i: usize) -> Vec<Line<'static>> {
    let mut v = vec![Line::from("Backtrace").bold()];
    match (app.kernel.as_deref(), backtrace_of(app, i)) {
        (None, _) => v.push(Line::from("reading kernel symbols and unwind tables…").dim()),
        (Some(_), Some(b)) => match &b.trace {
            Ok(t) => v.extend(super::backtrace::lines(t)),
            Err(why) => v.push(Line::from(format!("no backtrace: {why}")).fg(Color::Yellow)),
        },
        (Some(k), None) => v.push(
            Line::from(format!(
                "no backtrace: {}",
                k.cpus_error.as_deref().unwrap_or("no such register note")
            ))
            .fg(Color::Yellow),
        ),
    }
    v.push(Line::from(""));
    v
}

fn render_detail(frame: &mut Frame, area: Rect, app: &App, i: usize, c: &CpuContext) {
    let mut lines = backtrace_section(app, i);
    let kernel_cpu = backtrace_of(app, i).and_then(|b| b.cpu);
    lines.extend(detail_lines(c, kernel_cpu));
    // Frames need about 90 columns; registers 72.
    let popup = centered(area, 100, area.height.saturating_sub(2));
    let inner_h = popup.height.saturating_sub(2);
    let max_scroll = (lines.len() as u16).saturating_sub(inner_h);
    let scroll = app.detail_scroll.min(max_scroll);
    let cpu = kernel_cpu
        .or(c.cpu)
        .map(|n| format!(" · CPU {n}"))
        .unwrap_or_default();
    let title = format!(
        " CPU note {}{cpu} · ↑↓ scroll · s stack · i code · Esc close ",
        c.note_index
    );
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines)
            .scroll((scroll, 0))
            .block(Block::bordered().title(title)),
        popup,
    );
}
