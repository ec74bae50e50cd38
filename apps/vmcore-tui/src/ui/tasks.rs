//! Tasks: every task the kernel's task list holds (read through the dump's BTF), `>` on the
//! ones running on a CPU, sortable; Enter opens the task's stack.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Stylize};
use ratatui::text::Line;
use ratatui::widgets::{Block, Cell, Clear, Paragraph, Row, Table, TableState, Wrap};

use super::{SELECTED, centered};
use crate::integrations::TaskEntry;
use crate::state::App;

/// Why there is no task table, as one line that names what the dump lacks.
pub(crate) fn unavailable_line(why: &str) -> String {
    if why.contains("CONFIG_DEBUG_INFO_BTF") {
        format!("no task list: {why}")
    } else {
        format!(
            "no task list: {why} (tasks are read through the kernel's BTF, CONFIG_DEBUG_INFO_BTF)"
        )
    }
}

pub(super) fn render(frame: &mut Frame, area: Rect, app: &App) {
    let Some(kernel) = app.kernel.as_deref() else {
        frame.render_widget(
            Paragraph::new("reading the task list…")
                .dim()
                .block(Block::bordered().title(" Tasks ")),
            area,
        );
        return;
    };
    let tasks = match &kernel.tasks {
        Ok(t) => t,
        Err(why) => {
            frame.render_widget(
                Paragraph::new(Line::from(unavailable_line(why)).fg(Color::Yellow))
                    .wrap(Wrap { trim: false })
                    .block(Block::bordered().title(" Tasks ")),
                area,
            );
            return;
        }
    };
    let mut block = Block::bordered().title(format!(
        " Tasks ({}) · by {} · p pid · s state · c CPU · Enter stack ",
        tasks.len(),
        app.task_sort.name()
    ));
    // What cut the task walk short (a cyclic list, an unreadable task) is not hidden: the
    // list may be incomplete.
    if let Some(first) = kernel.task_findings.first() {
        block = block.title_bottom(
            Line::from(format!(
                " {} task-list problem(s), the list may be incomplete: {first} ",
                kernel.task_findings.len()
            ))
            .fg(Color::Yellow),
        );
    }
    let rows_h = area.height.saturating_sub(3) as usize;
    let vis = app.tasks.visible(app.task_rows.len(), rows_h);
    let first = vis.start;
    let rows = app.task_rows[vis]
        .iter()
        .filter_map(|&i| tasks.get(i))
        .map(row);
    let widths = [
        Constraint::Length(1),
        Constraint::Length(7),
        Constraint::Length(7),
        Constraint::Length(4),
        Constraint::Length(2),
        Constraint::Min(8),
    ];
    let header = Row::new(["", "PID", "PPID", "CPU", "ST", "COMM"]).bold();
    let table = Table::new(rows, widths)
        .header(header)
        .block(block)
        .row_highlight_style(SELECTED);
    let mut state = TableState::default()
        .with_selected((!app.task_rows.is_empty()).then(|| app.tasks.selected - first));
    frame.render_stateful_widget(table, area, &mut state);
    if let Some(t) = app.task_detail.and_then(|i| tasks.get(i)) {
        render_detail(frame, area, app, t);
    }
}

fn row(e: &TaskEntry) -> Row<'static> {
    let t = &e.task;
    // crash shows kernel threads (and the idle tasks) in brackets, as `vmcore ps` does.
    let comm = if e.idle || t.is_kernel_thread() {
        format!("[{}]", t.comm)
    } else {
        t.comm.clone()
    };
    let running = t.running_on.is_some();
    let r = Row::new([
        Cell::from(if running { ">" } else { " " }),
        Cell::from(format!("{:>7}", t.pid)),
        Cell::from(format!("{:>7}", t.ppid)),
        Cell::from(format!("{:>4}", e.cpu())),
        Cell::from(t.state.to_string()),
        Cell::from(comm),
    ]);
    if running { r.bold() } else { r }
}

/// The stack popup's text (also used by tests).
pub(crate) fn detail_lines(e: &TaskEntry) -> Vec<Line<'static>> {
    let t = &e.task;
    let mut v = vec![
        Line::from(format!(
            "pid {} · tgid {} · ppid {} · state {} · CPU {}{} · task_struct {:#x}",
            t.pid,
            t.tgid,
            t.ppid,
            t.state,
            e.cpu(),
            t.running_on
                .map(|c| format!(" (running on CPU {c})"))
                .unwrap_or_default(),
            t.addr
        )),
        Line::from(""),
    ];
    match &e.trace {
        Ok(trace) => v.extend(super::backtrace::lines(trace)),
        Err(why) => v.push(Line::from(format!("no stack: {why}")).fg(Color::Yellow)),
    }
    v
}

fn render_detail(frame: &mut Frame, area: Rect, app: &App, e: &TaskEntry) {
    let lines = detail_lines(e);
    let popup = centered(area, 100, area.height.saturating_sub(2));
    let inner_h = popup.height.saturating_sub(2);
    let max_scroll = (lines.len() as u16).saturating_sub(inner_h);
    let scroll = app.detail_scroll.min(max_scroll);
    let title = format!(
        " pid {} ({}) · ↑↓ scroll · Esc close ",
        e.task.pid, e.task.comm
    );
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines)
            .scroll((scroll, 0))
            .block(Block::bordered().title(title)),
        popup,
    );
}

#[cfg(test)]
mod tests {
    use super::unavailable_line;

    #[test]
    fn the_no_task_line_names_the_kernel_option() {
        assert!(
            unavailable_line("the dump has no VMCOREINFO note").contains("CONFIG_DEBUG_INFO_BTF")
        );
        let lib = "no kernel BTF in the dump (x): tasks and modules need a kernel built with CONFIG_DEBUG_INFO_BTF=y";
        assert_eq!(
            unavailable_line(lib)
                .matches("CONFIG_DEBUG_INFO_BTF")
                .count(),
            1
        );
    }
}
