//! The two fixed headers of a kdump-compressed dump: `struct disk_dump_header` (block 0) and
//! `struct kdump_sub_header` (block 1), as makedumpfile's `diskdump_mod.h` declares them.
//!
//! Only the LP64 layout is decoded (x86_64, aarch64, ppc64, s390x, riscv64 dumps). 32-bit
//! dumps lay `struct timeval` and `unsigned long` out in 4 bytes and their 64-bit members are
//! packed or padded depending on the ABI (libkdumpfile carries two 32-bit variants); they are
//! refused with [`Error::Unsupported`] rather than misread.

use kdump_types::Bytes;
use kdump_types::kdump::{disk_dump_header as dh, kdump_sub_header as sh};

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

/// `sizeof(struct disk_dump_header)` on LP64.
pub const DISK_DUMP_HEADER_SIZE: u64 = dh::SIZE;
/// `sizeof(struct kdump_sub_header)` on LP64 (header version 6).
pub const KDUMP_SUB_HEADER_SIZE: u64 = sh::SIZE;
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

/// True for a `utsname.machine` of a 32-bit architecture, whose header layout differs.
fn is_32bit_machine(m: &str) -> bool {
    matches!(
        m,
        "i386" | "i486" | "i586" | "i686" | "arm" | "ppc" | "mips" | "s390" | "sh" | "sparc"
    ) || (m.starts_with("armv") && !m.starts_with("armv8"))
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
        let h = DiskDumpHeader {
            signature,
            header_version: b.read_u32("disk_dump_header.header_version", dh::HEADER_VERSION)?,
            sysname: uts_field(&b, 0)?,
            nodename: uts_field(&b, 1)?,
            release: uts_field(&b, 2)?,
            version: uts_field(&b, 3)?,
            machine: uts_field(&b, 4)?,
            domainname: uts_field(&b, 5)?,
            timestamp_sec: b.read_i64("disk_dump_header.timestamp.tv_sec", dh::TIMESTAMP_SEC)?,
            timestamp_usec: b.read_i64("disk_dump_header.timestamp.tv_usec", dh::TIMESTAMP_USEC)?,
            status: b.read_u32("disk_dump_header.status", dh::STATUS)?,
            block_size: b.read_u32("disk_dump_header.block_size", dh::BLOCK_SIZE)?,
            sub_hdr_size: b.read_u32("disk_dump_header.sub_hdr_size", dh::SUB_HDR_SIZE)?,
            bitmap_blocks: b.read_u32("disk_dump_header.bitmap_blocks", dh::BITMAP_BLOCKS)?,
            max_mapnr: b.read_u32("disk_dump_header.max_mapnr", dh::MAX_MAPNR)?,
            total_ram_blocks: b
                .read_u32("disk_dump_header.total_ram_blocks", dh::TOTAL_RAM_BLOCKS)?,
            device_blocks: b.read_u32("disk_dump_header.device_blocks", dh::DEVICE_BLOCKS)?,
            written_blocks: b.read_u32("disk_dump_header.written_blocks", dh::WRITTEN_BLOCKS)?,
            current_cpu: b.read_u32("disk_dump_header.current_cpu", dh::CURRENT_CPU)?,
            nr_cpus: b.read_u32("disk_dump_header.nr_cpus", dh::NR_CPUS)?,
        };
        let base = b.base();
        // A big-endian writer (ppc64, s390x) stores every field byte-swapped: a block size and a
        // version that only make sense swapped name the byte order, not a bad field.
        let page_size_ok = |v: u32| v.is_power_of_two() && (512..=(1 << 18)).contains(&v);
        let swapped_block = h.block_size.swap_bytes();
        if !page_size_ok(h.block_size)
            && page_size_ok(swapped_block)
            && (1..=16).contains(&h.header_version.swap_bytes())
        {
            return Err(Error::Unsupported {
                what: "big-endian kdump-compressed dump",
                offset: base + dh::BLOCK_SIZE,
                detail: format!(
                    "block_size reads {:#x} little-endian but {swapped_block:#x} big-endian (utsname.machine {:?}); only little-endian dumps are read (docs/kdump.md)",
                    h.block_size, h.machine
                ),
            });
        }
        if h.header_version == 0 {
            return Err(Error::bad(
                "disk_dump_header.header_version",
                base + dh::HEADER_VERSION,
                0,
                "version 0 was never written by makedumpfile or QEMU",
            ));
        }
        if is_32bit_machine(&h.machine) {
            return Err(Error::Unsupported {
                what: "kdump-compressed dump of a 32-bit machine",
                offset: base + dh::UTSNAME + dh::UTS_MACHINE * dh::UTS_LEN,
                detail: format!(
                    "utsname.machine is {:?}; only the LP64 header layout is decoded",
                    h.machine
                ),
            });
        }
        // Pages are at least 512 bytes on every architecture Linux supports and at most
        // 256 KiB (hexagon); a power of two is required because PFN = address / block_size.
        if !page_size_ok(h.block_size) {
            return Err(Error::bad(
                "disk_dump_header.block_size",
                base + dh::BLOCK_SIZE,
                u64::from(h.block_size),
                "not a power of two between 512 and 256 KiB",
            ));
        }
        Ok(h)
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
    /// Bytes of the sub-header that `version` defines (an old dump's sub-header is shorter).
    pub fn size_for(version: u32) -> u64 {
        match version {
            1 => 12,
            2 => 32,
            3 => 48,
            4 => 64,
            5 => 80,
            _ => KDUMP_SUB_HEADER_SIZE,
        }
    }

    /// Decode the sub-header from `b` (starting at the sub-header, based at its file offset),
    /// reading only the fields that `version` defines.
    pub fn parse(b: &Bytes<'_>, version: u32) -> Result<KdumpSubHeader> {
        let b = b.sub("kdump_sub_header", 0, Self::size_for(version))?;
        let u64_if = |min: u32, what: &'static str, off: u64| -> Result<Option<u64>> {
            if version >= min {
                Ok(Some(b.read_u64(what, off)?))
            } else {
                Ok(None)
            }
        };
        Ok(KdumpSubHeader {
            phys_base: b.read_u64("kdump_sub_header.phys_base", sh::PHYS_BASE)?,
            dump_level: b.read_u32("kdump_sub_header.dump_level", sh::DUMP_LEVEL)?,
            split: if version >= 2 {
                Some(b.read_u32("kdump_sub_header.split", sh::SPLIT)?)
            } else {
                None
            },
            start_pfn: u64_if(2, "kdump_sub_header.start_pfn", sh::START_PFN)?,
            end_pfn: u64_if(2, "kdump_sub_header.end_pfn", sh::END_PFN)?,
            offset_vmcoreinfo: u64_if(
                3,
                "kdump_sub_header.offset_vmcoreinfo",
                sh::OFFSET_VMCOREINFO,
            )?,
            size_vmcoreinfo: u64_if(3, "kdump_sub_header.size_vmcoreinfo", sh::SIZE_VMCOREINFO)?,
            offset_note: u64_if(4, "kdump_sub_header.offset_note", sh::OFFSET_NOTE)?,
            size_note: u64_if(4, "kdump_sub_header.size_note", sh::SIZE_NOTE)?,
            offset_eraseinfo: u64_if(5, "kdump_sub_header.offset_eraseinfo", sh::OFFSET_ERASEINFO)?,
            size_eraseinfo: u64_if(5, "kdump_sub_header.size_eraseinfo", sh::SIZE_ERASEINFO)?,
            start_pfn_64: u64_if(6, "kdump_sub_header.start_pfn_64", sh::START_PFN_64)?,
            end_pfn_64: u64_if(6, "kdump_sub_header.end_pfn_64", sh::END_PFN_64)?,
            max_mapnr_64: u64_if(6, "kdump_sub_header.max_mapnr_64", sh::MAX_MAPNR_64)?,
        })
    }
}
