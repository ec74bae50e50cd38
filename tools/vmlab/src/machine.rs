//! The QEMU process: argv from the scenario's machine shape (shared/LAB.md), start, the console
//! file, waiting for the guest's `@@` markers, and killing QEMU on every exit path.

use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::scenario::Scenario;

/// The output disks the crash kernel writes (vda raw vmcore, vdb makedumpfile, vdc dmesg).
pub const DISKS: &[(&str, u64)] = &[("vda", 4 << 30), ("vdb", 1 << 30), ("vdc", 64 << 20)];

/// Connect to a UNIX socket QEMU serves, retrying until it exists or `deadline`.
pub fn connect_unix(sock: &Path, deadline: Instant) -> anyhow::Result<UnixStream> {
    loop {
        match UnixStream::connect(sock) {
            Ok(s) => return Ok(s),
            Err(e) if Instant::now() >= deadline => {
                return Err(e).with_context(|| format!("cannot connect to {}", sock.display()));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

/// QEMU's argv for a scenario (without the program name).
pub fn qemu_args(sc: &Scenario, vmlinuz: &Path, initrd: &Path, dir: &Path) -> Vec<String> {
    let m = &sc.machine;
    let p = |n: &str| dir.join(n).display().to_string();
    let mut a: Vec<String> = ["-machine", "q35", "-accel", "tcg", "-cpu", "qemu64"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    a.extend([
        "-smp".into(),
        format!("{},maxcpus={}", m.smp, m.maxcpus),
        "-m".into(),
        format!("{}M,slots={},maxmem={}M", m.mem_mib, m.slots, m.maxmem_mib),
        "-kernel".into(),
        vmlinuz.display().to_string(),
        "-initrd".into(),
        initrd.display().to_string(),
        "-append".into(),
        sc.kernel_append(),
        "-display".into(),
        "none".into(),
        "-no-reboot".into(),
        "-nic".into(),
        "none".into(),
        "-monitor".into(),
        "none".into(),
        "-chardev".into(),
        format!("file,id=con,path={}", p("console.log")),
        "-serial".into(),
        "chardev:con".into(),
        "-chardev".into(),
        format!("socket,id=cmd,path={},server=on,wait=off", p("cmd.sock")),
        "-serial".into(),
        "chardev:cmd".into(),
        "-qmp".into(),
        format!("unix:{},server=on,wait=off", p("qmp.sock")),
        "-device".into(),
        "vmcoreinfo".into(),
    ]);
    for c in &m.coldplug_cores {
        a.push("-device".into());
        a.push(format!(
            "qemu64-x86_64-cpu,id=cpu-core{c},socket-id=0,core-id={c},thread-id=0"
        ));
    }
    for (d, _) in DISKS {
        a.push("-drive".into());
        a.push(format!(
            "file={},format=raw,if=virtio,cache=unsafe",
            p(&format!("disk-{d}.raw"))
        ));
    }
    a
}

/// A running QEMU; killed when dropped.
#[derive(Debug)]
pub struct Qemu {
    child: Child,
    /// The run folder (console.log, sockets, disks).
    pub dir: PathBuf,
}

impl Qemu {
    /// Start QEMU with fresh sparse output disks.
    pub fn start(args: &[String], dir: &Path) -> anyhow::Result<Qemu> {
        for (d, size) in DISKS {
            let f = std::fs::File::create(dir.join(format!("disk-{d}.raw")))?;
            f.set_len(*size)?;
        }
        for f in ["console.log", "cmd.sock", "qmp.sock"] {
            let _ = std::fs::remove_file(dir.join(f));
        }
        let stderr = std::fs::File::create(dir.join("qemu.stderr"))?;
        let child = Command::new("qemu-system-x86_64")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .context(
                "cannot start qemu-system-x86_64 (apt-get install qemu-system-x86; \
                 scripts/vm-build.sh installs it when run as root)",
            )?;
        Ok(Qemu {
            child,
            dir: dir.to_path_buf(),
        })
    }

    /// The console so far (lossy UTF-8).
    pub fn console(&self) -> String {
        std::fs::read(self.dir.join("console.log"))
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// QEMU's exit status if it has exited.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    fn stderr_tail(&self) -> String {
        std::fs::read_to_string(self.dir.join("qemu.stderr")).unwrap_or_default()
    }

    /// Wait until the console has a line starting with `marker`; fail early on a kernel oops
    /// or panic before it (`fatal`), or when QEMU exits. Returns the marker line.
    pub fn wait_console(
        &mut self,
        marker: &str,
        fatal: &[&str],
        deadline: Instant,
    ) -> anyhow::Result<String> {
        loop {
            let con = self.console();
            if let Some(l) = con.lines().find(|l| l.starts_with(marker)) {
                return Ok(l.to_string());
            }
            if let Some(l) = con.lines().find(|l| fatal.iter().any(|f| l.contains(f))) {
                bail!("guest console shows {l:?} before {marker}");
            }
            if let Some(l) = con.lines().find(|l| l.starts_with("@@FATAL")) {
                bail!("guest /init failed: {l}");
            }
            if let Some(st) = self.exited() {
                bail!(
                    "QEMU exited ({st}) before {marker}; stderr: {}; console tail: {}",
                    self.stderr_tail().trim(),
                    tail(&con, 15)
                );
            }
            if Instant::now() >= deadline {
                bail!(
                    "timed out waiting for {marker}; console tail:\n{}",
                    tail(&con, 15)
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Wait for QEMU to exit by itself.
    pub fn wait_exit(&mut self, deadline: Instant) -> anyhow::Result<std::process::ExitStatus> {
        loop {
            if let Some(st) = self.exited() {
                return Ok(st);
            }
            if Instant::now() >= deadline {
                bail!(
                    "QEMU did not power off in time; console tail:\n{}",
                    tail(&self.console(), 15)
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Qemu {
    fn drop(&mut self) {
        // Never leave a CPU-hungry TCG guest behind, whatever failed.
        if self.exited().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Last `n` lines of a text.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

#[cfg(test)]
mod tests;
