//! Host-side checks of a run: the kernel's elfcorehdr (read out of guest memory) against our
//! engine, step by step. They work on a run folder laid out like `testdata/real/`
//! (`steps/root-<step>/`, `steps/elfcorehdr-<step>.bin`, `history.jsonl`), so the same code
//! rechecks a fresh run, an old run, or the frozen real data.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, bail};
use elfcorehdr::live::Uevent;
use elfcorehdr::{LoadMode, SystemState, Updater, build};

use kdump_types::Bytes;
use kdump_types::elf::{EHDR64_SIZE as EHDR, Elf64Ehdr, PHDR64_SIZE as PHDR};

use crate::hdrdiff::describe_difference;
use crate::scenario::Expect;

/// A deliberately broken engine, to prove the VM checks catch real bugs
/// (`VMLAB_BREAK_ENGINE`). Never set in a normal run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Break {
    /// The engine as it is.
    None,
    /// Swap the last two program headers of the built header (a phdr-order bug).
    SwapPhdrs,
    /// Forget the "Crash kernel" exclusion (a wrong-exclusion bug).
    NoCrashkernelExclusion,
}

impl Break {
    /// From `VMLAB_BREAK_ENGINE` (unset or empty: none).
    pub fn from_env() -> anyhow::Result<Break> {
        match std::env::var("VMLAB_BREAK_ENGINE").as_deref() {
            Err(_) | Ok("") => Ok(Break::None),
            Ok("swap-phdrs") => Ok(Break::SwapPhdrs),
            Ok("no-crashkernel-exclusion") => Ok(Break::NoCrashkernelExclusion),
            Ok(o) => {
                bail!("VMLAB_BREAK_ENGINE={o:?}: expected swap-phdrs or no-crashkernel-exclusion")
            }
        }
    }

    fn state(self, s: &SystemState) -> SystemState {
        let mut s = s.clone();
        if self == Break::NoCrashkernelExclusion {
            s.crash_kernel = None;
        }
        s
    }

    fn bytes(self, b: &mut [u8]) {
        if self == Break::SwapPhdrs {
            let n = usize::from(e_phnum(b));
            if n >= 2 {
                let (x, y) = (EHDR + (n - 2) * PHDR, EHDR + (n - 1) * PHDR);
                let tmp: Vec<u8> = b[x..x + PHDR].to_vec();
                b.copy_within(y..y + PHDR, x);
                b[y..y + PHDR].copy_from_slice(&tmp);
            }
        }
    }
}

/// `e_phnum` of the ELF header at the start of `b`; 0 when `b` holds no whole header (then
/// there is no program header to swap or count).
fn e_phnum(b: &[u8]) -> u16 {
    Elf64Ehdr::read(&Bytes::new(b, 0), 0).map_or(0, |h| h.e_phnum)
}

/// What the engine would write for a state, into a segment of `len` bytes.
pub fn engine_build(state: &SystemState, len: usize, brk: Break) -> anyhow::Result<Vec<u8>> {
    let mut b = build(&brk.state(state), len).context("the engine could not build a header")?;
    brk.bytes(&mut b);
    Ok(b)
}

/// `guest_uevents` of each step, from a history.jsonl (actions grouped by their `step`).
pub fn uevents_by_step(history: &Path) -> anyhow::Result<BTreeMap<String, Vec<String>>> {
    let text = std::fs::read_to_string(history)
        .with_context(|| format!("cannot read {}", history.display()))?;
    let mut by: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(line)
            .with_context(|| format!("{}:{}: not JSON", history.display(), n + 1))?;
        if v["kind"] != "action" {
            continue;
        }
        let Some(step) = v["step"].as_str() else {
            continue;
        };
        let list = by.entry(step.to_string()).or_default();
        for u in v["guest_uevents"].as_array().into_iter().flatten() {
            if let Some(s) = u.as_str() {
                list.push(s.to_string());
            }
        }
    }
    Ok(by)
}

/// The result of checking one step's header.
#[derive(Debug)]
pub struct StepResult {
    /// Lines to print (what was checked and held).
    pub passed: Vec<String>,
}

/// Check one step: the kernel's segment `steps/elfcorehdr-<step>.bin` against the engine's
/// build from `steps/root-<step>/` and against the engine's replay of the step's uevents over the
/// previous step's kernel segment. The error names the step and the first differing byte.
pub fn check_step(
    dir: &Path,
    step: &str,
    expect: Expect,
    prev: Option<&[u8]>,
    prev_state: Option<&SystemState>,
    uevents: &[String],
    brk: Break,
) -> anyhow::Result<StepResult> {
    let steps = dir.join("steps");
    let kpath = steps.join(format!("elfcorehdr-{step}.bin"));
    let kernel = std::fs::read(&kpath)
        .with_context(|| format!("step {step}: cannot read {}", kpath.display()))?;
    let root = steps.join(format!("root-{step}"));
    let state = SystemState::from_root(&root).with_context(|| {
        format!(
            "step {step}: cannot read the captured state {}",
            root.display()
        )
    })?;
    let mut passed = Vec::new();
    // A run saves the whole segment (64 + crash_elfcorehdr_size bytes); testdata/real keeps only
    // the used part of it. Build the whole segment and compare what the file holds.
    let cap = state
        .crash_elfcorehdr_size
        .map_or(kernel.len(), |s| s as usize + 64)
        .max(kernel.len());
    let fresh_full = engine_build(&state, cap, brk).with_context(|| format!("step {step}"))?;
    let fresh = &fresh_full[..kernel.len()];
    let diff = describe_difference(&kernel, fresh);
    match (expect, diff) {
        (Expect::InSync, None) => passed.push(format!(
            "step {step}: engine build from the captured state == kernel's elfcorehdr ({} bytes{}, e_phnum {})",
            kernel.len(),
            if kernel.len() < cap { format!(" of {cap}: the file holds only those") } else { String::new() },
            e_phnum(&kernel)
        )),
        (Expect::InSync, Some(d)) => bail!(
            "step {step}: the kernel's elfcorehdr (read from guest memory) differs from the engine's build of root-{step}: {d}"
        ),
        (Expect::Stale, None) => bail!(
            "step {step}: the scenario expects a stale kernel header here, but it equals a fresh build: \
             the step did not leave memory the header still describes"
        ),
        (Expect::Stale, Some(d)) => passed.push(format!(
            "step {step}: kernel header is stale as expected (a fresh build differs: {d})"
        )),
    }
    // Replay: the engine's decisions for the step's events, applied to the previous kernel
    // segment, must give this kernel segment (no-ops included: bytes then stay put).
    if let Some(prev) = prev {
        let mut seg = prev.to_vec();
        seg.resize(cap.max(prev.len()), 0);
        let mut updater = Updater::new(LoadMode::KexecFile);
        let mut applied = Vec::new();
        for line in uevents {
            let Some(u) = Uevent::parse_record(line) else {
                bail!("step {step}: unreadable uevent record {line:?}");
            };
            let Some(ev) = u.to_event(state.memory_block_size) else {
                continue;
            };
            // An offline of a block that the step then removed is judged with the state before
            // the step (the block existed, still System RAM, when the kernel saw the event).
            let after = brk.state(&state);
            let res = match updater.update_in_place(&mut seg, &after, ev) {
                Ok(ch) => Ok(ch.decision),
                Err(e) => match prev_state {
                    Some(ps) => updater
                        .update_in_place(&mut seg, &brk.state(ps), ev)
                        .map(|ch| ch.decision)
                        .map_err(|e2| anyhow::anyhow!("{e}; with the previous state: {e2}")),
                    None => Err(anyhow::anyhow!("{e}")),
                },
            };
            match res {
                Ok(d) => applied.push(format!("{ev}:{d:?}")),
                Err(e) => {
                    bail!("step {step}: the engine refused event {ev} (uevent {line:?}): {e}")
                }
            }
        }
        brk.bytes_if_regenerated(&mut seg, prev);
        seg.truncate(kernel.len());
        match describe_difference(&kernel, &seg) {
            None => passed.push(format!(
                "step {step}: engine replay of {} event(s) [{}] over the previous kernel header == kernel's bytes",
                applied.len(),
                applied.join(", ")
            )),
            Some(d) => bail!(
                "step {step}: replaying the step's events [{}] with the engine over the previous kernel header \
                 does not give the kernel's new header: {d}",
                applied.join(", ")
            ),
        }
    }
    Ok(StepResult { passed })
}

impl Break {
    /// The byte-level break applies to what the engine writes: after a replay that rewrote the
    /// segment, apply it the same way a fresh build would have it.
    fn bytes_if_regenerated(self, seg: &mut [u8], prev: &[u8]) {
        if seg[..prev.len()] != *prev || seg[prev.len()..].iter().any(|&b| b != 0) {
            self.bytes(seg);
        }
    }
}

/// Recheck a whole run folder: every `steps/elfcorehdr-<step>.bin` in step order (the order
/// of the names: `00-boot`, `01-…`), with expectations from `expects` (default in-sync).
pub fn check_run(
    dir: &Path,
    expects: &BTreeMap<String, Expect>,
    brk: Break,
    mut say: impl FnMut(&str),
) -> anyhow::Result<usize> {
    let mut names: Vec<String> = std::fs::read_dir(dir.join("steps"))
        .with_context(|| format!("{} has no steps/ folder", dir.display()))?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            n.strip_prefix("elfcorehdr-")
                .and_then(|r| r.strip_suffix(".bin"))
                .map(str::to_string)
        })
        .collect();
    names.sort();
    if names.is_empty() {
        bail!("{}: no steps/elfcorehdr-<step>.bin to check", dir.display());
    }
    let hist = dir.join("history.jsonl");
    let uev = if hist.exists() {
        uevents_by_step(&hist)?
    } else {
        BTreeMap::new()
    };
    let mut prev: Option<(Vec<u8>, SystemState)> = None;
    let mut n = 0;
    for name in &names {
        let expect = expects.get(name).copied().unwrap_or_default();
        let empty = Vec::new();
        let r = check_step(
            dir,
            name,
            expect,
            prev.as_ref().map(|p| p.0.as_slice()),
            prev.as_ref().map(|p| &p.1),
            uev.get(name).unwrap_or(&empty),
            brk,
        )?;
        for l in &r.passed {
            say(&format!("PASS {l}"));
            n += 1;
        }
        let k = std::fs::read(dir.join("steps").join(format!("elfcorehdr-{name}.bin")))?;
        let s = SystemState::from_root(dir.join("steps").join(format!("root-{name}")))?;
        prev = Some((k, s));
    }
    Ok(n)
}

#[cfg(test)]
mod tests;
