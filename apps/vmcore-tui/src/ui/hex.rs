//! Hex view: memory as hex and ASCII, one row per line of the screen. Only the visible rows
//! are read, so paging through a terabyte costs the same as through a page. Bytes that cannot
//! be read show as `??` and the reason is shown on the view's last line.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use vmcore::{PhysAddr, VirtAddr};

use crate::integrations;
use crate::state::{AddrSpace, App};

/// One row's bytes: `None` where unreadable, plus the first read error.
pub(crate) fn read_row(app: &App, addr: u64, n: usize) -> (Vec<Option<u8>>, Option<String>) {
    let phys = match app.hex.space {
        AddrSpace::Phys => Ok(addr),
        // Rows never cross a page (rows are 8 or 16 bytes and aligned), so one translation
        // per row is exact.
        AddrSpace::Virt => integrations::translate(&app.dump, VirtAddr(addr)).map(|p| p.0),
    };
    let phys = match phys {
        Ok(p) => p,
        Err(e) => return (vec![None; n], Some(e)),
    };
    let mut buf = vec![0u8; n];
    match app.dump.read_phys(PhysAddr(phys), &mut buf) {
        Ok(()) => (buf.into_iter().map(Some).collect(), None),
        Err(first) => {
            // Part of the row may still be readable (a range ends inside it): byte by byte.
            let bytes = (0..n as u64)
                .map(|i| {
                    let mut b = [0u8; 1];
                    phys.checked_add(i)
                        .and_then(|a| app.dump.read_phys(PhysAddr(a), &mut b).ok())
                        .map(|()| b[0])
                })
                .collect();
            (bytes, Some(first.to_string()))
        }
    }
}

pub(super) fn render(frame: &mut Frame, area: Rect, app: &App) {
    let space = match app.hex.space {
        AddrSpace::Phys => "physical",
        AddrSpace::Virt => "virtual",
    };
    let block = Block::bordered().title(format!(" Hex · {space} · g goto · / search · n next "));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [rows_area, status_area] =
        Layout::vertical([Constraint::Min(0), Constraint::Length(1)]).areas(inner);
    // 16 bytes a row needs 86 columns (address, hex, ASCII); narrower terminals get 8.
    let n: usize = if inner.width >= 86 { 16 } else { 8 };
    let rows = rows_area.height as usize;
    app.hex.set_geometry(rows, n);
    let top = app.hex.top / n as u64 * n as u64;
    let hl = app
        .hex
        .highlight
        .map(|(a, len)| (a, a.saturating_add(len as u64)));
    let mut first_err: Option<String> = None;
    let mut lines = Vec::with_capacity(rows);
    for r in 0..rows as u64 {
        let Some(addr) = top.checked_add(r * n as u64) else {
            break;
        };
        let (bytes, err) = read_row(app, addr, n);
        if first_err.is_none() {
            first_err = err;
        }
        lines.push(hex_line(addr, &bytes, hl));
    }
    frame.render_widget(Paragraph::new(lines), rows_area);
    let status = match first_err {
        Some(e) => Line::from(format!("?? unreadable: {e}")).fg(Color::Red),
        None => match symbol_line(app, top) {
            Some(sym) => Line::from(vec![
                Span::raw(location(app, top)).dim(),
                Span::raw(" · "),
                Span::styled(sym, Style::new().fg(Color::Cyan)),
            ]),
            None => Line::from(location(app, top)).dim(),
        },
    };
    frame.render_widget(Paragraph::new(status), status_area);
}

/// The kernel or module symbol at the cursor line (the goto target or search match when
/// there is one, else the top row), in the virtual view once the symbols are decoded.
fn symbol_line(app: &App, top: u64) -> Option<String> {
    if app.hex.space != AddrSpace::Virt {
        return None;
    }
    let at = app.hex.highlight.map_or(top, |(a, _)| a);
    let s = app.kernel.as_deref()?.symbols.symbolize(at)?;
    Some(format!("{at:#x} = {s}"))
}

/// Which range the top of the view is in.
fn location(app: &App, top: u64) -> String {
    let phys = match app.hex.space {
        AddrSpace::Phys => Some(top),
        AddrSpace::Virt => integrations::translate(&app.dump, VirtAddr(top))
            .ok()
            .map(|p| p.0),
    };
    let ranges = app.dump.memory().ranges();
    match phys.and_then(|p| {
        ranges
            .iter()
            .position(|r| r.phys.contains(p) && r.kind != vmcore::RangeKind::KernelText)
            .map(|i| (p, i))
    }) {
        Some((p, i)) => format!("physical {p:#x} · range #{i} ({})", ranges[i].phys),
        None => "not in any range of the dump".into(),
    }
}

fn hex_line(addr: u64, bytes: &[Option<u8>], hl: Option<(u64, u64)>) -> Line<'static> {
    let mark = Style::new()
        .add_modifier(Modifier::REVERSED)
        .fg(Color::Yellow);
    let bad = Style::new().fg(Color::Red);
    let mut spans = Vec::with_capacity(bytes.len() * 2 + 4);
    spans.push(Span::styled(
        format!("{addr:016x}  "),
        Style::new().fg(Color::Cyan),
    ));
    let is_hl = |i: usize| hl.is_some_and(|(s, e)| (s..e).contains(&(addr + i as u64)));
    for (i, b) in bytes.iter().enumerate() {
        let (text, style) = match b {
            Some(v) => (format!("{v:02x}"), Style::new()),
            None => ("??".to_string(), bad),
        };
        let style = if is_hl(i) { mark } else { style };
        spans.push(Span::styled(text, style));
        spans.push(Span::raw(if i % 8 == 7 { "  " } else { " " }));
    }
    spans.push(Span::raw("|"));
    for (i, b) in bytes.iter().enumerate() {
        let (c, style) = match b {
            Some(v) if v.is_ascii_graphic() || *v == b' ' => {
                ((*v as char).to_string(), Style::new())
            }
            Some(_) => (".".to_string(), Style::new().dim()),
            None => ("?".to_string(), bad),
        };
        spans.push(Span::styled(c, if is_hl(i) { mark } else { style }));
    }
    spans.push(Span::raw("|"));
    Line::from(spans)
}
