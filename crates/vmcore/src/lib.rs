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
//! The public surface is what users need: [`Dump`] and its model types (re-exported here),
//! [`klog`] (the kernel log decoders, also usable over any memory reader), [`paging`] (page
//! walks), [`cpu`] (register sets), [`convert`] (ELF output) and [`findings`] (the finding
//! code table). The format readers (`elf`, `kdump`, `notes`, `stream`, `extents`) are private
//! rooms behind [`Dump::open`].
//!
//! Feature `parallel` (default) enables rayon for whole-dump scans. Feature `fuzzing` exposes
//! `vmcore::fuzzing`, the lower-level parsers the cargo-fuzz targets call (`docs/FUZZING.md`).
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]
#![deny(missing_docs)]

pub mod convert;
pub mod cpu;
mod dump;
mod elf;
mod error;
mod extents;
pub mod findings;
mod kdump;
pub mod klog;
mod memmap;
mod notes;
pub mod paging;
mod split;
mod stream;
mod vmcoreinfo;

/// Entry points of the cargo-fuzz targets (`fuzz/`, `docs/FUZZING.md`): parsers below
/// [`Dump::open`] that users never call directly. Only `fuzz/` turns the `fuzzing` feature on.
#[cfg(feature = "fuzzing")]
pub mod fuzzing {
    pub use crate::notes::{Prpsinfo, parse_notes};

    /// The per-CPU contexts of a dump's notes ([`crate::Dump::cpus`] without a dump).
    pub fn contexts_from_notes(
        machine: crate::Machine,
        order: kdump_types::ByteOrder,
        notes: &[crate::Note],
    ) -> Vec<crate::CpuContext> {
        crate::cpu::contexts_from_notes(machine, order, notes)
    }
}

pub use cpu::{Aarch64Regs, CpuContext, CpuProblem, Machine, QemuCpuState, Registers, X86_64Regs};
pub use dump::{
    Dump, DumpData, Extent, Format, PageCounts, Truncation, check_regular_file, detect,
};
pub use elf::Segment;
pub use error::{Error, ReadError, Result};
pub use extents::MAX_EXTENTS;
pub use kdump::{DESC_SCAN_LIMIT, KdumpInfo, MAX_RAM_RANGES};
pub use kdump_types::{
    ByteOrder, FileOffset, Finding, PhysAddr, PhysRange, Severity, VirtAddr, civil_utc,
};
pub use klog::{KernelLog, LogRecord};
pub use memmap::{Location, MemoryMap, MemoryRange, RangeKind};
pub use notes::{Note, Prpsinfo};
pub use paging::{PageTables, Translation};
pub use split::SplitPartInfo;
pub use vmcoreinfo::VmcoreInfo;
