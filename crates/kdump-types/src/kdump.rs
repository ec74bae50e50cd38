//! Field offsets of makedumpfile's two fixed kdump-compressed headers (`diskdump_mod.h`, LP64
//! layout), named once for the reader (`vmcore::kdump`) and the generator (`testgen`).
//! Little-endian, like the ELF layer; `vmcore` refuses a byte-swapped header by name.

/// `struct disk_dump_header` (464 bytes at file offset 0).
pub mod disk_dump_header {
    /// `signature[8]`: `"KDUMP   "`.
    pub const SIGNATURE: u64 = 0;
    /// `header_version`.
    pub const HEADER_VERSION: u64 = 8;
    /// `utsname`: six fields of [`UTS_LEN`] bytes (sysname, nodename, release, version,
    /// machine, domainname).
    pub const UTSNAME: u64 = 12;
    /// Length of one `new_utsname` field.
    pub const UTS_LEN: u64 = 65;
    /// Index of `utsname.machine` among the six fields.
    pub const UTS_MACHINE: u64 = 4;
    /// `timestamp.tv_sec`.
    pub const TIMESTAMP_SEC: u64 = 408;
    /// `timestamp.tv_usec`.
    pub const TIMESTAMP_USEC: u64 = 416;
    /// `status` (`DUMP_DH_*`).
    pub const STATUS: u64 = 424;
    /// `block_size`.
    pub const BLOCK_SIZE: u64 = 428;
    /// `sub_hdr_size` (blocks).
    pub const SUB_HDR_SIZE: u64 = 432;
    /// `bitmap_blocks`.
    pub const BITMAP_BLOCKS: u64 = 436;
    /// `max_mapnr` (32-bit copy).
    pub const MAX_MAPNR: u64 = 440;
    /// `total_ram_blocks`.
    pub const TOTAL_RAM_BLOCKS: u64 = 444;
    /// `device_blocks`.
    pub const DEVICE_BLOCKS: u64 = 448;
    /// `written_blocks`.
    pub const WRITTEN_BLOCKS: u64 = 452;
    /// `current_cpu`.
    pub const CURRENT_CPU: u64 = 456;
    /// `nr_cpus`.
    pub const NR_CPUS: u64 = 460;
    /// `sizeof(struct disk_dump_header)`.
    pub const SIZE: u64 = 464;
}

/// `struct kdump_sub_header` (at file offset `block_size`; 104 bytes in version 6).
pub mod kdump_sub_header {
    /// `phys_base`.
    pub const PHYS_BASE: u64 = 0;
    /// `dump_level`.
    pub const DUMP_LEVEL: u64 = 8;
    /// `split` (v2+).
    pub const SPLIT: u64 = 12;
    /// `start_pfn` (v2+).
    pub const START_PFN: u64 = 16;
    /// `end_pfn` (v2+).
    pub const END_PFN: u64 = 24;
    /// `offset_vmcoreinfo` (v3+).
    pub const OFFSET_VMCOREINFO: u64 = 32;
    /// `size_vmcoreinfo` (v3+).
    pub const SIZE_VMCOREINFO: u64 = 40;
    /// `offset_note` (v4+).
    pub const OFFSET_NOTE: u64 = 48;
    /// `size_note` (v4+).
    pub const SIZE_NOTE: u64 = 56;
    /// `offset_eraseinfo` (v5+).
    pub const OFFSET_ERASEINFO: u64 = 64;
    /// `size_eraseinfo` (v5+).
    pub const SIZE_ERASEINFO: u64 = 72;
    /// `start_pfn_64` (v6+).
    pub const START_PFN_64: u64 = 80;
    /// `end_pfn_64` (v6+).
    pub const END_PFN_64: u64 = 88;
    /// `max_mapnr_64` (v6+).
    pub const MAX_MAPNR_64: u64 = 96;
    /// `sizeof(struct kdump_sub_header)` (version 6).
    pub const SIZE: u64 = 104;
}
