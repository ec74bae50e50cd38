//! Kernel uevent records: one `SEQNUM ACTION DEVPATH SUBSYSTEM [UPTIME]` per line, as the lab
//! recorder (busybox `uevent`, a NETLINK_KOBJECT_UEVENT listener) writes them, e.g.
//! `782 add /devices/system/memory/memory32 memory 8.07`. Shared by every uevent-based importer.
//! The record parser and the cpu/memory mapping are `elfcorehdr::uevent`'s (the watcher reads
//! the same records); this module turns them into history events.

use crate::history::{BlockRef, Change, Event, History, SourceFormat};
use crate::import::{Imported, Problems};

use elfcorehdr::uevent::Device;
/// The one uevent type and record parser ([`elfcorehdr::uevent`]), shared with the watcher.
pub use elfcorehdr::uevent::Uevent;

/// Parses one record line. Errors say what is wrong.
pub fn parse_record(line: &str) -> Result<Uevent, &'static str> {
    Uevent::read_record(line)
}

/// What a uevent changes: `Ok(None)` for devices and actions hotplug does not track
/// (machinecheck, container, `change`…), an error for a cpu/memory uevent that does not parse.
/// The mapping is [`Uevent::change`]'s; this gives it the history's shape.
pub fn change_of(u: &Uevent) -> Result<Option<Change>, &'static str> {
    Ok(u.change()?.map(|c| match c.device {
        Device::Cpu(cpu) => Change::Cpu {
            action: c.action,
            cpu,
            apic_id: None,
        },
        Device::MemoryBlock(index) => Change::Memory {
            action: c.action,
            block: BlockRef {
                index: Some(index),
                range: None,
            },
        },
    }))
}

/// Parses `record` (at `line`) into `history`, reporting problems.
pub(crate) fn add_record(
    history: &mut History,
    problems: &mut Problems,
    line: usize,
    record: &str,
) {
    match parse_record(record).and_then(|u| Ok((change_of(&u)?, u.seqnum, u.uptime_us))) {
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
