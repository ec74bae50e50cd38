//! The one error type of this crate. Every variant about file contents carries the absolute
//! file offset where the input was wrong.

use std::path::PathBuf;

pub use kdump_types::ReadError;

/// Result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a dump could not be opened or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file could not be opened or mapped.
    #[error("cannot read the file")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The path names something that is not a regular file (a directory, a FIFO, a device):
    /// its size says nothing about what it holds and reading it may block or never end.
    #[error("{} is {kind}, not a regular file", path.display())]
    NotRegularFile {
        /// The path.
        path: PathBuf,
        /// What it is instead ("a directory", "a FIFO (named pipe)", …).
        kind: &'static str,
    },
    /// A named FIFO that no process writes to: reading it would block forever.
    #[error(
        "{} is a FIFO that no process is writing to: start the writer first, or pipe the stream to standard input (makedumpfile -F … | vmcore info -)",
        path.display()
    )]
    FifoWithoutWriter {
        /// The path.
        path: PathBuf,
    },
    /// Files that do not form one makedumpfile `--split` set ([`crate::Dump::open_split_set`]).
    #[error("{}: {detail}", path.display())]
    SplitSet {
        /// The file that does not fit.
        path: PathBuf,
        /// Why.
        detail: String,
    },
    /// A directory is read as the parts of a `--split` set, and one of its files could not be
    /// opened as a part.
    #[error(
        "{} is a directory, read as the parts of a makedumpfile --split set, but {} is not \
         one: {cause}",
        dir.display(),
        file.display()
    )]
    SplitSetMember {
        /// The directory.
        dir: PathBuf,
        /// The file of it.
        file: PathBuf,
        /// Why it could not be opened as a part.
        cause: Box<Error>,
    },
    /// The first bytes match no format we read.
    #[error("{}", unknown_format(magic))]
    UnknownFormat {
        /// The first bytes of the file.
        magic: Vec<u8>,
    },
    /// A structure runs past the end of the input.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// Bytes of a flattened dump's image that no record holds: names the image range and
    /// where the record stream stopped (record number and file offset).
    #[error(
        "{what} at image offset {image:#x} of the flattened stream: need {need} bytes, its \
         records hold {have}; {stream}"
    )]
    FlatGap {
        /// What was being read.
        what: &'static str,
        /// Offset in the rearranged image.
        image: u64,
        /// Bytes needed.
        need: u64,
        /// Bytes of the range that records hold.
        have: u64,
        /// File offset of the record where the stream stopped (or of its end).
        offset: u64,
        /// How the record stream ended.
        stream: String,
    },
    /// A field holds a value we cannot accept.
    #[error("{what} at file offset {offset:#x}: {why} (value {value:#x})")]
    BadValue {
        /// The field.
        what: &'static str,
        /// Absolute file offset of the field.
        offset: u64,
        /// The value found.
        value: u64,
        /// Why it is unacceptable.
        why: &'static str,
    },
    /// A valid but unsupported variant of a format (big-endian ELF, unknown compression…).
    #[error("unsupported {what} at file offset {offset:#x}: {detail}")]
    Unsupported {
        /// The feature.
        what: &'static str,
        /// Absolute file offset.
        offset: u64,
        /// Details.
        detail: String,
    },
    /// No memory range of the dump covers this physical address.
    #[error("physical address {addr:#x} is not in the dump")]
    NotInDump {
        /// The address.
        addr: u64,
    },
    /// The dump is a raw elfcorehdr: it describes memory but holds none.
    #[error(
        "physical address {addr:#x}: this file is a raw elfcorehdr (headers only), it holds no memory"
    )]
    HeadersOnly {
        /// The address.
        addr: u64,
    },
    /// The range is in the dump's map, but its bytes are past the end of a truncated file.
    #[error(
        "physical address {addr:#x} should be at file offset {offset:#x}, past the end of the file ({file_len:#x} bytes): the dump is truncated"
    )]
    BeyondEof {
        /// The address.
        addr: u64,
        /// Where its data should be.
        offset: u64,
        /// The file's length.
        file_len: u64,
    },
    /// A kdump-compressed dump excluded this page (dump level filtering).
    #[error(
        "physical address {addr:#x} (pfn {pfn:#x}) was excluded from the dump by its dump level"
    )]
    PageExcluded {
        /// The address.
        addr: u64,
        /// The page frame number.
        pfn: u64,
    },
    /// A page of an incomplete kdump-compressed dump was never written.
    #[error("physical address {addr:#x} (pfn {pfn:#x}) was lost: the dump is incomplete")]
    PageLost {
        /// The address.
        addr: u64,
        /// The page frame number.
        pfn: u64,
    },
    /// A compressed page does not decompress to one page.
    #[error("page pfn {pfn:#x} at file offset {offset:#x}: {what} decompression failed: {detail}")]
    Decompress {
        /// The page frame number.
        pfn: u64,
        /// File offset of the compressed data.
        offset: u64,
        /// The method.
        what: &'static str,
        /// Details from the decompressor.
        detail: String,
    },
    /// A virtual address has no translation.
    #[error("virtual address {addr:#x} is not mapped: {level} entry {entry:#x} is not present")]
    VirtNotMapped {
        /// The address.
        addr: u64,
        /// The page-table level whose entry is not present (`"PGD"`, `"PUD"`, `"PMD"`, `"PTE"`, …).
        level: &'static str,
        /// The entry value found.
        entry: u64,
    },
    /// A kernel virtual address on a page that could not be read before (the first read of
    /// the page gave the precise error).
    #[error("virtual address {addr:#x} is on a page that cannot be read")]
    Unreadable {
        /// The address.
        addr: u64,
    },
    /// Something needed from vmcoreinfo is missing.
    #[error("vmcoreinfo lacks {key}")]
    MissingVmcoreinfo {
        /// The key.
        key: String,
    },
    /// A kernel data structure in the dump is inconsistent.
    #[error("{what}: {detail}")]
    Corrupt {
        /// The structure.
        what: &'static str,
        /// Details, with addresses.
        detail: String,
    },
}

fn unknown_format(magic: &[u8]) -> String {
    if magic.is_empty() {
        "the input is empty (0 bytes): not a crash dump".into()
    } else {
        format!("not a crash dump: unknown signature {magic:02x?} at file offset 0x0")
    }
}

impl Error {
    /// A stable short name for the kind of error (as `elfcorehdr::Error::code`), for scripts and
    /// JSON consumers that must not parse messages.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Io { .. } => "io",
            Error::NotRegularFile { .. } => "not-regular-file",
            Error::FifoWithoutWriter { .. } => "fifo-without-writer",
            Error::SplitSet { .. } => "split-set",
            Error::SplitSetMember { .. } => "split-set-member",
            Error::UnknownFormat { .. } => "unknown-format",
            Error::Read(_) => "truncated",
            Error::FlatGap { .. } => "flat-gap",
            Error::BadValue { .. } => "bad-value",
            Error::Unsupported { .. } => "unsupported",
            Error::NotInDump { .. } => "not-in-dump",
            Error::HeadersOnly { .. } => "headers-only",
            Error::BeyondEof { .. } => "beyond-eof",
            Error::PageExcluded { .. } => "page-excluded",
            Error::PageLost { .. } => "page-lost",
            Error::Decompress { .. } => "decompress",
            Error::VirtNotMapped { .. } => "virt-not-mapped",
            Error::Unreadable { .. } => "unreadable",
            Error::MissingVmcoreinfo { .. } => "missing-vmcoreinfo",
            Error::Corrupt { .. } => "corrupt",
        }
    }

    /// The absolute file offset the error is about, when it is about a place in the file.
    pub fn offset(&self) -> Option<u64> {
        match self {
            Error::UnknownFormat { .. } => Some(0),
            Error::Read(e) => Some(e.offset()),
            Error::BadValue { offset, .. }
            | Error::Unsupported { offset, .. }
            | Error::BeyondEof { offset, .. }
            | Error::Decompress { offset, .. }
            | Error::FlatGap { offset, .. } => Some(*offset),
            _ => None,
        }
    }

    pub(crate) fn bad(what: &'static str, offset: u64, value: u64, why: &'static str) -> Self {
        Error::BadValue {
            what,
            offset,
            value,
            why,
        }
    }
}
