//! The kernel log: CPU and memory hotplug lines of a dmesg/console text, or of the dump's own
//! printk buffer ([`vmcore::KernelLog`]).
//!
//! What Linux 6.12 (x86_64) prints, checked against `testdata/real/console.log`:
//!
//! | line | event |
//! |---|---|
//! | `smpboot: CPU0: AMD QEMU Virtual CPU …` | boot CPU 0 online |
//! | `.... node  #0, CPUs:      #1 #2 #3` (after `smpboot: x86: Booting SMP configuration:`) | CPUs 1, 2, 3 online at boot |
//! | `smpboot: CPU 3 is now offline` | CPU 3 offline |
//! | `smpboot: Booting Node 0 Processor 3 APIC 0x3` | CPU 3 online (APIC id 3) |
//! | `crash hp: hp_action 1, cpu 3` / `hp_action 2, cpu 3` (dynamic debug) | CPU online / offline, used only when the log has no smpboot line for it |
//! | `crash hp: hp_action 3` / `hp_action 4` (dynamic debug) | a memory block online / offline; the block is not named |
//! | `crash hp: updated elfcorehdr` | notice: header rewritten |
//! | `kexec_trylock() failed, elfcorehdr may be inaccurate` | notice: the update was dropped |
//! | `update elfcorehdr elfsz N > memsz M` | notice: the new header did not fit |
//!
//! Memory onlining prints no line of its own in 6.12 unless dynamic debug of
//! kernel/crash_core.c is on, and then without the block: such events are kept (they count) but
//! replay cannot apply them. The log of the crashed kernel ends at its panic; a later
//! `Linux version` line (the capture kernel booting on the same console) ends the import.

use crate::history::{
    Action, BlockRef, Change, Event, History, Notice, NoticeKind, SourceFormat, parse_seconds_us,
};
use crate::import::{Imported, Problems};

/// Splits `[    8.449674] text` into (microseconds, text).
pub fn split_timestamp(line: &str) -> Option<(u64, &str)> {
    let rest = line.trim_start().strip_prefix('[')?;
    let (ts, text) = rest.split_once(']')?;
    let us = parse_seconds_us(ts.trim())?;
    Some((us, text.strip_prefix(' ').unwrap_or(text)))
}

#[derive(Default)]
struct Parser {
    history: Option<History>,
    /// CPU events from "crash hp" lines, kept apart until we know whether smpboot lines exist.
    crash_hp_cpu: Vec<(usize, Event)>,
    seen_panic: bool,
    seen_boot: bool,
    done: bool,
}

fn cpu_event(
    action: Action,
    cpu: u32,
    apic_id: Option<u32>,
    us: Option<u64>,
    line: usize,
) -> Event {
    Event {
        seq: None,
        uptime_us: us,
        change: Change::Cpu {
            action,
            cpu,
            apic_id,
        },
        line,
    }
}

fn num_after<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let i = text.find(key)?;
    text[i + key.len()..]
        .split(|c: char| c == ',' || c.is_whitespace())
        .next()
}

impl Parser {
    fn history(&mut self) -> &mut History {
        self.history
            .get_or_insert_with(|| History::new(SourceFormat::KernelLog))
    }

    fn line(&mut self, us: Option<u64>, text: &str, line: usize, problems: &mut Problems) {
        if self.done {
            return;
        }
        let text = text.trim();
        if text.starts_with("Linux version") {
            if self.seen_boot && self.seen_panic {
                // The capture kernel boots on the same console: its log is not this machine's.
                self.done = true;
                return;
            }
            self.seen_boot = true;
        }
        if text.starts_with("Kernel panic - not syncing") {
            self.seen_panic = true;
        }
        let push = |p: &mut Parser, e: Event| p.history().events.push(e);
        if let Some(rest) = text.strip_prefix("smpboot: CPU0: ") {
            let _ = rest;
            push(self, cpu_event(Action::Online, 0, None, us, line));
        } else if text.contains(", CPUs:") && text.trim_start().starts_with("....") {
            let Some((_, list)) = text.split_once("CPUs:") else {
                return;
            };
            for tok in list.split_whitespace() {
                match tok.strip_prefix('#').and_then(|n| n.parse::<u32>().ok()) {
                    Some(c) => push(self, cpu_event(Action::Online, c, None, us, line)),
                    None => problems.push(line, "boot CPU list entry is not #N", text),
                }
            }
        } else if let Some(i) = text.find(" is now offline") {
            let head = &text[..i];
            match head.rsplit(' ').next().and_then(|n| n.parse::<u32>().ok()) {
                Some(c) => push(self, cpu_event(Action::Offline, c, None, us, line)),
                None => problems.push(line, "CPU number of 'is now offline' line", text),
            }
        } else if text.starts_with("smpboot: Booting Node") {
            let cpu = num_after(text, "Processor ").and_then(|n| n.parse::<u32>().ok());
            let apic = num_after(text, "APIC ")
                .and_then(|n| u32::from_str_radix(n.trim_start_matches("0x"), 16).ok());
            match cpu {
                Some(c) => push(self, cpu_event(Action::Online, c, apic, us, line)),
                None => problems.push(line, "processor number of 'Booting Node' line", text),
            }
        } else if let Some(rest) = text.strip_prefix("crash hp: hp_action ") {
            let (code, cpu) = match rest.split_once(", cpu ") {
                Some((a, c)) => (a.trim(), Some(c.trim())),
                None => (rest.trim(), None),
            };
            match (code, cpu.map(|c| c.parse::<u32>())) {
                ("1", Some(Ok(c))) => {
                    let e = cpu_event(Action::Online, c, None, us, line);
                    let at = self.history().events.len();
                    self.crash_hp_cpu.push((at, e));
                }
                ("2", Some(Ok(c))) => {
                    let e = cpu_event(Action::Offline, c, None, us, line);
                    let at = self.history().events.len();
                    self.crash_hp_cpu.push((at, e));
                }
                ("3" | "4", None) => {
                    let action = if code == "3" {
                        Action::Online
                    } else {
                        Action::Offline
                    };
                    push(
                        self,
                        Event {
                            seq: None,
                            uptime_us: us,
                            change: Change::Memory {
                                action,
                                block: BlockRef::default(),
                            },
                            line,
                        },
                    );
                }
                _ => problems.push(line, "unknown crash hp action", text),
            }
        } else if text.contains("crash hp: updated elfcorehdr") {
            self.notice(NoticeKind::Updated, us, line);
        } else if text.contains("kexec_trylock() failed, elfcorehdr may be inaccurate") {
            self.notice(NoticeKind::UpdateLost, us, line);
        } else if let Some(i) = text.find("update elfcorehdr elfsz ") {
            let rest = &text[i + "update elfcorehdr elfsz ".len()..];
            let parsed = rest.split_once(" > memsz ").and_then(|(a, b)| {
                Some((a.trim().parse::<u64>().ok()?, b.trim().parse::<u64>().ok()?))
            });
            match parsed {
                Some((elfsz, memsz)) => {
                    self.notice(NoticeKind::UpdateTooLarge { elfsz, memsz }, us, line)
                }
                None => problems.push(line, "sizes of 'update elfcorehdr elfsz' line", text),
            }
        }
    }

    fn notice(&mut self, kind: NoticeKind, us: Option<u64>, line: usize) {
        let h = self.history();
        let events_before = h.events.len();
        h.notices.push(Notice {
            kind,
            events_before,
            uptime_us: us,
            line,
        });
    }

    fn finish(mut self) -> History {
        let mut h = self
            .history
            .take()
            .unwrap_or_else(|| History::new(SourceFormat::KernelLog));
        // "crash hp" CPU lines duplicate smpboot lines; use them only when smpboot said nothing
        // after boot (a log level that hides smpboot's pr_info, for example).
        let smpboot_hotplug = h.events.iter().any(|e| {
            matches!(
                e.change,
                Change::Cpu {
                    action: Action::Offline,
                    ..
                }
            ) || matches!(
                e.change,
                Change::Cpu {
                    apic_id: Some(_),
                    ..
                }
            )
        });
        if !smpboot_hotplug && !self.crash_hp_cpu.is_empty() {
            for (k, (at, e)) in self.crash_hp_cpu.into_iter().enumerate() {
                h.events.insert(at + k, e);
                for m in h.notices.iter_mut().filter(|n| n.events_before > at + k) {
                    m.events_before += 1;
                }
            }
        }
        h
    }
}

/// Imports a kernel log text (dmesg or a serial console). Lines without a `[seconds]` prefix
/// (firmware output, userspace markers) are skipped.
pub fn import_text(source: &str, text: &str) -> Imported {
    let mut p = Parser::default();
    let mut problems = Problems::new(source);
    for (i, l) in text.lines().enumerate() {
        if let Some((us, t)) = split_timestamp(l) {
            p.line(Some(us), t, i + 1, &mut problems);
        }
    }
    Imported {
        history: p.finish(),
        problems: problems.list,
    }
}

/// Imports the hotplug lines of a dump's own kernel log; "line" numbers are record positions
/// (1-based) in the printk buffer.
pub fn import_records(source: &str, log: &vmcore::KernelLog) -> Imported {
    let mut p = Parser::default();
    let mut problems = Problems::new(source);
    for (i, r) in log.records.iter().enumerate() {
        let text = r.text_lossy();
        for t in text.lines() {
            p.line(Some(r.ts_nsec / 1000), t, i + 1, &mut problems);
        }
    }
    Imported {
        history: p.finish(),
        problems: problems.list,
    }
}
