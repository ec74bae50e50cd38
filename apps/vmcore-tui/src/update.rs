//! The only code that changes [`App`]: `update(app, action)`. It never touches the terminal
//! and never blocks; slow work is queued as a [`Job`] for the event loop's worker.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use vmcore::{PhysAddr, VirtAddr};

use crate::action::{Action, Target};
use crate::integrations;
use crate::jobs::{Job, JobEvent};
use crate::state::{AddrSpace, App, Input, JobStatus, LogState, PromptKind, View};

/// Rows the mouse wheel scrolls.
const WHEEL_ROWS: usize = 3;

/// Kernel virtual addresses start here on x86_64 (the canonical upper half); a goto without
/// a `v:`/`p:` prefix at or above it is taken as virtual.
const KERNEL_HALF: u64 = 0xffff_8000_0000_0000;

/// Apply `action` to `app`.
pub fn update(app: &mut App, action: Action) {
    match action {
        Action::Quit => {
            app.cancel_job();
            app.running = false;
        }
        Action::NextView => show(app, app.view.next()),
        Action::PrevView => show(app, app.view.prev()),
        Action::ShowView(v) => show(app, v),
        Action::ToggleHelp => {
            app.help = !app.help;
            app.help_scroll = 0;
        }
        Action::Back => back(app),
        Action::Up => step(app, Move::Up(1)),
        Action::Down => step(app, Move::Down(1)),
        Action::WheelUp => step(app, Move::Up(WHEEL_ROWS)),
        Action::WheelDown => step(app, Move::Down(WHEEL_ROWS)),
        Action::PageUp => step(app, Move::PageUp),
        Action::PageDown => step(app, Move::PageDown),
        Action::Home => step(app, Move::Home),
        Action::End => step(app, Move::End),
        Action::Open => open(app),
        Action::Prompt(kind) => {
            let text = match kind {
                PromptKind::Filter => app.vmcoreinfo_filter.clone(),
                _ => String::new(),
            };
            app.input = Some(Input { kind, text });
        }
        Action::InputChar(c) => {
            if let Some(i) = &mut app.input {
                i.text.push(c);
                if i.kind == PromptKind::Filter {
                    // Filtering as you type is cheap: vmcoreinfo has a few hundred keys.
                    let t = i.text.clone();
                    apply_filter(app, t);
                }
            }
        }
        Action::InputBackspace => {
            if let Some(i) = &mut app.input {
                i.text.pop();
                if i.kind == PromptKind::Filter {
                    let t = i.text.clone();
                    apply_filter(app, t);
                }
            }
        }
        Action::InputSubmit => submit(app),
        Action::Goto(t) => goto(app, t),
        Action::SearchBytes(needle) => {
            let from = match app.hex.space {
                AddrSpace::Phys => app.hex.top,
                AddrSpace::Virt => {
                    integrations::translate(&app.dump, VirtAddr(app.hex.top)).map_or(0, |p| p.0)
                }
            };
            start_search(app, from, needle);
        }
        Action::SearchLog(q) => {
            app.log_query = Some(q);
            log_search(app, true, true);
        }
        Action::Filter(f) => apply_filter(app, f),
        Action::NextMatch => match app.view {
            View::Hex => next_hex_match(app),
            View::KernelLog => log_search(app, true, false),
            _ => {}
        },
        Action::PrevMatch => {
            if app.view == View::KernelLog {
                log_search(app, false, false);
            }
        }
        Action::SelectCpu(n) => {
            show(app, View::Cpus);
            let len = app.dump.cpus().len();
            app.cpus.select(n, len);
        }
        Action::SelectRange(n) => {
            show(app, View::Memory);
            let len = app.dump.memory().len();
            app.ranges.select(n, len);
        }
        Action::GotoStack | Action::GotoCode => {
            let regs = app
                .cpu_detail
                .and_then(|i| app.dump.cpus().get(i))
                .and_then(|c| c.regs);
            match regs {
                Some(r) => {
                    let a = if action == Action::GotoStack {
                        r.sp()
                    } else {
                        r.pc()
                    };
                    app.cpu_detail = None;
                    goto(app, Target::Virt(VirtAddr(a)));
                }
                None => app.error("this CPU has no saved registers"),
            }
        }
        Action::SortTasks(order) => {
            app.task_sort = order;
            app.sort_tasks();
            app.info(format!("tasks by {}", order.name()));
        }
        Action::Job(ev) => job_event(app, ev),
    }
}

fn show(app: &mut App, v: View) {
    app.view = v;
    app.cpu_detail = None;
    app.task_detail = None;
    app.finding_detail = false;
}

fn back(app: &mut App) {
    if app.input.take().is_some() {
        return;
    }
    if app.help {
        app.help = false;
    } else if app.cpu_detail.is_some() || app.finding_detail || app.task_detail.is_some() {
        app.cpu_detail = None;
        app.finding_detail = false;
        app.task_detail = None;
    } else if app.job.is_some() {
        app.cancel_job();
        app.info("search cancelled");
    } else if app.view == View::Hex && app.hex.highlight.is_some() {
        app.hex.highlight = None;
    } else {
        app.status = None;
    }
}

#[derive(Debug, Clone, Copy)]
enum Move {
    Up(usize),
    Down(usize),
    PageUp,
    PageDown,
    Home,
    End,
}

fn step(app: &mut App, m: Move) {
    let popup = if app.help {
        Some(&mut app.help_scroll)
    } else if (app.cpu_detail.is_some() && app.view == View::Cpus)
        || (app.task_detail.is_some() && app.view == View::Tasks)
    {
        Some(&mut app.detail_scroll)
    } else {
        None
    };
    if let Some(s) = popup {
        *s = match m {
            Move::Up(n) => s.saturating_sub(n as u16),
            Move::Down(n) => s.saturating_add(n as u16),
            Move::PageUp => s.saturating_sub(10),
            Move::PageDown => s.saturating_add(10),
            Move::Home => 0,
            // The renderer clamps the scroll to the text.
            Move::End => u16::MAX,
        };
        return;
    }
    let len = match app.view {
        View::Overview => return,
        View::Hex => return hex_step(app, m),
        View::Cpus => app.dump.cpus().len(),
        View::Tasks => app.task_rows.len(),
        View::Memory => app.dump.memory().len(),
        View::Vmcoreinfo => app.vmcoreinfo_rows.len(),
        View::KernelLog => app.log_len(),
        View::Findings => app.findings.len(),
    };
    let cur = match app.view {
        View::Cpus => &mut app.cpus,
        View::Tasks => &mut app.tasks,
        View::Memory => &mut app.ranges,
        View::Vmcoreinfo => &mut app.vmcoreinfo,
        View::KernelLog => &mut app.log_cursor,
        _ => &mut app.findings_cursor,
    };
    match m {
        Move::Up(n) => cur.up(n),
        Move::Down(n) => cur.down(n, len),
        Move::PageUp => cur.up(cur.page()),
        Move::PageDown => cur.down(cur.page(), len),
        Move::Home => cur.selected = 0,
        Move::End => cur.selected = len.saturating_sub(1),
    }
}

fn hex_step(app: &mut App, m: Move) {
    let row = app.hex.row_bytes() as u64;
    let page = row * app.hex.rows() as u64;
    let top = app.hex.top;
    app.hex.top = match m {
        Move::Up(n) => top.saturating_sub(row * n as u64),
        Move::Down(n) => top.saturating_add(row * n as u64),
        Move::PageUp => top.saturating_sub(page),
        Move::PageDown => top.saturating_add(page),
        Move::Home | Move::End => {
            if app.hex.space == AddrSpace::Virt {
                return;
            }
            let ranges = app.dump.memory().ranges();
            let pick = if matches!(m, Move::Home) {
                app.ram
                    .first()
                    .and_then(|&i| ranges.get(i))
                    .map(|r| r.phys.start.0)
            } else {
                app.ram
                    .last()
                    .and_then(|&i| ranges.get(i))
                    .map(|r| r.phys.end.0.saturating_sub(page))
            };
            pick.unwrap_or(top)
        }
    } / row
        * row;
}

fn open(app: &mut App) {
    match app.view {
        View::Cpus if app.cpus.selected < app.dump.cpus().len() => {
            app.cpu_detail = Some(app.cpus.selected);
            app.detail_scroll = 0;
        }
        View::Tasks => match app.task_rows.get(app.tasks.selected) {
            Some(&i) => {
                app.task_detail = Some(i);
                app.detail_scroll = 0;
            }
            None if app.kernel.is_none() => app.info("still reading the task list"),
            None => {}
        },
        View::Memory => {
            let start = app
                .dump
                .memory()
                .ranges()
                .get(app.ranges.selected)
                .map(|r| r.phys.start);
            if let Some(s) = start {
                goto(app, Target::Phys(s));
            }
        }
        View::Findings => {
            let Some(f) = app.findings.get(app.findings_cursor.selected) else {
                return;
            };
            if !app.finding_detail {
                app.finding_detail = true;
                return;
            }
            app.finding_detail = false;
            match finding_target(app, f) {
                Some(a) => update(app, a),
                None => app.info("this finding has no CPU or range to show"),
            }
        }
        _ => {}
    }
}

/// The CPU or memory range a finding is about: by the file offset it carries (a register
/// note's header, or a byte inside a PT_LOAD's data), else by "register note N" in its text.
pub fn finding_target(app: &App, f: &vmcore::Finding) -> Option<Action> {
    let cpus = app.dump.cpus();
    if let Some(off) = f.offset {
        if let Some(i) = cpus.iter().position(|c| c.note_offset == off) {
            return Some(Action::SelectCpu(i));
        }
        let ranges = app.dump.memory().ranges();
        if let Some(i) = ranges.iter().position(|r| {
            r.file_offset
                .is_some_and(|o| off >= o.0 && off - o.0 < r.file_size.max(1))
        }) {
            return Some(Action::SelectRange(i));
        }
    }
    let n: usize = f
        .message
        .strip_prefix("register note ")?
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()?;
    (n < cpus.len()).then_some(Action::SelectCpu(n))
}

fn submit(app: &mut App) {
    let Some(input) = app.input.take() else {
        return;
    };
    let text = input.text.trim().to_string();
    match input.kind {
        PromptKind::Goto => match parse_target(&text) {
            Ok(t) => goto(app, t),
            Err(e) => match parse_symbol(&text) {
                Some((name, off)) => goto_symbol(app, name, off),
                None => app.error(e),
            },
        },
        PromptKind::HexSearch => match parse_needle(&text) {
            Ok(n) => update(app, Action::SearchBytes(n)),
            Err(e) => app.error(e),
        },
        PromptKind::LogSearch => {
            if !text.is_empty() {
                update(app, Action::SearchLog(text));
            }
        }
        PromptKind::Filter => apply_filter(app, input.text),
    }
}

/// Parse a goto address: hex with or without `0x`, optionally prefixed `v:`/`v` (virtual) or
/// `p:`/`p` (physical), as in `p0x1000` or `v:ffffffff81000000`. Without a prefix,
/// upper-half addresses are virtual.
pub fn parse_target(s: &str) -> Result<Target, String> {
    let s = s.trim();
    let (forced, rest) = if let Some(r) = s.strip_prefix("v:") {
        (Some(AddrSpace::Virt), r)
    } else if let Some(r) = s.strip_prefix("p:") {
        (Some(AddrSpace::Phys), r)
    } else if let Some(r) = s.strip_prefix('v').filter(|r| r.starts_with("0x")) {
        (Some(AddrSpace::Virt), r)
    } else if let Some(r) = s.strip_prefix('p').filter(|r| r.starts_with("0x")) {
        (Some(AddrSpace::Phys), r)
    } else {
        (None, s)
    };
    let digits = rest
        .trim()
        .trim_start_matches("0x")
        .trim_start_matches("0X")
        .replace('_', "");
    let a = u64::from_str_radix(&digits, 16).map_err(|_| {
        let looks_like_symbol = digits
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && digits
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
        if looks_like_symbol {
            format!("{s:?} is a symbol name, not an address")
        } else {
            format!("not a hex address: {s:?} (hex, v0x… virtual, p0x… physical)")
        }
    })?;
    let space = forced.unwrap_or(if a >= KERNEL_HALF {
        AddrSpace::Virt
    } else {
        AddrSpace::Phys
    });
    Ok(match space {
        AddrSpace::Phys => Target::Phys(PhysAddr(a)),
        AddrSpace::Virt => Target::Virt(VirtAddr(a)),
    })
}

/// Parse a goto symbol: `name` or `name+0xoff` (a kernel or module symbol, as `vmcore sym`
/// takes it). `None` when it is not shaped like one.
pub fn parse_symbol(s: &str) -> Option<(&str, u64)> {
    let (name, off) = match s.split_once('+') {
        Some((n, o)) => {
            let o = o.trim();
            let off = match o.strip_prefix("0x").or_else(|| o.strip_prefix("0X")) {
                Some(h) => u64::from_str_radix(h, 16).ok()?,
                None => o.parse().ok()?,
            };
            (n.trim(), off)
        }
        None => (s.trim(), 0),
    };
    let shaped = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '$');
    shaped.then_some((name, off))
}

/// Show symbol `name` (+`off`) in the hex view, resolved through kallsyms and module symbols.
fn goto_symbol(app: &mut App, name: &str, off: u64) {
    let Some(kernel) = app.kernel.clone() else {
        app.error("the kernel symbols are still being decoded: try again in a moment");
        return;
    };
    if kernel.symbols.kallsyms.is_none() {
        app.error(format!(
            "{name}: this dump's kernel symbols (kallsyms) could not be read, so goto takes addresses only"
        ));
        return;
    }
    match kernel.symbols.lookup(name) {
        Some(addr) => {
            let a = addr.wrapping_add(off);
            goto(app, Target::Virt(VirtAddr(a)));
            // Keep the translation's error if there was one; else say what the name resolved to.
            if !matches!(app.status, Some((crate::state::StatusKind::Error, _))) {
                let shown = if off == 0 {
                    name.to_string()
                } else {
                    format!("{name}+{off:#x}")
                };
                app.info(format!("{shown} = virtual {a:#x}"));
            }
        }
        None => app.error(format!("{name}: no such kernel or module symbol")),
    }
}

/// Parse a search: `x:` followed by hex bytes (`x:de ad be ef`, `x:deadbeef`), else the text
/// itself as ASCII/UTF-8 bytes.
pub fn parse_needle(s: &str) -> Result<Vec<u8>, String> {
    let Some(hex) = s.strip_prefix("x:") else {
        if s.is_empty() {
            return Err("nothing to search for".into());
        }
        return Ok(s.as_bytes().to_vec());
    };
    let digits: String = hex.chars().filter(|c| !c.is_whitespace()).collect();
    if digits.is_empty() || digits.len() % 2 != 0 {
        return Err(format!("hex bytes need an even number of digits: {hex:?}"));
    }
    (0..digits.len())
        .step_by(2)
        .map(|i| {
            digits
                .get(i..i + 2)
                .and_then(|d| u8::from_str_radix(d, 16).ok())
                .ok_or_else(|| format!("not hex bytes: {hex:?}"))
        })
        .collect()
}

fn goto(app: &mut App, t: Target) {
    show(app, View::Hex);
    let row = app.hex.row_bytes() as u64;
    let (space, addr) = match t {
        Target::Phys(p) => (AddrSpace::Phys, p.0),
        Target::Virt(v) => (AddrSpace::Virt, v.0),
    };
    app.hex.space = space;
    app.hex.top = addr / row * row;
    app.hex.highlight = Some((addr, 1));
    match t {
        Target::Phys(p) => match app.dump.memory().find_phys(p) {
            Some(_) => app.info(format!("physical {addr:#x}")),
            None => app.error(format!("physical address {addr:#x} is not in the dump")),
        },
        Target::Virt(v) => match integrations::translate(&app.dump, v) {
            Ok(p) => app.info(format!("virtual {addr:#x} → physical {:#x}", p.0)),
            Err(e) => app.error(e),
        },
    }
}

fn start_search(app: &mut App, from: u64, needle: Vec<u8>) {
    app.cancel_job();
    let id = app.fresh_job_id();
    let cancel = Arc::new(AtomicBool::new(false));
    app.job = Some(JobStatus {
        id,
        label: format!("searching for {}", show_needle(&needle)),
        done: 0,
        total: 0,
        cancel: Arc::clone(&cancel),
    });
    app.hex.needle = Some(needle.clone());
    app.queue(Job::Search {
        id,
        from,
        needle,
        cancel,
    });
}

fn next_hex_match(app: &mut App) {
    let Some(needle) = app.hex.needle.clone() else {
        app.info("no search yet: press / to search");
        return;
    };
    let from = match (app.hex.space, app.hex.highlight) {
        (AddrSpace::Phys, Some((a, _))) => a.saturating_add(1),
        (AddrSpace::Phys, None) => app.hex.top,
        (AddrSpace::Virt, _) => {
            integrations::translate(&app.dump, VirtAddr(app.hex.top)).map_or(0, |p| p.0)
        }
    };
    start_search(app, from, needle);
}

fn show_needle(n: &[u8]) -> String {
    if n.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
        format!("{:?}", String::from_utf8_lossy(n))
    } else {
        n.iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Move the log selection to the next (or previous) line containing the query, wrapping;
/// `inclusive` also considers the selected line.
fn log_search(app: &mut App, forward: bool, inclusive: bool) {
    let Some(q) = app.log_query.clone() else {
        app.info("no search yet: press / to search");
        return;
    };
    let LogState::Ready(lines) = &app.log else {
        app.error("the kernel log is not available");
        return;
    };
    let n = lines.len();
    if n == 0 {
        return;
    }
    let q = q.to_lowercase();
    let start = app.log_cursor.selected;
    let first = usize::from(!inclusive);
    let hit = (first..n + first).map(|d| {
        if forward {
            (start + d) % n
        } else {
            (start + n - d % n) % n
        }
    });
    let found = hit
        .into_iter()
        .find(|&i| lines[i].text.to_lowercase().contains(&q));
    match found {
        Some(i) => {
            app.log_cursor.selected = i;
            app.info(format!("log line {}", i + 1));
        }
        None => app.error(format!("{q:?} is not in the kernel log")),
    }
}

fn apply_filter(app: &mut App, f: String) {
    let needle = f.to_lowercase();
    app.vmcoreinfo_rows = app.dump.vmcoreinfo().map_or_else(Vec::new, |v| {
        v.entries()
            .iter()
            .enumerate()
            .filter(|(_, (k, val))| {
                needle.is_empty()
                    || k.to_lowercase().contains(&needle)
                    || val.to_lowercase().contains(&needle)
            })
            .map(|(i, _)| i)
            .collect()
    });
    app.vmcoreinfo_filter = f;
    app.vmcoreinfo.selected = 0;
}

fn job_event(app: &mut App, ev: JobEvent) {
    match ev {
        JobEvent::Progress { id, done, total } => {
            if id == app.log_job && matches!(app.log, LogState::Loading { .. }) {
                app.log = LogState::Loading { done, total };
            } else if let Some(j) = app.job.as_mut().filter(|j| j.id == id) {
                j.done = done;
                j.total = total;
            }
        }
        JobEvent::LogDone { id, result } => {
            if id != app.log_job {
                return;
            }
            app.log = match result {
                Ok(log) => {
                    app.log_panic = log.panic;
                    app.findings.extend(log.findings);
                    LogState::Ready(log.lines)
                }
                Err(why) => LogState::Unavailable(why),
            };
            // Start at the end: the crash is at the bottom of the log.
            app.log_cursor.selected = app.log_len().saturating_sub(1);
        }
        JobEvent::KernelDone { id, model } => {
            if id != app.kernel_job {
                return;
            }
            app.kernel = Some(model.0);
            app.sort_tasks();
        }
        JobEvent::SearchDone { id, result } => {
            if app.job.as_ref().is_none_or(|j| j.id != id) {
                return;
            }
            app.job = None;
            match result {
                Ok(Some(addr)) => {
                    let len = app.hex.needle.as_ref().map_or(1, Vec::len);
                    let row = app.hex.row_bytes() as u64;
                    app.view = View::Hex;
                    app.hex.space = AddrSpace::Phys;
                    // Keep a little context above the match.
                    app.hex.top = (addr / row * row).saturating_sub(2 * row);
                    app.hex.highlight = Some((addr, len));
                    app.info(format!("found at physical {addr:#x}"));
                }
                Ok(None) => app.error("not found in the rest of memory"),
                Err(e) => app.info(e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        assert_eq!(parse_target("1000"), Ok(Target::Phys(PhysAddr(0x1000))));
        assert_eq!(parse_target("0x1000"), Ok(Target::Phys(PhysAddr(0x1000))));
        assert_eq!(parse_target("v:1000"), Ok(Target::Virt(VirtAddr(0x1000))));
        assert_eq!(
            parse_target("ffffffff81000000"),
            Ok(Target::Virt(VirtAddr(0xffffffff81000000)))
        );
        assert_eq!(
            parse_target("p:ffffffff81000000"),
            Ok(Target::Phys(PhysAddr(0xffffffff81000000)))
        );
        assert_eq!(parse_target("p0x1000"), Ok(Target::Phys(PhysAddr(0x1000))));
        assert_eq!(
            parse_target("p0xffffffff81000000"),
            Ok(Target::Phys(PhysAddr(0xffffffff81000000)))
        );
        assert_eq!(parse_target("v0x1000"), Ok(Target::Virt(VirtAddr(0x1000))));
        assert!(
            parse_target("linux_banner")
                .unwrap_err()
                .contains("is a symbol name")
        );
        assert_eq!(parse_symbol("linux_banner"), Some(("linux_banner", 0)));
        assert_eq!(parse_symbol("panic+0x10"), Some(("panic", 0x10)));
        assert_eq!(parse_symbol("panic+16"), Some(("panic", 16)));
        assert_eq!(parse_symbol("0x1000"), None);
        assert_eq!(parse_symbol("panic+zz"), None);
        assert!(parse_target("zz").is_err());
        assert!(parse_target("").is_err());
    }

    #[test]
    fn needles() {
        assert_eq!(parse_needle("Linux"), Ok(b"Linux".to_vec()));
        assert_eq!(
            parse_needle("x:de ad BE ef"),
            Ok(vec![0xde, 0xad, 0xbe, 0xef])
        );
        assert_eq!(parse_needle("x:deadbeef"), Ok(vec![0xde, 0xad, 0xbe, 0xef]));
        assert!(parse_needle("x:abc").is_err());
        assert!(parse_needle("x:zz").is_err());
        assert!(parse_needle("").is_err());
    }
}
