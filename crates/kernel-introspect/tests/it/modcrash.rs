//! A real crash inside a module (testdata/kernels/6.12-modcrash: vmlab scenario `modcrash`,
//! Debian's 6.12, `lab_crash` BUG() with panic_on_oops, one CPU spinning in user space and one
//! in the kernel), against drgn 0.3.0 with Debian's full debug vmlinux and the module's own
//! DWARF (`oracles/drgn-crash-makedumpfile-E-d31.json`, made on the very file tested).
//!
//! Before this dump, module ORC tables were set up as `[base, size)` instead of
//! `[base, base + size)`: no module address was covered, the unwinder fell back to frame
//! pointers in module text and stopped at the first frame (RBP is not a frame pointer there).

use kernel_introspect::{Kernel, StopReason};
use serde_json::Value;

const DIR: &str = "6.12-modcrash";

fn dump() -> vmcore::Dump {
    let rel = format!("{DIR}/kdump/makedumpfile-E-d31.elf");
    let path = real_data::kernel_path(&rel).unwrap_or_else(|e| panic!("{rel}: {e}"));
    vmcore::Dump::open(path).unwrap_or_else(|e| panic!("open {rel}: {e}"))
}

fn oracle() -> Value {
    let path =
        real_data::kernels_root().join(format!("{DIR}/oracles/drgn-crash-makedumpfile-E-d31.json"));
    serde_json::from_slice(&std::fs::read(&path).expect("oracle")).expect("json")
}

/// `(pc, symbol, offset, module, interrupted)`: every field drgn gives a frame.
type Row = (u64, Option<String>, Option<u64>, Option<String>, bool);

fn oracle_rows(frames: &Value) -> Vec<Row> {
    frames
        .as_array()
        .expect("frames")
        .iter()
        .map(|f| {
            (
                f["pc"].as_u64().expect("pc"),
                f["symbol"].as_str().map(str::to_string),
                f["offset"].as_u64(),
                f["module"].as_str().map(str::to_string),
                f["interrupted"].as_bool().expect("interrupted"),
            )
        })
        .collect()
}

fn our_rows(trace: &kernel_introspect::Backtrace) -> Vec<Row> {
    trace
        .frames
        .iter()
        .map(|f| {
            (
                f.pc,
                f.symbol.as_ref().map(|s| s.name.clone()),
                f.symbol.as_ref().map(|s| s.offset),
                f.module.clone(),
                f.interrupted(),
            )
        })
        .collect()
}

/// Every CPU's frames equal drgn's, module frames included; the crashed CPU and task too.
#[test]
fn cpu_frames_equal_drgn_through_module_text() {
    let d = dump();
    let o = oracle();
    let kernel = Kernel::new(&d).expect("kernel");
    let traces = kernel.backtraces().expect("backtraces");
    let cpus = o["cpus"].as_array().expect("cpus");
    assert_eq!(cpus.len(), 3);
    assert_eq!(traces.len(), 3, "one register note per online CPU");
    let mut frames = 0;
    for want in cpus {
        let n = want["cpu"].as_u64().expect("cpu") as u32;
        let bt = traces
            .iter()
            .find(|t| t.cpu == Some(n))
            .unwrap_or_else(|| panic!("no note of CPU {n}"));
        let trace = bt.trace.as_ref().expect("trace");
        let want_rows = oracle_rows(&want["frames"]);
        assert_eq!(our_rows(trace), want_rows, "CPU {n}");
        assert!(trace.stop.is_complete(), "CPU {n}: {}", trace.stop);
        assert_eq!(bt.pid.map(u64::from), want["pid"].as_u64(), "CPU {n} pid");
        // drgn's user_mode: the CPU was interrupted in user space (the trace is one user frame).
        if want["user_mode"] == true {
            assert_eq!(trace.frames.len(), 1, "CPU {n}");
            assert_eq!(trace.stop, StopReason::UserMode, "CPU {n}");
        }
        frames += want_rows.len();
    }
    assert_eq!(frames, 17, "frames compared");
    let crashed = o["panic_cpu"].as_u64().expect("panic_cpu") as u32;
    assert_eq!(kernel.panic_cpu().expect("panic_cpu"), Some(crashed));
    let site = kernel.crash_site().expect("site").expect("crashed");
    assert_eq!(
        (site.cpu, site.pid.map(u64::from)),
        (crashed, o["crashed_tid"].as_u64())
    );
    // The site is the BUG() in the module, named as the kernel's %pS would.
    let frame = site.frame.expect("site frame");
    assert_eq!(frame.module.as_deref(), Some("lab_crash"));
    assert!(
        frame.location().starts_with("lab_crash_bug+0x2a/"),
        "{}",
        frame.location()
    );
}

/// The scenario's shape, as drgn saw it: CPU 0 crashed in the module via the debugfs write,
/// CPU 1 was in user space, CPU 2 in the kernel under `dd`.
#[test]
fn oracle_is_the_module_crash_the_scenario_made() {
    let o = oracle();
    let rows = oracle_rows(&o["cpus"][0]["frames"]);
    let names: Vec<(&str, Option<&str>)> = rows
        .iter()
        .take(5)
        .map(|r| (r.1.as_deref().unwrap_or("?"), r.3.as_deref()))
        .collect();
    assert_eq!(
        names,
        [
            ("lab_crash_bug", Some("lab_crash")),
            ("lab_crash_dispatch", Some("lab_crash")),
            ("direct_write", Some("lab_crash")),
            ("full_proxy_write", None),
            ("vfs_write", None),
        ]
    );
    assert_eq!(o["cpus"][1]["user_mode"], true);
    assert_eq!(o["cpus"][2]["comm"], "dd");
    assert_eq!(o["module_debug"][0], "lab_crash.ko");
}

/// Tasks (pid, tgid, comm, state, cpu), the 40 task traces and the modules equal drgn's.
#[test]
fn tasks_traces_and_modules_equal_drgn() {
    let d = dump();
    let o = oracle();
    let kernel = Kernel::new(&d).expect("kernel");
    let list = kernel.tasks().expect("tasks");
    assert!(list.findings.is_empty(), "{:?}", list.findings);
    let got: Vec<(i64, i64, String, String, i64)> = list
        .tasks
        .iter()
        .map(|t| {
            (
                i64::from(t.pid),
                i64::from(t.tgid),
                t.comm.clone(),
                t.state.to_string(),
                i64::from(t.cpu),
            )
        })
        .collect();
    let want: Vec<(i64, i64, String, String, i64)> = o["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .map(|t| {
            (
                t["pid"].as_i64().expect("pid"),
                t["tgid"].as_i64().expect("tgid"),
                t["comm"].as_str().expect("comm").to_string(),
                t["state"].as_str().expect("state").to_string(),
                t["cpu"].as_i64().expect("cpu"),
            )
        })
        .collect();
    assert_eq!(want.len(), 71);
    assert_eq!(got, want);

    let unwinder = kernel.unwinder_with_modules().expect("unwinder");
    let traces = o["task_traces"].as_array().expect("task_traces");
    assert_eq!(traces.len(), 40);
    for t in traces {
        let pid = t["pid"].as_i64().expect("pid") as i32;
        let task = list.by_pid(pid).expect("task");
        let trace = kernel.task_backtrace_with(&unwinder, task).expect("trace");
        assert!(trace.stop.is_complete(), "pid {pid}: {}", trace.stop);
        assert_eq!(our_rows(&trace), oracle_rows(&t["frames"]), "pid {pid}");
    }

    let mods = kernel.modules().expect("modules");
    assert!(mods.findings.is_empty(), "{:?}", mods.findings);
    let got: Vec<(String, u64, u64)> = mods
        .modules
        .iter()
        .map(|m| (m.name.clone(), m.text_base, m.text_size))
        .collect();
    let want: Vec<(String, u64, u64)> = o["modules"]
        .as_array()
        .expect("modules")
        .iter()
        .map(|m| {
            (
                m["name"].as_str().expect("name").to_string(),
                m["text_base"].as_u64().expect("base"),
                m["text_size"].as_u64().expect("size"),
            )
        })
        .collect();
    assert_eq!(got, want);
}

/// The module's symbols resolve both ways, to the addresses drgn's DWARF gives its frames.
#[test]
fn module_symbols_resolve_to_drgns_frames() {
    let d = dump();
    let o = oracle();
    let kernel = Kernel::new(&d).expect("kernel");
    let mods = kernel.modules().expect("modules");
    for f in oracle_rows(&o["cpus"][0]["frames"]).iter().take(3) {
        let (pc, name, off) = (f.0, f.1.as_deref().expect("named"), f.2.expect("offset"));
        let (m, s) = mods
            .lookup(name)
            .unwrap_or_else(|| panic!("{name} not found"));
        assert_eq!((m.name.as_str(), s.addr), ("lab_crash", pc - off), "{name}");
        // A call frame's pc is a return address: look up the call instruction's byte.
        let at = kernel.symbolize_any(pc - 1).expect("symbolized");
        assert_eq!((at.name, at.module), (name, Some("lab_crash")), "{pc:#x}");
    }
}

/// A module's BTF, from the kernel's `btf_modules` list (its `btf_data` is NULL after load):
/// the bytes equal the `.BTF` section of Debian's module, and every type, as split BTF on top of
/// the dump's vmlinux BTF, renders (`Type::raw_dump`) as bpftool dumps it.
#[test]
fn module_btf_equals_the_module_section_and_bpftool() {
    let d = dump();
    let kernel = Kernel::new(&d).expect("kernel");
    let mods = kernel.modules().expect("modules");
    assert!(
        mods.modules.iter().all(|m| m.btf.is_none()),
        "btf_data is NULL after load"
    );
    let btfs = kernel.module_btfs().expect("module BTF");
    assert!(btfs.findings.is_empty(), "{:?}", btfs.findings);
    // lab_crash was built without pahole: only qemu_fw_cfg has BTF.
    let names: Vec<&str> = btfs.modules.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["qemu_fw_cfg"]);
    let m = btfs.get("qemu_fw_cfg").expect("qemu_fw_cfg");
    let want =
        std::fs::read(real_data::kernels_root().join(format!("{DIR}/oracles/qemu_fw_cfg.BTF")))
            .expect("oracle");
    assert_eq!(m.btf.bytes(), want.as_slice());
    assert_eq!(
        Some(m.module),
        mods.modules
            .iter()
            .find(|x| x.name == "qemu_fw_cfg")
            .map(|x| x.addr)
    );
    let base = kernel.btf().expect("btf");
    assert_eq!(m.btf.first_id(), base.len() + 1);
    let got: Vec<String> = m.btf.types().map(|t| t.raw_dump()).collect();
    let want = std::fs::read_to_string(
        real_data::kernels_root().join(format!("{DIR}/oracles/qemu_fw_cfg.BTF.bpftool-raw.txt")),
    )
    .expect("bpftool oracle");
    assert_eq!(got.len(), 37);
    assert_eq!(got.join("\n"), want.trim_end());
    // Member paths cross into the base: the list_head in a module struct is vmlinux's type.
    let list = m
        .btf
        .member("fw_cfg_sysfs_entry", "list.next")
        .expect("list.next");
    assert_eq!(list.bit_offset, 1024);
    assert_eq!(m.btf.sizeof("fw_cfg_sysfs_entry").expect("size"), 144);
    assert!(
        m.btf.struct_by_name("task_struct").is_ok(),
        "base types by name"
    );
}

/// The module's real BTF cut short at every length and with each header word replaced by
/// absurd values, parsed as split BTF: an error naming an offset inside the blob, or a blob
/// whose every type and name can be read, never a panic.
#[test]
fn hostile_split_btf_ends_in_an_error_or_readable_types() {
    let d = dump();
    let kernel = Kernel::new(&d).expect("kernel");
    let btfs = kernel.module_btfs().expect("module BTF");
    let real = btfs
        .get("qemu_fw_cfg")
        .expect("qemu_fw_cfg")
        .btf
        .bytes()
        .to_vec();
    let base = std::sync::Arc::new(
        kernel_introspect::btf::Btf::parse(kernel.btf().expect("btf").bytes().to_vec())
            .expect("base"),
    );
    let check = |bytes: Vec<u8>| {
        let len = bytes.len() as u64;
        match kernel_introspect::btf::Btf::parse_split(bytes, base.clone()) {
            Ok(b) => {
                for t in b.types() {
                    let _ = (t.name(), b.describe(t.id()), b.size_of(t.id()));
                    for m in t.members() {
                        let _ = (t.member_name(&m), b.resolve(m.type_id));
                    }
                }
            }
            // Inside the blob, or the header field a short blob lacks.
            Err(e) => assert!(e.offset().is_none_or(|o| o <= len.max(24)), "{e}"),
        }
    };
    let mut errors = 0;
    for cut in 0..real.len() {
        let short = real[..cut].to_vec();
        if kernel_introspect::btf::Btf::parse_split(short.clone(), base.clone()).is_err() {
            errors += 1;
        }
        check(short);
    }
    assert!(
        errors > real.len() / 2,
        "{errors} of {} cuts rejected",
        real.len()
    );
    for word in (4..24).step_by(4) {
        for v in [0u32, 1, 0x7fff_ffff, u32::MAX, real.len() as u32] {
            let mut b = real.clone();
            b[word..word + 4].copy_from_slice(&v.to_le_bytes());
            check(b);
        }
    }
    // A name offset past the base's and the module's strings is an error, not an empty name.
    let mut b = real.clone();
    b[24..28].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(kernel_introspect::btf::Btf::parse_split(b, base.clone()).is_err());
}
