//! A small QMP client: commands with ids, events kept with their host time, every message
//! logged to `qmp-log.jsonl`.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};

use crate::history::{iso, now};

/// A connected QMP monitor.
#[derive(Debug)]
pub struct Qmp {
    out: UnixStream,
    rx: Receiver<Value>,
    next_id: u64,
    log: std::fs::File,
    /// Events not yet taken by [`Qmp::take_events`].
    pending: Vec<Value>,
}

fn log_line(log: &mut std::fs::File, dir: &str, msg: &Value) {
    let t = now();
    let _ = writeln!(
        log,
        "{}",
        json!({"t_host": t, "t_host_iso": iso(t), "dir": dir, "msg": msg})
    );
}

impl Qmp {
    /// Connect (the socket is QEMU's `-qmp unix:…,server=on`), negotiate capabilities.
    pub fn connect(sock: &Path, log_path: &Path, deadline: Instant) -> anyhow::Result<Qmp> {
        let stream = crate::machine::connect_unix(sock, deadline)?;
        let reader = stream.try_clone()?;
        let mut log = std::fs::File::create(log_path)
            .with_context(|| format!("cannot create {}", log_path.display()))?;
        let mut log2 = log.try_clone()?;
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(reader).lines() {
                let Ok(line) = line else { break };
                let Ok(v) = serde_json::from_str::<Value>(&line) else {
                    continue;
                };
                log_line(&mut log2, "recv", &v);
                if tx.send(v).is_err() {
                    break;
                }
            }
        });
        let greeting = rx
            .recv_timeout(Duration::from_secs(30))
            .context("QMP: no greeting from QEMU within 30 s")?;
        if greeting.get("QMP").is_none() {
            bail!("QMP: unexpected greeting {greeting}");
        }
        log_line(&mut log, "note", &json!("connected"));
        let mut q = Qmp {
            out: stream,
            rx,
            next_id: 1,
            log,
            pending: Vec::new(),
        };
        q.execute("qmp_capabilities", json!({}))?;
        Ok(q)
    }

    /// Run a command; returns its `return` value. An `error` reply is an error.
    pub fn execute(&mut self, cmd: &str, args: Value) -> anyhow::Result<Value> {
        let id = self.next_id;
        self.next_id += 1;
        let msg = if args.as_object().is_some_and(|o| o.is_empty()) {
            json!({"execute": cmd, "id": id})
        } else {
            json!({"execute": cmd, "arguments": args, "id": id})
        };
        log_line(&mut self.log, "send", &msg);
        writeln!(self.out, "{msg}").with_context(|| format!("QMP: cannot send {cmd}"))?;
        // dump-guest-memory and pmemsave of a few hundred MB can take seconds under TCG.
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let v = match self.rx.recv_timeout(left) {
                Ok(v) => v,
                Err(RecvTimeoutError::Timeout) => bail!("QMP: no reply to {cmd} within 120 s"),
                Err(RecvTimeoutError::Disconnected) => {
                    bail!("QMP: connection closed while waiting for {cmd} (QEMU exited?)")
                }
            };
            if v.get("event").is_some() {
                self.pending.push(v);
                continue;
            }
            if v.get("id").and_then(Value::as_u64) == Some(id) {
                if let Some(e) = v.get("error") {
                    bail!("QMP {cmd} {args} failed: {e}");
                }
                return Ok(v.get("return").cloned().unwrap_or(Value::Null));
            }
        }
    }

    /// Wait for an event `name` whose `data` satisfies `pred`; it stays in the pending list.
    pub fn wait_event(
        &mut self,
        name: &str,
        pred: impl Fn(&Value) -> bool,
        timeout: Duration,
    ) -> anyhow::Result<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(e) = self
                .pending
                .iter()
                .find(|e| e["event"] == name && pred(&e["data"]))
            {
                return Ok(e.clone());
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(v) if v.get("event").is_some() => self.pending.push(v),
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => {
                    bail!("QMP: no {name} event within {} s", timeout.as_secs())
                }
                Err(RecvTimeoutError::Disconnected) => {
                    bail!("QMP: connection closed while waiting for {name} (QEMU exited?)")
                }
            }
        }
    }

    /// Events received so far and not yet taken (for the history).
    pub fn take_events(&mut self) -> Vec<Value> {
        while let Ok(v) = self.rx.try_recv() {
            if v.get("event").is_some() {
                self.pending.push(v);
            }
        }
        std::mem::take(&mut self.pending)
    }
}
