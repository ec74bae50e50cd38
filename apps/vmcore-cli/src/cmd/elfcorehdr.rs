//! `vmcore elfcorehdr`: show, build, update and verify kdump elfcorehdrs, and watch hotplug.
//!
//! Thin over the `elfcorehdr` crate: the engine, the state reader, the kcore reader and the
//! uevent parsing all live there.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use elfcorehdr::live::{Uevent, UeventSocket, read_live_header};
use elfcorehdr::{
    Decision, Elfcorehdr, Event, Finding, KernelConfig, LoadMode, Severity, SystemState, Updater,
    build, decide, file,
};
use serde_json::json;

use crate::Outcome;

/// Subcommands of `vmcore elfcorehdr`.
#[derive(Debug, clap::Subcommand)]
pub enum ElfcorehdrCmd {
    /// Decode a raw elfcorehdr (a kexec segment: p_offset is a physical address).
    Show {
        /// The header file (e.g. a saved segment, or `build` output).
        file: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Build the header Linux 6.12 would build for a machine, padded to the reserved segment.
    Build {
        /// procfs/sysfs root to read the machine from (`/` live, as root).
        #[arg(long)]
        root: PathBuf,
        /// Output file (replaced atomically).
        #[arg(short = 'o', long)]
        output: PathBuf,
        /// Segment size in bytes (default: crash_elfcorehdr_size + 64 from the root, else
        /// 917680, Debian 6.12 MAXSMP).
        #[arg(long, value_parser = super::parse_u64)]
        capacity: Option<u64>,
    },
    /// Apply one hotplug event to a header file the way the kernel does (atomic replace).
    Update {
        /// The header file (the whole segment).
        file: PathBuf,
        /// procfs/sysfs root with the state *after* the event.
        #[arg(long)]
        root: PathBuf,
        /// The event: memory-online:START-END (inclusive), memory-offline:…, memory-add:…,
        /// memory-remove:…, memoryN instead of a range, cpu-online:N, cpu-offline:N,
        /// cpu-add:N, cpu-remove:N.
        #[arg(long)]
        event: String,
        /// The image was loaded with kexec_load and the kernel has not rewritten the header
        /// yet (CPU events then regenerate once).
        #[arg(long)]
        kexec_load: bool,
        /// Replace the file even when it is read-only (no write permission bit).
        #[arg(long)]
        force: bool,
    },
    /// Differences between a header and a machine's state (exit 1 if any).
    Verify {
        /// The header file. Omit with --live.
        file: Option<PathBuf>,
        /// procfs/sysfs root of the machine (default `/`).
        #[arg(long)]
        root: Option<PathBuf>,
        /// Verify the header the running kernel holds (read through /proc/kcore; root only).
        #[arg(long, conflicts_with = "file")]
        live: bool,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Follow CPU and memory uevents; after each, verify the live header (or update --target)
    /// and log event, decision, result and latency, one line per event.
    Watch {
        /// Keep this header file up to date instead of verifying the live kernel's.
        #[arg(long)]
        target: Option<PathBuf>,
        /// Shell command to run when the kernel's header is stale (env VMCORE_EVENT and
        /// VMCORE_FINDINGS are set).
        #[arg(long)]
        on_stale: Option<String>,
        /// Read recorded uevents instead of listening: lines `SEQNUM ACTION DEVPATH SUBSYSTEM
        /// uptime`, or history.jsonl lines with `guest_uevents`.
        #[arg(long)]
        replay: Option<PathBuf>,
        /// procfs/sysfs root (default `/`).
        #[arg(long, default_value = "/")]
        root: PathBuf,
        /// Stop after this many cpu/memory events (live mode).
        #[arg(long)]
        count: Option<u64>,
    },
}

/// Run one `elfcorehdr` subcommand.
pub fn run(cmd: &ElfcorehdrCmd, out: &mut dyn Write) -> anyhow::Result<Outcome> {
    match cmd {
        ElfcorehdrCmd::Show { file, json } => show(file, *json, out),
        ElfcorehdrCmd::Build {
            root,
            output,
            capacity,
        } => build_cmd(root, output, *capacity, out),
        ElfcorehdrCmd::Update {
            file,
            root,
            event,
            kexec_load,
            force,
        } => update(file, root, event, *kexec_load, *force, out),
        ElfcorehdrCmd::Verify {
            file,
            root,
            live,
            json,
        } => verify(file.as_deref(), root.as_deref(), *live, *json, out),
        ElfcorehdrCmd::Watch {
            target,
            on_stale,
            replay,
            root,
            count,
        } => watch(
            target.as_deref(),
            on_stale.as_deref(),
            replay.as_deref(),
            root,
            *count,
            out,
        ),
    }
}

fn state_from(root: &Path) -> anyhow::Result<SystemState> {
    SystemState::from_root(root)
        .with_context(|| format!("cannot read the machine state under {}", root.display()))
}

fn outcome(findings: &[Finding]) -> Outcome {
    if findings.iter().any(|f| f.severity >= Severity::Warning) {
        Outcome::Findings
    } else {
        Outcome::Clean
    }
}

fn finding_json(f: &Finding) -> serde_json::Value {
    json!({
        "code": f.code,
        "name": f.name,
        "severity": f.severity.as_str(),
        "offset": f.offset.map(|o| format!("{o:#x}")),
        "message": f.message,
    })
}

fn show(path: &Path, as_json: bool, out: &mut dyn Write) -> anyhow::Result<Outcome> {
    let bytes = file::read_header_file(path)?;
    let h = Elfcorehdr::parse(&bytes)
        .with_context(|| format!("{} is not an elfcorehdr", path.display()))?;
    let role = |i: usize| -> String {
        if let Some(k) = h.cpu_notes.iter().position(|n| n.phdr_index == i) {
            format!("cpu-note {k}")
        } else if h.vmcoreinfo.is_some_and(|v| v.phdr_index == i) {
            "vmcoreinfo".into()
        } else if h.kernel_text.is_some_and(|t| t.phdr_index == i) {
            "kernel-text".into()
        } else if h.ram.iter().any(|r| r.phdr_index == i) {
            "ram".into()
        } else {
            "other".into()
        }
    };
    if as_json {
        let doc = json!({
            "version": 1,
            "file": path.display().to_string(),
            "e_phnum": h.phnum(),
            "used_bytes": h.used_len,
            "file_bytes": bytes.len(),
            "page_offset_base": h.page_offset_base.map(|b| format!("{b:#x}")),
            "phdrs": h.phdrs.iter().enumerate().map(|(i, p)| json!({
                "index": i,
                "role": role(i),
                "type": match p.p_type { 1 => "LOAD".to_string(), 4 => "NOTE".to_string(), t => format!("{t:#x}") },
                "paddr": format!("{:#x}", p.p_paddr),
                "vaddr": format!("{:#x}", p.p_vaddr),
                "size": format!("{:#x}", p.p_memsz),
                "flags": p.p_flags,
            })).collect::<Vec<_>>(),
            "findings": h.findings.iter().map(finding_json).collect::<Vec<_>>(),
        });
        serde_json::to_writer_pretty(&mut *out, &doc)?;
        writeln!(out)?;
    } else {
        writeln!(
            out,
            "{}: ELF64 ET_CORE elfcorehdr, e_phnum {}, {} bytes used of {}",
            path.display(),
            h.phnum(),
            h.used_len,
            bytes.len()
        )?;
        writeln!(
            out,
            "{} CPU notes, vmcoreinfo {}, kernel text {}, {} RAM ranges, direct map {}",
            h.cpu_notes.len(),
            h.vmcoreinfo
                .map_or("-".into(), |v| format!("{:#x}+{:#x}", v.addr, v.size)),
            h.kernel_text
                .map_or("-".into(), |t| format!("{} at {:#x}", t.range, t.vaddr)),
            h.ram.len(),
            h.page_offset_base.map_or("-".into(), |b| format!("{b:#x}")),
        )?;
        writeln!(
            out,
            "{:>5}  {:<12} {:<4} {:>18} {:>18} {:>12}",
            "phdr", "role", "type", "paddr", "vaddr", "size"
        )?;
        for (i, p) in h.phdrs.iter().enumerate() {
            let ty = match p.p_type {
                1 => "LOAD".to_string(),
                4 => "NOTE".to_string(),
                t => format!("{t:#x}"),
            };
            writeln!(
                out,
                "{i:>5}  {:<12} {ty:<4} {:>#18x} {:>#18x} {:>#12x}",
                role(i),
                p.p_paddr,
                p.p_vaddr,
                p.p_memsz
            )?;
        }
        for f in &h.findings {
            writeln!(out, "{f}")?;
        }
    }
    Ok(outcome(&h.findings))
}

fn build_cmd(
    root: &Path,
    output: &Path,
    capacity: Option<u64>,
    out: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let state = state_from(root)?;
    let cap = match capacity {
        Some(c) => usize::try_from(c).context("--capacity does not fit in memory")?,
        None => state.segment_capacity(&KernelConfig::DEBIAN_6_12),
    };
    if cap as u64 > file::MAX_HEADER_FILE {
        bail!(
            "--capacity {cap} is larger than any elfcorehdr segment ({} max)",
            file::MAX_HEADER_FILE
        );
    }
    let bytes = build(&state, cap)?;
    file::write_atomically(output, &bytes)?;
    let h = Elfcorehdr::parse(&bytes)?;
    writeln!(
        out,
        "wrote {}: {} bytes, e_phnum {} ({} CPU notes, vmcoreinfo, kernel text, {} RAM ranges), header {} bytes",
        output.display(),
        bytes.len(),
        h.phnum(),
        h.cpu_notes.len(),
        h.ram.len(),
        h.used_len
    )?;
    Ok(Outcome::Clean)
}

fn describe(ch: &elfcorehdr::Changes) -> String {
    match ch.decision {
        Decision::NoOp(reason) => reason.to_string(),
        Decision::Regenerate if !ch.changed() => {
            format!("regenerated, bytes identical (e_phnum {})", ch.phnum_after)
        }
        Decision::Regenerate => format!(
            "regenerated: e_phnum {} -> {}, phdrs changed {:?}, {} bytes written",
            ch.phnum_before, ch.phnum_after, ch.changed_phdrs, ch.bytes_written
        ),
    }
}

fn update(
    path: &Path,
    root: &Path,
    event: &str,
    kexec_load: bool,
    force: bool,
    out: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let state = state_from(root)?;
    let event = Event::parse(event, state.memory_block_size)?;
    let mode = if kexec_load {
        LoadMode::KexecLoad { updated: false }
    } else {
        LoadMode::KexecFile
    };
    let opts = file::WriteOptions { force };
    let ch = file::update_file_with(path, &state, event, mode, opts)
        .with_context(|| format!("{} left unchanged", path.display()))?;
    writeln!(out, "{}: {event}: {}", path.display(), describe(&ch))?;
    Ok(Outcome::Clean)
}

fn live_header(root: &Path, state: &SystemState) -> anyhow::Result<Vec<u8>> {
    if elfcorehdr::crash_kernel_loaded(root)? == Some(false) {
        bail!(
            "no crash kernel is loaded ({} is 0): there is no elfcorehdr to read; load one \
             with `kexec -p` (or `kdumpctl start`)",
            root.join("sys/kernel/kexec_crash_loaded").display()
        );
    }
    let cap = state.segment_capacity(&KernelConfig::DEBIAN_6_12);
    let kcore = root.join("proc/kcore");
    read_live_header(&kcore, state, cap).with_context(|| {
        format!(
            "cannot read the loaded elfcorehdr through {} (root only)",
            kcore.display()
        )
    })
}

fn verify(
    file: Option<&Path>,
    root: Option<&Path>,
    live: bool,
    as_json: bool,
    out: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let root = root.unwrap_or(Path::new("/"));
    let state = state_from(root)?;
    let (name, bytes) = match (file, live) {
        (_, true) => ("live kernel header".to_string(), live_header(root, &state)?),
        (Some(f), false) => (f.display().to_string(), file::read_header_file(f)?),
        (None, false) => bail!("give a header FILE, or --live"),
    };
    let diffs = elfcorehdr::verify::compare(&bytes, &state)?;
    if as_json {
        let doc = json!({
            "version": 1,
            "header": name,
            "root": root.display().to_string(),
            "differences": diffs.iter().map(finding_json).collect::<Vec<_>>(),
        });
        serde_json::to_writer_pretty(&mut *out, &doc)?;
        writeln!(out)?;
    } else if diffs.is_empty() {
        writeln!(
            out,
            "{name}: matches the state under {} (what Linux 6.12 would write)",
            root.display()
        )?;
    } else {
        writeln!(
            out,
            "{name}: {} difference(s) from the state under {}",
            diffs.len(),
            root.display()
        )?;
        for d in &diffs {
            writeln!(out, "{d}")?;
        }
    }
    Ok(if diffs.is_empty() {
        Outcome::Clean
    } else {
        Outcome::Findings
    })
}

/// Recorded uevents from a file: plain lines or history.jsonl `guest_uevents`.
fn replay_uevents(path: &Path) -> anyhow::Result<Vec<Uevent>> {
    let f = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut evs = Vec::new();
    for (n, line) in std::io::BufReader::new(f).lines().enumerate() {
        let line = line.with_context(|| format!("{}:{}", path.display(), n + 1))?;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line.starts_with('{') {
            let v: serde_json::Value = serde_json::from_str(line)
                .with_context(|| format!("{}:{}: not JSON", path.display(), n + 1))?;
            if let Some(list) = v.get("guest_uevents").and_then(|l| l.as_array()) {
                for item in list {
                    let s = item.as_str().unwrap_or("");
                    let u = Uevent::parse_record(s).with_context(|| {
                        format!("{}:{}: bad uevent {s:?}", path.display(), n + 1)
                    })?;
                    evs.push(u);
                }
            }
        } else {
            let u = Uevent::parse_record(line).with_context(|| {
                format!(
                    "{}:{}: expected `SEQNUM ACTION DEVPATH SUBSYSTEM uptime`",
                    path.display(),
                    n + 1
                )
            })?;
            evs.push(u);
        }
    }
    Ok(evs)
}

struct Watcher<'a> {
    /// The state read at start; each event re-reads only what hotplug changes
    /// (`SystemState::refresh_from_root`), not kallsyms and kcore.
    boot: Option<SystemState>,
    target: Option<&'a Path>,
    on_stale: Option<&'a str>,
    root: &'a Path,
    replay: bool,
    updater: Updater,
    stale_seen: bool,
    /// Events whose update failed (the target was left untouched).
    failed: u64,
}

impl Watcher<'_> {
    /// Handle one uevent; returns the log line, or None when it is not a cpu/memory event.
    fn state(&self) -> anyhow::Result<SystemState> {
        match &self.boot {
            Some(b) => b.refresh_from_root(self.root).with_context(|| {
                format!(
                    "cannot read the machine state under {}",
                    self.root.display()
                )
            }),
            None => state_from(self.root),
        }
    }

    fn handle(&mut self, u: &Uevent, block_size: Option<u64>) -> anyhow::Result<Option<String>> {
        let Some(event) = u.to_event(block_size) else {
            return Ok(None);
        };
        let started = Instant::now();
        let decision = decide(&event, self.updater.mode());
        let result: String = if let Some(target) = self.target {
            let state = self.state()?;
            let mut bytes = file::read_header_file(target)?;
            match self.updater.update_in_place(&mut bytes, &state, event) {
                Ok(ch) => {
                    let text = describe(ch);
                    if ch.changed() {
                        file::write_atomically(target, &bytes)?;
                    }
                    text
                }
                Err(e) => {
                    self.failed += 1;
                    format!("error, {} untouched: {e}", target.display())
                }
            }
        } else if self.replay {
            format!(
                "kernel would {}",
                match decision {
                    Decision::Regenerate => "regenerate".to_string(),
                    Decision::NoOp(r) => r.to_string(),
                }
            )
        } else {
            let state = self.state()?;
            let mut diffs = elfcorehdr::verify::compare(&live_header(self.root, &state)?, &state)?;
            if !diffs.is_empty() {
                // The kernel updates in its notifier, before the uevent goes out; give a
                // contended kexec_trylock one more chance before calling the header stale.
                std::thread::sleep(std::time::Duration::from_millis(200));
                let state = self.state()?;
                diffs = elfcorehdr::verify::compare(&live_header(self.root, &state)?, &state)?;
            }
            if diffs.is_empty() {
                "live header ok".into()
            } else {
                self.stale_seen = true;
                if let Some(cmd) = self.on_stale {
                    let status = std::process::Command::new("sh")
                        .arg("-c")
                        .arg(cmd)
                        .env("VMCORE_EVENT", event.to_string())
                        .env("VMCORE_FINDINGS", diffs.len().to_string())
                        .status()
                        .with_context(|| format!("cannot run --on-stale {cmd:?}"))?;
                    format!(
                        "STALE ({} differences: {}); on-stale exited {status}",
                        diffs.len(),
                        diffs[0].message
                    )
                } else {
                    format!("STALE ({} differences: {})", diffs.len(), diffs[0].message)
                }
            }
        };
        let latency = started.elapsed();
        Ok(Some(format!(
            "seq={} action={} devpath={} event={event} decision={} result={result:?} latency_us={}",
            u.seqnum.map_or("-".into(), |s| s.to_string()),
            u.action,
            u.devpath,
            match decision {
                Decision::Regenerate => "regenerate",
                Decision::NoOp(_) => "no-op",
            },
            latency.as_micros()
        )))
    }
}

fn watch(
    target: Option<&Path>,
    on_stale: Option<&str>,
    replay: Option<&Path>,
    root: &Path,
    count: Option<u64>,
    out: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let mut w = Watcher {
        boot: None,
        target,
        on_stale,
        root,
        replay: replay.is_some(),
        updater: Updater::new(LoadMode::KexecFile),
        stale_seen: false,
        failed: 0,
    };
    // The block size turns memoryN into a range; it does not change at run time.
    let block_size = match SystemState::from_root(root) {
        Ok(s) => {
            let bs = s.memory_block_size;
            w.boot = Some(s);
            bs
        }
        Err(e) if replay.is_some() && target.is_none() => {
            writeln!(
                out,
                "# note: no state under {} ({e}); memory events need it and are skipped",
                root.display()
            )?;
            None
        }
        Err(e) => {
            return Err(e).with_context(|| {
                format!("cannot read the machine state under {}", root.display())
            });
        }
    };
    if let Some(path) = replay {
        for u in replay_uevents(path)? {
            if let Some(line) = w.handle(&u, block_size)? {
                writeln!(out, "{line}")?;
            }
        }
    } else {
        let sock = UeventSocket::open().context("cannot open the NETLINK_KOBJECT_UEVENT socket")?;
        let mut buf = vec![0u8; 64 * 1024];
        let mut seen = 0u64;
        loop {
            let msg = sock.recv(&mut buf).context("receiving a uevent")?;
            let Some(u) = Uevent::parse_netlink(msg) else {
                continue;
            };
            if let Some(line) = w.handle(&u, block_size)? {
                writeln!(out, "{line}")?;
                out.flush()?;
                seen += 1;
                if count.is_some_and(|c| seen >= c) {
                    break;
                }
            }
        }
    }
    if w.failed > 0 {
        writeln!(
            out,
            "# {} event(s) failed to update {}",
            w.failed,
            target.map_or_else(|| "-".into(), |t| t.display().to_string())
        )?;
    }
    // A replay whose updates failed did not do its job: exit 1, like a stale header.
    Ok(if w.stale_seen || w.failed > 0 {
        Outcome::Findings
    } else {
        Outcome::Clean
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn real(p: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../testdata/real")
            .join(p)
    }

    fn run_ok(cmd: ElfcorehdrCmd) -> (Outcome, String) {
        let mut out = Vec::new();
        let o = run(&cmd, &mut out).unwrap();
        (o, String::from_utf8(out).unwrap())
    }

    #[test]
    fn build_then_verify_then_update_the_real_steps() {
        let dir = tempfile::tempdir().unwrap();
        let hdr = dir.path().join("hdr.bin");
        let (o, text) = run_ok(ElfcorehdrCmd::Build {
            root: real("steps/root-00-boot"),
            output: hdr.clone(),
            capacity: None,
        });
        assert_eq!(o, Outcome::Clean);
        assert!(text.contains("917680 bytes, e_phnum 8"), "{text}");
        let verify01 = || ElfcorehdrCmd::Verify {
            file: Some(hdr.clone()),
            root: Some(real("steps/root-01-mem-hotadd-128M")),
            live: false,
            json: false,
        };
        let (o, text) = run_ok(verify01());
        assert_eq!(o, Outcome::Findings, "{text}");
        assert!(text.contains("VER006"), "{text}");
        let (_, text) = run_ok(ElfcorehdrCmd::Update {
            file: hdr.clone(),
            root: real("steps/root-01-mem-hotadd-128M"),
            event: "memory-online:0x100000000-0x107ffffff".into(),
            kexec_load: false,
            force: false,
        });
        assert!(text.contains("e_phnum 8 -> 9"), "{text}");
        let (o, _) = run_ok(verify01());
        assert_eq!(o, Outcome::Clean);
        let (o, text) = run_ok(ElfcorehdrCmd::Show {
            file: hdr.clone(),
            json: true,
        });
        assert_eq!(o, Outcome::Clean);
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["e_phnum"], 9);
        assert_eq!(v["phdrs"][8]["paddr"], "0x100000000");
    }

    #[test]
    fn update_with_unknown_cpu_is_an_error_and_leaves_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let hdr = dir.path().join("hdr.bin");
        std::fs::copy(real("steps/elfcorehdr-00-boot.bin"), &hdr).unwrap();
        let before = std::fs::read(&hdr).unwrap();
        let mut out = Vec::new();
        let e = run(
            &ElfcorehdrCmd::Update {
                file: hdr.clone(),
                root: real("steps/root-00-boot"),
                event: "cpu-online:9".into(),
                kexec_load: false,
                force: false,
            },
            &mut out,
        )
        .unwrap_err();
        assert!(
            format!("{e:#}").contains("CPU 9 is not a possible CPU"),
            "{e:#}"
        );
        assert_eq!(std::fs::read(&hdr).unwrap(), before);
    }

    #[test]
    fn watch_replay_whose_updates_fail_is_not_clean() {
        let dir = tempfile::tempdir().unwrap();
        let hdr = dir.path().join("not-a-header.bin");
        std::fs::write(&hdr, vec![0u8; 4096]).unwrap();
        let (o, text) = run_ok(ElfcorehdrCmd::Watch {
            target: Some(hdr.clone()),
            on_stale: None,
            replay: Some(real("history.jsonl")),
            root: real("steps/root-06-cpu3-online"),
            count: None,
        });
        assert!(text.contains("untouched"), "{text}");
        assert!(text.contains("event(s) failed to update"), "{text}");
        assert_eq!(o, Outcome::Findings);
        assert_eq!(std::fs::read(&hdr).unwrap(), vec![0u8; 4096]);
    }

    #[test]
    fn watch_replays_the_recorded_history() {
        let dir = tempfile::tempdir().unwrap();
        let hdr = dir.path().join("hdr.bin");
        // The target starts as the kernel's step-00 header; the root is the final state, so the
        // first memory event brings it to the final header.
        std::fs::write(
            &hdr,
            build(
                &SystemState::from_root(real("steps/root-00-boot")).unwrap(),
                917_680,
            )
            .unwrap(),
        )
        .unwrap();
        let (o, text) = run_ok(ElfcorehdrCmd::Watch {
            target: Some(hdr.clone()),
            on_stale: None,
            replay: Some(real("history.jsonl")),
            root: real("steps/root-06-cpu3-online"),
            count: None,
        });
        assert_eq!(o, Outcome::Clean);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 7, "{text}");
        assert!(
            lines[0].contains("event=memory-add:0x100000000-0x107ffffff decision=no-op"),
            "{}",
            lines[0]
        );
        assert!(
            lines[1].contains("decision=regenerate") && lines[1].contains("e_phnum 8 -> 9"),
            "{}",
            lines[1]
        );
        assert!(
            lines[4].contains("event=cpu-offline:3 decision=no-op"),
            "{}",
            lines[4]
        );
        assert!(lines.iter().all(|l| l.contains("latency_us=")));
        let seg = std::fs::read(&hdr).unwrap();
        assert_eq!(
            &seg[..568],
            &std::fs::read(real("steps/elfcorehdr-06-cpu3-online.bin")).unwrap()[..]
        );
    }
}
