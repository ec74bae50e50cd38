//! Importers: every history format we read becomes the same [`History`].
//!
//! Formats (documented in `docs/history-format.md`): kernel uevent records, the lab's JSON-lines
//! run log, `udevadm monitor --kernel --property` text, sysfs snapshots (a starting topology),
//! our own versioned JSON lines, and the kernel log (text or the dump's own printk buffer).
//!
//! Importers never stop at a bad line: they return every line they could not understand as a
//! [`LineProblem`] next to the history built from the rest. [`Imported::strict`] turns any
//! problem into an error (the CLI's default, exit 2); [`Imported::lenient`] keeps the rest.

use std::io::Read;
use std::path::Path;

use crate::error::{Error, LineProblem, Result};
use crate::history::{History, SourceFormat};

pub mod jsonl;
pub mod klog;
pub mod lab;
pub mod sysfs;
pub mod udevadm;
pub mod uevent;

/// Largest history file we read (a machine resizing by 4 TiB in 128 MiB blocks logs some
/// 100k uevents, a few MiB).
pub const MAX_HISTORY_BYTES: u64 = 256 << 20;

/// A history and the lines that could not be understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    /// What was understood.
    pub history: History,
    /// What was not, in line order.
    pub problems: Vec<LineProblem>,
}

impl Imported {
    /// The history if every line was understood, else [`Error::Malformed`] naming the lines.
    pub fn strict(self) -> Result<History> {
        match self.problems.first() {
            None => Ok(self.history),
            Some(first) => Err(Error::Malformed {
                first: first.clone(),
                count: self.problems.len(),
                all: self.problems,
            }),
        }
    }
    /// The history built from the understood lines, and the problems.
    pub fn lenient(self) -> (History, Vec<LineProblem>) {
        (self.history, self.problems)
    }
}

/// Collects problems for one source.
#[derive(Debug)]
pub(crate) struct Problems {
    source: String,
    pub(crate) list: Vec<LineProblem>,
}

impl Problems {
    pub(crate) fn new(source: &str) -> Self {
        Problems {
            source: source.to_string(),
            list: Vec::new(),
        }
    }
    pub(crate) fn push(&mut self, line: usize, what: impl Into<String>, text: &str) {
        self.list.push(LineProblem {
            source: self.source.clone(),
            line,
            what: what.into(),
            text: text.trim().chars().take(120).collect(),
        });
    }
}

/// Which text format `text` is, from its first lines; `None` when it is none we read.
pub fn detect(text: &str) -> Option<SourceFormat> {
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next()?;
    if first.starts_with('{') {
        let v: serde_json::Value = serde_json::from_str(first).ok()?;
        if v.get("format").and_then(|f| f.as_str()) == Some(jsonl::FORMAT_NAME) {
            return Some(SourceFormat::HistoryJsonl);
        }
        if v.get("kind").is_some() {
            return Some(SourceFormat::LabJsonl);
        }
        return None;
    }
    let head: Vec<&str> = std::iter::once(first).chain(lines.take(300)).collect();
    if head.iter().any(|l| {
        l.starts_with("KERNEL[") || l.starts_with("UDEV[") || l.starts_with("monitor will print")
    }) {
        return Some(SourceFormat::Udevadm);
    }
    if uevent::parse_record(first).is_ok() {
        return Some(SourceFormat::UeventRecords);
    }
    if head
        .iter()
        .any(|l| klog::split_timestamp(l).is_some() || l.starts_with("Linux version"))
    {
        return Some(SourceFormat::KernelLog);
    }
    None
}

/// Imports `text` (named `source` in problems), detecting its format.
pub fn import_text(source: &str, text: &str) -> Result<Imported> {
    let format = detect(text).ok_or_else(|| Error::UnknownFormat {
        source_name: source.to_string(),
        why: "the first lines are none of: our JSON lines header, the lab's JSON lines, \
              udevadm monitor output, uevent records, a kernel log"
            .into(),
    })?;
    Ok(match format {
        SourceFormat::HistoryJsonl => jsonl::import(source, text),
        SourceFormat::LabJsonl => lab::import(source, text),
        SourceFormat::Udevadm => udevadm::import(source, text),
        SourceFormat::UeventRecords => uevent::import(source, text),
        SourceFormat::KernelLog => klog::import_text(source, text),
        SourceFormat::Sysfs | SourceFormat::Merged => {
            return Err(Error::UnknownFormat {
                source_name: source.to_string(),
                why: "not a text format".into(),
            });
        }
    })
}

/// Imports a history file (format detected from the content) or a sysfs snapshot directory.
/// Problems name the file by its file name only, so reports do not depend on where it lives.
pub fn import_path(path: &Path) -> Result<Imported> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    if path.is_dir() {
        return sysfs::import(path);
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    let f = std::fs::File::open(path).map_err(io)?;
    let mut bytes = Vec::new();
    f.take(MAX_HISTORY_BYTES)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    // Console logs may hold stray non-UTF-8 bytes (firmware output); keep the rest.
    let text = String::from_utf8_lossy(&bytes);
    import_text(&name, &text)
}
