//! The legacy `log_buf` (Linux 3.5 – 5.9, REFERENCE §4.3): `struct printk_log` records from
//! `log_first_idx` to `log_next_idx`, a zero `len` marking the wrap to the start of the buffer.
//! The kernel does not export `log_first_seq`, so `seq` counts from 0 at the oldest record.

use kdump_types::{Bytes, Finding};

use super::reader::{PageCache, cannot_read, key, member_key, member_u16, member_u64, size_key};
use super::{KernelLog, KernelReader, LogFormat, LogRecord, MAX_DATA_SIZE_BITS, MAX_LOG_RECORDS};
use crate::error::{Error, Result};
use crate::findings as F;
use crate::vmcoreinfo::VmcoreInfo;

/// `struct printk_log` (or `struct log` before 4.x) as vmcoreinfo describes it. Members whose
/// offset lies outside the structure are absent (`None`).
struct LegacyLayout {
    hdr_size: u64,
    off_ts: Option<u64>,
    off_len: Option<u64>,
    off_text_len: Option<u64>,
    off_dict_len: Option<u64>,
    log_buf_sym: u64,
    len_sym: u64,
    first_sym: u64,
    next_sym: u64,
}

impl LegacyLayout {
    fn from_vmcoreinfo(info: &VmcoreInfo) -> Result<Self> {
        // Kernels before 4.? named the struct `log`.
        let st = if info.size("printk_log").is_some() {
            "printk_log"
        } else {
            "log"
        };
        let hdr_size = size_key(info, st)?;
        let sym = |name: &str| key(info.symbol(name), &format!("SYMBOL({name})"));
        Ok(LegacyLayout {
            hdr_size,
            off_ts: member_key(info, &format!("{st}.ts_nsec"), 8, hdr_size)?,
            off_len: member_key(info, &format!("{st}.len"), 2, hdr_size)?,
            off_text_len: member_key(info, &format!("{st}.text_len"), 2, hdr_size)?,
            // Optional: a dict_len outside the header is treated as absent.
            off_dict_len: info
                .offset_of(&format!("{st}.dict_len"))
                .filter(|o| o.checked_add(2).is_some_and(|end| end <= hdr_size)),
            log_buf_sym: sym("log_buf")?,
            len_sym: sym("log_buf_len")?,
            first_sym: sym("log_first_idx")?,
            next_sym: sym("log_next_idx")?,
        })
    }
}

/// Where the buffer is and which part of it holds records, checked for consistency.
struct LogBuf {
    log_buf: u64,
    buf_len: u64,
    first: u64,
    next: u64,
}

impl LogBuf {
    fn read(mem: &mut PageCache<'_>, l: &LegacyLayout) -> Result<Self> {
        let ctx = |what, addr| cannot_read("kernel log buffer", what, addr);
        let log_buf = mem
            .u64_at(l.log_buf_sym)
            .map_err(ctx("log_buf", l.log_buf_sym))?;
        let buf_len = u64::from(
            mem.u32_at(l.len_sym)
                .map_err(ctx("log_buf_len", l.len_sym))?,
        );
        let first = u64::from(
            mem.u32_at(l.first_sym)
                .map_err(ctx("log_first_idx", l.first_sym))?,
        );
        let next = u64::from(
            mem.u32_at(l.next_sym)
                .map_err(ctx("log_next_idx", l.next_sym))?,
        );
        if buf_len == 0
            || buf_len > 1u64 << MAX_DATA_SIZE_BITS
            || first >= buf_len
            || next > buf_len
        {
            return Err(Error::Corrupt {
                what: "kernel log buffer",
                detail: format!(
                    "log_buf_len {buf_len}, log_first_idx {first}, log_next_idx {next} are inconsistent"
                ),
            });
        }
        Ok(LogBuf {
            log_buf,
            buf_len,
            first,
            next,
        })
    }
}

/// What the record at one index gave.
enum Step {
    /// A record `len` bytes long.
    Record(LogRecord, u64),
    /// A zero-length header: continue at index 0.
    Wrap,
    /// Stop decoding, with a finding saying why (or silently when the texts outgrow the buffer).
    Stop(Option<Finding>),
}

/// Decode the legacy `log_buf` (Linux 3.5 – 5.9): `struct printk_log` records from
/// `log_first_idx` to `log_next_idx`, a zero `len` marking the wrap to the start of the buffer.
/// The kernel does not export `log_first_seq`, so `seq` counts from 0 at the oldest record.
pub fn decode_legacy(info: &VmcoreInfo, read: KernelReader<'_>) -> Result<KernelLog> {
    let l = LegacyLayout::from_vmcoreinfo(info)?;
    let mut mem = PageCache::new(read);
    let b = LogBuf::read(&mut mem, &l)?;
    let (log_buf, buf_len) = (b.log_buf, b.buf_len);
    let mut hdr = vec![0u8; l.hdr_size as usize];
    let mut records = Vec::new();
    let mut findings = Vec::new();
    let mut idx = b.first;
    // Each record is at least a header long, plus one wrap marker.
    let max_steps = buf_len / l.hdr_size + 2;
    let mut steps = 0u64;
    let mut text_total = 0u64;
    // Between log_first_idx and log_next_idx the kernel wraps to index 0 at most once
    // (log_next: a zero-length record sends the reader to the start). A second wrap is a loop;
    // without this check a hostile chain went round until max_steps, which a large
    // log_buf_len puts at tens of millions of records.
    let mut wrapped = false;
    while idx != b.next {
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
        } else if idx + l.hdr_size > buf_len {
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
        let seq = records.len() as u64;
        match record_at(&mut mem, &l, &b, idx, seq, &mut hdr, &mut text_total)? {
            Step::Record(r, len) => {
                records.push(r);
                idx += len;
            }
            Step::Wrap if idx == 0 || wrapped => {
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
            Step::Wrap => {
                wrapped = true;
                idx = 0;
            }
            Step::Stop(f) => {
                findings.extend(f);
                break;
            }
        }
    }
    Ok(KernelLog {
        format: LogFormat::Legacy,
        records,
        findings,
        ring: None,
    })
}

/// The record whose header is at index `idx` of the buffer (read into `hdr`).
fn record_at(
    mem: &mut PageCache<'_>,
    l: &LegacyLayout,
    b: &LogBuf,
    idx: u64,
    seq: u64,
    hdr: &mut [u8],
    text_total: &mut u64,
) -> Result<Step> {
    let (log_buf, buf_len, hdr_size) = (b.log_buf, b.buf_len, l.hdr_size);
    let at = log_buf.wrapping_add(idx);
    if let Err(e) = mem.read(at, hdr) {
        return Ok(Step::Stop(Some(F::KLOG_UNREADABLE.finding(
            None,
            format!("log record at {at:#x} (index {idx}): {e}; stopped decoding"),
        ))));
    }
    // Member offsets were checked against SIZE(printk_log) above.
    let hdr_view = Bytes::new(hdr, 0);
    let len = u64::from(member_u16(&hdr_view, "printk_log.len", l.off_len)?);
    if len == 0 {
        // A zero-length header marks the end of the used space: continue at the start.
        return Ok(Step::Wrap);
    }
    if len < hdr_size || idx + len > buf_len {
        return Ok(Step::Stop(Some(F::KLOG_LEGACY_CHAIN.finding(
            None,
            format!(
                "log record at {at:#x} (index {idx}) has len {len}, outside {hdr_size}..={}; stopped decoding",
                buf_len - idx
            ),
        ))));
    }
    let text_len = u64::from(member_u16(
        &hdr_view,
        "printk_log.text_len",
        l.off_text_len,
    )?)
    .min(len - hdr_size);
    let dict_len = match l.off_dict_len {
        Some(o) => u64::from(hdr_view.read_u16("printk_log.dict_len", o)?),
        None => 0,
    }
    .min(len - hdr_size - text_len);
    *text_total += text_len + dict_len;
    if *text_total > buf_len {
        return Ok(Step::Stop(None));
    }
    let mut body = vec![0u8; (text_len + dict_len) as usize];
    if let Err(e) = mem.read(at + hdr_size, &mut body) {
        return Ok(Step::Stop(Some(F::KLOG_UNREADABLE.finding(
            None,
            format!("text of log record at {at:#x}: {e}; stopped decoding"),
        ))));
    }
    let dict = body.split_off(text_len as usize);
    let dict_field = |k: &str| {
        dict.split(|&b| b == 0)
            .find_map(|kv| kv.strip_prefix(k.as_bytes()))
            .map(|v| String::from_utf8_lossy(v).into_owned())
    };
    // facility and flags:5/level:3 follow dict_len (u16) in struct printk_log.
    let (facility, flags, level) = match l.off_dict_len {
        Some(o) if o + 4 <= hdr_size => {
            let b = hdr[(o + 3) as usize];
            (Some(hdr[(o + 2) as usize]), Some(b & 0x1f), Some(b >> 5))
        }
        _ => (None, None, None),
    };
    let rec = LogRecord {
        seq,
        ts_nsec: member_u64(&hdr_view, "printk_log.ts_nsec", l.off_ts)?,
        level,
        facility,
        flags,
        caller: None,
        subsystem: dict_field("SUBSYSTEM="),
        device: dict_field("DEVICE="),
        text: body,
        dataless: false,
        id: idx,
    };
    Ok(Step::Record(rec, len))
}
