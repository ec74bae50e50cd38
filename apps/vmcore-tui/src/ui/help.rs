//! The `?` overlay, generated from the key table so it lists exactly the keys that work.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Stylize;
use ratatui::text::Line;
use ratatui::widgets::{Block, Clear, Paragraph};

use super::centered;
use crate::keymap::help_rows;
use crate::state::App;

pub(super) fn render(frame: &mut Frame, area: Rect, app: &App) {
    let mut lines = Vec::new();
    let mut last = None;
    for (ctx, keys, help) in help_rows() {
        if last != Some(ctx) {
            if last.is_some() {
                lines.push(Line::from(""));
            }
            lines.push(Line::from(ctx.title()).bold().underlined());
            last = Some(ctx);
        }
        lines.push(Line::from(format!("  {keys:<22} {help}")));
    }
    let popup = centered(area, 72, area.height);
    let max_scroll = (lines.len() as u16).saturating_sub(popup.height.saturating_sub(2));
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines)
            .scroll((app.help_scroll.min(max_scroll), 0))
            .block(Block::bordered().title(" Keys · ↑↓ scroll · Esc close ")),
        popup,
    );
}
