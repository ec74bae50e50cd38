//! makedumpfile's flattened format (`makedumpfile -F`, QEMU `kdump-zlib|lzo|snappy`).
//!
//! A flattened file is a 4096-byte `makedumpfile_header` followed by records
//! `{ int64 offset; int64 buf_size; }` (big-endian) each followed by `buf_size` bytes that
//! belong at `offset` of the kdump-compressed image, and an end record whose `offset` and
//! `buf_size` are both −1. Writers emit the records out of order (makedumpfile writes the
//! sub-header after the bitmaps; QEMU writes page data and descriptors interleaved).
//!
//! We index the records once at open into a sorted, non-overlapping table and serve random
//! reads of the image from it, which is what `makedumpfile -R` would produce on disk:
//! - when records overlap, the later one in the stream wins (as `-R`'s seek-and-write does);
//! - bytes of the image that no record covers read as zeros (holes of the `-R` output: the
//!   padding between the header blocks is never written);
//! - a stream without the end record, or whose last record is cut short, is indexed as far
//!   as it goes and reported as a finding: the image then simply ends earlier.

use std::borrow::Cow;
use std::collections::BTreeMap;

use kdump_types::{Bytes, Finding, ReadError};

use crate::error::{Error, Result};
use crate::findings as F;

/// `MAX_SIZE_MDF_HEADER`: the header area before the first record.
pub const MDF_HEADER_SIZE: u64 = 4096;
/// `TYPE_FLAT_HEADER`.
pub const TYPE_FLAT_HEADER: i64 = 1;
/// `VERSION_FLAT_HEADER`.
pub const VERSION_FLAT_HEADER: i64 = 1;
/// `END_FLAG_FLAT_HEADER`: `offset` and `buf_size` of the end record.
pub const END_FLAG_FLAT_HEADER: i64 = -1;
/// Size of one record header (`struct makedumpfile_data_header`).
pub const RECORD_HEADER_SIZE: u64 = 16;

/// One record's data: `len` bytes at `image` in the rearranged image, stored at `file`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlatRecord {
    /// Offset in the kdump-compressed image (`makedumpfile_data_header.offset`).
    pub image: u64,
    /// Bytes (`buf_size`, or fewer when the record is cut short or overridden).
    pub len: u64,
    /// Absolute offset of the data in the flattened file.
    pub file: u64,
}

/// The sorted record index of a flattened file.
#[derive(Debug, Clone, Default)]
pub struct FlatIndex {
    /// Non-overlapping records sorted by `image`.
    records: Vec<FlatRecord>,
    /// End of the image: the highest `image + len`.
    image_len: u64,
    /// Data records read.
    records_read: u64,
    /// Where the stream could not be followed: record number, its file offset, and why.
    stop: Option<(u64, u64, String)>,
}

impl FlatIndex {
    /// Index the records of `data` (the whole flattened file). Problems with the record stream
    /// are findings; only a wrong header is an error.
    pub fn build(data: &[u8]) -> Result<(FlatIndex, Vec<Finding>)> {
        let file = Bytes::new(data, 0);
        let mut findings = Vec::new();
        check_header(&file, &mut findings)?;
        let mut map: BTreeMap<u64, FlatRecord> = BTreeMap::new();
        let mut overlaps = 0u64;
        let mut first_overlap = None;
        let len = data.len() as u64;
        let mut pos = MDF_HEADER_SIZE;
        let mut n = 0u64;
        let mut stop = None;
        loop {
            if pos >= len {
                stop = Some((
                    n,
                    pos,
                    "the stream ends there without its end record".into(),
                ));
                findings.push(F::FLAT_TRUNCATED.finding(
                    Some(pos),
                    "the flattened stream ends without its end record (offset = size = -1): \
                     the dump was cut short; the image is read as far as it goes",
                ));
                break;
            }
            let (Ok(off), Ok(size)) = (
                file.read_i64_be("flat record offset", pos),
                file.read_i64_be("flat record buf_size", pos + 8),
            ) else {
                stop = Some((n, pos, "the stream ends inside its 16-byte header".into()));
                findings.push(F::FLAT_TRUNCATED.finding(
                    Some(pos),
                    format!(
                        "the flattened stream ends inside a record header ({} of 16 bytes): \
                         the dump was cut short",
                        len - pos
                    ),
                ));
                break;
            };
            if off == END_FLAG_FLAT_HEADER && size == END_FLAG_FLAT_HEADER {
                let after = pos + RECORD_HEADER_SIZE;
                if after < len {
                    findings.push(F::FLAT_TRAILING_DATA.finding(
                        Some(after),
                        format!(
                            "{} bytes follow the end record and are ignored",
                            len - after
                        ),
                    ));
                }
                break;
            }
            // The image is addressed with off_t: an end past i64::MAX cannot be written.
            if off < 0 || size < 0 || off.checked_add(size).is_none() {
                findings.push(F::FLAT_RECORD_BAD.finding(
                    Some(pos),
                    format!(
                        "flat record {n} header has offset {off} and buf_size {size}: the stream \
                         cannot be followed past it"
                    ),
                ));
                stop = Some((
                    n,
                    pos,
                    format!("its header has offset {off} and buf_size {size}, not a record"),
                ));
                break;
            }
            let data_pos = pos + RECORD_HEADER_SIZE;
            let have = len - data_pos.min(len);
            let take = (size as u64).min(have);
            if take > 0 {
                let rec = FlatRecord {
                    image: off as u64,
                    len: take,
                    file: data_pos,
                };
                if insert(&mut map, rec) {
                    overlaps += 1;
                    first_overlap.get_or_insert(pos);
                }
            }
            n += 1;
            if take < size as u64 {
                stop = Some((
                    n - 1,
                    pos,
                    format!("it holds {take} of its {size} bytes: the stream is cut short"),
                ));
                findings.push(F::FLAT_TRUNCATED.finding(
                    Some(pos),
                    format!(
                        "the last flat record (image offset {off:#x}) holds {take} of its \
                         {size} bytes and the end record is missing: the dump was cut short"
                    ),
                ));
                break;
            }
            pos = data_pos + size as u64;
        }
        if overlaps > 0 {
            findings.push(F::FLAT_RECORDS_OVERLAP.finding(
                first_overlap,
                format!(
                    "{overlaps} flat records overwrite earlier ones; the later record wins, \
                     as with makedumpfile -R"
                ),
            ));
        }
        let records: Vec<FlatRecord> = map.into_values().collect();
        let image_len = records.last().map(|r| r.image + r.len).unwrap_or(0);
        Ok((
            FlatIndex {
                records,
                image_len,
                records_read: n,
                stop,
            },
            findings,
        ))
    }

    /// Length of the rearranged image.
    pub fn image_len(&self) -> u64 {
        self.image_len
    }

    /// Where the stream stopped being followable, for errors about image bytes no record
    /// holds: `(record number, file offset of its header, why)`; `None` when the stream
    /// ended with its end record.
    pub fn stop(&self) -> Option<(u64, u64, &str)> {
        self.stop
            .as_ref()
            .map(|(n, at, why)| (*n, *at, why.as_str()))
    }

    /// Data records read from the stream.
    pub fn records_read(&self) -> u64 {
        self.records_read
    }

    fn find(&self, off: u64) -> usize {
        self.records.partition_point(|r| r.image + r.len <= off)
    }

    /// The records (clipped) that hold bytes of image range `[off, off + len)`, ascending.
    pub fn records_in(&self, off: u64, len: u64) -> impl Iterator<Item = FlatRecord> + '_ {
        let end = off.saturating_add(len);
        self.records[self.find(off)..]
            .iter()
            .take_while(move |r| r.image < end)
            .filter_map(move |r| {
                let s = r.image.max(off);
                let e = (r.image + r.len).min(end);
                (s < e).then(|| FlatRecord {
                    image: s,
                    len: e - s,
                    file: r.file + (s - r.image),
                })
            })
    }

    /// The flattened-file offset of image offset `off`, when a record holds that byte.
    pub fn file_pos(&self, off: u64) -> Option<u64> {
        let r = self.records.get(self.find(off))?;
        (r.image <= off).then(|| r.file + (off - r.image))
    }

    /// `len` bytes at image offset `off`: borrowed when one record holds them all, else
    /// assembled (uncovered bytes inside the image read as zeros).
    pub fn read<'a>(
        &self,
        data: &'a [u8],
        what: &'static str,
        off: u64,
        len: u64,
    ) -> Result<Cow<'a, [u8]>, ReadError> {
        // Every legitimate read (headers, bitmaps, descriptors, one page) is stored in the file,
        // so a read longer than the file is refused before the zero-filled buffer is allocated.
        let end = off
            .checked_add(len)
            .filter(|&e| e <= self.image_len && len <= data.len() as u64);
        let Some(end) = end else {
            return Err(ReadError::Truncated {
                what,
                offset: self.file_pos(off).unwrap_or(off),
                need: len,
                have: self.image_len.saturating_sub(off),
            });
        };
        let file = Bytes::new(data, 0);
        let i = self.find(off);
        if let Some(r) = self.records.get(i)
            && r.image <= off
            && end <= r.image + r.len
        {
            return Ok(Cow::Borrowed(file.slice(
                what,
                r.file + (off - r.image),
                len,
            )?));
        }
        // `len` is at most the image length, which the records (stored in `data`) cover.
        let mut out = vec![0u8; len as usize];
        for r in &self.records[i..] {
            if r.image >= end {
                break;
            }
            let s = r.image.max(off);
            let e = (r.image + r.len).min(end);
            let src = file.slice(what, r.file + (s - r.image), e - s)?;
            out[(s - off) as usize..(e - off) as usize].copy_from_slice(src);
        }
        Ok(Cow::Owned(out))
    }
}

/// The 4096-byte `makedumpfile_header`: signature and type must be right (else it is no
/// flattened file); an unknown version is a finding.
fn check_header(file: &Bytes<'_>, findings: &mut Vec<Finding>) -> Result<()> {
    let sig: [u8; 16] = file.array("makedumpfile_header.signature", 0)?;
    if &sig[..13] != b"makedumpfile\0" {
        return Err(Error::bad(
            "makedumpfile_header.signature",
            0,
            u64::from_le_bytes([
                sig[0], sig[1], sig[2], sig[3], sig[4], sig[5], sig[6], sig[7],
            ]),
            "not \"makedumpfile\"",
        ));
    }
    let ty = file.read_i64_be("makedumpfile_header.type", 16)?;
    if ty != TYPE_FLAT_HEADER {
        return Err(Error::bad(
            "makedumpfile_header.type",
            16,
            ty as u64,
            "not TYPE_FLAT_HEADER (1)",
        ));
    }
    let version = file.read_i64_be("makedumpfile_header.version", 24)?;
    if version != VERSION_FLAT_HEADER {
        findings.push(F::FLAT_VERSION_UNKNOWN.finding(
            Some(24),
            format!("flattened header version {version}, expected 1; reading it as version 1"),
        ));
    }
    Ok(())
}

/// Insert `r`, trimming or splitting the records it overwrites. Returns true on overlap.
fn insert(map: &mut BTreeMap<u64, FlatRecord>, r: FlatRecord) -> bool {
    let end = r.image + r.len;
    let mut hit: Vec<u64> = Vec::new();
    if let Some((&k, e)) = map.range(..r.image).next_back()
        && k + e.len > r.image
    {
        hit.push(k);
    }
    hit.extend(map.range(r.image..end).map(|(&k, _)| k));
    let overlapped = !hit.is_empty();
    for k in hit {
        let Some(e) = map.remove(&k) else { continue };
        if e.image < r.image {
            map.insert(
                e.image,
                FlatRecord {
                    image: e.image,
                    len: r.image - e.image,
                    file: e.file,
                },
            );
        }
        let e_end = e.image + e.len;
        if e_end > end {
            map.insert(
                end,
                FlatRecord {
                    image: end,
                    len: e_end - end,
                    file: e.file + (end - e.image),
                },
            );
        }
    }
    map.insert(r.image, r);
    overlapped
}
