//! Opening a kdump-compressed or flattened file, step by step: where the image is
//! ([`Layout`]), the two headers, both bitmaps (indexed in place), a `--split` part's range,
//! header findings, then the descriptor scan (`scan.rs`).

use std::sync::Mutex;

use kdump_types::kdump::HeaderAbi;
use kdump_types::kdump::disk_dump_header as dh;
use kdump_types::{Bytes, Finding};

use super::header::{self, COMPRESSION_MASK, DUMP_DH_COMPRESSED_INCOMPLETE, compression_name};
use super::layout::{Layout, check_region};
use super::{
    Bitmap, DISK_DUMP_HEADER_SIZE, DiskDumpHeader, FlatIndex, KdumpFile, KdumpInfo, KdumpSubHeader,
    PageCache,
};
use crate::error::{Error, Result};
use crate::extents::DataExtents;
use crate::findings as F;

/// Both bitmaps and where the regions around them are.
struct Bitmaps {
    ram: Bitmap,
    dumpable: Bitmap,
    /// `max_mapnr` as the header claims it.
    claimed_mapnr: u64,
    /// `max_mapnr` cut to what the bitmaps can hold.
    max_mapnr: u64,
    /// PFNs whose bits the file holds.
    known_pfns: u64,
    bitmap_off: u64,
    bitmap_half: u64,
    /// The page descriptor table starts right after the bitmaps.
    desc_base: u64,
}

impl KdumpFile {
    /// Parse the headers, bitmaps and (flattened) record index of `data`, the whole file,
    /// whose data `extents` are known: the bitmaps' holes are never read.
    pub fn parse_with_extents(
        data: &[u8],
        extents: &DataExtents,
    ) -> Result<(KdumpFile, Vec<Finding>)> {
        let mut findings = Vec::new();
        let layout = if data.starts_with(b"makedumpfile\0") {
            let (idx, f) = FlatIndex::build(data)?;
            findings.extend(f);
            Layout::Flat(idx)
        } else {
            Layout::Plain {
                len: data.len() as u64,
            }
        };
        let (header, sub) = read_headers(data, &layout, &mut findings)?;
        let bs = u64::from(header.block_size);
        let b = read_bitmaps(data, extents, &layout, &header, &sub, &mut findings);
        let split = split_part(&sub, header.abi, &layout, bs, b.max_mapnr, &mut findings);
        let (lo, hi) = split.unwrap_or((0, b.known_pfns));
        let desc_rank_base = b.dumpable.rank(data, lo);
        let desc_count = b.dumpable.rank(data, hi) - desc_rank_base;
        let incomplete = status_findings(&header, &layout, &mut findings);
        let mut info = kdump_info(&header, &sub, &layout, &b, data, incomplete, split);

        let image_len = layout.image_len();
        let notes_ok = check_region(
            &layout,
            image_len,
            sub.offset_note,
            sub.size_note,
            (F::KDUMP_NOTES_UNREADABLE, "ELF notes"),
            &mut findings,
        );
        let vmcoreinfo_ok = check_region(
            &layout,
            image_len,
            sub.offset_vmcoreinfo,
            sub.size_vmcoreinfo,
            (F::KDUMP_VMCOREINFO_UNREADABLE, "VMCOREINFO"),
            &mut findings,
        );
        if info.eraseinfo_size > 0 {
            findings.push(F::KDUMP_ERASEINFO.finding(
                sub.offset_eraseinfo.map(|o| layout.file_pos(o)),
                format!(
                    "the dump carries {} bytes of erase info: some kernel data was erased or \
                     nullified on purpose (makedumpfile --config)",
                    info.eraseinfo_size
                ),
            ));
        }

        let mut kd = KdumpFile {
            info: KdumpInfo::default(),
            header,
            sub,
            layout,
            page_shift: bs.trailing_zeros(),
            ram: b.ram,
            dumpable: b.dumpable,
            known_pfns: b.known_pfns,
            bitmap_off: b.bitmap_off,
            bitmap_half: b.bitmap_half,
            desc_base: b.desc_base,
            desc_count,
            desc_rank_base,
            zero_page: None,
            notes_ok,
            vmcoreinfo_ok,
            cache: Mutex::new(PageCache::default()),
        };
        kd.find_zero_page(data);
        kd.scan_descriptors(data, &mut info, &mut findings);
        kd.info = info;
        Ok((kd, findings))
    }
}

/// `disk_dump_header` (block 0) and `kdump_sub_header` (block 1).
fn read_headers(
    data: &[u8],
    layout: &Layout,
    findings: &mut Vec<Finding>,
) -> Result<(DiskDumpHeader, KdumpSubHeader)> {
    // An ELF image may be shorter than a disk_dump_header (a headers-only core): look at
    // its magic before asking for more.
    let magic = layout.read_needed(data, "image signature", 0, 4, true)?;
    if magic.starts_with(&kdump_types::elf::ELFMAG) {
        // `Dump` reads such a stream as ELF (it rebuilds the image); the kdump reader cannot.
        return Err(Error::Unsupported {
            what: super::FLATTENED_ELF,
            offset: layout.file_pos(0),
            detail: "the flattened stream holds an ELF image, not a kdump-compressed one".into(),
        });
    }
    let head = layout.read_needed(data, "disk_dump_header", 0, DISK_DUMP_HEADER_SIZE, true)?;
    let mut header = DiskDumpHeader::parse(&Bytes::new(&head, layout.file_pos(0)))?;
    let version = header.header_version;
    if version > header::MAX_KNOWN_VERSION {
        findings.push(F::KDUMP_VERSION_UNKNOWN.finding(
            Some(layout.file_pos(dh::HEADER_VERSION)),
            format!("header_version {version} is newer than 6; reading it as version 6"),
        ));
    }
    let bs = u64::from(header.block_size);
    // A 32-bit sub-header is packed or padded; read enough for either, then decide. A file
    // that ends after a packed sub-header (libkdumpfile's generator writes such empty IA-32
    // dumps) can only be packed.
    let sub_bytes = match header.abi {
        HeaderAbi::Lp64 => {
            let len = HeaderAbi::Lp64.sub_header().size_for(version);
            layout.read_needed(data, "kdump_sub_header", bs, len, true)?
        }
        _ => {
            let padded = HeaderAbi::Ilp32Padded.sub_header().size_for(version);
            let packed = HeaderAbi::Ilp32Packed.sub_header().size_for(version);
            match layout.read_needed(data, "kdump_sub_header", bs, padded, true) {
                Ok(b) => b,
                Err(_) => layout.read_needed(data, "kdump_sub_header", bs, packed, true)?,
            }
        }
    };
    let sub_view = Bytes::new(&sub_bytes, layout.file_pos(bs)).with_order(header.byte_order);
    header.abi = header.sub_header_abi(&sub_view);
    let sub = KdumpSubHeader::parse(&sub_view, version, header.abi)?;
    findings.extend(mapnr_disagreement(&header, &sub, |o| layout.file_pos(o)));
    Ok((header, sub))
}

/// Both bitmaps, indexed in place over the bytes the file holds.
fn read_bitmaps(
    data: &[u8],
    extents: &DataExtents,
    layout: &Layout,
    header: &DiskDumpHeader,
    sub: &KdumpSubHeader,
    findings: &mut Vec<Finding>,
) -> Bitmaps {
    let bs = u64::from(header.block_size);
    // Products of two u32 by a block size of at most 2^18 cannot overflow u64.
    let bitmap_off = (1 + u64::from(header.sub_hdr_size)) * bs;
    let bitmap_len = u64::from(header.bitmap_blocks) * bs;
    let bitmap_half = bitmap_len / 2;
    let desc_base = bitmap_off + bitmap_len;
    let mut max_mapnr = match sub.max_mapnr_64 {
        Some(m) if header.header_version >= 6 => m,
        _ => u64::from(header.max_mapnr),
    };
    let claimed_mapnr = max_mapnr;
    let bitmap_bits = bitmap_half.saturating_mul(8);
    if max_mapnr > bitmap_bits {
        findings.push(F::KDUMP_BITMAP_SHORT.finding(
            Some(layout.file_pos(header.abi.disk_dump_header().bitmap_blocks)),
            format!(
                "max_mapnr {max_mapnr:#x} needs more bits than the bitmaps' {bitmap_bits:#x} \
                 (bitmap_blocks {}): PFNs from {bitmap_bits:#x} on are read as not in the dump",
                header.bitmap_blocks
            ),
        ));
        max_mapnr = bitmap_bits;
    }
    let image_len = layout.image_len();
    let bm_bytes = max_mapnr.div_ceil(8);
    let avail = |off: u64| image_len.saturating_sub(off).min(bm_bytes);
    let (avail1, avail2) = (avail(bitmap_off), avail(bitmap_off + bitmap_half));
    let known_pfns = (avail1.min(avail2) * 8).min(max_mapnr);
    if known_pfns < max_mapnr {
        findings.push(F::KDUMP_BITMAP_TRUNCATED.finding(
            Some(layout.file_pos(bitmap_off + bitmap_half + avail2)),
            format!(
                "the file ends inside the bitmaps (1st at {:#x}, 2nd at {:#x}, {bm_bytes} bytes \
                 each): only PFNs below {known_pfns:#x} of {max_mapnr:#x} can be read",
                layout.file_pos(bitmap_off),
                layout.file_pos(bitmap_off + bitmap_half)
            ),
        ));
    }
    let ram = Bitmap::from_pieces(data, known_pfns, layout.pieces(extents, bitmap_off, avail1));
    let dumpable = Bitmap::from_pieces(
        data,
        known_pfns,
        layout.pieces(extents, bitmap_off + bitmap_half, avail2),
    );
    Bitmaps {
        ram,
        dumpable,
        claimed_mapnr,
        max_mapnr,
        known_pfns,
        bitmap_off,
        bitmap_half,
        desc_base,
    }
}

/// A --split part holds the descriptors of its own PFN range only: that range.
fn split_part(
    sub: &KdumpSubHeader,
    abi: HeaderAbi,
    layout: &Layout,
    bs: u64,
    max_mapnr: u64,
    findings: &mut Vec<Finding>,
) -> Option<(u64, u64)> {
    let split_offset = abi.sub_header().split;
    match sub.split {
        Some(s) if s != 0 => {
            let start = sub.start_pfn_64.or(sub.start_pfn).unwrap_or(0);
            let end = sub.end_pfn_64.or(sub.end_pfn).unwrap_or(max_mapnr);
            findings.push(F::KDUMP_SPLIT_PART.finding(
                Some(layout.file_pos(bs + split_offset)),
                format!(
                    "this file is one part of a --split set and holds PFNs \
                     [{start:#x}, {end:#x}) only (open the directory of all its parts, \
                     or Dump::open_split_set, to read the whole set)"
                ),
            ));
            Some((start, end.max(start)))
        }
        _ => None,
    }
}

/// Findings about `status`; true when it says the dump is incomplete.
fn status_findings(header: &DiskDumpHeader, layout: &Layout, findings: &mut Vec<Finding>) -> bool {
    let incomplete = header.status & DUMP_DH_COMPRESSED_INCOMPLETE != 0;
    if incomplete {
        findings.push(F::KDUMP_INCOMPLETE.finding(
            Some(layout.file_pos(header.abi.disk_dump_header().status)),
            "the header's DUMP_DH_COMPRESSED_INCOMPLETE flag is set: makedumpfile stopped \
             early (out of space); pages it did not write read as lost",
        ));
    }
    if header.status & COMPRESSION_MASK != 0 && (header.status & COMPRESSION_MASK).count_ones() > 1
    {
        findings.push(F::KDUMP_STATUS_COMPRESSION.finding(
            Some(layout.file_pos(header.abi.disk_dump_header().status)),
            format!(
                "status {:#x} names several compression methods; each page's own flags \
                 decide how it is read",
                header.status
            ),
        ));
    }
    incomplete
}

/// The header facts of `vmcore info` (page counts from the descriptor scan come later).
fn kdump_info(
    header: &DiskDumpHeader,
    sub: &KdumpSubHeader,
    layout: &Layout,
    b: &Bitmaps,
    data: &[u8],
    incomplete: bool,
    split: Option<(u64, u64)>,
) -> KdumpInfo {
    KdumpInfo {
        flattened: matches!(layout, Layout::Flat(_)),
        header_version: header.header_version,
        compression: compression_name(header.status),
        dump_level: sub.dump_level,
        page_size: header.block_size,
        max_mapnr: b.claimed_mapnr,
        ram_pages: b.ram.count_ones(),
        dumpable_pages: b.dumpable.count_ones(),
        excluded_pages: b.ram.count_and_not(data, &b.dumpable),
        zero_pages: 0,
        incomplete,
        nr_cpus: header.nr_cpus,
        release: header.release.clone(),
        uts_machine: header.machine.clone(),
        byte_order: header.byte_order,
        timestamp: header.timestamp_sec,
        status: header.status,
        phys_base: sub.phys_base,
        lost_pages: 0,
        truncated_pages: 0,
        pages_counted: false,
        split,
        eraseinfo_size: sub.size_eraseinfo.unwrap_or(0),
        image_len: layout.image_len(),
    }
}

/// The 32-bit `max_mapnr` of a version-6 header against `max_mapnr_64` and the bitmaps.
///
/// makedumpfile and QEMU write `min(max_mapnr_64, 2^32 - 1)` there, and the bitmaps always hold
/// at least that many bits. A header that says otherwise was not written by either: the 64-bit
/// value is what this reader uses, but libkdumpfile refuses such a header ("Invalid diskdump
/// header content"), so it is an error, not silence. `pos` maps image offsets to file offsets.
fn mapnr_disagreement(
    header: &DiskDumpHeader,
    sub: &KdumpSubHeader,
    pos: impl Fn(u64) -> u64,
) -> Option<Finding> {
    let mapnr64 = sub.max_mapnr_64.filter(|_| header.header_version >= 6)?;
    let mapnr32 = u64::from(header.max_mapnr);
    let bits = u64::from(header.bitmap_blocks) * u64::from(header.block_size) * 8;
    let expected = mapnr64.min(u64::from(u32::MAX));
    if mapnr32 == expected && mapnr32 <= bits {
        return None;
    }
    Some(F::KDUMP_MAX_MAPNR_INCONSISTENT.finding(
        Some(pos(header.abi.disk_dump_header().max_mapnr)),
        format!(
            "disk_dump_header.max_mapnr {mapnr32:#x} disagrees with kdump_sub_header.max_mapnr_64 \
             {mapnr64:#x} (makedumpfile writes min(max_mapnr_64, 0xffffffff)){}: the header was \
             not written by makedumpfile or QEMU; max_mapnr_64 is used",
            if mapnr32 > bits {
                format!(
                    " and needs more bits than the {bits:#x} of its {} bitmap blocks",
                    header.bitmap_blocks
                )
            } else {
                String::new()
            }
        ),
    ))
}
