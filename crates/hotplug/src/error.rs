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
}

impl Error {
    /// The 1-based line number the error is about, when it is about a line.
    pub fn line(&self) -> Option<usize> {
        match self {
            Error::Malformed { first, .. } => Some(first.line),
            _ => None,
        }
    }
    /// The file offset the error is about, when it is about a place in a dump.
    pub fn offset(&self) -> Option<u64> {
        match self {
            Error::Dump(e) => e.offset(),
            _ => None,
        }
    }
}
