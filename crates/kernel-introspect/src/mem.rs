//! Kernel virtual memory as this crate reads it: one small trait, so that the decoders run over a
//! dump ([`vmcore::paging::VirtReader`]) in production and over a map of bytes in tests and fuzzing.

use crate::{Error, Result};

/// Reads kernel virtual memory. Implementations return an error naming the address when the
/// bytes are not in the dump (an unmapped page, a page makedumpfile excluded, a truncated file).
pub trait KernelMemory {
    /// Fill `buf` from kernel virtual address `addr`.
    fn read(&self, addr: u64, buf: &mut [u8]) -> Result<()>;

    /// A little-endian `u64` at `addr`.
    fn read_u64(&self, addr: u64) -> Result<u64> {
        let mut b = [0u8; 8];
        self.read(addr, &mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    /// A little-endian `u32` at `addr`.
    fn read_u32(&self, addr: u64) -> Result<u32> {
        let mut b = [0u8; 4];
        self.read(addr, &mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    /// A little-endian `u16` at `addr`.
    fn read_u16(&self, addr: u64) -> Result<u16> {
        let mut b = [0u8; 2];
        self.read(addr, &mut b)?;
        Ok(u16::from_le_bytes(b))
    }

    /// A byte at `addr`.
    fn read_u8(&self, addr: u64) -> Result<u8> {
        let mut b = [0u8; 1];
        self.read(addr, &mut b)?;
        Ok(b[0])
    }

    /// `len` bytes at `addr` into a new vector. The vector grows page by page as the reads
    /// succeed, so a wrong `len` costs at most what the dump really holds plus one page.
    fn read_vec(&self, addr: u64, len: usize) -> Result<Vec<u8>> {
        const CHUNK: usize = 64 * 1024;
        let mut out = Vec::with_capacity(len.min(CHUNK));
        let mut done = 0usize;
        while done < len {
            let n = (len - done).min(CHUNK);
            let at = addr
                .checked_add(done as u64)
                .ok_or(Error::AddressOverflow {
                    addr,
                    len: len as u64,
                })?;
            let start = out.len();
            out.resize(start + n, 0);
            self.read(at, &mut out[start..])?;
            done += n;
        }
        Ok(out)
    }

    /// A NUL-terminated string of at most `max` bytes at `addr` (lossy UTF-8).
    fn read_cstr(&self, addr: u64, max: usize) -> Result<String> {
        let mut buf = vec![0u8; max];
        // Read what can be read: a short string near the end of a mapping is fine.
        let mut n = max;
        while n > 0 {
            match self.read(addr, &mut buf[..n]) {
                Ok(()) => break,
                Err(e) if n <= 8 => return Err(e),
                Err(_) => n /= 2,
            }
        }
        let end = buf[..n].iter().position(|&b| b == 0).unwrap_or(n);
        Ok(String::from_utf8_lossy(&buf[..end]).into_owned())
    }
}

impl KernelMemory for vmcore::paging::VirtReader<'_> {
    fn read(&self, addr: u64, buf: &mut [u8]) -> Result<()> {
        vmcore::paging::VirtReader::read(self, vmcore::VirtAddr(addr), buf).map_err(|cause| {
            Error::Read {
                addr,
                len: buf.len() as u64,
                cause: Box::new(cause),
            }
        })
    }
}

/// Kernel memory made of a few byte ranges: for tests, fuzzing and synthetic kernels.
#[derive(Debug, Default, Clone)]
pub struct MemoryMap {
    ranges: Vec<(u64, Vec<u8>)>,
}

impl MemoryMap {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Map `bytes` at `addr`.
    pub fn insert(&mut self, addr: u64, bytes: Vec<u8>) {
        self.ranges.push((addr, bytes));
    }
}

impl KernelMemory for MemoryMap {
    fn read(&self, addr: u64, buf: &mut [u8]) -> Result<()> {
        // Later insertions win, so a test can patch a copy of real memory.
        for (start, bytes) in self.ranges.iter().rev() {
            let Some(off) = addr.checked_sub(*start) else {
                continue;
            };
            let Ok(off) = usize::try_from(off) else {
                continue;
            };
            if let Some(src) = off
                .checked_add(buf.len())
                .and_then(|end| bytes.get(off..end))
            {
                buf.copy_from_slice(src);
                return Ok(());
            }
        }
        Err(Error::Unmapped {
            addr,
            len: buf.len() as u64,
        })
    }
}
