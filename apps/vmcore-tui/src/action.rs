//! Everything that can happen to the app, as data: key bindings produce these, the event loop
//! turns background-job reports into these, and [`crate::update::update`] is the only code that
//! applies them. Tests drive the app by feeding actions, without a terminal.

use vmcore::{PhysAddr, VirtAddr};

use crate::jobs::JobEvent;
use crate::state::{PromptKind, TaskSort, View};

/// An address the hex view can show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// A physical address.
    Phys(PhysAddr),
    /// A kernel virtual address (translated row by row).
    Virt(VirtAddr),
}

/// One thing that happens to the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Leave the program.
    Quit,
    /// Next / previous view (tab order).
    NextView,
    /// Previous view.
    PrevView,
    /// Switch to a view.
    ShowView(View),
    /// Show or hide the key help.
    ToggleHelp,
    /// Close the innermost popup, prompt or highlight; cancel a running search.
    Back,
    /// Move the selection (or the hex view) by one row.
    Up,
    /// Down one row.
    Down,
    /// Up one page.
    PageUp,
    /// Down one page.
    PageDown,
    /// First row.
    Home,
    /// Last row.
    End,
    /// Mouse wheel up (a few rows).
    WheelUp,
    /// Mouse wheel down.
    WheelDown,
    /// Enter: open the selected CPU or task, jump to the selected range or finding.
    Open,
    /// Open a text prompt.
    Prompt(PromptKind),
    /// Typed into the prompt.
    InputChar(char),
    /// Backspace in the prompt.
    InputBackspace,
    /// Enter in the prompt: parse and run it.
    InputSubmit,
    /// Show an address in the hex view.
    Goto(Target),
    /// Search physical memory forward for these bytes.
    SearchBytes(Vec<u8>),
    /// Search the kernel log for this text.
    SearchLog(String),
    /// Filter vmcoreinfo keys and values by this text.
    Filter(String),
    /// Repeat the last search forward.
    NextMatch,
    /// Repeat the last kernel-log search backward.
    PrevMatch,
    /// Select CPU context `n` (dump order) in the CPU view.
    SelectCpu(usize),
    /// Select memory range `n` (the memory map's order) in the memory view.
    SelectRange(usize),
    /// In the CPU detail: show the stack (RSP) in the hex view.
    GotoStack,
    /// In the CPU detail: show the code (RIP) in the hex view.
    GotoCode,
    /// Order the tasks view.
    SortTasks(TaskSort),
    /// A background job reported.
    Job(JobEvent),
}
