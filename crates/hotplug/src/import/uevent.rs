//! Kernel uevent records: one `SEQNUM ACTION DEVPATH SUBSYSTEM [UPTIME]` per line, as the lab
//! recorder (busybox `uevent`, a NETLINK_KOBJECT_UEVENT listener) writes them, e.g.
//! `782 add /devices/system/memory/memory32 memory 8.07`. Shared by every uevent-based importer.

use crate::history::{Action, BlockRef, Change, Event, History, SourceFormat, parse_seconds_us};
use crate::import::{Imported, Problems};

/// The fields of one uevent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uevent<'a> {
    /// `SEQNUM`.
    pub seq: Option<u64>,
    /// `ACTION`.
    pub action: &'a str,
    /// `DEVPATH`.
    pub devpath: &'a str,
    /// `SUBSYSTEM`.
    pub subsystem: &'a str,
    /// Uptime in microseconds, when recorded.
    pub uptime_us: Option<u64>,
}

/// Parses one record line. Errors say what is wrong.
pub fn parse_record(line: &str) -> Result<Uevent<'_>, &'static str> {
    let f: Vec<&str> = line.split_whitespace().collect();
    if f.len() < 4 || f.len() > 5 {
        return Err("expected SEQNUM ACTION DEVPATH SUBSYSTEM [UPTIME]");
    }
    let seq = f[0]
        .parse::<u64>()
        .map_err(|_| "SEQNUM is not a decimal number")?;
    if !f[2].starts_with('/') {
        return Err("DEVPATH does not start with '/'");
    }
    let uptime_us = match f.get(4) {
        Some(t) => Some(parse_seconds_us(t).ok_or("UPTIME is not decimal seconds")?),
        None => None,
    };
    Ok(Uevent {
        seq: Some(seq),
        action: f[1],
        devpath: f[2],
        subsystem: f[3],
        uptime_us,
    })
}

/// What a uevent changes: `Ok(None)` for devices and actions hotplug does not track
/// (machinecheck, container, `change`…), an error for a cpu/memory uevent that does not parse.
pub fn change_of(u: &Uevent<'_>) -> Result<Option<Change>, &'static str> {
    let last = u.devpath.rsplit('/').next().unwrap_or("");
    match u.subsystem {
        "cpu" => {
            let Some(n) = last.strip_prefix("cpu") else {
                return Ok(None);
            };
            let Some(action) = Action::from_uevent(u.action) else {
                return Ok(None);
            };
            let cpu = n.parse::<u32>().map_err(|_| "cpuN: N is not a number")?;
            Ok(Some(Change::Cpu {
                action,
                cpu,
                apic_id: None,
            }))
        }
        "memory" => {
            let Some(n) = last.strip_prefix("memory") else {
                return Ok(None);
            };
            let Some(action) = Action::from_uevent(u.action) else {
                return Ok(None);
            };
            let index = n.parse::<u64>().map_err(|_| "memoryN: N is not a number")?;
            Ok(Some(Change::Memory {
                action,
                block: BlockRef {
                    index: Some(index),
                    range: None,
                },
            }))
        }
        _ => Ok(None),
    }
}

/// Parses `record` (at `line`) into `history`, reporting problems.
pub(crate) fn add_record(
    history: &mut History,
    problems: &mut Problems,
    line: usize,
    record: &str,
) {
    match parse_record(record).and_then(|u| Ok((change_of(&u)?, u.seq, u.uptime_us))) {
        Ok((Some(change), seq, uptime_us)) => history.events.push(Event {
            seq,
            uptime_us,
            change,
            line,
        }),
        Ok((None, ..)) => {}
        Err(why) => problems.push(line, why, record),
    }
}

/// Imports uevent records, one per line. Blank lines and `#` comments are skipped.
pub fn import(source: &str, text: &str) -> Imported {
    let mut history = History::new(SourceFormat::UeventRecords);
    let mut problems = Problems::new(source);
    for (i, l) in text.lines().enumerate() {
        let t = l.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        add_record(&mut history, &mut problems, i + 1, t);
    }
    Imported {
        history,
        problems: problems.list,
    }
}
