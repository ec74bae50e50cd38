//! Dumps read from a stream that cannot seek: standard input, a pipe, a FIFO.
//!
//! makedumpfile's flattened format (`makedumpfile -F … | ssh host 'cat > dump'`) exists to be
//! written and read in one pass: a 4096-byte header, then records `{ i64 offset; i64 size }`
//! (big-endian), each followed by `size` bytes that belong at `offset` of the kdump-compressed
//! image, and an end record of two −1. [`Dump::from_stream`] reads such a stream once and
//! rebuilds the image the way `makedumpfile -R` does (seek to each record's offset and write
//! it), into an anonymous temporary file in `$TMPDIR` (`std::env::temp_dir`; unlinked from the
//! start, so nothing is left behind even on a crash). Memory stays at one record buffer; the
//! file holds the image (about the stream's size, sparse where no record wrote). The image is
//! then mapped and opened like any kdump-compressed file.
//!
//! Every other format needs a seekable file: an ELF vmcore's program headers point anywhere
//! in the file, and a kdump-compressed file is read by offset. Those are refused with an error
//! that says so instead of being spooled (a 100 GiB ELF dump should be saved by the user, who
//! chooses where).

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::PathBuf;

use crate::dump::{Dump, DumpData, Format, detect, map_file};
use crate::error::{Error, Result};
use crate::findings as F;
use crate::kdump::MDF_HEADER_SIZE;

/// The largest image a stream may describe (1 PiB): records beyond are refused (FLAT002).
pub const MAX_IMAGE_LEN: i64 = 1 << 50;

/// Largest record copied through memory at once; bigger records are copied in pieces.
const COPY_CHUNK: usize = 1 << 20;

/// Why an ELF or kdump-compressed stream cannot be read from a pipe.
pub const NEEDS_SEEKABLE_FILE: &str = "which needs a seekable file: save the stream to a file \
     first (`cat > vmcore`) and open that; only makedumpfile's flattened format \
     (`makedumpfile -F`) can be read from a pipe or standard input";

/// Counts the bytes read, so errors can name the stream offset.
struct Counted<R> {
    inner: R,
    pos: u64,
}

impl<R: Read> Counted<R> {
    /// Fill `buf` completely; `Ok(n < buf.len())` only at the end of the stream.
    fn fill(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let mut n = 0;
        while n < buf.len() {
            match self.inner.read(&mut buf[n..]) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.pos += n as u64;
        Ok(n)
    }
}

impl Dump {
    /// Read a dump from a stream that cannot seek (standard input, a pipe), in one pass.
    ///
    /// Only makedumpfile's flattened format can be read this way; it is rebuilt into an
    /// anonymous temporary file (see the module documentation). Other formats are refused with
    /// [`Error::Unsupported`] naming what to do. `name` is what [`Dump::path`] reports (`-` for
    /// standard input).
    pub fn from_stream(reader: impl Read, name: impl Into<PathBuf>) -> Result<Dump> {
        let name = name.into();
        let io = |source| Error::Io {
            path: name.clone(),
            source,
        };
        let mut input = Counted {
            inner: reader,
            pos: 0,
        };
        let mut header = vec![0u8; MDF_HEADER_SIZE as usize];
        let got = input.fill(&mut header).map_err(io)?;
        header.truncate(got);
        match detect(&header)? {
            Format::Flattened => {}
            other => {
                return Err(Error::Unsupported {
                    what: "input from a pipe",
                    offset: 0,
                    detail: format!(
                        "the input is in the {} format, {NEEDS_SEEKABLE_FILE}",
                        other.name()
                    ),
                });
            }
        }
        check_flat_header(&header)?;
        if got < header.capacity() {
            return Err(kdump_types::ReadError::Truncated {
                what: "makedumpfile_header",
                offset: 0,
                need: MDF_HEADER_SIZE,
                have: got as u64,
            }
            .into());
        }
        let mut image = tempfile::tempfile().map_err(io)?;
        let mut findings = Vec::new();
        let mut buf = vec![0u8; COPY_CHUNK];
        loop {
            let at = input.pos;
            let mut rec = [0u8; 16];
            let n = input.fill(&mut rec).map_err(io)?;
            if n < rec.len() {
                findings.push(F::FLAT_TRUNCATED.finding(
                    Some(at),
                    if n == 0 {
                        "the flattened stream ends without its end record (offset = size = -1): \
                         the dump was cut short; the image is read as far as it goes"
                            .to_string()
                    } else {
                        format!(
                            "the flattened stream ends inside a record header ({n} of 16 bytes): \
                             the dump was cut short"
                        )
                    },
                ));
                break;
            }
            let off = i64::from_be_bytes(rec[..8].try_into().unwrap_or([0; 8]));
            let size = i64::from_be_bytes(rec[8..].try_into().unwrap_or([0; 8]));
            if off == -1 && size == -1 {
                // What follows the end record is not read: a pipe may carry more.
                break;
            }
            // A sparse temp file could take any offset (tmpfs allows exabytes), but no real
            // image is near a pebibyte, and mapping one would fail anyway.
            if off < 0 || size < 0 || off.checked_add(size).is_none_or(|e| e > MAX_IMAGE_LEN) {
                findings.push(F::FLAT_RECORD_BAD.finding(
                    Some(at),
                    format!(
                        "flat record header has offset {off} and buf_size {size} (the image \
                         may not end past 1 PiB): the stream cannot be followed past it"
                    ),
                ));
                break;
            }
            image.seek(SeekFrom::Start(off as u64)).map_err(io)?;
            let mut left = size as u64;
            while left > 0 {
                let want = left.min(COPY_CHUNK as u64) as usize;
                let k = input.fill(&mut buf[..want]).map_err(io)?;
                image.write_all(&buf[..k]).map_err(|e| Error::Io {
                    path: std::env::temp_dir().join("(anonymous file of the rebuilt image)"),
                    source: e,
                })?;
                left -= k as u64;
                if k < want {
                    break;
                }
            }
            if left > 0 {
                findings.push(F::FLAT_TRUNCATED.finding(
                    Some(at),
                    format!(
                        "the last flat record (image offset {off:#x}) holds {} of its {size} \
                         bytes and the end record is missing: the dump was cut short",
                        size as u64 - left
                    ),
                ));
                break;
            }
        }
        image.flush().map_err(io)?;
        let len = image.metadata().map_err(io)?.len();
        let data = if len == 0 {
            DumpData::Owned(Vec::new())
        } else {
            DumpData::Mmap(map_file(&image).map_err(io)?)
        };
        // The records place bytes anywhere in the image, so it is sparse: its holes (bytes no
        // record wrote) are known to the file system, and scans skip them as they skip a
        // sparse dump file's, instead of reading a hole of a record's claimed offset.
        let extents = crate::extents::DataExtents::of_file(&image, len);
        let mut dump = Dump::parse_with(data, extents)?;
        dump.set_stream_origin(name, findings);
        Ok(dump)
    }
}

/// The flattened header's type field, as [`crate::kdump::FlatIndex`] checks it.
fn check_flat_header(header: &[u8]) -> Result<()> {
    let ty = header
        .get(16..24)
        .and_then(|b| b.try_into().ok())
        .map(i64::from_be_bytes);
    match ty {
        Some(1) => Ok(()),
        Some(t) => Err(Error::bad(
            "makedumpfile_header.type",
            16,
            t as u64,
            "not TYPE_FLAT_HEADER (1)",
        )),
        None => Err(kdump_types::ReadError::Truncated {
            what: "makedumpfile_header.type",
            offset: 16,
            need: 8,
            have: header.len().saturating_sub(16) as u64,
        }
        .into()),
    }
}

impl Dump {
    /// Open a dump named by a user, as both apps do: `-` is standard input and a pipe, FIFO or
    /// socket is read as a stream ([`Dump::from_stream`]: only the flattened format can be), a
    /// directory is the parts of a makedumpfile `--split` set ([`Dump::open_split_set`]), a
    /// device is refused by name, anything else is opened and mapped ([`Dump::open`]).
    ///
    /// A named FIFO is opened without blocking first: one that no process writes to is
    /// [`Error::FifoWithoutWriter`] at once instead of a read that never returns; one with a
    /// writer is then read blocking, in one pass. Standard input is the caller's to check
    /// (a terminal there is a usage error the apps word themselves).
    pub fn open_input(path: impl AsRef<std::path::Path>) -> Result<Dump> {
        use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
        let path = path.as_ref();
        if path.as_os_str() == "-" {
            return Dump::from_stream(std::io::stdin().lock(), "-");
        }
        let io = |source| Error::Io {
            path: path.to_path_buf(),
            source,
        };
        let meta = std::fs::metadata(path).map_err(io)?;
        let t = meta.file_type();
        if t.is_dir() {
            return open_split_dir(path);
        }
        if !(t.is_fifo() || t.is_socket()) {
            // Regular files are mapped; directories and devices are refused by Dump::open.
            return Dump::open(path);
        }
        let mut f = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
            .open(path)
            .map_err(io)?;
        let mut first = [0u8; 4096];
        let got = match f.read(&mut first) {
            Ok(0) => {
                return Err(Error::FifoWithoutWriter {
                    path: path.to_path_buf(),
                });
            }
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => 0,
            Err(e) => return Err(io(e)),
        };
        rustix::fs::fcntl_setfl(&f, rustix::fs::OFlags::empty()).map_err(|e| io(e.into()))?;
        Dump::from_stream(std::io::Cursor::new(first[..got].to_vec()).chain(f), path)
    }
}

/// The parts of a `--split` set: every regular file of `dir` (or symbolic link to one), by
/// name.
fn open_split_dir(dir: &std::path::Path) -> Result<Dump> {
    let io = |source| Error::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        // metadata() follows a symbolic link, so a directory of links to the parts works.
        if std::fs::metadata(entry.path()).is_ok_and(|m| m.is_file()) {
            files.push(entry.path());
        }
    }
    if files.is_empty() {
        return Err(Error::NotRegularFile {
            path: dir.to_path_buf(),
            kind: "a directory without files (a directory is read as the parts of a \
                   makedumpfile --split set)",
        });
    }
    files.sort();
    // Each file is opened once, as a part: a directory of other files says which file is not
    // a part and why, before any set logic.
    let mut parts = Vec::with_capacity(files.len());
    for f in files {
        let part = Dump::open(&f).and_then(|d| match d.kdump_info().and_then(|i| i.split) {
            Some(_) => Ok(d),
            None => Err(Error::SplitSet {
                path: f.clone(),
                detail: format!(
                    "it is not a --split part ({} format; a part is kdump-compressed with \
                     kdump_sub_header.split set)",
                    d.format().name()
                ),
            }),
        });
        match part {
            Ok(d) => parts.push(d),
            Err(e) => {
                return Err(Error::SplitSetMember {
                    dir: dir.to_path_buf(),
                    file: f,
                    cause: Box::new(e),
                });
            }
        }
    }
    Dump::from_split_parts(parts)
}
