//! arm64 (AArch64) kernel page tables, built from a list of mappings: what the walker in
//! `vmcore::paging::arm64` must read back as the same mapping.
//!
//! The descriptor encoding is written here from the architecture (Arm ARM D8, the kernel's
//! pgtable-hwdef.h), not shared with the reader: bits `[1:0]` = `0b11` table/page, `0b01`
//! block; output address bits `[47:PAGE_SHIFT]`, with 64 KiB pages PA `[51:48]` in bits
//! `[15:12]`, with LPA2 (4/16 KiB pages, 52-bit VA) PA `[49:48]` in place and PA `[51:50]` in
//! bits `[9:8]`.

use std::collections::BTreeMap;

/// Attribute bits every leaf gets: AF (10), inner shareable (9:8, only without LPA2), normal
/// memory, PXN/UXN clear; they must not disturb the output address.
const LEAF_ATTRS: u64 = 1 << 10;
/// `PTE_CONT`.
const CONT: u64 = 1 << 52;

/// One mapping the tables hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mapping {
    /// Virtual start (aligned to `1 << shift`).
    pub va: u64,
    /// Physical start (aligned to `1 << shift`).
    pub pa: u64,
    /// log2 of the size: the granule's shift for a page, a level's shift for a block.
    pub shift: u32,
    /// Written with the contiguous bit.
    pub contiguous: bool,
}

/// A set of arm64 kernel (TTBR1) page tables in a sparse physical memory.
#[derive(Debug, Clone)]
pub struct Arm64Tables {
    /// log2 of the granule: 12, 14 or 16.
    pub page_shift: u32,
    /// VA bits the tables resolve.
    pub va_bits: u32,
    /// Levels of tables.
    pub levels: u32,
    /// Physical address of the top table.
    pub root: u64,
    /// The mappings added, in order.
    pub mappings: Vec<Mapping>,
    tables: BTreeMap<u64, Vec<u8>>,
    next_table: u64,
}

impl Arm64Tables {
    /// Empty tables for a `1 << page_shift` granule and `va_bits`-bit addresses, the tables
    /// allocated upwards from `table_base` (which must be granule-aligned and may be above
    /// 2^48 to exercise the high output-address bits).
    pub fn new(page_shift: u32, va_bits: u32, table_base: u64) -> Self {
        let per = page_shift - 3;
        let levels = (va_bits - page_shift).div_ceil(per);
        let mut t = Arm64Tables {
            page_shift,
            va_bits,
            levels,
            root: table_base,
            mappings: Vec::new(),
            tables: BTreeMap::new(),
            next_table: table_base,
        };
        t.root = t.alloc();
        t
    }

    fn granule(&self) -> u64 {
        1 << self.page_shift
    }

    fn lpa2(&self) -> bool {
        self.page_shift != 16 && self.va_bits == 52
    }

    fn alloc(&mut self) -> u64 {
        let at = self.next_table;
        self.next_table += self.granule();
        self.tables.insert(at, vec![0; self.granule() as usize]);
        at
    }

    /// The VA shift of level `depth` (0 = top).
    pub fn shift_of(&self, depth: u32) -> u32 {
        self.page_shift + (self.page_shift - 3) * (self.levels - 1 - depth)
    }

    fn index(&self, va: u64, depth: u32) -> u64 {
        let shift = self.shift_of(depth);
        let bits = if depth == 0 {
            self.va_bits - shift
        } else {
            self.page_shift - 3
        };
        (va >> shift) & ((1 << bits) - 1)
    }

    /// The descriptor bits that carry physical address `pa` (aligned to the granule).
    pub fn encode_pa(&self, pa: u64) -> u64 {
        if self.page_shift == 16 {
            (pa & 0x0000_ffff_ffff_0000) | ((pa >> 48) & 0xf) << 12
        } else if self.lpa2() {
            (pa & 0x0003_ffff_ffff_f000 & !(self.granule() - 1)) | ((pa >> 50) & 0x3) << 8
        } else {
            pa & 0x0000_ffff_ffff_f000 & !(self.granule() - 1)
        }
    }

    fn entry(&self, table: u64, index: u64) -> u64 {
        let t = &self.tables[&table];
        let at = (index * 8) as usize;
        u64::from_le_bytes(t[at..at + 8].try_into().unwrap_or([0; 8]))
    }

    /// Overwrite one descriptor (hostile tables: loops, bad blocks).
    pub fn set_entry(&mut self, table: u64, index: u64, value: u64) {
        if let Some(t) = self.tables.get_mut(&table) {
            let at = (index * 8) as usize;
            t[at..at + 8].copy_from_slice(&value.to_le_bytes());
        }
    }

    /// The table the walk of `va` reads at `depth`, creating tables on the way; `None` when a
    /// block already covers it.
    pub fn table_at(&mut self, va: u64, depth: u32) -> Option<u64> {
        let mut table = self.root;
        for d in 0..depth {
            let i = self.index(va, d);
            let e = self.entry(table, i);
            table = match e & 0b11 {
                0b11 => self.decode_pa(e),
                0b01 => return None,
                _ => {
                    let next = self.alloc();
                    let desc = self.encode_pa(next) | 0b11;
                    self.set_entry(table, i, desc);
                    next
                }
            };
        }
        Some(table)
    }

    fn decode_pa(&self, e: u64) -> u64 {
        if self.page_shift == 16 {
            (e & 0x0000_ffff_ffff_0000) | ((e >> 12) & 0xf) << 48
        } else if self.lpa2() {
            (e & 0x0003_ffff_ffff_f000 & !(self.granule() - 1)) | ((e >> 8) & 0x3) << 50
        } else {
            e & 0x0000_ffff_ffff_f000 & !(self.granule() - 1)
        }
    }

    /// Map `1 << shift` bytes at `va` to `pa` with one leaf: a page when `shift` is the
    /// granule's, else a block at the level of that shift. Returns false (and maps nothing)
    /// when the range is already mapped or `shift` is no level's.
    pub fn map(&mut self, va: u64, pa: u64, shift: u32, contiguous: bool) -> bool {
        let Some(depth) = (0..self.levels).find(|&d| self.shift_of(d) == shift) else {
            return false;
        };
        let Some(table) = self.table_at(va, depth) else {
            return false;
        };
        let i = self.index(va, depth);
        if self.entry(table, i) & 1 != 0 {
            return false;
        }
        let kind = if depth + 1 == self.levels { 0b11 } else { 0b01 };
        let desc = self.encode_pa(pa & !((1u64 << shift) - 1))
            | kind
            | LEAF_ATTRS
            | if contiguous { CONT } else { 0 };
        self.set_entry(table, i, desc);
        self.mappings.push(Mapping {
            va: va & !((1u64 << shift) - 1),
            pa: pa & !((1u64 << shift) - 1),
            shift,
            contiguous,
        });
        true
    }

    /// Read physical memory: table bytes where tables are, zeros elsewhere (the walker only
    /// reads descriptors).
    pub fn read(&self, pa: u64, buf: &mut [u8]) -> bool {
        let base = pa & !(self.granule() - 1);
        let Some(t) = self.tables.get(&base) else {
            return false;
        };
        let off = (pa - base) as usize;
        match t.get(off..off + buf.len()) {
            Some(src) => {
                buf.copy_from_slice(src);
                true
            }
            None => false,
        }
    }

    /// Every table page: (physical address, bytes).
    pub fn pages(&self) -> impl Iterator<Item = (u64, &[u8])> {
        self.tables.iter().map(|(a, b)| (*a, b.as_slice()))
    }

    /// VMCOREINFO lines that describe these tables: the granule, the VA size (as
    /// `TCR_EL1_T1SZ`, with `VA_BITS` = `config_va_bits`), `swapper_pg_dir` placed through
    /// `kimage_voffset`, and `PHYS_OFFSET`.
    pub fn vmcoreinfo(&self, config_va_bits: u32, kimage_voffset: u64, phys_offset: u64) -> String {
        format!(
            "OSRELEASE=6.12.0-arm64\nPAGESIZE={}\nNUMBER(VA_BITS)={config_va_bits}\n\
             NUMBER(kimage_voffset)={kimage_voffset:#x}\nNUMBER(PHYS_OFFSET)={phys_offset:#x}\n\
             NUMBER(TCR_EL1_T1SZ)={:#x}\nKERNELOFFSET=0\nSYMBOL(swapper_pg_dir)={:x}\n",
            self.granule(),
            64 - self.va_bits,
            self.root.wrapping_add(kimage_voffset)
        )
    }
}
