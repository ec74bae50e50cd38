//! Hostile inputs: files whose headers declare far more than they hold (issue #16).
//!
//! Each [`HostileFile`] is a small byte image plus the length the file is extended to with
//! `set_len` (a sparse file: a 16 TiB "dump" costs a few KiB on disk). Tests write them with
//! [`HostileFile::write`] and check that every command ends with a clear error or finding,
//! under a memory limit, without a panic or a hang. [`raw_elf_bytes`] writes program header
//! values verbatim (sizes of 2^64 − 1, PN_XNUM without a section header), which [`crate::ElfSpec`]
//! cannot express because it lays the file out honestly.

use std::io;
use std::path::Path;

use kdump_types::elf::{EHDR64_SIZE, Elf64Ehdr, Elf64Phdr, PHDR64_SIZE, phdr64, shdr64};
use kdump_types::kdump::disk_dump_header as dh;

use crate::kdump::{Compression, KdumpOverrides, KdumpSpec, PageKind, flatten, kdump_bytes};
use crate::{CpuSpec, ElfSpec, Fill, LoadSpec, elf_bytes, printk, sample_vmcoreinfo};

/// One program header, written as given (encoded by `kdump_types::elf::Elf64Phdr`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RawPhdr(pub Elf64Phdr);

impl RawPhdr {
    /// A PT_LOAD of `size` bytes (file and memory) at `paddr`, stored at `offset`.
    pub fn load(paddr: u64, offset: u64, size: u64) -> RawPhdr {
        RawPhdr(Elf64Phdr {
            p_type: 1,
            p_flags: 7,
            p_offset: offset,
            p_paddr: paddr,
            p_filesz: size,
            p_memsz: size,
            ..Elf64Phdr::default()
        })
    }
    /// A PT_NOTE of `size` bytes at `offset`.
    pub fn note(offset: u64, size: u64) -> RawPhdr {
        RawPhdr(Elf64Phdr {
            p_type: 4,
            p_offset: offset,
            p_filesz: size,
            p_memsz: size,
            ..Elf64Phdr::default()
        })
    }
}

/// An ELF64 core whose header fields are written verbatim.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RawElf {
    /// `e_phnum` as written (default: the number of `phdrs`).
    pub e_phnum: Option<u16>,
    /// Write section header 0 with this `sh_info` (the PN_XNUM count) and point `e_shoff` at it.
    pub sh_info: Option<u32>,
    /// Program headers, in order, right after the ELF header (and section header 0).
    pub phdrs: Vec<RawPhdr>,
    /// Bytes after the program header table (note data, page data).
    pub tail: Vec<u8>,
}

/// The bytes of `e`: ELF header, section header 0 when asked, program headers, tail.
pub fn raw_elf_bytes(e: &RawElf) -> Vec<u8> {
    let with_sh = e.sh_info.is_some();
    let phnum = e.e_phnum.unwrap_or(e.phdrs.len().min(0xfffe) as u16);
    let ehdr = Elf64Ehdr {
        e_phoff: EHDR64_SIZE as u64 + if with_sh { shdr64::SIZE as u64 } else { 0 },
        e_shoff: if with_sh { EHDR64_SIZE as u64 } else { 0 },
        e_shentsize: if with_sh { shdr64::SIZE as u16 } else { 0 },
        e_shnum: u16::from(with_sh),
        ..Elf64Ehdr::core(crate::EM_X86_64, phnum)
    };
    let mut h = ehdr.to_bytes().to_vec();
    if let Some(info) = e.sh_info {
        let mut sh = [0u8; shdr64::SIZE];
        sh[shdr64::SH_INFO..shdr64::SH_INFO + 4].copy_from_slice(&info.to_le_bytes());
        h.extend_from_slice(&sh);
    }
    for p in &e.phdrs {
        h.extend_from_slice(&p.0.to_bytes());
    }
    h.extend_from_slice(&e.tail);
    h
}

/// A hostile input file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostileFile {
    /// File name (stable; used in test messages and docs/FUZZING.md).
    pub name: &'static str,
    /// The item of issue #16 it reproduces.
    pub item: u8,
    /// What is wrong with it.
    pub what: &'static str,
    /// The bytes at the start of the file.
    pub bytes: Vec<u8>,
    /// The file's length (≥ `bytes.len()`; the rest is a hole).
    pub len: u64,
}

impl HostileFile {
    fn new(name: &'static str, item: u8, what: &'static str, bytes: Vec<u8>) -> HostileFile {
        let len = bytes.len() as u64;
        HostileFile {
            name,
            item,
            what,
            bytes,
            len,
        }
    }
    fn sparse(mut self, len: u64) -> HostileFile {
        self.len = len.max(self.bytes.len() as u64);
        self
    }
    /// Write it at `path` (sparse past `bytes`).
    pub fn write(&self, path: &Path) -> io::Result<()> {
        std::fs::write(path, &self.bytes)?;
        std::fs::OpenOptions::new()
            .write(true)
            .open(path)?
            .set_len(self.len)
    }
}

/// Largest file ext4 allows with 4 KiB blocks (16 TiB − 4 KiB): "16 TiB" sparse dumps.
pub const EXT4_MAX_FILE: u64 = (16 << 40) - 4096;

/// A kdump-compressed dump of `n` data pages (the honest base of the kdump cases).
pub fn small_kdump(n: u64) -> KdumpSpec {
    KdumpSpec {
        compression: Compression::Zlib,
        pages: vec![PageKind::Data; n as usize],
        notes: ElfSpec {
            cpus: vec![CpuSpec::numbered(0, 1)],
            vmcoreinfo: Some(sample_vmcoreinfo()),
            ..ElfSpec::default()
        },
        ..KdumpSpec::default()
    }
}

/// A kdump image whose header declares `max_mapnr` PFNs and bitmaps sized for them; the file
/// is extended (sparse) to hold both bitmaps, so the header is consistent with `st_size`.
pub fn kdump_declaring(max_mapnr: u64) -> (Vec<u8>, u64) {
    let mut s = small_kdump(64);
    let half = max_mapnr.div_ceil(8).next_multiple_of(4096);
    s.overrides = KdumpOverrides {
        max_mapnr: Some(max_mapnr),
        bitmap_blocks: Some((2 * half / 4096) as u32),
        ..KdumpOverrides::default()
    };
    let bytes = kdump_bytes(&s);
    // Block 0 header, block 1 sub-header + notes: bitmaps start at (1 + sub_hdr_size) blocks.
    let at = dh::SUB_HDR_SIZE as usize;
    let sub_hdr_size = u64::from(u32::from_le_bytes([
        bytes[at],
        bytes[at + 1],
        bytes[at + 2],
        bytes[at + 3],
    ]));
    let bitmap_off = (1 + sub_hdr_size) * 4096;
    (bytes, bitmap_off + 2 * half + 4096)
}

/// Rewrite the image offset of the flattened record that starts at image offset `image`.
pub fn move_flat_record(stream: &mut [u8], image: u64, to: i64) {
    let mut pos = 4096usize;
    while pos + 16 <= stream.len() {
        let rd = |at: usize| {
            let mut a = [0u8; 8];
            a.copy_from_slice(&stream[at..at + 8]);
            i64::from_be_bytes(a)
        };
        let (off, size) = (rd(pos), rd(pos + 8));
        if off < 0 || size < 0 {
            return;
        }
        if off as u64 == image {
            stream[pos..pos + 8].copy_from_slice(&to.to_be_bytes());
            return;
        }
        pos += 16 + size as usize;
    }
}

/// An ELF dump of the 6.12 lockless printk layout whose memory (a PT_LOAD with direct-map
/// virtual addresses at physical 0, `pages` pages) starts with `head`: `SYMBOL(prb)` is the
/// first byte, so `head` begins with the `prb` pointer.
pub fn printk_elf(head: &[u8], pages: u64) -> Vec<u8> {
    let vmcoreinfo = format!(
        "OSRELEASE=6.12.0-testgen\nPAGESIZE=4096\n{}",
        printk::LOCKLESS_612_KEYS
    );
    let spec = ElfSpec {
        cpus: vec![CpuSpec::numbered(0, 1)],
        vmcoreinfo: Some(vmcoreinfo),
        loads: vec![LoadSpec {
            paddr: 0,
            vaddr: 0xffff_8880_0000_0000,
            memsz: pages * 4096,
            filesz: pages * 4096,
            fill: Fill::Hole,
        }],
        ..ElfSpec::default()
    };
    let mut bytes = elf_bytes(&spec);
    // The single PT_LOAD's data starts at the first page boundary after the notes.
    let load_off = {
        let ph = EHDR64_SIZE + PHDR64_SIZE + phdr64::P_OFFSET;
        let mut a = [0u8; 8];
        a.copy_from_slice(&bytes[ph..ph + 8]);
        u64::from_le_bytes(a) as usize
    };
    bytes.resize(load_off + (pages * 4096) as usize, 0);
    bytes[load_off..load_off + head.len()].copy_from_slice(head);
    bytes
}

/// The `prb` structures of a ring of 2^`count_bits` descriptors whose ids all need a visit
/// (tail 0, head 2^count_bits − 1) and whose descriptors lie in zeroed memory, at the start
/// of the direct map (`SYMBOL(prb)` = `0xffff888000000000`).
pub fn printk_huge_ring(count_bits: u32) -> Vec<u8> {
    let base = 0xffff_8880_0000_0000u64;
    let mut m = vec![0u8; 4096];
    let put = |m: &mut Vec<u8>, at: usize, v: u64| m[at..at + 8].copy_from_slice(&v.to_le_bytes());
    put(&mut m, 0, base + 64); // prb -> the printk_ringbuffer right after
    let rb = 64;
    m[rb..rb + 4].copy_from_slice(&count_bits.to_le_bytes()); // desc_ring.count_bits
    put(&mut m, rb + 8, base + 4096); // descs
    put(&mut m, rb + 16, base + 4096); // infos
    put(&mut m, rb + 24, (1u64 << count_bits) - 1); // head_id
    put(&mut m, rb + 32, 0); // tail_id
    m[rb + 48..rb + 52].copy_from_slice(&(count_bits + 5).to_le_bytes()); // text size_bits
    put(&mut m, rb + 56, base + 4096); // text data
    m
}

/// A hotplug history (our JSON lines) whose start topology lists `n` present CPUs.
pub fn history_with_cpus(n: u64) -> String {
    format!(
        "{{\"format\":\"vmcore-hotplug-history\",\"version\":1,\"block_size\":\"0x8000000\"}}\n\
         {{\"start\":{{\"cpus_possible\":\"0-{last}\",\"cpus_present\":\"0-{last}\",\
         \"cpus_online\":\"0-{last}\"}}}}\n",
        last = n.saturating_sub(1)
    )
}

/// Every hostile dump of issue #16, one per reproduced finding.
pub fn dumps() -> Vec<HostileFile> {
    let mut out = Vec::new();

    // 1. convert: one bit per declared page.
    let mut e = RawElf::default();
    e.phdrs.push(RawPhdr::note(736, 0));
    for i in 0..11u64 {
        e.phdrs.push(RawPhdr::load(i << 40, 0, u64::MAX));
    }
    out.push(HostileFile::new(
        "elf-loads-size-max",
        1,
        "a 736-byte ELF whose 11 PT_LOADs are 2^64 - 1 bytes long",
        raw_elf_bytes(&e),
    ));
    let mut e = RawElf {
        e_phnum: Some(0xffff),
        sh_info: Some(0xffff),
        ..RawElf::default()
    };
    e.phdrs.push(RawPhdr::note(0, 0));
    for i in 0..0xfffeu64 {
        e.phdrs.push(RawPhdr::load(i << 32, 4096, 1 << 32));
    }
    out.push(HostileFile::new(
        "elf-pn-xnum-65535-loads",
        1,
        "PN_XNUM: 65,534 PT_LOADs of 4 GiB each (2^48 bytes declared) in a 3.6 MB file",
        raw_elf_bytes(&e),
    ));
    let e = RawElf {
        phdrs: vec![RawPhdr::load(0, 4096, 1 << 62)],
        ..RawElf::default()
    };
    out.push(
        HostileFile::new(
            "elf-huge-filesz",
            1,
            "one PT_LOAD with p_filesz 2^62 in an 8 KiB file",
            raw_elf_bytes(&e),
        )
        .sparse(8192),
    );
    let e = RawElf {
        phdrs: vec![RawPhdr::load(0, 4096, 1 << 48)],
        ..RawElf::default()
    };
    out.push(
        HostileFile::new(
            "elf-2p48-load-8k",
            1,
            "one 2^48-byte PT_LOAD in an 8 KiB file",
            raw_elf_bytes(&e),
        )
        .sparse(8192),
    );
    let e = RawElf {
        phdrs: (0..5)
            .map(|i| RawPhdr::load(0, 4096 * (i + 1), 1 << 40))
            .collect(),
        ..RawElf::default()
    };
    out.push(
        HostileFile::new(
            "elf-five-overlapping-1t",
            1,
            "five overlapping 1 TiB PT_LOADs in a 64 KiB file",
            raw_elf_bytes(&e),
        )
        .sparse(64 << 10),
    );

    // 2. check --deep on a sparse ELF.
    let e = RawElf {
        phdrs: vec![RawPhdr::load(0, 4096, 1 << 48)],
        ..RawElf::default()
    };
    out.push(
        HostileFile::new(
            "elf-16t-sparse",
            2,
            "one 2^48-byte PT_LOAD in a 16 TiB sparse file (4 KiB on disk)",
            raw_elf_bytes(&e),
        )
        .sparse(EXT4_MAX_FILE),
    );

    // 3. kdump bitmaps copied to the heap.
    let (b, len) = kdump_declaring(1 << 33);
    out.push(
        HostileFile::new(
            "kdump-mapnr-2p33-sparse",
            3,
            "max_mapnr 2^33 and 1 GiB bitmaps over a 2 GiB sparse file",
            b,
        )
        .sparse(len),
    );
    let (b, len) = kdump_declaring(1 << 36);
    out.push(
        HostileFile::new(
            "kdump-mapnr-2p36-sparse",
            3,
            "max_mapnr 2^36 and 8 GiB bitmaps over a 16 GiB sparse file",
            b,
        )
        .sparse(len),
    );

    // 4/6. printk rings.
    out.push(HostileFile::new(
        "elf-prb-ring-2p26",
        4,
        "a printk ring of 2^26 descriptors (count_bits 26) in zeroed memory",
        printk_elf(&printk_huge_ring(26), 16),
    ));
    out.push(HostileFile::new(
        "elf-prb-null",
        6,
        "SYMBOL(prb) points at a null prb pointer",
        printk_elf(&[], 4),
    ));

    // 5. vacuous success.
    let image = kdump_bytes(&small_kdump(16));
    let mut flat = flatten(&image, &Default::default());
    move_flat_record(&mut flat, 4096, 1 << 62);
    out.push(HostileFile::new(
        "flat-subheader-at-2p62",
        5,
        "a flattened dump whose sub-header record is moved to image offset 2^62",
        flat,
    ));
    let mut s = small_kdump(16);
    s.overrides.max_mapnr = Some(0);
    out.push(HostileFile::new(
        "kdump-mapnr-zero",
        5,
        "max_mapnr and max_mapnr_64 are 0",
        kdump_bytes(&s),
    ));
    let mut s = small_kdump(16);
    s.overrides.block_size = Some(0x200);
    out.push(HostileFile::new(
        "kdump-block-size-512",
        5,
        "block_size 0x200 in a dump laid out in 4 KiB blocks",
        kdump_bytes(&s),
    ));
    let mut s = small_kdump(16);
    s.pages = vec![PageKind::Excluded; 16];
    out.push(HostileFile::new(
        "kdump-second-bitmap-zero",
        5,
        "every RAM page excluded: an all-zero 2nd bitmap",
        kdump_bytes(&s),
    ));

    // 6. unclear errors.
    let mut flat = flatten(&kdump_bytes(&small_kdump(16)), &Default::default());
    flat[4096..4104].copy_from_slice(&(-5i64).to_be_bytes());
    out.push(HostileFile::new(
        "flat-first-record-bad",
        6,
        "a flattened dump whose first record has offset -5",
        flat,
    ));
    let mut s = small_kdump(16);
    s.pages.resize(35 * 4096 * 8, PageKind::Hole);
    let image = kdump_bytes(&s);
    let flat = flatten(&image, &Default::default());
    // Cut inside the 2nd bitmap's record: the image is read as far as the records go.
    let cut = 4096 + 3 * (16 + 4096) + 16 + 100;
    out.push(HostileFile::new(
        "flat-bitmap-cut",
        6,
        "a flattened dump with 143,360-byte bitmaps stored sparsely, cut short",
        flat[..cut.min(flat.len())].to_vec(),
    ));
    let e = RawElf {
        e_phnum: Some(0xffff),
        phdrs: vec![RawPhdr::load(0, 4096, 4096)],
        ..RawElf::default()
    };
    out.push(
        HostileFile::new(
            "elf-pn-xnum-no-section-header",
            6,
            "e_phnum is PN_XNUM (0xffff) but e_shoff is 0",
            raw_elf_bytes(&e),
        )
        .sparse(8192),
    );
    out
}
