//! One scenario run: build the guest, boot it (retrying TCG boot oopses), drive the steps over
//! QMP and the command channel, snapshot and check after each step, crash it, and check the
//! dumps the crash kernel saved. Every check prints a `PASS` line; the first failure stops the
//! run with an error naming the step.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use elfcorehdr::SystemState;
use elfcorehdr::live::Uevent;
use serde_json::{Value, json};

use crate::chan::Chan;
use crate::checks::{Break, check_step};
use crate::history::{History, now};
use crate::machine::{Qemu, qemu_args, tail};
use crate::qmp::Qmp;
use crate::scenario::{Action, Expect, Scenario, Trigger};

/// How to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// The scenario file.
    pub scenario: PathBuf,
    /// The run folder (replaced).
    pub out: PathBuf,
    /// Our `vmcore` binary (goes into the guest, and checks the dumps on the host).
    pub vmcore: PathBuf,
    /// The workspace root (for scripts/vm-build.sh).
    pub workspace: PathBuf,
    /// Boot attempts (TCG occasionally oopses at boot: LAB.md).
    pub attempts: u32,
}

/// Progress line, flushed at once so CI logs show where a run is.
pub fn say(msg: &str) {
    let mut o = std::io::stdout().lock();
    let _ = writeln!(o, "[vmlab {:>7.1}s] {msg}", elapsed());
    let _ = o.flush();
}

fn elapsed() -> f64 {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_secs_f64()
}

const BOOT_FATAL: &[&str] = &[
    "Kernel panic",
    "Oops:",
    "BUG:",
    "general protection fault",
    "RIP: 0010",
];

/// What scripts/vm-build.sh made.
struct Guest {
    vmlinuz: PathBuf,
    initrd: PathBuf,
    kernel_pkg: String,
    /// The crash module in the initramfs (with DWARF), when the scenario crashes in it.
    lab_crash_ko: Option<PathBuf>,
}

/// Build the guest with scripts/vm-build.sh.
fn build_guest(o: &Options, sc: &Scenario) -> anyhow::Result<Guest> {
    say(
        "guest build: scripts/vm-build.sh (Debian kernel + busybox + kexec-tools + makedumpfile + our vmcore)",
    );
    let mut cmd = Command::new("bash");
    cmd.arg(o.workspace.join("scripts/vm-build.sh"))
        .arg("--vmcore")
        .arg(&o.vmcore);
    if sc.crash.trigger == Trigger::LabCrashBug {
        cmd.arg("--lab-crash");
    }
    // The scenario's kernel, unless the environment picks one.
    if let (Some(k), None) = (&sc.kernel, std::env::var_os("VMLAB_KERNEL_PKG")) {
        cmd.env("VMLAB_KERNEL_PKG", &k.package);
        if let Some(suite) = &k.apt_suite {
            cmd.env("VMLAB_APT_SUITE", suite);
        }
    }
    let out = cmd
        .stderr(Stdio::inherit())
        .output()
        .context("cannot run scripts/vm-build.sh")?;
    if !out.status.success() {
        bail!("scripts/vm-build.sh failed ({})", out.status);
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let get = |k: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(k))
            .map(str::to_string)
            .with_context(|| format!("scripts/vm-build.sh printed no {k}"))
    };
    let lab_crash_ko = match sc.crash.trigger {
        Trigger::LabCrashBug => Some(PathBuf::from(get("LAB_CRASH_KO=")?)),
        Trigger::Sysrq => None,
    };
    Ok(Guest {
        vmlinuz: PathBuf::from(get("VMLINUZ=")?),
        initrd: PathBuf::from(get("INITRD=")?),
        kernel_pkg: get("KERNEL_PKG=")?,
        lab_crash_ko,
    })
}

struct Vm {
    qemu: Qemu,
    qmp: Qmp,
    chan: Chan,
}

fn boot(sc: &Scenario, args: &[String], dir: &Path, deadline: Instant) -> anyhow::Result<Vm> {
    let t0 = Instant::now();
    let mut qemu = Qemu::start(args, dir)?;
    // A TCG boot takes ~5-10 s on this machine; 150 s means something is wrong.
    let boot_deadline = deadline.min(Instant::now() + Duration::from_secs(150));
    let ready = qemu.wait_console("@@READY", BOOT_FATAL, boot_deadline)?;
    let con = qemu.console();
    let kexec = con
        .lines()
        .find(|l| l.starts_with("@@KEXEC"))
        .unwrap_or("")
        .to_string();
    if !kexec.contains("rc=0") || !kexec.contains("loaded=1") {
        bail!(
            "kexec -p -s did not load the crash kernel: {kexec:?}; {}",
            con.lines()
                .filter(|l| l.starts_with("@@KEXECLOG"))
                .collect::<Vec<_>>()
                .join(" | ")
        );
    }
    say(&format!(
        "guest up in {:.1}s ({ready}); crash kernel loaded with kexec_file_load ({kexec})",
        t0.elapsed().as_secs_f64()
    ));
    let qmp = Qmp::connect(
        &dir.join("qmp.sock"),
        &dir.join("qmp-log.jsonl"),
        boot_deadline,
    )?;
    let chan = Chan::connect(&dir.join("cmd.sock"), boot_deadline)?;
    let _ = sc;
    Ok(Vm { qemu, qmp, chan })
}

const T: Duration = Duration::from_secs(30);

fn guest_blocks(chan: &mut Chan) -> anyhow::Result<BTreeMap<u64, String>> {
    let out = chan.ok(
        "for b in /sys/devices/system/memory/memory[0-9]*; do echo ${b##*/memory} $(cat $b/state); done",
        T,
    )?;
    let mut m = BTreeMap::new();
    for l in out.lines() {
        let mut w = l.split_whitespace();
        if let (Some(n), Some(s)) = (w.next(), w.next()) {
            m.insert(n.parse()?, s.to_string());
        }
    }
    Ok(m)
}

fn poll<T>(
    what: &str,
    timeout: Duration,
    mut f: impl FnMut() -> anyhow::Result<Option<T>>,
) -> anyhow::Result<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f()? {
            return Ok(v);
        }
        if Instant::now() >= deadline {
            bail!("timed out after {} s waiting for {what}", timeout.as_secs());
        }
        std::thread::sleep(Duration::from_millis(300));
    }
}

struct Driver<'a> {
    sc: &'a Scenario,
    dir: PathBuf,
    vm: Vm,
    hist: History,
    dimms: HashMap<String, Vec<u64>>,
    uevent_lines: usize,
    vmcore: PathBuf,
    brk: Break,
    prev: Option<(Vec<u8>, SystemState)>,
    prev_step: String,
    passes: usize,
    /// Checks that failed under `VMLAB_KEEP_GOING=1`.
    failed: usize,
    /// The workspace (scripts/), the guest's kernel package and crash module, for the drgn
    /// oracle (`VMLAB_DRGN=1`).
    workspace: PathBuf,
    kernel_pkg: String,
    lab_crash_ko: Option<PathBuf>,
}

impl Driver<'_> {
    /// A failed check: the end of the run, unless `VMLAB_KEEP_GOING=1` (collecting data from a
    /// kernel the engine does not handle yet), where it is printed as `FAIL` and counted, and
    /// the run still ends with an error.
    fn soft(&mut self, r: anyhow::Result<()>) -> anyhow::Result<()> {
        match r {
            Err(e) if std::env::var_os("VMLAB_KEEP_GOING").is_some_and(|v| v == "1") => {
                say(&format!("FAIL {e:#}"));
                self.failed += 1;
                Ok(())
            }
            r => r,
        }
    }

    fn pass(&mut self, msg: &str) {
        self.passes += 1;
        say(&format!("PASS {msg}"));
    }

    /// Perform one action; returns the history fields it adds.
    fn act(&mut self, step: &str, a: &Action) -> anyhow::Result<Value> {
        let vm = &mut self.vm;
        let mut qmp_cmds = Vec::new();
        let guest;
        let mut args = json!([]);
        match a {
            Action::MemAdd { id, size } => {
                args = json!([id, size]);
                let before = guest_blocks(&mut vm.chan)?;
                let obj = json!({"qom-type": "memory-backend-ram", "id": format!("mem-{id}"), "size": size});
                let r = vm.qmp.execute("object-add", obj.clone())?;
                qmp_cmds.push(json!(["object-add", obj, r]));
                let dev = json!({"driver": "pc-dimm", "id": id, "memdev": format!("mem-{id}")});
                let r = vm.qmp.execute("device_add", dev.clone())?;
                qmp_cmds.push(json!(["device_add", dev, r]));
                let want = (*size / (128 << 20)) as usize;
                let chan = &mut vm.chan;
                let new = poll(
                    &format!("{want} new memory block(s) of {id} online in the guest"),
                    T,
                    || {
                        let now = guest_blocks(chan)?;
                        let new: Vec<u64> = now
                            .iter()
                            .filter(|(n, _)| !before.contains_key(n))
                            .map(|(n, _)| *n)
                            .collect();
                        let all_online = new.iter().all(|n| now[n] == "online");
                        Ok((new.len() == want && all_online).then_some(new))
                    },
                )?;
                guest = json!({"memory_blocks_added": new});
                say(&format!(
                    "  {id}: {} MiB DIMM plugged, guest onlined memory blocks {new:?}",
                    size >> 20
                ));
                self.dimms.insert(id.clone(), new);
            }
            Action::MemRemove { id } => {
                args = json!([id]);
                let blocks = self.dimms.remove(id).unwrap_or_default();
                let r = vm.qmp.execute("device_del", json!({"id": id}))?;
                qmp_cmds.push(json!(["device_del", {"id": id}, r]));
                vm.qmp
                    .wait_event(
                        "DEVICE_DELETED",
                        |d| d["device"] == id.as_str(),
                        Duration::from_secs(60),
                    )
                    .with_context(|| format!("step {step}: DIMM {id} was not removed"))?;
                let chan = &mut vm.chan;
                poll(
                    &format!("memory blocks {blocks:?} to leave the guest"),
                    T,
                    || {
                        let now = guest_blocks(chan)?;
                        Ok(blocks.iter().all(|b| !now.contains_key(b)).then_some(()))
                    },
                )?;
                let _ = vm
                    .qmp
                    .execute("object-del", json!({"id": format!("mem-{id}")}));
                guest = json!({"memory_blocks_removed": blocks});
                say(&format!(
                    "  {id}: DIMM removed (DEVICE_DELETED), blocks {blocks:?} gone from the guest"
                ));
            }
            Action::MemOffline { id, block } | Action::MemOnline { id, block } => {
                let on = matches!(a, Action::MemOnline { .. });
                args = json!([format!("{id}:{block}")]);
                let n = *self
                    .dimms
                    .get(id)
                    .and_then(|b| b.get(*block))
                    .with_context(|| format!("step {step}: {id} has no block #{block}"))?;
                // online_movable, not online: a block onlined into ZONE_NORMAL collects
                // unmovable slab pages and the DIMM can then never be removed.
                let cmd = format!(
                    "echo {} > /sys/devices/system/memory/memory{n}/state",
                    if on { "online_movable" } else { "offline" }
                );
                let r = vm.chan.run(&cmd, T)?;
                if r.rc != 0 {
                    bail!("step {step}: guest `{cmd}` failed ({}): {}", r.rc, r.output);
                }
                guest = json!({"guest_command": cmd, "guest_wait": [r.rc, r.output]});
                say(&format!(
                    "  memory{n} ({id} block {block}) {}",
                    if on { "online" } else { "offline" }
                ));
            }
            Action::CpuOffline(c) | Action::CpuOnline(c) => {
                let on = matches!(a, Action::CpuOnline(_));
                args = json!([c]);
                let cmd = format!(
                    "echo {} > /sys/devices/system/cpu/cpu{c}/online",
                    u8::from(on)
                );
                let r = vm.chan.run(&cmd, T)?;
                if r.rc != 0 {
                    bail!("step {step}: guest `{cmd}` failed ({}): {}", r.rc, r.output);
                }
                guest = json!({"guest_command": cmd, "guest_wait": [r.rc, r.output]});
                say(&format!(
                    "  cpu{c} {}",
                    if on { "online" } else { "offline" }
                ));
            }
        }
        let mut v =
            json!({"step": step, "action": a.kind(), "args": args, "qmp_commands": qmp_cmds});
        if let (Value::Object(m), Value::Object(g)) = (&mut v, guest) {
            m.extend(g);
        }
        Ok(v)
    }

    /// Uevents recorded in the guest since the last call, after they settle.
    fn new_uevents(&mut self) -> anyhow::Result<Vec<String>> {
        let mut last = usize::MAX;
        let mut stable = 0;
        std::thread::sleep(Duration::from_millis(500));
        for _ in 0..40 {
            let n: usize = self
                .vm
                .chan
                .ok("wc -l < /tmp/uevents.log", T)?
                .trim()
                .parse()
                .context("wc -l of the uevent log")?;
            if n == last {
                stable += 1;
                if stable >= 2 {
                    break;
                }
            } else {
                stable = 0;
                last = n;
            }
            std::thread::sleep(Duration::from_millis(300));
        }
        let out = self.vm.chan.ok(
            &format!("sed -n '{},$p' /tmp/uevents.log", self.uevent_lines + 1),
            T,
        )?;
        let lines: Vec<String> = out
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect();
        self.uevent_lines += lines.len();
        Ok(lines)
    }

    fn snapshot(&mut self, step: &str) -> anyhow::Result<SystemState> {
        let steps = self.dir.join("steps");
        let b64 = self
            .vm
            .chan
            .ok(&format!("vmlab-snap root-{step}"), Duration::from_secs(90))?;
        let tgz =
            crate::b64::decode(&b64).with_context(|| format!("step {step}: snapshot transfer"))?;
        let mut tar = Command::new("tar")
            .arg("-xzf")
            .arg("-")
            .arg("-C")
            .arg(&steps)
            .stdin(Stdio::piped())
            .spawn()
            .context("cannot run tar")?;
        tar.stdin.take().context("tar stdin")?.write_all(&tgz)?;
        let st = tar.wait()?;
        if !st.success() {
            bail!("step {step}: the guest snapshot is not a valid tar.gz ({st})");
        }
        let root = steps.join(format!("root-{step}"));
        SystemState::from_root(&root).with_context(|| {
            format!(
                "step {step}: the captured state {} is unreadable",
                root.display()
            )
        })
    }

    /// The kernel's elfcorehdr segment, read out of guest RAM by QEMU (`pmemsave`), at the start
    /// of "Crash kernel" in the captured /proc/iomem, 64 + crash_elfcorehdr_size bytes (LAB.md).
    fn kernel_header(&mut self, step: &str) -> anyhow::Result<Vec<u8>> {
        let root = self.dir.join("steps").join(format!("root-{step}"));
        let iomem = std::fs::read_to_string(root.join("proc/iomem"))?;
        let start = iomem
            .lines()
            .find(|l| l.trim_end().ends_with(": Crash kernel"))
            .and_then(|l| l.trim().split('-').next())
            .and_then(|s| u64::from_str_radix(s, 16).ok())
            .with_context(|| {
                format!("step {step}: no \"Crash kernel\" in the guest's /proc/iomem")
            })?;
        let path = self
            .dir
            .join("steps")
            .join(format!("elfcorehdr-{step}.bin"));
        let path = std::path::absolute(&path)?;
        let size: u64 = match std::fs::read_to_string(root.join("sys/kernel/crash_elfcorehdr_size"))
        {
            Ok(s) => s.trim().parse().context("crash_elfcorehdr_size")?,
            // Before crash hotplug (6.1) there is no such file: the segment is the page-aligned
            // header itself, ALIGN(64 + e_phnum * 56, 4096); read its ELF header first.
            Err(_) => {
                self.vm.qmp.execute(
                    "pmemsave",
                    json!({"val": start, "size": 64, "filename": path.display().to_string()}),
                )?;
                let h = std::fs::read(&path)?;
                let phnum = h
                    .get(56..58)
                    .map_or(0, |b| u16::from_le_bytes([b[0], b[1]]));
                (elfcorehdr::aligned_header_len(usize::from(phnum)) as u64).saturating_sub(64)
            }
        };
        self.vm.qmp.execute(
            "pmemsave",
            json!({"val": start, "size": 64 + size, "filename": path.display().to_string()}),
        )?;
        let b = std::fs::read(&path)?;
        if b.len() as u64 != 64 + size {
            bail!(
                "step {step}: pmemsave wrote {} bytes, expected {}",
                b.len(),
                64 + size
            );
        }
        Ok(b)
    }

    /// Snapshot, read the kernel's header, and run every per-step check.
    fn check(&mut self, step: &str, expect: Expect, uevents: &[String]) -> anyhow::Result<()> {
        let state = self.snapshot(step)?;
        let kernel = self.kernel_header(step)?;
        say(&format!(
            "step {step}: snapshot taken (cpus online {}, {} memory blocks), kernel elfcorehdr read from guest RAM (e_phnum {})",
            elfcorehdr::format_cpulist(state.cpus.iter().filter(|c| c.online).map(|c| c.id)),
            state.memory_blocks.len(),
            u16::from_le_bytes([kernel[56], kernel[57]])
        ));
        self.hist.record(
            "snapshot",
            json!({"step": step, "root": format!("steps/root-{step}"),
                   "elfcorehdr": format!("steps/elfcorehdr-{step}.bin"), "read_by": "qmp pmemsave"}),
        )?;
        // 1. The guest's own view: `vmcore elfcorehdr verify --live` agrees with the kernel.
        let r = self
            .vm
            .chan
            .run("vmcore elfcorehdr verify --live", Duration::from_secs(60))?;
        std::fs::write(
            self.dir.join("guest").join(format!("verify-{step}.txt")),
            &r.output,
        )?;
        match (expect, r.rc) {
            (Expect::InSync, 0) => self.pass(&format!("step {step}: guest `vmcore elfcorehdr verify --live`: {}", first_line(&r.output))),
            (Expect::Stale, 1) => self.pass(&format!("step {step}: guest `vmcore elfcorehdr verify --live` reports the stale header (exit 1): {}", r.output.lines().nth(1).unwrap_or(""))),
            (_, rc) => self.soft(Err(anyhow::anyhow!(
                "step {step}: guest `vmcore elfcorehdr verify --live` exited {rc}, expected {} ({expect:?}):\n{}",
                if expect == Expect::InSync { 0 } else { 1 },
                r.output
            )))?,
        }
        // 2. `vmcore elfcorehdr watch` (running since boot) logged every cpu/memory uevent.
        let want: Vec<(u64, String)> = uevents
            .iter()
            .filter_map(|l| Uevent::parse_record(l))
            .filter(|u| u.to_event(state.memory_block_size).is_some())
            .filter_map(|u| u.seqnum.map(|s| (s, format!("{} {}", u.action, u.devpath))))
            .collect();
        if !want.is_empty() {
            let chan = &mut self.vm.chan;
            let log = poll(
                "the guest's watch log to show the step's events",
                Duration::from_secs(20),
                || {
                    let log = chan.ok("cat /tmp/watch.log", T)?;
                    let seen: BTreeSet<u64> = log
                        .lines()
                        .filter_map(|l| l.strip_prefix("seq="))
                        .filter_map(|l| l.split_whitespace().next())
                        .filter_map(|s| s.parse().ok())
                        .collect();
                    Ok(want.iter().all(|(s, _)| seen.contains(s)).then_some(log))
                },
            )
            .with_context(|| {
                format!("step {step}: `vmcore elfcorehdr watch` missed uevents {want:?}")
            });
            let log = match log {
                Ok(l) => l,
                Err(e) => {
                    self.soft(Err(e))?;
                    String::new()
                }
            };
            for (s, what) in &want {
                let line = log
                    .lines()
                    .find(|l| l.starts_with(&format!("seq={s} ")))
                    .unwrap_or("");
                let result = line
                    .split("result=")
                    .nth(1)
                    .and_then(|r| r.split(" latency").next())
                    .unwrap_or("");
                self.pass(&format!(
                    "step {step}: guest watch logged uevent {s} ({what}): {result}"
                ));
            }
        } else {
            say(&format!(
                "step {step}: no cpu/memory uevents in this step, nothing for watch to log"
            ));
        }
        // 3. Host: the engine against the kernel's bytes (fresh build and replay).
        let r = check_step(
            &self.dir,
            step,
            expect,
            self.prev.as_ref().map(|p| p.0.as_slice()),
            self.prev.as_ref().map(|p| &p.1),
            uevents,
            self.brk,
        );
        match r {
            Ok(r) => {
                for l in r.passed {
                    self.pass(&l);
                }
            }
            Err(e) => self.soft(Err(e))?,
        }
        self.prev = Some((kernel, state));
        self.prev_step = step.to_string();
        Ok(())
    }
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

/// Run a scenario end to end.
pub fn run(o: &Options) -> anyhow::Result<()> {
    let sc = Scenario::load(&o.scenario)?;
    let brk = Break::from_env()?;
    let deadline = Instant::now() + Duration::from_secs(sc.timeout_s);
    say(&format!(
        "scenario {} ({}): {} step(s), hard timeout {} s{}",
        sc.name,
        o.scenario.display(),
        sc.steps.len(),
        sc.timeout_s,
        if brk == Break::None {
            String::new()
        } else {
            format!(", ENGINE DELIBERATELY BROKEN: {brk:?}")
        }
    ));
    if !sc.about.is_empty() {
        say(&sc.about);
    }
    if !o.vmcore.is_file() {
        bail!(
            "no vmcore binary at {} (cargo build --release -p vmcore-cli)",
            o.vmcore.display()
        );
    }
    let guest = build_guest(o, &sc)?;
    let (vmlinuz, initrd, kpkg) = (&guest.vmlinuz, &guest.initrd, &guest.kernel_pkg);
    let dir = o.out.clone();
    if dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("cannot clear {}", dir.display()))?;
    }
    for d in ["steps", "guest", "kdump"] {
        std::fs::create_dir_all(dir.join(d))?;
    }
    let dir = std::path::absolute(&dir)?;
    std::fs::copy(&o.scenario, dir.join("scenario.json"))?;
    // The module the guest loads, kept with the run: its DWARF is the oracle's --module-debug.
    if let Some(ko) = &guest.lab_crash_ko {
        std::fs::copy(ko, dir.join("guest/lab_crash.ko"))
            .with_context(|| format!("cannot copy {}", ko.display()))?;
    }
    let args = qemu_args(&sc, vmlinuz, initrd, &dir);
    std::fs::write(
        dir.join("run-config.json"),
        serde_json::to_string_pretty(&json!({
            "scenario": sc.name, "kernel_package": kpkg,
            "qemu_argv": std::iter::once("qemu-system-x86_64".to_string()).chain(args.iter().cloned()).collect::<Vec<_>>(),
            "break_engine": format!("{brk:?}"),
        }))?,
    )?;
    let mut hist = History::create(&dir.join("history.jsonl"))?;

    // Boot, retrying: multi-threaded TCG occasionally oopses at boot (LAB.md).
    let mut vm = None;
    for attempt in 1..=o.attempts {
        say(&format!(
            "guest booting (attempt {attempt}/{}): Linux {kpkg} under QEMU/TCG",
            o.attempts
        ));
        hist.record(
            "host",
            json!({"action": "qemu_start", "attempt": attempt, "argv": args}),
        )?;
        match boot(&sc, &args, &dir, deadline) {
            Ok(v) => {
                vm = Some(v);
                break;
            }
            Err(e) => {
                let _ = std::fs::rename(
                    dir.join("console.log"),
                    dir.join(format!("console-failed-boot-{attempt}.log")),
                );
                say(&format!("boot attempt {attempt} failed: {e:#}"));
                hist.record(
                    "host",
                    json!({"action": "boot_failed", "attempt": attempt, "error": format!("{e:#}")}),
                )?;
                if Instant::now() >= deadline {
                    break;
                }
            }
        }
    }
    let Some(vm) = vm else {
        bail!(
            "the guest did not boot in {} attempt(s): see {}/console-failed-boot-*.log",
            o.attempts,
            dir.display()
        );
    };
    hist.record("guest", json!({"action": "ready"}))?;
    let mut d = Driver {
        sc: &sc,
        dir: dir.clone(),
        vm,
        hist,
        dimms: HashMap::new(),
        uevent_lines: 0,
        vmcore: o.vmcore.clone(),
        brk,
        prev: None,
        prev_step: String::new(),
        passes: 0,
        failed: 0,
        workspace: o.workspace.clone(),
        kernel_pkg: kpkg.clone(),
        lab_crash_ko: guest
            .lab_crash_ko
            .as_ref()
            .map(|_| dir.join("guest/lab_crash.ko")),
    };
    let res = drive(&mut d, deadline);
    // Keep the console and the guest's logs whatever happened.
    if res.is_err() {
        if let Ok(log) = d.vm.chan.ok("cat /tmp/watch.log", Duration::from_secs(5)) {
            let _ = std::fs::write(dir.join("guest/watch.log"), log);
        }
        say(&format!(
            "console tail:\n{}",
            tail(&d.vm.qemu.console(), 20)
        ));
    }
    res?;
    if d.failed > 0 {
        bail!(
            "scenario {}: {} check(s) FAILED (VMLAB_KEEP_GOING=1 kept the run going; run folder {})",
            sc.name,
            d.failed,
            dir.display()
        );
    }
    say(&format!(
        "scenario {}: all {} checks passed (run folder {})",
        sc.name,
        d.passes,
        dir.display()
    ));
    Ok(())
}

fn drive(d: &mut Driver, deadline: Instant) -> anyhow::Result<()> {
    let _ = d.vm.qmp.take_events();
    d.check("00-boot", Expect::InSync, &[])?;
    let sc = d.sc;
    for step in &sc.steps {
        if Instant::now() >= deadline {
            bail!(
                "hard timeout ({} s) reached before step {}",
                sc.timeout_s,
                step.name
            );
        }
        say(&format!("step {}: {}", step.name, step.actions.join("; ")));
        let mut all_uevents = Vec::new();
        for a in &step.actions {
            let t0 = now();
            let act = Action::parse(a)?;
            let mut rec = d
                .act(&step.name, &act)
                .with_context(|| format!("step {}: {a}", step.name))?;
            let uev = d.new_uevents()?;
            let events = d.vm.qmp.take_events();
            if let Value::Object(m) = &mut rec {
                m.insert("t_action_start".into(), json!(t0));
                m.insert("qmp_events".into(), json!(events));
                m.insert("guest_uevents".into(), json!(uev));
            }
            for u in &uev {
                say(&format!("  uevent {u}"));
            }
            d.hist.record("action", rec)?;
            all_uevents.extend(uev);
        }
        d.check(&step.name, step.expect, &all_uevents)?;
    }
    let log = d.vm.chan.ok("cat /tmp/watch.log", T)?;
    std::fs::write(d.dir.join("guest/watch.log"), &log)?;
    let dmesg = d.vm.chan.ok("dmesg | grep 'crash hp' || true", T)?;
    std::fs::write(d.dir.join("guest/crash-hp.txt"), &dmesg)?;
    for l in dmesg.lines() {
        say(&format!("  kernel: {l}"));
    }
    crash(d, deadline)
}

fn crash(d: &mut Driver, deadline: Instant) -> anyhow::Result<()> {
    let last_online: Vec<u32> = d
        .prev
        .as_ref()
        .map(|p| p.1.cpus.iter().filter(|c| c.online).map(|c| c.id).collect())
        .unwrap_or_default();
    match d.sc.crash.trigger {
        Trigger::Sysrq => {
            say("crash: echo c > /proc/sysrq-trigger");
            d.hist.record("crash", json!({"action": "sysrq_crash"}))?;
            d.vm.chan.fire("echo c > /proc/sysrq-trigger")?;
        }
        Trigger::LabCrashBug => crate::modcrash::trigger(&mut d.vm.chan, &mut d.hist, d.sc)?,
    }
    let kd = deadline.min(Instant::now() + Duration::from_secs(240));
    let start =
        d.vm.qemu
            .wait_console("@@KDUMP start", &[], kd)
            .context("the crash kernel did not start")?;
    say(&format!("crash kernel booted: {start}"));
    let done =
        d.vm.qemu
            .wait_console("@@KDUMP done", &[], kd)
            .context("the crash kernel did not finish saving the dump")?;
    let con = d.vm.qemu.console();
    for l in con.lines().filter(|l| l.starts_with("@@OUT")) {
        say(&format!("crash kernel saved: {l}"));
    }
    say(&format!("crash kernel: {done}"));
    d.vm.qemu
        .wait_exit(Instant::now() + Duration::from_secs(60))?;
    d.hist.record("host", json!({"action": "qemu_exit"}))?;
    let outs: Vec<(String, String, u64, String)> = con
        .lines()
        .filter_map(|l| l.strip_prefix("@@OUT "))
        .map(|l| {
            let kv: HashMap<&str, &str> = l
                .split_whitespace()
                .filter_map(|w| w.split_once('='))
                .collect();
            (
                kv.get("name").unwrap_or(&"").to_string(),
                kv.get("disk").unwrap_or(&"").to_string(),
                kv.get("size").and_then(|s| s.parse().ok()).unwrap_or(0),
                kv.get("rc").unwrap_or(&"?").to_string(),
            )
        })
        .collect();
    let files = [
        ("vmcore-raw", "vmcore-raw.elf"),
        ("makedumpfile-c-d31", "makedumpfile-c-d31.kdump"),
        ("dump-dmesg", "dmesg-makedumpfile.txt"),
    ];
    for (name, file) in files {
        let Some((_, disk, size, rc)) = outs.iter().find(|o| o.0 == name) else {
            bail!("crash kernel reported no output {name} (console @@OUT lines missing)");
        };
        if rc != "0" || *size == 0 {
            bail!("crash kernel: {name} failed (rc={rc}, size={size})");
        }
        let src = d.dir.join(format!("disk-{disk}.raw"));
        let mut f = std::fs::File::open(&src)?.take(*size);
        let mut w = std::fs::File::create(d.dir.join("kdump").join(file))?;
        std::io::copy(&mut f, &mut w)?;
    }
    for (disk, _) in crate::machine::DISKS {
        let _ = std::fs::remove_file(d.dir.join(format!("disk-{disk}.raw")));
    }
    check_dumps(d, &last_online)
}

fn vmcore_cmd(bin: &Path, args: &[&str]) -> anyhow::Result<(i32, String, String)> {
    let out = Command::new(bin)
        .args(args)
        .output()
        .with_context(|| format!("cannot run {}", bin.display()))?;
    Ok((
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

fn check_dumps(d: &mut Driver, last_online: &[u32]) -> anyhow::Result<()> {
    let kd = d.dir.join("kdump");
    let expect_cpus: Vec<u32> =
        d.sc.crash
            .online_cpus
            .clone()
            .unwrap_or_else(|| last_online.to_vec());
    if d.sc
        .crash
        .online_cpus
        .as_deref()
        .is_some_and(|c| c != last_online)
    {
        bail!(
            "crash: the scenario expects CPUs {expect_cpus:?} online at the crash, the guest had {last_online:?}"
        );
    }
    // The kernel's own line for the trigger: it must be in both kernel logs.
    let marker = match d.sc.crash.trigger {
        Trigger::Sysrq => "sysrq: Trigger a crash",
        Trigger::LabCrashBug => crate::modcrash::DMESG_MARKER,
    };
    let mdf_dmesg = std::fs::read_to_string(kd.join("dmesg-makedumpfile.txt")).unwrap_or_default();
    if !mdf_dmesg.contains(marker) {
        bail!("crash: makedumpfile --dump-dmesg output lacks {marker:?}");
    }
    for file in ["vmcore-raw.elf", "makedumpfile-c-d31.kdump"] {
        check_dump_file(d, &kd.join(file), file, &expect_cpus, &mdf_dmesg, marker)?;
    }
    // drgn with the kernel's debug vmlinux on the raw dump (opt-in: a 1 GB download and pip's
    // drgn; makedumpfile's twin lacks pages drgn's task walk needs).
    if std::env::var_os("VMLAB_DRGN").is_some_and(|v| v == "1") {
        let raw = kd.join("vmcore-raw.elf");
        let lines = crate::modcrash::drgn_check(
            &d.vmcore,
            &d.workspace,
            &raw,
            &d.kernel_pkg,
            d.lab_crash_ko.as_deref(),
        )
        .context("crash: drgn oracle on vmcore-raw.elf")?;
        for l in lines {
            d.pass(&format!("dump vmcore-raw.elf: {l}"));
        }
    }
    check_history_findings(d, &kd)
}

/// `vmcore info`, `cpus` and `dmesg` on one dump of the crash: the panic (or, for a crash in
/// `lab_crash`, the crash site), one register context per CPU online at the crash, the
/// trigger's `marker` line and every `crash hp:` line makedumpfile shows; for `lab_crash`, the
/// module frames (`modcrash::check_dump`).
fn check_dump_file(
    d: &mut Driver,
    path: &Path,
    file: &str,
    expect_cpus: &[u32],
    mdf_dmesg: &str,
    marker: &str,
) -> anyhow::Result<()> {
    let ps = path.display().to_string();
    let (rc, out, err) = vmcore_cmd(&d.vmcore, &["info", &ps])?;
    if rc > 1 {
        bail!("crash: `vmcore info {file}` failed ({rc}): {err}");
    }
    // sysrq panics; an oops with panic_on_oops goes to crash_kexec before panic() could
    // log a "Kernel panic" line, so there the crash site is what `info` must name.
    let (key, want) = match d.sc.crash.trigger {
        Trigger::Sysrq => ("panic:", "sysrq triggered crash"),
        Trigger::LabCrashBug => ("crashed:", "lab_crash_bug+"),
    };
    let panic = out
        .lines()
        .find(|l| l.starts_with(key))
        .unwrap_or("")
        .trim()
        .to_string();
    if !panic.contains(want) {
        bail!("crash: `vmcore info {file}` has no {key:?} line with {want:?}: {out}");
    }
    d.pass(&format!("dump {file}: `vmcore info` ok ({panic})"));
    let (rc, out, err) = vmcore_cmd(&d.vmcore, &["cpus", "--json", &ps])?;
    if rc > 1 {
        bail!("crash: `vmcore cpus {file}` failed ({rc}): {err}");
    }
    let v: Value = serde_json::from_str(&out).context("vmcore cpus --json")?;
    let with_ctx = v["cpus"]
        .as_array()
        .map_or(0, |c| c.iter().filter(|c| c["has_context"] == true).count());
    if with_ctx != expect_cpus.len() {
        bail!(
            "crash: `vmcore cpus {file}`: {with_ctx} CPU(s) with a register context, expected {} (online at the crash: {expect_cpus:?}; an offline CPU has no context)",
            expect_cpus.len()
        );
    }
    d.pass(&format!(
        "dump {file}: `vmcore cpus`: {with_ctx} register contexts = CPUs online at the crash {expect_cpus:?}"
    ));
    let (rc, out, err) = vmcore_cmd(&d.vmcore, &["dmesg", &ps])?;
    if rc > 1 || !out.contains(marker) {
        bail!("crash: `vmcore dmesg {file}` ({rc}) lacks {marker:?}: {err}");
    }
    // The kernel log our decoder reads must hold every line makedumpfile's does (the crash
    // hotplug decisions included).
    let missing = mdf_dmesg
        .lines()
        .filter(|l| l.contains("crash hp:"))
        .filter(|l| !out.contains(l.trim()))
        .count();
    if missing > 0 {
        bail!(
            "crash: `vmcore dmesg {file}` misses {missing} `crash hp:` line(s) makedumpfile --dump-dmesg has"
        );
    }
    d.pass(&format!(
        "dump {file}: `vmcore dmesg` has {marker:?} and every `crash hp:` line makedumpfile shows ({} lines)",
        out.lines().count()
    ));
    if d.sc.crash.trigger == Trigger::LabCrashBug {
        for l in crate::modcrash::check_dump(&d.vmcore, path, d.sc)? {
            d.pass(&format!("dump {file}: {l}"));
        }
    }
    Ok(())
}

/// `vmcore check --history` on both dumps: the raw /proc/vmcore must show exactly the
/// scenario's predicted finding codes; makedumpfile's copy is reported, not judged.
fn check_history_findings(d: &mut Driver, kd: &Path) -> anyhow::Result<()> {
    // `vmcore check --history` is being written by another engineer: run it when the binary
    // has it, and say loudly when it does not (the predicted findings are then unchecked).
    let (rc, _, _) = vmcore_cmd(&d.vmcore, &["check", "--help"])?;
    if rc != 0 {
        say(
            "PENDING `vmcore check --history` is not in this vmcore build yet: the scenario's check_codes are NOT verified",
        );
        if !d.sc.crash.check_codes.is_empty() {
            say(&format!(
                "PENDING expected check codes: {:?}",
                d.sc.crash.check_codes
            ));
        }
        return Ok(());
    }
    // The start topology is the boot snapshot (boot-time uevents are not in the history), the
    // events are the run's, and the last snapshot names each register note's CPU.
    let last = d.prev_step.clone();
    let hist = d.dir.join("history.jsonl").display().to_string();
    let boot = d.dir.join("steps/root-00-boot").display().to_string();
    let state = d
        .dir
        .join(format!("steps/root-{last}"))
        .display()
        .to_string();
    let mut want: Vec<String> = d.sc.crash.check_codes.clone();
    want.sort();
    want.dedup();
    for file in ["vmcore-raw.elf", "makedumpfile-c-d31.kdump"] {
        let p = kd.join(file).display().to_string();
        let args = [
            "check",
            &p,
            "--history",
            &boot,
            "--history",
            &hist,
            "--state",
            &state,
            "--format",
            "json",
        ];
        let (rc, out, err) = vmcore_cmd(&d.vmcore, &args)?;
        std::fs::write(kd.join(format!("check-{file}.json")), &out)?;
        if rc > 1 {
            bail!("crash: `vmcore {}` failed ({rc}): {err}", args.join(" "));
        }
        let v: Value = serde_json::from_str(&out).context("vmcore check --format json")?;
        let mut got: Vec<String> = v["dumps"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|dump| dump["checks"].as_array().cloned().unwrap_or_default())
            .flat_map(|c| c["findings"].as_array().cloned().unwrap_or_default())
            .filter(|f| f["severity"] == "error" || f["severity"] == "warning")
            .map(|f| f["code"].as_str().unwrap_or("?").to_string())
            .collect();
        // Kinds of finding, not counts: a 2-block DIMM gives one HP005 per block.
        got.sort();
        got.dedup();
        // The raw /proc/vmcore is the kernel's own view: it must show exactly the predicted
        // findings. makedumpfile's copy is reported, not judged (it filters pages).
        if file == "vmcore-raw.elf" {
            if got != want {
                bail!(
                    "crash: `vmcore check --history` on {file} reports {got:?}, the scenario predicts {want:?}:\n{out}"
                );
            }
            d.pass(&format!(
                "dump {file}: `vmcore check --history` reports exactly the predicted findings {want:?}"
            ));
        } else {
            say(&format!(
                "dump {file}: `vmcore check --history` reports {got:?} (exit {rc}; not judged)"
            ));
        }
    }
    Ok(())
}
