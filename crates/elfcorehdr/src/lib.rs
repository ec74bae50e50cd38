//! The x86_64 kdump elfcorehdr, exactly as Linux builds and rewrites it: 6.12 by default, 6.1
//! and 6.17+/7.x through a [`KernelProfile`] (docs/KERNELS.md).
//!
//! The elfcorehdr is the ELF64 `ET_CORE` header kexec loads for the crash kernel: one PT_NOTE
//! per possible CPU (its `crash_notes`), one PT_NOTE for VMCOREINFO, one PT_LOAD for the kernel
//! text, one PT_LOAD per System RAM range minus the low 1 MiB and the crash kernel reservation.
//! Since 6.6 the kernel rewrites it in place on memory online/offline (CONFIG_CRASH_HOTPLUG).
//! This crate does the same work in userspace, byte for byte, so tools can build, check and
//! maintain headers, and tell when the kernel's copy went stale.
//!
//! - [`SystemState`]: what the kernel reads (CPUs + `crash_notes`, VMCOREINFO, System RAM,
//!   exclusions, kernel text, direct-map base, memory blocks). [`SystemState::from_root`] reads
//!   it from `/` or from a captured procfs/sysfs folder.
//! - [`build`]: the header bytes (`crash_prepare_elf64_headers()`), padded to a capacity;
//!   [`KernelConfig::segment_capacity`] gives the size the kernel reserves (917,680 bytes on
//!   Debian's MAXSMP 6.12).
//! - [`Elfcorehdr::parse`]: the model back from bytes, with [`Finding`]s for anything unusual;
//!   tolerant of kexec-tools and older kernels' headers.
//! - [`Updater::update_in_place`] / [`update_in_place`]: apply a hotplug [`Event`] the way the
//!   kernel decides ([`decide`]), all or nothing.
//! - [`verify::compare`]: differences between a header and a state.
//! - [`findings::CODES`]: every finding code of this crate, registered once.
//! - [`live`]: the running kernel's header via `/proc/kcore`, and the uevent socket; [`uevent`]:
//!   the one uevent parser and uevent → hotplug change mapping; [`watch`]: the [`watch::Watcher`]
//!   that follows live hotplug; [`mod@file`]: atomic file replacement.
//!
//! ```no_run
//! use elfcorehdr::{Event, KernelConfig, SystemState, build, update_in_place};
//!
//! # fn main() -> Result<(), elfcorehdr::Error> {
//! let state = SystemState::from_root("testdata/real/steps/root-00-boot")?;
//! let capacity = state.segment_capacity(&KernelConfig::DEBIAN_6_12);
//! let mut segment = build(&state, capacity)?;
//!
//! // Later, after a DIMM's block went online, with the state read again:
//! let after = SystemState::from_root("testdata/real/steps/root-01-mem-hotadd-128M")?;
//! let event = Event::parse("memory-online:0x100000000-0x107ffffff", after.memory_block_size)?;
//! let changes = update_in_place(&mut segment, &after, event)?;
//! assert_eq!((changes.phnum_before, changes.phnum_after), (8, 9));
//! # Ok(())
//! # }
//! ```
//!
//! The core (`build`, `parse`, `update`) works on byte slices and does no I/O; `from_root`,
//! [`live`] and [`mod@file`] are the only parts that touch the filesystem. No feature flags.
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]
#![deny(missing_docs)]

mod build;
mod error;
pub mod file;
pub mod findings;
mod layout;
pub mod live;
mod parse;
mod profile;
mod raw;
mod role;
mod root;
mod state;
pub mod uevent;
mod update;
pub mod verify;
pub mod watch;

pub use build::{
    Builder, ELF_CORE_HEADER_ALIGN, EXTRA_RANGE_SLOTS, MAX_PHDRS, aligned_header_len, build,
    crash_exclude_mem_range, crash_exclude_mem_range_pre_6_8, header_len, kernel_buffer_len,
    memory_ranges,
};
pub use error::{Error, Result};
pub use kdump_types::{Finding, PhysAddr, PhysRange, Severity, VirtAddr};
pub use layout::validate_kernel_layout;
pub use parse::{Elfcorehdr, LoadSegment, NoteSegment, START_KERNEL_MAP};
pub use profile::{ExcludeForm, KernelProfile};
pub use raw::{Elf64Ehdr, Elf64Phdr, ElfHeader, ProgramHeader};
pub use role::PhdrRole;
pub use root::{
    Iomem, crash_kernel_loaded, kernel_text_from_kcore, page_offset_base_from_kcore,
    parse_cma_ranges, parse_cpulist, parse_iomem, parse_kallsyms,
};
pub use state::{
    BlockState, CpuState, CrashHotplug, KernelConfig, KernelText, LOW_1M, MemoryBlock,
    NoteLocation, SystemState, format_cpulist,
};
pub use update::{
    Changes, Decision, Event, LoadMode, NoOpReason, Updater, check_event, decide, update_in_place,
};
