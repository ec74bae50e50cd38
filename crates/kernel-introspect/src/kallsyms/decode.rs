//! Decoding the compressed tables: the token table, the names (`kallsyms_names`, read in
//! chunks and expanded through the tokens), and the addresses in whichever encoding the
//! kernel used (`kallsyms_offsets` relative to `kallsyms_relative_base`, or absolute).

use super::*;

/// Reads `kallsyms_names` front to back in chunks, so a wrong count fails at the first
/// unreadable page rather than sizing a buffer.
struct Stream<'m, M: KernelMemory + ?Sized> {
    mem: &'m M,
    base: u64,
    buf: Vec<u8>,
    buf_start: u64,
    pos: u64,
}

impl<M: KernelMemory + ?Sized> Stream<'_, M> {
    const CHUNK: usize = 64 * 1024;

    fn byte(&mut self) -> Result<u8> {
        let rel = self.pos - self.buf_start;
        if rel >= self.buf.len() as u64 {
            self.refill()?;
        }
        let b = self.buf[(self.pos - self.buf_start) as usize];
        self.pos += 1;
        Ok(b)
    }

    /// The next `n` bytes (at most one chunk), refilling once when the buffer ends inside
    /// them.
    fn take(&mut self, n: usize) -> Result<&[u8]> {
        let rel = (self.pos - self.buf_start) as usize;
        if rel + n > self.buf.len() {
            self.refill()?;
        }
        let rel = (self.pos - self.buf_start) as usize;
        let Some(bytes) = self.buf.get(rel..rel + n) else {
            return Err(Error::Corrupt {
                what: "kallsyms_names",
                addr: self.base.wrapping_add(self.pos),
                detail: format!("a {n}-byte name runs past the readable memory"),
            });
        };
        self.pos += n as u64;
        Ok(bytes)
    }

    fn refill(&mut self) -> Result<()> {
        let addr = self
            .base
            .checked_add(self.pos)
            .ok_or(Error::AddressOverflow {
                addr: self.base,
                len: self.pos,
            })?;
        // Near the end of the mapping a full chunk may not be readable: shrink to a page.
        let mut len = Self::CHUNK;
        self.buf.resize(len, 0);
        loop {
            match self.mem.read(addr, &mut self.buf[..len]) {
                Ok(()) => break,
                Err(e) if len <= 4096 - (addr as usize & 4095) || len <= 1 => return Err(e),
                Err(_) => len = (len / 2).max(4096 - (addr as usize & 4095)),
            }
        }
        self.buf.truncate(len);
        self.buf_start = self.pos;
        Ok(())
    }
}

pub(super) fn read_tokens(
    t: &KallsymsTables,
    mem: &(impl KernelMemory + ?Sized),
) -> Result<Vec<Vec<u8>>> {
    let mut idx = [0u8; 512];
    mem.read(t.token_index, &mut idx)?;
    let index: Vec<u16> = idx
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    let max = index.iter().copied().max().unwrap_or(0) as usize;
    // Tokens are short (the compressor joins pairs a bounded number of times); 256 bytes past the
    // last start covers any real one, and a missing NUL is an error below.
    let table = mem.read_vec(t.token_table, max + 256).or_else(|_| {
        // The table may end right before an unmapped page: read exactly up to the index array.
        let len = t.token_index.saturating_sub(t.token_table) as usize;
        if len > max && len <= max + 256 {
            mem.read_vec(t.token_table, len)
        } else {
            mem.read_vec(t.token_table, max + 1)
        }
    })?;
    index
        .iter()
        .enumerate()
        .map(|(n, &off)| {
            let rest = table.get(off as usize..).unwrap_or(&[]);
            let end = rest.iter().position(|&b| b == 0).ok_or(Error::Corrupt {
                what: "kallsyms_token_table",
                addr: t.token_table + off as u64,
                detail: format!("token {n} has no terminating NUL"),
            })?;
            Ok(rest[..end].to_vec())
        })
        .collect()
}

/// Names back to back (ASCII: any other byte was replaced), their ends, type characters and
/// name hashes ([`name_hash`]).
type Names = (Vec<u8>, Vec<u32>, Vec<u8>, Vec<u32>);

pub(super) fn expand_names(
    t: &KallsymsTables,
    count: u32,
    tokens: &[Vec<u8>],
    mem: &(impl KernelMemory + ?Sized),
) -> Result<Names> {
    let mut s = Stream {
        mem,
        base: t.names,
        buf: Vec::new(),
        buf_start: 0,
        pos: 0,
    };
    // `count` is a header field: reserve only what a small table needs and let the vectors
    // grow as names actually decode (a false count fails at the first unreadable byte).
    let padded = PaddedTokens::new(tokens);
    let mut scratch = [0u8; SCRATCH];
    let reserve = (count as usize).min(1 << 16);
    let mut arena: Vec<u8> = Vec::with_capacity(reserve * 16);
    let mut ends = Vec::with_capacity(reserve);
    let mut kinds = Vec::with_capacity(reserve);
    let mut hashes = Vec::with_capacity(reserve);
    for n in 0..count {
        let at = t.names + s.pos;
        let mut len = s.byte()? as usize;
        if len & 0x80 != 0 {
            len = (len & 0x7f) | ((s.byte()? as usize) << 7);
        }
        if len == 0 {
            return Err(Error::Corrupt {
                what: "kallsyms_names",
                addr: at,
                detail: format!("symbol {n} has length 0"),
            });
        }
        let start = arena.len();
        let codes = s.take(len)?;
        // The first expanded byte is the type character, kept apart from the name.
        let kind = match padded.as_ref().and_then(|p| p.expand(codes, &mut scratch)) {
            // Fast path: fixed-size copies into a scratch buffer, one copy into the arena.
            Some(n) => {
                arena.extend_from_slice(&scratch[1..n]);
                Some(scratch[0])
            }
            None => {
                let mut kind = None;
                for &c in codes {
                    let tok = tokens[c as usize].as_slice();
                    match (kind, tok.split_first()) {
                        (None, Some((&k, rest))) => {
                            kind = Some(k);
                            arena.extend_from_slice(rest);
                        }
                        _ => arena.extend_from_slice(tok),
                    }
                }
                kind
            }
        };
        let Some(kind) = kind else {
            return Err(Error::Corrupt {
                what: "kallsyms_names",
                addr: at,
                detail: format!("symbol {n} expands to nothing"),
            });
        };
        kinds.push(kind);
        // Names are ASCII in every kernel; any other byte becomes '?', one byte for one, so the
        // name ends stay on character boundaries (a lossy UTF-8 conversion would widen each
        // bad byte to three and make them slice mid-character: found by fuzzing).
        if !arena[start..].is_ascii() {
            for b in arena[start..].iter_mut().filter(|b| !b.is_ascii()) {
                *b = b'?';
            }
        }
        hashes.push(name_hash_bytes(&arena[start..]) as u32);
        if arena.len() > u32::MAX as usize {
            return Err(Error::Corrupt {
                what: "kallsyms_names",
                addr: at,
                detail: "names expand past 4 GiB".into(),
            });
        }
        ends.push(arena.len() as u32);
    }
    Ok((arena, ends, kinds, hashes))
}

/// Bytes a token occupies in [`PaddedTokens`]: every token of real kernels is shorter (the
/// compressor joins pairs of pairs a few times), and a fixed size lets each token be copied
/// with one fixed-size move instead of a `memmove` call of its length.
const TOKEN_SLOT: usize = 32;

/// Scratch space for one expanded name: `KSYM_NAME_LEN` (512) bytes and the type character,
/// plus one slot of overrun for the last fixed-size copy. Longer expansions (no real kernel
/// has them) take the general path.
const SCRATCH: usize = 1024 + TOKEN_SLOT;

/// The 256 tokens, each zero-padded to [`TOKEN_SLOT`] bytes, and their lengths.
struct PaddedTokens {
    slots: Vec<[u8; TOKEN_SLOT]>,
    lens: [u8; 256],
}

impl PaddedTokens {
    /// `None` when some token is longer than a slot (the general path handles it).
    fn new(tokens: &[Vec<u8>]) -> Option<Self> {
        let mut slots = vec![[0u8; TOKEN_SLOT]; 256];
        let mut lens = [0u8; 256];
        for (i, t) in tokens.iter().enumerate().take(256) {
            if t.len() > TOKEN_SLOT {
                return None;
            }
            slots[i][..t.len()].copy_from_slice(t);
            lens[i] = t.len() as u8;
        }
        Some(PaddedTokens { slots, lens })
    }

    /// Expand `codes` into `out`; the number of bytes written, or `None` when they would not
    /// fit (the caller then expands them the general way).
    fn expand(&self, codes: &[u8], out: &mut [u8; SCRATCH]) -> Option<usize> {
        let mut n = 0usize;
        for &c in codes {
            let slot = out.get_mut(n..n + TOKEN_SLOT)?;
            slot.copy_from_slice(&self.slots[c as usize]);
            n += self.lens[c as usize] as usize;
            if n > SCRATCH - TOKEN_SLOT {
                return None;
            }
        }
        (n > 0).then_some(n)
    }
}

pub(super) fn decode_addresses(
    t: &KallsymsTables,
    count: u32,
    arena: &[u8],
    ends: &[u32],
    mem: &(impl KernelMemory + ?Sized),
) -> Result<(Vec<u64>, AddressEncoding)> {
    let stext_index = (0..ends.len())
        .find(|&i| {
            let start = if i == 0 { 0 } else { ends[i - 1] as usize };
            &arena[start..ends[i] as usize] == b"_stext"
        })
        .ok_or(Error::Corrupt {
            what: "kallsyms_names",
            addr: t.names,
            detail: "no symbol _stext: the names do not decode to a kernel symbol table".into(),
        })?;
    if let Some(base) = t.addresses {
        let raw = mem.read_vec(base, count as usize * 8)?;
        let addrs: Vec<u64> = raw
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
            .collect();
        if addrs[stext_index] == t.stext {
            return Ok((addrs, AddressEncoding::Absolute));
        }
    }
    let Some(offsets_at) = t.offsets else {
        return Err(no_encoding(t, None));
    };
    let raw = mem.read_vec(offsets_at, count as usize * 4)?;
    let offsets: Vec<i32> = raw
        .chunks_exact(4)
        .map(|c| i32::from_le_bytes(c.try_into().unwrap_or([0; 4])))
        .collect();
    let candidates: &[AddressEncoding] = if t.relative_base.is_some() {
        &[
            AddressEncoding::BaseRelative,
            AddressEncoding::AbsolutePercpu,
            AddressEncoding::PlaceRelative,
        ]
    } else {
        &[AddressEncoding::PlaceRelative]
    };
    let base = t.relative_base.map(|b| mem.read_u64(b)).transpose()?;
    let decode = |enc: AddressEncoding, i: usize| -> u64 {
        let off = offsets[i];
        match enc {
            AddressEncoding::BaseRelative => base.unwrap_or(0).wrapping_add(off as u32 as u64),
            AddressEncoding::AbsolutePercpu => {
                if off >= 0 {
                    off as u64
                } else {
                    base.unwrap_or(0)
                        .wrapping_sub(1)
                        .wrapping_sub(off as i64 as u64)
                }
            }
            AddressEncoding::PlaceRelative => {
                (offsets_at + 4 * i as u64).wrapping_add(off as i64 as u64)
            }
            AddressEncoding::Absolute => 0,
        }
    };
    let enc = candidates
        .iter()
        .copied()
        .find(|&e| decode(e, stext_index) == t.stext)
        .ok_or_else(|| no_encoding(t, Some(decode(candidates[0], stext_index))))?;
    Ok(((0..offsets.len()).map(|i| decode(enc, i)).collect(), enc))
}

fn no_encoding(t: &KallsymsTables, got: Option<u64>) -> Error {
    Error::Corrupt {
        what: "kallsyms_offsets",
        addr: t.offsets.or(t.addresses).unwrap_or(t.names),
        detail: format!(
            "no address encoding gives _stext its vmcoreinfo address {:#x}{}",
            t.stext,
            got.map(|g| format!(" (base-relative gives {g:#x})"))
                .unwrap_or_default()
        ),
    }
}
