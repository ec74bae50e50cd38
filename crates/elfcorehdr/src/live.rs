//! The live machine: the header the running kernel holds (read through `/proc/kcore`) and the
//! kernel's uevent socket (NETLINK_KOBJECT_UEVENT); the messages are parsed in
//! [`crate::uevent`].

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use kdump_types::elf::{EHDR64_SIZE, PHDR64_SIZE, PT_LOAD};
use kdump_types::{Bytes, PhysRange};

use crate::error::{Error, Result};
use crate::raw::{ElfHeader, ProgramHeader};
use crate::state::SystemState;

/// Reads the elfcorehdr the running kernel holds: it sits at the start of "Crash kernel"
/// (`crashk_res.start`, where x86 places it), which `/proc/kcore` maps through the direct map at
/// `page_offset_base + pa`. Reads `len` bytes (use the reserved segment size, e.g.
/// [`SystemState::segment_capacity`]). Needs root; `kcore` is normally `/proc/kcore`.
pub fn read_live_header(kcore: &Path, state: &SystemState, len: usize) -> Result<Vec<u8>> {
    let ck = state.crash_kernel.ok_or_else(|| Error::InvalidState {
        what: "no \"Crash kernel\" region in /proc/iomem: no kdump kernel memory reserved".into(),
    })?;
    let len = len.min(usize::try_from(ck.len()).unwrap_or(usize::MAX));
    let va = ck.start.0.wrapping_add(state.page_offset_base.0);
    let mut f = std::fs::File::open(kcore).map_err(|e| Error::io(kcore, e))?;
    let mut head = [0u8; EHDR64_SIZE];
    f.read_exact(&mut head).map_err(|e| Error::io(kcore, e))?;
    let h = ElfHeader::decode(&head);
    let table_len = usize::from(h.e_phnum) * PHDR64_SIZE;
    // e_phnum is a u16: at most ~3.6 MiB.
    let mut table = vec![0u8; table_len];
    f.seek(SeekFrom::Start(h.e_phoff))
        .map_err(|e| Error::io(kcore, e))?;
    f.read_exact(&mut table).map_err(|e| Error::io(kcore, e))?;
    let tb = Bytes::new(&table, h.e_phoff);
    for i in 0..u64::from(h.e_phnum) {
        let p = ProgramHeader::read(&tb, i * PHDR64_SIZE as u64)?;
        let seg = PhysRange::from_start_len(p.p_vaddr, p.p_memsz);
        if p.p_type != PT_LOAD || !seg.contains(va) {
            continue;
        }
        let avail = usize::try_from(seg.end.0 - va).unwrap_or(usize::MAX);
        let mut out = vec![0u8; len.min(avail)];
        let off = p.p_offset.saturating_add(va - p.p_vaddr);
        f.seek(SeekFrom::Start(off))
            .map_err(|e| Error::io(kcore, e))?;
        f.read_exact(&mut out).map_err(|e| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                // kcore serves only what the kernel maps: a crash kernel region without a
                // loaded image reads short.
                Error::InvalidState {
                    what: format!(
                        "{}: the {} bytes at {va:#x} (Crash kernel start {:#x}) read short: no \
                         elfcorehdr is there (is a crash kernel loaded? see \
                         /sys/kernel/kexec_crash_loaded)",
                        kcore.display(),
                        out.len(),
                        ck.start
                    ),
                }
            } else {
                Error::io(kcore, e)
            }
        })?;
        return Ok(out);
    }
    Err(Error::InvalidState {
        what: format!(
            "{}: no PT_LOAD maps the direct-map address {va:#x} of Crash kernel start {:#x}",
            kcore.display(),
            ck.start
        ),
    })
}

/// Kernel uevents are parsed in [`crate::uevent`]; the type stays reachable here too.
pub use crate::uevent::Uevent;

/// A NETLINK_KOBJECT_UEVENT socket subscribed to the kernel's broadcast group.
#[derive(Debug)]
pub struct UeventSocket {
    fd: std::os::fd::OwnedFd,
}

impl UeventSocket {
    /// Opens and binds the socket (group 1 = kernel uevents). Needs no privilege to listen.
    #[allow(unsafe_code)]
    pub fn open() -> std::io::Result<UeventSocket> {
        use std::os::fd::FromRawFd;
        // SAFETY: plain socket(2) call with constant arguments; the result is checked before use.
        let fd = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_DGRAM | libc::SOCK_CLOEXEC,
                libc::NETLINK_KOBJECT_UEVENT,
            )
        };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: fd is a fresh, valid descriptor we own; OwnedFd closes it exactly once.
        let fd = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) };
        // SAFETY: sockaddr_nl is plain old data; all-zero is a valid value to start from.
        let mut addr: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        addr.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        addr.nl_groups = 1;
        use std::os::fd::AsRawFd;
        // SAFETY: addr is a valid sockaddr_nl and the length passed is its size.
        let rc = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&addr as *const libc::sockaddr_nl).cast::<libc::sockaddr>(),
                std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(UeventSocket { fd })
    }

    /// Blocks for the next message; returns the bytes received in `buf`.
    #[allow(unsafe_code)]
    pub fn recv<'b>(&self, buf: &'b mut [u8]) -> std::io::Result<&'b [u8]> {
        use std::os::fd::AsRawFd;
        // SAFETY: buf is valid for writes of buf.len() bytes for the duration of the call.
        let n = unsafe { libc::recv(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
        if n < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let n = usize::try_from(n).unwrap_or(0).min(buf.len());
        Ok(&buf[..n])
    }
}
