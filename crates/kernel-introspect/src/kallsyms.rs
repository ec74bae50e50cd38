//! The kernel's own symbol table, decoded from memory with vmcoreinfo's `SYMBOL(kallsyms_*)`
//! keys (exported since Linux 6.0): no vmlinux, no System.map.
//!
//! Layout (scripts/kallsyms.c writes it, kernel/kallsyms.c reads it):
//! - `kallsyms_num_syms`: `u32` count;
//! - `kallsyms_names`: per symbol a length (one byte, or two when the first has bit 7 set: the
//!   low 7 bits plus the next byte shifted left by 7, since 6.1) and that many token indices;
//!   the expansion's first character is the symbol type (`T`, `t`, `D`, …);
//! - `kallsyms_token_table`: 256 NUL-terminated tokens, `kallsyms_token_index`: their `u16`
//!   offsets;
//! - addresses, in one of the encodings of [`AddressEncoding`]. Which one the kernel used is not
//!   in vmcoreinfo; we take the one that reproduces `SYMBOL(_stext)` for the symbol `_stext`.

use std::sync::OnceLock;

use vmcore::VmcoreInfo;

use crate::mem::KernelMemory;
use crate::{Error, Result};

mod decode;

use decode::{decode_addresses, expand_names, read_tokens};

/// More symbols than any kernel has (an allyesconfig build has about 500k); a count above it is
/// a corrupt table, reported instead of decoded.
pub const MAX_SYMBOLS: u32 = 1 << 23;

/// Lookups by name answered by a scan before [`Kallsyms::lookup`] builds its hash table.
pub const SCANNED_LOOKUPS: u32 = 32;

/// How `kallsyms_offsets` / `kallsyms_addresses` encode addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressEncoding {
    /// `kallsyms_addresses[i]`: absolute 64-bit addresses (no CONFIG_KALLSYMS_BASE_RELATIVE).
    Absolute,
    /// `kallsyms_relative_base + (u32)kallsyms_offsets[i]` (base-relative, 4.6 – 6.x).
    BaseRelative,
    /// CONFIG_KALLSYMS_ABSOLUTE_PERCPU (x86_64 SMP until 6.15): a non-negative offset is the
    /// absolute value (per-CPU symbols), a negative one is `kallsyms_relative_base - 1 - off`.
    AbsolutePercpu,
    /// Place-relative (7.0+): `&kallsyms_offsets[i] + (s32)kallsyms_offsets[i]`.
    PlaceRelative,
}

impl AddressEncoding {
    /// A short name for reports.
    pub fn name(self) -> &'static str {
        match self {
            AddressEncoding::Absolute => "absolute",
            AddressEncoding::BaseRelative => "base-relative",
            AddressEncoding::AbsolutePercpu => "absolute-percpu",
            AddressEncoding::PlaceRelative => "place-relative",
        }
    }
}

/// Where the kallsyms tables are in kernel memory (from vmcoreinfo).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KallsymsTables {
    /// `SYMBOL(kallsyms_num_syms)`.
    pub num_syms: u64,
    /// `SYMBOL(kallsyms_names)`.
    pub names: u64,
    /// `SYMBOL(kallsyms_token_table)`.
    pub token_table: u64,
    /// `SYMBOL(kallsyms_token_index)`.
    pub token_index: u64,
    /// `SYMBOL(kallsyms_offsets)`, when the build is relative.
    pub offsets: Option<u64>,
    /// `SYMBOL(kallsyms_relative_base)` (absent on place-relative builds).
    pub relative_base: Option<u64>,
    /// `SYMBOL(kallsyms_addresses)`, when the build is absolute.
    pub addresses: Option<u64>,
    /// `SYMBOL(_stext)`: the address that decides the encoding.
    pub stext: u64,
}

impl KallsymsTables {
    /// The table addresses from vmcoreinfo, or the missing key.
    pub fn from_vmcoreinfo(info: &VmcoreInfo) -> Result<Self> {
        let need = |name: &'static str| {
            info.symbol(name).ok_or(Error::MissingVmcoreinfo {
                key: name,
                why: "kallsyms keys are in vmcoreinfo since Linux 6.0 (CONFIG_KALLSYMS)",
            })
        };
        let offsets = info.symbol("kallsyms_offsets");
        let addresses = info.symbol("kallsyms_addresses");
        if offsets.is_none() && addresses.is_none() {
            return Err(Error::MissingVmcoreinfo {
                key: "kallsyms_offsets",
                why: "neither SYMBOL(kallsyms_offsets) nor SYMBOL(kallsyms_addresses) is in vmcoreinfo",
            });
        }
        Ok(KallsymsTables {
            num_syms: need("kallsyms_num_syms")?,
            names: need("kallsyms_names")?,
            token_table: need("kallsyms_token_table")?,
            token_index: need("kallsyms_token_index")?,
            offsets,
            relative_base: info.symbol("kallsyms_relative_base"),
            addresses,
            stext: need("_stext")?,
        })
    }
}

/// One symbol as [`Kallsyms`] serves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Symbol<'a> {
    /// The name, without the type character.
    pub name: &'a str,
    /// The run-time address.
    pub addr: u64,
    /// The type character as `/proc/kallsyms` prints it (`T`, `t`, `D`, …).
    pub kind: char,
    /// Index in the kernel's table (kallsyms order).
    pub index: u32,
}

/// An address resolved to a symbol: `name+offset/size`, as the kernel prints it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SymbolOffset<'a> {
    /// The symbol containing the address.
    pub symbol: Symbol<'a>,
    /// `addr - symbol.addr`.
    pub offset: u64,
    /// Distance to the next symbol at a higher address (the kernel's notion of size), when known.
    pub size: Option<u64>,
}

impl std::fmt::Display for SymbolOffset<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}+{:#x}", self.symbol.name, self.offset)?;
        if let Some(size) = self.size {
            write!(f, "/{size:#x}")?;
        }
        Ok(())
    }
}

/// The decoded kernel symbol table.
pub struct Kallsyms {
    /// Every name, back to back (without type characters).
    arena: Vec<u8>,
    /// End of each name in `arena`; name `i` is `arena[ends[i-1]..ends[i]]`.
    ends: Vec<u32>,
    kinds: Vec<u8>,
    addrs: Vec<u64>,
    /// Symbol indices ordered by address (stable: kallsyms order among equal addresses).
    by_addr: Vec<u32>,
    encoding: AddressEncoding,
    /// `[start, end)` of addresses that [`Kallsyms::symbolize`] resolves: `_stext` (or `_text`)
    /// to `_end` (or the highest symbol), as the kernel's `is_ksym_addr`.
    span: (u64, u64),
    /// Open-addressing hash table of symbol indices by name (`u32::MAX` = empty), built on the
    /// first lookup by name.
    by_name: OnceLock<Vec<u32>>,
    /// Names looked up by a scan so far, with their answers, until there are
    /// [`SCANNED_LOOKUPS`] of them (see [`Kallsyms::lookup`]).
    scanned: std::sync::Mutex<Vec<(Box<str>, Option<u32>)>>,
    /// [`name_hash`] of each name (low 32 bits), computed while the names were expanded.
    hashes: Vec<u32>,
}

impl std::fmt::Debug for Kallsyms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kallsyms")
            .field("symbols", &self.addrs.len())
            .field("encoding", &self.encoding)
            .field(
                "span",
                &format_args!("{:#x}..{:#x}", self.span.0, self.span.1),
            )
            .finish()
    }
}

impl Kallsyms {
    /// Decode the table of the kernel that `info` describes, reading `mem`.
    pub fn from_vmcoreinfo(info: &VmcoreInfo, mem: &(impl KernelMemory + ?Sized)) -> Result<Self> {
        Self::decode(&KallsymsTables::from_vmcoreinfo(info)?, mem)
    }

    /// Decode the table at `tables`.
    pub fn decode(t: &KallsymsTables, mem: &(impl KernelMemory + ?Sized)) -> Result<Self> {
        let count = mem.read_u32(t.num_syms)?;
        if count == 0 || count > MAX_SYMBOLS {
            return Err(Error::Corrupt {
                what: "kallsyms_num_syms",
                addr: t.num_syms,
                detail: format!("{count} symbols (expected 1 to {MAX_SYMBOLS})"),
            });
        }
        let tokens = read_tokens(t, mem)?;
        let (arena, ends, kinds, hashes) = expand_names(t, count, &tokens, mem)?;
        let (addrs, encoding) = decode_addresses(t, count, &arena, &ends, mem)?;

        let mut by_addr: Vec<u32> = (0..count).collect();
        if !addrs.windows(2).all(|w| w[0] <= w[1]) {
            by_addr.sort_by_key(|&i| addrs[i as usize]);
        }
        let mut k = Kallsyms {
            arena,
            ends,
            kinds,
            addrs,
            by_addr,
            encoding,
            span: (0, 0),
            hashes,
            by_name: OnceLock::new(),
            scanned: std::sync::Mutex::new(Vec::new()),
        };
        let start = k.find_first("_stext").map(|s| s.addr).unwrap_or(t.stext);
        let start = k.find_first("_text").map_or(start, |s| s.addr.min(start));
        let end = match k.find_first("_end") {
            Some(s) => s.addr,
            None => k
                .by_addr
                .last()
                .map_or(start, |&i| k.addrs[i as usize].saturating_add(1)),
        };
        k.span = (start, end);
        Ok(k)
    }

    /// The number of symbols.
    pub fn len(&self) -> usize {
        self.addrs.len()
    }

    /// Whether the table is empty (never, once decoded).
    pub fn is_empty(&self) -> bool {
        self.addrs.is_empty()
    }

    /// The address encoding the kernel used.
    pub fn encoding(&self) -> AddressEncoding {
        self.encoding
    }

    /// Symbol `index` in kallsyms order.
    pub fn get(&self, index: u32) -> Option<Symbol<'_>> {
        let i = index as usize;
        let addr = *self.addrs.get(i)?;
        Some(Symbol {
            name: self.name_of(index),
            addr,
            kind: self.kinds[i] as char,
            index,
        })
    }

    /// Every symbol in kallsyms order (the order of `/proc/kallsyms`).
    pub fn iter(&self) -> impl Iterator<Item = Symbol<'_>> + '_ {
        (0..self.addrs.len() as u32).filter_map(|i| self.get(i))
    }

    fn find_first(&self, name: &str) -> Option<Symbol<'_>> {
        self.get(self.find_first_index(name)?)
    }

    fn find_first_index(&self, name: &str) -> Option<u32> {
        // Hashes first: a sequential scan of u32s, names compared only on a hash match.
        let hash = name_hash(name) as u32;
        self.hashes
            .iter()
            .enumerate()
            .filter(|&(_, &h)| h == hash)
            .map(|(i, _)| i as u32)
            .find(|&i| self.name_of(i) == name)
    }

    fn name_of(&self, i: u32) -> &str {
        let i = i as usize;
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        // ASCII by construction (the decode replaced every other byte), so this never fails;
        // checking one name at a time costs nothing a lookup notices, where checking the
        // whole 2 MB arena at once was 4 % of `bt --all`.
        std::str::from_utf8(&self.arena[start..self.ends[i] as usize]).unwrap_or("?")
    }

    fn name_table(&self) -> &[u32] {
        self.by_name.get_or_init(|| {
            let slots = (self.addrs.len() * 2).next_power_of_two().max(2);
            let mut table = vec![u32::MAX; slots];
            for i in 0..self.addrs.len() as u32 {
                let hash = self.hashes[i as usize];
                let mut h = hash as usize & (slots - 1);
                loop {
                    let slot = table[h];
                    if slot == u32::MAX {
                        table[h] = i;
                        break;
                    }
                    // Keep the first of equal names (kallsyms order), as kallsyms_lookup_name.
                    if self.hashes[slot as usize] == hash && self.name_of(slot) == self.name_of(i) {
                        break;
                    }
                    h = (h + 1) & (slots - 1);
                }
            }
            table
        })
    }

    /// The first symbol called `name` (kallsyms order, as `kallsyms_lookup_name`).
    ///
    /// The first [`SCANNED_LOOKUPS`] distinct names are found by a scan of the names' hashes
    /// (a few hundredths of a millisecond each) and remembered; a caller that asks more gets
    /// the hash table, built once. `bt --all` asks 24 names, 60 times: it never pays for the
    /// table (2 MB, a tenth of its run).
    pub fn lookup(&self, name: &str) -> Option<Symbol<'_>> {
        if self.by_name.get().is_none() {
            let mut scanned = self
                .scanned
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some((_, i)) = scanned.iter().find(|(n, _)| **n == *name) {
                return i.and_then(|i| self.get(i));
            }
            if scanned.len() < SCANNED_LOOKUPS as usize {
                let i = self.find_first_index(name);
                scanned.push((name.into(), i));
                return i.and_then(|i| self.get(i));
            }
        }
        let table = self.name_table();
        let mask = table.len() - 1;
        let hash = name_hash(name) as u32;
        let mut h = hash as usize & mask;
        loop {
            let slot = *table.get(h)?;
            if slot == u32::MAX {
                return None;
            }
            if self.hashes[slot as usize] == hash && self.name_of(slot) == name {
                return self.get(slot);
            }
            h = (h + 1) & mask;
        }
    }

    /// The address of the first symbol called `name`.
    pub fn lookup_addr(&self, name: &str) -> Option<u64> {
        self.lookup(name).map(|s| s.addr)
    }

    /// Every symbol called `name` (static functions can share a name).
    pub fn lookup_all<'s>(&'s self, name: &'s str) -> impl Iterator<Item = Symbol<'s>> + 's {
        self.iter().filter(move |s| s.name == name)
    }

    /// Resolve `addr` to `symbol+offset/size` as the kernel's `kallsyms_lookup` does: the first
    /// of the aliases at the highest address not above `addr`, only within the kernel image.
    pub fn symbolize(&self, addr: u64) -> Option<SymbolOffset<'_>> {
        if addr < self.span.0 || addr >= self.span.1 {
            return None;
        }
        let pos = self
            .by_addr
            .partition_point(|&i| self.addrs[i as usize] <= addr);
        if pos == 0 {
            return None;
        }
        let sym_addr = self.addrs[self.by_addr[pos - 1] as usize];
        let first = self.by_addr[..pos].partition_point(|&i| self.addrs[i as usize] < sym_addr);
        let symbol = self.get(self.by_addr[first])?;
        let size = self.by_addr[pos..]
            .iter()
            .map(|&i| self.addrs[i as usize])
            .find(|&a| a > sym_addr)
            .or((self.span.1 > sym_addr).then_some(self.span.1))
            .map(|next| next - sym_addr);
        Some(SymbolOffset {
            symbol,
            offset: addr - sym_addr,
            size,
        })
    }

    /// The addresses [`Kallsyms::symbolize`] resolves (`_stext`/`_text` to `_end`).
    pub fn kernel_span(&self) -> (u64, u64) {
        self.span
    }
}

/// The hash of a name for the name table: eight bytes per multiply (a byte-wise FNV-1a was a
/// fifth of the whole decode, one dependent multiply per byte of 4 MB of names), finished with
/// murmur3's mixer so the low bits (the slot) depend on every byte.
fn name_hash(name: &str) -> u64 {
    name_hash_bytes(name.as_bytes())
}

fn name_hash_bytes(name: &[u8]) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut h = name.len() as u64;
    let mut words = name.chunks_exact(8);
    for w in &mut words {
        let w = u64::from_le_bytes(w.try_into().unwrap_or([0; 8]));
        h = (h ^ w).wrapping_mul(K).rotate_left(31);
    }
    let rest = words.remainder();
    if !rest.is_empty() {
        let mut b = [0u8; 8];
        b[..rest.len()].copy_from_slice(rest);
        h = (h ^ u64::from_le_bytes(b)).wrapping_mul(K).rotate_left(31);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^ (h >> 33)
}
