//! The guest command channel on the second serial port (scripts/vm-init.sh serves it): one
//! shell command per line as `ID COMMAND`, answered by `@@BEGIN ID`, output, `@@END ID RC`.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// A connected command channel.
#[derive(Debug)]
pub struct Chan {
    out: UnixStream,
    rx: Receiver<String>,
    next: u64,
}

/// What a guest command returned.
#[derive(Debug, Clone)]
pub struct Reply {
    /// Exit status of `sh -c`.
    pub rc: i32,
    /// stdout and stderr, merged.
    pub output: String,
}

impl Chan {
    /// Connect to QEMU's socket for the guest's ttyS1. The socket must stay open for the whole
    /// run: QEMU drops what the guest has not read yet when the client goes away.
    pub fn connect(sock: &Path, deadline: Instant) -> anyhow::Result<Chan> {
        let stream = crate::machine::connect_unix(sock, deadline)?;
        let reader = stream.try_clone()?;
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(reader).split(b'\n') {
                let Ok(line) = line else { break };
                let s = String::from_utf8_lossy(&line)
                    .trim_end_matches('\r')
                    .to_string();
                if tx.send(s).is_err() {
                    break;
                }
            }
        });
        Ok(Chan {
            out: stream,
            rx,
            next: 1,
        })
    }

    /// Run `cmd` in the guest (`sh -c`), wait at most `timeout`.
    pub fn run(&mut self, cmd: &str, timeout: Duration) -> anyhow::Result<Reply> {
        if cmd.contains('\n') {
            bail!("guest command must be one line: {cmd:?}");
        }
        let id = format!("c{}x{}", self.next, std::process::id());
        self.next += 1;
        writeln!(self.out, "{id} {cmd}")
            .with_context(|| format!("cannot send {cmd:?} to the guest"))?;
        let deadline = Instant::now() + timeout;
        let begin = format!("@@BEGIN {id}");
        let end = format!("@@END {id} ");
        let mut started = false;
        let mut lines: Vec<String> = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = match self.rx.recv_timeout(left) {
                Ok(l) => l,
                Err(RecvTimeoutError::Timeout) => bail!(
                    "guest command {cmd:?} did not finish within {} s (output so far: {:?})",
                    timeout.as_secs(),
                    lines.join("\n")
                ),
                Err(RecvTimeoutError::Disconnected) => {
                    bail!("guest command channel closed during {cmd:?} (guest or QEMU died?)")
                }
            };
            if !started {
                started = line == begin;
                continue;
            }
            if let Some(rc) = line.strip_prefix(&end) {
                let rc: i32 = rc
                    .trim()
                    .parse()
                    .with_context(|| format!("bad end marker {line:?}"))?;
                // The guest prints a newline before the marker (see vm-init.sh).
                if lines.last().is_some_and(String::is_empty) {
                    lines.pop();
                }
                return Ok(Reply {
                    rc,
                    output: lines.join("\n"),
                });
            }
            lines.push(line);
        }
    }

    /// Run and require exit status 0.
    pub fn ok(&mut self, cmd: &str, timeout: Duration) -> anyhow::Result<String> {
        let r = self.run(cmd, timeout)?;
        if r.rc != 0 {
            bail!("guest command {cmd:?} exited {}: {}", r.rc, r.output);
        }
        Ok(r.output)
    }

    /// Send a command without waiting (for `echo c > /proc/sysrq-trigger`, which never answers).
    pub fn fire(&mut self, cmd: &str) -> anyhow::Result<()> {
        let id = format!("f{}", self.next);
        self.next += 1;
        writeln!(self.out, "{id} {cmd}").context("cannot send to the guest")?;
        self.out.flush()?;
        Ok(())
    }
}
