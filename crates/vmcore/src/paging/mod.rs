//! x86_64 virtual-to-physical translation from vmcoreinfo alone (no debug info).
//!
//! The kernel page tables are found from vmcoreinfo (REFERENCE §4.5):
//!
//! - the root is `SYMBOL(init_top_pgt)` (or `SYMBOL(swapper_pg_dir)`, the same table on
//!   x86_64), a kernel-text address converted with `NUMBER(phys_base)`:
//!   `pa = va − __START_KERNEL_map + phys_base`;
//! - `NUMBER(pgtable_l5_enabled)` selects 4- or 5-level paging;
//! - `NUMBER(sme_mask)` (the AMD SME encryption bit) is stripped from every entry;
//! - a CPU's own CR3, when the dump carries it (QEMU's CPU-state notes), can replace the root.
//!
//! The walk reads every table through a physical reader (a [`Dump`](crate::Dump) or any
//! `Fn(PhysAddr, &mut [u8])`), so it works for every dump format. It is bounded by
//! construction: at most five levels, and a table that points back to a table of the same walk
//! is reported as a loop instead of being followed.
//!
//! `page_offset_base` (the start of the direct map, randomized by KASLR and not in vmcoreinfo)
//! comes from the ELF PT_LOADs when they carry virtual addresses, otherwise from a bounded scan
//! of the page tables over the direct-map window ([`Dump::page_offset_base`](crate::Dump::page_offset_base)).
//!
//! Rooms: this file is the walk over any physical reader ([`PageTables`]); `dump.rs` is what a
//! [`Dump`](crate::Dump) adds (its tables, `page_offset_base`, [`VirtReader`]).

pub mod arm64;

use kdump_types::{Bytes, PhysAddr, VirtAddr};

use crate::error::{Error, Result};

mod dump;

pub use dump::{PageOffset, PageOffsetSource, VirtReader};

/// Physical-address bits of a page-table entry (bits 12–51).
const ENTRY_ADDR_MASK: u64 = 0x000f_ffff_ffff_f000;
/// `_PAGE_PRESENT`.
const ENTRY_PRESENT: u64 = 1 << 0;
/// `_PAGE_PSE`: a PUD or PMD entry that maps a 1 GiB or 2 MiB page instead of a table.
const ENTRY_HUGE: u64 = 1 << 7;
/// Bytes of one page table (512 entries of 8 bytes).
const TABLE_BYTES: usize = 4096;

/// Lowest start of the 4-level direct map: `0xffff888000000000` since 4.20, older kernels
/// used `0xffff880000000000` (libaddrxlat `linux_directmap_by_pgt` uses the older, lower bound
/// so it covers both).
pub const DIRECT_MAP_START_L4: u64 = 0xffff_8800_0000_0000;
/// Lowest start of the 5-level direct map (`0xff11000000000000` since 4.20).
pub const DIRECT_MAP_START_L5: u64 = 0xff11_0000_0000_0000;
/// KASLR places `page_offset_base` on a PUD (1 GiB) boundary.
const PAGE_OFFSET_ALIGN: u64 = 1 << 30;
/// How many page tables the direct-map scan may read before giving up: the scan descends into
/// the first present entries only, so a real kernel needs a handful; a hostile dump whose
/// entries are all present but lead nowhere cannot make it run long.
const DIRECT_MAP_SCAN_TABLE_BUDGET: usize = 64;

/// A physical-memory reader: a [`Dump`](crate::Dump), or a fake memory in tests and fuzzers.
pub type PhysReader<'a> = &'a dyn Fn(PhysAddr, &mut [u8]) -> Result<()>;

/// Where the root of a set of page tables came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RootSource {
    /// `SYMBOL(init_top_pgt)` converted with `NUMBER(phys_base)`.
    InitTopPgt,
    /// `SYMBOL(swapper_pg_dir)` converted with `NUMBER(phys_base)` (older kernels).
    SwapperPgDir,
    /// `SYMBOL(init_level4_pgt)` converted with `NUMBER(phys_base)` (kernels before 4.13).
    InitLevel4Pgt,
    /// A CPU's CR3 from the dump's QEMU CPU-state note (index among the register notes).
    Cr3 {
        /// [`crate::CpuContext::note_index`] of the CPU.
        note_index: usize,
    },
    /// Given by the caller.
    Explicit,
    /// arm64: `SYMBOL(swapper_pg_dir)` converted with `NUMBER(kimage_voffset)`.
    SwapperPgDirKimage,
}

impl RootSource {
    /// Short description for people.
    pub fn describe(&self) -> String {
        match self {
            RootSource::InitTopPgt => {
                "SYMBOL(init_top_pgt) - __START_KERNEL_map + phys_base".into()
            }
            RootSource::SwapperPgDir => {
                "SYMBOL(swapper_pg_dir) - __START_KERNEL_map + phys_base".into()
            }
            RootSource::InitLevel4Pgt => {
                "SYMBOL(init_level4_pgt) - __START_KERNEL_map + phys_base".into()
            }
            RootSource::Cr3 { note_index } => format!("CR3 of register note {note_index}"),
            RootSource::Explicit => "given".into(),
            RootSource::SwapperPgDirKimage => "SYMBOL(swapper_pg_dir) - kimage_voffset".into(),
        }
    }
}

/// A set of x86_64 page tables: the root table and how to walk it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageTables {
    /// Physical address of the top-level table (PML4, or PML5 with 5-level paging).
    pub root: PhysAddr,
    /// 4 or 5.
    pub levels: u8,
    /// Bits stripped from every entry before using it as an address (AMD SME C-bit).
    pub sme_mask: u64,
    /// Where `root` came from.
    pub source: RootSource,
}

/// One level of a walk: which table was read, which entry, and what it held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WalkStep {
    /// Linux name of the level: `PGD`, `P4D` (5-level only), `PUD`, `PMD`, `PTE`.
    pub level: &'static str,
    /// Physical address of the table.
    pub table: PhysAddr,
    /// Index of the entry in the table (0–511).
    pub index: u16,
    /// Physical address of the entry.
    pub entry_addr: PhysAddr,
    /// The raw entry.
    pub entry: u64,
}

/// A successful translation, with every level it went through (for `vmcore vtop`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Translation {
    /// The virtual address translated.
    pub virt: VirtAddr,
    /// Its physical address.
    pub phys: PhysAddr,
    /// Size of the page (or arm64 block) that maps it: 4 KiB, 2 MiB or 1 GiB on x86_64; the
    /// granule (4, 16, 64 KiB) or a block size on arm64.
    pub page_size: u64,
    /// The levels walked, top first.
    pub steps: Vec<WalkStep>,
    /// arm64: the leaf descriptor has the contiguous bit (one of a run of entries the TLB may
    /// cache as one); always false on x86_64.
    pub contiguous: bool,
}

impl Translation {
    /// Physical address of the start of the page.
    pub fn page_phys(&self) -> PhysAddr {
        PhysAddr(self.phys.0 & !(self.page_size - 1))
    }
    /// Bytes from `phys` to the end of the page.
    pub fn bytes_left_in_page(&self) -> u64 {
        self.page_size - (self.phys.0 & (self.page_size - 1))
    }
}

/// (name, shift of the VA bits that index this level)
fn level_layout(levels: u8) -> &'static [(&'static str, u32)] {
    const L4: [(&str, u32); 4] = [("PGD", 39), ("PUD", 30), ("PMD", 21), ("PTE", 12)];
    const L5: [(&str, u32); 5] = [
        ("PGD", 48),
        ("P4D", 39),
        ("PUD", 30),
        ("PMD", 21),
        ("PTE", 12),
    ];
    if levels == 5 { &L5 } else { &L4 }
}

/// True when `va` is canonical for `levels`-level paging (the bits above the top index bit
/// are copies of it).
pub fn is_canonical(va: u64, levels: u8) -> bool {
    let bits = if levels == 5 { 57 } else { 48 };
    let shifted = ((va << (64 - bits)) as i64) >> (64 - bits);
    shifted as u64 == va
}

impl PageTables {
    /// Tables with the root at `root` (masked to a page boundary).
    pub fn new(root: PhysAddr, levels: u8, sme_mask: u64, source: RootSource) -> Self {
        PageTables {
            root: PhysAddr(root.0 & ENTRY_ADDR_MASK & !sme_mask),
            levels: if levels == 5 { 5 } else { 4 },
            sme_mask,
            source,
        }
    }

    /// The physical address an entry points to (table or page frame), SME bit stripped.
    fn entry_target(&self, entry: u64, mask: u64) -> u64 {
        entry & !self.sme_mask & mask
    }

    /// Translate `va` by walking the tables through `read`.
    ///
    /// Errors: [`Error::VirtNotMapped`] naming the level whose entry is not present;
    /// [`Error::Corrupt`] for a non-canonical address, a table outside the dump (naming the
    /// level and the entry that points there) or a loop (a table that points back to a table
    /// of the same walk).
    pub fn translate(&self, read: PhysReader<'_>, va: VirtAddr) -> Result<Translation> {
        if !is_canonical(va.0, self.levels) {
            return Err(Error::Corrupt {
                what: "virtual address",
                detail: format!(
                    "{:#x} is not canonical for {}-level paging: it cannot be mapped",
                    va.0, self.levels
                ),
            });
        }
        let layout = level_layout(self.levels);
        let mut steps = Vec::with_capacity(layout.len());
        let mut table = self.root.0;
        for (depth, &(level, shift)) in layout.iter().enumerate() {
            // A table that was already read in this walk means the entries form a cycle; the
            // kernel never builds one (no recursive mapping on Linux), so say so rather than
            // report a nonsense translation.
            if let Some(prev) = steps.iter().find(|s: &&WalkStep| s.table.0 == table) {
                let parent = steps.last().map_or("root", |s: &WalkStep| s.level);
                return Err(Error::Corrupt {
                    what: "page tables",
                    detail: format!(
                        "walking {:#x}: {parent} entry points to table {table:#x}, which is the {} table already visited: page-table loop",
                        va.0, prev.level
                    ),
                });
            }
            let index = (va.0 >> shift) & 0x1ff;
            let entry_addr = table + index * 8;
            let mut raw = [0u8; 8];
            read(PhysAddr(entry_addr), &mut raw).map_err(|e| Error::Corrupt {
                what: "page tables",
                detail: format!(
                    "walking {:#x}: {level} table at {table:#x} (from {}) is not readable: {e}",
                    va.0,
                    steps.last().map_or_else(
                        || self.source.describe(),
                        |s: &WalkStep| format!(
                            "{} entry {:#x} at {:#x}",
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
            if entry & ENTRY_PRESENT == 0 {
                return Err(Error::VirtNotMapped {
                    addr: va.0,
                    level,
                    entry,
                });
            }
            let is_last = depth + 1 == layout.len();
            // PS means a large page only at PUD (1 GiB) and PMD (2 MiB) level; at PGD/P4D it
            // is reserved and at PTE level it is the PAT bit.
            if is_last || (entry & ENTRY_HUGE != 0 && (shift == 30 || shift == 21)) {
                let page_size = 1u64 << shift;
                let frame_mask = ENTRY_ADDR_MASK & !(page_size - 1);
                let frame = self.entry_target(entry, frame_mask);
                return Ok(Translation {
                    virt: va,
                    phys: PhysAddr(frame | (va.0 & (page_size - 1))),
                    page_size,
                    steps,
                    contiguous: false,
                });
            }
            table = self.entry_target(entry, ENTRY_ADDR_MASK);
        }
        // The loop returns at the last level; this is unreachable for a non-empty layout.
        Err(Error::Corrupt {
            what: "page tables",
            detail: format!("walking {:#x}: no level produced a page", va.0),
        })
    }

    /// Find the start of the direct map by scanning the tables: the lowest mapped address in
    /// `[window_start, window_end)` whose translation is consistent with a linear map aligned
    /// to 1 GiB (what KASLR produces). Returns `(page_offset_base, first mapped va)`.
    ///
    /// Bounded: it reads at most a fixed number of tables and descends only into the first
    /// present entries.
    pub fn scan_direct_map(
        &self,
        read: PhysReader<'_>,
        window_start: u64,
        window_end: u64,
    ) -> Result<u64> {
        let layout = level_layout(self.levels);
        let mut budget = DIRECT_MAP_SCAN_TABLE_BUDGET;
        let found = self.lowest_mapped(
            read,
            self.root.0,
            0,
            layout,
            window_start,
            window_end,
            &mut budget,
        )?;
        let Some(va) = found else {
            return Err(Error::Corrupt {
                what: "page tables",
                detail: format!(
                    "no page is mapped in the direct-map window {window_start:#x}..{window_end:#x}: page_offset_base cannot be found"
                ),
            });
        };
        let t = self.translate(read, VirtAddr(va))?;
        let base = va.wrapping_sub(t.phys.0);
        if base % PAGE_OFFSET_ALIGN != 0 || base < window_start {
            return Err(Error::Corrupt {
                what: "page tables",
                detail: format!(
                    "lowest direct-map page {va:#x} maps {:#x}, giving page_offset_base {base:#x}, which is not 1 GiB aligned inside the window: not a linear map",
                    t.phys.0
                ),
            });
        }
        Ok(base)
    }

    /// Depth-first search for the lowest present leaf in `[lo, hi)`; `prefix` is the VA of
    /// the table's first entry.
    #[allow(clippy::too_many_arguments)]
    fn lowest_mapped(
        &self,
        read: PhysReader<'_>,
        table: u64,
        prefix: u64,
        layout: &[(&'static str, u32)],
        lo: u64,
        hi: u64,
        budget: &mut usize,
    ) -> Result<Option<u64>> {
        let Some((&(level, shift), rest)) = layout.split_first() else {
            return Ok(None);
        };
        if *budget == 0 {
            return Err(Error::Corrupt {
                what: "page tables",
                detail: format!(
                    "direct-map scan read {DIRECT_MAP_SCAN_TABLE_BUDGET} tables without finding a mapped page: tables look corrupt"
                ),
            });
        }
        *budget -= 1;
        let mut buf = vec![0u8; TABLE_BYTES];
        read(PhysAddr(table), &mut buf).map_err(|e| Error::Corrupt {
            what: "page tables",
            detail: format!("direct-map scan: {level} table at {table:#x} is not readable: {e}"),
        })?;
        let span = 1u64 << shift;
        for index in 0..512u64 {
            let start = sign_extend(prefix | (index << shift), self.levels);
            let end = start.wrapping_add(span);
            // Skip entries wholly outside the window (end may wrap to 0 at the top).
            if (end != 0 && end <= lo) || start >= hi {
                continue;
            }
            let entry = Bytes::new(&buf, table).read_u64("page table entry", index * 8)?;
            if entry & ENTRY_PRESENT == 0 {
                continue;
            }
            let leaf = rest.is_empty() || (entry & ENTRY_HUGE != 0 && (shift == 30 || shift == 21));
            if leaf {
                return Ok(Some(start.max(lo)));
            }
            let next = self.entry_target(entry, ENTRY_ADDR_MASK);
            if next == table {
                continue;
            }
            if let Some(va) = self.lowest_mapped(read, next, start, rest, lo, hi, budget)? {
                return Ok(Some(va));
            }
        }
        Ok(None)
    }
}

fn sign_extend(va: u64, levels: u8) -> u64 {
    let bits = if levels == 5 { 57 } else { 48 };
    (((va << (64 - bits)) as i64) >> (64 - bits)) as u64
}
