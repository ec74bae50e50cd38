//! Snapshots of every foundation subcommand on real dumps, JSON read back with our own types,
//! and exit codes.

use crate::{real, stdout, vmcore};
use std::path::Path;

use serde_json::Value;

#[test]
fn help_of_every_subcommand() {
    for sub in [
        "info",
        "cpus",
        "map",
        "vmcoreinfo",
        "notes",
        "read",
        "dmesg",
        "vtop",
        "bt",
        "ps",
        "modules",
        "sym",
        "ksyms",
        "btf",
        "convert",
        "check",
        "diff",
        "elfcorehdr",
    ] {
        let o = vmcore(&[sub, "--help"]);
        assert!(o.status.success(), "{sub}");
        insta::assert_snapshot!(format!("help_{sub}"), stdout(&o));
    }
}

#[test]
fn info_cpus_map_notes_on_the_kernel_vmcore() {
    let f = real("kdump/proc-vmcore.elf");
    for sub in ["info", "cpus", "notes"] {
        let o = vmcore(&[sub, &f]);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{sub}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        insta::assert_snapshot!(format!("proc_vmcore_{sub}"), stdout(&o));
    }
    let o = vmcore(&["map", "--segments", &f]);
    insta::assert_snapshot!("proc_vmcore_map", stdout(&o));
}

#[test]
fn info_and_cpus_of_a_qemu_dump_cut_after_its_notes() {
    // A QEMU dump truncated on purpose: registers are there, memory is not.
    let f = real("steps/qemu-dump-05-cpu1-offline.hdr");
    let o = vmcore(&["info", &f]);
    assert_eq!(o.status.code(), Some(1), "truncation is a finding");
    insta::assert_snapshot!("qemu_hdr_info", stdout(&o));
    let o = vmcore(&["cpus", &f]);
    insta::assert_snapshot!("qemu_hdr_cpus", stdout(&o));
}

#[test]
fn info_of_a_raw_elfcorehdr() {
    let f = real("steps/elfcorehdr-01-mem-hotadd-128M.bin");
    let o = vmcore(&["info", &f]);
    insta::assert_snapshot!("elfcorehdr_info", stdout(&o));
    let o = vmcore(&["notes", &f]);
    insta::assert_snapshot!("elfcorehdr_notes", stdout(&o));
}

#[test]
fn json_documents_read_back_with_independent_types() {
    let f = real("kdump/proc-vmcore.elf");
    let o = vmcore(&["cpus", "--json", &f]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["version"], 1);
    assert_eq!(v["format"], "elf64");
    assert_eq!(v["file"], "proc-vmcore.elf");
    let cpus = v["cpus"].as_array().unwrap();
    assert_eq!(cpus.len(), 3);
    assert_eq!(cpus[0]["pid"], 874);
    let rip = cpus[0]["registers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r[0] == "rip")
        .unwrap();
    assert_eq!(rip[1], "0xffffffff88bdbc4c");

    let o = vmcore(&["map", "--json", &f]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["ranges"].as_array().unwrap().len(), 4);
    assert_eq!(v["segments"].as_array().unwrap().len(), 5);
    assert_eq!(v["ranges"][0]["phys_start"], "0x100000");

    let o = vmcore(&["info", "--json", &f]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["kernel_release"], "6.12.111+deb12-amd64");
    assert_eq!(v["register_notes"], 3);
    // The kernel-log decoder's finding, as the TUI lists it (one descriptor was being written).
    let findings = v["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0]["code"], "KLOG002");

    // dmesg and vtop carry the common header too.
    for args in [
        &["dmesg", "--json"][..],
        &["vtop", "--json", "0xffffffff88a00000"][..],
    ] {
        let mut a = args.to_vec();
        a.push(&f);
        let o = vmcore(&a);
        let v: Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["version"], 1, "{args:?}");
        assert_eq!(v["file"], "proc-vmcore.elf", "{args:?}");
        // dmesg's own `format` is the log's; the dump's is `dump_format` there.
        let fmt = if args[0] == "dmesg" {
            "dump_format"
        } else {
            "format"
        };
        assert_eq!(v[fmt], "elf64", "{args:?}");
        assert_eq!(v["machine"], "x86_64", "{args:?}");
    }

    // Several dumps: one document each, in an array.
    let o = vmcore(&[
        "info",
        "--json",
        &f,
        &real("steps/elfcorehdr-06-cpu3-online.bin"),
    ]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let docs = v.as_array().unwrap();
    assert_eq!(docs.len(), 2);
    assert_eq!(docs[0]["file"], "proc-vmcore.elf");
    assert_eq!(docs[1]["format"], "elfcorehdr");

    let o = vmcore(&["vmcoreinfo", "--json", &f]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["entries"].as_array().unwrap().len() > 100);

    let o = vmcore(&["notes", "--json", &f]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["notes"][3]["name"], "VMCOREINFO");
}

#[test]
fn read_phys_hexdump_and_raw() {
    let f = real("kdump/proc-vmcore.elf");
    // drgn's oracle: 16 bytes of 0x90 (NOPs) at the start of kernel text.
    let o = vmcore(&["read", &f, "--phys", "0x19a00000", "--len", "32"]);
    assert!(o.status.success());
    insta::assert_snapshot!("read_hexdump", stdout(&o));
    let o = vmcore(&["read", &f, "--phys", "0x19a00000", "--len", "16", "--raw"]);
    assert_eq!(o.stdout, vec![0x90u8; 16]);
    let o = vmcore(&["vmcoreinfo", &f, "--key", "OSRELEASE"]);
    assert_eq!(stdout(&o), "6.12.111+deb12-amd64\n");
}

#[test]
fn exit_codes_and_error_messages_name_the_problem() {
    let f = real("kdump/proc-vmcore.elf");
    // Unmapped address: unusable request, exit 2, message names the address.
    let o = vmcore(&["read", &f, "--phys", "0xe0000000", "--len", "8"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("0xe0000000") && err.contains("not in the dump"),
        "{err}"
    );
    // Not a dump.
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk");
    std::fs::write(&junk, b"definitely not a crash dump").unwrap();
    let o = vmcore(&["info", junk.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("offset 0x0"));
    // Missing file.
    let o = vmcore(&["info", "/nonexistent/vmcore"]);
    assert_eq!(o.status.code(), Some(2));
    // Usage error.
    let o = vmcore(&["read", &f]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn truncated_generated_dump_exits_1_and_names_missing_ranges() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("cut.vmcore");
    let mut spec = testgen::ElfSpec {
        cpus: vec![testgen::CpuSpec::numbered(0, 1)],
        vmcoreinfo: Some(testgen::sample_vmcoreinfo()),
        loads: vec![testgen::LoadSpec {
            paddr: 0x100000,
            vaddr: 0,
            memsz: 0x4000,
            filesz: 0x4000,
            fill: testgen::Fill::Pattern,
        }],
        ..Default::default()
    };
    let full = testgen::elf_bytes(&spec).len() as u64;
    spec.truncate_to = Some(full - 0x1000);
    testgen::write_elf_file(&spec, &p).unwrap();
    let o = vmcore(&["info", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let s = stdout(&o);
    assert!(
        s.contains("truncated:   4.0 KiB missing in 1 range(s)"),
        "{s}"
    );
    assert!(s.contains("ELF001"), "{s}");
    let o = vmcore(&[
        "read",
        p.to_str().unwrap(),
        "--phys",
        "0x103800",
        "--len",
        "16",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("truncated"));
    assert!(Path::new(&p).exists(), "input untouched");
}

#[test]
fn convert_kdump_compressed_to_elf_keeps_registers_log_and_pages() {
    let k = real("kdump/makedumpfile-c-d31.kdump");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("converted.elf");
    let o = vmcore(&["convert", &k, "-o", out.to_str().unwrap(), "--no-progress"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // 34394 stored pages, plus the 10158 of them in the kernel-text alias written again (as
    // /proc/vmcore and makedumpfile -E do).
    assert!(stdout(&o).contains("44552 pages written"), "{}", stdout(&o));
    assert!(!dir.path().read_dir().unwrap().any(|e| {
        e.unwrap()
            .file_name()
            .to_string_lossy()
            .contains(".partial.")
    }));
    let src = vmcore::Dump::open(&k).unwrap();
    let dst = vmcore::Dump::open(&out).unwrap();
    assert_eq!(dst.format(), vmcore::Format::Elf64);
    assert_eq!(src.cpus().len(), dst.cpus().len());
    for (a, b) in src.cpus().iter().zip(dst.cpus()) {
        assert_eq!(a.regs, b.regs);
    }
    assert_eq!(
        src.vmcoreinfo().unwrap().entries(),
        dst.vmcoreinfo().unwrap().entries()
    );
    // Every 7th stored page reads the same; excluded pages stay excluded in the ELF
    // (p_memsz > p_filesz, as makedumpfile -E marks them) and read as zeros on request.
    let mut dst = dst;
    let (mut same, mut excluded) = (0, 0);
    let mut pa = vec![0u8; 4096];
    let mut pb = vec![0u8; 4096];
    for r in src.memory().ram() {
        let mut a = r.phys.start.0;
        while a < r.phys.end.0 {
            match src.read_phys(vmcore::PhysAddr(a), &mut pa) {
                Ok(()) => {
                    dst.read_phys(vmcore::PhysAddr(a), &mut pb).unwrap();
                    assert_eq!(pa, pb, "page {a:#x}");
                    same += 1;
                }
                Err(vmcore::Error::PageExcluded { .. }) => {
                    let r = dst.read_phys(vmcore::PhysAddr(a), &mut pb);
                    assert!(
                        matches!(r, Err(vmcore::Error::PageExcluded { .. })),
                        "{a:#x}"
                    );
                    dst.set_excluded_as_zero(true);
                    dst.read_phys(vmcore::PhysAddr(a), &mut pb).unwrap();
                    dst.set_excluded_as_zero(false);
                    assert!(pb.iter().all(|&x| x == 0));
                    excluded += 1;
                }
                Err(e) => panic!("{a:#x}: {e}"),
            }
            a += 7 * 4096;
        }
    }
    assert!(same > 3000 && excluded > 5000, "{same} {excluded}");
    // The input is never the output.
    let o = vmcore(&["convert", &k, "-o", &k]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn diff_json_names_each_cpu_and_block() {
    let f = real("kdump/proc-vmcore.elf");
    let (boot, hist, state) = (
        real("steps/root-00-boot"),
        real("history.jsonl"),
        real("steps/root-06-cpu3-online"),
    );
    let args = [
        "diff",
        &f,
        "--history",
        &boot,
        "--history",
        &hist,
        "--state",
        &state,
    ];
    let o = vmcore(&[&args[..], &["--json"]].concat());
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let cpus = v["cpus"].as_array().unwrap();
    let online: Vec<u64> = cpus
        .iter()
        .filter(|c| c["history"] == "online" && c["has_context"] == true)
        .map(|c| c["cpu"].as_u64().unwrap())
        .collect();
    assert_eq!(online, vec![0, 2, 3]);
    assert_eq!(cpus[1]["history"], "offline");
    assert!(cpus[1]["note"].is_null());
    let dimm = v["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["block"] == 32)
        .unwrap();
    assert_eq!(dimm["range"], "0x100000000-0x107ffffff");
    assert_eq!(dimm["dumped_bytes"], 128 << 20);
    assert_eq!(v["findings"].as_array().unwrap().len(), 0);
    // Against the boot step the same dump holds the DIMM and CPU 3 wrongly: findings, exit 1.
    let o = vmcore(&[&args[..], &["--json", "--at", "00-boot"]].concat());
    assert_eq!(o.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let codes: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert!(
        codes.contains(&"HP001") || codes.contains(&"HP005"),
        "{codes:?}"
    );
}

/// A big-endian (s390x) kdump-compressed dump, as a user meets one: `info` names the byte
/// order, physical reads return the stored bytes, a kernel virtual address is refused with
/// the byte order named (no page walk is guessed), and `convert` writes a big-endian ELF
/// that reads the same.
#[test]
fn big_endian_dump_reads_physically_and_refuses_virtual_addresses_by_name() {
    use testgen::kdump::{Compression, KdumpSpec, PageKind, kdump_bytes, page_content};
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("s390x.kdump");
    let spec = KdumpSpec {
        compression: Compression::Zlib,
        machine: "s390x".into(),
        byte_order: testgen::ByteOrder::Big,
        pages: vec![
            PageKind::Data,
            PageKind::Zero,
            PageKind::Excluded,
            PageKind::Data,
        ],
        notes: testgen::ElfSpec {
            vmcoreinfo: Some("OSRELEASE=6.12.0-s390x\nPAGESIZE=4096\n".into()),
            ..Default::default()
        },
        ..KdumpSpec::default()
    };
    std::fs::write(&p, kdump_bytes(&spec)).unwrap();
    let f = p.to_str().unwrap();
    let o = vmcore(&["info", f]);
    let s = stdout(&o);
    assert!(s.contains("kdump-compressed (s390, big-endian)"), "{s}");
    assert!(s.contains("6.12.0-s390x"), "{s}");
    let o = vmcore(&["info", f, "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["byte_order"], "big");
    // Physical page 3 is stored: its bytes, as written.
    let o = vmcore(&["read", f, "--phys", "0x3000", "--len", "16", "--json"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let want: String = page_content(3, 4096)[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(v["hex"], want.as_str());
    let o = vmcore(&["vtop", "0x1000", f]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("big-endian") && err.contains("s390"), "{err}");
    // convert keeps the byte order: the ELF it writes is big-endian and reads the same.
    let out = dir.path().join("s390x.elf");
    let o = vmcore(&["convert", f, "-o", out.to_str().unwrap(), "--no-progress"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let e = vmcore::Dump::open(&out).unwrap();
    assert_eq!(e.byte_order(), vmcore::ByteOrder::Big);
    assert_eq!(
        e.vmcoreinfo().and_then(|v| v.osrelease()),
        Some("6.12.0-s390x")
    );
    let mut buf = vec![0u8; 4096];
    e.read_phys(vmcore::PhysAddr(0x3000), &mut buf).unwrap();
    assert!(buf == page_content(3, 4096));
}

/// `vmcore info part0 part1 part2` of a makedumpfile --split set reads them as one dump (as a
/// directory of them is read); parts of two sets are refused by name; unrelated dumps are
/// still reported one after the other.
#[test]
fn split_parts_named_together_are_one_dump() {
    use testgen::kdump::{Compression, KdumpSpec, kdump_bytes, mixed_pages};
    let dir = tempfile::tempdir().unwrap();
    let write_set = |tag: &str, release: &str| -> Vec<String> {
        [(0u64, 10u64), (10, 20), (20, 30)]
            .iter()
            .enumerate()
            .map(|(i, &cut)| {
                let s = KdumpSpec {
                    compression: Compression::Zlib,
                    pages: mixed_pages(30),
                    release: release.into(),
                    split: Some(cut),
                    ..KdumpSpec::default()
                };
                let p = dir.path().join(format!("{tag}{i}"));
                std::fs::write(&p, kdump_bytes(&s)).unwrap();
                p.to_string_lossy().into_owned()
            })
            .collect()
    };
    let a = write_set("a", "6.12.0-a");
    let b = write_set("b", "6.12.0-b");
    let o = vmcore(&["info", &a[2], &a[0], &a[1]]);
    let s = stdout(&o);
    assert!(s.contains("split set:   3 parts"), "{s}");
    assert!(!s.contains("==>"), "one dump, not three: {s}");
    let o = vmcore(&["info", &a[0], &a[1], "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v.is_object(), "one document: {v}");
    assert!(
        v["findings"].to_string().contains("KDUMP012"),
        "a missing part is named: {v}"
    );
    let o = vmcore(&["info", &a[0], &b[1]]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("not one set"), "{err}");
    // A split part beside a whole dump: two dumps, reported one after the other.
    let whole = real("kdump/makedumpfile-c-d31.kdump");
    let o = vmcore(&["info", &a[0], &whole]);
    assert_eq!(stdout(&o).matches("==>").count(), 2);
}
