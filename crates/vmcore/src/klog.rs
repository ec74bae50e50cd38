//! The kernel log (printk ring buffer) from vmcoreinfo alone, without debug info.
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

use kdump_types::{Bytes, Finding, FindingCode, VirtAddr};

use crate::dump::Dump;
use crate::error::{Error, Result};
use crate::findings as F;
use crate::vmcoreinfo::VmcoreInfo;

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

/// `state_var` layout: top two bits are the state, the rest is the descriptor id.
const DESC_FLAGS_SHIFT: u32 = 62;
const DESC_ID_MASK: u64 = (1u64 << DESC_FLAGS_SHIFT) - 1;
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

/// Reads kernel memory a page at a time through a small fixed-size cache, so that decoding a
/// ring (thousands of small descriptor reads) costs one underlying read per page, and no
/// allocation depends on sizes read from the dump.
struct PageCache<'a> {
    read: KernelReader<'a>,
    slots: Vec<Option<(u64, Box<[u8; PAGE]>)>>,
    /// Pages none of whose bytes can be read (direct-mapped): a walk over unreadable memory
    /// (a hostile ring's descriptors) then costs a table lookup per access, not two failed
    /// reads that each format an error.
    unreadable: Vec<Option<u64>>,
}

const PAGE: usize = 4096;
const CACHE_SLOTS: usize = 128;

impl<'a> PageCache<'a> {
    fn new(read: KernelReader<'a>) -> Self {
        PageCache {
            read,
            slots: (0..CACHE_SLOTS).map(|_| None).collect(),
            unreadable: vec![None; CACHE_SLOTS],
        }
    }

    fn read(&mut self, va: u64, buf: &mut [u8]) -> Result<()> {
        let mut done = 0usize;
        while done < buf.len() {
            let a = va.checked_add(done as u64).ok_or_else(|| Error::Corrupt {
                what: "kernel log",
                detail: format!(
                    "reading {} bytes at {va:#x} runs past the end of the address space",
                    buf.len()
                ),
            })?;
            let page = a & !(PAGE as u64 - 1);
            let off = (a - page) as usize;
            let n = (PAGE - off).min(buf.len() - done);
            let slot = ((page / PAGE as u64) % CACHE_SLOTS as u64) as usize;
            let hit = matches!(&self.slots[slot], Some((p, _)) if *p == page);
            if !hit {
                if self.unreadable[slot] == Some(page) {
                    return Err(Error::Unreadable { addr: a });
                }
                let mut data = Box::new([0u8; PAGE]);
                if (self.read)(VirtAddr(page), &mut data[..]).is_ok() {
                    self.slots[slot] = Some((page, data));
                } else {
                    // Part of the page may still be readable (a mapping that ends inside it):
                    // read exactly what was asked, which also gives the precise error.
                    let exact = (self.read)(VirtAddr(a), &mut buf[done..done + n]);
                    if exact.is_err() {
                        // Neither end readable either: the whole page is (a mapping boundary
                        // inside a page leaves one end readable).
                        let mut b = [0u8; 1];
                        let first = (self.read)(VirtAddr(page), &mut b).is_ok();
                        let last_byte = page.wrapping_add(PAGE as u64 - 1);
                        let last = (self.read)(VirtAddr(last_byte), &mut b).is_ok();
                        if !first && !last {
                            self.unreadable[slot] = Some(page);
                        }
                    }
                    exact?;
                    done += n;
                    continue;
                }
            }
            if let Some((_, data)) = &self.slots[slot] {
                buf[done..done + n].copy_from_slice(&data[off..off + n]);
            }
            done += n;
        }
        Ok(())
    }

    fn u64_at(&mut self, va: u64) -> Result<u64> {
        let mut b = [0u8; 8];
        self.read(va, &mut b)?;
        Ok(u64::from_le_bytes(b))
    }
    fn u32_at(&mut self, va: u64) -> Result<u32> {
        let mut b = [0u8; 4];
        self.read(va, &mut b)?;
        Ok(u32::from_le_bytes(b))
    }
}

/// Counts one kind of problem over a walk and keeps the first example, so a corrupt ring
/// yields one finding per kind instead of thousands.
struct Tally {
    code: FindingCode,
    summary: &'static str,
    count: u64,
    first: Option<String>,
}

impl Tally {
    fn new(code: FindingCode, summary: &'static str) -> Self {
        Tally {
            code,
            summary,
            count: 0,
            first: None,
        }
    }
    fn note(&mut self, detail: impl FnOnce() -> String) {
        self.note_n(1, detail);
    }
    fn note_n(&mut self, n: u64, detail: impl FnOnce() -> String) {
        self.count += n;
        if self.first.is_none() {
            self.first = Some(detail());
        }
    }
    fn finish(self, out: &mut Vec<Finding>) {
        if let Some(first) = self.first {
            out.push(self.code.finding(
                None,
                format!("{} {}; first: {first}", self.count, self.summary),
            ));
        }
    }
}

fn key<T>(v: Option<T>, key: &str) -> Result<T> {
    v.ok_or_else(|| Error::MissingVmcoreinfo { key: key.into() })
}
fn size_key(info: &VmcoreInfo, name: &str) -> Result<u64> {
    let v = key(info.size(name), &format!("SIZE({name})"))?;
    if v == 0 || v > MAX_STRUCT_SIZE {
        return Err(Error::Corrupt {
            what: "vmcoreinfo",
            detail: format!(
                "SIZE({name})={v} is not a plausible structure size (1..={MAX_STRUCT_SIZE})"
            ),
        });
    }
    Ok(v)
}
fn off_key(info: &VmcoreInfo, name: &str) -> Result<u64> {
    let v = key(info.offset_of(name), &format!("OFFSET({name})"))?;
    if v >= MAX_STRUCT_SIZE {
        return Err(Error::Corrupt {
            what: "vmcoreinfo",
            detail: format!(
                "OFFSET({name})={v} is not a plausible member offset (< {MAX_STRUCT_SIZE})"
            ),
        });
    }
    Ok(v)
}

/// `OFFSET(name)` of a `width`-byte member of a structure of `size` bytes (`SIZE(...)`, also
/// the dump's word): `None` when the member does not fit inside the structure. Such a member is
/// read as absent (0), explicitly, never past the buffer that holds the structure.
fn member_key(info: &VmcoreInfo, name: &str, width: u64, size: u64) -> Result<Option<u64>> {
    let v = off_key(info, name)?;
    Ok((v + width <= size).then_some(v))
}

/// The member at `off` of `view` (a structure read whole), or 0 when [`member_key`] found it
/// outside the structure.
fn member_u64(view: &Bytes<'_>, what: &'static str, off: Option<u64>) -> Result<u64> {
    Ok(match off {
        Some(o) => view.read_u64(what, o)?,
        None => 0,
    })
}

/// Like [`member_u64`], for a `u16` member.
fn member_u16(view: &Bytes<'_>, what: &'static str, off: Option<u64>) -> Result<u16> {
    Ok(match off {
        Some(o) => view.read_u16(what, o)?,
        None => 0,
    })
}

/// Offsets of the lockless ring's structures, from vmcoreinfo.
struct LocklessLayout {
    prb_sym: u64,
    desc_ring: u64,
    text_data_ring: u64,
    count_bits: u64,
    descs: u64,
    infos: u64,
    head_id: u64,
    tail_id: u64,
    desc_size: u64,
    state_var: u64,
    text_blk_lpos: u64,
    lpos_begin: u64,
    lpos_next: u64,
    info_size: u64,
    seq: Option<u64>,
    ts_nsec: Option<u64>,
    text_len: Option<u64>,
    caller_id: Option<u64>,
    dev_info: Option<(u64, u64, u64, u64, u64)>,
    size_bits: u64,
    data: u64,
    counter: u64,
}

impl LocklessLayout {
    fn from_vmcoreinfo(info: &VmcoreInfo) -> Result<Self> {
        let info_size = size_key(info, "printk_info")?;
        let dev_info = match (
            info.offset_of("printk_info.dev_info"),
            info.offset_of("dev_printk_info.subsystem"),
            info.offset_of("dev_printk_info.device"),
        ) {
            (Some(d), Some(s), Some(v)) => {
                let slen = info.length("printk_info_subsystem").unwrap_or(16);
                let dlen = info.length("printk_info_device").unwrap_or(48);
                // Only use the strings if they lie inside printk_info.
                let fits = d
                    .checked_add(s.max(v))
                    .and_then(|x| x.checked_add(slen.max(dlen)))
                    .is_some_and(|end| end <= info_size);
                fits.then_some((d, s, slen, v, dlen))
            }
            _ => None,
        };
        Ok(LocklessLayout {
            prb_sym: key(info.symbol("prb"), "SYMBOL(prb)")?,
            desc_ring: off_key(info, "printk_ringbuffer.desc_ring")?,
            text_data_ring: off_key(info, "printk_ringbuffer.text_data_ring")?,
            count_bits: off_key(info, "prb_desc_ring.count_bits")?,
            descs: off_key(info, "prb_desc_ring.descs")?,
            infos: off_key(info, "prb_desc_ring.infos")?,
            head_id: off_key(info, "prb_desc_ring.head_id")?,
            tail_id: off_key(info, "prb_desc_ring.tail_id")?,
            desc_size: size_key(info, "prb_desc")?,
            state_var: off_key(info, "prb_desc.state_var")?,
            text_blk_lpos: off_key(info, "prb_desc.text_blk_lpos")?,
            lpos_begin: off_key(info, "prb_data_blk_lpos.begin")?,
            lpos_next: off_key(info, "prb_data_blk_lpos.next")?,
            info_size,
            seq: member_key(info, "printk_info.seq", 8, info_size)?,
            ts_nsec: member_key(info, "printk_info.ts_nsec", 8, info_size)?,
            text_len: member_key(info, "printk_info.text_len", 2, info_size)?,
            // Optional: a caller_id outside printk_info is treated as absent.
            caller_id: info
                .offset_of("printk_info.caller_id")
                .filter(|o| o.checked_add(4).is_some_and(|end| end <= info_size)),
            dev_info,
            size_bits: off_key(info, "prb_data_ring.size_bits")?,
            data: off_key(info, "prb_data_ring.data")?,
            // atomic_long_t is a struct { long counter; }: offset 0 on every kernel so far.
            counter: info.offset_of("atomic_long_t.counter").unwrap_or(0),
        })
    }
}

fn c_string(bytes: &[u8]) -> Option<String> {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    (end > 0).then(|| String::from_utf8_lossy(&bytes[..end]).into_owned())
}

/// Decode the lockless printk ring buffer (Linux ≥ 5.10).
pub fn decode_lockless(info: &VmcoreInfo, read: KernelReader<'_>) -> Result<KernelLog> {
    let l = LocklessLayout::from_vmcoreinfo(info)?;
    let mut mem = PageCache::new(read);
    let ctx = |what: &'static str, addr: u64| {
        move |e: Error| Error::Corrupt {
            what: "printk ring buffer",
            detail: format!("cannot read {what} at {addr:#x}: {e}"),
        }
    };

    let prb = mem
        .u64_at(l.prb_sym)
        .map_err(ctx("prb (SYMBOL(prb))", l.prb_sym))?;
    if prb == 0 {
        return Err(Error::Corrupt {
            what: "printk ring buffer",
            detail: format!(
                "prb (the pointer at SYMBOL(prb) {:#x}) is 0 (null): the kernel never set up its \
                 log, or this memory is not the kernel's",
                l.prb_sym
            ),
        });
    }
    let desc_ring = prb.wrapping_add(l.desc_ring);
    let data_ring = prb.wrapping_add(l.text_data_ring);
    let a = desc_ring.wrapping_add(l.count_bits);
    let count_bits = mem.u32_at(a).map_err(ctx("prb->desc_ring.count_bits", a))?;
    let a = data_ring.wrapping_add(l.size_bits);
    let size_bits = mem
        .u32_at(a)
        .map_err(ctx("prb->text_data_ring.size_bits", a))?;
    if count_bits > MAX_DESC_COUNT_BITS {
        return Err(Error::Corrupt {
            what: "printk ring buffer",
            detail: format!(
                "desc_ring.count_bits at {:#x} is {count_bits}, more than the {MAX_DESC_COUNT_BITS} a kernel can use",
                desc_ring.wrapping_add(l.count_bits)
            ),
        });
    }
    if !(3..=MAX_DATA_SIZE_BITS).contains(&size_bits) {
        return Err(Error::Corrupt {
            what: "printk ring buffer",
            detail: format!(
                "text_data_ring.size_bits at {:#x} is {size_bits}, outside 3..={MAX_DATA_SIZE_BITS}",
                data_ring.wrapping_add(l.size_bits)
            ),
        });
    }
    let field = |mem: &mut PageCache<'_>, base: u64, off: u64, what: &'static str| {
        let a = base.wrapping_add(off);
        mem.u64_at(a).map_err(ctx(what, a))
    };
    let ring = RingInfo {
        prb,
        desc_count: 1u64 << count_bits,
        data_size: 1u64 << size_bits,
        descs: field(&mut mem, desc_ring, l.descs, "prb->desc_ring.descs")?,
        infos: field(&mut mem, desc_ring, l.infos, "prb->desc_ring.infos")?,
        data: field(&mut mem, data_ring, l.data, "prb->text_data_ring.data")?,
        head_id: field(
            &mut mem,
            desc_ring,
            l.head_id + l.counter,
            "prb->desc_ring.head_id",
        )? & DESC_ID_MASK,
        tail_id: field(
            &mut mem,
            desc_ring,
            l.tail_id + l.counter,
            "prb->desc_ring.tail_id",
        )? & DESC_ID_MASK,
    };

    for (what, off, v) in [
        (
            "prb->desc_ring.descs",
            desc_ring.wrapping_add(l.descs),
            ring.descs,
        ),
        (
            "prb->desc_ring.infos",
            desc_ring.wrapping_add(l.infos),
            ring.infos,
        ),
        (
            "prb->text_data_ring.data",
            data_ring.wrapping_add(l.data),
            ring.data,
        ),
    ] {
        if v == 0 {
            return Err(Error::Corrupt {
                what: "printk ring buffer",
                detail: format!(
                    "{what} at {off:#x} is 0 (null): the ring at prb {prb:#x} has no {}",
                    if what.ends_with("data") {
                        "text"
                    } else {
                        "descriptors"
                    }
                ),
            });
        }
    }
    let mut findings = Vec::new();
    let count = ring.desc_count;
    let mut tail = ring.tail_id;
    let span = ring.head_id.wrapping_sub(tail) & DESC_ID_MASK;
    if span >= count {
        // head and tail can never be more than one ring apart; decode the newest ring's worth.
        tail = ring.head_id.wrapping_sub(count - 1) & DESC_ID_MASK;
        findings.push(F::KLOG_RING_SPAN.finding(None,
            format!(
                "printk descriptor ring: tail id {:#x} and head id {:#x} are {span} apart, more than the {count} descriptors: ring indexes are corrupt; decoding the last {count} ids only",
                ring.tail_id, ring.head_id
            ),
        ));
    }
    let mut n_ids = (ring.head_id.wrapping_sub(tail) & DESC_ID_MASK) + 1;
    if n_ids > MAX_LOG_RECORDS {
        findings.push(F::KLOG_RECORDS_CAPPED.finding(
            None,
            format!(
                "the ring holds {n_ids} descriptor ids (count_bits {count_bits}), more than the \
                 {MAX_LOG_RECORDS} records a log is decoded to (MAX_LOG_RECORDS); decoding the \
                 newest {MAX_LOG_RECORDS} only"
            ),
        ));
        tail = ring.head_id.wrapping_sub(MAX_LOG_RECORDS - 1) & DESC_ID_MASK;
        n_ids = MAX_LOG_RECORDS;
    }

    let mut in_progress = Tally::new(
        F::KLOG_DESC_NOT_FINAL,
        "descriptors were reserved or reusable, not committed (being written at the time of the dump); skipped",
    );
    let mut id_mismatch = Tally::new(
        F::KLOG_DESC_ID_MISMATCH,
        "descriptors hold another id than expected (overwritten or corrupt); skipped",
    );
    let mut bad_block = Tally::new(
        F::KLOG_BAD_DATA_BLOCK,
        "records have an invalid text data block (illegal positions or a block of another record); skipped",
    );
    let mut unreadable = Tally::new(
        F::KLOG_UNREADABLE,
        "records could not be read from the dump; skipped",
    );
    let mut seq_odd = Tally::new(
        F::KLOG_SEQ_INCONSISTENT,
        "records have a sequence number that does not match their slot or goes backwards",
    );
    let mut truncated = Tally::new(
        F::KLOG_TEXT_TRUNCATED,
        "records have a text_len longer than their data block; text cut to the block",
    );

    let mut records: Vec<LogRecord> = Vec::new();
    // Live records' blocks never overlap, so their texts add up to at most the data ring;
    // more than that means descriptors point at the same bytes again and again.
    let text_budget = ring.data_size;
    let mut text_total = 0u64;
    let mut info_buf = vec![0u8; l.info_size as usize];
    let mut last_seq: Option<u64> = None;
    let data_mask = ring.data_size - 1;

    let mut next_step = 0u64;
    while next_step < n_ids {
        let step = next_step;
        next_step += 1;
        let id = tail.wrapping_add(step) & DESC_ID_MASK;
        let slot = id & (count - 1);
        let desc = ring.descs.wrapping_add(slot * l.desc_size);
        let sv_addr = desc.wrapping_add(l.state_var + l.counter);
        let state_var = match mem.u64_at(sv_addr) {
            Ok(v) => v,
            Err(e) => {
                // A whole unreadable page of descriptors: the next slots whose state_var lies
                // on it fail too; count them without reading (a hostile ring of 2^26 ids in
                // unmapped memory is then one step per page, not per id).
                let skip = if matches!(e, Error::Unreadable { .. }) {
                    let left_in_page = PAGE as u64 - (sv_addr & (PAGE as u64 - 1));
                    left_in_page
                        .div_ceil(l.desc_size)
                        .min(count - slot)
                        .min(n_ids - step)
                        .max(1)
                } else {
                    1
                };
                unreadable.note_n(skip, || format!("descriptor {id:#x} at {desc:#x}: {e}"));
                next_step = step + skip;
                continue;
            }
        };
        if state_var & DESC_ID_MASK != id {
            id_mismatch.note(|| {
                format!(
                    "descriptor slot {slot} at {desc:#x} for id {id:#x} holds id {:#x}",
                    state_var & DESC_ID_MASK
                )
            });
            continue;
        }
        let state = state_var >> DESC_FLAGS_SHIFT;
        // 1 = committed, 2 = finalized: the only states whose text is complete.
        if state != 1 && state != 2 {
            in_progress.note(|| format!("descriptor {id:#x} at {desc:#x} is in state {state}"));
            continue;
        }
        let lpos = desc.wrapping_add(l.text_blk_lpos);
        let (begin, next) = match (
            mem.u64_at(lpos.wrapping_add(l.lpos_begin)),
            mem.u64_at(lpos.wrapping_add(l.lpos_next)),
        ) {
            (Ok(b), Ok(n)) => (b, n),
            (Err(e), _) | (_, Err(e)) => {
                unreadable.note(|| format!("descriptor {id:#x} text_blk_lpos at {lpos:#x}: {e}"));
                continue;
            }
        };
        let info_addr = ring.infos.wrapping_add(slot * l.info_size);
        if let Err(e) = mem.read(info_addr, &mut info_buf) {
            unreadable.note(|| format!("printk_info of {id:#x} at {info_addr:#x}: {e}"));
            continue;
        }
        // Member offsets were checked against SIZE(printk_info) in from_vmcoreinfo; members
        // outside it are absent.
        let info_view = Bytes::new(&info_buf, 0);
        let seq = member_u64(&info_view, "printk_info.seq", l.seq)?;
        let ts_nsec = member_u64(&info_view, "printk_info.ts_nsec", l.ts_nsec)?;
        let text_len = u64::from(member_u16(&info_view, "printk_info.text_len", l.text_len)?);
        if seq & (count - 1) != slot || last_seq.is_some_and(|s| seq <= s) {
            seq_odd.note(|| format!("descriptor {id:#x} (slot {slot}) has seq {seq}"));
        }
        last_seq = Some(seq);

        // facility (u8), flags:5 and level:3 (u8) follow text_len (u16) in every printk_info
        // layout so far; they have no vmcoreinfo keys, so trust the position only when
        // caller_id sits right after them as in that layout.
        // SIZE(printk_info) comes from the dump too: the two bytes may lie outside it.
        let packed_at = l
            .text_len
            .filter(|&t| l.caller_id == Some(t + 4))
            .map(|t| (t + 2) as usize);
        let (facility, flags, level) = match packed_at.and_then(|at| info_buf.get(at..at + 2)) {
            Some(&[facility, b]) => (Some(facility), Some(b & 0x1f), Some(b >> 5)),
            _ => (None, None, None),
        };
        let caller = match l.caller_id {
            Some(o) => Some(Caller::from_raw(
                info_view.read_u32("printk_info.caller_id", o)?,
            )),
            None => None,
        };
        let (subsystem, device) = match l.dev_info {
            Some((d, s, slen, v, dlen)) => {
                let s0 = (d + s) as usize;
                let v0 = (d + v) as usize;
                (
                    info_buf.get(s0..s0 + slen as usize).and_then(c_string),
                    info_buf.get(v0..v0 + dlen as usize).and_then(c_string),
                )
            }
            None => (None, None),
        };
        let mut rec = LogRecord {
            seq,
            ts_nsec,
            level,
            facility,
            flags,
            caller,
            text: Vec::new(),
            subsystem,
            device,
            dataless: false,
            id,
        };

        // Data-less records (bit 0 of begin set: an empty line or a failed allocation) and
        // empty blocks carry no text; makedumpfile skips them, we keep them marked.
        if begin & 1 != 0 || begin & data_mask == next & data_mask {
            rec.dataless = true;
            records.push(rec);
            continue;
        }
        // Block placement as the kernel's get_data(): a regular block lies in one wrap; a
        // wrapping block stores its data at the start of the ring and `next` is one wrap on.
        let wraps = |lpos: u64| lpos >> size_bits;
        let (block_index, block_len) = if wraps(begin) == wraps(next) && begin < next {
            (begin & data_mask, next - begin)
        } else if wraps(begin.wrapping_add(ring.data_size)) == wraps(next) {
            (0, next & data_mask)
        } else {
            bad_block.note(|| {
                format!("descriptor {id:#x}: text block positions {begin:#x}..{next:#x} are illegal for a {} byte ring", ring.data_size)
            });
            continue;
        };
        if begin % 8 != 0
            || next % 8 != 0
            || block_len < 8
            || block_index + block_len > ring.data_size
        {
            bad_block.note(|| {
                format!("descriptor {id:#x}: text block {begin:#x}..{next:#x} is misaligned or shorter than its id")
            });
            continue;
        }
        let block_addr = ring.data.wrapping_add(block_index);
        match mem.u64_at(block_addr) {
            Ok(block_id) if block_id & DESC_ID_MASK == id => {}
            Ok(block_id) => {
                bad_block.note(|| {
                    format!("descriptor {id:#x}: its text block at {block_addr:#x} belongs to id {block_id:#x}")
                });
                continue;
            }
            Err(e) => {
                unreadable.note(|| format!("text block of {id:#x} at {block_addr:#x}: {e}"));
                continue;
            }
        }
        let avail = block_len - 8;
        let len = if text_len > avail {
            truncated.note(|| {
                format!("descriptor {id:#x}: text_len {text_len} but block holds {avail}")
            });
            avail
        } else {
            text_len
        };
        text_total += len;
        if text_total > text_budget {
            findings.push(F::KLOG_TEXT_OVERLAP.finding(None,
                format!(
                    "records' texts add up to more than the {} byte data ring (at descriptor {id:#x}): blocks overlap, the ring is corrupt; stopped decoding",
                    ring.data_size
                ),
            ));
            break;
        }
        // len ≤ 65535 (u16 text_len), so this allocation is small whatever the dump says.
        let mut text = vec![0u8; len as usize];
        if let Err(e) = mem.read(block_addr + 8, &mut text) {
            unreadable.note(|| format!("text of {id:#x} at {:#x}: {e}", block_addr + 8));
            continue;
        }
        rec.text = text;
        records.push(rec);
    }

    for t in [
        in_progress,
        id_mismatch,
        bad_block,
        unreadable,
        seq_odd,
        truncated,
    ] {
        t.finish(&mut findings);
    }
    Ok(KernelLog {
        format: LogFormat::Lockless,
        records,
        findings,
        ring: Some(ring),
    })
}

/// Decode the legacy `log_buf` (Linux 3.5 – 5.9): `struct printk_log` records from
/// `log_first_idx` to `log_next_idx`, a zero `len` marking the wrap to the start of the buffer.
/// The kernel does not export `log_first_seq`, so `seq` counts from 0 at the oldest record.
pub fn decode_legacy(info: &VmcoreInfo, read: KernelReader<'_>) -> Result<KernelLog> {
    // Kernels before 4.? named the struct `log`.
    let st = if info.size("printk_log").is_some() {
        "printk_log"
    } else {
        "log"
    };
    let hdr_size = size_key(info, st)?;
    let off_ts = member_key(info, &format!("{st}.ts_nsec"), 8, hdr_size)?;
    let off_len = member_key(info, &format!("{st}.len"), 2, hdr_size)?;
    let off_text_len = member_key(info, &format!("{st}.text_len"), 2, hdr_size)?;
    // Optional: a dict_len outside the header is treated as absent.
    let off_dict_len = info
        .offset_of(&format!("{st}.dict_len"))
        .filter(|o| o.checked_add(2).is_some_and(|end| end <= hdr_size));
    let sym = |name: &str| key(info.symbol(name), &format!("SYMBOL({name})"));
    let (log_buf_sym, len_sym, first_sym, next_sym) = (
        sym("log_buf")?,
        sym("log_buf_len")?,
        sym("log_first_idx")?,
        sym("log_next_idx")?,
    );
    let mut mem = PageCache::new(read);
    let ctx = |what: &'static str, addr: u64| {
        move |e: Error| Error::Corrupt {
            what: "kernel log buffer",
            detail: format!("cannot read {what} at {addr:#x}: {e}"),
        }
    };
    let log_buf = mem
        .u64_at(log_buf_sym)
        .map_err(ctx("log_buf", log_buf_sym))?;
    let buf_len = u64::from(mem.u32_at(len_sym).map_err(ctx("log_buf_len", len_sym))?);
    let first = u64::from(
        mem.u32_at(first_sym)
            .map_err(ctx("log_first_idx", first_sym))?,
    );
    let next = u64::from(
        mem.u32_at(next_sym)
            .map_err(ctx("log_next_idx", next_sym))?,
    );
    if buf_len == 0 || buf_len > 1u64 << MAX_DATA_SIZE_BITS || first >= buf_len || next > buf_len {
        return Err(Error::Corrupt {
            what: "kernel log buffer",
            detail: format!(
                "log_buf_len {buf_len}, log_first_idx {first}, log_next_idx {next} are inconsistent"
            ),
        });
    }
    let mut hdr = vec![0u8; hdr_size as usize];
    let mut records = Vec::new();
    let mut findings = Vec::new();
    let mut idx = first;
    // Each record is at least a header long, plus one wrap marker.
    let max_steps = buf_len / hdr_size + 2;
    let mut steps = 0u64;
    let mut text_total = 0u64;
    // Between log_first_idx and log_next_idx the kernel wraps to index 0 at most once
    // (log_next: a zero-length record sends the reader to the start). A second wrap is a loop;
    // without this check a hostile chain went round until max_steps, which a large
    // log_buf_len puts at tens of millions of records.
    let mut wrapped = false;
    while idx != next {
        if records.len() as u64 >= MAX_LOG_RECORDS {
            findings.push(F::KLOG_RECORDS_CAPPED.finding(
                None,
                format!(
                    "log_buf at {log_buf:#x}: more than {MAX_LOG_RECORDS} records \
                     (MAX_LOG_RECORDS); stopped decoding"
                ),
            ));
            break;
        }
        steps += 1;
        let problem = if steps > max_steps {
            Some(format!(
                "more than {max_steps} records in a {buf_len} byte buffer: the record chain loops"
            ))
        } else if idx + hdr_size > buf_len {
            Some(format!(
                "record header at index {idx} runs past the {buf_len} byte buffer"
            ))
        } else {
            None
        };
        if let Some(p) = problem {
            findings.push(F::KLOG_LEGACY_CHAIN.finding(
                None,
                format!("log_buf at {log_buf:#x}: {p}; stopped decoding"),
            ));
            break;
        }
        let at = log_buf.wrapping_add(idx);
        if let Err(e) = mem.read(at, &mut hdr) {
            findings.push(F::KLOG_UNREADABLE.finding(
                None,
                format!("log record at {at:#x} (index {idx}): {e}; stopped decoding"),
            ));
            break;
        }
        // Member offsets were checked against SIZE(printk_log) above.
        let hdr_view = Bytes::new(&hdr, 0);
        let len = u64::from(member_u16(&hdr_view, "printk_log.len", off_len)?);
        if len == 0 {
            // A zero-length header marks the end of the used space: continue at the start.
            if idx == 0 || wrapped {
                let why = if idx == 0 {
                    "zero-length record at index 0".to_string()
                } else {
                    format!(
                        "zero-length record at index {idx} wraps to the start a second time: the record chain loops"
                    )
                };
                findings.push(F::KLOG_LEGACY_CHAIN.finding(
                    None,
                    format!("log_buf at {log_buf:#x}: {why}; stopped decoding"),
                ));
                break;
            }
            wrapped = true;
            idx = 0;
            continue;
        }
        if len < hdr_size || idx + len > buf_len {
            findings.push(F::KLOG_LEGACY_CHAIN.finding(None, format!("log record at {at:#x} (index {idx}) has len {len}, outside {hdr_size}..={}; stopped decoding", buf_len - idx)));
            break;
        }
        let text_len = u64::from(member_u16(&hdr_view, "printk_log.text_len", off_text_len)?)
            .min(len - hdr_size);
        let dict_len = match off_dict_len {
            Some(o) => u64::from(hdr_view.read_u16("printk_log.dict_len", o)?),
            None => 0,
        }
        .min(len - hdr_size - text_len);
        text_total += text_len + dict_len;
        if text_total > buf_len {
            break;
        }
        let mut body = vec![0u8; (text_len + dict_len) as usize];
        if let Err(e) = mem.read(at + hdr_size, &mut body) {
            findings.push(F::KLOG_UNREADABLE.finding(
                None,
                format!("text of log record at {at:#x}: {e}; stopped decoding"),
            ));
            break;
        }
        let dict = body.split_off(text_len as usize);
        let dict_field = |k: &str| {
            dict.split(|&b| b == 0)
                .find_map(|kv| kv.strip_prefix(k.as_bytes()))
                .map(|v| String::from_utf8_lossy(v).into_owned())
        };
        // facility and flags:5/level:3 follow dict_len (u16) in struct printk_log.
        let (facility, flags, level) = match off_dict_len {
            Some(o) if o + 4 <= hdr_size => {
                let b = hdr[(o + 3) as usize];
                (Some(hdr[(o + 2) as usize]), Some(b & 0x1f), Some(b >> 5))
            }
            _ => (None, None, None),
        };
        records.push(LogRecord {
            seq: records.len() as u64,
            ts_nsec: member_u64(&hdr_view, "printk_log.ts_nsec", off_ts)?,
            level,
            facility,
            flags,
            caller: None,
            subsystem: dict_field("SUBSYSTEM="),
            device: dict_field("DEVICE="),
            text: body,
            dataless: false,
            id: idx,
        });
        idx += len;
    }
    Ok(KernelLog {
        format: LogFormat::Legacy,
        records,
        findings,
        ring: None,
    })
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
