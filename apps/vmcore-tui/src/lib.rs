//! `vmcore-tui`: a terminal browser for Linux crash dumps, over the `vmcore` crate.
//!
//! The Elm architecture, as ratatui describes it:
//! - [`state::App`]: the model (selected view, list positions, open popups, background jobs).
//! - [`action::Action`]: everything that can happen.
//! - [`keymap`]: the one key table; [`keymap::action_for`] maps a key to an action and the
//!   help overlay is generated from the same table.
//! - [`update::update`]: the only code that changes the model.
//! - [`ui::render`]: draws `&App`, one module per view, formatting only visible rows.
//! - [`jobs`]: slow work (kernel-log decoding, memory search) run off the UI thread.
//! - [`integrations`]: the seams for readers still being written (kernel log, page tables,
//!   hotplug history).
//!
//! The binary (`src/main.rs`) owns the terminal and the event loop; everything here renders
//! into any ratatui backend, so tests and benchmarks use `TestBackend`.

pub mod action;
pub mod integrations;
pub mod jobs;
pub mod keymap;
pub mod state;
pub mod ui;
pub mod update;

pub use action::{Action, Target};
pub use state::{App, View};
pub use update::update;
