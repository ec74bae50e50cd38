//! The header builder: a mirror of Linux 6.12 `crash_prepare_elf64_headers()` (kernel/crash_core.c)
//! with the memory ranges x86 `prepare_elf_headers()` (arch/x86/kernel/crash.c) hands it.
//!
//! Two phases, as object's `Writer` does: first the RAM ranges are computed (System RAM minus
//! exclusions, with the kernel's split rule and slot limit) so the size is known, then the bytes
//! are written into a zeroed buffer. A [`Builder`] keeps its range list between calls, so
//! rebuilding for a machine of the same shape allocates nothing.

use kdump_types::PhysRange;
use kdump_types::elf::{EHDR64_SIZE, PF_R, PF_W, PF_X, PHDR64_SIZE, PN_XNUM, PT_LOAD, PT_NOTE};

use crate::error::{Error, Result};
use crate::profile::ExcludeForm;
use crate::state::SystemState;
use kdump_types::elf::Elf64Phdr;

/// `ELF_CORE_HEADER_ALIGN`: the kernel rounds the header buffer up to this, and copies that many
/// bytes when it rewrites the header in place.
pub const ELF_CORE_HEADER_ALIGN: usize = 4096;

/// Largest program-header count we write: `e_phnum` is a `u16` and 0xffff means `PN_XNUM`.
pub const MAX_PHDRS: usize = PN_XNUM as usize - 1;

/// Extra range slots x86 6.12 `fill_up_crash_elf_data()` allocates beyond the System RAM count
/// ("Exclusion of crash region and/or crashk_low_res may cause another range split").
pub const EXTRA_RANGE_SLOTS: usize = 2;

/// Bytes used by a header with `phdrs` program headers: `64 + phdrs * 56`.
pub const fn header_len(phdrs: usize) -> usize {
    EHDR64_SIZE + phdrs * PHDR64_SIZE
}

/// `ALIGN(header_len(phdrs), ELF_CORE_HEADER_ALIGN)`: the kernel's `elf_sz`.
pub const fn aligned_header_len(phdrs: usize) -> usize {
    header_len(phdrs).div_ceil(ELF_CORE_HEADER_ALIGN) * ELF_CORE_HEADER_ALIGN
}

/// `crash_exclude_mem_range()` (kernel/crash_core.c, 6.8+ form used by 6.12) on inclusive
/// `[start, end]` ranges sorted ascending.
///
/// Every range the exclusion overlaps is trimmed; a range it covers completely is removed; an
/// interior hit splits the range in two, which needs a free slot (`ranges.len() <
/// max_nr_ranges`) or fails with the kernel's -ENOMEM ([`Error::OutOfRangeSlots`]). Ranges
/// after `mend` stop the walk.
pub fn crash_exclude_mem_range(
    ranges: &mut Vec<(u64, u64)>,
    max_nr_ranges: usize,
    mstart: u64,
    mend: u64,
) -> Result<()> {
    let mut i = 0;
    while i < ranges.len() {
        let (start, end) = ranges[i];
        if mstart > end {
            i += 1;
            continue;
        }
        // Ranges are ascending: nothing after this one can overlap.
        if mend < start {
            break;
        }
        let p_start = mstart.max(start);
        let p_end = mend.min(end);
        if p_start == start && p_end == end {
            ranges.remove(i);
            continue;
        } else if p_start > start && p_end < end {
            if ranges.len() >= max_nr_ranges {
                return Err(Error::OutOfRangeSlots {
                    excluded: PhysRange::from_inclusive(mstart, mend),
                    slots: max_nr_ranges,
                });
            }
            // Both bounds are interior, so p_start >= 1 and p_end < u64::MAX.
            ranges[i].1 = p_start - 1;
            ranges.insert(i + 1, (p_end + 1, end));
            i += 2;
            continue;
        } else if p_start != start {
            ranges[i].1 = p_start - 1;
        } else {
            ranges[i].0 = p_end + 1;
        }
        i += 1;
    }
    Ok(())
}

/// `crash_exclude_mem_range()` as Linux before 6.8 has it (`kernel/kexec_file.c`, then
/// `kernel/crash_core.c`; Debian 12's 6.1): ranges the exclusion covers completely are
/// removed, then the *first* range it partially overlaps is trimmed or split and the walk
/// stops, so an exclusion reaching into a second range leaves that one alone. The split's new
/// range goes right after the split one. -ENOMEM ([`Error::OutOfRangeSlots`]) when no slot is
/// free (the kernel checks only `i == max_nr_ranges - 1` and would write past its array
/// otherwise; we refuse both).
pub fn crash_exclude_mem_range_pre_6_8(
    ranges: &mut Vec<(u64, u64)>,
    max_nr_ranges: usize,
    mstart: u64,
    mend: u64,
) -> Result<()> {
    let mut i = 0;
    let mut split: Option<(u64, u64)> = None;
    while i < ranges.len() {
        let (start, end) = ranges[i];
        if mstart > end || mend < start {
            i += 1;
            continue;
        }
        let p_start = mstart.max(start);
        let p_end = mend.min(end);
        if p_start == start && p_end == end {
            // "Found completely overlapping range": shift the rest left, look again here.
            ranges.remove(i);
            continue;
        }
        if p_start > start && p_end < end {
            // The kernel trims before it finds no slot; the caller drops the whole header
            // then, so refuse before touching anything.
            if ranges.len() >= max_nr_ranges || i + 1 >= max_nr_ranges {
                return Err(Error::OutOfRangeSlots {
                    excluded: PhysRange::from_inclusive(mstart, mend),
                    slots: max_nr_ranges,
                });
            }
            // Both bounds are interior, so p_start >= 1 and p_end < u64::MAX.
            ranges[i].1 = p_start - 1;
            split = Some((p_end + 1, end));
        } else if p_start != start {
            ranges[i].1 = p_start - 1;
        } else {
            ranges[i].0 = p_end + 1;
        }
        break;
    }
    if let Some(new) = split {
        ranges.insert(i + 1, new);
    }
    Ok(())
}

/// Reusable builder: keeps its range list so repeated builds allocate nothing once warm.
#[derive(Debug, Default, Clone)]
pub struct Builder {
    /// Inclusive RAM ranges after exclusions (the kernel's `cmem->ranges`).
    ranges: Vec<(u64, u64)>,
}

impl Builder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// A builder whose range list never reallocates for up to `ranges` System RAM ranges.
    pub fn with_range_capacity(ranges: usize) -> Self {
        Self {
            ranges: Vec::with_capacity(ranges.saturating_add(EXTRA_RANGE_SLOTS)),
        }
    }

    /// Computes the RAM PT_LOAD ranges for `state`, as x86 `prepare_elf_headers()` does:
    /// System RAM, then exclude low 1 MiB, `crashk_res`, `crashk_low_res` (and on 6.17+
    /// profiles each CMA crash range) in that order, with `nr_ranges + 2 (+ crashk_cma_cnt)`
    /// slots and the profile's `crash_exclude_mem_range()` form. Returns inclusive
    /// `[start, end]` pairs.
    pub fn memory_ranges(&mut self, state: &SystemState) -> Result<&[(u64, u64)]> {
        self.ranges.clear();
        let profile = state.profile;
        let slots = state
            .system_ram
            .len()
            .saturating_add(profile.extra_range_slots(state.crash_cma.len()));
        self.ranges.reserve(slots);
        self.ranges
            .extend(state.system_ram.iter().map(|r| (r.start.0, r.last())));
        for ex in state.excluded_ranges() {
            if ex.is_empty() {
                continue;
            }
            match profile.exclude {
                ExcludeForm::Since68 => {
                    crash_exclude_mem_range(&mut self.ranges, slots, ex.start.0, ex.last())?
                }
                ExcludeForm::Pre68 => {
                    crash_exclude_mem_range_pre_6_8(&mut self.ranges, slots, ex.start.0, ex.last())?
                }
            }
        }
        Ok(&self.ranges)
    }

    /// Number of program headers the header for `state` has; checks it against `PN_XNUM`.
    pub fn phdr_count(&mut self, state: &SystemState) -> Result<usize> {
        let ranges = self.memory_ranges(state)?.len();
        let phdrs = state.cpus.len() + 2 + ranges;
        if phdrs > MAX_PHDRS {
            return Err(Error::TooManyPhdrs {
                phdrs,
                max: MAX_PHDRS,
            });
        }
        Ok(phdrs)
    }

    /// Writes the header for `state` at the start of `out` and zeroes the rest of the kernel's
    /// page-aligned buffer (`elf_sz`), i.e. exactly what the kernel's `memcpy_flushcache()`
    /// would put there. Bytes of `out` after `elf_sz` are not touched.
    ///
    /// Fails, writing nothing, when the state is invalid or the page-aligned header is longer
    /// than `out` (the kernel's `elfsz > memsz` check). Returns the used length
    /// (`64 + e_phnum * 56`).
    pub fn write_into(&mut self, state: &SystemState, out: &mut [u8]) -> Result<usize> {
        state.validate()?;
        let phdrs = self.phdr_count(state)?;
        let used = header_len(phdrs);
        let need = aligned_header_len(phdrs);
        if need > out.len() {
            return Err(Error::Unfit {
                phdrs,
                need,
                capacity: out.len(),
            });
        }
        let (head, rest) = out.split_at_mut(EHDR64_SIZE);
        // phdrs <= MAX_PHDRS < u16::MAX, checked by phdr_count.
        let e_phnum = u16::try_from(phdrs).map_err(|_| Error::TooManyPhdrs {
            phdrs,
            max: MAX_PHDRS,
        })?;
        if let Ok(h) = <&mut [u8; EHDR64_SIZE]>::try_from(head) {
            crate::raw::kernel_ehdr(e_phnum).encode(h);
        }
        self.write_phdrs(
            state,
            0,
            rest.get_mut(..used - EHDR64_SIZE).unwrap_or_default(),
        );
        // The kernel's buffer is vzalloc'ed: everything up to elf_sz after the phdrs is zero.
        if let Some(tail) = out.get_mut(used..need) {
            tail.fill(0);
        }
        Ok(used)
    }

    /// Writes program headers `first..first + table.len() / 56` of the header for `state` (ranges
    /// already computed by [`Builder::memory_ranges`]), in the kernel's order:
    ///
    /// 1. one PT_NOTE per possible CPU (`for_each_possible_cpu`), pointing at `crash_notes`;
    /// 2. the VMCOREINFO note;
    /// 3. the kernel text mapping (`need_kernel_map` on x86_64), `p_align` never set;
    /// 4. one PT_LOAD per RAM range, `p_vaddr = __va(start) = start + page_offset_base`.
    ///
    /// Any index range can be written, so the update path can write, check and compare the
    /// table in cache-sized batches. Slots past the last phdr, and a partial slot at the end
    /// of `table`, are left alone.
    pub(crate) fn write_phdrs(&self, state: &SystemState, first: usize, table: &mut [u8]) {
        let ncpus = state.cpus.len();
        let mut slots = table.chunks_exact_mut(PHDR64_SIZE);
        // Each section zips its items first, so a section that runs out takes no slot.
        let cpus = state.cpus.get(first..).unwrap_or_default();
        for (cpu, slot) in cpus.iter().zip(slots.by_ref()) {
            slot.copy_from_slice(&note(cpu.crash_notes.0, cpu.crash_notes_size).to_bytes());
        }
        let kt = state.kernel_text;
        let fixed = [
            note(state.vmcoreinfo.addr.0, state.vmcoreinfo.size),
            Elf64Phdr {
                p_vaddr: kt.vaddr.0,
                ..load(kt.paddr.0, kt.size)
            },
        ];
        let skip = first.saturating_sub(ncpus);
        for (ph, slot) in fixed.iter().skip(skip).zip(slots.by_ref()) {
            slot.copy_from_slice(&ph.to_bytes());
        }
        let base = state.page_offset_base.0;
        let ranges = self.ranges.get(first.saturating_sub(ncpus + 2)..);
        for (&(start, end), slot) in ranges.unwrap_or_default().iter().zip(slots) {
            let len = end.wrapping_sub(start).wrapping_add(1);
            let ph = Elf64Phdr {
                p_vaddr: start.wrapping_add(base),
                ..load(start, len)
            };
            slot.copy_from_slice(&ph.to_bytes());
        }
    }
}

/// A PT_NOTE of `size` bytes at physical `addr` (`p_offset = p_paddr`), everything else 0.
fn note(addr: u64, size: u64) -> Elf64Phdr {
    Elf64Phdr {
        p_type: PT_NOTE,
        p_offset: addr,
        p_paddr: addr,
        p_filesz: size,
        p_memsz: size,
        ..Elf64Phdr::default()
    }
}

/// A PT_LOAD of `size` bytes at physical `addr`, RWX, `p_align` 0; the caller sets `p_vaddr`.
fn load(addr: u64, size: u64) -> Elf64Phdr {
    Elf64Phdr {
        p_type: PT_LOAD,
        p_flags: PF_R | PF_W | PF_X,
        p_offset: addr,
        p_paddr: addr,
        p_filesz: size,
        p_memsz: size,
        ..Elf64Phdr::default()
    }
}

/// Builds the header for `state` into a zeroed buffer of `capacity` bytes: the bytes Linux 6.12
/// `crash_prepare_elf64_headers()` produces on x86_64, followed by zero padding, i.e. the whole
/// segment as `kexec_file_load` leaves it when `capacity` is the reserved segment size
/// ([`KernelConfig::segment_capacity`](crate::KernelConfig::segment_capacity)).
///
/// Use [`kernel_buffer_len`] as `capacity` for the bare page-aligned header. Errors when the
/// page-aligned header does not fit `capacity`, when the range exclusions run out of slots, or
/// when `e_phnum` would overflow.
pub fn build(state: &SystemState, capacity: usize) -> Result<Vec<u8>> {
    let mut builder = Builder::new();
    // Size first, so an unfit header is reported before `capacity` bytes are allocated.
    let phdrs = {
        state.validate()?;
        builder.phdr_count(state)?
    };
    let need = aligned_header_len(phdrs);
    if need > capacity {
        return Err(Error::Unfit {
            phdrs,
            need,
            capacity,
        });
    }
    let mut out = vec![0u8; capacity];
    builder.write_into(state, &mut out)?;
    Ok(out)
}

/// The kernel's own buffer length for `state` (`elf_sz`, page-aligned).
pub fn kernel_buffer_len(state: &SystemState) -> Result<usize> {
    Ok(aligned_header_len(Builder::new().phdr_count(state)?))
}

/// The RAM ranges the header for `state` describes (System RAM minus exclusions).
pub fn memory_ranges(state: &SystemState) -> Result<Vec<PhysRange>> {
    let mut b = Builder::new();
    Ok(b.memory_ranges(state)?
        .iter()
        .map(|&(s, e)| PhysRange::from_inclusive(s, e))
        .collect())
}
