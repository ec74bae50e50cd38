//! Overview: what the dump is, what crashed, and how much of everything there is.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};
use vmcore::{RangeKind, Severity};

use super::{human_size, klog, utc_time};
use crate::state::{App, LogState};

pub(super) fn render(frame: &mut Frame, area: Rect, app: &App) {
    let lines = facts(app);
    // Long facts wrap on narrow terminals; size the block for the wrapped height so the
    // last facts are not cut off.
    let inner_w = usize::from(area.width.saturating_sub(2)).max(1);
    let wrapped: usize = lines
        .iter()
        .map(|l| l.width().div_ceil(inner_w).max(1))
        .sum();
    let facts_h = u16::try_from(wrapped + 2)
        .unwrap_or(u16::MAX)
        .min(area.height);
    let [top, bottom] =
        Layout::vertical([Constraint::Length(facts_h), Constraint::Min(0)]).areas(area);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::bordered().title(" Overview ")),
        top,
    );
    if bottom.height > 2 {
        render_log_tail(frame, bottom, app);
    }
}

fn row(key: &str, value: impl Into<String>) -> Line<'static> {
    Line::from(vec![
        Span::styled(format!("{key:<12}"), Style::new().bold()),
        Span::raw(value.into()),
    ])
}

fn facts(app: &App) -> Vec<Line<'static>> {
    let d = &app.dump;
    let vi = d.vmcoreinfo();
    let mut v = vec![
        row(
            "Dump",
            format!("{} ({})", app.name, human_size(d.file_len())),
        ),
        row(
            "Format",
            match d.byte_order() {
                vmcore::ByteOrder::Little => {
                    format!("{} · {}", d.format().name(), d.machine().name())
                }
                vmcore::ByteOrder::Big => format!(
                    "{} · {} · big-endian (physical memory only)",
                    d.format().name(),
                    d.machine().name()
                ),
            },
        ),
        row(
            "Kernel",
            vi.and_then(|v| v.osrelease())
                .or(d.kdump_info().map(|k| k.release.as_str()))
                .unwrap_or("unknown (no VMCOREINFO)")
                .to_string(),
        ),
        row(
            "Crash time",
            vi.and_then(|v| v.crash_time())
                .map_or_else(|| "not recorded".to_string(), utc_time),
        ),
    ];
    let panic = match &app.log {
        LogState::Ready(lines) => app.log_panic.and_then(|i| lines.get(i)).map_or_else(
            || "no panic line in the log".to_string(),
            |l| l.text.clone(),
        ),
        LogState::Loading { .. } => "decoding the kernel log…".into(),
        LogState::Unavailable(why) => format!("unknown: {why}"),
    };
    v.push(Line::from(vec![
        Span::styled(format!("{:<12}", "Panic"), Style::new().bold()),
        Span::styled(panic, Style::new().fg(Color::Red)),
    ]));
    // The crash line of `vmcore info` (kallsyms + ORC, and BTF for the command), then the
    // crashed CPU's top frames as `vmcore info` prints them below it.
    let mut top_frames = None;
    let crashed = match app.kernel.as_deref() {
        None if vi.is_some() => Some("reading kernel symbols…".to_string()),
        None => None,
        Some(k) => match &k.crash {
            Some(Ok(c)) => {
                let top: Vec<String> = c
                    .frames
                    .iter()
                    .enumerate()
                    .map(|(i, f)| format!("#{i} {f}"))
                    .collect();
                top_frames = (!top.is_empty()).then(|| top.join("  "));
                Some(c.to_string())
            }
            Some(Err(why)) => Some(why.clone()),
            None => None,
        },
    };
    if let Some(c) = crashed {
        v.push(row("Crashed", c));
    }
    if let Some(t) = top_frames {
        v.push(row("", t));
    }

    let cpus = d.cpus();
    let with_regs = cpus.iter().filter(|c| c.regs.is_some()).count();
    v.push(row(
        "CPUs",
        format!(
            "{} register notes, {} with registers, {} without",
            cpus.len(),
            with_regs,
            cpus.len() - with_regs
        ),
    ));
    let ranges = d.memory().ranges();
    let text = ranges
        .iter()
        .filter(|r| r.kind == RangeKind::KernelText)
        .count();
    let ram = d.memory().ram_bytes();
    let page = vi
        .and_then(|v| v.page_size())
        .or(d.kdump_info().map(|k| u64::from(k.page_size)))
        .filter(|&p| p > 0)
        .unwrap_or(4096);
    v.push(row(
        "Memory",
        format!(
            "{} ranges ({} RAM, {} text) · {} · {} pages of {}",
            ranges.len(),
            ranges.len() - text,
            text,
            human_size(ram),
            ram / page,
            human_size(page)
        ),
    ));
    if let Some(k) = d.kdump_info() {
        v.push(row(
            "kdump",
            format!(
                "{} · dump level {} · {} of {} RAM pages excluded",
                k.compression, k.dump_level, k.excluded_pages, k.ram_pages
            ),
        ));
    }
    v.push(row(
        "Truncation",
        d.truncation().map_or_else(
            || "none: every range is in the file".to_string(),
            |t| {
                format!(
                    "{} missing in {} ranges",
                    human_size(t.missing_bytes),
                    t.ranges.len()
                )
            },
        ),
    ));
    let count = |s| app.findings.iter().filter(|f| f.severity == s).count();
    v.push(row(
        "Findings",
        format!(
            "{} ({} errors, {} warnings, {} info)",
            app.findings.len(),
            count(Severity::Error),
            count(Severity::Warning),
            count(Severity::Info)
        ),
    ));
    if let Some(h) = &app.history {
        v.push(row(
            "History",
            format!(
                "{} · {} events · {} hot-plugged ranges",
                h.name,
                h.events,
                h.hotplugged.len()
            ),
        ));
    }
    v
}

fn render_log_tail(frame: &mut Frame, area: Rect, app: &App) {
    let inner_h = area.height.saturating_sub(2) as usize;
    // What led to the panic is just before it (the oops, "sysrq: Trigger a crash"); after it
    // come register dumps and the backtrace. Show the lines ending a few after the panic line,
    // or the log's end when there is no panic.
    let (title, end) = match (&app.log, app.log_panic) {
        (LogState::Ready(lines), Some(p)) => (
            " Kernel log around the panic ",
            (p + 1 + inner_h / 4).min(lines.len()),
        ),
        (LogState::Ready(lines), None) => (" Last kernel log lines ", lines.len()),
        _ => (" Kernel log ", 0),
    };
    let block = Block::bordered().title(title);
    let lines: Vec<Line> = match &app.log {
        LogState::Ready(lines) => lines[end.saturating_sub(inner_h)..end]
            .iter()
            .map(klog::line)
            .collect(),
        LogState::Loading { .. } => vec![Line::from("decoding…")],
        LogState::Unavailable(why) => vec![Line::from(format!("not available: {why}")).dim()],
    };
    frame.render_widget(Paragraph::new(lines).block(block), area);
}
