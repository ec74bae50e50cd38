//! The lockless printk ring buffer (Linux ≥ 5.10), as the kernel's `printk_ringbuffer.c` lays
//! it out: a descriptor ring (`prb_desc` + `printk_info` per slot) and a text data ring, located
//! from `SYMBOL(prb)` and decoded with the `SIZE(...)`/`OFFSET(...)` keys (REFERENCE §4.2).
//!
//! [`decode_lockless`] reads the ring's geometry ([`read_ring`]), picks the window of ids to
//! visit ([`id_window`]), then walks it one descriptor at a time ([`Walk::step`]): descriptor
//! state, `printk_info` fields, then the text block.

use kdump_types::{Bytes, Finding};

use super::reader::{
    PAGE, PageCache, Tally, c_string, cannot_read, key, member_key, member_u16, member_u64,
    off_key, size_key,
};
use super::{
    Caller, KernelLog, KernelReader, LogFormat, LogRecord, MAX_DATA_SIZE_BITS, MAX_DESC_COUNT_BITS,
    MAX_LOG_RECORDS, RingInfo,
};
use crate::error::{Error, Result};
use crate::findings as F;
use crate::vmcoreinfo::VmcoreInfo;

/// `state_var` layout: top two bits are the state, the rest is the descriptor id.
const DESC_FLAGS_SHIFT: u32 = 62;
const DESC_ID_MASK: u64 = (1u64 << DESC_FLAGS_SHIFT) - 1;

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

/// Decode the lockless printk ring buffer (Linux ≥ 5.10).
pub fn decode_lockless(info: &VmcoreInfo, read: KernelReader<'_>) -> Result<KernelLog> {
    let l = LocklessLayout::from_vmcoreinfo(info)?;
    let mut mem = PageCache::new(read);
    let (ring, count_bits, size_bits) = read_ring(&mut mem, &l)?;
    let mut findings = Vec::new();
    let (tail, n_ids) = id_window(&ring, count_bits, &mut findings);
    let mut walk = Walk::new(&l, ring, size_bits);
    let mut records: Vec<LogRecord> = Vec::new();
    let mut next_step = 0u64;
    while next_step < n_ids {
        let step = next_step;
        next_step += 1;
        let id = tail.wrapping_add(step) & DESC_ID_MASK;
        match walk.step(&mut mem, id, n_ids - step)? {
            Step::Skip(n) => next_step = step + n,
            Step::Record(r) => records.push(r),
            Step::Stop(f) => {
                findings.push(f);
                break;
            }
        }
    }
    walk.tallies.finish(&mut findings);
    Ok(KernelLog {
        format: LogFormat::Lockless,
        records,
        findings,
        ring: Some(ring),
    })
}

/// The ring's geometry from `*prb`: sizes checked against the caps, pointers checked non-null.
/// Returns it with `count_bits` and `size_bits`.
fn read_ring(mem: &mut PageCache<'_>, l: &LocklessLayout) -> Result<(RingInfo, u32, u32)> {
    let ctx = |what, addr| cannot_read("printk ring buffer", what, addr);
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
        descs: field(mem, desc_ring, l.descs, "prb->desc_ring.descs")?,
        infos: field(mem, desc_ring, l.infos, "prb->desc_ring.infos")?,
        data: field(mem, data_ring, l.data, "prb->text_data_ring.data")?,
        head_id: field(
            mem,
            desc_ring,
            l.head_id + l.counter,
            "prb->desc_ring.head_id",
        )? & DESC_ID_MASK,
        tail_id: field(
            mem,
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
    Ok((ring, count_bits, size_bits))
}

/// The first id to visit and how many: at most one ring's worth (head and tail can never be
/// further apart) and at most [`MAX_LOG_RECORDS`], newest kept.
fn id_window(ring: &RingInfo, count_bits: u32, findings: &mut Vec<Finding>) -> (u64, u64) {
    let count = ring.desc_count;
    let mut tail = ring.tail_id;
    let span = ring.head_id.wrapping_sub(tail) & DESC_ID_MASK;
    if span >= count {
        // head and tail can never be more than one ring apart; decode the newest ring's worth.
        tail = ring.head_id.wrapping_sub(count - 1) & DESC_ID_MASK;
        findings.push(F::KLOG_RING_SPAN.finding(
            None,
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
    (tail, n_ids)
}

/// What one step of the walk gave.
enum Step {
    /// Nothing to keep; go on `n` ids later (1, or the rest of an unreadable page).
    Skip(u64),
    /// A record.
    Record(LogRecord),
    /// The ring is corrupt beyond this point: stop with this finding.
    Stop(Finding),
}

/// The per-kind problem counts of a walk, one finding each at the end.
struct Tallies {
    in_progress: Tally,
    id_mismatch: Tally,
    bad_block: Tally,
    unreadable: Tally,
    seq_odd: Tally,
    truncated: Tally,
}

impl Tallies {
    fn new() -> Self {
        Tallies {
            in_progress: Tally::new(
                F::KLOG_DESC_NOT_FINAL,
                "descriptors were reserved or reusable, not committed (being written at the time of the dump); skipped",
            ),
            id_mismatch: Tally::new(
                F::KLOG_DESC_ID_MISMATCH,
                "descriptors hold another id than expected (overwritten or corrupt); skipped",
            ),
            bad_block: Tally::new(
                F::KLOG_BAD_DATA_BLOCK,
                "records have an invalid text data block (illegal positions or a block of another record); skipped",
            ),
            unreadable: Tally::new(
                F::KLOG_UNREADABLE,
                "records could not be read from the dump; skipped",
            ),
            seq_odd: Tally::new(
                F::KLOG_SEQ_INCONSISTENT,
                "records have a sequence number that does not match their slot or goes backwards",
            ),
            truncated: Tally::new(
                F::KLOG_TEXT_TRUNCATED,
                "records have a text_len longer than their data block; text cut to the block",
            ),
        }
    }

    fn finish(self, findings: &mut Vec<Finding>) {
        for t in [
            self.in_progress,
            self.id_mismatch,
            self.bad_block,
            self.unreadable,
            self.seq_odd,
            self.truncated,
        ] {
            t.finish(findings);
        }
    }
}

/// The state of a walk over the descriptor ring.
struct Walk<'l> {
    l: &'l LocklessLayout,
    ring: RingInfo,
    size_bits: u32,
    tallies: Tallies,
    /// Live records' blocks never overlap, so their texts add up to at most the data ring;
    /// more than that means descriptors point at the same bytes again and again.
    text_total: u64,
    info_buf: Vec<u8>,
    last_seq: Option<u64>,
}

impl<'l> Walk<'l> {
    fn new(l: &'l LocklessLayout, ring: RingInfo, size_bits: u32) -> Self {
        Walk {
            l,
            ring,
            size_bits,
            tallies: Tallies::new(),
            text_total: 0,
            info_buf: vec![0u8; l.info_size as usize],
            last_seq: None,
        }
    }

    /// Descriptor `id` (`left` ids remain in the window, this one included).
    fn step(&mut self, mem: &mut PageCache<'_>, id: u64, left: u64) -> Result<Step> {
        let (l, count) = (self.l, self.ring.desc_count);
        let slot = id & (count - 1);
        let desc = self.ring.descs.wrapping_add(slot * l.desc_size);
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
                        .min(left)
                        .max(1)
                } else {
                    1
                };
                self.tallies
                    .unreadable
                    .note_n(skip, || format!("descriptor {id:#x} at {desc:#x}: {e}"));
                return Ok(Step::Skip(skip));
            }
        };
        if state_var & DESC_ID_MASK != id {
            self.tallies.id_mismatch.note(|| {
                format!(
                    "descriptor slot {slot} at {desc:#x} for id {id:#x} holds id {:#x}",
                    state_var & DESC_ID_MASK
                )
            });
            return Ok(Step::Skip(1));
        }
        let state = state_var >> DESC_FLAGS_SHIFT;
        // 1 = committed, 2 = finalized: the only states whose text is complete.
        if state != 1 && state != 2 {
            self.tallies
                .in_progress
                .note(|| format!("descriptor {id:#x} at {desc:#x} is in state {state}"));
            return Ok(Step::Skip(1));
        }
        let lpos = desc.wrapping_add(l.text_blk_lpos);
        let (begin, next) = match (
            mem.u64_at(lpos.wrapping_add(l.lpos_begin)),
            mem.u64_at(lpos.wrapping_add(l.lpos_next)),
        ) {
            (Ok(b), Ok(n)) => (b, n),
            (Err(e), _) | (_, Err(e)) => {
                self.tallies
                    .unreadable
                    .note(|| format!("descriptor {id:#x} text_blk_lpos at {lpos:#x}: {e}"));
                return Ok(Step::Skip(1));
            }
        };
        let Some((rec, text_len)) = self.record_info(mem, id, slot)? else {
            return Ok(Step::Skip(1));
        };
        Ok(self.text(mem, rec, text_len, begin, next))
    }

    /// The record of descriptor `id` in `slot`, from its `printk_info`, without text; and its
    /// `text_len`. `None` when the info cannot be read.
    fn record_info(
        &mut self,
        mem: &mut PageCache<'_>,
        id: u64,
        slot: u64,
    ) -> Result<Option<(LogRecord, u64)>> {
        let l = self.l;
        let info_addr = self.ring.infos.wrapping_add(slot * l.info_size);
        if let Err(e) = mem.read(info_addr, &mut self.info_buf) {
            self.tallies
                .unreadable
                .note(|| format!("printk_info of {id:#x} at {info_addr:#x}: {e}"));
            return Ok(None);
        }
        let info_buf = &self.info_buf;
        // Member offsets were checked against SIZE(printk_info) in from_vmcoreinfo; members
        // outside it are absent.
        let info_view = Bytes::new(info_buf, 0);
        let seq = member_u64(&info_view, "printk_info.seq", l.seq)?;
        let ts_nsec = member_u64(&info_view, "printk_info.ts_nsec", l.ts_nsec)?;
        let text_len = u64::from(member_u16(&info_view, "printk_info.text_len", l.text_len)?);
        if seq & (self.ring.desc_count - 1) != slot || self.last_seq.is_some_and(|s| seq <= s) {
            self.tallies
                .seq_odd
                .note(|| format!("descriptor {id:#x} (slot {slot}) has seq {seq}"));
        }
        self.last_seq = Some(seq);

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
        let rec = LogRecord {
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
        Ok(Some((rec, text_len)))
    }

    /// `rec` with its text from the data block `begin..next` (positions as the kernel's
    /// `get_data()` reads them).
    fn text(
        &mut self,
        mem: &mut PageCache<'_>,
        mut rec: LogRecord,
        text_len: u64,
        begin: u64,
        next: u64,
    ) -> Step {
        let (id, ring) = (rec.id, self.ring);
        let data_mask = ring.data_size - 1;
        // Data-less records (bit 0 of begin set: an empty line or a failed allocation) and
        // empty blocks carry no text; makedumpfile skips them, we keep them marked.
        if begin & 1 != 0 || begin & data_mask == next & data_mask {
            rec.dataless = true;
            return Step::Record(rec);
        }
        // Block placement as the kernel's get_data(): a regular block lies in one wrap; a
        // wrapping block stores its data at the start of the ring and `next` is one wrap on.
        let size_bits = self.size_bits;
        let wraps = |lpos: u64| lpos >> size_bits;
        let (block_index, block_len) = if wraps(begin) == wraps(next) && begin < next {
            (begin & data_mask, next - begin)
        } else if wraps(begin.wrapping_add(ring.data_size)) == wraps(next) {
            (0, next & data_mask)
        } else {
            self.tallies.bad_block.note(|| {
                format!("descriptor {id:#x}: text block positions {begin:#x}..{next:#x} are illegal for a {} byte ring", ring.data_size)
            });
            return Step::Skip(1);
        };
        if begin % 8 != 0
            || next % 8 != 0
            || block_len < 8
            || block_index + block_len > ring.data_size
        {
            self.tallies.bad_block.note(|| {
                format!("descriptor {id:#x}: text block {begin:#x}..{next:#x} is misaligned or shorter than its id")
            });
            return Step::Skip(1);
        }
        let block_addr = ring.data.wrapping_add(block_index);
        match mem.u64_at(block_addr) {
            Ok(block_id) if block_id & DESC_ID_MASK == id => {}
            Ok(block_id) => {
                self.tallies.bad_block.note(|| {
                    format!("descriptor {id:#x}: its text block at {block_addr:#x} belongs to id {block_id:#x}")
                });
                return Step::Skip(1);
            }
            Err(e) => {
                self.tallies
                    .unreadable
                    .note(|| format!("text block of {id:#x} at {block_addr:#x}: {e}"));
                return Step::Skip(1);
            }
        }
        let avail = block_len - 8;
        let len = if text_len > avail {
            self.tallies.truncated.note(|| {
                format!("descriptor {id:#x}: text_len {text_len} but block holds {avail}")
            });
            avail
        } else {
            text_len
        };
        self.text_total += len;
        if self.text_total > ring.data_size {
            return Step::Stop(F::KLOG_TEXT_OVERLAP.finding(
                None,
                format!(
                    "records' texts add up to more than the {} byte data ring (at descriptor {id:#x}): blocks overlap, the ring is corrupt; stopped decoding",
                    ring.data_size
                ),
            ));
        }
        // len ≤ 65535 (u16 text_len), so this allocation is small whatever the dump says.
        let mut text = vec![0u8; len as usize];
        if let Err(e) = mem.read(block_addr + 8, &mut text) {
            self.tallies
                .unreadable
                .note(|| format!("text of {id:#x} at {:#x}: {e}", block_addr + 8));
            return Step::Skip(1);
        }
        rec.text = text;
        Step::Record(rec)
    }
}
