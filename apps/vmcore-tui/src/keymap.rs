//! Every key binding, in one table. [`action_for`] looks keys up in it and the help overlay
//! is generated from it, so the help can never disagree with the keys.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseEvent, MouseEventKind};

use crate::action::Action;
use crate::state::{App, PromptKind, TaskSort, View};

/// Where a binding applies. Lookup tries the innermost context first (see [`contexts`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ctx {
    /// Anywhere (unless a prompt or the help is open).
    Global,
    /// A text prompt is open: it gets every key.
    Prompt,
    /// The help overlay is open.
    Help,
    /// The CPU detail popup is open.
    CpuDetail,
    /// A task's stack is open.
    TaskDetail,
    /// A finding is open in full.
    FindingDetail,
    /// A view.
    View(View),
}

impl Ctx {
    /// Heading in the help overlay.
    pub fn title(self) -> &'static str {
        match self {
            Ctx::Global => "Everywhere",
            Ctx::Prompt => "Prompt",
            Ctx::Help => "Help",
            Ctx::CpuDetail => "CPU detail",
            Ctx::TaskDetail => "Task stack",
            Ctx::FindingDetail => "Finding detail",
            Ctx::View(v) => v.title(),
        }
    }
}

/// A key: a code and the modifiers that must be held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    /// Key code; `KeyCode::Null` stands for "any printable character" (prompt typing).
    pub code: KeyCode,
    /// Required modifiers (Shift is ignored for characters: `?` arrives with or without it).
    pub mods: KeyModifiers,
}

const fn k(c: char) -> Key {
    Key {
        code: KeyCode::Char(c),
        mods: KeyModifiers::NONE,
    }
}
const fn ctrl(c: char) -> Key {
    Key {
        code: KeyCode::Char(c),
        mods: KeyModifiers::CONTROL,
    }
}
const fn code(code: KeyCode) -> Key {
    Key {
        code,
        mods: KeyModifiers::NONE,
    }
}
const ANY_CHAR: Key = code(KeyCode::Null);

impl Key {
    /// How the help shows this key.
    pub fn label(&self) -> String {
        let base = match self.code {
            KeyCode::Null => "any char".to_string(),
            KeyCode::Char(' ') => "Space".to_string(),
            KeyCode::Char(c) => c.to_string(),
            KeyCode::Up => "↑".into(),
            KeyCode::Down => "↓".into(),
            KeyCode::Left => "←".into(),
            KeyCode::Right => "→".into(),
            KeyCode::PageUp => "PgUp".into(),
            KeyCode::PageDown => "PgDn".into(),
            KeyCode::BackTab => "S-Tab".into(),
            KeyCode::F(n) => format!("F{n}"),
            other => format!("{other}"),
        };
        if self.mods.contains(KeyModifiers::CONTROL) {
            format!("C-{base}")
        } else {
            base
        }
    }

    fn matches(&self, ev: &KeyEvent) -> bool {
        match (self.code, ev.code) {
            (KeyCode::Null, KeyCode::Char(_)) => !ev
                .modifiers
                .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT),
            (KeyCode::Char(a), KeyCode::Char(b)) => {
                a == b && ev.modifiers.difference(KeyModifiers::SHIFT) == self.mods
            }
            // Terminals send Shift-Tab as BackTab with the Shift modifier held.
            (KeyCode::BackTab, KeyCode::BackTab) => {
                ev.modifiers.difference(KeyModifiers::SHIFT) == self.mods
            }
            (a, b) => a == b && ev.modifiers == self.mods,
        }
    }
}

/// One row of the key table.
#[derive(Debug)]
pub struct Binding {
    /// Where it applies.
    pub ctx: Ctx,
    /// The keys (any of them).
    pub keys: &'static [Key],
    /// What they do (`InputChar` is filled with the typed character).
    pub action: Action,
    /// Help text.
    pub help: &'static str,
}

macro_rules! bind {
    ($ctx:expr, [$($key:expr),+ $(,)?], $action:expr, $help:literal) => {
        Binding { ctx: $ctx, keys: &[$($key),+], action: $action, help: $help }
    };
}

use Ctx::{CpuDetail, FindingDetail, Global, Help, Prompt, TaskDetail};
const CPUS: Ctx = Ctx::View(View::Cpus);
const TASKS: Ctx = Ctx::View(View::Tasks);
const MEMORY: Ctx = Ctx::View(View::Memory);
const HEX: Ctx = Ctx::View(View::Hex);
const VMCI: Ctx = Ctx::View(View::Vmcoreinfo);
const LOG: Ctx = Ctx::View(View::KernelLog);
const FINDINGS: Ctx = Ctx::View(View::Findings);

/// The key table. Earlier rows win within a context.
pub static BINDINGS: &[Binding] = &[
    bind!(
        Prompt,
        [code(KeyCode::Enter)],
        Action::InputSubmit,
        "run it"
    ),
    bind!(
        Prompt,
        [code(KeyCode::Esc), ctrl('c')],
        Action::Back,
        "cancel"
    ),
    bind!(
        Prompt,
        [code(KeyCode::Backspace)],
        Action::InputBackspace,
        "delete a character"
    ),
    bind!(Prompt, [ANY_CHAR], Action::InputChar('\0'), "type"),
    bind!(
        Help,
        [code(KeyCode::Esc), k('?'), k('q'), code(KeyCode::Enter)],
        Action::ToggleHelp,
        "close the help"
    ),
    bind!(Help, [ctrl('c')], Action::Quit, "quit"),
    bind!(Help, [code(KeyCode::Up), k('k')], Action::Up, "scroll up"),
    bind!(
        Help,
        [code(KeyCode::Down), k('j')],
        Action::Down,
        "scroll down"
    ),
    bind!(Help, [code(KeyCode::PageUp)], Action::PageUp, "page up"),
    bind!(
        Help,
        [code(KeyCode::PageDown), k(' ')],
        Action::PageDown,
        "page down"
    ),
    bind!(
        CpuDetail,
        [
            code(KeyCode::Esc),
            code(KeyCode::Enter),
            code(KeyCode::Backspace)
        ],
        Action::Back,
        "close the detail"
    ),
    bind!(
        CpuDetail,
        [k('s')],
        Action::GotoStack,
        "show the stack (RSP) in the hex view"
    ),
    bind!(
        CpuDetail,
        [k('i')],
        Action::GotoCode,
        "show the code (RIP) in the hex view"
    ),
    bind!(
        CPUS,
        [code(KeyCode::Enter)],
        Action::Open,
        "open the backtrace, registers and QEMU state"
    ),
    bind!(
        TaskDetail,
        [
            code(KeyCode::Esc),
            code(KeyCode::Enter),
            code(KeyCode::Backspace)
        ],
        Action::Back,
        "close the stack"
    ),
    bind!(
        TASKS,
        [code(KeyCode::Enter)],
        Action::Open,
        "show the task's stack"
    ),
    bind!(
        TASKS,
        [k('p')],
        Action::SortTasks(TaskSort::Pid),
        "sort by pid"
    ),
    bind!(
        TASKS,
        [k('s')],
        Action::SortTasks(TaskSort::State),
        "sort by state (R, D, S, …)"
    ),
    bind!(
        TASKS,
        [k('c')],
        Action::SortTasks(TaskSort::Cpu),
        "sort by CPU"
    ),
    bind!(
        MEMORY,
        [code(KeyCode::Enter)],
        Action::Open,
        "show the range in the hex view"
    ),
    bind!(
        HEX,
        [k('g')],
        Action::Prompt(PromptKind::Goto),
        "go to an address (v: virtual, p: physical) or a symbol"
    ),
    bind!(
        HEX,
        [k('/')],
        Action::Prompt(PromptKind::HexSearch),
        "search text, or x: hex bytes"
    ),
    bind!(HEX, [k('n')], Action::NextMatch, "next match"),
    bind!(
        VMCI,
        [k('/'), k('f')],
        Action::Prompt(PromptKind::Filter),
        "filter keys and values"
    ),
    bind!(
        LOG,
        [k('/')],
        Action::Prompt(PromptKind::LogSearch),
        "search the log"
    ),
    bind!(LOG, [k('n')], Action::NextMatch, "next match"),
    bind!(LOG, [k('N')], Action::PrevMatch, "previous match"),
    bind!(
        FindingDetail,
        [code(KeyCode::Enter)],
        Action::Open,
        "jump to the finding's CPU or range"
    ),
    bind!(
        FindingDetail,
        [code(KeyCode::Esc), code(KeyCode::Backspace)],
        Action::Back,
        "close the finding"
    ),
    bind!(
        FINDINGS,
        [code(KeyCode::Enter)],
        Action::Open,
        "show the whole finding (Enter again: jump to its CPU or range)"
    ),
    bind!(Global, [k('q'), ctrl('c')], Action::Quit, "quit"),
    bind!(
        Global,
        [k('?'), code(KeyCode::F(1))],
        Action::ToggleHelp,
        "this help"
    ),
    bind!(
        Global,
        [code(KeyCode::Esc)],
        Action::Back,
        "close, clear, cancel a search"
    ),
    bind!(
        Global,
        [code(KeyCode::Tab), code(KeyCode::Right), k('l')],
        Action::NextView,
        "next view"
    ),
    bind!(
        Global,
        [code(KeyCode::BackTab), code(KeyCode::Left), k('h')],
        Action::PrevView,
        "previous view"
    ),
    bind!(
        Global,
        [k('1')],
        Action::ShowView(View::Overview),
        "Overview"
    ),
    bind!(Global, [k('2')], Action::ShowView(View::Cpus), "CPUs"),
    bind!(Global, [k('3')], Action::ShowView(View::Tasks), "Tasks"),
    bind!(
        Global,
        [k('4')],
        Action::ShowView(View::Memory),
        "Memory map"
    ),
    bind!(Global, [k('5')], Action::ShowView(View::Hex), "Hex view"),
    bind!(
        Global,
        [k('6')],
        Action::ShowView(View::Vmcoreinfo),
        "vmcoreinfo"
    ),
    bind!(
        Global,
        [k('7')],
        Action::ShowView(View::KernelLog),
        "Kernel log"
    ),
    bind!(
        Global,
        [k('8')],
        Action::ShowView(View::Findings),
        "Findings"
    ),
    bind!(Global, [code(KeyCode::Up), k('k')], Action::Up, "up"),
    bind!(Global, [code(KeyCode::Down), k('j')], Action::Down, "down"),
    bind!(
        Global,
        [code(KeyCode::PageUp), ctrl('u'), ctrl('b')],
        Action::PageUp,
        "page up"
    ),
    bind!(
        Global,
        [code(KeyCode::PageDown), ctrl('d'), ctrl('f'), k(' ')],
        Action::PageDown,
        "page down"
    ),
    bind!(
        Global,
        [code(KeyCode::Home), k('g')],
        Action::Home,
        "first row"
    ),
    bind!(
        Global,
        [code(KeyCode::End), k('G')],
        Action::End,
        "last row"
    ),
];

/// The contexts that are active, innermost first.
pub fn contexts(app: &App) -> Vec<Ctx> {
    if app.input.is_some() {
        return vec![Ctx::Prompt];
    }
    if app.help {
        // The wheel scrolls the help too.
        return vec![Ctx::Help];
    }
    let mut v = Vec::with_capacity(3);
    if app.cpu_detail.is_some() && app.view == View::Cpus {
        v.push(Ctx::CpuDetail);
    } else if app.task_detail.is_some() && app.view == View::Tasks {
        v.push(Ctx::TaskDetail);
    } else if app.finding_detail && app.view == View::Findings {
        v.push(Ctx::FindingDetail);
        v.push(Ctx::View(app.view));
    } else {
        v.push(Ctx::View(app.view));
    }
    v.push(Ctx::Global);
    v
}

/// The action a key press means in the app's current state, if any.
pub fn action_for(ev: KeyEvent, app: &App) -> Option<Action> {
    // Terminals that report releases (Windows, the kitty protocol) would double every key.
    if ev.kind == KeyEventKind::Release {
        return None;
    }
    for ctx in contexts(app) {
        for b in BINDINGS.iter().filter(|b| b.ctx == ctx) {
            if b.keys.iter().any(|key| key.matches(&ev)) {
                return Some(match (&b.action, ev.code) {
                    (Action::InputChar(_), KeyCode::Char(c)) => Action::InputChar(c),
                    (a, _) => a.clone(),
                });
            }
        }
    }
    None
}

/// The action of a mouse event: the wheel scrolls, the rest is ignored.
pub fn action_for_mouse(ev: MouseEvent, app: &App) -> Option<Action> {
    if app.input.is_some() {
        return None;
    }
    match ev.kind {
        MouseEventKind::ScrollUp => Some(Action::WheelUp),
        MouseEventKind::ScrollDown => Some(Action::WheelDown),
        _ => None,
    }
}

/// The help text, one `(context, keys, description)` per binding, in table order with
/// contexts grouped.
pub fn help_rows() -> Vec<(Ctx, String, &'static str)> {
    let mut order: Vec<Ctx> = Vec::new();
    for b in BINDINGS {
        if !order.contains(&b.ctx) {
            order.push(b.ctx);
        }
    }
    // Global keys first: they are what a new user needs.
    order.sort_by_key(|c| *c != Ctx::Global);
    let mut rows = Vec::new();
    for ctx in order {
        for b in BINDINGS.iter().filter(|b| b.ctx == ctx) {
            let keys: Vec<String> = b.keys.iter().map(Key::label).collect();
            rows.push((ctx, keys.join(" "), b.help));
        }
    }
    rows
}
