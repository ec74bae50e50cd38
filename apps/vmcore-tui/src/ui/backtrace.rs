//! A backtrace as popup lines, shared by the CPU detail and the task stack: one line a frame,
//! `#N [sp] func+0xoff/0xsize [module] at pc`, as `vmcore bt` and crash print them, with
//! stack switches, interrupted frames and the user-mode boundary marked, then why the walk
//! stopped.

use ratatui::style::{Color, Style, Stylize};
use ratatui::text::{Line, Span};

use kernel_introspect::unwind::FrameKind;
use kernel_introspect::{Backtrace, Frame};

/// `func+0xoff/0xsize [module]`, or what is known of an unnamed frame.
pub(crate) fn frame_name(f: &Frame) -> String {
    f.location()
}

/// The lines of `trace`.
pub(crate) fn lines(trace: &Backtrace) -> Vec<Line<'static>> {
    let mut v = Vec::with_capacity(trace.frames.len() + 2);
    let mut prev_stack = None;
    for (i, f) in trace.frames.iter().enumerate() {
        if prev_stack.is_some_and(|s| s != f.stack) {
            v.push(Line::from(format!(" --- <{} stack> ---", f.stack.name())).dim());
        }
        prev_stack = Some(f.stack);
        let mut spans = vec![
            Span::raw(format!("{:>3} [{:016x}] ", format!("#{i}"), f.sp)),
            Span::styled(frame_name(f), Style::new().fg(Color::Cyan)),
            Span::raw(format!(" at {:016x}", f.pc)),
        ];
        match &f.kind {
            // The user-mode boundary: the kernel trace ends at the context the entry saved.
            FrameKind::User { .. } => spans.push(Span::styled(
                " (user mode: the kernel was entered here)",
                Style::new().fg(Color::Magenta).bold(),
            )),
            FrameKind::Interrupted { partial, .. } => spans.push(Span::styled(
                if *partial {
                    " (interrupted, partial registers)"
                } else {
                    " (interrupted)"
                },
                Style::new().fg(Color::Yellow),
            )),
            FrameKind::Call => {}
        }
        if !matches!(f.method.name(), "orc" | "start") {
            spans.push(Span::raw(format!(" ({})", f.method.name())).dim());
        }
        v.push(Line::from(spans));
    }
    let stop = Line::from(format!("    stop: {}", trace.stop));
    v.push(if trace.stop.is_complete() {
        stop.dim()
    } else {
        stop.fg(Color::Red)
    });
    v
}
