//! The memory map of a dump: which physical (and virtual) ranges it describes and where their
//! bytes are in the file.

use kdump_types::{FileOffset, PhysAddr, PhysRange, VirtAddr};

/// Start of the x86_64 kernel-text mapping (`__START_KERNEL_map`). A PT_LOAD whose virtual
/// address is at or above it is the kernel-text alias of RAM another PT_LOAD also describes.
pub const X86_64_START_KERNEL_MAP: u64 = 0xffff_ffff_8000_0000;

/// What kind of range this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeKind {
    /// An ELF PT_LOAD of RAM.
    Load,
    /// The kernel-text PT_LOAD: a second mapping of RAM that another PT_LOAD also covers.
    KernelText,
    /// A run of RAM pages of a kdump-compressed dump (from its first bitmap).
    KdumpRam,
}

/// One range of the dump's memory map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryRange {
    /// Physical range (`[p_paddr, p_paddr + p_memsz)`).
    pub phys: PhysRange,
    /// Virtual address of the start, when the dump gives one (`p_vaddr` ≠ 0).
    pub virt: Option<VirtAddr>,
    /// File offset of the first byte (`p_offset`); `None` when the file holds no data for it
    /// (raw elfcorehdr, kdump-compressed pages).
    pub file_offset: Option<FileOffset>,
    /// Bytes stored in the file (`p_filesz`); the rest up to `phys.len()` reads as zeros.
    pub file_size: u64,
    /// Of `file_size`, how many bytes the file really holds (less when truncated).
    pub present: u64,
    /// Kind.
    pub kind: RangeKind,
    /// Index of the program header, for ELF.
    pub phdr_index: Option<usize>,
    /// `p_flags`, for ELF.
    pub flags: u32,
}

impl MemoryRange {
    /// Bytes of `file_size` that are missing from a truncated file.
    pub fn missing(&self) -> u64 {
        self.file_size - self.present
    }
    /// Virtual range, when known.
    pub fn virt_range(&self) -> Option<(u64, u64)> {
        self.virt
            .map(|v| (v.0, v.0.saturating_add(self.phys.len())))
    }
}

/// Where a physical address's bytes are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    /// In the file at this offset, for this many contiguous bytes.
    File {
        /// File offset.
        offset: u64,
        /// Contiguous bytes available from there.
        len: u64,
    },
    /// Past `p_filesz` of a PT_LOAD whose `p_memsz` is larger: makedumpfile's ELF output marks
    /// the pages its dump level excluded this way, so these bytes are not in the dump (as
    /// libkdumpfile reads them), for this many bytes. [`crate::Dump::set_excluded_as_zero`]
    /// reads them as zeros instead.
    Excluded {
        /// Contiguous excluded bytes.
        len: u64,
    },
    /// Should be in the file at `offset`, but the file ends before (truncated).
    Truncated {
        /// Expected file offset.
        offset: u64,
    },
}

/// The sorted memory map of a dump.
#[derive(Debug, Clone, Default)]
pub struct MemoryMap {
    ranges: Vec<MemoryRange>,
    /// Indexes of ranges used for physical lookups (not kernel-text aliases), sorted by start.
    by_phys: Vec<usize>,
    /// Indexes of ranges with a virtual address, sorted by virtual start.
    by_virt: Vec<usize>,
}

impl MemoryMap {
    /// Build from ranges (any order). Ranges are kept in physical order.
    pub fn new(mut ranges: Vec<MemoryRange>) -> Self {
        ranges.sort_by_key(|r| (r.phys.start, r.kind == RangeKind::KernelText));
        let mut by_phys: Vec<usize> = (0..ranges.len())
            .filter(|&i| ranges[i].kind != RangeKind::KernelText && !ranges[i].phys.is_empty())
            .collect();
        by_phys.sort_by_key(|&i| ranges[i].phys.start);
        let mut by_virt: Vec<usize> = (0..ranges.len())
            .filter(|&i| ranges[i].virt.is_some() && !ranges[i].phys.is_empty())
            .collect();
        by_virt.sort_by_key(|&i| ranges[i].virt.map(|v| v.0));
        MemoryMap {
            ranges,
            by_phys,
            by_virt,
        }
    }
    /// Every range in physical order (kernel-text aliases included).
    pub fn ranges(&self) -> &[MemoryRange] {
        &self.ranges
    }
    /// Number of ranges.
    pub fn len(&self) -> usize {
        self.ranges.len()
    }
    /// True when the map is empty.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }
    /// RAM ranges (kernel-text aliases excluded), in physical order.
    pub fn ram(&self) -> impl Iterator<Item = &MemoryRange> {
        self.by_phys.iter().map(|&i| &self.ranges[i])
    }
    /// Total bytes of RAM described (aliases excluded), saturating: overlapping ranges of a
    /// hostile dump can add up to more than the address space.
    pub fn ram_bytes(&self) -> u64 {
        self.ram()
            .fold(0u64, |sum, r| sum.saturating_add(r.phys.len()))
    }
    /// The RAM range containing `addr`.
    pub fn find_phys(&self, addr: PhysAddr) -> Option<&MemoryRange> {
        let idx = self
            .by_phys
            .partition_point(|&i| self.ranges[i].phys.start.0 <= addr.0);
        // Walk back over ranges starting at or before addr; overlapping maps are rare, so the
        // first hit going backwards is the one with the latest start.
        self.by_phys[..idx]
            .iter()
            .rev()
            .map(|&i| &self.ranges[i])
            .find(|r| r.phys.contains(addr.0))
    }
    /// Translate a virtual address through the dump's own PT_LOAD virtual addresses (direct map
    /// and kernel text), as vmcore-dmesg does. `None` when no PT_LOAD maps it.
    pub fn virt_to_phys(&self, addr: VirtAddr) -> Option<PhysAddr> {
        let idx = self
            .by_virt
            .partition_point(|&i| self.ranges[i].virt.map(|v| v.0).unwrap_or(0) <= addr.0);
        self.by_virt[..idx].iter().rev().find_map(|&i| {
            let r = &self.ranges[i];
            let v = r.virt?.0;
            let off = addr.0 - v;
            (off < r.phys.len()).then(|| PhysAddr(r.phys.start.0 + off))
        })
    }
    /// The start of the first RAM range that begins after `addr`, if any.
    pub fn next_start_after(&self, addr: PhysAddr) -> Option<PhysAddr> {
        let idx = self
            .by_phys
            .partition_point(|&i| self.ranges[i].phys.start.0 <= addr.0);
        self.by_phys.get(idx).map(|&i| self.ranges[i].phys.start)
    }

    /// Whether any RAM range holds a byte of `[start, end)`.
    pub fn covers_any(&self, start: u64, end: u64) -> bool {
        // A range holding `start`, or one starting inside the window.
        self.find_phys(PhysAddr(start)).is_some()
            || self
                .next_start_after(PhysAddr(start))
                .is_some_and(|next| next.0 < end)
    }

    /// True when file bytes (the `p_filesz` part of some range) hold any of `[start, end)`:
    /// libkdumpfile's test for whether a page of an ELF dump is present at all.
    pub fn file_backed_any(&self, start: u64, end: u64) -> bool {
        self.ranges.iter().any(|r| {
            r.file_offset.is_some()
                && r.file_size > 0
                && r.phys.start.0 < end
                && r.phys.start.0.saturating_add(r.file_size) > start
        })
    }

    /// Where the bytes of `addr` are in an ELF dump (file offset, zero fill, or truncated).
    pub fn locate(&self, addr: PhysAddr) -> Option<Location> {
        let r = self.find_phys(addr)?;
        let off_in = addr.0 - r.phys.start.0;
        let file = r.file_offset?;
        if off_in < r.present {
            return Some(Location::File {
                offset: file.0 + off_in,
                len: r.present - off_in,
            });
        }
        if off_in < r.file_size {
            return Some(Location::Truncated {
                offset: file.0.saturating_add(off_in),
            });
        }
        Some(Location::Excluded {
            len: r.phys.len() - off_in,
        })
    }
}
