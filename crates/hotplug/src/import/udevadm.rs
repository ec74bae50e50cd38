//! `udevadm monitor --kernel --property` output:
//!
//! ```text
//! monitor will print the received events for:
//! KERNEL - the kernel uevent
//!
//! KERNEL[34.420317] online   /devices/system/cpu/cpu3 (cpu)
//! ACTION=online
//! DEVPATH=/devices/system/cpu/cpu3
//! SUBSYSTEM=cpu
//! SEQNUM=792
//!
//! ```
//!
//! One block per event: a header `KERNEL[MONOTONIC] ACTION DEVPATH (SUBSYSTEM)`, then
//! `KEY=VALUE` properties until a blank line. The properties win over the header (they are what
//! the kernel sent); `SEQNUM` gives the sequence number and the bracketed time, the monotonic
//! clock of the machine udevadm ran on, gives the uptime (equal to uptime in a guest that never
//! suspended). `UDEV[...]` blocks (`--udev`) repeat kernel events after rule processing and are
//! used only when the output has no `KERNEL[...]` block.

use crate::history::{Event, History, SourceFormat, parse_seconds_us};
use crate::import::uevent::{Uevent, change_of};
use crate::import::{Imported, Problems};

struct Block<'a> {
    line: usize,
    header: &'a str,
    udev: bool,
    time: Option<u64>,
    action: &'a str,
    devpath: &'a str,
    subsystem: &'a str,
    seq: Option<&'a str>,
}

fn parse_header(l: &str) -> Option<Block<'_>> {
    let (udev, rest) = if let Some(r) = l.strip_prefix("KERNEL[") {
        (false, r)
    } else {
        (true, l.strip_prefix("UDEV[")?)
    };
    let (time, rest) = rest.split_once(']')?;
    let f: Vec<&str> = rest.split_whitespace().collect();
    if f.len() != 3 {
        return None;
    }
    let subsystem = f[2].strip_prefix('(')?.strip_suffix(')')?;
    Some(Block {
        line: 0,
        header: l,
        udev,
        time: parse_seconds_us(time),
        action: f[0],
        devpath: f[1],
        subsystem,
        seq: None,
    })
}

/// Imports `udevadm monitor --kernel --property` text.
pub fn import(source: &str, text: &str) -> Imported {
    let mut problems = Problems::new(source);
    let mut blocks: Vec<Block<'_>> = Vec::new();
    let mut in_block = false;
    for (i, l) in text.lines().enumerate() {
        let line = i + 1;
        let t = l.trim_end();
        if t.trim().is_empty() {
            in_block = false;
            continue;
        }
        if t.starts_with("KERNEL[") || t.starts_with("UDEV[") {
            match parse_header(t) {
                Some(mut b) => {
                    b.line = line;
                    blocks.push(b);
                    in_block = true;
                }
                None => {
                    problems.push(
                        line,
                        "event header is not KERNEL[TIME] ACTION DEVPATH (SUBSYSTEM)",
                        t,
                    );
                    in_block = false;
                }
            }
            continue;
        }
        if !in_block {
            // The banner ("monitor will print…", "KERNEL - the kernel uevent").
            if t.starts_with("monitor will print") || t.contains(" - the ") {
                continue;
            }
            problems.push(line, "text outside an event block", t);
            continue;
        }
        let Some((k, v)) = t.split_once('=') else {
            problems.push(line, "property line is not KEY=VALUE", t);
            continue;
        };
        if let Some(b) = blocks.last_mut() {
            match k {
                "ACTION" => b.action = v,
                "DEVPATH" => b.devpath = v,
                "SUBSYSTEM" => b.subsystem = v,
                "SEQNUM" => b.seq = Some(v),
                _ => {}
            }
        }
    }
    let any_kernel = blocks.iter().any(|b| !b.udev);
    let mut history = History::new(SourceFormat::Udevadm);
    for b in blocks.iter().filter(|b| b.udev != any_kernel) {
        let seq = match b.seq.map(|s| s.trim().parse::<u64>()) {
            Some(Ok(n)) => Some(n),
            Some(Err(_)) => {
                problems.push(b.line, "SEQNUM is not a decimal number", b.header);
                continue;
            }
            None => None,
        };
        let u = Uevent {
            seqnum: seq,
            action: b.action.to_string(),
            devpath: b.devpath.to_string(),
            subsystem: b.subsystem.to_string(),
            uptime_us: b.time,
        };
        match change_of(&u) {
            Ok(Some(change)) => history.events.push(Event {
                seq,
                uptime_us: b.time,
                change,
                line: b.line,
            }),
            Ok(None) => {}
            Err(why) => problems.push(b.line, why, b.header),
        }
    }
    problems.list.sort_by_key(|p| p.line);
    Imported {
        history,
        problems: problems.list,
    }
}

/// Writes `records` (uevent record lines, `SEQNUM ACTION DEVPATH SUBSYSTEM UPTIME`) the way
/// `udevadm monitor --kernel --property` prints them. Used to make realistic fixtures from real
/// recorded uevents; the uptime becomes the bracketed monotonic time.
pub fn render_from_records<'a>(records: impl IntoIterator<Item = &'a str>) -> String {
    let mut out =
        String::from("monitor will print the received events for:\nKERNEL - the kernel uevent\n\n");
    for r in records {
        let Ok(u) = crate::import::uevent::parse_record(r) else {
            continue;
        };
        let t = u.uptime_us.unwrap_or(0);
        out.push_str(&format!(
            "KERNEL[{}.{:06}] {:<8} {} ({})\nACTION={}\nDEVPATH={}\nSUBSYSTEM={}\n",
            t / 1_000_000,
            t % 1_000_000,
            u.action,
            u.devpath,
            u.subsystem,
            u.action,
            u.devpath,
            u.subsystem
        ));
        if let Some(s) = u.seqnum {
            out.push_str(&format!("SEQNUM={s}\n"));
        }
        out.push('\n');
    }
    out
}
