//! Hotplug histories, replay to a topology, CPU identity, and diffs of dumps against them.
//!
//! A dump taken after CPUs or memory were hot-plugged is only right if the elfcorehdr followed
//! every event. This crate answers "does this dump match what the machine really had?":
//!
//! - [`History`]: ordered CPU and memory [`Event`]s (with uevent sequence numbers and uptimes
//!   when known), named steps, kernel notices, and the starting [`Topology`]. [`import`] reads
//!   kernel uevent records, the lab's JSON-lines run log, `udevadm monitor --kernel --property`
//!   text, sysfs snapshots, our versioned JSON lines and kernel logs (text or the dump's own).
//! - [`replay`]: the [`Topology`] (online CPUs and memory blocks) at any [`Until`] point; at
//!   the crash by default.
//! - [`identity`]: which CPU wrote each register note of a kernel dump, by finding the note's
//!   bytes in each CPU's `crash_notes` buffer inside the dump, without debug info.
//! - [`diff()`]: the topology against a dump or raw elfcorehdr ([`DumpContent`]) →
//!   [`HotplugFinding`]s with stable codes ([`diff::CODES`]), severities and subjects.
//! - [`scan`]: structural findings and the parallel page-by-page deep scan of `vmcore check`.
//! - [`check`]: the whole checker `vmcore check`, `vmcore diff` and `vmcore-tui` run — a
//!   [`check::CheckContext`] loaded once, then [`check::CheckContext::check_dump`] per dump.
//!
//! ```no_run
//! use hotplug::{DumpContent, Until, diff, import, replay};
//! # fn main() -> Result<(), hotplug::Error> {
//! let mut history = import::import_path("steps/root-00-boot".as_ref())?.strict()?;
//! history.append(import::import_path("history.jsonl".as_ref())?.strict()?);
//! let topology = replay(&history, &Until::Step("06-cpu3-online".into()))?;
//! let dump = vmcore::Dump::open("proc-vmcore.elf")?;
//! let content = DumpContent::of_dump(&dump, None, None, None)?;
//! for f in diff(&topology, &content) {
//!     println!("{} {}: {}", f.finding.code, f.subject, f.finding.message);
//! }
//! # Ok(())
//! # }
//! ```
//!
//! No I/O except the importers' file reads; nothing prints. No feature flags.
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]
#![deny(missing_docs)]

pub mod check;
pub mod diff;
mod error;
mod history;
pub mod identity;
pub mod import;
pub mod scan;
mod topology;

pub use check::{history_findings, inconclusive_reason};
pub use diff::{
    CpuSlot, DumpContent, DumpKind, HeaderUse, HotplugFinding, RamRange, Subject, diff,
};
pub use error::{Error, LineProblem, Result};
pub use history::{
    Action, BlockRef, Change, Event, History, Mark, Notice, NoticeKind, SourceFormat, Until,
    format_seconds_us, parse_seconds_us,
};
pub use identity::{
    BufferContent, CpuIdentity, CrashingCpu, NoteLocator, crashing_cpu_from_log, identify,
};
pub use topology::{
    BlockStatus, CpuStatus, MAX_CPUS, MAX_MEMORY_BLOCKS, Topology, Unresolved, merge, replay,
};
