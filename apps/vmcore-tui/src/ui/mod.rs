//! Rendering: one module per view, each drawing from `&App` only. Nothing here changes state
//! except the scroll offsets kept in `Cell`s (see [`crate::state::ListCursor`]).

mod backtrace;
mod cpus;
mod findings;
mod help;
mod hex;
mod klog;
mod memmap;
mod overview;
mod tasks;
mod vmcoreinfo;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Tabs};

use crate::state::{App, LogState, StatusKind, View};

/// Style of the selected row in every list.
pub(crate) const SELECTED: Style = Style::new().bg(Color::Blue).fg(Color::White);

/// Draw the whole app into `frame`.
pub fn render(frame: &mut Frame, app: &App) {
    let [tabs, body, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    render_tabs(frame, tabs, app);
    match app.view {
        View::Overview => overview::render(frame, body, app),
        View::Cpus => cpus::render(frame, body, app),
        View::Tasks => tasks::render(frame, body, app),
        View::Memory => memmap::render(frame, body, app),
        View::Hex => hex::render(frame, body, app),
        View::Vmcoreinfo => vmcoreinfo::render(frame, body, app),
        View::KernelLog => klog::render(frame, body, app),
        View::Findings => findings::render(frame, body, app),
    }
    render_status(frame, status, app);
    if app.help {
        help::render(frame, body, app);
    }
}

fn render_tabs(frame: &mut Frame, area: Rect, app: &App) {
    let titles = View::ALL
        .iter()
        .enumerate()
        .map(|(i, v)| format!("{} {}", i + 1, v.title()));
    let tabs = Tabs::new(titles)
        .select(app.view.index())
        .padding(" ", " ")
        .divider("│")
        .highlight_style(Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD));
    frame.render_widget(tabs, area);
}

fn render_status(frame: &mut Frame, area: Rect, app: &App) {
    let right = format!(" {} · ? help · q quit ", app.name);
    let left: Line = if let Some(input) = &app.input {
        Line::from(vec![
            Span::styled(format!("{}: ", input.kind.label()), Style::new().bold()),
            Span::raw(input.text.clone()),
            Span::styled("█", Style::new().add_modifier(Modifier::SLOW_BLINK)),
        ])
    } else if let Some(j) = &app.job {
        Line::from(format!(
            "{} {} (Esc cancels)",
            j.label,
            progress(j.done, j.total)
        ))
        .style(Style::new().fg(Color::Yellow))
    } else if let Some((kind, msg)) = &app.status {
        let style = match kind {
            StatusKind::Info => Style::new(),
            StatusKind::Error => Style::new().fg(Color::Red).bold(),
        };
        Line::styled(msg.clone(), style)
    } else if let LogState::Loading { done, total } = app.log {
        Line::from(format!("decoding the kernel log {}", progress(done, total)))
            .style(Style::new().fg(Color::Yellow))
    } else {
        Line::from("Tab/1-8 views · Enter open")
    };
    let right_w = (right.chars().count() as u16).min(area.width / 2);
    let [l, r] = Layout::horizontal([Constraint::Min(0), Constraint::Length(right_w)]).areas(area);
    frame.render_widget(Paragraph::new(left), l);
    frame.render_widget(
        Paragraph::new(right).style(Style::new().add_modifier(Modifier::REVERSED)),
        r,
    );
}

/// `42%`, or `…` while the total is unknown.
pub(crate) fn progress(done: u64, total: u64) -> String {
    done.saturating_mul(100)
        .checked_div(total)
        .map_or_else(|| "…".into(), |p| format!("{p}%"))
}

/// Human size in binary units: `512 MiB`, `1.5 GiB`, `4 KiB`, `17 B`.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 || v.fract() == 0.0 {
        format!("{v:.0} {}", UNITS[u])
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// Seconds since the epoch as `YYYY-MM-DD HH:MM:SS UTC`.
pub fn utc_time(secs: i64) -> String {
    let (y, m, d, hh, mm, ss) = vmcore::civil_utc(secs);
    format!("{y:04}-{m:02}-{d:02} {hh:02}:{mm:02}:{ss:02} UTC")
}

/// A rectangle of `w`×`h` centred in `area` (clamped to it).
pub(crate) fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_times() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(4096), "4 KiB");
        assert_eq!(human_size(512 << 20), "512 MiB");
        assert_eq!(human_size(3 << 29), "1.5 GiB");
        assert_eq!(utc_time(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc_time(1_795_656_305), "2026-11-26 01:25:05 UTC");
        assert_eq!(utc_time(951_782_400), "2000-02-29 00:00:00 UTC");
    }
}
