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

/// How a dump writer's C ABI lays out the two headers. `struct timeval` and `unsigned long`
/// follow the word size, and on 32-bit ABIs the sub-header's 64-bit members are either packed
/// at 4-byte alignment (IA-32) or padded to 8 (AArch32, PowerPC, MIPS, …): three layouts of
/// the same declaration, as libkdumpfile reads them (`disk_dump_header_32`,
/// `kdump_sub_header_32pack`, `kdump_sub_header_32pad`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderAbi {
    /// 64-bit machines: the offsets of [`disk_dump_header`] and [`kdump_sub_header`].
    Lp64,
    /// IA-32: 4-byte `timeval` and `unsigned long`, 64-bit members 4-byte aligned.
    Ilp32Packed,
    /// Other 32-bit machines: 4-byte `timeval` and `unsigned long`, 64-bit members 8-byte
    /// aligned.
    Ilp32Padded,
}

/// Field offsets of `struct disk_dump_header` under one [`HeaderAbi`] (the fields before the
/// timestamp, signature to utsname, are the same in every layout).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiskDumpHeaderLayout {
    /// `timestamp.tv_sec`.
    pub timestamp_sec: u64,
    /// `timestamp.tv_usec`.
    pub timestamp_usec: u64,
    /// Bytes of each `timeval` member (8 or 4).
    pub timeval_width: u64,
    /// `status`.
    pub status: u64,
    /// `block_size`.
    pub block_size: u64,
    /// `sub_hdr_size`.
    pub sub_hdr_size: u64,
    /// `bitmap_blocks`.
    pub bitmap_blocks: u64,
    /// `max_mapnr`.
    pub max_mapnr: u64,
    /// `total_ram_blocks`.
    pub total_ram_blocks: u64,
    /// `device_blocks`.
    pub device_blocks: u64,
    /// `written_blocks`.
    pub written_blocks: u64,
    /// `current_cpu`.
    pub current_cpu: u64,
    /// `nr_cpus`.
    pub nr_cpus: u64,
    /// `sizeof(struct disk_dump_header)`.
    pub size: u64,
}

/// Field offsets of `struct kdump_sub_header` under one [`HeaderAbi`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubHeaderLayout {
    /// `phys_base` (an `unsigned long`: [`SubHeaderLayout::word`] bytes).
    pub phys_base: u64,
    /// `dump_level`.
    pub dump_level: u64,
    /// `split` (v2+).
    pub split: u64,
    /// `start_pfn` (v2+, an `unsigned long`).
    pub start_pfn: u64,
    /// `end_pfn` (v2+, an `unsigned long`).
    pub end_pfn: u64,
    /// `offset_vmcoreinfo` (v3+, an `off_t`: 8 bytes).
    pub offset_vmcoreinfo: u64,
    /// `size_vmcoreinfo` (v3+, an `unsigned long`).
    pub size_vmcoreinfo: u64,
    /// `offset_note` (v4+).
    pub offset_note: u64,
    /// `size_note` (v4+, an `unsigned long`).
    pub size_note: u64,
    /// `offset_eraseinfo` (v5+).
    pub offset_eraseinfo: u64,
    /// `size_eraseinfo` (v5+, an `unsigned long`).
    pub size_eraseinfo: u64,
    /// `start_pfn_64` (v6+).
    pub start_pfn_64: u64,
    /// `end_pfn_64` (v6+).
    pub end_pfn_64: u64,
    /// `max_mapnr_64` (v6+).
    pub max_mapnr_64: u64,
    /// Bytes of an `unsigned long` (8 or 4).
    pub word: u64,
    /// Bytes each header version defines, versions 1 to 6.
    pub size_by_version: [u64; 6],
}

impl SubHeaderLayout {
    /// Bytes of the sub-header that `version` defines (an old dump's is shorter).
    pub fn size_for(&self, version: u32) -> u64 {
        let i = version.clamp(1, 6) as usize - 1;
        self.size_by_version[i]
    }
}

impl HeaderAbi {
    /// The layout a dump of `utsname.machine` was written in: a 32-bit machine's kernel
    /// (and so its makedumpfile) uses its own word size.
    pub fn of_machine(machine: &str) -> HeaderAbi {
        let ia32 = matches!(machine, "i386" | "i486" | "i586" | "i686");
        let other32 = matches!(machine, "arm" | "ppc" | "mips" | "s390" | "sh" | "sparc")
            || (machine.starts_with("armv") && !machine.starts_with("armv8"));
        if ia32 {
            HeaderAbi::Ilp32Packed
        } else if other32 {
            HeaderAbi::Ilp32Padded
        } else {
            HeaderAbi::Lp64
        }
    }

    /// Short name for messages.
    pub fn name(self) -> &'static str {
        match self {
            HeaderAbi::Lp64 => "64-bit",
            HeaderAbi::Ilp32Packed => "32-bit (IA-32, packed)",
            HeaderAbi::Ilp32Padded => "32-bit (padded)",
        }
    }

    /// `struct disk_dump_header`.
    pub const fn disk_dump_header(self) -> DiskDumpHeaderLayout {
        use disk_dump_header as dh;
        match self {
            HeaderAbi::Lp64 => DiskDumpHeaderLayout {
                timestamp_sec: dh::TIMESTAMP_SEC,
                timestamp_usec: dh::TIMESTAMP_USEC,
                timeval_width: 8,
                status: dh::STATUS,
                block_size: dh::BLOCK_SIZE,
                sub_hdr_size: dh::SUB_HDR_SIZE,
                bitmap_blocks: dh::BITMAP_BLOCKS,
                max_mapnr: dh::MAX_MAPNR,
                total_ram_blocks: dh::TOTAL_RAM_BLOCKS,
                device_blocks: dh::DEVICE_BLOCKS,
                written_blocks: dh::WRITTEN_BLOCKS,
                current_cpu: dh::CURRENT_CPU,
                nr_cpus: dh::NR_CPUS,
                size: dh::SIZE,
            },
            // utsname ends at 402; 2 bytes of padding align the 4-byte timeval.
            HeaderAbi::Ilp32Packed | HeaderAbi::Ilp32Padded => DiskDumpHeaderLayout {
                timestamp_sec: 404,
                timestamp_usec: 408,
                timeval_width: 4,
                status: 412,
                block_size: 416,
                sub_hdr_size: 420,
                bitmap_blocks: 424,
                max_mapnr: 428,
                total_ram_blocks: 432,
                device_blocks: 436,
                written_blocks: 440,
                current_cpu: 444,
                nr_cpus: 448,
                size: 452,
            },
        }
    }

    /// `struct kdump_sub_header`.
    pub const fn sub_header(self) -> SubHeaderLayout {
        use kdump_sub_header as sh;
        match self {
            HeaderAbi::Lp64 => SubHeaderLayout {
                phys_base: sh::PHYS_BASE,
                dump_level: sh::DUMP_LEVEL,
                split: sh::SPLIT,
                start_pfn: sh::START_PFN,
                end_pfn: sh::END_PFN,
                offset_vmcoreinfo: sh::OFFSET_VMCOREINFO,
                size_vmcoreinfo: sh::SIZE_VMCOREINFO,
                offset_note: sh::OFFSET_NOTE,
                size_note: sh::SIZE_NOTE,
                offset_eraseinfo: sh::OFFSET_ERASEINFO,
                size_eraseinfo: sh::SIZE_ERASEINFO,
                start_pfn_64: sh::START_PFN_64,
                end_pfn_64: sh::END_PFN_64,
                max_mapnr_64: sh::MAX_MAPNR_64,
                word: 8,
                size_by_version: [12, 32, 48, 64, 80, sh::SIZE],
            },
            HeaderAbi::Ilp32Packed => SubHeaderLayout {
                phys_base: 0,
                dump_level: 4,
                split: 8,
                start_pfn: 12,
                end_pfn: 16,
                offset_vmcoreinfo: 20,
                size_vmcoreinfo: 28,
                offset_note: 32,
                size_note: 40,
                offset_eraseinfo: 44,
                size_eraseinfo: 52,
                start_pfn_64: 56,
                end_pfn_64: 64,
                max_mapnr_64: 72,
                word: 4,
                size_by_version: [8, 20, 32, 44, 56, 80],
            },
            HeaderAbi::Ilp32Padded => SubHeaderLayout {
                phys_base: 0,
                dump_level: 4,
                split: 8,
                start_pfn: 12,
                end_pfn: 16,
                offset_vmcoreinfo: 24,
                size_vmcoreinfo: 32,
                offset_note: 40,
                size_note: 48,
                offset_eraseinfo: 56,
                size_eraseinfo: 64,
                start_pfn_64: 72,
                end_pfn_64: 80,
                max_mapnr_64: 88,
                word: 4,
                size_by_version: [8, 20, 36, 52, 68, 96],
            },
        }
    }
}
