//! `testgen-fuzz-seeds OUT_DIR`: write the generated part of the fuzz seed corpus, one
//! folder per cargo-fuzz target under `OUT_DIR` (`elf_open`, `notes`, `kdump_open`,
//! `klog_decode`, `elfcorehdr_parse`, `btf_parse`). Deterministic: the same build writes the same bytes.
//! `scripts/fuzz-seed.sh` runs it and adds the seeds taken from `testdata/real`.
//!
//! Seeds are small on purpose (512-byte kdump blocks, a few pages of memory) so libFuzzer
//! runs them fast; the fuzzer grows what it needs.

use std::path::Path;
use std::process::ExitCode;

use testgen::kdump::{
    Compression, FlatSpec, KdumpOverrides, KdumpSpec, PageKind, flatten, kdump_bytes, mixed_pages,
};
use testgen::{
    CpuSpec, EM_386, EM_AARCH64, EM_X86_64, ElfSpec, Fill, LoadSpec, elf_bytes, note_bytes,
    sample_vmcoreinfo,
};

/// Where the klog_decode target maps its input (`fuzz/fuzz_targets/klog_decode.rs`).
const KLOG_BASE: u64 = 0xffff_8880_0000_0000;

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join(name), bytes)
}

use testgen::printk::{LOCKLESS_612_KEYS as PRINTK_612, legacy_record};

/// A vmcoreinfo whose kernel page tables sit at physical 0x1000 (inside the seed's PT_LOAD)
/// and whose printk ring is at physical 0, so `translate`, `read_virt` and `kernel_log` all
/// succeed on the seed.
fn walkable_vmcoreinfo() -> String {
    format!(
        "OSRELEASE=6.12.0-testgen\nPAGESIZE=4096\nSYMBOL(init_top_pgt)=ffffffff80001000\n\
         SYMBOL(swapper_pg_dir)=ffffffff80001000\nNUMBER(phys_base)=0\nKERNELOFFSET=0\n\
         NUMBER(pgtable_l5_enabled)=0\nCRASHTIME=1700000000\n{PRINTK_612}"
    )
}

/// A 4-level identity-ish page table in the first 16 KiB: PGD at 0x1000 → PUD at 0x2000 →
/// PMD at 0x3000 → a 2 MiB page at 0, so the fuzzer starts from a walk that succeeds.
fn page_table_image() -> Vec<u8> {
    let mut m = vec![0u8; 0x4000];
    let mut put = |off: usize, v: u64| m[off..off + 8].copy_from_slice(&v.to_le_bytes());
    // ffffffff80000000: PGD index 511, PUD index 510, PMD index 0.
    put(0x1000 + 511 * 8, 0x2000 | 0x63);
    put(0x2000 + 510 * 8, 0x3000 | 0x63);
    put(0x3000, 0xe3); // PS: a 2 MiB page at physical 0
    // Direct map ffff888000000000: PGD index 273 → the same PUD/PMD chain.
    put(0x1000 + 273 * 8, 0x2000 | 0x63);
    put(0x2000, 0x3000 | 0x63);
    m
}

fn elf_seeds(dir: &Path) -> std::io::Result<()> {
    let small = |paddr, size, fill| LoadSpec {
        paddr,
        vaddr: 0xffff_8880_0000_0000 + paddr,
        memsz: size,
        filesz: size,
        fill,
    };
    let base = ElfSpec {
        cpus: vec![CpuSpec::numbered(0, 1), CpuSpec::numbered(1, 2)],
        vmcoreinfo: Some(sample_vmcoreinfo()),
        loads: vec![
            small(0, 0x1000, Fill::Pattern),
            small(0x10_0000, 0x800, Fill::Pattern),
        ],
        ..ElfSpec::default()
    };
    write(dir, "x86_64-2cpu.elf", &elf_bytes(&base))?;
    let mut s = base.clone();
    s.qemu_notes = true;
    write(dir, "qemu-notes.elf", &elf_bytes(&s))?;
    let mut s = base.clone();
    s.pn_xnum = true;
    write(dir, "pn-xnum.elf", &elf_bytes(&s))?;
    let mut s = base.clone();
    s.cpus.push(CpuSpec { pid: 0, regs: None });
    s.loads[1].filesz = 0x100; // zero fill past filesz
    write(dir, "zeroed-note-short-filesz.elf", &elf_bytes(&s))?;
    let mut s = base.clone();
    s.truncate_to = Some(elf_bytes(&base).len() as u64 - 0x400);
    write(dir, "truncated.elf", &elf_bytes(&s))?;
    for (name, machine) in [("aarch64.elf", EM_AARCH64), ("i386.elf", EM_386)] {
        let s = ElfSpec {
            machine,
            cpus: vec![CpuSpec::numbered_for(machine, 0, 1)],
            loads: vec![small(0, 0x800, Fill::Pattern)],
            ..ElfSpec::default()
        };
        write(dir, name, &elf_bytes(&s))?;
    }
    // Big-endian cores (s390x ELF64, ppc ELF32) and an ELF32 whose program headers are 56
    // bytes apart.
    for (name, machine, elf32, phentsize) in [
        ("s390x-be.elf", 22, false, None),
        ("ppc32-be.elf", 20, true, None),
        ("ppc32-be-phent56.elf", 20, true, Some(56)),
    ] {
        let s = ElfSpec {
            machine,
            byte_order: testgen::ByteOrder::Big,
            elf32,
            elf32_phentsize: phentsize,
            cpus: vec![CpuSpec::numbered(0, 1)],
            ..base.clone()
        };
        write(dir, name, &elf_bytes(&s))?;
    }
    // Page tables that walk, so translate/read_virt get past the first level.
    let mut s = ElfSpec {
        cpus: vec![CpuSpec::numbered(0, 1)],
        vmcoreinfo: Some(walkable_vmcoreinfo()),
        loads: vec![LoadSpec {
            paddr: 0,
            // Direct map: a kernel-text vaddr would make it an alias, not RAM.
            vaddr: 0xffff_8880_0000_0000,
            memsz: 0x4000,
            filesz: 0x4000,
            fill: Fill::Hole,
        }],
        ..ElfSpec::default()
    };
    let mut img = elf_bytes(&s);
    let mut pt = page_table_image();
    let ring = lockless_ring(&klog_messages());
    pt[..ring.len()].copy_from_slice(&ring);
    // The single PT_LOAD's data is the last 0x4000 bytes of the file.
    let at = img.len() - pt.len();
    img[at..].copy_from_slice(&pt);
    write(dir, "page-tables.elf", &img)?;
    s.loads.clear();
    write(dir, "headers-only.elf", &elf_bytes(&s))?;
    Ok(())
}

fn note_seeds(dir: &Path) -> std::io::Result<()> {
    let spec = ElfSpec {
        cpus: vec![CpuSpec::numbered(0, 1), CpuSpec { pid: 0, regs: None }],
        qemu_notes: true,
        vmcoreinfo: Some(sample_vmcoreinfo()),
        ..ElfSpec::default()
    };
    write(dir, "x86_64-qemu.notes", &note_bytes(&spec))?;
    for (name, machine) in [("aarch64.notes", EM_AARCH64), ("i386.notes", EM_386)] {
        let s = ElfSpec {
            machine,
            cpus: vec![CpuSpec::numbered_for(machine, 0, 1)],
            ..ElfSpec::default()
        };
        write(dir, name, &note_bytes(&s))?;
    }
    let s = ElfSpec {
        machine: EM_X86_64,
        vmcoreinfo: Some(walkable_vmcoreinfo()),
        ..ElfSpec::default()
    };
    write(dir, "vmcoreinfo.notes", &note_bytes(&s))?;
    Ok(())
}

/// `kdump_open` reads its first byte as a selector: 0 puts back `KDUMP   `, 1 puts back the
/// flattened signature, anything else keeps the bytes as they are.
fn kdump_seed(dir: &Path, name: &str, image: &[u8]) -> std::io::Result<()> {
    let mut seed = Vec::with_capacity(image.len());
    if image.starts_with(b"KDUMP   ") {
        seed.push(0);
        seed.extend_from_slice(&image[8..]);
    } else if image.starts_with(b"makedumpfile\0\0\0\0") {
        seed.push(1);
        seed.extend_from_slice(&image[16..]);
    } else {
        seed.push(2);
        seed.extend_from_slice(image);
    }
    write(dir, name, &seed)
}

fn kdump_seeds(dir: &Path) -> std::io::Result<()> {
    let notes = ElfSpec {
        cpus: vec![CpuSpec::numbered(0, 1)],
        vmcoreinfo: Some(sample_vmcoreinfo()),
        ..ElfSpec::default()
    };
    let base = KdumpSpec {
        block_size: 512,
        pages: mixed_pages(24),
        notes,
        eraseinfo: Some("erase init_task.pid size 4\n".into()),
        ..KdumpSpec::default()
    };
    for c in Compression::ALL {
        let s = KdumpSpec {
            compression: c,
            ..base.clone()
        };
        kdump_seed(dir, &format!("v6-{c:?}.kdump"), &kdump_bytes(&s))?;
    }
    for v in 1..=5 {
        let s = KdumpSpec {
            header_version: v,
            eraseinfo: None,
            ..base.clone()
        };
        kdump_seed(dir, &format!("v{v}-zlib.kdump"), &kdump_bytes(&s))?;
    }
    let mut s = base.clone();
    s.pages = vec![
        PageKind::Lost,
        PageKind::Corrupt,
        PageKind::Data,
        PageKind::Zero,
        PageKind::Raw,
        PageKind::Excluded,
    ];
    s.incomplete = true;
    kdump_seed(dir, "incomplete-corrupt.kdump", &kdump_bytes(&s))?;
    let s = KdumpSpec {
        split: Some((4, 12)),
        ..base.clone()
    };
    kdump_seed(dir, "split.kdump", &kdump_bytes(&s))?;
    let s = KdumpSpec {
        block_size: 4096,
        pages: mixed_pages(8),
        ..base.clone()
    };
    kdump_seed(dir, "v6-4k.kdump", &kdump_bytes(&s))?;
    // The 32-bit header layouts (IA-32 packed, other 32-bit padded sub-headers).
    for (abi, machine) in [
        (testgen::kdump::HeaderAbi::Ilp32Packed, "i686"),
        (testgen::kdump::HeaderAbi::Ilp32Padded, "armv7l"),
    ] {
        let s = KdumpSpec {
            abi,
            machine: machine.into(),
            ..base.clone()
        };
        kdump_seed(dir, &format!("v6-{machine}.kdump"), &kdump_bytes(&s))?;
    }
    // Big-endian headers, page descriptors and notes (ppc64 and s390x dumps).
    for machine in ["ppc64", "s390x"] {
        let s = KdumpSpec {
            machine: machine.into(),
            byte_order: testgen::ByteOrder::Big,
            ..base.clone()
        };
        kdump_seed(dir, &format!("v6-{machine}-be.kdump"), &kdump_bytes(&s))?;
    }
    // A flattened stream of an ELF image (makedumpfile -E -F), read as ELF.
    let elf = testgen::elf_bytes(&ElfSpec {
        cpus: vec![CpuSpec::numbered(0, 1)],
        vmcoreinfo: Some(sample_vmcoreinfo()),
        loads: vec![testgen::LoadSpec {
            paddr: 0x1000,
            vaddr: 0,
            memsz: 0x3000,
            filesz: 0x2000,
            fill: testgen::Fill::Pattern,
        }],
        ..ElfSpec::default()
    });
    kdump_seed(dir, "flat-elf.flat", &flatten(&elf, &FlatSpec::default()))?;
    let s = KdumpSpec {
        overrides: KdumpOverrides {
            max_mapnr: Some(1 << 40),
            ..KdumpOverrides::default()
        },
        ..base.clone()
    };
    kdump_seed(dir, "huge-max-mapnr.kdump", &kdump_bytes(&s))?;
    let image = kdump_bytes(&base);
    let flat = FlatSpec {
        record_size: 512,
        ..FlatSpec::default()
    };
    kdump_seed(dir, "flat.flat", &flatten(&image, &flat))?;
    let shuffled = FlatSpec {
        record_size: 700,
        shuffle_seed: Some(7),
        rewrite_header: true,
        ..FlatSpec::default()
    };
    kdump_seed(dir, "flat-shuffled.flat", &flatten(&image, &shuffled))?;
    let cut = FlatSpec {
        record_size: 512,
        end_marker: false,
        truncate_to: Some(6000),
        ..FlatSpec::default()
    };
    kdump_seed(dir, "flat-truncated.flat", &flatten(&image, &cut))?;
    Ok(())
}

/// Little-endian writer over the klog target's flat memory (offset 0 = `KLOG_BASE`).
struct Mem(Vec<u8>);

impl Mem {
    fn put(&mut self, off: u64, bytes: &[u8]) {
        let off = off as usize;
        if self.0.len() < off + bytes.len() {
            self.0.resize(off + bytes.len(), 0);
        }
        self.0[off..off + bytes.len()].copy_from_slice(bytes);
    }
    fn u64(&mut self, off: u64, v: u64) {
        self.put(off, &v.to_le_bytes());
    }
}

/// A printk lockless ring laid out for the klog target's 6.12 layout keys: `prb` (offset 0)
/// points at the ring at 0x40; descriptors, infos and text data follow. Records are placed as
/// the kernel's `data_alloc` places them (no wrap).
fn lockless_ring(msgs: &[Msg]) -> Vec<u8> {
    const RB: u64 = 0x40;
    const DESCS: u64 = 0x100;
    const INFOS: u64 = 0x300;
    let count_bits = 3u32;
    let count = 1u64 << count_bits;
    let data = INFOS + count * 88;
    let size_bits = 10u32;
    let mut m = Mem(Vec::new());
    m.u64(0, KLOG_BASE + RB);
    m.put(RB, &count_bits.to_le_bytes());
    m.u64(RB + 8, KLOG_BASE + DESCS);
    m.u64(RB + 16, KLOG_BASE + INFOS);
    m.put(RB + 48, &size_bits.to_le_bytes());
    m.u64(RB + 56, KLOG_BASE + data);
    m.put(data + (1 << size_bits) - 1, &[0]);
    let mut lpos = 0u64;
    for (id, (text, ts, dev)) in msgs.iter().enumerate() {
        let id = id as u64;
        let blk = (8 + text.len() as u64).div_ceil(8) * 8;
        m.u64(data + lpos, id);
        m.put(data + lpos + 8, text.as_bytes());
        let desc = DESCS + (id % count) * 24;
        m.u64(desc, (2 << 62) | id); // desc_finalized
        m.u64(desc + 8, lpos);
        m.u64(desc + 16, lpos + blk);
        let info = INFOS + (id % count) * 88;
        m.u64(info, id);
        m.u64(info + 8, *ts);
        m.put(info + 16, &(text.len() as u16).to_le_bytes());
        m.put(info + 18, &[0, 6 << 5]);
        m.put(info + 20, &(id as u32 + 1).to_le_bytes());
        if let Some((sub, dev)) = dev {
            m.put(info + 24, sub.as_bytes());
            m.put(info + 40, dev.as_bytes());
        }
        lpos += blk;
    }
    let last = msgs.len().saturating_sub(1) as u64;
    m.u64(RB + 24, last); // head_id
    m.u64(RB + 32, 0); // tail_id
    m.u64(RB + 48 + 16, lpos); // head_lpos
    m.u64(RB + 48 + 24, 0); // tail_lpos
    m.0
}

/// A legacy `log_buf` (before 5.10): `log_buf` pointer at 0, `log_buf_len` at 8,
/// `log_first_idx` at 0x10, `log_next_idx` at 0x18, the buffer at 0x40.
fn legacy_log(msgs: &[(&str, &str, u64)]) -> Vec<u8> {
    const BUF: u64 = 0x40;
    let mut recs = Vec::new();
    for (text, dict, ts) in msgs {
        recs.extend_from_slice(&legacy_record(text, dict, *ts, 6));
    }
    let buf_len = (recs.len() as u64 + 64).next_power_of_two();
    let mut m = Mem(Vec::new());
    m.u64(0, KLOG_BASE + BUF);
    m.put(8, &(buf_len as u32).to_le_bytes());
    m.put(0x10, &0u32.to_le_bytes());
    m.put(0x18, &(recs.len() as u32).to_le_bytes());
    m.put(BUF, &recs);
    m.put(BUF + buf_len - 1, &[0]);
    m.0
}

type Msg = (&'static str, u64, Option<(&'static str, &'static str)>);

fn klog_messages() -> Vec<Msg> {
    vec![
        ("Linux version 6.12.0-testgen", 0, None),
        ("smpboot: CPU 3 is now offline", 8_070_000_000, None),
        (
            "usb 1-1: new device",
            9_000_000_000,
            Some(("usb", "c189:1")),
        ),
        (
            "Kernel panic - not syncing: sysrq triggered crash",
            39_554_713_000,
            None,
        ),
    ]
}

fn klog_seeds(dir: &Path) -> std::io::Result<()> {
    let ring = lockless_ring(&klog_messages());
    write(dir, "lockless.mem", &ring)?;
    let legacy = legacy_log(&[
        ("Linux version 4.19", "", 0),
        ("smpboot: CPU 1 is now offline", "", 5_000_000_000),
        ("new device", "SUBSYSTEM=usb\0DEVICE=c189:1", 6_000_000_000),
    ]);
    write(dir, "legacy.mem", &legacy)?;
    // The same memories with layout lines of their own ('V', lines, NUL, memory).
    let with_layout = |lines: &str, mem: &[u8]| [b"V", lines.as_bytes(), b"\0", mem].concat();
    write(
        dir,
        "lockless-layout.mem",
        &with_layout(
            "SIZE(printk_info)=88\nOFFSET(printk_info.caller_id)=20\n",
            &ring,
        ),
    )?;
    write(
        dir,
        "legacy-layout.mem",
        &with_layout(
            "SIZE(printk_log)=16\nOFFSET(printk_log.dict_len)=12\n",
            &legacy,
        ),
    )?;
    Ok(())
}

fn elfcorehdr_seeds(dir: &Path) -> std::io::Result<()> {
    // Headers only (no PT_LOAD data): the shape of what kexec loads, without the kernel's
    // exact layout (the real headers from testdata/real bring that).
    let s = ElfSpec {
        cpus: vec![CpuSpec::numbered(0, 1)],
        vmcoreinfo: Some(sample_vmcoreinfo()),
        loads: vec![LoadSpec {
            paddr: 0x10_0000,
            vaddr: 0xffff_8880_0010_0000,
            memsz: 0x1000_0000,
            filesz: 0x1000_0000,
            fill: Fill::Hole,
        }],
        // Headers and notes only: a hole is never written, so this stays small.
        truncate_to: Some(0x1000),
        ..ElfSpec::default()
    };
    write(dir, "testgen-headers.bin", &elf_bytes(&s))?;
    Ok(())
}

/// The hostile inputs of issue #16 (`testgen::hostile`) whose bytes fit a fuzz input: the
/// sparse tail of a file cannot be fuzzed, but the headers that declare it can.
fn hostile_seeds(out: &Path) -> std::io::Result<()> {
    for f in testgen::hostile::dumps() {
        if f.bytes.len() > 1 << 16 {
            continue;
        }
        let name = format!("hostile-{}", f.name);
        if f.bytes.starts_with(b"\x7fELF") {
            write(&out.join("elf_open"), &name, &f.bytes)?;
        } else {
            kdump_seed(&out.join("kdump_open"), &name, &f.bytes)?;
        }
    }
    // The ring of 2^26 descriptors, in the klog target's memory (prb at its start).
    write(
        &out.join("klog_decode"),
        "hostile-ring-2p26.mem",
        &testgen::hostile::printk_huge_ring(26),
    )?;
    write(
        &out.join("history_import"),
        "hostile-cpus-666664.jsonl",
        testgen::hostile::history_with_cpus(666_664).as_bytes(),
    )
}

/// Seeds for `arm64_walk` (fuzz/fuzz_targets/arm64_walk.rs): real-shaped tables for every
/// granule, laid out as that target reads its input (the header in the first bytes, the whole
/// input is physical memory from 0, mapped addresses after byte 32).
fn arm64_walk_seeds(dir: &Path) -> std::io::Result<()> {
    use testgen::arm64pt::Arm64Tables;
    for (granule, page_shift, va_bits) in [(0u8, 12u32, 48u32), (1, 14, 47), (2, 16, 42)] {
        let page = 1u64 << page_shift;
        // Tables from the second page on; the first holds the header.
        let mut t = Arm64Tables::new(page_shift, va_bits, page);
        let kernel = u64::MAX << va_bits;
        let mut vas = Vec::new();
        for (i, shift) in [page_shift, page_shift + (page_shift - 3)]
            .into_iter()
            .enumerate()
        {
            let va = kernel + ((i as u64 + 1) << (va_bits - 4));
            if t.map(va, 0x4000_0000 << i, shift, i == 0) {
                vas.push(va + 0x18);
            }
        }
        let end = t
            .pages()
            .map(|(a, b)| a + b.len() as u64)
            .max()
            .unwrap_or(page);
        let mut bytes = vec![0u8; end as usize];
        for (a, b) in t.pages() {
            bytes[a as usize..a as usize + b.len()].copy_from_slice(b);
        }
        let kimage_voffset = 0xffff_8000_0000_0000u64;
        bytes[0] = (64 - va_bits) as u8;
        bytes[1] = va_bits as u8;
        bytes[2] = granule;
        bytes[8..16].copy_from_slice(&kimage_voffset.to_le_bytes());
        bytes[16..24].copy_from_slice(&0x4000_0000u64.to_le_bytes());
        bytes[24..32].copy_from_slice(&t.root.wrapping_add(kimage_voffset).to_le_bytes());
        for (i, va) in vas.iter().enumerate() {
            bytes[32 + 8 * i..40 + 8 * i].copy_from_slice(&va.to_le_bytes());
        }
        write(
            dir,
            &format!("tables-{}k-{va_bits}bit.bin", page / 1024),
            &bytes,
        )?;
    }
    Ok(())
}

fn main() -> ExitCode {
    let Some(out) = std::env::args().nth(1) else {
        eprintln!("usage: testgen-fuzz-seeds OUT_DIR");
        return ExitCode::from(2);
    };
    let out = Path::new(&out);
    let r = elf_seeds(&out.join("elf_open"))
        .and_then(|()| note_seeds(&out.join("notes")))
        .and_then(|()| kdump_seeds(&out.join("kdump_open")))
        .and_then(|()| klog_seeds(&out.join("klog_decode")))
        .and_then(|()| elfcorehdr_seeds(&out.join("elfcorehdr_parse")))
        .and_then(|()| {
            write(
                &out.join("btf_parse"),
                "testgen-sample.btf",
                &testgen::btf::sample(),
            )
        })
        .and_then(|()| arm64_walk_seeds(&out.join("arm64_walk")))
        .and_then(|()| hostile_seeds(out));
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("testgen-fuzz-seeds: {e}");
            ExitCode::FAILURE
        }
    }
}
