//! The kernel log (printk ring buffer) from vmcoreinfo alone, without debug info.
//!
//! Rooms: this file holds the model ([`KernelLog`], [`LogRecord`]), the makedumpfile-exact
//! text output and [`decode`]; `lockless.rs` walks the lockless ring, `legacy.rs` the
//! `log_buf` chain, `reader.rs` is what both read with (page cache, checked vmcoreinfo keys,
//! finding tallies).
//!
//! - Lockless ring buffer (Linux ≥ 5.10): located from `SYMBOL(prb)` and decoded with the
//!   `SIZE(...)`/`OFFSET(...)` keys the kernel exports for it (REFERENCE §4.2), the same keys
//!   makedumpfile `--dump-dmesg` and kexec-tools `vmcore-dmesg` use.
//! - Legacy `log_buf` of `struct printk_log` records (3.5 – 5.9, §4.3) as a fallback.
//!
//! The decoder ([`decode`]) is pure: it reads kernel virtual memory through a
//! [`KernelReader`] closure, so tests and the fuzzer feed it fake memories. [`Dump::kernel_log`]
//! plugs in the dump's page-table walk.
//!
//! Everything read from the dump is untrusted: ring sizes are capped (see [`MAX_DATA_SIZE_BITS`]
//! and [`MAX_DESC_COUNT_BITS`]), the walk visits at most one ring's worth of descriptors and at
//! most [`MAX_LOG_RECORDS`], null ring pointers are errors naming the field, memory
//! is read page by page through a fixed-size cache (no allocation sized by the dump), and the
//! total text kept is bounded by the data ring size. Inconsistent descriptors become
//! [`KernelLog::findings`], not errors.

use std::io::{self, Write};

use kdump_types::{Finding, VirtAddr};

use crate::dump::Dump;
use crate::error::{Error, Result};
use crate::vmcoreinfo::VmcoreInfo;

mod legacy;
mod lockless;
mod reader;

pub use legacy::decode_legacy;
pub use lockless::decode_lockless;

/// Reads kernel virtual memory: fill the buffer from the address or fail.
pub type KernelReader<'a> = &'a dyn Fn(VirtAddr, &mut [u8]) -> Result<()>;

/// Largest text data ring accepted: 2^31 bytes, the kernel's own limit (`LOG_BUF_LEN_MAX`).
pub const MAX_DATA_SIZE_BITS: u32 = 31;
/// Largest descriptor ring accepted: 2^26 descriptors (a 2 GiB data ring divided by the
/// kernel's average record size of 2^`PRB_AVGBITS` = 32 bytes).
pub const MAX_DESC_COUNT_BITS: u32 = 26;
/// Most records decoded from one log: the walk visits at most the newest 2^22 descriptor
/// ids (legacy: records), then stops with finding `KLOG010 klog-records-capped`. The largest
/// ring a kernel configures at build time (`CONFIG_LOG_BUF_SHIFT=25`) has 2^20 descriptors;
/// only a `log_buf_len=` boot parameter of 128 MiB or more reaches the cap. Without it a
/// hostile `count_bits` of 26 made a walk of 67 million descriptors (seconds, hundreds of MiB).
pub const MAX_LOG_RECORDS: u64 = 1 << 22;
/// Largest kernel structure size we accept from `SIZE(...)` keys before reading one.
const MAX_STRUCT_SIZE: u64 = 4096;

/// Bit 31 of `caller_id` marks a CPU number rather than a thread id.
const CALLER_CPU_FLAG: u32 = 0x8000_0000;

/// Which log layout the kernel used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// The lockless ring buffer (≥ 5.10).
    Lockless,
    /// `log_buf` with `struct printk_log` records (3.5 – 5.9).
    Legacy,
}

/// Who logged a record (`printk_info.caller_id`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// A task, by thread id.
    Task(u32),
    /// A CPU in interrupt context, by number.
    Cpu(u32),
}

impl Caller {
    fn from_raw(raw: u32) -> Self {
        if raw & CALLER_CPU_FLAG != 0 {
            Caller::Cpu(raw & !CALLER_CPU_FLAG)
        } else {
            Caller::Task(raw)
        }
    }
}

impl std::fmt::Display for Caller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The kernel's own CONFIG_PRINTK_CALLER notation.
        match self {
            Caller::Task(t) => write!(f, "T{t}"),
            Caller::Cpu(c) => write!(f, "C{c}"),
        }
    }
}

/// One kernel log record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRecord {
    /// Sequence number (`printk_info.seq`); for the legacy log, the position in the buffer.
    pub seq: u64,
    /// Timestamp: nanoseconds since boot (local clock).
    pub ts_nsec: u64,
    /// Syslog level 0–7, when the layout is known.
    pub level: Option<u8>,
    /// Syslog facility, when the layout is known.
    pub facility: Option<u8>,
    /// Internal record flags (`LOG_NEWLINE` 2, `LOG_CONT` 8), when the layout is known.
    pub flags: Option<u8>,
    /// Who logged it, when the kernel records callers.
    pub caller: Option<Caller>,
    /// The text bytes (not necessarily UTF-8), without a trailing newline.
    pub text: Vec<u8>,
    /// Device info subsystem (`dev_printk_info.subsystem`), e.g. `pci`.
    pub subsystem: Option<String>,
    /// Device info device (`dev_printk_info.device`), e.g. `+pci:0000:00:01.0`.
    pub device: Option<String>,
    /// The record has no data block (an empty line, or text the kernel failed to store).
    pub dataless: bool,
    /// Descriptor id (lockless ring) or byte index in `log_buf` (legacy).
    pub id: u64,
}

impl LogRecord {
    /// The text as a string, invalid UTF-8 replaced.
    pub fn text_lossy(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.text)
    }
    /// Seconds and microseconds of the timestamp, as `dmesg` prints them.
    pub fn timestamp_parts(&self) -> (u64, u64) {
        (
            self.ts_nsec / 1_000_000_000,
            (self.ts_nsec % 1_000_000_000) / 1000,
        )
    }
}

/// Geometry of the lockless ring as found in the dump.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RingInfo {
    /// Address of the `printk_ringbuffer` (`*prb`).
    pub prb: u64,
    /// Descriptor count (2^`count_bits`).
    pub desc_count: u64,
    /// Text data ring size in bytes (2^`size_bits`).
    pub data_size: u64,
    /// `desc_ring.descs`.
    pub descs: u64,
    /// `desc_ring.infos`.
    pub infos: u64,
    /// `text_data_ring.data`.
    pub data: u64,
    /// `desc_ring.head_id`.
    pub head_id: u64,
    /// `desc_ring.tail_id`.
    pub tail_id: u64,
}

/// The decoded kernel log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelLog {
    /// Which layout was decoded.
    pub format: LogFormat,
    /// Records, oldest first (descriptor order, as makedumpfile prints them).
    pub records: Vec<LogRecord>,
    /// Inconsistencies found while decoding (wrapped or corrupt descriptors, unreadable pages).
    pub findings: Vec<Finding>,
    /// Ring geometry (lockless format only).
    pub ring: Option<RingInfo>,
}

/// How crash messages start, most decisive first (matched at the start of a record's text, so
/// "NMI watchdog: ... disabled" is not mistaken for "watchdog: BUG: soft lockup").
const CRASH_MARKERS: [&str; 8] = [
    "Kernel panic - not syncing",
    "BUG: ",
    "kernel BUG at",
    "Oops: ",
    "general protection fault",
    "Unable to handle kernel",
    "watchdog: BUG:",
    "WARNING: CPU:",
];

impl KernelLog {
    /// The record with the panic message: the last `Kernel panic - not syncing` record, else the
    /// last record with another crash marker (`BUG:`, `Oops`, `general protection fault`, …).
    pub fn panic_record(&self) -> Option<&LogRecord> {
        CRASH_MARKERS.iter().find_map(|m| {
            self.records
                .iter()
                .rev()
                .find(|r| r.text.starts_with(m.as_bytes()))
        })
    }
    /// The last `n` records.
    pub fn last_records(&self, n: usize) -> &[LogRecord] {
        &self.records[self.records.len().saturating_sub(n)..]
    }
    /// Write the log exactly as `makedumpfile --dump-dmesg` does (see [`write_makedumpfile`]).
    pub fn write_makedumpfile(&self, out: &mut dyn Write) -> io::Result<()> {
        write_makedumpfile(&self.records, out)
    }
    /// The log as `makedumpfile --dump-dmesg` text.
    pub fn to_makedumpfile_string(&self) -> String {
        let mut v = Vec::new();
        // Writing to a Vec cannot fail.
        let _ = self.write_makedumpfile(&mut v);
        String::from_utf8_lossy(&v).into_owned()
    }
}

/// Write records exactly as `makedumpfile --dump-dmesg` (printk.c `dump_record`) does:
/// `[%5lld.%06ld] ` (seconds, microseconds truncated), then the text where a newline continues
/// on a new line indented by the prefix width, printable ASCII and whitespace are copied, and
/// any other byte is written `\xNN`. makedumpfile formats a *signed* `char` with `%02x`, so a
/// byte ≥ 0x80 comes out sign-extended as `\xffffffNN`; we reproduce that. Records without a data
/// block are skipped, as makedumpfile skips them.
pub fn write_makedumpfile(records: &[LogRecord], out: &mut dyn Write) -> io::Result<()> {
    let mut line = Vec::with_capacity(256);
    for r in records.iter().filter(|r| !r.dataless) {
        line.clear();
        let (secs, usecs) = r.timestamp_parts();
        write!(line, "[{secs:5}.{usecs:06}] ")?;
        let indent = line.len();
        for &b in &r.text {
            match b {
                b'\n' => {
                    line.push(b'\n');
                    line.resize(line.len() + indent, b' ');
                }
                0x20..=0x7e | b'\t' | 0x0b | 0x0c | b'\r' => line.push(b),
                0x80..=0xff => write!(line, "\\xffffff{b:02x}")?,
                _ => write!(line, "\\x{b:02x}")?,
            }
        }
        line.push(b'\n');
        out.write_all(&line)?;
    }
    Ok(())
}

/// Decode the kernel log of a dump whose vmcoreinfo is `info`, reading kernel memory through
/// `read`: the lockless ring when `SYMBOL(prb)` is present, else the legacy `log_buf`.
pub fn decode(info: &VmcoreInfo, read: KernelReader<'_>) -> Result<KernelLog> {
    if info.symbol("prb").is_some() {
        decode_lockless(info, read)
    } else if info.symbol("log_buf").is_some() {
        decode_legacy(info, read)
    } else {
        Err(Error::MissingVmcoreinfo {
            key: "SYMBOL(prb) (lockless printk ring) or SYMBOL(log_buf) (legacy log)".into(),
        })
    }
}

impl Dump {
    /// The kernel log, decoded from vmcoreinfo keys through the kernel page tables (any dump
    /// format). When the page tables are unusable but the ELF PT_LOADs carry virtual addresses,
    /// those are used instead, as vmcore-dmesg does.
    pub fn kernel_log(&self) -> Result<KernelLog> {
        let info = self.vmcoreinfo().ok_or_else(|| Error::MissingVmcoreinfo {
            key: "VMCOREINFO note (needed for the kernel log)".into(),
        })?;
        match self.virt_reader() {
            Ok(reader) => decode(info, &|va, buf| reader.read(va, buf)),
            Err(walk_err) => {
                let by_segments = |va: VirtAddr, buf: &mut [u8]| -> Result<()> {
                    let pa = self
                        .virt_to_phys_by_segments(va)
                        .ok_or_else(|| Error::Corrupt {
                            what: "kernel log",
                            detail: format!(
                                "{:#x} is in no PT_LOAD with a virtual address and the page tables are unusable ({walk_err})",
                                va.0
                            ),
                        })?;
                    self.read_phys(pa, buf)
                };
                decode(info, &by_segments)
            }
        }
    }
}
