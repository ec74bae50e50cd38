//! Where the bytes of a kdump image are: the file itself (kdump-compressed), or the records
//! of a flattened stream ([`FlatIndex`]). Every read of the image goes through [`Layout`], so
//! offsets in errors are file offsets either way.

use std::borrow::Cow;

use kdump_types::{Bytes, Finding, FindingCode, ReadError};

use super::FlatIndex;
use crate::error::{Error, Result};
use crate::extents::DataExtents;

/// Where the image bytes are: the file itself, or flattened records.
#[derive(Debug)]
pub(super) enum Layout {
    Plain { len: u64 },
    Flat(FlatIndex),
}

impl Layout {
    pub(super) fn image_len(&self) -> u64 {
        match self {
            Layout::Plain { len } => *len,
            Layout::Flat(f) => f.image_len(),
        }
    }
    /// File offset of image offset `off` (see the module doc for flattened files).
    pub(super) fn file_pos(&self, off: u64) -> u64 {
        match self {
            Layout::Plain { .. } => off,
            Layout::Flat(f) => f.file_pos(off).unwrap_or(off),
        }
    }
    /// The pieces of image range `[off, off + len)` the file holds, as `(byte in the range,
    /// file offset, length)`: the range itself in a plain file, the records that cover it in
    /// a flattened one; either cut to the file's data extents (holes read as zeros).
    pub(super) fn pieces(&self, extents: &DataExtents, off: u64, len: u64) -> Vec<(u64, u64, u64)> {
        let stored: Vec<(u64, u64, u64)> = match self {
            Layout::Plain { .. } => vec![(0, off, len)],
            Layout::Flat(f) => f
                .records_in(off, len)
                .map(|r| (r.image - off, r.file, r.len))
                .collect(),
        };
        let mut out = Vec::new();
        for (at, file, n) in stored {
            for (s, e) in extents.data_in(file, file.saturating_add(n)) {
                out.push((at + (s - file), s, e - s));
            }
        }
        out
    }
    /// [`Layout::read`] for a structure the dump cannot do without: for a flattened file, a
    /// failure names the record stream's state (where it stopped and why). With `whole`,
    /// every byte must be in a record: a header that falls into a gap of the image (which
    /// would read as zeros) is an error, not a header of zeros.
    pub(super) fn read_needed<'a>(
        &self,
        data: &'a [u8],
        what: &'static str,
        off: u64,
        len: u64,
        whole: bool,
    ) -> Result<Cow<'a, [u8]>> {
        let gap = match self {
            Layout::Flat(f) if whole => f.records_in(off, len).map(|r| r.len).sum::<u64>() < len,
            _ => false,
        };
        let read = if gap {
            Err(ReadError::Truncated {
                what,
                offset: off,
                need: len,
                have: 0,
            })
        } else {
            self.read(data, what, off, len)
        };
        read.map_err(|e| match self {
            Layout::Plain { .. } => Error::Read(e),
            Layout::Flat(f) => {
                let have = f.records_in(off, len).map(|r| r.len).sum();
                let (offset, stream) = match f.stop() {
                    Some((n, at, why)) => (
                        at,
                        format!(
                            "the record stream stops at record {n} (file offset {at:#x}): {why}"
                        ),
                    ),
                    None => (
                        data.len() as u64,
                        format!(
                            "the stream is complete ({} records) and none holds these bytes",
                            f.records_read()
                        ),
                    ),
                };
                Error::FlatGap {
                    what,
                    image: off,
                    need: len,
                    have,
                    offset,
                    stream,
                }
            }
        })
    }
    pub(super) fn read<'a>(
        &self,
        data: &'a [u8],
        what: &'static str,
        off: u64,
        len: u64,
    ) -> Result<Cow<'a, [u8]>, ReadError> {
        if len == 0 {
            return Ok(Cow::Borrowed(&[]));
        }
        match self {
            Layout::Plain { .. } => Bytes::new(data, 0).slice(what, off, len).map(Cow::Borrowed),
            Layout::Flat(f) => f.read(data, what, off, len),
        }
    }
}

/// Check that a sub-header region lies inside the image; a finding when it does not.
pub(super) fn check_region(
    layout: &Layout,
    image_len: u64,
    off: Option<u64>,
    size: Option<u64>,
    (code, what): (FindingCode, &'static str),
    findings: &mut Vec<Finding>,
) -> bool {
    let (Some(off), Some(size)) = (off, size) else {
        return false;
    };
    if size == 0 {
        return false;
    }
    match off.checked_add(size) {
        Some(end) if end <= image_len => true,
        _ => {
            findings.push(code.finding(
                Some(layout.file_pos(off)),
                format!(
                    "the {what} ({size} bytes at {off:#x}) lie past the end of the data \
                     ({image_len:#x} bytes): the dump is cut short or the sub-header is corrupt"
                ),
            ));
            false
        }
    }
}
