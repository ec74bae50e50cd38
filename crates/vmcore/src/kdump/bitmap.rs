//! The two page bitmaps, read in place through the file's mapping, and the rank index that
//! maps a PFN to its page descriptor.
//!
//! A page's descriptor is the n-th of the table, where n is the number of set bits of the 2nd
//! bitmap before its PFN (makedumpfile writes one descriptor per dumpable PFN, in PFN order).
//! Like crash's `valid_pages[]`, we precompute cumulative popcounts at open, here per block of
//! 512 bits, so a lookup is one table read plus at most eight 64-bit popcounts.
//!
//! A bitmap is not copied: it is a list of *pieces*, runs of bitmap bytes that the file holds
//! (one for a plain kdump-compressed file; one per data extent of a sparse file; one per
//! flattened record), read from the caller's `data` on every access. Bytes no piece covers
//! read as zeros: holes of a sparse file, or image bytes no flattened record wrote. So a
//! header that declares 2^36 PFNs over a sparse file costs nothing but its pieces: memory and
//! work at open are proportional to the bitmap bytes on disk, not to `max_mapnr`.

/// Bytes per rank block (512 bits: one cache line of bitmap).
const BLOCK_BYTES: u64 = 64;

/// One run of bitmap bytes stored in the file.
#[derive(Debug, Clone)]
struct Piece {
    /// First bitmap byte (byte `i` holds PFNs `8i .. 8i + 8`, LSB first).
    start: u64,
    /// Bytes.
    len: u64,
    /// File offset of `start`.
    file: u64,
    /// Set bits in the pieces before this one.
    before: u64,
    /// `ranks[k]`: set bits in the first `64 k` bytes of the piece (one more entry than full
    /// blocks: the last is the piece's total).
    ranks: Vec<u64>,
}

/// A bitmap of `bits` PFNs, bit `i` of byte `i / 8` (LSB first) = PFN `i`, as makedumpfile
/// writes it. Every method that reads bits takes the file's bytes (`data`), which hold it.
#[derive(Debug, Clone, Default)]
pub struct Bitmap {
    bits: u64,
    pieces: Vec<Piece>,
    total: u64,
}

/// Set bits of `bytes`, eight at a time.
fn popcount(bytes: &[u8]) -> u64 {
    let mut n = 0u64;
    let mut words = bytes.chunks_exact(8);
    for w in &mut words {
        let mut a = [0u8; 8];
        a.copy_from_slice(w);
        n += u64::from(u64::from_le_bytes(a).count_ones());
    }
    for &b in words.remainder() {
        n += u64::from(b.count_ones());
    }
    n
}

impl Bitmap {
    /// The bitmap of `bits` PFNs whose bytes the file holds in `pieces`: `(first bitmap
    /// byte, file offset, length)`, ascending and disjoint; other bytes read as zeros. Pieces
    /// are clipped to the bitmap's `bits.div_ceil(8)` bytes and to `data`.
    pub fn from_pieces(
        data: &[u8],
        bits: u64,
        pieces: impl IntoIterator<Item = (u64, u64, u64)>,
    ) -> Bitmap {
        let nbytes = bits.div_ceil(8);
        let mut bm = Bitmap {
            bits,
            pieces: Vec::new(),
            total: 0,
        };
        let mut next_free = 0u64;
        for (start, file, len) in pieces {
            // Disjoint and ascending; within the bitmap and within the file.
            let start_c = start.max(next_free);
            let skip = start_c - start;
            let len = len.saturating_sub(skip);
            let file = file.saturating_add(skip);
            let in_file = (data.len() as u64).saturating_sub(file);
            let len = len.min(nbytes.saturating_sub(start_c)).min(in_file);
            if len == 0 {
                continue;
            }
            let mut p = Piece {
                start: start_c,
                len,
                file,
                before: bm.total,
                ranks: Vec::with_capacity(len.div_ceil(BLOCK_BYTES) as usize + 1),
            };
            let mut sum = 0u64;
            let mut at = 0u64;
            while at < len {
                p.ranks.push(sum);
                let n = BLOCK_BYTES.min(len - at);
                sum += bm.count_piece(data, &p, at, at + n);
                at += n;
            }
            p.ranks.push(sum);
            bm.total += sum;
            next_free = start_c + len;
            bm.pieces.push(p);
        }
        bm
    }

    /// The bitmap of `bits` PFNs held contiguously in `bytes` (a test helper).
    #[cfg(test)]
    pub fn from_bytes(bytes: &[u8], bits: u64) -> Bitmap {
        Bitmap::from_pieces(bytes, bits, [(0, 0, bytes.len() as u64)])
    }

    fn slice<'a>(data: &'a [u8], p: &Piece) -> &'a [u8] {
        // from_pieces clipped every piece to `data`.
        let s = p.file as usize;
        data.get(s..s + p.len as usize).unwrap_or(&[])
    }

    /// Set bits in bytes `[from, to)` of piece `p`, without the bits past `self.bits`.
    fn count_piece(&self, data: &[u8], p: &Piece, from: u64, to: u64) -> u64 {
        let bytes = Self::slice(data, p);
        let (f, t) = (from.min(p.len) as usize, to.min(p.len) as usize);
        let mut n = popcount(bytes.get(f..t).unwrap_or(&[]));
        // The last byte of the bitmap may hold bits past `bits` (past max_mapnr).
        let last = self.bits / 8;
        if self.bits % 8 != 0 && (p.start + f as u64..p.start + t as u64).contains(&last) {
            let b = bytes[(last - p.start) as usize];
            n -= u64::from((b & !((1u8 << (self.bits % 8)) - 1)).count_ones());
        }
        n
    }

    /// The piece holding bitmap byte `byte`, or the index of the first piece after it.
    fn find(&self, byte: u64) -> Result<usize, usize> {
        let i = self.pieces.partition_point(|p| p.start + p.len <= byte);
        match self.pieces.get(i) {
            Some(p) if p.start <= byte => Ok(i),
            _ => Err(i),
        }
    }

    /// Bit `pfn` (false past the end).
    pub fn get(&self, data: &[u8], pfn: u64) -> bool {
        if pfn >= self.bits {
            return false;
        }
        let byte = pfn / 8;
        match self.find(byte) {
            Ok(i) => {
                let p = &self.pieces[i];
                Self::slice(data, p)
                    .get((byte - p.start) as usize)
                    .is_some_and(|b| b >> (pfn % 8) & 1 == 1)
            }
            Err(_) => false,
        }
    }
    /// Number of set bits.
    pub fn count_ones(&self) -> u64 {
        self.total
    }
    /// Number of set bits before `pfn` (the descriptor index of a dumpable `pfn`).
    pub fn rank(&self, data: &[u8], pfn: u64) -> u64 {
        let pfn = pfn.min(self.bits);
        let byte = pfn / 8;
        let i = match self.find(byte) {
            Ok(i) => i,
            // In a gap: everything before it.
            Err(i) => {
                return self.pieces.get(i).map_or(self.total, |p| p.before);
            }
        };
        let p = &self.pieces[i];
        let rel = byte - p.start;
        let k = rel / BLOCK_BYTES;
        let mut n = p.before + p.ranks.get(k as usize).copied().unwrap_or(0);
        n += self.count_piece(data, p, k * BLOCK_BYTES, rel);
        if pfn % 8 != 0
            && let Some(b) = Self::slice(data, p).get(rel as usize)
        {
            n += u64::from((b & ((1u8 << (pfn % 8)) - 1)).count_ones());
        }
        n
    }
    /// Number of bits set here and clear in `other` (RAM pages the 2nd bitmap excludes).
    pub fn count_and_not(&self, data: &[u8], other: &Bitmap) -> u64 {
        let mut both = 0u64;
        let _ = self.for_each_run(data, 0, self.bits, &mut |s, e| {
            both += other.rank(data, e) - other.rank(data, s);
            std::ops::ControlFlow::Continue(())
        });
        self.total.saturating_sub(both)
    }

    /// Calls `f(start, end)` for each maximal run of set bits within `[from, to)`, ascending,
    /// until it returns `Break`. Work is proportional to the stored bytes in the range, never
    /// to the bytes no piece holds.
    pub fn for_each_run(
        &self,
        data: &[u8],
        from: u64,
        to: u64,
        f: &mut dyn FnMut(u64, u64) -> std::ops::ControlFlow<()>,
    ) -> std::ops::ControlFlow<()> {
        use std::ops::ControlFlow;
        let to = to.min(self.bits);
        if from >= to {
            return ControlFlow::Continue(());
        }
        let first = self.find(from / 8).unwrap_or_else(|i| i);
        let mut open: Option<u64> = None;
        // Every PFN below `reached` has been looked at.
        let mut reached = from;
        for p in &self.pieces[first..] {
            let p_bit = p.start.saturating_mul(8);
            if p_bit >= to {
                break;
            }
            // A gap between pieces reads as zeros and ends a run.
            if p_bit > reached
                && let Some(s) = open.take()
            {
                f(s, reached)?;
            }
            let bytes = Self::slice(data, p);
            let lo = from.saturating_sub(p_bit) / 8;
            let hi = (to - p_bit).div_ceil(8).min(p.len);
            let mut i = lo;
            while i < hi {
                // Whole words of zeros (outside a run) or ones (inside) need no bit loop.
                if i + 8 <= hi {
                    let mut a = [0u8; 8];
                    a.copy_from_slice(&bytes[i as usize..i as usize + 8]);
                    let w = u64::from_le_bytes(a);
                    if (w == 0 && open.is_none()) || (w == u64::MAX && open.is_some()) {
                        i += 8;
                        continue;
                    }
                }
                let b = bytes[i as usize];
                if (b == 0 && open.is_none()) || (b == 0xff && open.is_some()) {
                    i += 1;
                    continue;
                }
                for bit in 0..8 {
                    let pfn = p_bit + i * 8 + bit;
                    if pfn < from || pfn >= to {
                        continue;
                    }
                    match (b >> bit & 1 == 1, open) {
                        (true, None) => open = Some(pfn),
                        (false, Some(s)) => {
                            open = None;
                            f(s, pfn)?;
                        }
                        _ => {}
                    }
                }
                i += 1;
            }
            reached = (p_bit + hi * 8).min(to);
        }
        if let Some(s) = open {
            f(s, reached)?;
        }
        ControlFlow::Continue(())
    }

    /// Maximal runs of set bits, as half-open `[start, end)` PFN ranges; `None` when there
    /// are more than `cap`.
    pub fn runs(&self, data: &[u8], cap: usize) -> Option<Vec<(u64, u64)>> {
        let mut out = Vec::new();
        let flow = self.for_each_run(data, 0, self.bits, &mut |s, e| {
            if out.len() >= cap {
                return std::ops::ControlFlow::Break(());
            }
            out.push((s, e));
            std::ops::ControlFlow::Continue(())
        });
        flow.is_continue().then_some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive_runs(bm: &Bitmap, data: &[u8], from: u64, to: u64) -> Vec<(u64, u64)> {
        let mut out = Vec::new();
        let mut start = None;
        for pfn in from..to {
            match (bm.get(data, pfn), start) {
                (true, None) => start = Some(pfn),
                (false, Some(s)) => {
                    out.push((s, pfn));
                    start = None;
                }
                _ => {}
            }
        }
        if let Some(s) = start {
            out.push((s, to));
        }
        out
    }

    #[test]
    fn rank_and_runs_match_a_naive_count_over_pieces_with_gaps() {
        let data: Vec<u8> = (0..900u32)
            .map(|i| match i % 97 {
                0..=20 => 0xff,
                21..=40 => 0,
                _ => (i.wrapping_mul(37) ^ (i >> 3)) as u8,
            })
            .collect();
        let one = Bitmap::from_bytes(&data[..300], 2390);
        // Three pieces: bitmap bytes 0..100 at file 0, 130..250 at file 500, 250..300 at 700
        // (adjacent to the second), and nothing for 100..130 (reads as zeros).
        let gaps = Bitmap::from_pieces(&data, 2390, [(0, 0, 100), (130, 500, 120), (250, 700, 50)]);
        for bm in [&one, &gaps] {
            let mut naive = 0;
            for pfn in 0..=2400 {
                assert_eq!(bm.rank(&data, pfn), naive, "pfn {pfn}");
                if bm.get(&data, pfn) {
                    naive += 1;
                }
            }
            assert_eq!(bm.count_ones(), naive);
            for (from, to) in [(0, 2390), (5, 2001), (800, 1040), (1000, 1003), (0, 9999)] {
                let mut runs = Vec::new();
                let _ = bm.for_each_run(&data, from, to, &mut |s, e| {
                    runs.push((s, e));
                    std::ops::ControlFlow::Continue(())
                });
                assert_eq!(
                    runs,
                    naive_runs(bm, &data, from, to.min(2390)),
                    "{from}..{to}"
                );
            }
            let runs = bm.runs(&data, usize::MAX).unwrap();
            assert_eq!(runs.iter().map(|(s, e)| e - s).sum::<u64>(), naive);
            assert!(bm.runs(&data, 1).is_none());
        }
        // RAM here and not in the other bitmap.
        let other = Bitmap::from_bytes(&data[300..600], 2390);
        let naive = (0..2390)
            .filter(|&p| gaps.get(&data, p) && !other.get(&data[300..], p))
            .count() as u64;
        let other_in_data = Bitmap::from_pieces(&data, 2390, [(0, 300, 300)]);
        assert_eq!(gaps.count_and_not(&data, &other_in_data), naive);
        // A bitmap ending on a block boundary still ranks its end.
        let aligned = Bitmap::from_bytes(&data[..128], 1024);
        assert_eq!(aligned.rank(&data, 1024), aligned.count_ones());
    }
}
