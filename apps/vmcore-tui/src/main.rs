//! `vmcore-tui DUMP [--history FILE]... [--state DIR | --elfcorehdr FILE]`: the terminal, the event loop and the worker thread.
//! Everything else is in the library.

use std::io::{self, IsTerminal as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread;
use std::time::Duration;

use anyhow::{Context as _, Result};
use clap::Parser;
use crossterm::event::{self as ct, DisableMouseCapture, EnableMouseCapture, KeyEvent, MouseEvent};
use vmcore::Dump;
use vmcore_tui::jobs::{self, Job, JobEvent};
use vmcore_tui::state::App;
use vmcore_tui::{Action, integrations, keymap, ui, update};

/// A terminal browser for Linux crash dumps.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// The dump (ELF vmcore, kdump-compressed, flattened; `-` reads a flattened stream from
    /// standard input). Without it, the bundled sample dump is opened.
    dump: Option<PathBuf>,
    /// A hotplug history to diff against the dump and highlight in the memory map: any format
    /// `vmcore check --history` reads. Repeat to append, e.g. a sysfs snapshot, then the
    /// events after it.
    #[arg(long, value_name = "FILE|DIR")]
    history: Vec<PathBuf>,
    /// A captured procfs/sysfs root: its crash_notes addresses name the CPU of each register
    /// note (as `vmcore check --state`).
    #[arg(long, value_name = "DIR")]
    state: Option<PathBuf>,
    /// A raw elfcorehdr whose CPU PT_NOTEs name the CPU of each register note (as `vmcore
    /// check --elfcorehdr`).
    #[arg(long, value_name = "FILE")]
    elfcorehdr: Option<PathBuf>,
}

/// Everything the event loop reacts to, from one channel (a closed set, so the loop is one
/// `match`).
#[derive(Debug)]
enum Event {
    Key(KeyEvent),
    Mouse(MouseEvent),
    Resize,
    /// No event for a while: redraw so progress shows.
    Tick,
    /// The input thread stopped (stdin closed or a terminal error).
    InputClosed(String),
    Job(JobEvent),
}

/// How long the loop waits before a redraw without input (keeps progress moving).
const TICK: Duration = Duration::from_millis(250);

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vmcore-tui: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn open(cli: &Cli) -> Result<App> {
    let path = match &cli.dump {
        Some(p) => p.clone(),
        None => {
            eprintln!(
                "vmcore-tui: no dump given, opening the bundled sample (decompressing it on first use)…"
            );
            real_data::sample_path()?
        }
    };
    let mut app = App::open(&path)?;
    if !cli.history.is_empty() {
        let ids = integrations::CpuNaming {
            state: cli.state.clone(),
            elfcorehdr: cli.elfcorehdr.clone(),
        };
        let overlay = integrations::load_histories(&cli.history, &ids, &app.dump)?;
        app.set_history(overlay);
    } else if cli.state.is_some() || cli.elfcorehdr.is_some() {
        anyhow::bail!(
            "--state and --elfcorehdr name CPUs for the history diff: give --history too"
        );
    }
    Ok(app)
}

fn run(cli: Cli) -> Result<()> {
    // Open before touching the terminal, so errors print normally.
    let mut app = open(&cli)?;
    // A full-screen program needs a terminal to draw on; without one, ratatui cannot start
    // (and would leave escape codes in whatever stdout is).
    if !io::stdout().is_terminal() {
        anyhow::bail!(
            "standard output is not a terminal: vmcore-tui draws full-screen; for text output use `vmcore info`, `vmcore cpus`, `vmcore dmesg` …"
        );
    }
    let (tx, rx) = mpsc::channel::<Event>();
    let jobs_tx = spawn_worker(Arc::clone(&app.dump), tx.clone());
    // SIGTERM, SIGHUP and an outside SIGINT (raw mode turns C-c into a key) end the loop
    // normally, so the guard restores the terminal instead of the process dying in raw mode.
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
        signal_hook::consts::SIGINT,
    ] {
        signal_hook::flag::register(sig, Arc::clone(&stop))
            .context("installing the signal handlers")?;
    }
    // ratatui::init enables raw mode and the alternate screen and installs a panic hook that
    // restores them; the guard undoes mouse capture and restores on every other exit path.
    let mut terminal = ratatui::try_init().context("cannot set up the terminal")?;
    let _guard = Guard;
    // ratatui's panic hook restores raw mode and the screen, not mouse reporting or the cursor.
    let ratatui_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let _ = crossterm::execute!(io::stdout(), DisableMouseCapture, crossterm::cursor::Show);
        ratatui_hook(info);
    }));
    crossterm::execute!(io::stdout(), EnableMouseCapture)?;
    spawn_input(tx);
    event_loop(&mut terminal, &mut app, &rx, &jobs_tx, &stop)
}

/// Restores the terminal when `run` returns or unwinds.
struct Guard;

impl Drop for Guard {
    fn drop(&mut self) {
        // Best effort: there is nowhere left to report a failure to.
        let _ = crossterm::execute!(io::stdout(), DisableMouseCapture, crossterm::cursor::Show);
        ratatui::restore();
        let _ = io::stdout().flush();
    }
}

fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    app: &mut App,
    rx: &Receiver<Event>,
    jobs_tx: &Sender<Job>,
    stop: &AtomicBool,
) -> Result<()> {
    while app.running {
        if stop.load(Ordering::Relaxed) {
            return Ok(());
        }
        for job in app.take_jobs() {
            // The worker only stops when this sender is dropped, so sending cannot fail
            // while the loop runs; if it did, the job is simply never reported.
            let _ = jobs_tx.send(job);
        }
        terminal.draw(|f| ui::render(f, app))?;
        let first = match rx.recv_timeout(TICK) {
            Ok(ev) => ev,
            Err(RecvTimeoutError::Timeout) => Event::Tick,
            Err(RecvTimeoutError::Disconnected) => return Ok(()),
        };
        handle(app, first)?;
        // Drain what else is queued before redrawing, so a burst of wheel events or key
        // repeats costs one frame.
        while app.running {
            match rx.try_recv() {
                Ok(ev) => handle(app, ev)?,
                Err(_) => break,
            }
        }
    }
    Ok(())
}

fn handle(app: &mut App, ev: Event) -> Result<()> {
    let action = match ev {
        Event::Key(k) => keymap::action_for(k, app),
        Event::Mouse(m) => keymap::action_for_mouse(m, app),
        Event::Resize | Event::Tick => None,
        Event::Job(j) => Some(Action::Job(j)),
        Event::InputClosed(why) => anyhow::bail!("terminal input failed: {why}"),
    };
    if let Some(a) = action {
        update(app, a);
    }
    Ok(())
}

/// Reads terminal events on its own thread, so the loop never blocks on input.
fn spawn_input(tx: Sender<Event>) {
    thread::spawn(move || {
        loop {
            let ev = match ct::read() {
                Ok(ct::Event::Key(k)) => Event::Key(k),
                Ok(ct::Event::Mouse(m)) => Event::Mouse(m),
                Ok(ct::Event::Resize(..)) => Event::Resize,
                Ok(_) => continue,
                Err(e) => {
                    let _ = tx.send(Event::InputClosed(e.to_string()));
                    return;
                }
            };
            if tx.send(ev).is_err() {
                return;
            }
        }
    });
}

/// Starts each job on its own thread (there are only ever a couple: the log decode and the
/// latest search), reporting through the event channel. A thread per job means a long log
/// decode never delays a search; superseded searches stop through their cancel flag.
fn spawn_worker(dump: Arc<Dump>, tx: Sender<Event>) -> Sender<Job> {
    let (jobs_tx, jobs_rx) = mpsc::channel::<Job>();
    thread::spawn(move || {
        for job in jobs_rx {
            let dump = Arc::clone(&dump);
            let tx = tx.clone();
            thread::spawn(move || {
                jobs::run(job, &dump, &mut |e| {
                    // The loop has exited when this fails; the report is moot.
                    let _ = tx.send(Event::Job(e));
                });
            });
        }
    });
    jobs_tx
}
