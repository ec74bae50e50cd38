//! Our own history format: versioned JSON lines (`docs/history-format.md`).
//!
//! Line 1 is the header `{"format":"vmcore-hotplug-history","version":1}` (optionally with
//! `"block_size":"0x8000000"`). Every later line is one object with exactly one of the keys
//! `start` (the starting topology), `event`, `mark` or `notice`. Readers of version 1 ignore
//! fields they do not know, so later versions may add fields; a new record kind or a changed
//! meaning bumps the version. [`export`] writes a [`History`] in this format, so every other
//! format converts to it without loss.

use serde::Deserialize;

use kdump_types::PhysRange;

use crate::history::{
    Action, BlockRef, Change, Event, History, Mark, Notice, NoticeKind, SourceFormat,
    format_seconds_us, parse_seconds_us,
};
use crate::import::{Imported, Problems};
use crate::topology::{BlockStatus, CpuStatus, Topology};

/// The `format` value of the header.
pub const FORMAT_NAME: &str = "vmcore-hotplug-history";
/// The version this crate writes and reads.
pub const VERSION: u64 = 1;

#[derive(Deserialize)]
struct Header {
    format: String,
    version: u64,
    #[serde(default)]
    block_size: Option<serde_json::Value>,
}

#[derive(Deserialize, Default)]
struct StartRecord {
    cpus_possible: Option<String>,
    cpus_present: Option<String>,
    cpus_online: Option<String>,
    memory_online: Option<String>,
    memory_offline: Option<String>,
    memory_removed: Option<String>,
    memory_complete: Option<bool>,
}

#[derive(Deserialize)]
struct Record {
    start: Option<StartRecord>,
    event: Option<String>,
    mark: Option<String>,
    notice: Option<String>,
    cpu: Option<u32>,
    apic_id: Option<u32>,
    block: Option<u64>,
    range: Option<String>,
    seq: Option<u64>,
    uptime: Option<serde_json::Value>,
    elfsz: Option<u64>,
    memsz: Option<u64>,
}

fn number_text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

fn parse_u64(s: &str) -> Option<u64> {
    let s = s.trim();
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

/// Parses an index list like a cpulist (`0-3,32`); empty text is an empty list.
pub fn parse_index_list(s: &str) -> Option<Vec<u64>> {
    let mut out = Vec::new();
    let s = s.trim();
    if s.is_empty() {
        return Some(out);
    }
    for part in s.split(',') {
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (a.trim().parse::<u64>().ok()?, b.trim().parse::<u64>().ok()?),
            None => {
                let v = part.trim().parse::<u64>().ok()?;
                (v, v)
            }
        };
        // A list is written by a machine with at most some 100k blocks; refuse absurd spans
        // before allocating.
        if b < a || b - a > 1 << 24 || out.len() > 1 << 24 {
            return None;
        }
        out.extend(a..=b);
    }
    out.sort_unstable();
    out.dedup();
    Some(out)
}

/// Formats indexes as a list (`0-3,32`).
pub fn format_index_list(ids: impl IntoIterator<Item = u64>) -> String {
    let mut v: Vec<u64> = ids.into_iter().collect();
    v.sort_unstable();
    v.dedup();
    let mut parts = Vec::new();
    let mut i = 0;
    while i < v.len() {
        let mut j = i;
        while j + 1 < v.len() && v[j + 1] == v[j] + 1 {
            j += 1;
        }
        parts.push(if i == j {
            v[i].to_string()
        } else {
            format!("{}-{}", v[i], v[j])
        });
        i = j + 1;
    }
    parts.join(",")
}

fn parse_range(s: &str) -> Option<PhysRange> {
    let (a, b) = s.split_once('-')?;
    let (a, b) = (parse_u64(a)?, parse_u64(b)?);
    (b >= a && b < u64::MAX).then(|| PhysRange::from_inclusive(a, b))
}

fn start_topology(s: &StartRecord) -> Result<Topology, String> {
    use crate::topology::{MAX_CPUS, MAX_MEMORY_BLOCKS};
    let list = |name: &str, v: &Option<String>, cap: usize, what: &str| {
        let l = match v {
            None => Vec::new(),
            Some(t) => {
                parse_index_list(t).ok_or_else(|| format!("{name} is not a list like 0-3,8"))?
            }
        };
        if l.len() > cap {
            return Err(format!(
                "{name} lists {} {what}, more than the {cap} a history may hold",
                l.len()
            ));
        }
        Ok(l)
    };
    let cpus = |name: &str, v: &Option<String>| list(name, v, MAX_CPUS, "CPUs (MAX_CPUS)");
    let mut t = Topology::default();
    let possible = cpus("cpus_possible", &s.cpus_possible)?;
    let present = cpus("cpus_present", &s.cpus_present)?;
    let online = cpus("cpus_online", &s.cpus_online)?;
    // Sets: membership tests of sorted lists stay linear overall, not quadratic.
    let present_set: std::collections::BTreeSet<u64> = present.iter().copied().collect();
    let online_set: std::collections::BTreeSet<u64> = online.iter().copied().collect();
    for &c in possible.iter().chain(&present).chain(&online) {
        let c = u32::try_from(c).map_err(|_| "CPU number exceeds u32".to_string())?;
        t.cpus.insert(
            c,
            CpuStatus {
                present: present_set.contains(&u64::from(c)) || online_set.contains(&u64::from(c)),
                online: online_set.contains(&u64::from(c)),
                apic_id: None,
            },
        );
    }
    if t.cpus.len() > MAX_CPUS {
        return Err(format!(
            "the start topology names {} CPUs, more than the {MAX_CPUS} a history may hold \
             (MAX_CPUS)",
            t.cpus.len()
        ));
    }
    t.cpus_complete = s.cpus_possible.is_some();
    for (name, v, st) in [
        ("memory_online", &s.memory_online, BlockStatus::Online),
        ("memory_offline", &s.memory_offline, BlockStatus::Offline),
        ("memory_removed", &s.memory_removed, BlockStatus::Removed),
    ] {
        for b in list(
            name,
            v,
            MAX_MEMORY_BLOCKS,
            "memory blocks (MAX_MEMORY_BLOCKS)",
        )? {
            t.memory.insert(b, st);
        }
    }
    if t.memory.len() > MAX_MEMORY_BLOCKS {
        return Err(format!(
            "the start topology names {} memory blocks, more than the {MAX_MEMORY_BLOCKS} a \
             history may hold (MAX_MEMORY_BLOCKS)",
            t.memory.len()
        ));
    }
    t.memory_complete = s.memory_complete.unwrap_or(
        s.memory_online.is_some() || s.memory_offline.is_some() || s.memory_removed.is_some(),
    );
    Ok(t)
}

fn event_of(r: &Record, kind: &str) -> Result<Change, String> {
    let (subject, action) = kind
        .split_once('-')
        .ok_or_else(|| format!("unknown event {kind:?}"))?;
    let action = Action::from_uevent(action).ok_or_else(|| format!("unknown event {kind:?}"))?;
    match subject {
        "cpu" => Ok(Change::Cpu {
            action,
            cpu: r.cpu.ok_or("cpu event without \"cpu\"")?,
            apic_id: r.apic_id,
        }),
        "memory" => {
            let range = match &r.range {
                Some(s) => {
                    Some(parse_range(s).ok_or("\"range\" is not START-END (inclusive, hex)")?)
                }
                None => None,
            };
            // Neither is allowed (a kernel log names no block); replay reports it unresolved.
            Ok(Change::Memory {
                action,
                block: BlockRef {
                    index: r.block,
                    range,
                },
            })
        }
        _ => Err(format!("unknown event {kind:?}")),
    }
}

/// Imports our JSON lines.
pub fn import(source: &str, text: &str) -> Imported {
    let mut history = History::new(SourceFormat::HistoryJsonl);
    let mut problems = Problems::new(source);
    let mut header_seen = false;
    for (i, l) in text.lines().enumerate() {
        let line = i + 1;
        let t = l.trim();
        if t.is_empty() {
            continue;
        }
        if !header_seen {
            header_seen = true;
            match serde_json::from_str::<Header>(t) {
                Ok(h) if h.format == FORMAT_NAME && h.version == VERSION => {
                    if let Some(bs) = h.block_size.as_ref().and_then(number_text) {
                        match parse_u64(&bs).filter(|&b| b > 0) {
                            Some(b) => history.set_block_size(b),
                            None => problems.push(line, "block_size is not a number", t),
                        }
                    }
                }
                Ok(h) if h.format == FORMAT_NAME => problems.push(
                    line,
                    format!(
                        "version {} is not supported (this reader knows {VERSION})",
                        h.version
                    ),
                    t,
                ),
                Ok(_) => problems.push(line, format!("format is not {FORMAT_NAME:?}"), t),
                Err(e) => problems.push(line, format!("bad header: {e}"), t),
            }
            continue;
        }
        let r: Record = match serde_json::from_str(t) {
            Ok(r) => r,
            Err(e) => {
                problems.push(line, format!("not a record: {e}"), t);
                continue;
            }
        };
        let kinds = [
            r.start.is_some(),
            r.event.is_some(),
            r.mark.is_some(),
            r.notice.is_some(),
        ];
        if kinds.iter().filter(|&&k| k).count() != 1 {
            problems.push(
                line,
                "a record has exactly one of start, event, mark, notice",
                t,
            );
            continue;
        }
        let uptime_us = match r
            .uptime
            .as_ref()
            .map(|u| number_text(u).and_then(|s| parse_seconds_us(&s)))
        {
            Some(Some(u)) => Some(u),
            Some(None) => {
                problems.push(line, "\"uptime\" is not decimal seconds", t);
                continue;
            }
            None => None,
        };
        if let Some(s) = &r.start {
            if !history.events.is_empty() || history.start.is_some() {
                problems.push(line, "start must come once, before the first event", t);
                continue;
            }
            match start_topology(s) {
                Ok(mut top) => {
                    top.block_size = history.block_size;
                    history.start = Some(top);
                }
                Err(e) => problems.push(line, e, t),
            }
        } else if let Some(kind) = &r.event {
            match event_of(&r, kind) {
                Ok(change) => history.events.push(Event {
                    seq: r.seq,
                    uptime_us,
                    change,
                    line,
                }),
                Err(e) => problems.push(line, e, t),
            }
        } else if let Some(name) = &r.mark {
            history.marks.push(Mark {
                name: name.clone(),
                events_before: history.events.len(),
            });
        } else if let Some(kind) = &r.notice {
            let kind = match kind.as_str() {
                "updated" => NoticeKind::Updated,
                "update-lost" => NoticeKind::UpdateLost,
                "update-too-large" => match (r.elfsz, r.memsz) {
                    (Some(elfsz), Some(memsz)) => NoticeKind::UpdateTooLarge { elfsz, memsz },
                    _ => {
                        problems.push(line, "update-too-large needs elfsz and memsz", t);
                        continue;
                    }
                },
                other => {
                    problems.push(line, format!("unknown notice {other:?}"), t);
                    continue;
                }
            };
            history.notices.push(Notice {
                kind,
                events_before: history.events.len(),
                uptime_us,
                line,
            });
        }
    }
    if !header_seen {
        problems.push(1, "empty: no header line", "");
    }
    Imported {
        history,
        problems: problems.list,
    }
}

fn quote(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

/// Writes `history` in our JSON-lines format (version 1).
pub fn export(history: &History) -> String {
    let mut out = format!("{{\"format\":\"{FORMAT_NAME}\",\"version\":{VERSION}");
    if let Some(bs) = history.block_size {
        out.push_str(&format!(",\"block_size\":\"{bs:#x}\""));
    }
    out.push_str("}\n");
    if let Some(t) = &history.start {
        let cpus = |f: &dyn Fn(&CpuStatus) -> bool| {
            format_index_list(
                t.cpus
                    .iter()
                    .filter(|(_, s)| f(s))
                    .map(|(&c, _)| u64::from(c)),
            )
        };
        let mut fields = Vec::new();
        if t.cpus_complete {
            fields.push(format!("\"cpus_possible\":{}", quote(&cpus(&|_| true))));
        }
        fields.push(format!("\"cpus_present\":{}", quote(&cpus(&|s| s.present))));
        fields.push(format!("\"cpus_online\":{}", quote(&cpus(&|s| s.online))));
        for (name, st) in [
            ("memory_online", BlockStatus::Online),
            ("memory_offline", BlockStatus::Offline),
            ("memory_removed", BlockStatus::Removed),
        ] {
            fields.push(format!(
                "\"{name}\":{}",
                quote(&format_index_list(t.blocks(st)))
            ));
        }
        fields.push(format!("\"memory_complete\":{}", t.memory_complete));
        out.push_str(&format!("{{\"start\":{{{}}}}}\n", fields.join(",")));
    }
    let mut marks = history.marks.iter().peekable();
    let mut notices = history.notices.iter().peekable();
    for i in 0..=history.events.len() {
        while let Some(n) = notices.next_if(|n| n.events_before == i) {
            let mut s = match n.kind {
                NoticeKind::Updated => "{\"notice\":\"updated\"".to_string(),
                NoticeKind::UpdateLost => "{\"notice\":\"update-lost\"".to_string(),
                NoticeKind::UpdateTooLarge { elfsz, memsz } => {
                    format!("{{\"notice\":\"update-too-large\",\"elfsz\":{elfsz},\"memsz\":{memsz}")
                }
            };
            if let Some(u) = n.uptime_us {
                s.push_str(&format!(",\"uptime\":\"{}\"", format_seconds_us(u)));
            }
            out.push_str(&s);
            out.push_str("}\n");
        }
        while let Some(m) = marks.next_if(|m| m.events_before == i) {
            out.push_str(&format!("{{\"mark\":{}}}\n", quote(&m.name)));
        }
        let Some(e) = history.events.get(i) else {
            break;
        };
        let mut s = match e.change {
            Change::Cpu {
                action,
                cpu,
                apic_id,
            } => {
                let mut s = format!("{{\"event\":\"cpu-{}\",\"cpu\":{cpu}", action.as_str());
                if let Some(a) = apic_id {
                    s.push_str(&format!(",\"apic_id\":{a}"));
                }
                s
            }
            Change::Memory { action, block } => {
                let mut s = format!("{{\"event\":\"memory-{}\"", action.as_str());
                if let Some(b) = block.index {
                    s.push_str(&format!(",\"block\":{b}"));
                }
                if let Some(r) = block.range {
                    s.push_str(&format!(",\"range\":\"{r}\""));
                }
                s
            }
        };
        if let Some(q) = e.seq {
            s.push_str(&format!(",\"seq\":{q}"));
        }
        if let Some(u) = e.uptime_us {
            s.push_str(&format!(",\"uptime\":\"{}\"", format_seconds_us(u)));
        }
        out.push_str(&s);
        out.push_str("}\n");
    }
    out
}
