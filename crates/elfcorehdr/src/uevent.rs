//! Kernel uevents: the one parser of recorded uevent records and netlink messages, and the one
//! mapping of a cpu/memory uevent to the hotplug change it reports. The watcher
//! ([`crate::watch`]) and hotplug's history importers both use them.
//!
//! A record is one line `SEQNUM ACTION DEVPATH SUBSYSTEM [UPTIME]`, as the lab recorder
//! (busybox `uevent`, a NETLINK_KOBJECT_UEVENT listener) writes them, e.g.
//! `782 add /devices/system/memory/memory32 memory 8.07`.

use std::io::BufRead;
use std::path::Path;

use kdump_types::PhysRange;

use crate::error::{Error, Result};
use crate::update::Event;

/// One kernel uevent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uevent {
    /// `SEQNUM`.
    pub seqnum: Option<u64>,
    /// `ACTION` (add, remove, online, offline, change, …).
    pub action: String,
    /// `DEVPATH`, e.g. `/devices/system/memory/memory32`.
    pub devpath: String,
    /// `SUBSYSTEM`, e.g. `memory`, `cpu`.
    pub subsystem: String,
    /// Uptime in microseconds, in recorded streams.
    pub uptime_us: Option<u64>,
}

/// What a cpu or memory uevent did to its device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// The device appeared (hot-add). CPUs and memory come up offline unless onlined.
    Add,
    /// The device disappeared (hot-remove).
    Remove,
    /// The device went online.
    Online,
    /// The device went offline.
    Offline,
}

impl Action {
    /// The uevent action name (`add`, `remove`, `online`, `offline`).
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Add => "add",
            Action::Remove => "remove",
            Action::Online => "online",
            Action::Offline => "offline",
        }
    }
    /// From a uevent action name; `None` for actions hotplug does not track (`change`, `bind`…).
    pub fn from_uevent(s: &str) -> Option<Action> {
        Some(match s {
            "add" => Action::Add,
            "remove" => Action::Remove,
            "online" => Action::Online,
            "offline" => Action::Offline,
            _ => return None,
        })
    }
}

/// The device a hotplug uevent is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Device {
    /// Logical CPU `cpuN`.
    Cpu(u32),
    /// Memory block `memoryN` (its range is N × the block size).
    MemoryBlock(u64),
}

/// A hotplug change a uevent reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DeviceChange {
    /// What happened.
    pub action: Action,
    /// To which device.
    pub device: Device,
}

impl DeviceChange {
    /// The engine's event for this change; a memory block needs the block size (`None`
    /// without it, or when the block's address would overflow).
    pub fn to_event(self, block_size: Option<u64>) -> Option<Event> {
        Some(match self.device {
            Device::Cpu(n) => match self.action {
                Action::Online => Event::CpuOnline(n),
                Action::Offline => Event::CpuOffline(n),
                Action::Add => Event::CpuAdd(n),
                Action::Remove => Event::CpuRemove(n),
            },
            Device::MemoryBlock(n) => {
                let bs = block_size?;
                let r = PhysRange::from_start_len(n.checked_mul(bs)?, bs);
                match self.action {
                    Action::Online => Event::MemoryOnline(r),
                    Action::Offline => Event::MemoryOffline(r),
                    Action::Add => Event::MemoryAdd(r),
                    Action::Remove => Event::MemoryRemove(r),
                }
            }
        })
    }
}

/// Parses decimal seconds (`8.07`, `34.406076`) into microseconds, without floating point so
/// equal texts give equal instants.
pub fn parse_seconds_us(s: &str) -> Option<u64> {
    let s = s.trim();
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let secs: u64 = int.parse().ok()?;
    let mut us = 0u64;
    for (i, b) in frac.bytes().take(6).enumerate() {
        us += u64::from(b - b'0') * 10u64.pow(5 - i as u32);
    }
    secs.checked_mul(1_000_000)?.checked_add(us)
}

impl Uevent {
    /// Parses one record line `SEQNUM ACTION DEVPATH SUBSYSTEM [UPTIME]`; the error says what
    /// is wrong.
    pub fn read_record(line: &str) -> std::result::Result<Uevent, &'static str> {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 4 || f.len() > 5 {
            return Err("expected SEQNUM ACTION DEVPATH SUBSYSTEM [UPTIME]");
        }
        let seqnum = f[0]
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
            seqnum: Some(seqnum),
            action: f[1].to_string(),
            devpath: f[2].to_string(),
            subsystem: f[3].to_string(),
            uptime_us,
        })
    }

    /// [`Uevent::read_record`], `None` for lines that do not have that shape.
    pub fn parse_record(line: &str) -> Option<Uevent> {
        Uevent::read_record(line).ok()
    }

    /// Parses one kernel netlink uevent message (`ACTION@DEVPATH\0KEY=VALUE\0…`). Messages
    /// from udev (`libudev\0` header) and malformed ones give `None`.
    pub fn parse_netlink(msg: &[u8]) -> Option<Uevent> {
        let mut parts = msg.split(|&b| b == 0).filter(|p| !p.is_empty());
        let head = std::str::from_utf8(parts.next()?).ok()?;
        head.split_once('@')?;
        let mut ev = Uevent {
            seqnum: None,
            action: String::new(),
            devpath: String::new(),
            subsystem: String::new(),
            uptime_us: None,
        };
        for p in parts {
            let Ok(kv) = std::str::from_utf8(p) else {
                continue;
            };
            let Some((k, v)) = kv.split_once('=') else {
                continue;
            };
            match k {
                "ACTION" => ev.action = v.to_string(),
                "DEVPATH" => ev.devpath = v.to_string(),
                "SUBSYSTEM" => ev.subsystem = v.to_string(),
                "SEQNUM" => ev.seqnum = v.parse().ok(),
                _ => {}
            }
        }
        (!ev.action.is_empty() && !ev.devpath.is_empty()).then_some(ev)
    }

    /// The hotplug change of a `cpu` or `memory` uevent: `Ok(None)` for devices and actions
    /// hotplug does not track (machinecheck, container, `change`…), an error for a cpu/memory
    /// uevent whose device number does not parse.
    pub fn change(&self) -> std::result::Result<Option<DeviceChange>, &'static str> {
        let last = self.devpath.rsplit('/').next().unwrap_or("");
        let (prefix, what) = match self.subsystem.as_str() {
            "cpu" => ("cpu", "cpuN: N is not a number"),
            "memory" => ("memory", "memoryN: N is not a number"),
            _ => return Ok(None),
        };
        let Some(n) = last.strip_prefix(prefix) else {
            return Ok(None);
        };
        let Some(action) = Action::from_uevent(&self.action) else {
            return Ok(None);
        };
        let device = if prefix == "cpu" {
            Device::Cpu(n.parse().map_err(|_| what)?)
        } else {
            Device::MemoryBlock(n.parse().map_err(|_| what)?)
        };
        Ok(Some(DeviceChange { action, device }))
    }

    /// The engine's hotplug event this uevent is, for `cpu` and `memory` devices (`memoryN`
    /// needs the block size). Other subsystems, actions and malformed device names give `None`.
    pub fn to_event(&self, block_size: Option<u64>) -> Option<Event> {
        self.change().ok().flatten()?.to_event(block_size)
    }
}

/// Recorded uevents from a file: record lines (blank lines and `#` comments skipped), or the
/// lab's `history.jsonl` lines whose `guest_uevents` hold records. The first line that is
/// neither is an error naming the file and line.
pub fn replay_uevents(path: &Path) -> Result<Vec<Uevent>> {
    let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut evs = Vec::new();
    for (n, line) in std::io::BufReader::new(f).lines().enumerate() {
        let at = |what: String| Error::Record {
            path: path.to_path_buf(),
            line: n + 1,
            what,
        };
        let line = line.map_err(|e| at(e.to_string()))?;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line.starts_with('{') {
            let v: serde_json::Value =
                serde_json::from_str(line).map_err(|e| at(format!("not JSON: {e}")))?;
            if let Some(list) = v.get("guest_uevents").and_then(|l| l.as_array()) {
                for item in list {
                    let s = item.as_str().unwrap_or("");
                    let u =
                        Uevent::parse_record(s).ok_or_else(|| at(format!("bad uevent {s:?}")))?;
                    evs.push(u);
                }
            }
        } else {
            let u = Uevent::parse_record(line).ok_or_else(|| {
                at("expected `SEQNUM ACTION DEVPATH SUBSYSTEM uptime`".to_string())
            })?;
            evs.push(u);
        }
    }
    Ok(evs)
}
