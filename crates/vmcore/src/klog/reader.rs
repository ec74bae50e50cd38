//! What both log decoders read with: a page cache over kernel virtual memory, checked
//! vmcoreinfo keys, and tallies that turn a corrupt ring into one finding per kind of problem.

use kdump_types::{Bytes, Finding, FindingCode, VirtAddr};

use super::{KernelReader, MAX_STRUCT_SIZE};
use crate::error::{Error, Result};
use crate::vmcoreinfo::VmcoreInfo;

/// Reads kernel memory a page at a time through a small fixed-size cache, so that decoding a
/// ring (thousands of small descriptor reads) costs one underlying read per page, and no
/// allocation depends on sizes read from the dump.
pub(super) struct PageCache<'a> {
    read: KernelReader<'a>,
    slots: Vec<Option<(u64, Box<[u8; PAGE]>)>>,
    /// Pages none of whose bytes can be read (direct-mapped): a walk over unreadable memory
    /// (a hostile ring's descriptors) then costs a table lookup per access, not two failed
    /// reads that each format an error.
    unreadable: Vec<Option<u64>>,
}

pub(super) const PAGE: usize = 4096;
const CACHE_SLOTS: usize = 128;

impl<'a> PageCache<'a> {
    pub(super) fn new(read: KernelReader<'a>) -> Self {
        PageCache {
            read,
            slots: (0..CACHE_SLOTS).map(|_| None).collect(),
            unreadable: vec![None; CACHE_SLOTS],
        }
    }

    pub(super) fn read(&mut self, va: u64, buf: &mut [u8]) -> Result<()> {
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

    pub(super) fn u64_at(&mut self, va: u64) -> Result<u64> {
        let mut b = [0u8; 8];
        self.read(va, &mut b)?;
        Ok(u64::from_le_bytes(b))
    }
    pub(super) fn u32_at(&mut self, va: u64) -> Result<u32> {
        let mut b = [0u8; 4];
        self.read(va, &mut b)?;
        Ok(u32::from_le_bytes(b))
    }
}

/// Counts one kind of problem over a walk and keeps the first example, so a corrupt ring
/// yields one finding per kind instead of thousands.
pub(super) struct Tally {
    code: FindingCode,
    summary: &'static str,
    count: u64,
    first: Option<String>,
}

impl Tally {
    pub(super) fn new(code: FindingCode, summary: &'static str) -> Self {
        Tally {
            code,
            summary,
            count: 0,
            first: None,
        }
    }
    pub(super) fn note(&mut self, detail: impl FnOnce() -> String) {
        self.note_n(1, detail);
    }
    pub(super) fn note_n(&mut self, n: u64, detail: impl FnOnce() -> String) {
        self.count += n;
        if self.first.is_none() {
            self.first = Some(detail());
        }
    }
    pub(super) fn finish(self, out: &mut Vec<Finding>) {
        if let Some(first) = self.first {
            out.push(self.code.finding(
                None,
                format!("{} {}; first: {first}", self.count, self.summary),
            ));
        }
    }
}

/// Turns a failed read of `what` at `addr`, part of `structure`, into the error both decoders
/// give (the structure named, the field and its address).
pub(super) fn cannot_read(
    structure: &'static str,
    what: &'static str,
    addr: u64,
) -> impl FnOnce(Error) -> Error {
    move |e| Error::Corrupt {
        what: structure,
        detail: format!("cannot read {what} at {addr:#x}: {e}"),
    }
}

pub(super) fn key<T>(v: Option<T>, key: &str) -> Result<T> {
    v.ok_or_else(|| Error::MissingVmcoreinfo { key: key.into() })
}
pub(super) fn size_key(info: &VmcoreInfo, name: &str) -> Result<u64> {
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
pub(super) fn off_key(info: &VmcoreInfo, name: &str) -> Result<u64> {
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
pub(super) fn member_key(
    info: &VmcoreInfo,
    name: &str,
    width: u64,
    size: u64,
) -> Result<Option<u64>> {
    let v = off_key(info, name)?;
    Ok((v + width <= size).then_some(v))
}

/// The member at `off` of `view` (a structure read whole), or 0 when [`member_key`] found it
/// outside the structure.
pub(super) fn member_u64(view: &Bytes<'_>, what: &'static str, off: Option<u64>) -> Result<u64> {
    Ok(match off {
        Some(o) => view.read_u64(what, o)?,
        None => 0,
    })
}

/// Like [`member_u64`], for a `u16` member.
pub(super) fn member_u16(view: &Bytes<'_>, what: &'static str, off: Option<u64>) -> Result<u16> {
    Ok(match off {
        Some(o) => view.read_u16(what, o)?,
        None => 0,
    })
}

pub(super) fn c_string(bytes: &[u8]) -> Option<String> {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    (end > 0).then(|| String::from_utf8_lossy(&bytes[..end]).into_owned())
}
