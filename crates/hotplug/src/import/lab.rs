//! The lab's JSON-lines run log (`testdata/real/history.jsonl`): one JSON object per line with a
//! `kind`. `action` lines carry `guest_uevents` (uevent records, see [`super::uevent`]) recorded
//! in the guest since the previous action; `snapshot` lines with a `step` become [`Mark`]s
//! (the state the step's snapshot and dump were taken in). Other kinds (`host`, `guest`, `qmp`)
//! carry no hotplug facts and are skipped. The run log has no starting topology: give a sysfs
//! snapshot of the first step before it.

use crate::history::{History, Mark, SourceFormat};
use crate::import::{Imported, Problems, uevent};

/// Imports the lab run log.
pub fn import(source: &str, text: &str) -> Imported {
    let mut history = History::new(SourceFormat::LabJsonl);
    let mut problems = Problems::new(source);
    for (i, l) in text.lines().enumerate() {
        let line = i + 1;
        let t = l.trim();
        if t.is_empty() {
            continue;
        }
        let v: serde_json::Value = match serde_json::from_str(t) {
            Ok(v) => v,
            Err(e) => {
                problems.push(line, format!("not JSON: {e}"), t);
                continue;
            }
        };
        let Some(kind) = v.get("kind").and_then(|k| k.as_str()) else {
            problems.push(line, "no \"kind\" string", t);
            continue;
        };
        match kind {
            "action" => {
                let Some(records) = v.get("guest_uevents") else {
                    continue;
                };
                let Some(records) = records.as_array() else {
                    problems.push(line, "\"guest_uevents\" is not an array", t);
                    continue;
                };
                for (j, r) in records.iter().enumerate() {
                    match r.as_str() {
                        Some(r) => uevent::add_record(&mut history, &mut problems, line, r),
                        None => problems.push(
                            line,
                            format!("guest_uevents[{j}] is not a string"),
                            &r.to_string(),
                        ),
                    }
                }
            }
            "snapshot" => match v.get("step").and_then(|s| s.as_str()) {
                Some(step) => history.marks.push(Mark {
                    name: step.to_string(),
                    events_before: history.events.len(),
                }),
                None => problems.push(line, "snapshot without a \"step\" string", t),
            },
            _ => {}
        }
    }
    Imported {
        history,
        problems: problems.list,
    }
}
