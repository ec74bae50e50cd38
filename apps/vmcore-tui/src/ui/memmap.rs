//! Memory map: a proportional picture of the physical address space over a table of ranges.

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Row, Table, TableState};
use vmcore::{MemoryRange, PhysRange, RangeKind};

use super::{SELECTED, human_size};
use crate::state::App;

/// What a cell of the picture shows, in increasing priority (a cell shows the highest kind
/// any byte of it has, so a small range in a big cell stays visible).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Hole,
    Zero,
    /// Some pages stored, some excluded (kdump-compressed dumps).
    Partial,
    Present,
    Hotplugged,
    Truncated,
}

impl Kind {
    fn glyph(self) -> (&'static str, Style) {
        match self {
            Kind::Hole => ("·", Style::new().fg(Color::DarkGray)),
            Kind::Zero => ("▒", Style::new().fg(Color::Blue)),
            Kind::Partial => ("▄", Style::new().fg(Color::Green)),
            Kind::Present => ("█", Style::new().fg(Color::Green)),
            Kind::Hotplugged => ("▓", Style::new().fg(Color::Magenta)),
            Kind::Truncated => ("░", Style::new().fg(Color::Red)),
        }
    }
}

pub(super) fn render(frame: &mut Frame, area: Rect, app: &App) {
    let pic_h = if area.height >= 30 { 8 } else { 5 };
    let [pic, table] =
        Layout::vertical([Constraint::Length(pic_h), Constraint::Min(3)]).areas(area);
    render_picture(frame, pic, app);
    render_table(frame, table, app);
}

/// The end of the address space the picture spans: the end of the highest RAM range.
fn span_end(app: &App) -> u64 {
    let ranges = app.dump.memory().ranges();
    app.ram
        .iter()
        .filter_map(|&i| ranges.get(i))
        .map(|r| r.phys.end.0)
        .max()
        .unwrap_or(0)
}

fn render_picture(frame: &mut Frame, area: Rect, app: &App) {
    let end = span_end(app);
    let title = format!(" Physical address space 0x0-{:#x} ", end.saturating_sub(1));
    let legend = Line::from(vec![
        Span::styled("█", Kind::Present.glyph().1),
        Span::raw(" present "),
        Span::styled("▄", Kind::Partial.glyph().1),
        Span::raw(" partly "),
        Span::styled("▒", Kind::Zero.glyph().1),
        Span::raw(" zero/excluded "),
        Span::styled("░", Kind::Truncated.glyph().1),
        Span::raw(" truncated "),
        Span::styled("▓", Kind::Hotplugged.glyph().1),
        Span::raw(" hot-plugged "),
        Span::styled("·", Kind::Hole.glyph().1),
        Span::raw(" hole "),
    ]);
    let block = Block::bordered().title(title).title_bottom(legend);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    draw_cells(frame.buffer_mut(), inner, app, end);
}

/// Fill `area` with cells, each covering an equal share of `[0, end)`, reading left to right
/// and top to bottom. Costs O(cells × log ranges + ranges) per frame.
fn draw_cells(buf: &mut Buffer, area: Rect, app: &App, end: u64) {
    let cells = u128::from(area.width) * u128::from(area.height);
    if cells == 0 || end == 0 {
        return;
    }
    let ranges = app.dump.memory().ranges();
    let ram: Vec<&MemoryRange> = app.ram.iter().filter_map(|&i| ranges.get(i)).collect();
    let hot: &[PhysRange] = app.history.as_ref().map_or(&[], |h| &h.hotplugged);
    let selected = ranges.get(app.ranges.selected).map(|r| r.phys);
    let bound = |i: u128| (i * u128::from(end) / cells) as u64;
    for i in 0..cells {
        let cell = PhysRange::new(bound(i), bound(i + 1).max(bound(i) + 1));
        let mut kind = Kind::Hole;
        if let Some(c) = app.dump.page_counts(cell) {
            // kdump-compressed: the bitmaps say which pages the dump level excluded.
            kind = match c {
                c if c.ram == 0 => Kind::Hole,
                c if c.stored == 0 => Kind::Zero,
                c if c.stored >= c.ram => Kind::Present,
                _ => Kind::Partial,
            };
        } else {
            // Ranges are in start order; skip those ending before the cell.
            let first = ram.partition_point(|r| r.phys.start.0 < cell.start.0);
            let from = first.saturating_sub(1);
            for r in ram[from..]
                .iter()
                .take_while(|r| r.phys.start.0 < cell.end.0)
            {
                if r.phys.overlaps(&cell) {
                    kind = kind.max(range_kind(r, &cell));
                }
            }
        }
        if kind > Kind::Hole && hot.iter().any(|h| h.overlaps(&cell)) {
            kind = kind.max(Kind::Hotplugged);
        }
        let (glyph, mut style) = kind.glyph();
        if selected.is_some_and(|s| s.overlaps(&cell)) {
            style = style.bg(Color::Yellow);
        }
        let x = area.x + (i % u128::from(area.width)) as u16;
        let y = area.y + (i / u128::from(area.width)) as u16;
        if let Some(c) = buf.cell_mut((x, y)) {
            c.set_symbol(glyph).set_style(style);
        }
    }
}

/// What part of `r` falls in `cell`: file bytes, missing file bytes, or zero fill.
fn range_kind(r: &MemoryRange, cell: &PhysRange) -> Kind {
    if r.file_offset.is_none() {
        // kdump-compressed pages (or a headers-only elfcorehdr): described, not laid out.
        return Kind::Present;
    }
    let s = r.phys.start.0;
    // An empty part (nothing missing, nothing present) must not count as touching the cell.
    let touches = |a: u64, b: u64| {
        let p = PhysRange::new(s.saturating_add(a), s.saturating_add(b));
        !p.is_empty() && p.overlaps(cell)
    };
    if touches(r.present, r.file_size) {
        Kind::Truncated
    } else if touches(0, r.present) {
        Kind::Present
    } else {
        Kind::Zero
    }
}

fn state_text(r: &MemoryRange, app: &App) -> String {
    let counts = app.dump.page_counts(r.phys).filter(|c| c.ram > 0);
    let mut s = if let Some(c) = counts {
        let excluded = c.ram.saturating_sub(c.stored);
        if excluded == 0 {
            format!("{} pages stored", c.stored)
        } else {
            format!(
                "{} of {} pages, {}% excluded",
                c.stored,
                c.ram,
                excluded * 100 / c.ram
            )
        }
    } else if app.dump.is_headers_only() {
        "headers only: no data".to_string()
    } else if r.file_offset.is_none() {
        "no file data".to_string()
    } else if r.missing() > 0 {
        format!("truncated: {} missing", human_size(r.missing()))
    } else if r.file_size < r.phys.len() {
        format!("{} zero-filled", human_size(r.phys.len() - r.file_size))
    } else {
        "present".to_string()
    };
    if app
        .history
        .as_ref()
        .is_some_and(|h| h.hotplugged.iter().any(|p| p.overlaps(&r.phys)))
    {
        s.push_str(" · hot-plugged");
    }
    s
}

fn render_table(frame: &mut Frame, area: Rect, app: &App) {
    let ranges = app.dump.memory().ranges();
    let wide = area.width >= 120;
    let block = Block::bordered().title(format!(" Ranges ({}) · Enter: hex view ", ranges.len()));
    let vis = app
        .ranges
        .visible(ranges.len(), area.height.saturating_sub(3) as usize);
    let first = vis.start;
    let rows = ranges[vis].iter().enumerate().map(|(k, r)| {
        let i = first + k;
        let kind = match r.kind {
            RangeKind::Load => "load",
            RangeKind::KernelText => "text",
            RangeKind::KdumpRam => "ram",
        };
        let mut cells = vec![
            i.to_string(),
            format!("{:012x}", r.phys.start.0),
            format!("{:012x}", r.phys.last()),
            human_size(r.phys.len()),
            kind.to_string(),
        ];
        if wide {
            cells.push(
                r.virt
                    .map_or_else(|| "-".into(), |v| format!("{:016x}", v.0)),
            );
            cells.push(
                r.file_offset
                    .map_or_else(|| "-".into(), |o| format!("{:#x}", o.0)),
            );
        }
        cells.push(state_text(r, app));
        let row = Row::new(cells);
        if r.missing() > 0 {
            row.fg(Color::Red)
        } else {
            row
        }
    });
    let mut widths = vec![
        Constraint::Length(5),
        Constraint::Length(12),
        Constraint::Length(12),
        Constraint::Length(10),
        Constraint::Length(4),
    ];
    let mut header = vec!["#", "START", "END", "SIZE", "KIND"];
    if wide {
        widths.extend([Constraint::Length(16), Constraint::Length(12)]);
        header.extend(["VIRTUAL", "FILE OFFSET"]);
    }
    widths.push(Constraint::Min(8));
    header.push("STATE");
    let table = Table::new(rows, widths)
        .header(Row::new(header).bold())
        .block(block)
        .row_highlight_style(SELECTED);
    let mut state = TableState::default()
        .with_selected((!ranges.is_empty()).then(|| app.ranges.selected - first));
    frame.render_stateful_widget(table, area, &mut state);
}
