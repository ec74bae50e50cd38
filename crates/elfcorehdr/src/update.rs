//! In-place regeneration on hotplug events, deciding as Linux 6.12 does.
//!
//! The kernel (kernel/crash_core.c `crash_handle_hotplug_event()` → arch/x86/kernel/crash.c
//! `arch_crash_handle_hotplug_event()`) is called on MEM_ONLINE / MEM_OFFLINE (memory notifier)
//! and on CPU online / offline (`cpuhp` state CPUHP_BP_PREPARE_DYN). For CPU events x86 returns
//! early when the image was loaded with `kexec_file_load` or the header was already rewritten
//! once, because `crash_prepare_elf64_headers()` already describes every *possible* CPU. For
//! memory events it rebuilds the header from scratch (fresh iomem walk), checks the
//! page-aligned size against the segment and copies it over the old one.
//!
//! [`Updater::update_in_place`] does the same on a byte slice, except that it refuses events
//! that name an unknown CPU or memory block, and that the new header is built into a scratch
//! buffer and validated before a single byte of the target changes.

use std::fmt;

use kdump_types::{PhysRange, parse_hex};

use kdump_types::elf::{EHDR64_SIZE, PHDR64_SIZE};

use crate::build::{Builder, ELF_CORE_HEADER_ALIGN, MAX_PHDRS, aligned_header_len, header_len};
use crate::error::{Error, Result};
use crate::layout::{PhdrLayoutCheck, check_kernel_ehdr, validate_kernel_layout};
use crate::parse::read_header;
use crate::state::SystemState;

/// Program headers written, checked and compared at a time: 4088 bytes, about one page.
const BATCH_PHDRS: usize = ELF_CORE_HEADER_ALIGN / PHDR64_SIZE;

/// Pages of the largest possible header (`MAX_PHDRS` phdrs, page-aligned).
const MAX_PAGES: usize = aligned_header_len(MAX_PHDRS) / ELF_CORE_HEADER_ALIGN;

/// The pages of the new header that differ from the target: a fixed bitset, so marking them
/// allocates nothing.
#[derive(Debug)]
struct DirtyPages {
    bits: [u64; MAX_PAGES.div_ceil(64)],
}

impl Default for DirtyPages {
    fn default() -> Self {
        Self {
            bits: [0; MAX_PAGES.div_ceil(64)],
        }
    }
}

impl DirtyPages {
    /// Compares `new` with `old` (the same bytes of the new header and of the target, starting
    /// at offset `at`, equal lengths) page by page and marks the pages where they differ.
    /// Returns whether anything differs.
    fn mark_differences(&mut self, at: usize, new: &[u8], old: &[u8]) -> bool {
        let mut differs = false;
        let mut off = 0;
        while off < new.len() {
            let page = (at + off) / ELF_CORE_HEADER_ALIGN;
            let end = ((page + 1) * ELF_CORE_HEADER_ALIGN - at).min(new.len());
            if new.get(off..end) != old.get(off..end) {
                differs = true;
                if let Some(w) = self.bits.get_mut(page / 64) {
                    *w |= 1 << (page % 64);
                }
            }
            off = end;
        }
        differs
    }

    /// Marked pages, ascending.
    fn pages(&self) -> impl Iterator<Item = usize> + '_ {
        self.bits.iter().enumerate().flat_map(|(w, &bits)| {
            let mut rest = bits;
            std::iter::from_fn(move || {
                let b = rest.trailing_zeros() as usize;
                rest &= rest.checked_sub(1)?;
                Some(w * 64 + b)
            })
        })
    }
}

/// A hotplug event, as uevents and the CLI name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// Memory blocks covering the range went online (kernel: MEM_ONLINE → ADD_MEMORY).
    MemoryOnline(PhysRange),
    /// Memory blocks covering the range went offline (kernel: MEM_OFFLINE → REMOVE_MEMORY).
    MemoryOffline(PhysRange),
    /// Memory blocks were added (hot-add, before onlining). No crash callback.
    MemoryAdd(PhysRange),
    /// Memory blocks were removed (after offlining). No crash callback.
    MemoryRemove(PhysRange),
    /// A CPU came online (kernel: ADD_CPU).
    CpuOnline(u32),
    /// A CPU went offline (kernel: REMOVE_CPU).
    CpuOffline(u32),
    /// A CPU device was added (became present). No crash callback.
    CpuAdd(u32),
    /// A CPU device was removed. No crash callback.
    CpuRemove(u32),
}

impl Event {
    /// Parses `memory-online:0x140000000-0x147ffffff` (inclusive end, as /proc/iomem prints),
    /// `memory-offline:memory40`, `memory-add:…`, `memory-remove:…`, `cpu-online:3`,
    /// `cpu-offline:3`, `cpu-add:3`, `cpu-remove:3`. Memory block names (`memoryN`) need
    /// `block_size` to become a range; pass `None` when unknown.
    pub fn parse(text: &str, block_size: Option<u64>) -> Result<Event> {
        let bad = |what| Error::BadEvent {
            text: text.to_string(),
            what,
        };
        let (kind, arg) = text
            .trim()
            .split_once(':')
            .ok_or_else(|| bad("missing ':'"))?;
        let arg = arg.trim();
        let cpu = || -> Result<u32> {
            arg.trim_start_matches("cpu")
                .parse::<u32>()
                .map_err(|_| bad("CPU number is not a decimal u32"))
        };
        let range = || -> Result<PhysRange> {
            if let Some(n) = arg.strip_prefix("memory") {
                let n: u64 = n.parse().map_err(|_| bad("memoryN: N is not decimal"))?;
                let bs = block_size
                    .ok_or_else(|| bad("memoryN needs the block size (give a range instead)"))?;
                let start = n.checked_mul(bs).ok_or_else(|| bad("memoryN overflows"))?;
                return Ok(PhysRange::from_start_len(start, bs));
            }
            let (a, b) = arg
                .split_once('-')
                .ok_or_else(|| bad("range must be START-END"))?;
            let a = parse_hex(a).ok_or_else(|| bad("range start is not hex"))?;
            let b = parse_hex(b).ok_or_else(|| bad("range end is not hex"))?;
            if b < a || b == u64::MAX {
                return Err(bad("range end before start (the end is inclusive)"));
            }
            Ok(PhysRange::from_inclusive(a, b))
        };
        Ok(match kind {
            "memory-online" => Event::MemoryOnline(range()?),
            "memory-offline" => Event::MemoryOffline(range()?),
            "memory-add" => Event::MemoryAdd(range()?),
            "memory-remove" => Event::MemoryRemove(range()?),
            "cpu-online" => Event::CpuOnline(cpu()?),
            "cpu-offline" => Event::CpuOffline(cpu()?),
            "cpu-add" => Event::CpuAdd(cpu()?),
            "cpu-remove" => Event::CpuRemove(cpu()?),
            _ => return Err(bad("unknown event kind")),
        })
    }

    /// The CPU the event names, if it is a CPU event.
    pub fn cpu(&self) -> Option<u32> {
        match *self {
            Event::CpuOnline(c) | Event::CpuOffline(c) | Event::CpuAdd(c) | Event::CpuRemove(c) => {
                Some(c)
            }
            _ => None,
        }
    }

    /// The memory range the event names, if it is a memory event.
    pub fn memory_range(&self) -> Option<PhysRange> {
        match *self {
            Event::MemoryOnline(r)
            | Event::MemoryOffline(r)
            | Event::MemoryAdd(r)
            | Event::MemoryRemove(r) => Some(r),
            _ => None,
        }
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::MemoryOnline(r) => write!(f, "memory-online:{r}"),
            Event::MemoryOffline(r) => write!(f, "memory-offline:{r}"),
            Event::MemoryAdd(r) => write!(f, "memory-add:{r}"),
            Event::MemoryRemove(r) => write!(f, "memory-remove:{r}"),
            Event::CpuOnline(c) => write!(f, "cpu-online:{c}"),
            Event::CpuOffline(c) => write!(f, "cpu-offline:{c}"),
            Event::CpuAdd(c) => write!(f, "cpu-add:{c}"),
            Event::CpuRemove(c) => write!(f, "cpu-remove:{c}"),
        }
    }
}

/// How the crash image was loaded, which decides what CPU events do on x86.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LoadMode {
    /// `kexec_file_load` (`kexec -s`): `image->file_mode`.
    #[default]
    KexecFile,
    /// `kexec_load` with `--hotplug` (KEXEC_UPDATE_ELFCOREHDR): the header is kexec-tools' until
    /// the kernel first rewrites it (`image->elfcorehdr_updated`).
    KexecLoad {
        /// `image->elfcorehdr_updated`.
        updated: bool,
    },
}

/// Why the kernel leaves the header alone for an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoOpReason {
    /// x86, CPU online/offline, kexec_file image or header already rewritten once:
    /// "crash_prepare_elf64_headers() has already described all possible CPUs".
    AllPossibleCpusDescribed,
    /// Add/remove of a device: the crash callbacks hang on online/offline only (memory notifier
    /// MEM_ONLINE/MEM_OFFLINE, cpuhp CPUHP_BP_PREPARE_DYN), so the kernel does not run them.
    NotACrashHotplugTrigger,
    /// The kernel has no crash hotplug (before 6.6, or built without `CONFIG_CRASH_HOTPLUG`):
    /// it never rewrites the header; only a reload by userspace (kdump's udev rule) would.
    NoCrashHotplug,
}

impl fmt::Display for NoOpReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NoOpReason::AllPossibleCpusDescribed => {
                "no-op: the header already describes every possible CPU (x86 skips CPU events for kexec_file images and after the first update)"
            }
            NoOpReason::NotACrashHotplugTrigger => {
                "no-op: the kernel runs crash hotplug only on online/offline, not on add/remove"
            }
            NoOpReason::NoCrashHotplug => {
                "no-op: this kernel has no crash hotplug and never rewrites the header; only reloading the crash kernel (kdump's udev rule) would"
            }
        })
    }
}

/// What the kernel does for an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Rebuild from the current state and overwrite.
    Regenerate,
    /// Leave the header as it is.
    NoOp(NoOpReason),
}

/// The 6.12 x86 decision for `event` under `mode`.
pub fn decide(event: &Event, mode: LoadMode) -> Decision {
    let cpu_shortcut = match mode {
        LoadMode::KexecFile => true,
        LoadMode::KexecLoad { updated } => updated,
    };
    match event {
        Event::MemoryOnline(_) | Event::MemoryOffline(_) => Decision::Regenerate,
        Event::CpuOnline(_) | Event::CpuOffline(_) => {
            if cpu_shortcut {
                Decision::NoOp(NoOpReason::AllPossibleCpusDescribed)
            } else {
                Decision::Regenerate
            }
        }
        Event::MemoryAdd(_) | Event::MemoryRemove(_) | Event::CpuAdd(_) | Event::CpuRemove(_) => {
            Decision::NoOp(NoOpReason::NotACrashHotplugTrigger)
        }
    }
}

/// What an update did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changes {
    /// The event.
    pub event: Event,
    /// What the kernel decides for it.
    pub decision: Decision,
    /// `e_phnum` before.
    pub phnum_before: u16,
    /// `e_phnum` after.
    pub phnum_after: u16,
    /// Indexes of program headers whose bytes changed (or appeared); empty for a no-op.
    pub changed_phdrs: Vec<u16>,
    /// True when the ELF header's bytes changed (in practice: `e_phnum`).
    pub ehdr_changed: bool,
    /// Bytes written to the target (0 for a no-op): the page-aligned new header plus any
    /// stale old-header bytes beyond it that were zeroed.
    pub bytes_written: usize,
}

impl Changes {
    /// True when the target's bytes differ from before.
    pub fn changed(&self) -> bool {
        self.ehdr_changed || !self.changed_phdrs.is_empty()
    }
}

/// Reusable in-place updater: keeps its builder, scratch buffer and change list, so updates of
/// a machine that does not grow allocate nothing after the first.
#[derive(Debug, Default)]
pub struct Updater {
    builder: Builder,
    scratch: Vec<u8>,
    changes: Option<Changes>,
    mode: LoadMode,
}

impl Updater {
    /// An updater for an image loaded with `mode`.
    pub fn new(mode: LoadMode) -> Self {
        Self {
            mode,
            ..Self::default()
        }
    }

    /// The load mode (it becomes `KexecLoad { updated: true }` after the first rewrite of a
    /// kexec_load image, as `image->elfcorehdr_updated` does).
    pub fn mode(&self) -> LoadMode {
        self.mode
    }

    /// Applies `event` to the header in `target` (the whole reserved segment), given the
    /// machine's state *after* the event, as the kernel reads it in its callback.
    ///
    /// On success returns what changed. On any error `target` is untouched: the event is
    /// checked against the state, the new header is built into scratch and validated, and
    /// only then copied.
    pub fn update_in_place(
        &mut self,
        target: &mut [u8],
        state: &SystemState,
        event: Event,
    ) -> Result<&Changes> {
        check_event(state, &event)?;
        let (old, _) = read_header(target)?;
        let phnum_before = old.e_phnum;
        let decision = if state.profile.crash_hotplug {
            decide(&event, self.mode)
        } else {
            Decision::NoOp(NoOpReason::NoCrashHotplug)
        };
        let changes = self.changes.get_or_insert_with(|| Changes {
            event,
            decision,
            phnum_before,
            phnum_after: phnum_before,
            changed_phdrs: Vec::new(),
            ehdr_changed: false,
            bytes_written: 0,
        });
        changes.event = event;
        changes.decision = decision;
        changes.phnum_before = phnum_before;
        changes.phnum_after = phnum_before;
        changes.changed_phdrs.clear();
        changes.ehdr_changed = false;
        changes.bytes_written = 0;
        if decision != Decision::Regenerate {
            return Ok(changes);
        }

        // Size the new header (the kernel's fit check is against the whole segment) ...
        state.validate()?;
        let phdrs = self.builder.phdr_count(state)?;
        let need = aligned_header_len(phdrs);
        if need > target.len() {
            return Err(Error::Unfit {
                phdrs,
                need,
                capacity: target.len(),
            });
        }
        let phnum_after = u16::try_from(phdrs).map_err(|_| Error::TooManyPhdrs {
            phdrs,
            max: MAX_PHDRS,
        })?;
        if self.scratch.len() < need {
            self.scratch.resize(need, 0);
        }
        let scratch = &mut self.scratch[..need];
        let used = header_len(phdrs);
        let target_new = &target[..need];

        // ... build it into scratch and validate all of it: the ELF header, the zero tail up
        // to `elf_sz`, and the phdr table in batches of about a page, each written, checked and
        // compared with the target while it is still in L1 (three passes over ~917 KB each
        // cost more than the work itself). Differences only mark pages; nothing is copied yet.
        let mut dirty = DirtyPages::default();
        let (ehdr, rest) = scratch.split_at_mut(EHDR64_SIZE);
        if let Ok(h) = <&mut [u8; EHDR64_SIZE]>::try_from(&mut *ehdr) {
            crate::raw::kernel_ehdr(phnum_after).encode(h);
        }
        let (table, tail) = rest.split_at_mut(used - EHDR64_SIZE);
        tail.fill(0);
        let ehdr_changed = dirty.mark_differences(0, ehdr, &target_new[..EHDR64_SIZE]);
        dirty.mark_differences(used, tail, &target_new[used..]);
        let mut check = PhdrLayoutCheck::default();
        let appeared_from = usize::from(phnum_before);
        for (b, batch) in table.chunks_mut(BATCH_PHDRS * PHDR64_SIZE).enumerate() {
            let first = b * BATCH_PHDRS;
            let at = header_len(first);
            self.builder.write_phdrs(state, first, batch);
            check.phdrs(batch, at as u64)?;
            let old = &target_new[at..at + batch.len()];
            if batch == old && first + batch.len() / PHDR64_SIZE <= appeared_from {
                continue;
            }
            let pairs = batch
                .chunks_exact(PHDR64_SIZE)
                .zip(old.chunks_exact(PHDR64_SIZE));
            for (k, (new, old)) in pairs.enumerate() {
                let i = first + k;
                let differs = dirty.mark_differences(header_len(i), new, old);
                if differs || i >= appeared_from {
                    changes.changed_phdrs.push(i as u16);
                }
            }
        }
        check.finish(phnum_after)?;
        check_kernel_ehdr(&scratch[..EHDR64_SIZE], phnum_after)?;
        debug_assert!(validate_kernel_layout(scratch, phnum_after).is_ok());

        // ... then overwrite. The result equals copying all `need` bytes (the kernel copies
        // `elf_sz`), but only the pages that differ are written. The old header's bytes beyond
        // that stay in the kernel's segment; we zero them too, so a file target equals a fresh
        // build (nothing reads past e_phnum, so this changes no reader's view).
        let old_used = header_len(usize::from(phnum_before)).min(target.len());
        let mut written = 0;
        for page in dirty.pages() {
            let r = page * ELF_CORE_HEADER_ALIGN..((page + 1) * ELF_CORE_HEADER_ALIGN).min(need);
            written += r.len();
            target[r.clone()].copy_from_slice(&scratch[r]);
        }
        if old_used > need {
            target[need..old_used].fill(0);
            written += old_used - need;
        }
        changes.ehdr_changed = ehdr_changed;
        changes.bytes_written = written;
        changes.phnum_after = phnum_after;
        if let LoadMode::KexecLoad { .. } = self.mode {
            self.mode = LoadMode::KexecLoad { updated: true };
        }
        Ok(changes)
    }
}

/// One-shot [`Updater::update_in_place`] for a `kexec_file_load` image.
pub fn update_in_place(target: &mut [u8], state: &SystemState, event: Event) -> Result<Changes> {
    Updater::new(LoadMode::KexecFile)
        .update_in_place(target, state, event)
        .cloned()
}

/// Refuses events that name something the machine does not have: a CPU that is not possible,
/// or a memory range that is not whole blocks of this machine (for online/offline/add the
/// blocks must exist in the state after the event; for remove they must be whole blocks).
pub fn check_event(state: &SystemState, event: &Event) -> Result<()> {
    if let Some(cpu) = event.cpu() {
        if state.cpu(cpu).is_none() {
            return Err(Error::UnknownCpu {
                event: event.to_string(),
                cpu,
                possible: state.possible_cpulist(),
            });
        }
        return Ok(());
    }
    let Some(range) = event.memory_range() else {
        return Ok(());
    };
    let unknown = |what: String| Error::UnknownMemoryBlock {
        event: event.to_string(),
        what,
    };
    let bs = match state.memory_block_size {
        Some(bs) if bs > 0 => bs,
        _ => {
            return Err(unknown(
                "the state has no memory blocks (no block_size_bytes)".into(),
            ));
        }
    };
    if range.start.0 % bs != 0 || range.end.0 % bs != 0 || range.is_empty() {
        return Err(unknown(format!(
            "{range} is not a whole number of {bs:#x}-byte memory blocks"
        )));
    }
    if matches!(event, Event::MemoryRemove(_)) {
        return Ok(());
    }
    let first = range.start.0 / bs;
    let last = range.end.0 / bs;
    // Bounded by the state's own block list: stop at the first missing block.
    let mut n = first;
    while n < last {
        if state.memory_block(n).is_none() {
            return Err(unknown(format!(
                "memory{n} (at {:#x}) is not a memory block of this machine",
                n.saturating_mul(bs)
            )));
        }
        n += 1;
    }
    Ok(())
}
