//! Synthetic kdump-compressed and flattened dumps, for edge-case and hostile-input tests.
//!
//! The layout is written out here from makedumpfile's `diskdump_mod.h` and
//! `write_kdump_header`/`write_kdump_pages` (LP64): block 0 the `disk_dump_header`, block 1 the
//! `kdump_sub_header` followed by the ELF notes, then both bitmaps, one `page_desc` per
//! dumpable PFN, and the page data (the shared zero page first). A [`KdumpSpec`] says what
//! each PFN is ([`PageKind`]); [`KdumpOverrides`] break single fields on purpose. [`flatten`]
//! turns an image into makedumpfile's flattened stream, optionally out of order, overlapping
//! or cut short.
//!
//! Nothing here is shared with the reader in `vmcore`.

use crate::{ByteOrder, ElfSpec, note_bytes, pattern_byte};
pub use kdump_types::kdump::HeaderAbi;
use kdump_types::kdump::disk_dump_header as dh;

/// Page compression of a dump.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Raw pages (`makedumpfile` without `-c/-l/-p/-z`).
    None,
    /// zlib (`-c`, QEMU `kdump-zlib`).
    Zlib,
    /// LZO1X (`-l`).
    Lzo,
    /// snappy (`-p`).
    Snappy,
    /// zstd (`-z`).
    Zstd,
}

impl Compression {
    /// Every method.
    pub const ALL: [Compression; 5] = [
        Compression::None,
        Compression::Zlib,
        Compression::Lzo,
        Compression::Snappy,
        Compression::Zstd,
    ];
    /// The `DUMP_DH_COMPRESSED_*` bit.
    pub fn flag(self) -> u32 {
        match self {
            Compression::None => 0,
            Compression::Zlib => 0x1,
            Compression::Lzo => 0x2,
            Compression::Snappy => 0x4,
            Compression::Zstd => 0x20,
        }
    }
    /// Compress one page.
    pub fn compress(self, page: &[u8]) -> Vec<u8> {
        match self {
            Compression::None => page.to_vec(),
            Compression::Zlib => {
                use std::io::Write;
                let mut e =
                    flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
                // Writing to a Vec cannot fail.
                let _ = e.write_all(page);
                e.finish().unwrap_or_default()
            }
            Compression::Lzo => {
                let mut out = Vec::with_capacity(rust_lzo::worst_compress(page.len()));
                let mut ctx = rust_lzo::LZOContext::new();
                let _ = ctx.compress(page, &mut out);
                out
            }
            Compression::Snappy => snap::raw::Encoder::new()
                .compress_vec(page)
                .unwrap_or_default(),
            Compression::Zstd => zstd::bulk::compress(page, 1).unwrap_or_default(),
        }
    }
}

/// What one PFN of a synthetic dump is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageKind {
    /// Dumpable, holding [`page_content`]; compressed (stored raw when that does not shrink it).
    Data,
    /// Dumpable, all zeros: its descriptor points at the shared zero page when
    /// [`KdumpSpec::zero_page`] is set, else it is stored like `Data`.
    Zero,
    /// RAM that the dump level excluded: set in the 1st bitmap only, no descriptor.
    Excluded,
    /// Not RAM: clear in both bitmaps.
    Hole,
    /// Dumpable, but its descriptor is all zeros (offset 0), as an incomplete dump leaves it.
    Lost,
    /// Dumpable, with the stored bytes overwritten by 0xff (a corrupt compressed page).
    Corrupt,
    /// Dumpable, stored raw (flags 0) whatever the dump's compression.
    Raw,
}

impl PageKind {
    fn dumpable(self) -> bool {
        !matches!(self, PageKind::Excluded | PageKind::Hole)
    }
}

/// Fields to break on purpose (hostile inputs). `None`/empty keeps the honest value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KdumpOverrides {
    /// `max_mapnr` / `max_mapnr_64` written in the headers.
    pub max_mapnr: Option<u64>,
    /// The 32-bit `disk_dump_header.max_mapnr` alone (honest: `min(max_mapnr_64, 2^32-1)`),
    /// for headers whose two PFN counts disagree.
    pub max_mapnr32: Option<u32>,
    /// `bitmap_blocks` written in the header (the bitmaps are laid out honestly).
    pub bitmap_blocks: Option<u32>,
    /// `block_size` written in the header.
    pub block_size: Option<u32>,
    /// `header_version` written in the header (the sub-header is laid out for the spec's).
    pub header_version: Option<u32>,
    /// `(pfn, offset)`: replace a descriptor's `offset`.
    pub desc_offset: Vec<(u64, i64)>,
    /// `(pfn, size)`: replace a descriptor's `size`.
    pub desc_size: Vec<(u64, u32)>,
    /// `(pfn, flags)`: replace a descriptor's `flags`.
    pub desc_flags: Vec<(u64, u32)>,
    /// `size_note` written in the sub-header.
    pub size_note: Option<u64>,
    /// `offset_vmcoreinfo` written in the sub-header.
    pub offset_vmcoreinfo: Option<u64>,
    /// Cut the image to this many bytes.
    pub truncate_to: Option<u64>,
}

/// A synthetic kdump-compressed dump.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KdumpSpec {
    /// `header_version`, 1..=6.
    pub header_version: u32,
    /// Page compression (also recorded in `status`).
    pub compression: Compression,
    /// `block_size` = page size.
    pub block_size: u32,
    /// `dump_level`.
    pub dump_level: u32,
    /// Write the shared zero page first and point [`PageKind::Zero`] pages at it.
    pub zero_page: bool,
    /// Set `DUMP_DH_COMPRESSED_INCOMPLETE` in `status`.
    pub incomplete: bool,
    /// One entry per PFN from 0; `max_mapnr` is its length.
    pub pages: Vec<PageKind>,
    /// CPUs and VMCOREINFO for the note blob (version ≥ 3; only `cpus`, `qemu_notes`,
    /// `vmcoreinfo` are used).
    pub notes: ElfSpec,
    /// `utsname.machine`.
    pub machine: String,
    /// `utsname.release`.
    pub release: String,
    /// `phys_base`.
    pub phys_base: u64,
    /// Split part `[start_pfn, end_pfn)`: `split = 1`, descriptors only for that range.
    pub split: Option<(u64, u64)>,
    /// Erase-info text (version ≥ 5).
    pub eraseinfo: Option<String>,
    /// Word layout of the headers (64-bit, or a 32-bit ABI); [`KdumpSpec::machine`] should
    /// name a machine of that word size, as real dumps do.
    pub abi: HeaderAbi,
    /// Byte order of every header field, page descriptor and note (big-endian for ppc64 and
    /// s390x; [`KdumpSpec::machine`] should name such a machine). The bitmaps are bytes.
    pub byte_order: ByteOrder,
    /// Deliberate corruption.
    pub overrides: KdumpOverrides,
}

impl Default for KdumpSpec {
    fn default() -> Self {
        KdumpSpec {
            header_version: 6,
            compression: Compression::Zlib,
            block_size: 4096,
            dump_level: 31,
            zero_page: true,
            incomplete: false,
            pages: Vec::new(),
            notes: ElfSpec::default(),
            machine: "x86_64".into(),
            release: "6.12.0-testgen".into(),
            phys_base: 0,
            split: None,
            eraseinfo: None,
            abi: HeaderAbi::Lp64,
            byte_order: ByteOrder::Little,
            overrides: KdumpOverrides::default(),
        }
    }
}

/// Store `v` in an `unsigned long` of `width` bytes (8, or 4 on 32-bit ABIs).
fn put_word(o: ByteOrder, out: &mut [u8], width: u64, at: usize, v: u64) {
    if width == 8 {
        put_u64(o, out, at, v);
    } else {
        put_u32(o, out, at, v as u32);
    }
}

/// The bytes of dumpable page `pfn` ([`PageKind::Data`]): [`pattern_byte`] of each address.
pub fn page_content(pfn: u64, block_size: u32) -> Vec<u8> {
    let base = pfn * u64::from(block_size);
    // Runs of 64 equal bytes so every method finds something to compress.
    (0..u64::from(block_size))
        .map(|i| pattern_byte(base + (i & !63)))
        .collect()
}

/// A page layout with every kind, repeating: used by round-trip tests.
pub fn mixed_pages(n: u64) -> Vec<PageKind> {
    (0..n)
        .map(|pfn| match pfn % 11 {
            0 | 1 | 2 | 5 | 8 => PageKind::Data,
            3 => PageKind::Zero,
            4 | 9 => PageKind::Excluded,
            6 => PageKind::Hole,
            7 => PageKind::Raw,
            _ => PageKind::Data,
        })
        .collect()
}

fn put_u32(o: ByteOrder, b: &mut [u8], off: usize, v: u32) {
    b[off..off + 4].copy_from_slice(&o.u32_bytes(v));
}
fn put_u64(o: ByteOrder, b: &mut [u8], off: usize, v: u64) {
    b[off..off + 8].copy_from_slice(&o.u64_bytes(v));
}
fn put_str(b: &mut [u8], off: usize, s: &str) {
    let n = s.len().min(64);
    b[off..off + n].copy_from_slice(&s.as_bytes()[..n]);
}
fn round_up(n: u64, to: u64) -> u64 {
    n.div_ceil(to) * to
}

/// Offset of the VMCOREINFO descriptor inside a note blob, if it has one.
fn vmcoreinfo_desc(blob: &[u8], order: ByteOrder) -> Option<(u64, u64)> {
    let mut off = 0usize;
    while off + 12 <= blob.len() {
        let rd = |o: usize| order.u32([blob[o], blob[o + 1], blob[o + 2], blob[o + 3]]);
        let (namesz, descsz) = (rd(off) as usize, rd(off + 4) as usize);
        let name_off = off + 12;
        let desc_off = name_off + namesz.div_ceil(4) * 4;
        if blob.get(name_off..name_off + namesz) == Some(b"VMCOREINFO\0") {
            return Some((desc_off as u64, descsz as u64));
        }
        off = desc_off + descsz.div_ceil(4) * 4;
    }
    None
}

/// Write `spec` as a kdump-compressed image.
pub fn kdump_bytes(spec: &KdumpSpec) -> Vec<u8> {
    let bs = u64::from(spec.block_size);
    let v = spec.header_version;
    let max_mapnr = spec.pages.len() as u64;
    let o = spec.byte_order;
    let notes = if v >= 3 {
        note_bytes(&ElfSpec {
            byte_order: o,
            ..spec.notes.clone()
        })
    } else {
        Vec::new()
    };
    let erase = spec.eraseinfo.clone().unwrap_or_default().into_bytes();
    let (hl, sl) = (spec.abi.disk_dump_header(), spec.abi.sub_header());
    let sub_len = sl.size_for(6);
    let sub_hdr_size = (sub_len + notes.len() as u64).div_ceil(bs).max(1);
    let half = round_up(max_mapnr.div_ceil(8), bs).max(bs);
    let bitmap_blocks = 2 * half / bs;
    let bitmap_off = (1 + sub_hdr_size) * bs;
    let desc_off = bitmap_off + 2 * half;
    let in_part = |pfn: u64| spec.split.is_none_or(|(s, e)| (s..e).contains(&pfn));
    let n_desc = spec
        .pages
        .iter()
        .enumerate()
        .filter(|(pfn, k)| k.dumpable() && in_part(*pfn as u64))
        .count() as u64;
    let data_off = desc_off + 24 * n_desc;
    let mut out = vec![0u8; data_off as usize];

    // disk_dump_header
    out[0..8].copy_from_slice(b"KDUMP   ");
    put_u32(
        o,
        &mut out,
        dh::HEADER_VERSION as usize,
        spec.overrides.header_version.unwrap_or(v),
    );
    for (i, s) in [
        "Linux",
        "testgen",
        &spec.release,
        "#1 SMP",
        &spec.machine,
        "(none)",
    ]
    .iter()
    .enumerate()
    {
        put_str(&mut out, (dh::UTSNAME + dh::UTS_LEN * i as u64) as usize, s);
    }
    if hl.timeval_width == 8 {
        put_u64(o, &mut out, hl.timestamp_sec as usize, 1_700_000_000);
    } else {
        put_u32(o, &mut out, hl.timestamp_sec as usize, 1_700_000_000);
    }
    let mut status = spec.compression.flag();
    if spec.incomplete {
        status |= 0x8;
    }
    put_u32(o, &mut out, hl.status as usize, status);
    put_u32(
        o,
        &mut out,
        hl.block_size as usize,
        spec.overrides.block_size.unwrap_or(spec.block_size),
    );
    put_u32(o, &mut out, hl.sub_hdr_size as usize, sub_hdr_size as u32);
    put_u32(
        o,
        &mut out,
        hl.bitmap_blocks as usize,
        spec.overrides.bitmap_blocks.unwrap_or(bitmap_blocks as u32),
    );
    let mapnr_field = spec.overrides.max_mapnr.unwrap_or(max_mapnr);
    let mapnr32 = spec
        .overrides
        .max_mapnr32
        .unwrap_or(mapnr_field.min(u64::from(u32::MAX)) as u32);
    put_u32(o, &mut out, hl.max_mapnr as usize, mapnr32);
    let nr_cpus = spec.notes.cpus.len() as u32;
    put_u32(o, &mut out, hl.nr_cpus as usize, nr_cpus);

    // kdump_sub_header + notes
    let sh = bs as usize;
    put_word(
        o,
        &mut out,
        sl.word,
        sh + sl.phys_base as usize,
        spec.phys_base,
    );
    put_u32(o, &mut out, sh + sl.dump_level as usize, spec.dump_level);
    let note_off = bs + sub_len;
    out[note_off as usize..note_off as usize + notes.len()].copy_from_slice(&notes);
    if v >= 2
        && let Some((s, e)) = spec.split
    {
        put_u32(o, &mut out, sh + sl.split as usize, 1);
        put_word(o, &mut out, sl.word, sh + sl.start_pfn as usize, s);
        put_word(o, &mut out, sl.word, sh + sl.end_pfn as usize, e);
    }
    if v >= 3
        && let Some((d, len)) = vmcoreinfo_desc(&notes, o)
    {
        put_u64(
            o,
            &mut out,
            sh + sl.offset_vmcoreinfo as usize,
            spec.overrides.offset_vmcoreinfo.unwrap_or(note_off + d),
        );
        put_word(o, &mut out, sl.word, sh + sl.size_vmcoreinfo as usize, len);
    }
    if v >= 4 && !notes.is_empty() {
        put_u64(o, &mut out, sh + sl.offset_note as usize, note_off);
        put_word(
            o,
            &mut out,
            sl.word,
            sh + sl.size_note as usize,
            spec.overrides.size_note.unwrap_or(notes.len() as u64),
        );
    }
    if v >= 6 {
        let (s, e) = spec.split.unwrap_or((0, max_mapnr));
        put_u64(o, &mut out, sh + sl.start_pfn_64 as usize, s);
        put_u64(o, &mut out, sh + sl.end_pfn_64 as usize, e);
        put_u64(o, &mut out, sh + sl.max_mapnr_64 as usize, mapnr_field);
    }

    // Bitmaps
    for (pfn, k) in spec.pages.iter().enumerate() {
        let (byte, bit) = (pfn / 8, 1u8 << (pfn % 8));
        if *k != PageKind::Hole {
            out[bitmap_off as usize + byte] |= bit;
        }
        if k.dumpable() {
            out[(bitmap_off + half) as usize + byte] |= bit;
        }
    }

    // Page data and descriptors
    let mut data: Vec<u8> = Vec::new();
    let zero_at = if spec.zero_page {
        data.resize(bs as usize, 0);
        Some(data_off)
    } else {
        None
    };
    let mut desc_at = desc_off as usize;
    for (pfn, k) in spec.pages.iter().enumerate() {
        let pfn = pfn as u64;
        if !k.dumpable() || !in_part(pfn) {
            continue;
        }
        let (mut offset, mut size, mut flags) = (0i64, 0u32, 0u32);
        match (k, zero_at) {
            (PageKind::Lost, _) => {}
            (PageKind::Zero, Some(z)) => {
                (offset, size) = (z as i64, spec.block_size);
            }
            _ => {
                let page = if *k == PageKind::Zero {
                    vec![0u8; bs as usize]
                } else {
                    page_content(pfn, spec.block_size)
                };
                let method = if *k == PageKind::Raw {
                    Compression::None
                } else {
                    spec.compression
                };
                let mut stored = method.compress(&page);
                flags = method.flag();
                if stored.is_empty() || stored.len() >= page.len() {
                    stored = page;
                    flags = 0;
                }
                if *k == PageKind::Corrupt {
                    stored.iter_mut().for_each(|b| *b = 0xff);
                }
                offset = (data_off + data.len() as u64) as i64;
                size = stored.len() as u32;
                data.extend_from_slice(&stored);
            }
        }
        let ov = &spec.overrides;
        if let Some(&(_, x)) = ov.desc_offset.iter().find(|(p, _)| *p == pfn) {
            offset = x;
        }
        if let Some(&(_, x)) = ov.desc_size.iter().find(|(p, _)| *p == pfn) {
            size = x;
        }
        if let Some(&(_, x)) = ov.desc_flags.iter().find(|(p, _)| *p == pfn) {
            flags = x;
        }
        if *k != PageKind::Lost || offset != 0 {
            put_u64(o, &mut out, desc_at, offset as u64);
            put_u32(o, &mut out, desc_at + 8, size);
            put_u32(o, &mut out, desc_at + 12, flags);
        }
        desc_at += 24;
    }
    out.extend_from_slice(&data);
    if v >= 5 && !erase.is_empty() {
        let at = out.len() as u64;
        put_u64(o, &mut out, sh + sl.offset_eraseinfo as usize, at);
        put_word(
            o,
            &mut out,
            sl.word,
            sh + sl.size_eraseinfo as usize,
            erase.len() as u64,
        );
        out.extend_from_slice(&erase);
    }
    if let Some(t) = spec.overrides.truncate_to {
        out.truncate(t as usize);
    }
    out
}

/// How [`flatten`] writes the record stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlatSpec {
    /// Bytes per record.
    pub record_size: usize,
    /// Shuffle the records with this seed (writers emit them out of order).
    pub shuffle_seed: Option<u64>,
    /// Leave out records whose bytes are all zero (the padding `makedumpfile -F` never writes).
    pub skip_zero_records: bool,
    /// Append a record that writes the first 464 bytes again (overlapping records).
    pub rewrite_header: bool,
    /// Write the end record (offset = size = -1).
    pub end_marker: bool,
    /// Cut the stream to this many bytes.
    pub truncate_to: Option<u64>,
}

impl Default for FlatSpec {
    fn default() -> Self {
        FlatSpec {
            record_size: 4096,
            shuffle_seed: None,
            skip_zero_records: true,
            rewrite_header: false,
            end_marker: true,
            truncate_to: None,
        }
    }
}

/// makedumpfile's flattened stream of `image`: a 4096-byte `makedumpfile_header`
/// ("makedumpfile", type 1, version 1, big-endian) and `{offset, buf_size}` records.
pub fn flatten(image: &[u8], spec: &FlatSpec) -> Vec<u8> {
    let mut out = vec![0u8; 4096];
    out[..12].copy_from_slice(b"makedumpfile");
    out[16..24].copy_from_slice(&1i64.to_be_bytes());
    out[24..32].copy_from_slice(&1i64.to_be_bytes());
    let step = spec.record_size.max(1);
    let mut recs: Vec<(usize, usize)> = (0..image.len())
        .step_by(step)
        .map(|s| (s, (s + step).min(image.len())))
        .filter(|&(s, e)| !spec.skip_zero_records || image[s..e].iter().any(|&b| b != 0))
        .collect();
    if let Some(seed) = spec.shuffle_seed {
        let mut x = seed | 1;
        for i in (1..recs.len()).rev() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            recs.swap(i, (x % (i as u64 + 1)) as usize);
        }
    }
    if spec.rewrite_header {
        recs.push((0, 464.min(image.len())));
    }
    for (s, e) in recs {
        out.extend_from_slice(&(s as i64).to_be_bytes());
        out.extend_from_slice(&((e - s) as i64).to_be_bytes());
        out.extend_from_slice(&image[s..e]);
    }
    if spec.end_marker {
        out.extend_from_slice(&(-1i64).to_be_bytes());
        out.extend_from_slice(&(-1i64).to_be_bytes());
    }
    if let Some(t) = spec.truncate_to {
        out.truncate(t as usize);
    }
    out
}

/// A flattened record header, for streams built by hand in tests (e.g. an offset of
/// `i64::MAX`): 16 big-endian bytes.
pub fn flat_record_header(offset: i64, size: i64) -> [u8; 16] {
    let mut h = [0u8; 16];
    h[..8].copy_from_slice(&offset.to_be_bytes());
    h[8..].copy_from_slice(&size.to_be_bytes());
    h
}
