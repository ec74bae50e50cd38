//! vmcore-tui integration tests: view snapshots, key sequences, and an end-to-end run of the
//! binary in a pseudo-terminal. One binary, as the workspace's testing conventions ask.

mod e2e;
mod kernel;
mod keys;
mod views;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use vmcore_tui::{App, jobs, keymap, ui, update};

/// The real /proc/vmcore of the bundled Linux 6.12 guest, with its background jobs (kernel-log
/// decode) run to completion so renders are deterministic.
pub fn real_app() -> App {
    let path = real_data::path("kdump/proc-vmcore.elf").expect("bundled sample dump");
    let mut app = App::open(&path).expect("open the sample dump");
    jobs::run_pending(&mut app);
    app
}

/// A synthetic dump's app.
pub fn synthetic_app(spec: &testgen::ElfSpec) -> App {
    let dump = vmcore::Dump::from_bytes(testgen::elf_bytes(spec)).expect("testgen dump opens");
    let mut app = App::new(dump, "synthetic.elf");
    jobs::run_pending(&mut app);
    app
}

/// Render the whole UI into a `w`×`h` test terminal.
pub fn render(app: &App, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).expect("test terminal");
    t.draw(|f| ui::render(f, app)).expect("draw");
    t.backend().to_string()
}

/// Press keys as the event loop would: look them up, apply the action, run queued jobs.
pub fn press(app: &mut App, keys: &[KeyEvent]) {
    for &k in keys {
        if let Some(a) = keymap::action_for(k, app) {
            update(app, a);
        }
        jobs::run_pending(app);
    }
}

/// One key.
pub fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

/// Type `text` one character at a time.
pub fn type_text(app: &mut App, text: &str) {
    let keys: Vec<KeyEvent> = text.chars().map(|c| key(KeyCode::Char(c))).collect();
    press(app, &keys);
}
