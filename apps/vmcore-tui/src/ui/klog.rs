//! Kernel log: the printk records, coloured by level, searchable.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::{SELECTED, progress};
use crate::integrations::LogLine;
use crate::state::{App, LogState};

/// The colour of a syslog level: emergencies to errors red, warnings yellow, debug dim.
fn level_style(level: Option<u8>) -> Style {
    match level {
        Some(0..=2) => Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
        Some(3) => Style::new().fg(Color::Red),
        Some(4) => Style::new().fg(Color::Yellow),
        Some(5) => Style::new().fg(Color::Cyan),
        Some(7) => Style::new().add_modifier(Modifier::DIM),
        _ => Style::new(),
    }
}

/// One log record as a line: `[    1.234567] text`, like dmesg.
pub(crate) fn line(l: &LogLine) -> Line<'static> {
    let ts = l.ts_nsec.map_or_else(
        // Continuation lines of a multi-line record line up under its text.
        || " ".repeat(15),
        |ns| {
            format!(
                "[{:5}.{:06}] ",
                ns / 1_000_000_000,
                ns % 1_000_000_000 / 1000
            )
        },
    );
    Line::from(vec![
        Span::styled(ts, Style::new().fg(Color::Green)),
        Span::styled(l.text.clone(), level_style(l.level)),
    ])
}

pub(super) fn render(frame: &mut Frame, area: Rect, app: &App) {
    let lines = match &app.log {
        LogState::Ready(lines) => lines,
        LogState::Loading { done, total } => {
            frame.render_widget(
                Paragraph::new(format!(
                    "decoding the kernel log {}",
                    progress(*done, *total)
                ))
                .block(Block::bordered().title(" Kernel log ")),
                area,
            );
            return;
        }
        LogState::Unavailable(why) => {
            frame.render_widget(
                Paragraph::new(format!("The kernel log is not available: {why}"))
                    .block(Block::bordered().title(" Kernel log ")),
                area,
            );
            return;
        }
    };
    let query = app
        .log_query
        .as_ref()
        .map_or_else(String::new, |q| format!(" · search {q:?} (n/N)"));
    let title = format!(
        " Kernel log · line {} of {}{query} · / search ",
        (app.log_cursor.selected + 1).min(lines.len()),
        lines.len()
    );
    let vis = app
        .log_cursor
        .visible(lines.len(), area.height.saturating_sub(2) as usize);
    let text: Vec<Line> = (vis.clone())
        .filter_map(|i| lines.get(i).map(|l| (i, l)))
        .map(|(i, l)| {
            let ln = line(l);
            if i == app.log_cursor.selected {
                ln.patch_style(SELECTED)
            } else {
                ln
            }
        })
        .collect();
    frame.render_widget(
        Paragraph::new(text).block(Block::bordered().title(title)),
        area,
    );
}
