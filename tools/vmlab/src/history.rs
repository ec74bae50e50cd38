//! The run's history as JSON lines, in the shape of `testdata/real/history.jsonl` (no
//! `docs/history-format.md` exists yet): one object per line with `t_host` (UNIX seconds),
//! `t_host_iso`, `kind` (`host`, `guest`, `qmp`, `action`, `snapshot`, `check`, `crash`) and
//! kind-specific fields; actions carry `step`, `action`, `args`, `qmp_commands`, `qmp_events`
//! and `guest_uevents` (`SEQNUM ACTION DEVPATH SUBSYSTEM guest-uptime`).

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use serde_json::{Map, Value};

/// Seconds since the epoch, as a float (the history's `t_host`).
pub fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// RFC 3339 UTC with microseconds, like the frozen history's `t_host_iso`.
pub fn iso(t: f64) -> String {
    let secs = t.floor() as i64;
    let micros = ((t - t.floor()) * 1e6).round().min(999_999.0) as i64;
    let (y, m, d, hh, mm, ss) = kdump_types::civil_utc(secs);
    format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}.{micros:06}+00:00")
}

/// Appends history records.
#[derive(Debug)]
pub struct History {
    file: File,
}

impl History {
    /// Create (truncate) `path`.
    pub fn create(path: &Path) -> anyhow::Result<History> {
        let file =
            File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
        Ok(History { file })
    }

    /// One record: `kind` plus `fields` (an object), stamped with the host time.
    pub fn record(&mut self, kind: &str, fields: Value) -> anyhow::Result<()> {
        let line = record_line(now(), kind, fields);
        writeln!(self.file, "{line}")?;
        self.file.flush()?;
        Ok(())
    }
}

/// The JSON text of one record.
pub fn record_line(t: f64, kind: &str, fields: Value) -> String {
    let mut m = Map::new();
    m.insert("t_host".into(), Value::from(t));
    m.insert("t_host_iso".into(), Value::from(iso(t)));
    m.insert("kind".into(), Value::from(kind));
    if let Value::Object(f) = fields {
        for (k, v) in f {
            m.insert(k, v);
        }
    }
    Value::Object(m).to_string()
}

#[cfg(test)]
mod tests;
