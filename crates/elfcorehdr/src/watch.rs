//! Watching live hotplug: after each cpu/memory uevent, keep a header file up to date (as the
//! kernel would), or verify the running kernel's header and run a command when it is stale, or
//! (for recorded uevents) tell what the kernel would decide. `vmcore elfcorehdr watch` logs
//! what [`Watcher::handle`] returns, one line per event.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use kdump_types::{Finding, PhysRange};

use crate::error::{Error, Result};
use crate::file::{WriteOptions, update_file_using};
use crate::live::read_live_header;
use crate::profile::KernelProfile;
use crate::root::crash_kernel_loaded;
use crate::state::{KernelConfig, SystemState};
use crate::uevent::Uevent;
use crate::update::{Changes, Decision, Event, LoadMode, NoOpReason, Updater, decide};

/// What `verify --live` and the watcher add when the kernel will never rewrite a stale header.
pub const NO_HOTPLUG_NOTE: &str = "this kernel has no crash hotplug: it will not fix its header; \
     only reloading the crash kernel (what kdump's udev rule does: kdumpctl reload / kexec -p) would";

/// How long the live check waits before looking at a header that differs once more: the kernel
/// updates it in its notifier before the uevent goes out, but a contended `kexec_trylock` may
/// delay it.
const STALE_RECHECK_DELAY: Duration = Duration::from_millis(200);

/// What the user says about the kernel that [`SystemState::from_root`] cannot tell.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StateOverrides {
    /// The kernel profile, instead of the one detected from the root.
    pub profile: Option<KernelProfile>,
    /// The CMA crash kernel ranges, instead of sysfs's list.
    pub cma_ranges: Option<Vec<PhysRange>>,
}

impl StateOverrides {
    /// Applies the overrides to a state read from a root, then validates it. Giving CMA ranges
    /// without a profile turns on the 6.17+ CMA exclusions (only those kernels have them).
    pub fn apply(&self, state: &mut SystemState) -> Result<()> {
        if let Some(p) = self.profile {
            state.profile = p;
        }
        if let Some(cma) = &self.cma_ranges {
            state.crash_cma = cma.clone();
            state.crash_cma_from_sysfs = false;
            if self.profile.is_none() && !state.profile.cma_ranges {
                state.profile.cma_ranges = true;
            }
        }
        state.validate()
    }

    /// The state under `root` with the overrides applied.
    pub fn state_from(&self, root: &Path) -> Result<SystemState> {
        let mut state = SystemState::from_root(root).map_err(|e| Error::MachineState {
            root: root.to_path_buf(),
            source: Box::new(e),
        })?;
        self.apply(&mut state)?;
        Ok(state)
    }
}

/// The elfcorehdr the running kernel holds, read through `ROOT/proc/kcore` (root only), with
/// the reserved segment's size; an error naming why when no crash kernel is loaded.
pub fn loaded_header(root: &Path, state: &SystemState) -> Result<Vec<u8>> {
    if crash_kernel_loaded(root)? == Some(false) {
        return Err(Error::NoCrashKernel {
            flag: root.join("sys/kernel/kexec_crash_loaded"),
        });
    }
    let cap = state.segment_capacity(&KernelConfig::DEBIAN_6_12);
    let kcore = root.join("proc/kcore");
    read_live_header(&kcore, state, cap).map_err(|e| Error::LiveHeader {
        kcore,
        source: Box::new(e),
    })
}

/// What the watcher does after each event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchMode {
    /// Keep this header file up to date (atomic replace; the file is untouched when the engine
    /// refuses an event).
    Target(PathBuf),
    /// Verify the running kernel's header; run this shell command (if any) when it is stale,
    /// with `VMCORE_EVENT` and `VMCORE_FINDINGS` in its environment.
    Live {
        /// `sh -c` command run on a stale header.
        on_stale: Option<String>,
    },
    /// Recorded uevents without a target: tell what the kernel would decide.
    Replay,
}

/// The outcome of one event.
#[derive(Debug)]
pub enum WatchResult {
    /// The target was updated (or left as it was, when the kernel would not change it).
    Updated(Changes),
    /// The engine refused the event; the target is untouched.
    UpdateFailed {
        /// The target.
        target: PathBuf,
        /// Why.
        error: Error,
    },
    /// What the kernel would do (replay without a target).
    WouldDecide(Decision),
    /// The running kernel's header matches the machine.
    LiveOk,
    /// The running kernel's header differs from the machine (after one recheck).
    Stale {
        /// The differences ([`crate::verify::compare`]); the first says why the kernel will
        /// not fix it when it has no crash hotplug.
        differences: Vec<Finding>,
        /// How the on-stale command exited, when there is one.
        on_stale: Option<ExitStatus>,
    },
}

impl fmt::Display for WatchResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WatchResult::Updated(ch) => ch.fmt(f),
            WatchResult::UpdateFailed { target, error } => {
                write!(f, "error, {} untouched: {error}", target.display())
            }
            WatchResult::WouldDecide(Decision::Regenerate) => {
                f.write_str("kernel would regenerate")
            }
            WatchResult::WouldDecide(Decision::NoOp(r)) => write!(f, "kernel would {r}"),
            WatchResult::LiveOk => f.write_str("live header ok"),
            WatchResult::Stale {
                differences,
                on_stale,
            } => {
                let first = differences.first().map_or("", |d| d.message.as_str());
                write!(f, "STALE ({} differences: {first})", differences.len())?;
                match on_stale {
                    Some(status) => write!(f, "; on-stale exited {status}"),
                    None => Ok(()),
                }
            }
        }
    }
}

impl fmt::Display for Changes {
    /// What an update did, in one phrase: the no-op reason, or what was regenerated.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.decision {
            Decision::NoOp(reason) => reason.fmt(f),
            Decision::Regenerate if !self.changed() => write!(
                f,
                "regenerated, bytes identical (e_phnum {})",
                self.phnum_after
            ),
            Decision::Regenerate => write!(
                f,
                "regenerated: e_phnum {} -> {}, phdrs changed {:?}, {} bytes written",
                self.phnum_before, self.phnum_after, self.changed_phdrs, self.bytes_written
            ),
        }
    }
}

/// One handled cpu/memory event.
#[derive(Debug)]
pub struct Handled {
    /// The event.
    pub event: Event,
    /// What the kernel decides for it.
    pub decision: Decision,
    /// What the watcher did.
    pub result: WatchResult,
    /// From the event to the result.
    pub latency: Duration,
}

/// Follows hotplug events for one machine; see the module docs.
#[derive(Debug)]
pub struct Watcher {
    root: PathBuf,
    mode: WatchMode,
    overrides: StateOverrides,
    /// The state read at start; each event re-reads only what hotplug changes
    /// ([`SystemState::refresh_from_root`]), not kallsyms and kcore.
    boot: Option<SystemState>,
    /// Why there is no boot state (replay only; memory events are then skipped).
    missing_state: Option<Error>,
    /// Turns `memoryN` into a range; it does not change at run time.
    block_size: Option<u64>,
    updater: Updater,
    stale_seen: bool,
    failed: u64,
}

impl Watcher {
    /// Reads the machine's state under `root` once. Without it only a replay without a target
    /// goes on ([`Watcher::missing_state`] says why; memory events are then skipped).
    pub fn new(root: &Path, mode: WatchMode, overrides: StateOverrides) -> Result<Watcher> {
        let mut w = Watcher {
            root: root.to_path_buf(),
            mode,
            overrides,
            boot: None,
            missing_state: None,
            block_size: None,
            updater: Updater::new(LoadMode::KexecFile),
            stale_seen: false,
            failed: 0,
        };
        match SystemState::from_root(root) {
            Ok(mut s) => {
                w.overrides.apply(&mut s)?;
                w.block_size = s.memory_block_size;
                w.boot = Some(s);
            }
            Err(e) if w.mode == WatchMode::Replay => w.missing_state = Some(e),
            Err(e) => {
                return Err(Error::MachineState {
                    root: root.to_path_buf(),
                    source: Box::new(e),
                });
            }
        }
        Ok(w)
    }

    /// Why the state could not be read at start (replay without a target only).
    pub fn missing_state(&self) -> Option<&Error> {
        self.missing_state.as_ref()
    }

    /// True once a live header was found stale.
    pub fn stale_seen(&self) -> bool {
        self.stale_seen
    }

    /// Events whose update the engine refused (the target was left untouched).
    pub fn failed(&self) -> u64 {
        self.failed
    }

    /// The machine's state now.
    fn state(&self) -> Result<SystemState> {
        match &self.boot {
            Some(b) => {
                let mut s = b
                    .refresh_from_root(&self.root)
                    .map_err(|e| Error::MachineState {
                        root: self.root.clone(),
                        source: Box::new(e),
                    })?;
                self.overrides.apply(&mut s)?;
                Ok(s)
            }
            None => self.overrides.state_from(&self.root),
        }
    }

    /// The kernel's decision for `event`: none at all without crash hotplug.
    fn decide(&self, event: &Event) -> Decision {
        match &self.boot {
            Some(b) if !b.profile.crash_hotplug => Decision::NoOp(NoOpReason::NoCrashHotplug),
            _ => decide(event, self.updater.mode()),
        }
    }

    /// Handles one uevent: `None` when it is not a cpu/memory event (or a memory event
    /// without a known block size). Errors are the machine's or the files' (unreadable state,
    /// header or target), not the engine refusing an event.
    pub fn handle(&mut self, u: &Uevent) -> Result<Option<Handled>> {
        let Some(event) = u.to_event(self.block_size) else {
            return Ok(None);
        };
        let started = Instant::now();
        let decision = self.decide(&event);
        let result = match self.mode.clone() {
            WatchMode::Target(target) => {
                let state = self.state()?;
                let opts = WriteOptions::default();
                match update_file_using(&target, &state, event, &mut self.updater, opts)? {
                    Ok(ch) => WatchResult::Updated(ch),
                    Err(error) => {
                        self.failed += 1;
                        WatchResult::UpdateFailed { target, error }
                    }
                }
            }
            WatchMode::Replay => WatchResult::WouldDecide(decision),
            WatchMode::Live { on_stale } => self.check_live(&event, on_stale.as_deref())?,
        };
        Ok(Some(Handled {
            event,
            decision,
            result,
            latency: started.elapsed(),
        }))
    }

    /// Verifies the running kernel's header after `event`, rechecking once before calling it
    /// stale, and runs `on_stale` when it is.
    fn check_live(&mut self, event: &Event, on_stale: Option<&str>) -> Result<WatchResult> {
        let state = self.state()?;
        let mut diffs = crate::verify::compare(&loaded_header(&self.root, &state)?, &state)?;
        if !diffs.is_empty() {
            std::thread::sleep(STALE_RECHECK_DELAY);
            let state = self.state()?;
            diffs = crate::verify::compare(&loaded_header(&self.root, &state)?, &state)?;
        }
        if diffs.is_empty() {
            return Ok(WatchResult::LiveOk);
        }
        self.stale_seen = true;
        if !state.profile.crash_hotplug {
            diffs[0].message = format!("{}; {NO_HOTPLUG_NOTE}", diffs[0].message);
        }
        let on_stale = match on_stale {
            Some(cmd) => Some(
                std::process::Command::new("sh")
                    .arg("-c")
                    .arg(cmd)
                    .env("VMCORE_EVENT", event.to_string())
                    .env("VMCORE_FINDINGS", diffs.len().to_string())
                    .status()
                    .map_err(|source| Error::OnStale {
                        command: cmd.to_string(),
                        source,
                    })?,
            ),
            None => None,
        };
        Ok(WatchResult::Stale {
            differences: diffs,
            on_stale,
        })
    }
}
