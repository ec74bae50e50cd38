//! Real arm64 dumps (testdata/kernels/arm64-6.12: Debian 6.12.111 arm64 under QEMU virt,
//! cortex-a57, 4 vCPUs; see its MANIFEST.txt): the kdump kernel's /proc/vmcore and QEMU's
//! dump-guest-memory of the same boot, against eu-readelf and drgn 0.3.0 with the kernel's debug
//! vmlinux. Only what `vmcore` reads without an arm64 page walk: notes, registers, vmcoreinfo,
//! physical memory, and (for /proc/vmcore) the PT_LOAD virtual addresses.

use serde_json::Value;
use vmcore::{Dump, Machine, PhysAddr, VirtAddr};

const DUMPS: [&str; 2] = ["vmcore-raw", "qemu-dump"];

fn dump(name: &str) -> Dump {
    let rel = format!("arm64-6.12/kdump/{name}.elf");
    let path = real_data::kernel_path(&rel).unwrap_or_else(|e| panic!("{rel}: {e}"));
    Dump::open(&path).unwrap_or_else(|e| panic!("open {rel}: {e}"))
}

fn oracle_text(rel: &str) -> String {
    let path = real_data::kernels_root()
        .join("arm64-6.12/oracles")
        .join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn drgn(name: &str) -> Value {
    serde_json::from_str(&oracle_text(&format!("drgn-arm64-{name}.json"))).expect("json")
}

/// `eu-readelf -n`: (pid, pc, pstate, sp) of each PRSTATUS note, in note order.
fn eu_readelf_prstatus(text: &str) -> Vec<(u32, u64, u64, u64)> {
    let hex = |s: &str| {
        u64::from_str_radix(s.trim().trim_end_matches(',').trim_start_matches("0x"), 16).expect(s)
    };
    let mut out = Vec::new();
    let mut pid = None;
    let mut pc_pstate = None;
    for l in text.lines().map(str::trim) {
        if let Some(rest) = l.strip_prefix("pid: ") {
            pid = Some(rest.split(',').next().expect("pid").parse().expect(rest));
        } else if let Some(rest) = l.strip_prefix("pc: ") {
            // "pc: 0xffff…, pstate: 0x…, fpvalid: 0"
            let f: Vec<&str> = rest.split_whitespace().collect();
            pc_pstate = Some((hex(f[0]), hex(f[2])));
        } else if let Some(i) = l.find("sp:") {
            let sp = hex(&l[i + 3..]);
            let (pc, pstate) = pc_pstate.take().expect("pc line before sp");
            out.push((pid.take().expect("pid line before sp"), pc, pstate, sp));
        }
    }
    out
}

/// Every register note: pid, pc, pstate and sp equal eu-readelf's, in order; QEMU numbers its
/// notes by vCPU (pr_pid = index + 1).
#[test]
fn arm64_register_notes_equal_eu_readelf() {
    for name in DUMPS {
        let d = dump(name);
        assert_eq!(d.machine(), Machine::Aarch64, "{name}");
        let want = eu_readelf_prstatus(&oracle_text(&format!("eu-readelf-n-{name}.txt")));
        assert_eq!(want.len(), 4, "{name}: eu-readelf lists 4 PRSTATUS notes");
        let got: Vec<(u32, u64, u64, u64)> = d
            .cpus()
            .iter()
            .map(|c| {
                let r = c.regs.as_ref().expect("registers");
                (c.pid, r.pc(), r.flags(), r.sp())
            })
            .collect();
        assert_eq!(got, want, "{name}");
    }
    let q = dump("qemu-dump");
    let pids: Vec<u32> = q.cpus().iter().map(|c| c.pid).collect();
    assert_eq!(pids, [1, 2, 3, 4], "QEMU's pr_pid is the vCPU index + 1");
}

/// VMCOREINFO of both dumps equals drgn's (the same kernel): release, the 52-bit VA build that
/// runs with 48-bit VA (TCR_EL1_T1SZ 16), KASLR offsets.
#[test]
fn arm64_vmcoreinfo_equals_drgn() {
    for name in DUMPS {
        let d = dump(name);
        let o = drgn(name);
        let vi = d.vmcoreinfo().expect("vmcoreinfo");
        assert_eq!(vi.osrelease(), Some("6.12.111+deb12-arm64"), "{name}");
        for key in [
            "OSRELEASE",
            "BUILD-ID",
            "PAGESIZE",
            "KERNELOFFSET",
            "NUMBER(VA_BITS)",
            "NUMBER(TCR_EL1_T1SZ)",
            "NUMBER(kimage_voffset)",
            "NUMBER(PHYS_OFFSET)",
            "SYMBOL(swapper_pg_dir)",
        ] {
            assert_eq!(
                vi.get(key),
                o["vmcoreinfo"][key].as_str(),
                "{name}: vmcoreinfo {key}"
            );
        }
        assert_eq!(vi.get("NUMBER(VA_BITS)"), Some("52"), "{name}");
        assert_eq!(vi.get("NUMBER(TCR_EL1_T1SZ)"), Some("0x10"), "{name}");
    }
}

/// Physical reads: the 16 bytes drgn read at each page-walk target (kernel image, linear map,
/// vmalloc'd stacks, module, per-CPU areas, user pages) are ours too.
#[test]
fn arm64_physical_reads_equal_drgn() {
    for name in DUMPS {
        let d = dump(name);
        let o = drgn(name);
        let mut compared = 0;
        for w in o["page_walks"].as_array().expect("page_walks") {
            let (Some(pa), Some(hex)) = (w["pa"].as_u64(), w["bytes16"].as_str()) else {
                continue;
            };
            let mut buf = [0u8; 16];
            d.read_phys(PhysAddr(pa), &mut buf)
                .unwrap_or_else(|e| panic!("{name}: {} PA {pa:#x}: {e}", w["what"]));
            let got: String = buf.iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(got, hex, "{name}: {} PA {pa:#x}", w["what"]);
            compared += 1;
        }
        assert!(compared >= 70, "{name}: only {compared} reads compared");
    }
}

/// /proc/vmcore's PT_LOADs carry the kernel image and linear-map virtual addresses: translating
/// by segment gives drgn's page-walk answer, or nothing where the target is not in the dump (the
/// crash kernel's region, 0x5f200000..0x6b200000, has no PT_LOAD).
#[test]
fn arm64_proc_vmcore_segments_translate_as_drgn() {
    let d = dump("vmcore-raw");
    let o = drgn("vmcore-raw");
    let (mut compared, mut outside) = (0, 0);
    for w in o["page_walks"].as_array().expect("page_walks") {
        let (Some(va), Some(pa)) = (w["va"].as_u64(), w["pa"].as_u64()) else {
            continue;
        };
        let kind = w["kind"].as_str().expect("kind");
        if !matches!(kind, "kernel-text" | "kernel-data" | "linear" | "percpu") {
            continue;
        }
        let got = d.virt_to_phys_by_segments(VirtAddr(va));
        if d.covered_bytes(PhysAddr(pa), 1) == 0 {
            assert_eq!(
                got, None,
                "{} {va:#x}: PA {pa:#x} is not in the dump",
                w["what"]
            );
            outside += 1;
            continue;
        }
        assert_eq!(got, Some(PhysAddr(pa)), "{} {va:#x}", w["what"]);
        compared += 1;
    }
    assert!(compared >= 25, "only {compared} addresses compared");
    assert!(outside >= 1, "no address outside the dump was tried");
}

/// PSTATE is named as arm64 names it (not as x86 EFLAGS): the CPU drgn finds in user mode is
/// at EL0, every other at EL1 on SP_EL1 (`EL1h`).
#[test]
fn arm64_pstate_names_the_exception_level_drgn_sees() {
    let d = dump("vmcore-raw");
    let oracle: Value =
        serde_json::from_str(&oracle_text("drgn-crash-vmcore-raw.json")).expect("json");
    let cpus = oracle["cpus"].as_array().expect("cpus");
    let mut seen_user = false;
    for c in d.cpus() {
        let r = c.regs.as_ref().expect("registers");
        let names = r.flag_names();
        let want = cpus
            .iter()
            .find(|o| o["pid"].as_u64() == Some(u64::from(c.pid)) && o["pid"] != 0)
            .and_then(|o| o["user_mode"].as_bool());
        if let Some(user) = want {
            assert_eq!(names.ends_with("EL0t"), user, "pid {}: {names}", c.pid);
            seen_user |= user;
        }
        assert!(
            !names.contains("CF"),
            "pid {}: x86 names on arm64: {names}",
            c.pid
        );
    }
    assert!(seen_user, "the dump has a CPU in user space");
}
