//! Open Linux crash dumps and answer questions about them.
//!
//! One model of a dump, whatever its format: ELF vmcores (`/proc/vmcore` copies, QEMU
//! `dump-guest-memory`), makedumpfile's kdump-compressed and flattened formats, and raw kexec
//! elfcorehdr segments all open to the same [`Dump`]:
//!
//! - [`Dump::open`] detects the format from the content and maps the file; it reads headers,
//!   notes and bitmaps only, so a huge dump opens in milliseconds.
//! - [`Dump::cpus`]: one [`CpuContext`] per register note, in dump order, with registers (or
//!   `None` for a zeroed note) and QEMU's extra CPU state.
//! - [`Dump::memory`]: the [`MemoryMap`] (physical, virtual and file ranges).
//! - [`Dump::vmcoreinfo`]: [`VmcoreInfo`] with typed accessors.
//! - [`Dump::read_phys`]: physical reads across ranges, with precise errors.
//! - [`Dump::findings`]: what the readers noticed without failing (truncation, overlaps, zeroed
//!   notes), each with a stable code and a file offset.
//!
//! ```no_run
//! use vmcore::{Dump, PhysAddr};
//! let dump = Dump::open("vmcore")?;
//! for cpu in dump.cpus() {
//!     if let Some(regs) = &cpu.regs {
//!         println!("note {}: pc {:#x}", cpu.note_index, regs.pc());
//!     }
//! }
//! let mut page = [0u8; 4096];
//! dump.read_phys(PhysAddr(0x100000), &mut page)?;
//! # Ok::<(), vmcore::Error>(())
//! ```
//!
//! Feature `parallel` (default) enables rayon for whole-dump scans.
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]
#![deny(missing_docs)]

pub mod convert;
pub mod cpu;
mod dump;
pub mod elf;
mod error;
pub mod extents;
pub mod findings;
pub mod kdump;
pub mod klog;
pub mod memmap;
pub mod notes;
pub mod paging;
pub mod stream;
pub mod vmcoreinfo;

pub use cpu::{CpuContext, CpuProblem, Machine, QemuCpuState, Registers, X86_64Regs};
pub use dump::{
    Dump, DumpData, Extent, Format, PageCounts, Truncation, check_regular_file, detect,
};
pub use elf::Segment;
pub use error::{Error, ReadError, Result};
pub use kdump::KdumpInfo;
pub use kdump_types::{FileOffset, Finding, PhysAddr, PhysRange, Severity, VirtAddr, civil_utc};
pub use klog::{KernelLog, LogRecord};
pub use memmap::{MemoryMap, MemoryRange, RangeKind};
pub use notes::Note;
pub use paging::{PageTables, Translation};
pub use vmcoreinfo::VmcoreInfo;
