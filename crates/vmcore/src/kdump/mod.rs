//! makedumpfile's kdump-compressed ("KDUMP   ") and flattened ("makedumpfile") formats.
//!
//! INTERFACE (used by `dump.rs`; keep these signatures):
//! - `KdumpFile::parse(data: &[u8]) -> Result<(KdumpFile, Vec<Finding>)>` where `data` is the
//!   whole file (kdump-compressed, or flattened: then the records are indexed once).
//! - `KdumpFile::info(&self) -> &KdumpInfo`
//! - `KdumpFile::machine(&self) -> Machine` (from the header's utsname)
//! - `KdumpFile::note_data(&self, data: &[u8]) -> Result<Option<(Vec<u8>, u64)>>`: the ELF note
//!   blob and its absolute file offset (header version ≥ 4)
//! - `KdumpFile::vmcoreinfo_data(&self, data: &[u8]) -> Result<Option<(Vec<u8>, u64)>>`
//!   (header version ≥ 3; used when there is no note blob)
//! - `KdumpFile::ram_ranges(&self) -> Vec<MemoryRange>` (runs of set bits of the 1st bitmap,
//!   `kind: RangeKind::KdumpRam`)
//! - `KdumpFile::read_phys(&self, data: &[u8], addr: u64, buf: &mut [u8]) -> Result<()>`
//!   (`PageExcluded`, `PageLost`, `NotInDump`, `Decompress` errors)

use kdump_types::Finding;

use crate::cpu::Machine;
use crate::error::{Error, Result};
use crate::memmap::MemoryRange;

/// Header facts of a kdump-compressed dump, for `vmcore info`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KdumpInfo {
    /// The file is in the flattened format (records), not seekable kdump-compressed.
    pub flattened: bool,
    /// `header_version`.
    pub header_version: u32,
    /// Compression named by `status` (`"zlib"`, `"lzo"`, `"snappy"`, `"zstd"`, `"none"`).
    pub compression: &'static str,
    /// `dump_level` (sub-header).
    pub dump_level: u32,
    /// Page size (`block_size`).
    pub page_size: u32,
    /// Highest PFN + 1.
    pub max_mapnr: u64,
    /// Pages that are RAM (set in the 1st bitmap).
    pub ram_pages: u64,
    /// Pages stored (set in the 2nd bitmap).
    pub dumpable_pages: u64,
    /// RAM pages excluded by the dump level.
    pub excluded_pages: u64,
    /// Stored pages that are the shared zero page.
    pub zero_pages: u64,
    /// The header says the dump is incomplete.
    pub incomplete: bool,
    /// `nr_cpus`.
    pub nr_cpus: u32,
    /// utsname release.
    pub release: String,
    /// utsname machine.
    pub uts_machine: String,
    /// Header timestamp (seconds).
    pub timestamp: i64,
}

/// An opened kdump-compressed or flattened dump.
#[derive(Debug)]
pub struct KdumpFile {
    info: KdumpInfo,
}

impl KdumpFile {
    /// Parse the headers, bitmaps and (flattened) record index.
    pub fn parse(_data: &[u8]) -> Result<(KdumpFile, Vec<Finding>)> {
        Err(Error::Unsupported {
            what: "kdump-compressed dump",
            offset: 0,
            detail: "not implemented yet".into(),
        })
    }
    /// Header facts.
    pub fn info(&self) -> &KdumpInfo {
        &self.info
    }
    /// Architecture from utsname.
    pub fn machine(&self) -> Machine {
        Machine::from_uts(&self.info.uts_machine)
    }
    /// The ELF note blob and its file offset.
    pub fn note_data(&self, _data: &[u8]) -> Result<Option<(Vec<u8>, u64)>> {
        Ok(None)
    }
    /// The vmcoreinfo text and its file offset.
    pub fn vmcoreinfo_data(&self, _data: &[u8]) -> Result<Option<(Vec<u8>, u64)>> {
        Ok(None)
    }
    /// RAM ranges.
    pub fn ram_ranges(&self) -> Vec<MemoryRange> {
        Vec::new()
    }
    /// Read physical memory.
    pub fn read_phys(&self, _data: &[u8], addr: u64, _buf: &mut [u8]) -> Result<()> {
        Err(Error::NotInDump { addr })
    }
}
