//! CPUs: one row per register note; Enter opens every register and QEMU's CPU state.

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
    let rows = cpus[vis].iter().map(row);
    let widths = [
        Constraint::Length(5),
        Constraint::Length(5),
        Constraint::Length(7),
        Constraint::Length(18),
        Constraint::Length(18),
        Constraint::Length(8),
        Constraint::Min(6),
    ];
    let header = Row::new(["NOTE", "CPU", "PID", "RIP", "RSP", "FLAGS", "STATE"]).bold();
    let table = Table::new(rows, widths)
        .header(header)
        .block(block)
        .row_highlight_style(SELECTED);
    let mut state =
        TableState::default().with_selected((!cpus.is_empty()).then(|| app.cpus.selected - first));
    frame.render_stateful_widget(table, area, &mut state);

    if let Some(c) = app.cpu_detail.and_then(|i| cpus.get(i)) {
        render_detail(frame, area, app, c);
    }
}

fn row(c: &CpuContext) -> Row<'static> {
    let cpu = c.cpu.map_or_else(|| "-".to_string(), |n| n.to_string());
    match &c.regs {
        Some(r) => Row::new([
            Cell::from(c.note_index.to_string()),
            Cell::from(cpu),
            Cell::from(c.pid.to_string()),
            Cell::from(format!("{:016x}", r.pc())),
            Cell::from(format!("{:016x}", r.sp())),
            Cell::from(format!("{:x}", r.flags())),
            Cell::from(if c.problem.is_some() {
                "problem"
            } else {
                "saved"
            }),
        ]),
        None => Row::new([
            Cell::from(c.note_index.to_string()),
            Cell::from(cpu),
            Cell::from("-"),
            Cell::from("-"),
            Cell::from("-"),
            Cell::from("-"),
            Cell::from(c.problem.as_deref().unwrap_or("no registers").to_string())
                .style(Style::new().fg(Color::Yellow)),
        ]),
    }
}

/// Names of the set bits of x86 EFLAGS that matter when reading a crash.
fn eflags_names(f: u64) -> String {
    const BITS: [(u32, &str); 9] = [
        (0, "CF"),
        (2, "PF"),
        (6, "ZF"),
        (7, "SF"),
        (8, "TF"),
        (9, "IF"),
        (10, "DF"),
        (11, "OF"),
        (14, "NT"),
    ];
    BITS.iter()
        .filter(|(b, _)| f & (1 << b) != 0)
        .map(|(_, n)| *n)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The detail text of one CPU (also used by tests).
pub(crate) fn detail_lines(c: &CpuContext) -> Vec<Line<'static>> {
    let mut v = vec![
        Line::from(format!(
            "note {} at file offset {:#x} · cpu {} · pid {} · ppid {}",
            c.note_index,
            c.note_offset,
            c.cpu
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
        v.push(Line::from(p.clone()).fg(Color::Yellow));
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
            v.push(Line::from(format!("   flags {}", eflags_names(r.flags()))));
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

fn render_detail(frame: &mut Frame, area: Rect, app: &App, c: &CpuContext) {
    let lines = detail_lines(c);
    let popup = centered(area, 72, area.height.saturating_sub(2));
    let inner_h = popup.height.saturating_sub(2);
    let max_scroll = (lines.len() as u16).saturating_sub(inner_h);
    let scroll = app.detail_scroll.min(max_scroll);
    let title = format!(
        " CPU note {} · ↑↓ scroll · s stack · i code · Esc close ",
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
