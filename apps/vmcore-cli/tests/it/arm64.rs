//! arm64 through the real binary (issue 17), on testdata/kernels/arm64-6.12: the kernel's
//! /proc/vmcore and QEMU's dump of the same Debian 6.12 guest. `info` exits 0 (no false ELF003
//! for the nested kernel-image PT_LOAD), every note has a CPU, `vtop` walks every level,
//! `dmesg` works on QEMU's dump (no virtual addresses in its PT_LOAD), `bt --all` and `ps` are
//! snapshots whose frames and tasks the kernel-introspect tests compare with drgn.

use crate::{stdout, vmcore};

fn arm64(name: &str) -> String {
    let rel = format!("arm64-6.12/kdump/{name}.elf");
    real_data::kernel_path(&rel)
        .unwrap_or_else(|e| panic!("{rel}: {e}"))
        .to_string_lossy()
        .into_owned()
}

fn ok(args: &[&str]) -> String {
    let o = vmcore(args);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    stdout(&o)
}

#[test]
fn arm64_info_is_clean_and_names_the_crash() {
    let out = ok(&["info", &arm64("vmcore-raw")]);
    assert!(!out.contains("ELF003"), "{out}");
    assert!(
        out.contains("crashed:     CPU 3, pid 1 (init) in sysrq_handle_crash+0x20"),
        "{out}"
    );
    let out = ok(&["info", &arm64("qemu-dump")]);
    assert!(out.contains("no CPU panicked"), "{out}");
}

#[test]
fn arm64_every_note_has_a_cpu() {
    for name in ["vmcore-raw", "qemu-dump"] {
        let out = ok(&["cpus", &arm64(name)]);
        for n in 0..4 {
            assert!(
                out.contains(&format!("note {n} (CPU {n},")),
                "{name}: {out}"
            );
        }
        assert!(!out.contains("CPU ?"), "{name}: {out}");
    }
}

#[test]
fn arm64_vtop_bt_ps_dmesg_snapshots() {
    let raw = arm64("vmcore-raw");
    let qemu = arm64("qemu-dump");
    // _text (kernel image, 4 KiB pages), linux_banner (a 2 MiB block), the start of RAM in the
    // linear map, and an address nothing maps.
    insta::assert_snapshot!("arm64_vtop_text", ok(&["vtop", "0xffffa9ae04800000", &raw]));
    insta::assert_snapshot!(
        "arm64_vtop_block",
        ok(&["vtop", "0xffffa9ae05a6a040", &raw])
    );
    insta::assert_snapshot!(
        "arm64_vtop_linear",
        ok(&["vtop", "0xffff13b680001000", &qemu])
    );
    let json = ok(&["vtop", "--json", "0xffff13b680001000", &qemu]);
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(v["machine"], "aarch64");
    assert_eq!(v["phys"], "0x40001000");
    assert_eq!(v["linear_map_agrees"], true);
    insta::assert_snapshot!("arm64_vtop_linear_json", json);
    let o = vmcore(&["vtop", "0xffffa9ae06500be0", &raw]);
    assert_eq!(o.status.code(), Some(1), "an unmapped address is a finding");
    insta::assert_snapshot!("arm64_vtop_unmapped", stdout(&o));
    let o = vmcore(&["vtop", "--cpu", "0", "0xffffa9ae04800000", &raw]);
    assert_eq!(o.status.code(), Some(2));
    insta::assert_snapshot!("arm64_bt_all", ok(&["bt", "--all", &raw]));
    insta::assert_snapshot!("arm64_qemu_bt_all", ok(&["bt", "--all", &qemu]));
    insta::assert_snapshot!("arm64_qemu_ps", ok(&["ps", &qemu]));
    let log = ok(&["dmesg", &qemu]);
    assert!(
        log.contains("Booting Linux on physical CPU 0x0000000000"),
        "{log}"
    );
    assert!(log.lines().count() > 200);
}
