//! vmcoreinfo: every KEY=VALUE line of the note, filterable.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Stylize;
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table, TableState};

use super::SELECTED;
use crate::state::App;

pub(super) fn render(frame: &mut Frame, area: Rect, app: &App) {
    let Some(vi) = app.dump.vmcoreinfo() else {
        frame.render_widget(
            Paragraph::new("This dump has no VMCOREINFO note.")
                .block(Block::bordered().title(" vmcoreinfo ")),
            area,
        );
        return;
    };
    let entries = vi.entries();
    let shown = &app.vmcoreinfo_rows;
    let filter = if app.vmcoreinfo_filter.is_empty() {
        String::new()
    } else {
        format!(" matching {:?}", app.vmcoreinfo_filter)
    };
    let title = format!(
        " vmcoreinfo · {} of {} keys{filter} · / filter ",
        shown.len(),
        entries.len()
    );
    let vis = app
        .vmcoreinfo
        .visible(shown.len(), area.height.saturating_sub(2) as usize);
    let first = vis.start;
    let key_w = entries
        .iter()
        .map(|(k, _)| k.len())
        .max()
        .unwrap_or(8)
        .min(48) as u16;
    let rows = shown[vis]
        .iter()
        .filter_map(|&i| entries.get(i))
        .map(|(k, v)| Row::new([Cell::from(k.clone()).bold(), Cell::from(v.clone())]));
    let table = Table::new(rows, [Constraint::Length(key_w), Constraint::Min(8)])
        .block(Block::bordered().title(title))
        .row_highlight_style(SELECTED);
    let mut state = TableState::default()
        .with_selected((!shown.is_empty()).then(|| app.vmcoreinfo.selected - first));
    frame.render_stateful_widget(table, area, &mut state);
}
