//! `vmcore elfcorehdr`: show, build, update and verify kdump elfcorehdrs, and watch hotplug.
//!
//! Thin over the `elfcorehdr` crate: the engine, the state reader, the kcore reader and the
//! uevent parsing all live there.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use elfcorehdr::live::UeventSocket;
use elfcorehdr::uevent::{Uevent, replay_uevents};
use elfcorehdr::watch::{
    Handled, NO_HOTPLUG_NOTE, StateOverrides, WatchMode, Watcher, loaded_header,
};
use elfcorehdr::{
    Decision, Elfcorehdr, Event, Finding, KernelConfig, KernelProfile, LoadMode, Severity,
    SystemState, build, file,
};
use serde_json::json;

use crate::Outcome;

/// Which kernel's rules to apply (default: detected from the root) and CMA crash ranges.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct KernelArgs {
    /// Kernel profile: 6.1 (no crash hotplug, static header), 6.12 (crash hotplug), 7 (6.17+:
    /// also crashkernel=,cma ranges), or a release such as 7.2.13. Default: detected from the
    /// root (proc/sys/kernel/osrelease and which crash sysfs files exist).
    #[arg(long, value_name = "PROFILE")]
    kernel: Option<String>,
    /// A CMA crash kernel range START-END (hex, inclusive, as /sys/kernel/kexec_crash_cma_ranges
    /// prints it), for kernels whose sysfs does not list them. Repeatable; replaces the sysfs
    /// list.
    #[arg(long = "cma-range", value_name = "START-END")]
    cma_range: Vec<String>,
}

impl KernelArgs {
    /// `--kernel` and `--cma-range` as the engine's overrides.
    fn overrides(&self) -> anyhow::Result<StateOverrides> {
        let profile = match &self.kernel {
            Some(k) => Some(KernelProfile::from_name(k).with_context(|| {
                format!("--kernel {k:?}: expected 6.1, 6.12, 7 or a release like 6.1.0-57-amd64")
            })?),
            None => None,
        };
        let cma_ranges = if self.cma_range.is_empty() {
            None
        } else {
            let text = self.cma_range.join("\n");
            Some(elfcorehdr::parse_cma_ranges(
                Path::new("--cma-range"),
                &text,
            )?)
        };
        Ok(StateOverrides {
            profile,
            cma_ranges,
        })
    }
}

/// Where the state's profile and CMA ranges came from, for `verify` output.
fn profile_note(state: &SystemState, args: &KernelArgs) -> String {
    let from = if args.kernel.is_some() {
        "--kernel".to_string()
    } else {
        match &state.os_release {
            Some(r) => format!("osrelease {r} and the crash sysfs files"),
            None => "the crash sysfs files".to_string(),
        }
    };
    let cma = if !args.cma_range.is_empty() {
        format!("{} from --cma-range", state.crash_cma.len())
    } else if state.crash_cma_from_sysfs {
        format!(
            "{} from /sys/kernel/kexec_crash_cma_ranges",
            state.crash_cma.len()
        )
    } else if state.profile.cma_ranges {
        "none: the root has no /sys/kernel/kexec_crash_cma_ranges (give --cma-range if crashkernel=,cma is used)".to_string()
    } else {
        "none (this kernel has no crashkernel=,cma)".to_string()
    };
    format!(
        "kernel profile {} (from {from}); CMA crash ranges: {cma}",
        state.profile
    )
}

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
    /// Build the header the machine's kernel would build (Linux 6.1, 6.12 or 7.x rules, see
    /// --kernel), padded to the reserved segment.
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
        #[command(flatten)]
        kernel: KernelArgs,
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
        #[command(flatten)]
        kernel: KernelArgs,
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
        #[command(flatten)]
        kernel: KernelArgs,
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
        #[command(flatten)]
        kernel: KernelArgs,
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
            kernel,
        } => build_cmd(root, output, *capacity, kernel, out),
        ElfcorehdrCmd::Update {
            file,
            root,
            event,
            kexec_load,
            force,
            kernel,
        } => update(file, root, event, *kexec_load, *force, kernel, out),
        ElfcorehdrCmd::Verify {
            file,
            root,
            live,
            json,
            kernel,
        } => verify(file.as_deref(), root.as_deref(), *live, *json, kernel, out),
        ElfcorehdrCmd::Watch {
            target,
            on_stale,
            replay,
            root,
            count,
            kernel,
        } => watch(
            target.as_deref(),
            on_stale.as_deref(),
            replay.as_deref(),
            root,
            *count,
            kernel,
            out,
        ),
    }
}

fn state_from(root: &Path, args: &KernelArgs) -> anyhow::Result<SystemState> {
    let mut state = SystemState::from_root(root)
        .with_context(|| format!("cannot read the machine state under {}", root.display()))?;
    args.overrides()?.apply(&mut state)?;
    Ok(state)
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
                "role": h.role(i).to_string(),
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
                h.role(i).to_string(),
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
    kernel: &KernelArgs,
    out: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let state = state_from(root, kernel)?;
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

fn update(
    path: &Path,
    root: &Path,
    event: &str,
    kexec_load: bool,
    force: bool,
    kernel: &KernelArgs,
    out: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let state = state_from(root, kernel)?;
    let event = Event::parse(event, state.memory_block_size)?;
    let mode = if kexec_load {
        LoadMode::KexecLoad { updated: false }
    } else {
        LoadMode::KexecFile
    };
    let opts = file::WriteOptions { force };
    let ch = file::update_file_with(path, &state, event, mode, opts)
        .with_context(|| format!("{} left unchanged", path.display()))?;
    writeln!(out, "{}: {event}: {ch}", path.display())?;
    Ok(Outcome::Clean)
}

fn verify(
    file: Option<&Path>,
    root: Option<&Path>,
    live: bool,
    as_json: bool,
    kernel: &KernelArgs,
    out: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let root = root.unwrap_or(Path::new("/"));
    let state = state_from(root, kernel)?;
    let note = profile_note(&state, kernel);
    let (name, bytes) = match (file, live) {
        (_, true) => (
            "live kernel header".to_string(),
            loaded_header(root, &state)?,
        ),
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
            "kernel_profile": state.profile.to_string(),
            "kernel_regenerates": state.profile.crash_hotplug,
            "profile_source": note,
        });
        serde_json::to_writer_pretty(&mut *out, &doc)?;
        writeln!(out)?;
    } else if diffs.is_empty() {
        writeln!(
            out,
            "{name}: matches the state under {} (what {} would write)",
            root.display(),
            if state.profile == KernelProfile::LINUX_6_12 {
                "Linux 6.12".to_string()
            } else {
                state.profile.to_string()
            }
        )?;
        if state.profile != KernelProfile::LINUX_6_12 || state.crash_cma_from_sysfs {
            writeln!(out, "{note}")?;
        }
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
        if live && !state.profile.crash_hotplug {
            writeln!(out, "{NO_HOTPLUG_NOTE}")?;
        }
        if state.profile != KernelProfile::LINUX_6_12 || state.crash_cma_from_sysfs {
            writeln!(out, "{note}")?;
        }
    }
    Ok(if diffs.is_empty() {
        Outcome::Clean
    } else {
        Outcome::Findings
    })
}

fn watch(
    target: Option<&Path>,
    on_stale: Option<&str>,
    replay: Option<&Path>,
    root: &Path,
    count: Option<u64>,
    kernel: &KernelArgs,
    out: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let mode = match (target, replay) {
        (Some(t), _) => WatchMode::Target(t.to_path_buf()),
        (None, Some(_)) => WatchMode::Replay,
        (None, None) => WatchMode::Live {
            on_stale: on_stale.map(str::to_string),
        },
    };
    let mut w = Watcher::new(root, mode, kernel.overrides()?)?;
    if let Some(e) = w.missing_state() {
        writeln!(
            out,
            "# note: no state under {} ({e}); memory events need it and are skipped",
            root.display()
        )?;
    }
    if let Some(path) = replay {
        for u in replay_uevents(path)? {
            if let Some(h) = w.handle(&u)? {
                writeln!(out, "{}", log_line(&u, &h))?;
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
            if let Some(h) = w.handle(&u)? {
                writeln!(out, "{}", log_line(&u, &h))?;
                out.flush()?;
                seen += 1;
                if count.is_some_and(|c| seen >= c) {
                    break;
                }
            }
        }
    }
    if w.failed() > 0 {
        writeln!(
            out,
            "# {} event(s) failed to update {}",
            w.failed(),
            target.map_or_else(|| "-".into(), |t| t.display().to_string())
        )?;
    }
    // A replay whose updates failed did not do its job: exit 1, like a stale header.
    Ok(if w.stale_seen() || w.failed() > 0 {
        Outcome::Findings
    } else {
        Outcome::Clean
    })
}

/// One line of the watch log.
fn log_line(u: &Uevent, h: &Handled) -> String {
    format!(
        "seq={} action={} devpath={} event={} decision={} result={:?} latency_us={}",
        u.seqnum.map_or("-".into(), |s| s.to_string()),
        u.action,
        u.devpath,
        h.event,
        match h.decision {
            Decision::Regenerate => "regenerate",
            Decision::NoOp(_) => "no-op",
        },
        h.result.to_string(),
        h.latency.as_micros()
    )
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
            kernel: KernelArgs::default(),
        });
        assert_eq!(o, Outcome::Clean);
        assert!(text.contains("917680 bytes, e_phnum 8"), "{text}");
        let verify01 = || ElfcorehdrCmd::Verify {
            file: Some(hdr.clone()),
            root: Some(real("steps/root-01-mem-hotadd-128M")),
            live: false,
            json: false,
            kernel: KernelArgs::default(),
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
            kernel: KernelArgs::default(),
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
                kernel: KernelArgs::default(),
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
            kernel: KernelArgs::default(),
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
            kernel: KernelArgs::default(),
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

    fn kernels(p: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../testdata/kernels")
            .join(p)
    }

    fn copy_tree(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            let dst = to.join(e.file_name());
            if e.file_type().unwrap().is_dir() {
                copy_tree(&e.path(), &dst);
            } else {
                std::fs::copy(e.path(), dst).unwrap();
            }
        }
    }

    fn verify_cmd(file: PathBuf, root: PathBuf, kernel: KernelArgs) -> ElfcorehdrCmd {
        ElfcorehdrCmd::Verify {
            file: Some(file),
            root: Some(root),
            live: false,
            json: false,
            kernel,
        }
    }

    /// 7.2 with crashkernel=,cma: the kernel's header verifies against the root with the CMA
    /// range from sysfs; without that file it is stale until `--cma-range` gives the range,
    /// and the output says which source was used.
    #[test]
    fn verify_says_where_the_cma_ranges_came_from() {
        let hdr = kernels("7.2-cma/steps/elfcorehdr-00-boot.bin");
        let root = kernels("7.2-cma/steps/root-00-boot");
        let (o, text) = run_ok(verify_cmd(hdr.clone(), root.clone(), KernelArgs::default()));
        assert_eq!(o, Outcome::Clean, "{text}");
        assert!(
            text.contains("kernel profile linux-7 (from osrelease 7.2.13+deb14-amd64")
                && text.contains("CMA crash ranges: 1 from /sys/kernel/kexec_crash_cma_ranges"),
            "{text}"
        );
        let dir = tempfile::tempdir().unwrap();
        let bare = dir.path().join("root");
        copy_tree(&root, &bare);
        std::fs::remove_file(bare.join("sys/kernel/kexec_crash_cma_ranges")).unwrap();
        let (o, text) = run_ok(verify_cmd(hdr.clone(), bare.clone(), KernelArgs::default()));
        assert_eq!(o, Outcome::Findings, "{text}");
        assert!(
            text.contains("no /sys/kernel/kexec_crash_cma_ranges"),
            "{text}"
        );
        let by_hand = KernelArgs {
            kernel: None,
            cma_range: vec!["1a800000-1e7fffff".into()],
        };
        let (o, text) = run_ok(verify_cmd(hdr, bare, by_hand));
        assert_eq!(o, Outcome::Clean, "{text}");
        assert!(
            text.contains("CMA crash ranges: 1 from --cma-range"),
            "{text}"
        );
    }

    /// Linux 6.1: `build` writes the one-page static header, not the 6.12 MAXSMP segment, and
    /// `--kernel 6.12` on the same root is what the engine did before profiles.
    #[test]
    fn build_on_6_1_writes_the_static_page() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("hdr.bin");
        let build = |kernel: Option<&str>| ElfcorehdrCmd::Build {
            root: kernels("6.1/steps/root-00-boot"),
            output: out.clone(),
            capacity: None,
            kernel: KernelArgs {
                kernel: kernel.map(str::to_string),
                cma_range: Vec::new(),
            },
        };
        let (_, text) = run_ok(build(None));
        assert!(text.contains("4096 bytes, e_phnum 8"), "{text}");
        assert_eq!(
            std::fs::read(&out).unwrap(),
            std::fs::read(kernels("6.1/steps/elfcorehdr-01-mem-add.bin")).unwrap()
        );
        let (_, text) = run_ok(build(Some("6.12")));
        assert!(text.contains("917680 bytes"), "{text}");
        let mut sink = Vec::new();
        let e = run(&build(Some("5.14")), &mut sink);
        assert!(e.is_ok(), "5.x is the 6.1 profile");
        let e = run(&build(Some("linux")), &mut sink).unwrap_err();
        assert!(format!("{e:#}").contains("--kernel"), "{e:#}");
    }
}
