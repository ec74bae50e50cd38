//! Which bytes of a dump file hold data, and which are holes of a sparse file.
//!
//! A header can declare terabytes that a sparse file "holds" without a single block on disk
//! (`truncate -s 16T`). Holes read as zeros, so a scan that wants to know whether bytes can be
//! read, or which bits of a bitmap are set, can skip them without touching them: touching them
//! through the mapping costs time and page cache in proportion to the declared size. The file
//! system tells us where the data is with `lseek(SEEK_DATA)` / `lseek(SEEK_HOLE)`; where it
//! cannot (bytes in memory, a file system without the calls), every byte counts as data.

use std::fs::File;

/// Data extents kept per file; past this many the rest of the file counts as data (a real
/// dump has one extent; a file fragmented into millions of holes is read the slow way).
pub const MAX_EXTENTS: usize = 1 << 16;

/// The data extents of a file: sorted, disjoint `[start, end)` byte ranges; everything else
/// reads as zeros.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataExtents {
    ranges: Vec<(u64, u64)>,
    len: u64,
}

impl DataExtents {
    /// Every byte of `len` is data (bytes in memory, or holes unknown).
    pub fn all(len: u64) -> DataExtents {
        DataExtents {
            ranges: if len > 0 { vec![(0, len)] } else { Vec::new() },
            len,
        }
    }

    /// Ask the file system where the data of `file` (`len` bytes) is.
    pub fn of_file(file: &File, len: u64) -> DataExtents {
        use rustix::fs::{SeekFrom, seek};
        let mut ranges = Vec::new();
        let mut pos = 0u64;
        while pos < len {
            if ranges.len() >= MAX_EXTENTS {
                ranges.push((pos, len));
                break;
            }
            let start = match seek(file, SeekFrom::Data(pos)) {
                Ok(s) => s,
                // ENXIO: no data at or after `pos`.
                Err(rustix::io::Errno::NXIO) => break,
                // Unsupported: every byte counts as data.
                Err(_) => return DataExtents::all(len),
            };
            if start >= len {
                break;
            }
            let end = match seek(file, SeekFrom::Hole(start)) {
                Ok(e) => e.min(len),
                Err(_) => len,
            };
            if end <= start {
                // A file system answering nonsense: stop trusting it.
                return DataExtents::all(len);
            }
            ranges.push((start, end));
            pos = end;
        }
        DataExtents { ranges, len }
    }

    /// The data ranges that intersect `[start, end)`, clipped to it, ascending.
    pub fn data_in(&self, start: u64, end: u64) -> impl Iterator<Item = (u64, u64)> + '_ {
        let first = self.ranges.partition_point(|&(_, e)| e <= start);
        self.ranges[first..]
            .iter()
            .take_while(move |&&(s, _)| s < end)
            .map(move |&(s, e)| (s.max(start), e.min(end)))
            .filter(|(s, e)| s < e)
    }

    /// Bytes of data in `[start, end)`.
    pub fn data_bytes(&self, start: u64, end: u64) -> u64 {
        self.data_in(start, end).map(|(s, e)| e - s).sum()
    }

    /// True when the file has holes.
    #[cfg(test)]
    pub fn is_sparse(&self) -> bool {
        self.data_bytes(0, self.len) < self.len
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sparse_file_has_its_written_blocks_as_extents() {
        use std::io::{Seek, SeekFrom, Write};
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sparse");
        let mut f = File::create(&p).unwrap();
        f.write_all(&[1u8; 4096]).unwrap();
        f.seek(SeekFrom::Start(64 << 20)).unwrap();
        f.write_all(&[2u8; 4096]).unwrap();
        f.set_len(256 << 20).unwrap();
        drop(f);
        let f = File::open(&p).unwrap();
        let x = DataExtents::of_file(&f, 256 << 20);
        // A file system without SEEK_DATA reports everything as data; both are correct.
        if x.is_sparse() {
            assert_eq!(x.data_in(0, 1 << 20).next(), Some((0, 4096)));
            assert!(x.data_bytes(0, 256 << 20) < 1 << 20);
            assert_eq!(x.data_in(1 << 20, 2 << 20).count(), 0);
            assert!(x.data_bytes(64 << 20, (64 << 20) + 4096) == 4096);
        }
        assert_eq!(
            DataExtents::all(10).data_in(3, 20).collect::<Vec<_>>(),
            [(3, 10)]
        );
    }
}
