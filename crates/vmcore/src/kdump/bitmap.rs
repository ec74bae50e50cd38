//! The two page bitmaps and the rank index that maps a PFN to its page descriptor.
//!
//! A page's descriptor is the n-th of the table, where n is the number of set bits of the 2nd
//! bitmap before its PFN (makedumpfile writes one descriptor per dumpable PFN, in PFN order).
//! Like crash's `valid_pages[]`, we precompute cumulative popcounts at open, here per block of
//! 512 bits, so a lookup is one table read plus at most eight `popcnt`s.

/// Bits per rank block (8 words: one cache line of bitmap).
const BLOCK_WORDS: usize = 8;

/// A bitmap of `bits` PFNs, bit `i` of byte `i / 8` (LSB first) = PFN `i`, as makedumpfile
/// writes it, held as little-endian 64-bit words.
#[derive(Debug, Clone, Default)]
pub struct Bitmap {
    words: Vec<u64>,
    bits: u64,
}

impl Bitmap {
    /// The first `bits` bits of `bytes` (`bits <= 8 * bytes.len()`; extra bits are dropped).
    pub fn from_bytes(bytes: &[u8], bits: u64) -> Bitmap {
        let bits = bits.min(bytes.len() as u64 * 8);
        let nwords = bits.div_ceil(64) as usize;
        let mut words = Vec::with_capacity(nwords);
        let mut chunks = bytes.chunks_exact(8);
        for c in chunks.by_ref().take(nwords) {
            let mut a = [0u8; 8];
            a.copy_from_slice(c);
            words.push(u64::from_le_bytes(a));
        }
        if words.len() < nwords {
            let mut a = [0u8; 8];
            let rest = chunks.remainder();
            a[..rest.len()].copy_from_slice(rest);
            words.push(u64::from_le_bytes(a));
        }
        // Bits past `bits` (max_mapnr) are not PFNs of this dump.
        if bits % 64 != 0
            && let Some(last) = words.last_mut()
        {
            *last &= (1u64 << (bits % 64)) - 1;
        }
        Bitmap { words, bits }
    }

    /// Number of PFNs the bitmap covers.
    pub fn len(&self) -> u64 {
        self.bits
    }
    /// True when it covers no PFN.
    pub fn is_empty(&self) -> bool {
        self.bits == 0
    }
    /// Bit `pfn` (false past the end).
    pub fn get(&self, pfn: u64) -> bool {
        if pfn >= self.bits {
            return false;
        }
        self.words
            .get((pfn / 64) as usize)
            .is_some_and(|w| w >> (pfn % 64) & 1 == 1)
    }
    /// Number of set bits.
    pub fn count_ones(&self) -> u64 {
        self.words.iter().map(|w| u64::from(w.count_ones())).sum()
    }
    /// Number of bits set here and clear in `other` (RAM pages the 2nd bitmap excludes).
    pub fn count_and_not(&self, other: &Bitmap) -> u64 {
        self.words
            .iter()
            .enumerate()
            .map(|(i, w)| u64::from((w & !other.words.get(i).copied().unwrap_or(0)).count_ones()))
            .sum()
    }
    /// Number of set bits in `[start, end)` (bits past the end count as clear).
    pub fn count_range(&self, start: u64, end: u64) -> u64 {
        let end = end.min(self.bits);
        if start >= end {
            return 0;
        }
        let (first, last) = ((start / 64) as usize, ((end - 1) / 64) as usize);
        let mut n = 0u64;
        for (i, &w) in self.words.iter().enumerate().take(last + 1).skip(first) {
            let mut w = w;
            if i == first {
                w &= u64::MAX << (start % 64);
            }
            if i == last && end % 64 != 0 {
                w &= (1u64 << (end % 64)) - 1;
            }
            n += u64::from(w.count_ones());
        }
        n
    }
    /// Maximal runs of set bits, as half-open `[start, end)` PFN ranges.
    pub fn runs(&self) -> Vec<(u64, u64)> {
        let mut out = Vec::new();
        let mut start: Option<u64> = None;
        for (i, &w) in self.words.iter().enumerate() {
            let base = i as u64 * 64;
            // Whole words of ones or zeros are the common case and need no bit loop.
            if w == u64::MAX && start.is_some() || w == 0 && start.is_none() {
                continue;
            }
            for b in 0..64 {
                let set = w >> b & 1 == 1;
                match (set, start) {
                    (true, None) => start = Some(base + b),
                    (false, Some(s)) => {
                        out.push((s, base + b));
                        start = None;
                    }
                    _ => {}
                }
            }
        }
        if let Some(s) = start {
            out.push((s, self.bits));
        }
        out
    }
    /// The next set bit at or after `pfn`.
    pub fn next_set(&self, pfn: u64) -> Option<u64> {
        if pfn >= self.bits {
            return None;
        }
        let mut i = (pfn / 64) as usize;
        let mut w = self.words.get(i)? & (u64::MAX << (pfn % 64));
        loop {
            if w != 0 {
                return Some(i as u64 * 64 + u64::from(w.trailing_zeros()));
            }
            i += 1;
            w = *self.words.get(i)?;
        }
    }
}

/// Cumulative popcounts of a [`Bitmap`] per block of 512 bits.
#[derive(Debug, Clone, Default)]
pub struct RankIndex {
    /// `before[k]`: set bits in blocks `0..k` (one more entry than blocks: the total).
    before: Vec<u64>,
}

impl RankIndex {
    /// Build the index of `bm`.
    pub fn new(bm: &Bitmap) -> RankIndex {
        let mut before = Vec::with_capacity(bm.words.len().div_ceil(BLOCK_WORDS));
        let mut total = 0u64;
        for block in bm.words.chunks(BLOCK_WORDS) {
            before.push(total);
            total += block.iter().map(|w| u64::from(w.count_ones())).sum::<u64>();
        }
        // The rank of the PFN one past the end, when the bitmap ends on a block boundary.
        before.push(total);
        RankIndex { before }
    }

    /// Number of set bits of `bm` before `pfn` (the descriptor index of a dumpable `pfn`).
    pub fn rank(&self, bm: &Bitmap, pfn: u64) -> u64 {
        let pfn = pfn.min(bm.bits);
        let word = (pfn / 64) as usize;
        let block = word / BLOCK_WORDS;
        let mut n = self.before.get(block).copied().unwrap_or(0);
        let first = block * BLOCK_WORDS;
        for w in bm.words.get(first..word).unwrap_or(&[]) {
            n += u64::from(w.count_ones());
        }
        if pfn % 64 != 0
            && let Some(w) = bm.words.get(word)
        {
            n += u64::from((w & ((1u64 << (pfn % 64)) - 1)).count_ones());
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rank_matches_a_naive_count() {
        let bytes: Vec<u8> = (0..300u32)
            .map(|i| (i.wrapping_mul(37) ^ (i >> 3)) as u8)
            .collect();
        let bm = Bitmap::from_bytes(&bytes, 2390);
        let idx = RankIndex::new(&bm);
        // A bitmap that ends on a rank-block boundary still ranks its end PFN.
        let aligned = Bitmap::from_bytes(&bytes[..128], 1024);
        assert_eq!(
            RankIndex::new(&aligned).rank(&aligned, 1024),
            aligned.count_ones()
        );
        let mut naive = 0;
        for pfn in 0..=2390 {
            assert_eq!(idx.rank(&bm, pfn), naive, "pfn {pfn}");
            if bm.get(pfn) {
                naive += 1;
            }
        }
        assert_eq!(bm.count_ones(), naive);
        let runs = bm.runs();
        let from_runs: u64 = runs.iter().map(|(s, e)| e - s).sum();
        assert_eq!(from_runs, naive);
        assert_eq!(bm.next_set(0), runs.first().map(|r| r.0));
    }
}
