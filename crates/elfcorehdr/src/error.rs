//! The crate's one error type.

use std::path::PathBuf;

use kdump_types::ReadError;

/// Everything that can go wrong in this crate.
///
/// Binary inputs name the absolute offset ([`Error::offset`]); text inputs (procfs/sysfs files)
/// name the file and line. [`Error::code`] is a stable short name for scripts and tests.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A bounds-checked read ran past the end of the input.
    #[error(transparent)]
    Read(#[from] ReadError),

    /// A header field holds a value we cannot work with.
    #[error("{what} at offset {offset:#x}: {value:#x} is not valid ({expected})")]
    BadField {
        /// Field name, e.g. `"e_phentsize"`.
        what: &'static str,
        /// Absolute offset of the field.
        offset: u64,
        /// The value found.
        value: u64,
        /// What was expected instead.
        expected: &'static str,
    },

    /// A text file (procfs/sysfs) has a line we cannot parse.
    #[error("{}:{line}: {what}: {text:?}", path.display())]
    Text {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What was being parsed.
        what: &'static str,
        /// The offending text (trimmed, at most one line).
        text: String,
    },

    /// A file could not be read or written.
    #[error("{}: {error}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error (shown in the message, so not also chained as a source).
        error: std::io::Error,
    },

    /// The procfs root hides addresses (e.g. `/proc/iomem` read without CAP_SYS_ADMIN shows zeros).
    #[error("{}: all addresses are zero; read it as root (CAP_SYS_ADMIN), or the header would be wrong", path.display())]
    AddressesHidden {
        /// The file that showed only zeros.
        path: PathBuf,
    },

    /// The state is incomplete or contradicts itself (e.g. no possible CPU, a CPU without
    /// `crash_notes`, unsorted RAM ranges).
    #[error("invalid system state: {what}")]
    InvalidState {
        /// What is wrong.
        what: String,
    },

    /// More program headers than `e_phnum` can hold (`PN_XNUM` = 0xffff is reserved for extended
    /// numbering, which neither the kernel nor the capture kernel uses for an elfcorehdr).
    #[error("{phdrs} program headers: more than e_phnum can hold (max {max}, PN_XNUM is reserved)")]
    TooManyPhdrs {
        /// Program headers needed.
        phdrs: usize,
        /// Largest allowed count.
        max: usize,
    },

    /// The header does not fit the reserved segment (the kernel's
    /// `update elfcorehdr elfsz > memsz` case).
    #[error(
        "header of {phdrs} program headers needs {need} bytes (page-aligned, as the kernel copies it) \
         but the segment holds {capacity}; the kernel would leave the old header in place \
         (CONFIG_CRASH_MAX_MEMORY_RANGES / NR_CPUS_DEFAULT sizing exceeded)"
    )]
    Unfit {
        /// Program headers in the new header.
        phdrs: usize,
        /// Bytes the kernel would copy: `ALIGN(64 + phdrs * 56, 4096)`.
        need: usize,
        /// Bytes available.
        capacity: usize,
    },

    /// `crash_exclude_mem_range()` needed to split a range but every slot was used (-ENOMEM).
    #[error(
        "excluding {excluded} splits a RAM range but all {slots} range slots are used (kernel: -ENOMEM)"
    )]
    OutOfRangeSlots {
        /// The exclusion that needed the split.
        excluded: kdump_types::PhysRange,
        /// `max_nr_ranges` (System RAM ranges + 2 on x86 6.12).
        slots: usize,
    },

    /// An event names a CPU that is not possible on this machine.
    #[error(
        "event {event}: CPU {cpu} is not a possible CPU of this machine (possible: {possible})"
    )]
    UnknownCpu {
        /// The event as text.
        event: String,
        /// The CPU number.
        cpu: u32,
        /// The possible CPUs, as a cpulist.
        possible: String,
    },

    /// An event names a memory range that is not made of this machine's memory blocks.
    #[error("event {event}: {what}")]
    UnknownMemoryBlock {
        /// The event as text.
        event: String,
        /// Why the range does not match the blocks.
        what: String,
    },

    /// The target of a write is read-only (no write permission bit) and force was not given.
    #[error(
        "{} is read-only (mode {mode:04o}): not replaced without force (--force)",
        path.display()
    )]
    ReadOnlyTarget {
        /// The file (after following symlinks).
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },

    /// An event string could not be parsed.
    #[error(
        "bad event {text:?}: {what} (expected e.g. memory-online:0x140000000-0x147ffffff, cpu-offline:3)"
    )]
    BadEvent {
        /// The text given.
        text: String,
        /// What was wrong.
        what: &'static str,
    },

    /// A line of a recorded uevent file is neither a uevent record nor a JSON line.
    #[error("{}:{line}: {what}", path.display())]
    Record {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        what: String,
    },

    /// The machine state under a procfs/sysfs root could not be read.
    #[error("cannot read the machine state under {}", root.display())]
    MachineState {
        /// The root.
        root: PathBuf,
        /// Why.
        source: Box<Error>,
    },

    /// No crash kernel is loaded, so the kernel holds no elfcorehdr to read.
    #[error(
        "no crash kernel is loaded ({} is 0): there is no elfcorehdr to read; load one \
         with `kexec -p` (or `kdumpctl start`)",
        flag.display()
    )]
    NoCrashKernel {
        /// `sys/kernel/kexec_crash_loaded` under the root.
        flag: PathBuf,
    },

    /// The loaded elfcorehdr could not be read through `/proc/kcore`.
    #[error("cannot read the loaded elfcorehdr through {} (root only)", kcore.display())]
    LiveHeader {
        /// The kcore file.
        kcore: PathBuf,
        /// Why.
        source: Box<Error>,
    },

    /// The command to run on a stale header could not be started.
    #[error("cannot run --on-stale {command:?}")]
    OnStale {
        /// The shell command.
        command: String,
        /// The OS error.
        source: std::io::Error,
    },
}

impl Error {
    /// The absolute input offset the error is about, when it is about a place in binary input.
    pub fn offset(&self) -> Option<u64> {
        match self {
            Error::Read(e) => Some(e.offset()),
            Error::BadField { offset, .. } => Some(*offset),
            _ => None,
        }
    }

    /// A stable short name for the kind of error.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Read(_) => "truncated",
            Error::BadField { .. } => "bad-field",
            Error::Text { .. } => "bad-text",
            Error::Io { .. } => "io",
            Error::AddressesHidden { .. } => "addresses-hidden",
            Error::InvalidState { .. } => "invalid-state",
            Error::TooManyPhdrs { .. } => "too-many-phdrs",
            Error::Unfit { .. } => "unfit",
            Error::OutOfRangeSlots { .. } => "out-of-range-slots",
            Error::UnknownCpu { .. } => "unknown-cpu",
            Error::UnknownMemoryBlock { .. } => "unknown-memory-block",
            Error::BadEvent { .. } => "bad-event",
            Error::ReadOnlyTarget { .. } => "read-only-target",
            Error::Record { .. } => "bad-record",
            Error::MachineState { .. } => "machine-state",
            Error::NoCrashKernel { .. } => "no-crash-kernel",
            Error::LiveHeader { .. } => "live-header",
            Error::OnStale { .. } => "on-stale",
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, error: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            error,
        }
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
