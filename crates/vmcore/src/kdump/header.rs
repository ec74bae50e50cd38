//! The two fixed headers of a kdump-compressed dump: `struct disk_dump_header` (block 0) and
//! `struct kdump_sub_header` (block 1), as makedumpfile's `diskdump_mod.h` declares them.
//!
//! Three layouts of the same declarations ([`HeaderAbi`]): LP64 (x86_64, aarch64, ppc64,
//! s390x, riscv64 dumps), and 32-bit dumps, which lay `struct timeval` and `unsigned long` out
//! in 4 bytes and whose 64-bit sub-header members are packed (IA-32) or padded to 8 (other
//! 32-bit ABIs), as libkdumpfile reads them.

pub use kdump_types::kdump::HeaderAbi;
use kdump_types::kdump::disk_dump_header as dh;
use kdump_types::{ByteOrder, Bytes};

use crate::error::{Error, Result};

/// `DUMP_DH_COMPRESSED_ZLIB`: pages compressed with zlib (`compress2`).
pub const DUMP_DH_COMPRESSED_ZLIB: u32 = 0x1;
/// `DUMP_DH_COMPRESSED_LZO`: pages compressed with LZO1X.
pub const DUMP_DH_COMPRESSED_LZO: u32 = 0x2;
/// `DUMP_DH_COMPRESSED_SNAPPY`: pages compressed with snappy (raw format).
pub const DUMP_DH_COMPRESSED_SNAPPY: u32 = 0x4;
/// `DUMP_DH_COMPRESSED_INCOMPLETE`: makedumpfile stopped early (ENOSPC); `status` only.
pub const DUMP_DH_COMPRESSED_INCOMPLETE: u32 = 0x8;
/// `DUMP_DH_EXCLUDED_VMEMMAP`: unused vmemmap pages were excluded (`-e`); `status` only.
/// Listed so this table names every `status` bit makedumpfile writes; nothing decides on it.
#[allow(dead_code)]
pub const DUMP_DH_EXCLUDED_VMEMMAP: u32 = 0x10;
/// `DUMP_DH_COMPRESSED_ZSTD`: pages compressed with zstd.
pub const DUMP_DH_COMPRESSED_ZSTD: u32 = 0x20;

/// Every compression bit (valid in both `status` and `page_desc.flags`).
pub const COMPRESSION_MASK: u32 = DUMP_DH_COMPRESSED_ZLIB
    | DUMP_DH_COMPRESSED_LZO
    | DUMP_DH_COMPRESSED_SNAPPY
    | DUMP_DH_COMPRESSED_ZSTD;

/// `sizeof(struct disk_dump_header)` on LP64 (the 32-bit header is shorter; this many bytes
/// are read either way: block 0 is at least 512 bytes).
pub const DISK_DUMP_HEADER_SIZE: u64 = dh::SIZE;

/// Highest `header_version` we know (makedumpfile has written 6 since 1.5.0).
pub const MAX_KNOWN_VERSION: u32 = 6;

const UTS_LEN: usize = dh::UTS_LEN as usize;

/// Name of the compression method of a `status` or `page_desc.flags` value.
pub fn compression_name(flags: u32) -> &'static str {
    // makedumpfile tests the methods in this order when it fills `status`.
    if flags & DUMP_DH_COMPRESSED_ZLIB != 0 {
        "zlib"
    } else if flags & DUMP_DH_COMPRESSED_LZO != 0 {
        "lzo"
    } else if flags & DUMP_DH_COMPRESSED_SNAPPY != 0 {
        "snappy"
    } else if flags & DUMP_DH_COMPRESSED_ZSTD != 0 {
        "zstd"
    } else {
        "none"
    }
}

/// `struct disk_dump_header` (LP64 layout, 464 bytes at file offset 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskDumpHeader {
    /// `signature`: `"KDUMP   "`.
    pub signature: [u8; 8],
    /// `header_version`: 1..=6; decides which sub-header fields exist.
    pub header_version: u32,
    /// `utsname.sysname`.
    pub sysname: String,
    /// `utsname.nodename`.
    pub nodename: String,
    /// `utsname.release`.
    pub release: String,
    /// `utsname.version`.
    pub version: String,
    /// `utsname.machine`: the architecture (`x86_64`, `aarch64`, …).
    pub machine: String,
    /// `utsname.domainname`.
    pub domainname: String,
    /// `timestamp.tv_sec`.
    pub timestamp_sec: i64,
    /// `timestamp.tv_usec`.
    pub timestamp_usec: i64,
    /// `status`: `DUMP_DH_*` flags (compression, incomplete, excluded vmemmap).
    pub status: u32,
    /// `block_size`: the page size; every region before the page data is block-aligned.
    pub block_size: u32,
    /// `sub_hdr_size`: blocks of the sub-header (and the note copy that follows it).
    pub sub_hdr_size: u32,
    /// `bitmap_blocks`: blocks of both bitmaps together.
    pub bitmap_blocks: u32,
    /// `max_mapnr`: obsolete 32-bit copy of the PFN limit (`MIN(max_mapnr, UINT_MAX)`).
    pub max_mapnr: u32,
    /// `total_ram_blocks`: unused by makedumpfile (0).
    pub total_ram_blocks: u32,
    /// `device_blocks`: unused by makedumpfile (0).
    pub device_blocks: u32,
    /// `written_blocks`: unused by makedumpfile (0).
    pub written_blocks: u32,
    /// `current_cpu`: unused by makedumpfile (0).
    pub current_cpu: u32,
    /// `nr_cpus`: number of `NT_PRSTATUS` notes.
    pub nr_cpus: u32,
    /// The word layout both headers were written in (from `utsname.machine`).
    pub abi: HeaderAbi,
    /// The byte order every field (and the page descriptors and notes) was written in.
    pub byte_order: ByteOrder,
}

fn uts_field(b: &Bytes<'_>, index: u64) -> Result<String> {
    let raw = b.slice(
        "disk_dump_header.utsname",
        dh::UTSNAME + index * dh::UTS_LEN,
        UTS_LEN as u64,
    )?;
    let end = raw.iter().position(|&c| c == 0).unwrap_or(raw.len());
    Ok(String::from_utf8_lossy(&raw[..end]).into_owned())
}

impl DiskDumpHeader {
    /// Decode the header from `b`, the first [`DISK_DUMP_HEADER_SIZE`] bytes of the image
    /// (with their absolute file offset as base).
    pub fn parse(b: &Bytes<'_>) -> Result<DiskDumpHeader> {
        let b = b.sub("disk_dump_header", 0, DISK_DUMP_HEADER_SIZE)?;
        let signature: [u8; 8] = b.array("disk_dump_header.signature", dh::SIGNATURE)?;
        if &signature != b"KDUMP   " {
            return Err(Error::bad(
                "disk_dump_header.signature",
                b.base(),
                u64::from_le_bytes(signature),
                "not \"KDUMP   \"",
            ));
        }
        let machine = uts_field(&b, dh::UTS_MACHINE)?;
        // A 32-bit machine's makedumpfile lays the header out with its own word size.
        let abi = HeaderAbi::of_machine(&machine);
        let l = abi.disk_dump_header();
        // The header names no byte order. A big-endian writer (ppc64, s390x) stores every field
        // byte-swapped, so, as libkdumpfile decides it, the order is the one in which
        // block_size is a page size: little-endian first, else big-endian.
        let page_size_ok = |v: u32| v.is_power_of_two() && (512..=(1 << 18)).contains(&v);
        let le_block = b.read_u32("disk_dump_header.block_size", l.block_size)?;
        let byte_order = if !page_size_ok(le_block) && page_size_ok(le_block.swap_bytes()) {
            ByteOrder::Big
        } else {
            ByteOrder::Little
        };
        let b = b.with_order(byte_order);
        let timeval = |what, off| -> Result<i64> {
            Ok(if l.timeval_width == 8 {
                b.read_i64(what, off)?
            } else {
                i64::from(b.read_u32(what, off)? as i32)
            })
        };
        let h = DiskDumpHeader {
            signature,
            header_version: b.read_u32("disk_dump_header.header_version", dh::HEADER_VERSION)?,
            sysname: uts_field(&b, 0)?,
            nodename: uts_field(&b, 1)?,
            release: uts_field(&b, 2)?,
            version: uts_field(&b, 3)?,
            machine,
            domainname: uts_field(&b, 5)?,
            timestamp_sec: timeval("disk_dump_header.timestamp.tv_sec", l.timestamp_sec)?,
            timestamp_usec: timeval("disk_dump_header.timestamp.tv_usec", l.timestamp_usec)?,
            status: b.read_u32("disk_dump_header.status", l.status)?,
            block_size: b.read_u32("disk_dump_header.block_size", l.block_size)?,
            sub_hdr_size: b.read_u32("disk_dump_header.sub_hdr_size", l.sub_hdr_size)?,
            bitmap_blocks: b.read_u32("disk_dump_header.bitmap_blocks", l.bitmap_blocks)?,
            max_mapnr: b.read_u32("disk_dump_header.max_mapnr", l.max_mapnr)?,
            total_ram_blocks: b
                .read_u32("disk_dump_header.total_ram_blocks", l.total_ram_blocks)?,
            device_blocks: b.read_u32("disk_dump_header.device_blocks", l.device_blocks)?,
            written_blocks: b.read_u32("disk_dump_header.written_blocks", l.written_blocks)?,
            current_cpu: b.read_u32("disk_dump_header.current_cpu", l.current_cpu)?,
            nr_cpus: b.read_u32("disk_dump_header.nr_cpus", l.nr_cpus)?,
            abi,
            byte_order,
        };
        let base = b.base();
        if h.header_version == 0 {
            return Err(Error::bad(
                "disk_dump_header.header_version",
                base + dh::HEADER_VERSION,
                0,
                "version 0 was never written by makedumpfile or QEMU",
            ));
        }
        // Pages are at least 512 bytes on every architecture Linux supports and at most
        // 256 KiB (hexagon); a power of two is required because PFN = address / block_size.
        if !page_size_ok(h.block_size) {
            return Err(Error::bad(
                "disk_dump_header.block_size",
                base + l.block_size,
                u64::from(h.block_size),
                "not a power of two between 512 and 256 KiB",
            ));
        }
        Ok(h)
    }
}

impl DiskDumpHeader {
    /// The layout of the sub-header in `sub` (its bytes, at least as many as a padded 32-bit
    /// sub-header of this version has). 64-bit dumps have one layout. A 32-bit writer packs
    /// the 64-bit members at 4-byte alignment (IA-32) or pads them to 8; `utsname.machine`
    /// alone does not say which ABI makedumpfile was built for, so the layout is the one
    /// whose `offset_vmcoreinfo`/`size_vmcoreinfo` make sense, as libkdumpfile decides it:
    /// packed when they are both zero or point inside the sub-header blocks, else padded.
    /// Versions before 3 have no such field and lay out alike.
    pub fn sub_header_abi(&self, sub: &Bytes<'_>) -> HeaderAbi {
        if self.abi == HeaderAbi::Lp64 || self.header_version < 3 {
            return self.abi;
        }
        // A file that ends before a padded sub-header would (the reader then reads the
        // packed size only) was written packed.
        if (sub.len() as u64)
            < HeaderAbi::Ilp32Padded
                .sub_header()
                .size_for(self.header_version)
        {
            return HeaderAbi::Ilp32Packed;
        }
        let packed = HeaderAbi::Ilp32Packed.sub_header();
        let off = sub.read_u64(
            "kdump_sub_header.offset_vmcoreinfo",
            packed.offset_vmcoreinfo,
        );
        let size = sub.read_u32("kdump_sub_header.size_vmcoreinfo", packed.size_vmcoreinfo);
        let (Ok(off), Ok(size)) = (off, size) else {
            return HeaderAbi::Ilp32Padded;
        };
        let bs = u64::from(self.block_size);
        let payload = bs.saturating_mul(1 + u64::from(self.sub_hdr_size));
        let inside = off > bs
            && off
                .checked_add(u64::from(size))
                .is_some_and(|e| e <= payload);
        if (off == 0 && size == 0) || inside {
            HeaderAbi::Ilp32Packed
        } else {
            HeaderAbi::Ilp32Padded
        }
    }
}

/// `struct kdump_sub_header` (LP64 layout, at file offset `block_size`). Fields that the
/// header version does not have are `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KdumpSubHeader {
    /// `phys_base`: physical load offset of the kernel (x86_64 relocatable kernels).
    pub phys_base: u64,
    /// `dump_level`: makedumpfile `-d` bit mask of excluded page types (v1+).
    pub dump_level: u32,
    /// `split`: 1 when this file is one part of a `--split` set (v2+).
    pub split: Option<u32>,
    /// `start_pfn`: obsolete 32-bit first PFN of a split part (v2+).
    pub start_pfn: Option<u64>,
    /// `end_pfn`: obsolete 32-bit end PFN of a split part (v2+).
    pub end_pfn: Option<u64>,
    /// `offset_vmcoreinfo`: file offset of the VMCOREINFO text (v3+).
    pub offset_vmcoreinfo: Option<u64>,
    /// `size_vmcoreinfo` (v3+).
    pub size_vmcoreinfo: Option<u64>,
    /// `offset_note`: file offset of the copy of the ELF note segment (v4+).
    pub offset_note: Option<u64>,
    /// `size_note` (v4+).
    pub size_note: Option<u64>,
    /// `offset_eraseinfo`: file offset of the erase-info text (v5+).
    pub offset_eraseinfo: Option<u64>,
    /// `size_eraseinfo` (v5+).
    pub size_eraseinfo: Option<u64>,
    /// `start_pfn_64`: first PFN of a split part (v6+).
    pub start_pfn_64: Option<u64>,
    /// `end_pfn_64`: end PFN of a split part (v6+).
    pub end_pfn_64: Option<u64>,
    /// `max_mapnr_64`: the full 64-bit PFN limit (v6+).
    pub max_mapnr_64: Option<u64>,
}

impl KdumpSubHeader {
    /// Decode the sub-header from `b` (starting at the sub-header, based at its file offset),
    /// reading only the fields that `version` defines, in the layout of `abi`.
    pub fn parse(b: &Bytes<'_>, version: u32, abi: HeaderAbi) -> Result<KdumpSubHeader> {
        let l = abi.sub_header();
        let b = b.sub("kdump_sub_header", 0, l.size_for(version))?;
        // `unsigned long` members are as wide as the writer's word.
        let word = |what: &'static str, off: u64| -> Result<u64> {
            Ok(if l.word == 8 {
                b.read_u64(what, off)?
            } else {
                u64::from(b.read_u32(what, off)?)
            })
        };
        let word_if = |min: u32, what: &'static str, off: u64| -> Result<Option<u64>> {
            (version >= min).then(|| word(what, off)).transpose()
        };
        let u64_if = |min: u32, what: &'static str, off: u64| -> Result<Option<u64>> {
            (version >= min)
                .then(|| Ok(b.read_u64(what, off)?))
                .transpose()
        };
        Ok(KdumpSubHeader {
            phys_base: word("kdump_sub_header.phys_base", l.phys_base)?,
            dump_level: b.read_u32("kdump_sub_header.dump_level", l.dump_level)?,
            split: if version >= 2 {
                Some(b.read_u32("kdump_sub_header.split", l.split)?)
            } else {
                None
            },
            start_pfn: word_if(2, "kdump_sub_header.start_pfn", l.start_pfn)?,
            end_pfn: word_if(2, "kdump_sub_header.end_pfn", l.end_pfn)?,
            offset_vmcoreinfo: u64_if(
                3,
                "kdump_sub_header.offset_vmcoreinfo",
                l.offset_vmcoreinfo,
            )?,
            size_vmcoreinfo: word_if(3, "kdump_sub_header.size_vmcoreinfo", l.size_vmcoreinfo)?,
            offset_note: u64_if(4, "kdump_sub_header.offset_note", l.offset_note)?,
            size_note: word_if(4, "kdump_sub_header.size_note", l.size_note)?,
            offset_eraseinfo: u64_if(5, "kdump_sub_header.offset_eraseinfo", l.offset_eraseinfo)?,
            size_eraseinfo: word_if(5, "kdump_sub_header.size_eraseinfo", l.size_eraseinfo)?,
            start_pfn_64: u64_if(6, "kdump_sub_header.start_pfn_64", l.start_pfn_64)?,
            end_pfn_64: u64_if(6, "kdump_sub_header.end_pfn_64", l.end_pfn_64)?,
            max_mapnr_64: u64_if(6, "kdump_sub_header.max_mapnr_64", l.max_mapnr_64)?,
        })
    }
}
