//! arm64 (AArch64) virtual-to-physical translation from vmcoreinfo alone (no debug info).
//!
//! What vmcoreinfo gives (`arch_crash_save_vmcoreinfo`, arch/arm64/kernel/vmcore_info.c):
//!
//! - `PAGESIZE`: the translation granule, 4, 16 or 64 KiB;
//! - `NUMBER(VA_BITS)`: the configured kernel VA size (`CONFIG_ARM64_VA_BITS`), which fixes
//!   `PAGE_OFFSET = -(1 << VA_BITS)`;
//! - `NUMBER(TCR_EL1_T1SZ)` (5.9+): the VA size the CPU really runs with, `64 - T1SZ`. A kernel
//!   built for 52-bit VAs on a CPU without LPA2 (4 and 16 KiB granules) falls back to 48 (47)
//!   bits and folds one level of its tables at run time, so the walk must use this size;
//! - `NUMBER(kimage_voffset)`: kernel-image virtual minus physical address, which places
//!   `swapper_pg_dir` (`SYMBOL(swapper_pg_dir)`) in physical memory;
//! - `NUMBER(PHYS_OFFSET)`: `memstart_addr`, the physical address of the linear map's start.
//!   With the 52→48-bit fallback the kernel moves it down by `_PAGE_OFFSET(48) - _PAGE_OFFSET(52)`
//!   so that the linear map still starts at `PAGE_OFFSET`: it can be "negative", and every
//!   sum with it is done in wrapping `u64` arithmetic, as the kernel does;
//! - `KERNELOFFSET`: the KASLR offset of the image (reported, not needed to translate).
//!
//! With 64 KiB pages the 52→48-bit fallback keeps the table at its 52-bit shape (the kernel
//! offsets TTBR1 instead), so the walk uses `VA_BITS` there, not `TCR_EL1_T1SZ`.
//!
//! Descriptors (pgtable-hwdef.h): bits `[1:0]` are `0b11` for a table (or, at the last level,
//! a page), `0b01` for a block at a level that allows one, anything else is invalid. Output
//! addresses are bits `[47:PAGE_SHIFT]`; with 64 KiB pages bits `[15:12]` hold PA `[51:48]`
//! (FEAT_LPA); with 52-bit VAs on 4/16 KiB pages (FEAT_LPA2) bits `[49:48]` are PA `[49:48]`
//! and bits `[9:8]` PA `[51:50]`. The contiguous bit (52) is a TLB hint: every entry of a
//! contiguous run still holds its own output address, so the walk only reports it.
//!
//! Reads ([`crate::paging::VirtReader`]) take the linear map by arithmetic where the result lands
//! in the dump's RAM (a KASAN shadow address past the linear map's real end would not, and
//! vmcoreinfo does not say where that end is) and walk everything else, the kernel image
//! included: vmcoreinfo does not bound the image either, and `kimage_voffset` applied past its
//! end would be a silent wrong answer. `kimage_voffset` places `swapper_pg_dir` itself, and
//! [`Arm64Space::kimage_to_phys`] is there for callers that know an address is in the image.
//!
//! The walk is bounded by construction: at most five levels, and a table that points back to
//! a table of the same walk is reported as a loop.

use kdump_types::{PhysAddr, VirtAddr};

use super::{PhysReader, RootSource, Translation, WalkStep};
use crate::error::{Error, Result};
use crate::vmcoreinfo::VmcoreInfo;

/// Descriptor type bits.
const DESC_TYPE_MASK: u64 = 0b11;
/// A table descriptor (not last level) or a page descriptor (last level).
const DESC_TABLE_OR_PAGE: u64 = 0b11;
/// A block descriptor (not last level).
const DESC_BLOCK: u64 = 0b01;
/// `PTE_CONT`: the entry is one of a contiguous run (a TLB hint).
const DESC_CONT: u64 = 1 << 52;

/// The largest VA size the architecture has (52 bits, FEAT_LVA / FEAT_LPA2).
pub const MAX_VA_BITS: u32 = 52;
/// The smallest VA size a Linux configuration uses (36 bits: 16 KiB pages, 2 levels).
pub const MIN_VA_BITS: u32 = 36;

/// How a set of arm64 tables is shaped: granule, VA size, levels, descriptor format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arm64Layout {
    /// log2 of the granule: 12, 14 or 16.
    pub page_shift: u32,
    /// VA bits the walk resolves (what TTBR1's table is shaped for).
    pub va_bits: u32,
    /// Levels of tables: 2 to 5.
    pub levels: u8,
    /// Descriptor bits that hold output-address bits in place (`[47:PAGE_SHIFT]`, or
    /// `[49:PAGE_SHIFT]` with LPA2).
    pa_low_mask: u64,
    /// Descriptor bits that hold the high output-address bits elsewhere, and how far left they
    /// move (64 KiB: `[15:12]` << 36; LPA2: `[9:8]` << 42).
    pa_high: (u64, u32),
}

impl Arm64Layout {
    /// The layout for a granule of `page_size` bytes walking `va_bits`-bit addresses.
    ///
    /// Errors: a granule other than 4, 16 or 64 KiB; a VA size outside
    /// [`MIN_VA_BITS`]..=[`MAX_VA_BITS`] or one the granule cannot index.
    pub fn new(page_size: u64, va_bits: u32) -> Result<Self> {
        let page_shift = match page_size {
            0x1000 => 12,
            0x4000 => 14,
            0x1_0000 => 16,
            other => {
                return Err(Error::Corrupt {
                    what: "vmcoreinfo",
                    detail: format!(
                        "PAGESIZE={other} is not an arm64 granule (4096, 16384 or 65536): the page tables cannot be walked"
                    ),
                });
            }
        };
        if !(MIN_VA_BITS..=MAX_VA_BITS).contains(&va_bits) {
            return Err(Error::Corrupt {
                what: "vmcoreinfo",
                detail: format!(
                    "a {va_bits}-bit virtual address space is impossible on arm64 (Linux uses {MIN_VA_BITS} to {MAX_VA_BITS} bits): TCR_EL1_T1SZ or VA_BITS is corrupt"
                ),
            });
        }
        let per_level = page_shift - 3;
        let levels = (va_bits - page_shift).div_ceil(per_level);
        // 36..=52 bits over 9..=13 bits per level: 2 to 5 levels, always.
        let levels = levels.clamp(1, 5) as u8;
        let lpa2 = page_shift != 16 && va_bits == 52;
        let pa_low_mask = if lpa2 {
            0x0003_ffff_ffff_ffff & !((1u64 << page_shift) - 1)
        } else {
            0x0000_ffff_ffff_ffff & !((1u64 << page_shift) - 1)
        };
        let pa_high = if page_shift == 16 {
            (0xf000, 36)
        } else if lpa2 {
            (0x300, 42)
        } else {
            (0, 0)
        };
        Ok(Arm64Layout {
            page_shift,
            va_bits,
            levels,
            pa_low_mask,
            pa_high,
        })
    }

    /// The granule in bytes.
    pub fn page_size(&self) -> u64 {
        1 << self.page_shift
    }

    /// The VA shift each level indexes, top first.
    pub fn level_shifts(&self) -> impl Iterator<Item = u32> + '_ {
        let per_level = self.page_shift - 3;
        (0..u32::from(self.levels))
            .map(move |i| self.page_shift + per_level * (u32::from(self.levels) - 1 - i))
    }

    /// Linux's name of the level `depth` (0 = top): the top is always `PGD`, the others are
    /// the last levels of `P4D PUD PMD PTE` (a 3-level table is `PGD PMD PTE`).
    pub fn level_name(&self, depth: usize) -> &'static str {
        const LOWER: [&str; 4] = ["P4D", "PUD", "PMD", "PTE"];
        if depth == 0 {
            return "PGD";
        }
        let skip = 5 - usize::from(self.levels);
        LOWER.get(skip + depth - 1).copied().unwrap_or("?")
    }

    /// The output address a descriptor holds (a table's or a page's), before masking to the
    /// level's size.
    pub fn output_address(&self, entry: u64) -> u64 {
        (entry & self.pa_low_mask) | ((entry & self.pa_high.0) << self.pa_high.1)
    }

    /// Whether a block descriptor may sit at the level that indexes `shift`: 4 KiB granule
    /// 1 GiB and 2 MiB (512 GiB with LPA2), 16 KiB 32 MiB (64 GiB with LPA2), 64 KiB 512 MiB
    /// and 4 TiB (FEAT_LPA).
    fn block_allowed(&self, shift: u32) -> bool {
        let lpa2 = self.page_shift != 16 && self.va_bits == 52;
        match self.page_shift {
            12 => shift == 21 || shift == 30 || (lpa2 && shift == 39),
            14 => shift == 25 || (lpa2 && shift == 36),
            _ => shift == 29 || shift == 42,
        }
    }
}

/// A set of arm64 kernel page tables (TTBR1's): the root and its shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arm64Tables {
    /// Physical address of the top-level table.
    pub root: PhysAddr,
    /// Granule, VA size, levels.
    pub layout: Arm64Layout,
    /// Where `root` came from.
    pub source: RootSource,
}

/// Sign-extend bit 55 over the tag byte (TBI): the kernel's `__tag_reset`, so that KASAN tags
/// in kernel pointers do not change the translation.
pub fn untag(va: u64) -> u64 {
    (((va << 8) as i64) >> 8) as u64
}

impl Arm64Tables {
    /// Tables rooted at `root` (masked to a granule boundary).
    pub fn new(root: PhysAddr, layout: Arm64Layout, source: RootSource) -> Self {
        Arm64Tables {
            root: PhysAddr(root.0 & !(layout.page_size() - 1)),
            layout,
            source,
        }
    }

    /// Translate the kernel (TTBR1) address `va` by walking the tables through `read`.
    ///
    /// Errors: [`Error::VirtNotMapped`] naming the level whose descriptor is invalid;
    /// [`Error::Corrupt`] for an address outside the kernel half, a block where the
    /// architecture allows none, an unreadable table (naming the descriptor that points there)
    /// or a loop.
    pub fn translate(&self, read: PhysReader<'_>, va: VirtAddr) -> Result<Translation> {
        let l = &self.layout;
        let addr = untag(va.0);
        let lowest = u64::MAX << l.va_bits;
        if addr < lowest {
            return Err(Error::Corrupt {
                what: "virtual address",
                detail: format!(
                    "{:#x} is not a kernel address of a {}-bit arm64 address space (kernel addresses start at {lowest:#x})",
                    va.0, l.va_bits
                ),
            });
        }
        let mut steps: Vec<WalkStep> = Vec::with_capacity(usize::from(l.levels));
        let mut table = self.root.0;
        for (depth, shift) in l.level_shifts().enumerate() {
            let level = l.level_name(depth);
            if let Some(prev) = steps.iter().find(|s| s.table.0 == table) {
                let parent = steps.last().map_or("root", |s| s.level);
                return Err(Error::Corrupt {
                    what: "page tables",
                    detail: format!(
                        "walking {:#x}: {parent} descriptor points to table {table:#x}, which is the {} table already visited: page-table loop",
                        va.0, prev.level
                    ),
                });
            }
            let index_bits = if depth == 0 {
                l.va_bits - shift
            } else {
                l.page_shift - 3
            };
            let index = (addr >> shift) & ((1u64 << index_bits) - 1);
            let entry_addr = table + index * 8;
            let mut raw = [0u8; 8];
            read(PhysAddr(entry_addr), &mut raw).map_err(|e| Error::Corrupt {
                what: "page tables",
                detail: format!(
                    "walking {:#x}: {level} table at {table:#x} (from {}) is not readable: {e}",
                    va.0,
                    steps.last().map_or_else(
                        || self.source.describe(),
                        |s| format!(
                            "{} descriptor {:#x} at {:#x}",
                            s.level, s.entry, s.entry_addr.0
                        )
                    )
                ),
            })?;
            let entry = u64::from_le_bytes(raw);
            steps.push(WalkStep {
                level,
                table: PhysAddr(table),
                index: index as u16,
                entry_addr: PhysAddr(entry_addr),
                entry,
            });
            let last = depth + 1 == usize::from(l.levels);
            let kind = entry & DESC_TYPE_MASK;
            let leaf = match (last, kind) {
                (true, DESC_TABLE_OR_PAGE) => true,
                (false, DESC_TABLE_OR_PAGE) => false,
                (false, DESC_BLOCK) if l.block_allowed(shift) => true,
                (false, DESC_BLOCK) => {
                    return Err(Error::Corrupt {
                        what: "page tables",
                        detail: format!(
                            "walking {:#x}: {level} descriptor {entry:#x} at {entry_addr:#x} is a block of 2^{shift} bytes, which a {} KiB granule does not allow",
                            va.0,
                            l.page_size() / 1024
                        ),
                    });
                }
                _ => {
                    return Err(Error::VirtNotMapped {
                        addr: va.0,
                        level,
                        entry,
                    });
                }
            };
            if leaf {
                let page_size = 1u64 << shift;
                let frame = l.output_address(entry) & !(page_size - 1);
                return Ok(Translation {
                    virt: va,
                    phys: PhysAddr(frame | (addr & (page_size - 1))),
                    page_size,
                    steps,
                    contiguous: entry & DESC_CONT != 0,
                });
            }
            table = l.output_address(entry);
        }
        // Every layout has a last level, which returns above.
        Err(Error::Corrupt {
            what: "page tables",
            detail: format!("walking {:#x}: no level produced a page", va.0),
        })
    }
}

/// The kernel's arm64 address space as vmcoreinfo describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arm64Space {
    /// `swapper_pg_dir` and its shape.
    pub tables: Arm64Tables,
    /// `NUMBER(VA_BITS)`: the configured VA size (fixes `PAGE_OFFSET`).
    pub config_va_bits: u32,
    /// `NUMBER(TCR_EL1_T1SZ)`, when the kernel exports it (5.9+).
    pub t1sz: Option<u32>,
    /// `NUMBER(kimage_voffset)`.
    pub kimage_voffset: u64,
    /// `NUMBER(PHYS_OFFSET)` as the kernel keeps it (`memstart_addr`, may be "negative").
    pub phys_offset: u64,
    /// `KERNELOFFSET`, the KASLR offset of the kernel image.
    pub kaslr_offset: Option<u64>,
    /// The linear map, when its place is known: kernels since 5.4 put it at the bottom of the
    /// kernel half (`PAGE_OFFSET = -(1 << VA_BITS)`); older ones at the top half's middle.
    pub linear: Option<LinearMap>,
}

/// The linear map of physical memory: `__pa(va) = (va & !PAGE_OFFSET) + PHYS_OFFSET`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinearMap {
    /// `PAGE_OFFSET`: `-(1 << VA_BITS)`.
    pub page_offset: u64,
    /// `_PAGE_END(VA_BITS_MIN)`: no linear address is at or above it.
    pub end: u64,
}

fn number(info: &VmcoreInfo, key: &'static str) -> Result<u64> {
    info.number(key)
        .map(|v| v as u64)
        .ok_or_else(|| Error::MissingVmcoreinfo {
            key: format!("NUMBER({key}) (needed for arm64 address translation)"),
        })
}

/// True when `osrelease` names a kernel at or after `major.minor`.
fn release_at_least(osrelease: &str, major: u32, minor: u32) -> bool {
    let mut parts = osrelease.split(|c: char| !c.is_ascii_digit());
    let maj: u32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    let min: u32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    (maj, min) >= (major, minor)
}

impl Arm64Space {
    /// The kernel address space from vmcoreinfo alone.
    ///
    /// Errors name the missing key, or the impossible value (a `TCR_EL1_T1SZ` or `VA_BITS`
    /// no arm64 CPU runs with, a granule that is not 4/16/64 KiB, a `swapper_pg_dir` that
    /// is not granule-aligned after `kimage_voffset`).
    pub fn from_vmcoreinfo(info: &VmcoreInfo) -> Result<Self> {
        let page_size = info.page_size().ok_or_else(|| Error::MissingVmcoreinfo {
            key: "PAGESIZE (needed for arm64 address translation)".into(),
        })?;
        let config_va_bits = info.number("VA_BITS");
        let t1sz = info.number("TCR_EL1_T1SZ");
        let bits_of = |v: i64, key: &str| -> Result<u32> {
            u32::try_from(v)
                .ok()
                .filter(|b| (MIN_VA_BITS..=MAX_VA_BITS).contains(b))
                .ok_or_else(|| Error::Corrupt {
                    what: "vmcoreinfo",
                    detail: format!(
                        "{key} gives a {v}-bit virtual address space; arm64 Linux uses {MIN_VA_BITS} to {MAX_VA_BITS} bits"
                    ),
                })
        };
        let runtime_bits = match t1sz {
            Some(t) => Some(bits_of(64 - t.clamp(-1, 64), "NUMBER(TCR_EL1_T1SZ)")?),
            None => None,
        };
        let config_bits = match config_va_bits {
            Some(v) => Some(bits_of(v, "NUMBER(VA_BITS)")?),
            None => None,
        };
        // 64 KiB pages keep the 52-bit table shape on a 48-bit CPU (TTBR1 is offset instead);
        // 4/16 KiB pages fold a level at run time, so the runtime size decides there.
        let walk_bits = match (page_size, runtime_bits, config_bits) {
            (0x1_0000, _, Some(c)) => c,
            (_, Some(r), _) => r,
            (_, None, Some(c)) => c,
            (_, None, None) => {
                return Err(Error::MissingVmcoreinfo {
                    key: "NUMBER(TCR_EL1_T1SZ) or NUMBER(VA_BITS) (the arm64 virtual address size)"
                        .into(),
                });
            }
        };
        let layout = Arm64Layout::new(page_size, walk_bits)?;
        let kimage_voffset = number(info, "kimage_voffset")?;
        let phys_offset = number(info, "PHYS_OFFSET")?;
        let swapper = info
            .symbol("swapper_pg_dir")
            .ok_or_else(|| Error::MissingVmcoreinfo {
                key: "SYMBOL(swapper_pg_dir) (the arm64 kernel page tables)".into(),
            })?;
        let root = swapper.wrapping_sub(kimage_voffset);
        if root & (layout.page_size() - 1) != 0 {
            return Err(Error::Corrupt {
                what: "vmcoreinfo",
                detail: format!(
                    "swapper_pg_dir {swapper:#x} - kimage_voffset {kimage_voffset:#x} = {root:#x} is not aligned to the {} KiB granule: one of them is corrupt",
                    layout.page_size() / 1024
                ),
            });
        }
        let config = config_bits.unwrap_or(walk_bits);
        // The linear map moved to the bottom of the kernel half in 5.4 ("arm64: mm: Flip
        // kernel VA space"); TCR_EL1_T1SZ (5.9+) implies a flipped layout.
        let flipped = t1sz.is_some() || info.osrelease().is_some_and(|r| release_at_least(r, 5, 4));
        let linear = flipped.then(|| LinearMap {
            page_offset: u64::MAX << config,
            end: u64::MAX << (config.min(48) - 1),
        });
        Ok(Arm64Space {
            tables: Arm64Tables::new(PhysAddr(root), layout, RootSource::SwapperPgDirKimage),
            config_va_bits: config,
            t1sz: runtime_bits.map(|b| 64 - b),
            kimage_voffset,
            phys_offset,
            kaslr_offset: info.kernel_offset(),
            linear,
        })
    }

    /// `__lm_to_phys`: the physical address of a linear-map address, `None` outside the linear
    /// map (or when its place is unknown). Not checked against the dump's RAM.
    pub fn linear_to_phys(&self, va: u64) -> Option<u64> {
        let lm = self.linear?;
        let addr = untag(va);
        if addr < lm.page_offset || addr >= lm.end {
            return None;
        }
        Some((addr & !lm.page_offset).wrapping_add(self.phys_offset))
    }

    /// `__kimg_to_phys`: `va - kimage_voffset`, for an address of the kernel image (vmcoreinfo
    /// does not bound the image, so the caller says it is one).
    pub fn kimage_to_phys(&self, va: u64) -> u64 {
        untag(va).wrapping_sub(self.kimage_voffset)
    }

    /// Translate `va` by walking `swapper_pg_dir`.
    pub fn translate(&self, read: PhysReader<'_>, va: VirtAddr) -> Result<Translation> {
        self.tables.translate(read, va)
    }
}
