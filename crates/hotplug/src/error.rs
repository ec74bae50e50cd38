//! The one error type of this crate. Every variant about input text names the source and the
//! line; every variant about a dump keeps the reader's error (which carries the file offset).

use std::path::PathBuf;

/// Result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// One line of a history that could not be understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineProblem {
    /// The source (file name, or a label such as `kernel log of vmcore`).
    pub source: String,
    /// 1-based line number.
    pub line: usize,
    /// What was wrong.
    pub what: String,
    /// The start of the offending line (at most 120 characters).
    pub text: String,
}

impl std::fmt::Display for LineProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}: {}: {:?}",
            self.source, self.line, self.what, self.text
        )
    }
}

/// Why a history could not be imported or a check could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A history file or snapshot could not be read.
    // The OS error is the source: printing it here too would show it twice in a chain.
    #[error("cannot read {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Malformed history lines (strict mode). The first problem is shown; `count` says how many.
    #[error("{first} ({count} malformed line(s); --lenient skips them)")]
    Malformed {
        /// The first malformed line.
        first: LineProblem,
        /// How many lines were malformed.
        count: usize,
        /// Every problem, in line order.
        all: Vec<LineProblem>,
    },
    /// The input is none of the history formats we read.
    #[error("{source_name}: not a hotplug history: {why}")]
    UnknownFormat {
        /// The source.
        source_name: String,
        /// Why.
        why: String,
    },
    /// A sysfs snapshot is incomplete or unreadable.
    #[error("{path}: {what}")]
    Snapshot {
        /// The file or directory.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
    /// The dump's reader failed.
    #[error(transparent)]
    Dump(#[from] vmcore::Error),
    /// The elfcorehdr reader failed.
    #[error(transparent)]
    Elfcorehdr(#[from] elfcorehdr::Error),
    /// A replay point names no step, sequence number or time of the history.
    #[error("no such point in the history: {0}")]
    NoSuchPoint(String),
    /// A history file given to a check could not be read (the OS error is in the source, an
    /// [`Error::Io`] that names the file).
    #[error("history")]
    HistoryUnreadable(#[source] Box<Error>),
    /// A history file given to a check is none of the formats we read.
    #[error("cannot read history {}", path.display())]
    HistoryImport {
        /// The file or directory.
        path: PathBuf,
        /// The importer's error.
        source: Box<Error>,
    },
    /// A history file given to a check has malformed lines (strict mode).
    #[error("history {}", path.display())]
    HistoryMalformed {
        /// The file.
        path: PathBuf,
        /// [`Error::Malformed`].
        source: Box<Error>,
    },
    /// A captured procfs/sysfs root given to a check could not be read.
    #[error("cannot read state {}", path.display())]
    State {
        /// The root directory.
        path: PathBuf,
        /// The state reader's error.
        source: elfcorehdr::Error,
    },
    /// A raw elfcorehdr file given to a check could not be read.
    #[error("cannot read {}", path.display())]
    HeaderUnreadable {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A raw elfcorehdr file given to a check is not a valid header.
    #[error("{}", path.display())]
    HeaderInvalid {
        /// The file.
        path: PathBuf,
        /// The parser's error (it names the offset).
        source: elfcorehdr::Error,
    },
    /// The dump's kernel log, asked for as history, could not be decoded.
    #[error("cannot decode the dump's kernel log")]
    KernelLog(#[source] vmcore::Error),
}

impl Error {
    /// The 1-based line number the error is about, when it is about a line.
    pub fn line(&self) -> Option<usize> {
        match self {
            Error::Malformed { first, .. } => Some(first.line),
            Error::HistoryMalformed { source, .. } => source.line(),
            _ => None,
        }
    }
    /// The file offset the error is about, when it is about a place in a dump.
    pub fn offset(&self) -> Option<u64> {
        match self {
            Error::Dump(e) | Error::KernelLog(e) => e.offset(),
            Error::HeaderInvalid { source, .. } => source.offset(),
            _ => None,
        }
    }
}
