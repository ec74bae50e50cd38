//! The `lab-crash-bug` trigger: a BUG() inside a module (`tools/vmlab/lab_crash`, LKDTM's
//! interface), with CPUs pinned busy in user space and in the kernel, and the checks that the
//! dumps show it: the crashing CPU's trace runs from the module's frames down to the syscall
//! entry, the user-mode CPU is reported as such, the kernel-busy CPU is stopped in kernel text,
//! the module is listed and its symbols resolve.
//!
//! The checks work on the JSON our `vmcore` prints ([`check_bt`], [`check_modules`]), so they
//! can be tested without a VM.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::{Value, json};

use crate::chan::Chan;
use crate::history::History;
use crate::run::say;
use crate::scenario::Scenario;

/// The module's own log line before its BUG(): in the kernel log of every dump of this trigger.
pub const DMESG_MARKER: &str = "lab_crash: BUG requested";

/// The module's name as `/proc/modules` and `vmcore modules` list it.
pub const MODULE: &str = "lab_crash";

/// The crashing CPU's first frames, innermost first: the BUG() site and its two callers in the
/// module, then the debugfs write path in vmlinux.
pub const CRASH_PATH: [(&str, Option<&str>); 5] = [
    ("lab_crash_bug", Some(MODULE)),
    ("lab_crash_dispatch", Some(MODULE)),
    ("direct_write", Some(MODULE)),
    ("full_proxy_write", None),
    ("vfs_write", None),
];

const T: Duration = Duration::from_secs(30);

/// `/proc/PID/stat` → (state, processor): fields 3 and 39, counted after the `(comm)`.
pub fn stat_state_cpu(stat: &str) -> Option<(char, u32)> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some((f.first()?.chars().next()?, f.get(36)?.parse().ok()?))
}

/// Load the module, set `kernel.panic_on_oops=1`, start the pinned spinners, check each runs on
/// its CPU, and write `BUG` to `provoke-crash/DIRECT` (the command never answers).
pub fn trigger(chan: &mut Chan, hist: &mut History, sc: &Scenario) -> anyhow::Result<()> {
    let c = &sc.crash;
    let m = chan
        .ok(
            &format!("insmod /lib/modules/{MODULE}.ko && grep '^{MODULE} ' /proc/modules"),
            T,
        )
        .context("crash: cannot load lab_crash.ko in the guest")?;
    say(&format!("crash: module loaded: {}", m.trim()));
    chan.ok("echo 1 > /proc/sys/kernel/panic_on_oops", T)?;
    let mut spinners = Vec::new();
    let jobs = c
        .user_spin_cpus
        .iter()
        .map(|&n| (n, "user", "sh -c 'while :; do :; done'"))
        .chain(
            c.kernel_spin_cpus
                .iter()
                .map(|&n| (n, "kernel", "dd if=/dev/zero of=/dev/null bs=1M")),
        );
    for (cpu, kind, cmd) in jobs {
        let out = chan.ok(
            &format!("taskset -c {cpu} {cmd} </dev/null >/dev/null 2>&1 & echo $!"),
            T,
        )?;
        let pid: u32 = out
            .trim()
            .parse()
            .with_context(|| format!("crash: spinner pid {out:?}"))?;
        spinners.push((cpu, kind, cmd, pid));
    }
    // Let them settle on their CPUs, then check: running, where they were pinned.
    std::thread::sleep(Duration::from_secs(2));
    let mut seen = Vec::new();
    for &(cpu, kind, cmd, pid) in &spinners {
        let stat = chan.ok(&format!("cat /proc/{pid}/stat"), T)?;
        let (state, on) = stat_state_cpu(&stat)
            .with_context(|| format!("crash: cannot read /proc/{pid}/stat: {stat:?}"))?;
        if state != 'R' || on != cpu {
            bail!(
                "crash: the {kind} spinner `{cmd}` (pid {pid}) is in state {state} on CPU {on}, expected running on CPU {cpu}"
            );
        }
        say(&format!(
            "crash: cpu{cpu} busy in {kind} space: `{cmd}` pid {pid} (state R)"
        ));
        seen.push(json!({"cpu": cpu, "kind": kind, "command": cmd, "pid": pid}));
    }
    let write = "echo BUG > /sys/kernel/debug/provoke-crash/DIRECT";
    let cmd = match c.crash_cpu {
        Some(n) => format!("taskset -c {n} sh -c '{write}'"),
        None => write.to_string(),
    };
    say(&format!(
        "crash: kernel.panic_on_oops=1; {cmd} (BUG() inside {MODULE})"
    ));
    hist.record(
        "crash",
        json!({"action": "lab_crash_bug", "command": cmd, "module": m.trim(), "spinners": seen}),
    )?;
    chan.fire(&cmd)
}

fn vmcore_json(bin: &Path, args: &[&str]) -> anyhow::Result<Value> {
    let out = Command::new(bin)
        .args(args)
        .output()
        .with_context(|| format!("cannot run {}", bin.display()))?;
    // Exit 1 = findings (e.g. a trace that ended early); the checks below judge the content.
    if out.status.code().is_none_or(|c| c > 1) {
        bail!(
            "`vmcore {}` failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    serde_json::from_slice(&out.stdout).with_context(|| format!("`vmcore {}`", args.join(" ")))
}

/// Run `vmcore bt --all --json`, `modules --json` and `sym lab_crash_bug` on `dump`, saving
/// their outputs next to it, and check them. Returns the passed checks.
pub fn check_dump(bin: &Path, dump: &Path, sc: &Scenario) -> anyhow::Result<Vec<String>> {
    let ps = dump.display().to_string();
    let stem = dump
        .file_name()
        .map_or_else(String::new, |f| f.to_string_lossy().into_owned());
    let dir = dump.parent().unwrap_or(Path::new("."));
    let bt = vmcore_json(bin, &["bt", "--all", "--json", &ps])?;
    std::fs::write(
        dir.join(format!("bt-{stem}.json")),
        serde_json::to_string_pretty(&bt)?,
    )?;
    let mut passed = check_bt(&bt, sc)?;
    let mods = vmcore_json(bin, &["modules", "--json", &ps])?;
    std::fs::write(
        dir.join(format!("modules-{stem}.json")),
        serde_json::to_string_pretty(&mods)?,
    )?;
    passed.push(check_modules(&mods, &bt)?);
    let out = Command::new(bin)
        .args(["sym", "lab_crash_bug", &ps])
        .output()
        .context("vmcore sym")?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    passed.push(check_sym(out.status.code(), &text, &bt)?);
    Ok(passed)
}

fn frames(cpu: &Value) -> &[Value] {
    cpu["frames"].as_array().map_or(&[], Vec::as_slice)
}

fn hex(v: &Value) -> Option<u64> {
    u64::from_str_radix(v.as_str()?.strip_prefix("0x")?, 16).ok()
}

fn describe(f: &Value) -> String {
    format!(
        "{}+{:#x}{}",
        f["symbol"].as_str().unwrap_or("?"),
        f["offset"].as_u64().unwrap_or(0),
        f["module"]
            .as_str()
            .map_or(String::new(), |m| format!(" [{m}]"))
    )
}

/// The crashed CPU of `vmcore bt --all --json`, or an error.
fn crashed_cpu(bt: &Value) -> anyhow::Result<&Value> {
    bt["cpus"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["crashed"] == true)
        .context("`vmcore bt --all` marks no CPU as crashed")
}

/// The backtraces: the crashed CPU runs from the module's BUG() site to the syscall entry, the
/// user spinners are in user mode, the kernel spinners in kernel text.
pub fn check_bt(bt: &Value, sc: &Scenario) -> anyhow::Result<Vec<String>> {
    let c = &sc.crash;
    let mut passed = Vec::new();
    let crashed = crashed_cpu(bt)?;
    let n = crashed["cpu"].as_u64();
    if let Some(want) = c.crash_cpu
        && n != Some(u64::from(want))
    {
        bail!("`vmcore bt --all`: CPU {n:?} crashed, the BUG was written on CPU {want}");
    }
    let fr = frames(crashed);
    let trace: Vec<String> = fr.iter().map(describe).collect();
    for (i, (sym, module)) in CRASH_PATH.iter().enumerate() {
        let f = fr.get(i).with_context(|| {
            format!(
                "`vmcore bt`: crashed CPU {n:?} has {} frames: {trace:?}",
                fr.len()
            )
        })?;
        if f["symbol"].as_str() != Some(sym) || f["module"].as_str() != *module {
            bail!(
                "`vmcore bt`: crashed CPU {n:?} frame #{i} is {}, expected {sym}{}; trace {trace:?}",
                describe(f),
                module.map_or(String::new(), |m| format!(" [{m}]"))
            );
        }
    }
    // The last kernel frame is the syscall entry; the trace ends at the user-mode boundary.
    let last_kernel = fr
        .iter()
        .rev()
        .find(|f| f["kind"] != "user")
        .context("no kernel frame")?;
    if !last_kernel["symbol"]
        .as_str()
        .is_some_and(|s| s.starts_with("entry_SYSCALL_64"))
    {
        bail!(
            "`vmcore bt`: crashed CPU {n:?}: last kernel frame is {}, expected entry_SYSCALL_64*; trace {trace:?}",
            describe(last_kernel)
        );
    }
    if crashed["stop"]["complete"] != true {
        bail!(
            "`vmcore bt`: crashed CPU {n:?}: the trace ended early: {}",
            crashed["stop"]["message"]
        );
    }
    passed.push(format!(
        "`vmcore bt --all`: CPU {} crashed in the module: {} … {} ({} frames)",
        n.unwrap_or(u64::MAX),
        trace[..3].join(" ← "),
        describe(last_kernel),
        fr.len()
    ));
    let cpu = |want: u32| {
        bt["cpus"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["cpu"].as_u64() == Some(u64::from(want)))
            .with_context(|| format!("`vmcore bt --all` has no CPU {want}"))
    };
    // A user-space spinner is stopped by the crash NMI in user mode, or, less often, in the
    // kernel while it handles an interrupt taken from user mode (a timer tick): then its trace
    // is that interrupt's entry (the last kernel frame an `asm_*` entry stub) down to the user
    // frame. Anything else (a syscall, a trace that does not reach user mode) is wrong.
    for &u in &c.user_spin_cpus {
        let e = cpu(u)?;
        let fr = frames(e);
        let f0 = fr.first().context("no frames")?;
        let last = fr.last().context("no frames")?;
        let entry = fr.iter().rev().nth(1);
        let via_irq = f0["kind"] != "user"
            && entry.is_some_and(|f| f["symbol"].as_str().is_some_and(|s| s.starts_with("asm_")));
        if last["kind"] != "user"
            || e["stop"]["reason"] != "user_mode"
            || (f0["kind"] != "user" && !via_irq)
        {
            bail!(
                "`vmcore bt`: CPU {u} spun in user space, its trace starts with a {} frame {} and ends with {} ({})",
                f0["kind"],
                describe(f0),
                describe(last),
                e["stop"]["message"]
            );
        }
        passed.push(if via_irq {
            format!(
                "`vmcore bt --all`: CPU {u} (user-space spinner) was in an interrupt taken from user mode: {} … {}, then user mode at {}",
                describe(f0),
                describe(entry.unwrap_or(f0)),
                last["pc"].as_str().unwrap_or("?")
            )
        } else {
            format!(
                "`vmcore bt --all`: CPU {u} (user-space spinner) is reported in user mode at {}",
                f0["pc"].as_str().unwrap_or("?")
            )
        });
    }
    for &k in &c.kernel_spin_cpus {
        let e = cpu(k)?;
        let fr = frames(e);
        let f0 = fr.first().context("no frames")?;
        if f0["area"] != "kernel" || f0["symbol"].is_null() || e["stop"]["complete"] != true {
            bail!(
                "`vmcore bt`: CPU {k} ran dd in the kernel, its trace starts at {} ({}), stop: {}",
                describe(f0),
                f0["area"],
                e["stop"]["message"]
            );
        }
        passed.push(format!(
            "`vmcore bt --all`: CPU {k} (dd in the kernel) stopped in {} ({} frames, complete)",
            describe(f0),
            fr.len()
        ));
    }
    Ok(passed)
}

/// `vmcore modules --json` lists the module, and its text holds the crashing pc.
pub fn check_modules(mods: &Value, bt: &Value) -> anyhow::Result<String> {
    let m = mods["modules"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|m| m["name"] == MODULE)
        .with_context(|| format!("`vmcore modules` does not list {MODULE}"))?;
    let base = hex(&m["text_base"]).context("text_base")?;
    let size = m["text_size"].as_u64().context("text_size")?;
    let pc = frames(crashed_cpu(bt)?)
        .first()
        .and_then(|f| hex(&f["pc"]))
        .context("crashed CPU's pc")?;
    if !(base..base.saturating_add(size)).contains(&pc) {
        bail!(
            "`vmcore modules`: {MODULE} text {base:#x}+{size:#x} does not hold the crashing pc {pc:#x}"
        );
    }
    Ok(format!(
        "`vmcore modules`: {MODULE} at {base:#x} ({size} bytes) holds the crashing pc {pc:#x}; {} modules",
        mods["modules"].as_array().map_or(0, Vec::len)
    ))
}

/// `vmcore sym lab_crash_bug` gives the address the crashing frame's symbol starts at.
pub fn check_sym(rc: Option<i32>, out: &str, bt: &Value) -> anyhow::Result<String> {
    let f0 = frames(crashed_cpu(bt)?)
        .first()
        .context("crashed CPU has no frames")?;
    let start = hex(&f0["pc"])
        .zip(f0["offset"].as_u64())
        .and_then(|(pc, off)| pc.checked_sub(off))
        .context("crashed frame has no pc/offset")?;
    // `ADDR KIND NAME\t[MODULE]`, as /proc/kallsyms prints a module symbol.
    let addr = format!("{start:016x} ");
    let tail = format!(" lab_crash_bug\t[{MODULE}]");
    let line = out
        .lines()
        .map(str::trim_end)
        .find(|l| l.starts_with(&addr) && l.ends_with(&tail));
    match (rc, line) {
        (Some(0), Some(l)) => Ok(format!(
            "`vmcore sym lab_crash_bug`: {l} (the crashing frame's function)"
        )),
        _ => bail!(
            "`vmcore sym lab_crash_bug` (exit {rc:?}) printed {out:?}, expected `{addr}t{tail}`"
        ),
    }
}

/// The kernel release a Debian kernel package is for (`linux-image-6.12.111+deb12-amd64-unsigned`
/// → `6.12.111+deb12-amd64`; the version after a space is ignored).
pub fn kernel_release(package: &str) -> Option<String> {
    let p = package.split_whitespace().next()?;
    let r = p.strip_prefix("linux-image-")?;
    Some(r.strip_suffix("-unsigned").unwrap_or(r).to_string())
}

/// drgn 0.3.0 with the kernel's debug vmlinux (and the module's DWARF) on `dump`, against our
/// `bt --all --json`, `ps --json` and `modules --json` of it (`VMLAB_DRGN=1`). The debug
/// vmlinux is `VMLAB_DEBUG_VMLINUX`, else scripts/vm-dbg.sh downloads Debian's `-dbg` package
/// (about 1 GB, cached in target/vmlab). The oracle is saved as `kdump/drgn-<dump>.json`.
pub fn drgn_check(
    bin: &Path,
    workspace: &Path,
    dump: &Path,
    kernel_package: &str,
    module_debug: Option<&Path>,
) -> anyhow::Result<Vec<String>> {
    let vmlinux = match std::env::var_os("VMLAB_DEBUG_VMLINUX") {
        Some(v) => std::path::PathBuf::from(v),
        None => {
            let krel = kernel_release(kernel_package).with_context(|| {
                format!("VMLAB_DRGN=1: cannot tell the kernel release of {kernel_package:?}")
            })?;
            let out = Command::new("bash")
                .arg(workspace.join("scripts/vm-dbg.sh"))
                .arg(&krel)
                .stderr(std::process::Stdio::inherit())
                .output()
                .context("cannot run scripts/vm-dbg.sh")?;
            if !out.status.success() {
                bail!("scripts/vm-dbg.sh {krel} failed ({})", out.status);
            }
            let text = String::from_utf8_lossy(&out.stdout);
            std::path::PathBuf::from(text.lines().last().unwrap_or("").trim())
        }
    };
    let stem = dump
        .file_name()
        .map_or_else(String::new, |f| f.to_string_lossy().into_owned());
    let out_json = dump
        .parent()
        .unwrap_or(Path::new("."))
        .join(format!("drgn-{stem}.json"));
    let mut cmd = Command::new("python3");
    cmd.arg(workspace.join("scripts/drgn_crash_oracle.py"))
        .arg(dump)
        .arg(&out_json)
        .arg("--vmlinux")
        .arg(&vmlinux);
    if let Some(ko) = module_debug {
        cmd.arg("--module-debug").arg(ko);
    }
    let out = cmd
        .output()
        .context("cannot run python3 (VMLAB_DRGN=1 needs drgn 0.3.0: pip install drgn)")?;
    if !out.status.success() {
        bail!(
            "drgn oracle failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let oracle: Value = serde_json::from_slice(&std::fs::read(&out_json)?)
        .with_context(|| format!("{}", out_json.display()))?;
    let ps = dump.display().to_string();
    let bt = vmcore_json(bin, &["bt", "--all", "--json", &ps])?;
    let tasks = vmcore_json(bin, &["ps", "--json", &ps])?;
    let mods = vmcore_json(bin, &["modules", "--json", &ps])?;
    drgn_compare(&oracle, &bt, &tasks, &mods)
}

/// Our JSON against drgn's oracle: every CPU's frames (pc, symbol, offset, module,
/// interrupted) and task, every task (pid, tgid, comm, state, cpu; idle tasks are not in
/// drgn's list) and every module (name, text base and size). A difference is an error naming
/// the first one; nothing to compare is an error too.
pub fn drgn_compare(
    oracle: &Value,
    bt: &Value,
    ps: &Value,
    mods: &Value,
) -> anyhow::Result<Vec<String>> {
    let mut passed = Vec::new();
    let cpus = oracle["cpus"].as_array().filter(|c| !c.is_empty());
    let Some(cpus) = cpus else {
        bail!("drgn oracle lists no CPUs: nothing to compare");
    };
    let mut compared = 0;
    for want in cpus {
        let n = &want["cpu"];
        let got = bt["cpus"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| &c["cpu"] == n)
            .with_context(|| format!("`vmcore bt --all` has no CPU {n} (drgn has)"))?;
        let ours: Vec<(Option<u64>, Value, Value, Value, Value)> = frames(got)
            .iter()
            .map(|f| {
                (
                    hex(&f["pc"]),
                    f["symbol"].clone(),
                    f["offset"].clone(),
                    f["module"].clone(),
                    f["interrupted"].clone(),
                )
            })
            .collect();
        let theirs: Vec<(Option<u64>, Value, Value, Value, Value)> = want["frames"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|f| {
                (
                    f["pc"].as_u64(),
                    f["symbol"].clone(),
                    f.get("offset").cloned().unwrap_or(Value::Null),
                    f.get("module").cloned().unwrap_or(Value::Null),
                    f["interrupted"].clone(),
                )
            })
            .collect();
        if let Some(i) = (0..ours.len().max(theirs.len())).find(|&i| ours.get(i) != theirs.get(i)) {
            bail!(
                "CPU {n}: frame #{i} differs from drgn's: ours {:?}, drgn {:?} ({} vs {} frames)",
                ours.get(i),
                theirs.get(i),
                ours.len(),
                theirs.len()
            );
        }
        if got["pid"] != want["pid"] {
            bail!(
                "CPU {n}: pid {} in our trace, drgn {}",
                got["pid"],
                want["pid"]
            );
        }
        compared += theirs.len();
    }
    passed.push(format!(
        "drgn: every frame of the {} CPUs equals ours ({compared} frames: pc, symbol, offset, module, interrupted)",
        cpus.len()
    ));
    let key = |t: &Value| {
        (
            t["pid"].as_i64(),
            t["tgid"].as_i64(),
            t["comm"].as_str().map(str::to_string),
            t["state"].as_str().map(str::to_string),
            t["cpu"].as_i64(),
        )
    };
    let mut ours: Vec<_> = ps["tasks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| t["idle"] != true)
        .map(key)
        .collect();
    let mut theirs: Vec<_> = oracle["tasks"]
        .as_array()
        .into_iter()
        .flatten()
        .map(key)
        .collect();
    ours.sort();
    theirs.sort();
    if theirs.is_empty() || ours != theirs {
        let only_ours: Vec<_> = ours
            .iter()
            .filter(|t| !theirs.contains(t))
            .take(5)
            .collect();
        let only_drgn: Vec<_> = theirs
            .iter()
            .filter(|t| !ours.contains(t))
            .take(5)
            .collect();
        bail!(
            "tasks differ from drgn's ({} ours, {} drgn): only ours {only_ours:?}, only drgn {only_drgn:?}",
            ours.len(),
            theirs.len()
        );
    }
    passed.push(format!(
        "drgn: the {} tasks equal ours (pid, tgid, comm, state, cpu)",
        theirs.len()
    ));
    let mut ours: Vec<_> = mods["modules"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| {
            (
                m["name"].as_str().map(str::to_string),
                hex(&m["text_base"]),
                m["text_size"].as_u64(),
            )
        })
        .collect();
    let mut theirs: Vec<_> = oracle["modules"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| {
            (
                m["name"].as_str().map(str::to_string),
                m["text_base"].as_u64(),
                m["text_size"].as_u64(),
            )
        })
        .collect();
    ours.sort();
    theirs.sort();
    if ours != theirs {
        bail!("modules differ from drgn's: ours {ours:?}, drgn {theirs:?}");
    }
    passed.push(format!(
        "drgn: the {} modules equal ours (name, text base, size)",
        theirs.len()
    ));
    Ok(passed)
}

#[cfg(test)]
mod tests;
