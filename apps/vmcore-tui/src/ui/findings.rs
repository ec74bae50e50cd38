//! Findings: what the readers (and the history diff) noticed; Enter jumps to the CPU or range.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Clear, Paragraph, Row, Table, TableState, Wrap};
use vmcore::Severity;

use super::{SELECTED, centered};
use crate::action::Action;
use crate::state::App;
use crate::update::finding_target;

pub(super) fn render(frame: &mut Frame, area: Rect, app: &App) {
    let title = format!(" Findings ({}) · Enter: show in full ", app.findings.len());
    if app.findings.is_empty() {
        frame.render_widget(
            Paragraph::new("No findings: the readers noticed nothing wrong.")
                .block(Block::bordered().title(title)),
            area,
        );
        return;
    }
    let vis = app
        .findings_cursor
        .visible(app.findings.len(), area.height.saturating_sub(3) as usize);
    let first = vis.start;
    let rows = app.findings[vis].iter().map(|f| {
        let sev = match f.severity {
            Severity::Error => Style::new().fg(Color::Red).bold(),
            Severity::Warning => Style::new().fg(Color::Yellow),
            Severity::Info => Style::new(),
        };
        let target = match finding_target(app, f) {
            Some(Action::SelectCpu(i)) => format!("CPU note {i}"),
            Some(Action::SelectRange(i)) => format!("range #{i}"),
            _ => "-".into(),
        };
        Row::new([
            Cell::from(f.severity.as_str()).style(sev),
            Cell::from(f.code),
            Cell::from(f.offset.map_or_else(|| "-".into(), |o| format!("{o:#x}"))),
            Cell::from(target),
            Cell::from(format!("{}: {}", f.name, f.message)),
        ])
    });
    let widths = [
        Constraint::Length(8),
        Constraint::Length(7),
        Constraint::Length(10),
        Constraint::Length(11),
        Constraint::Min(10),
    ];
    let table = Table::new(rows, widths)
        .header(Row::new(["SEVERITY", "CODE", "OFFSET", "TARGET", "FINDING"]).bold())
        .block(Block::bordered().title(title))
        .row_highlight_style(SELECTED);
    let mut state = TableState::default().with_selected(Some(app.findings_cursor.selected - first));
    frame.render_stateful_widget(table, area, &mut state);
    if app.finding_detail
        && let Some(f) = app.findings.get(app.findings_cursor.selected)
    {
        render_detail(frame, area, app, f);
    }
}

/// The selected finding in full, wrapped: messages are often longer than a table row.
fn render_detail(frame: &mut Frame, area: Rect, app: &App, f: &vmcore::Finding) {
    let target = match finding_target(app, f) {
        Some(Action::SelectCpu(i)) => format!("CPU note {i} (Enter: show it)"),
        Some(Action::SelectRange(i)) => format!("memory range #{i} (Enter: show it)"),
        _ => "none".into(),
    };
    let text = vec![
        Line::from(vec![
            Span::styled(format!("{} {}", f.code, f.name), Style::new().bold()),
            Span::raw(format!(" · {}", f.severity.as_str())),
        ]),
        Line::from(format!(
            "offset: {}",
            f.offset.map_or_else(|| "-".into(), |o| format!("{o:#x}"))
        )),
        Line::from(format!("target: {target}")),
        Line::from(""),
        Line::from(f.message.clone()),
    ];
    let w = area.width.saturating_sub(4).min(100);
    // Rows the wrapped message needs, plus the four header lines and the border.
    let inner = usize::from(w.saturating_sub(2).max(1));
    let h = (f.message.chars().count().div_ceil(inner) + 6) as u16;
    let popup = centered(area, w, h);
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(text)
            .wrap(Wrap { trim: false })
            .block(Block::bordered().title(" Finding · Esc: close ")),
        popup,
    );
}
