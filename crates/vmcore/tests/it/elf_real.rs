//! Real-data oracle tests: the ELF dumps of the Linux 6.12 QEMU scenario (testdata/real) against
//! the outputs of gdb, readelf, eu-readelf and drgn stored beside them.

use std::collections::HashMap;

use sha2::{Digest, Sha256};
use vmcore::{Dump, Format, PhysAddr, Registers};

use real_data::STEPS;

fn oracle(rel: &str) -> String {
    real_data::read_to_string(&format!("oracles/{rel}")).expect(rel)
}

/// `readelf -l -W` program headers: (type, offset, vaddr, paddr, filesz, memsz).
fn readelf_phdrs(text: &str) -> Vec<(String, u64, u64, u64, u64, u64)> {
    let hex = |s: &str| u64::from_str_radix(s.trim_start_matches("0x"), 16).expect(s);
    text.lines()
        .map(str::trim)
        .filter(|l| l.starts_with("LOAD ") || l.starts_with("NOTE "))
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (
                f[0].to_string(),
                hex(f[1]),
                hex(f[2]),
                hex(f[3]),
                hex(f[4]),
                hex(f[5]),
            )
        })
        .collect()
}

fn our_phdrs(d: &Dump) -> Vec<(String, u64, u64, u64, u64, u64)> {
    d.segments()
        .iter()
        .map(|s| {
            (
                s.type_name().to_string(),
                s.p_offset,
                s.p_vaddr,
                s.p_paddr,
                s.p_filesz,
                s.p_memsz,
            )
        })
        .collect()
}

/// gdb `thread apply all info registers`: LWP id → register name → value.
fn gdb_registers(text: &str) -> HashMap<u32, HashMap<String, u64>> {
    let mut all = HashMap::new();
    let mut cur: Option<(u32, HashMap<String, u64>)> = None;
    for l in text.lines() {
        if let Some(rest) = l.strip_prefix("Thread ") {
            if let Some((id, regs)) = cur.take() {
                all.insert(id, regs);
            }
            // "Thread 4 (LWP 4):"
            let lwp = rest
                .split("(LWP ")
                .nth(1)
                .and_then(|s| s.trim_end_matches("):").parse().ok());
            cur = lwp.map(|id| (id, HashMap::new()));
            continue;
        }
        let f: Vec<&str> = l.split_whitespace().collect();
        if let (Some((_, regs)), [name, val, ..]) = (cur.as_mut(), f.as_slice())
            && let Some(h) = val.strip_prefix("0x")
        {
            regs.insert(name.to_string(), u64::from_str_radix(h, 16).expect(val));
        }
    }
    if let Some((id, regs)) = cur {
        all.insert(id, regs);
    }
    all
}

fn reg(r: &Registers, name: &str) -> u64 {
    let name = if name == "eflags" { "eflags" } else { name };
    r.named()
        .into_iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
        .unwrap_or_else(|| panic!("no register {name}"))
}

/// `eu-readelf -n` PRSTATUS blocks in note order: pid and register name → value.
fn eu_readelf_prstatus(text: &str) -> Vec<(u32, HashMap<String, u64>)> {
    let mut out: Vec<(u32, HashMap<String, u64>)> = Vec::new();
    for l in text.lines() {
        let t = l.trim();
        if t.starts_with("CORE") && t.ends_with("PRSTATUS") {
            out.push((0, HashMap::new()));
            continue;
        }
        let Some((pid, regs)) = out.last_mut() else {
            continue;
        };
        if let Some(rest) = t.strip_prefix("pid: ") {
            *pid = rest.split(',').next().unwrap().trim().parse().unwrap();
            continue;
        }
        if t.starts_with("info.") || t.starts_with("sig") || t.starts_with("utime") {
            continue;
        }
        // "r15: -131119950640960  r14: 99" / "cs: 0x0010  ss: 0x0018 ..." / "orig_rax: 0, fpvalid: 0"
        let toks: Vec<&str> = t.split_whitespace().collect();
        let mut i = 0;
        while i + 1 < toks.len() {
            if let Some(name) = toks[i].strip_suffix(':') {
                let v = toks[i + 1].trim_end_matches(',');
                let val = if let Some(h) = v.strip_prefix("0x") {
                    u64::from_str_radix(h, 16).ok()
                } else {
                    v.parse::<i64>().ok().map(|x| x as u64)
                };
                if let Some(val) = val {
                    let name = match name {
                        "rflags" => "eflags",
                        "fs.base" => "fs_base",
                        "gs.base" => "gs_base",
                        n => n,
                    };
                    regs.insert(name.to_string(), val);
                }
                i += 2;
            } else {
                i += 1;
            }
        }
    }
    out
}

fn sha256_hex(b: &[u8]) -> String {
    Sha256::digest(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

fn drgn_reads(file_suffix: &str) -> Vec<(u64, usize, String)> {
    let v: serde_json::Value = serde_json::from_str(&oracle("drgn-reads.json")).unwrap();
    let files = v["files"].as_array().unwrap();
    let f = files
        .iter()
        .find(|f| f["file"].as_str().unwrap().ends_with(file_suffix))
        .unwrap_or_else(|| panic!("no drgn reads for {file_suffix}"));
    f["reads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let a = r["address"].as_str().unwrap();
            (
                u64::from_str_radix(a.trim_start_matches("0x"), 16).unwrap(),
                r["length"].as_u64().unwrap() as usize,
                r["sha256"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn open_real(rel: &str) -> Dump {
    let p = real_data::path(rel).unwrap_or_else(|e| panic!("{rel}: {e}"));
    Dump::open(&p).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

#[test]
fn proc_vmcore_phdrs_equal_readelf() {
    let d = open_real("kdump/proc-vmcore.elf");
    assert_eq!(d.format(), Format::Elf64);
    assert_eq!(
        our_phdrs(&d),
        readelf_phdrs(&oracle("proc-vmcore.readelf.txt"))
    );
    assert!(d.truncation().is_none());
    assert!(d.findings().is_empty(), "{:?}", d.findings());
}

#[test]
fn proc_vmcore_registers_equal_eu_readelf_in_note_order() {
    let d = open_real("kdump/proc-vmcore.elf");
    let want = eu_readelf_prstatus(&oracle("proc-vmcore.eu-readelf-n.txt"));
    // The kernel's /proc/vmcore drops the empty note of the offline CPU: 3 of 4 CPUs.
    assert_eq!(want.len(), 3);
    assert_eq!(d.cpus().len(), want.len());
    for (c, (pid, regs)) in d.cpus().iter().zip(&want) {
        assert_eq!(c.pid, *pid, "note {}", c.note_index);
        // Kernel dumps do not say which CPU a note belongs to.
        assert_eq!(c.cpu, None);
        let r = c.regs.as_ref().expect("context");
        let known = regs
            .keys()
            .filter(|k| vmcore::cpu::X86_64_REG_NAMES.contains(&k.as_str()))
            .count();
        assert_eq!(known, 27, "oracle parse: {regs:?}");
        for (name, v) in regs {
            if !vmcore::cpu::X86_64_REG_NAMES.contains(&name.as_str()) {
                continue;
            }
            assert_eq!(reg(r, name), *v, "note {} register {name}", c.note_index);
        }
    }
}

#[test]
fn proc_vmcore_physical_reads_equal_drgn() {
    let d = open_real("kdump/proc-vmcore.elf");
    let reads = drgn_reads("/proc-vmcore.elf");
    assert!(reads.len() >= 10);
    for (addr, len, sha) in reads {
        let mut buf = vec![0u8; len];
        d.read_phys(PhysAddr(addr), &mut buf)
            .unwrap_or_else(|e| panic!("{addr:#x}: {e}"));
        assert_eq!(sha256_hex(&buf), sha, "read {len} bytes at {addr:#x}");
    }
}

#[test]
fn proc_vmcore_vmcoreinfo_equals_eu_readelf_note() {
    let d = open_real("kdump/proc-vmcore.elf");
    let v = d.vmcoreinfo().expect("vmcoreinfo");
    // eu-readelf printed the note's description as hex bytes on one line.
    let text = oracle("proc-vmcore.eu-readelf-n.txt");
    let hexline = text
        .lines()
        .skip_while(|l| !l.contains("VMCOREINFO"))
        .find_map(|l| l.split("description data: ").nth(1).map(str::to_string))
        .or_else(|| {
            text.lines()
                .find_map(|l| l.trim().strip_prefix("VMCOREINFO").map(|_| String::new()))
        })
        .unwrap_or_default();
    let note = d.notes().iter().find(|n| n.name == "VMCOREINFO").unwrap();
    if !hexline.is_empty() {
        let bytes: Vec<u8> = hexline
            .split_whitespace()
            .map(|h| u8::from_str_radix(h, 16).unwrap())
            .collect();
        assert_eq!(note.desc, bytes);
    }
    assert_eq!(v.osrelease(), Some("6.12.111+deb12-amd64"));
    assert_eq!(v.page_size(), Some(4096));
    assert_eq!(v.crash_time(), Some(1795656305));
    assert_eq!(v.symbol("prb"), Some(0xffffffff8a65c3a0));
    assert_eq!(v.kernel_offset(), Some(0x7a00000));
    assert_eq!(v.number("phys_base"), Some(285212672));
}

#[test]
fn qemu_dump_headers_of_every_step_equal_readelf_and_gdb() {
    for step in STEPS {
        let hdr = real_data::path(&format!("steps/qemu-dump-{step}.hdr")).unwrap();
        // The .hdr files are QEMU ELF dumps cut after the notes: a truncated dump that must
        // still give its headers, notes and registers.
        let d = Dump::open(&hdr).unwrap();
        assert_eq!(d.format(), Format::Elf64, "{step}");
        assert_eq!(
            our_phdrs(&d),
            readelf_phdrs(&oracle(&format!("qemu-dump-{step}.readelf.txt"))),
            "{step}"
        );
        let t = d.truncation().expect("truncated on purpose");
        assert_eq!(
            t.missing_bytes,
            d.memory().ranges().iter().map(|r| r.file_size).sum::<u64>(),
            "{step}: every memory byte is missing"
        );
        assert!(d.findings().iter().any(|f| f.code == "ELF001"), "{step}");

        let gdb = gdb_registers(&oracle(&format!("qemu-dump-{step}.gdb.txt")));
        // QEMU writes a note per vCPU (4), online or not, with pr_pid = index + 1.
        assert_eq!(d.cpus().len(), 4, "{step}");
        assert_eq!(gdb.len(), 4, "{step}");
        for c in d.cpus() {
            assert_eq!(c.cpu, Some(c.pid - 1), "{step}: QEMU numbering");
            let want = &gdb[&c.pid];
            let r = c.regs.as_ref().expect("context");
            for (name, v) in want {
                assert_eq!(reg(r, name), *v, "{step} CPU {:?} {name}", c.cpu);
            }
            let q = c.qemu.expect("QEMU CPU state note");
            assert_eq!(
                q.rip,
                reg(r, "rip"),
                "{step}: QEMU note agrees with PRSTATUS"
            );
            assert_ne!(q.cr[3], 0, "{step}: CR3 present");
            assert_ne!(q.idt.base, 0);
        }
        let v = d.vmcoreinfo().expect("QEMU copies the guest's vmcoreinfo");
        assert_eq!(v.osrelease(), Some("6.12.111+deb12-amd64"));
        assert_eq!(v.crash_time(), None, "a live guest has not crashed");
    }
}

#[test]
fn qemu_dump_06_physical_reads_equal_drgn_and_vmcoreinfo_is_in_memory() {
    let d = open_real("qemu-dumps/dump-06-cpu3-online.elf");
    assert!(d.truncation().is_none());
    for (addr, len, sha) in drgn_reads("/dump-06-cpu3-online.elf") {
        let mut buf = vec![0u8; len];
        d.read_phys(PhysAddr(addr), &mut buf)
            .unwrap_or_else(|e| panic!("{addr:#x}: {e}"));
        assert_eq!(sha256_hex(&buf), sha, "read {len} bytes at {addr:#x}");
    }
    // /sys/kernel/vmcoreinfo gives the physical address of the guest's vmcoreinfo note: reading
    // it from guest memory must give the same text QEMU copied into its VMCOREINFO note.
    let sys = real_data::read_to_string("steps/root-06-cpu3-online/sys/kernel/vmcoreinfo").unwrap();
    let mut it = sys.split_whitespace();
    let pa = u64::from_str_radix(it.next().unwrap().trim_start_matches("0x"), 16).unwrap();
    let size = usize::from_str_radix(it.next().unwrap(), 16).unwrap();
    assert_eq!(size, 0x1024);
    let mut note = vec![0u8; size];
    d.read_phys(PhysAddr(pa), &mut note).unwrap();
    let descsz = u32::from_le_bytes(note[4..8].try_into().unwrap()) as usize;
    assert_eq!(&note[12..23], b"VMCOREINFO\0");
    let text = &note[24..24 + descsz];
    let qemu_note = d.notes().iter().find(|n| n.name == "VMCOREINFO").unwrap();
    assert_eq!(text, &qemu_note.desc[..]);
    // Unmapped: the MMIO hole below 4 GiB.
    let mut b = [0u8; 8];
    let e = d.read_phys(PhysAddr(0xe000_0000), &mut b).unwrap_err();
    assert!(
        matches!(e, vmcore::Error::NotInDump { addr: 0xe000_0000 }),
        "{e}"
    );
}

#[test]
fn raw_elfcorehdr_opens_as_headers_only_and_equals_readelf() {
    for step in STEPS {
        let p = real_data::path(&format!("steps/elfcorehdr-{step}.bin")).unwrap();
        let d = Dump::open(&p).unwrap();
        assert_eq!(d.format(), Format::Elfcorehdr, "{step}");
        assert!(d.is_headers_only());
        assert_eq!(
            our_phdrs(&d),
            readelf_phdrs(&oracle(&format!("elfcorehdr-{step}.readelf.txt"))),
            "{step}"
        );
        assert!(d.cpus().is_empty());
        assert!(d.truncation().is_none(), "headers only is not truncation");
        let mut b = [0u8; 4];
        assert!(matches!(
            d.read_phys(PhysAddr(0x100000), &mut b),
            Err(vmcore::Error::HeadersOnly { .. })
        ));
        // 4 possible CPUs + vmcoreinfo notes.
        assert_eq!(d.segments().iter().filter(|s| s.p_type == 4).count(), 5);
    }
}

/// The raw ELF layer (`kdump_types::elf`) encodes what it decodes, byte for byte, on the real
/// headers: the kernel's /proc/vmcore, and the kernel's own elfcorehdr of every step (whose
/// fields `raw_elfcorehdr_opens_as_headers_only_and_equals_readelf` checks against readelf).
#[test]
fn raw_elf_layer_round_trips_the_real_headers() {
    use kdump_types::Bytes;
    use kdump_types::elf::{EHDR64_SIZE, Elf64Ehdr, Elf64Phdr, PHDR64_SIZE};
    use std::io::Read;

    let mut files = vec!["kdump/proc-vmcore.elf".to_string()];
    files.extend(STEPS.iter().map(|s| format!("steps/elfcorehdr-{s}.bin")));
    for rel in files {
        let p = real_data::path(&rel).unwrap();
        let mut head = vec![0u8; EHDR64_SIZE];
        let mut f = std::fs::File::open(&p).unwrap();
        f.read_exact(&mut head).unwrap();
        let h = Elf64Ehdr::read(&Bytes::new(&head, 0), 0).unwrap();
        assert_eq!(h.to_bytes().to_vec(), head, "{rel}: ELF header");
        assert_eq!(h.e_phoff, EHDR64_SIZE as u64, "{rel}");
        let mut table = vec![0u8; usize::from(h.e_phnum) * PHDR64_SIZE];
        f.read_exact(&mut table).unwrap();
        let b = Bytes::new(&table, h.e_phoff);
        let d = Dump::open(&p).unwrap();
        assert_eq!(d.segments().len(), usize::from(h.e_phnum), "{rel}");
        for (i, s) in d.segments().iter().enumerate() {
            let at = (i * PHDR64_SIZE) as u64;
            let ph = Elf64Phdr::read(&b, at).unwrap();
            assert_eq!(ph, s.phdr, "{rel}: phdr {i}");
            assert_eq!(
                &ph.to_bytes()[..],
                &table[at as usize..at as usize + PHDR64_SIZE],
                "{rel}: phdr {i} re-encoded"
            );
        }
    }
}
