//! What a new user trips over (issue 15): pipes, everyday mistakes, reports that tell dumps
//! apart, history checks that compared nothing. Through the real binary, on the real dumps.

use std::io::{Read, Write};
use std::process::{Command, Stdio};

use crate::{real, stdout, vmcore};

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Run `vmcore ARGS` with `input` written to its standard input through a pipe.
fn vmcore_piped(args: &[&str], input: &std::path::Path) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vmcore"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run vmcore");
    let mut stdin = child.stdin.take().expect("stdin");
    let data = std::fs::read(input).expect("read input");
    let writer = std::thread::spawn(move || {
        // The reader may stop early (a refused format): a closed pipe is expected then.
        let _ = stdin.write_all(&data);
    });
    let o = child.wait_with_output().expect("wait");
    writer.join().expect("writer");
    o
}

#[test]
fn a_flattened_stream_is_read_from_a_pipe_in_one_pass() {
    let flat = real("kdump/makedumpfile-F-c-d31.flat");
    let from_file = vmcore(&["info", "--json", &flat]);
    assert_eq!(from_file.status.code(), Some(0), "{}", stderr(&from_file));
    let file: serde_json::Value = serde_json::from_slice(&from_file.stdout).unwrap();
    for name in ["-", "/dev/stdin"] {
        let o = vmcore_piped(&["info", "--json", name], flat.as_ref());
        assert_eq!(o.status.code(), Some(0), "{name}: {}", stderr(&o));
        let piped: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(piped["format"], "flattened");
        for key in [
            "kdump",
            "kernel_release",
            "panic_message",
            "log_records",
            "ram_bytes",
        ] {
            assert_eq!(piped[key], file[key], "{name}: {key}");
        }
    }
    // The kernel log read through the pipe is makedumpfile's own, byte for byte.
    let o = vmcore_piped(&["dmesg", "-"], flat.as_ref());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        real_data::read_to_string("oracles/makedumpfile-F-c-d31.rearranged.dmesg.txt").unwrap()
    );
}

#[test]
fn formats_that_need_a_seekable_file_say_so_from_a_pipe() {
    let elf = real("steps/qemu-dump-06-cpu3-online.hdr");
    let o = vmcore_piped(&["info", "-"], elf.as_ref());
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("cannot open - (standard input)"), "{err}");
    assert!(
        err.contains("in the elf64 format, which needs a seekable file"),
        "{err}"
    );
    assert!(err.contains("makedumpfile -F"), "{err}");
}

#[test]
fn json_into_a_closed_pipe_exits_quietly() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vmcore"))
        .args(["dmesg", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run vmcore");
    let mut out = child.stdout.take().expect("stdout");
    let mut first = [0u8; 10];
    out.read_exact(&mut first).expect("the first bytes");
    drop(out);
    let o = child.wait_with_output().expect("wait");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stderr(&o), "");
}

#[test]
fn everyday_mistakes_get_errors_that_name_the_file_and_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.vmcore");
    std::fs::write(&empty, b"").unwrap();
    let d = dir.path().to_str().unwrap();
    let e = empty.to_str().unwrap();
    let missing = dir.path().join("missing.vmcore");
    let m = missing.to_str().unwrap();

    let o = vmcore(&["info", d]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        format!(
            "vmcore: error: cannot open {d}: {d} is a directory, read as the parts of a \
             makedumpfile --split set, but {e} is not one: the input is empty (0 bytes): not a \
             crash dump\n"
        )
    );
    let o = vmcore(&["info", e]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        format!("vmcore: error: cannot open {e}: the input is empty (0 bytes): not a crash dump\n")
    );
    // A missing history file: the OS error once.
    let o = vmcore(&[
        "check",
        &real("steps/elfcorehdr-06-cpu3-online.bin"),
        "--history",
        m,
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert_eq!(err.matches("No such file or directory").count(), 1, "{err}");
    assert!(err.contains(m), "{err}");
    // JSON keeps the OS error of a dump that cannot be opened.
    let o = vmcore(&["check", m, "--format", "json"]);
    assert_eq!(o.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let msg = v["dumps"][0]["error"].as_str().unwrap();
    assert!(
        msg.contains("No such file or directory (os error 2)"),
        "{msg}"
    );
}

#[test]
fn reports_tell_apart_dumps_with_the_same_file_name() {
    let dir = tempfile::tempdir().unwrap();
    let hdr = real("steps/elfcorehdr-06-cpu3-online.bin");
    for host in ["host-a-2026-11-26", "host-b-2026-11-26"] {
        std::fs::create_dir(dir.path().join(host)).unwrap();
        std::fs::copy(&hdr, dir.path().join(host).join("vmcore")).unwrap();
    }
    let a = dir.path().join("host-a-2026-11-26/vmcore");
    let b = dir.path().join("host-b-2026-11-26/vmcore");
    let o = vmcore(&[
        "check",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--format",
        "junit",
    ]);
    let out = stdout(&o);
    assert!(
        out.contains(r#"<testsuite name="host-a-2026-11-26/vmcore""#),
        "{out}"
    );
    assert!(
        out.contains(r#"<testsuite name="host-b-2026-11-26/vmcore""#),
        "{out}"
    );
    assert!(!out.contains(&*dir.path().to_string_lossy()), "{out}");
}

#[test]
fn a_history_without_a_starting_topology_is_inconclusive_not_ok() {
    let dump = real("kdump/proc-vmcore.elf");
    let history = real("history.jsonl");
    // The uevents alone: CPU 3 came online, but no note is attributed to a CPU and no block
    // size is known, so nothing was compared.
    let o = vmcore(&["check", &dump, "--history", &history]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    insta::assert_snapshot!("check_history_inconclusive", stdout(&o));
    let o = vmcore(&["check", &dump, "--history", &history, "--fail-on", "error"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let o = vmcore(&["check", &dump, "--history", &history, "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let h = &v["dumps"][0]["checks"][1];
    assert_eq!(h["status"], "inconclusive");
    assert!(
        h["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["code"] == "HP016" && f["severity"] == "warning")
    );
    // The same events, with the CPUs of the notes named: CPU 3 is compared, and matches.
    let o = vmcore(&[
        "check",
        &dump,
        "--history",
        &history,
        "--state",
        &real("steps/root-06-cpu3-online"),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stdout(&o).contains("history: ok"), "{}", stdout(&o));
}

/// The kernel virtual addresses a debugger reads: `linux_banner` in the kernel text (found by
/// its text in the original's kernel-text PT_LOAD) and CPU 0's crash_notes per-CPU buffer in
/// the direct map (its physical address from the guest's sysfs at the crash step).
fn kernel_addresses(original: &vmcore::Dump) -> (u64, u64) {
    let text = original
        .memory()
        .ranges()
        .iter()
        .find(|r| r.kind == vmcore::RangeKind::KernelText)
        .expect("the kernel-text PT_LOAD");
    let mut bytes = vec![0u8; text.phys.len() as usize];
    original.read_phys(text.phys.start, &mut bytes).unwrap();
    let at = bytes
        .windows(14)
        .position(|w| w == b"Linux version ")
        .expect("linux_banner");
    let banner = text.virt.unwrap().0 + at as u64;
    let notes_phys = u64::from_str_radix(
        real_data::read_to_string(
            "steps/root-06-cpu3-online/sys/devices/system/cpu/cpu0/crash_notes",
        )
        .unwrap()
        .trim(),
        16,
    )
    .unwrap();
    let percpu = original.page_offset_base().unwrap().base + notes_phys;
    (banner, percpu)
}

fn read_by_segments(d: &vmcore::Dump, va: u64, len: usize) -> Vec<u8> {
    let pa = d
        .virt_to_phys_by_segments(vmcore::VirtAddr(va))
        .unwrap_or_else(|| panic!("no PT_LOAD maps {va:#x}"));
    let mut b = vec![0u8; len];
    d.read_phys(pa, &mut b).unwrap();
    b
}

#[test]
fn a_converted_kdump_keeps_kernel_virtual_addresses_for_debuggers() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.elf");
    let kdump = real("kdump/makedumpfile-c-d31.kdump");
    let o = vmcore(&[
        "convert",
        &kdump,
        "-o",
        out.to_str().unwrap(),
        "--no-progress",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let original = vmcore::Dump::open(real("kdump/proc-vmcore.elf")).unwrap();
    let converted = vmcore::Dump::open(&out).unwrap();
    // As /proc/vmcore and makedumpfile -E: the kernel-text alias at _text, RAM in the direct map.
    let text = converted
        .segments()
        .iter()
        .find(|s| s.p_type == 1)
        .expect("a PT_LOAD");
    assert_eq!(
        text.p_vaddr, 0xffff_ffff_88a0_0000,
        "the first PT_LOAD is _text"
    );
    assert_eq!(text.p_paddr, 0x19a0_0000);
    assert_eq!(
        converted.page_offset_base().unwrap().base,
        original.page_offset_base().unwrap().base
    );
    let (banner, percpu) = kernel_addresses(&original);
    for (va, len) in [(banner, 160), (percpu, 64)] {
        assert_eq!(
            read_by_segments(&converted, va, len),
            read_by_segments(&original, va, len),
            "{va:#x}"
        );
    }
    assert!(read_by_segments(&converted, banner, 160).starts_with(b"Linux version 6.12.111"));

    // gdb itself reads the same bytes at the same addresses from both files.
    if std::process::Command::new("gdb")
        .arg("--version")
        .output()
        .is_err()
    {
        assert!(
            std::env::var_os("CI").is_none(),
            "gdb is required under CI (.ci/run installs it)"
        );
        eprintln!("gdb is not installed: skipping the gdb half of this test");
        return;
    }
    let gdb = |core: &str| {
        let o = Command::new("gdb")
            .args(["-nx", "-batch", "-c", core])
            .args(["-ex", &format!("x/s {banner:#x}")])
            .args(["-ex", &format!("x/8xg {percpu:#x}")])
            .output()
            .expect("run gdb");
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .filter(|l| l.starts_with("0x"))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let from_original = gdb(&real("kdump/proc-vmcore.elf"));
    let from_converted = gdb(out.to_str().unwrap());
    assert_eq!(from_original.len(), 5, "{from_original:?}");
    assert!(
        from_original[0].contains("\"Linux version 6.12.111"),
        "{from_original:?}"
    );
    assert_eq!(from_converted, from_original);
}

#[test]
fn small_disagreements_are_gone() {
    let dump = real("kdump/proc-vmcore.elf");
    // check takes --json like every other command; diff takes --format like check.
    let a = vmcore(&["check", &dump, "--json"]);
    let b = vmcore(&["check", &dump, "--format", "json"]);
    assert_eq!(a.stdout, b.stdout);
    let hist = real("history.jsonl");
    let a = vmcore(&["diff", &dump, "--history", &hist, "--json"]);
    let b = vmcore(&["diff", &dump, "--history", &hist, "--format", "json"]);
    assert_eq!(a.stdout, b.stdout);
    assert!(serde_json::from_slice::<serde_json::Value>(&a.stdout).is_ok());
    // An unknown step lists each step once.
    let o = vmcore(&["check", &dump, "--history", &hist, "--at", "no-such-step"]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert_eq!(err.matches("06-cpu3-online").count(), 1, "{err}");
    // Several dumps, one after the other, each under its name.
    let hdr = real("steps/elfcorehdr-06-cpu3-online.bin");
    let o = vmcore(&["info", &dump, &hdr]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.starts_with(&format!("==> {dump} <==\nfile:        proc-vmcore.elf\n")),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "\n\n==> {hdr} <==\nfile:        elfcorehdr-06-cpu3-online.bin\n"
        )),
        "{out}"
    );
}

#[test]
fn cpus_names_each_note_s_cpu_from_the_dump_itself() {
    let dump = real("kdump/proc-vmcore.elf");
    let o = vmcore(&["cpus", &dump]);
    let out = stdout(&o);
    // The kernel's per-CPU crash_notes buffers (through kallsyms) hold each note: exact.
    let notes: Vec<&str> = out.lines().filter(|l| l.starts_with("note ")).collect();
    assert_eq!(
        notes,
        [
            "note 0 (CPU 0, pid 874) at offset 0x1000: identified by its per-CPU crash_notes buffer",
            "note 1 (CPU 2, pid 0) at offset 0x1164: identified by its per-CPU crash_notes buffer",
            "note 2 (CPU 3, pid 0) at offset 0x12c8: identified by its per-CPU crash_notes buffer",
        ]
    );
    // The oracle: the crash_notes buffers of the crash step's state say the same.
    let o = vmcore(&["cpus", &dump, "--state", &real("steps/root-06-cpu3-online")]);
    assert!(stdout(&o).starts_with("note 0 (CPU 0, pid 874) at offset 0x1000\n"));
    // The same from the makedumpfile twin.
    let o = vmcore(&["cpus", "--json", &real("kdump/makedumpfile-c-d31.kdump")]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["cpus"][0]["cpu"], 0);
    assert_eq!(v["cpus"][0]["pid"], 874);
}

#[test]
fn completions_man_pages_and_color() {
    for shell in ["bash", "zsh", "fish"] {
        let o = vmcore(&["completions", shell]);
        assert_eq!(o.status.code(), Some(0), "{shell}");
        let s = stdout(&o);
        assert!(s.contains("vmcore") && s.contains("elfcorehdr"), "{shell}");
    }
    let o = vmcore(&["man"]);
    assert!(stdout(&o).contains(".TH vmcore 1"), "{}", stdout(&o));
    let dir = tempfile::tempdir().unwrap();
    let o = vmcore(&["man", "--dir", dir.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    for page in ["vmcore.1", "vmcore-check.1", "vmcore-elfcorehdr-watch.1"] {
        let text = std::fs::read_to_string(dir.path().join(page)).unwrap();
        assert!(text.contains(".TH"), "{page}");
    }
    // Colors: `always` even into a pipe and with NO_COLOR set; `never` and `auto` into a
    // pipe never.
    let hdr = real("steps/elfcorehdr-06-cpu3-online.bin");
    let run = |when: &str| {
        let o = Command::new(env!("CARGO_BIN_EXE_vmcore"))
            .args(["--color", when, "check", &hdr])
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        String::from_utf8(o.stdout).unwrap()
    };
    assert!(run("always").contains("\x1b[32mok\x1b[0m"));
    assert!(!run("never").contains('\x1b'));
    assert!(!run("auto").contains('\x1b'));
    let o = vmcore(&["check", &hdr, "--color", "never"]);
    assert_eq!(o.status.code(), Some(0), "--color after the subcommand");
}

#[test]
fn convert_into_a_directory_fails_before_converting() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let o = vmcore(&["convert", &real("kdump/makedumpfile-c-d31.kdump"), "-o", d]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains(&format!("-o {d} is a directory")), "{err}");
    // Nothing was written next to it or in it.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    let parent = dir.path().parent().unwrap();
    let name = dir
        .path()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert!(!std::fs::read_dir(parent).unwrap().any(|e| {
        e.unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with(&format!("{name}.partial"))
    }));
}

#[test]
fn an_installed_binary_finds_the_sample_without_the_build_tree() {
    // A copy of the binary outside the source tree, run without cargo's environment, is what
    // `cargo install` leaves.
    let home = tempfile::tempdir().unwrap();
    let bin = home.path().join("vmcore");
    std::fs::copy(env!("CARGO_BIN_EXE_vmcore"), &bin).unwrap();
    let run = |envs: &[(&str, &std::ffi::OsStr)]| {
        let mut c = Command::new(&bin);
        c.arg("info")
            .env_remove("CARGO")
            .env_remove("VMCORE_SAMPLE")
            .env_remove("VMCORE_DATA_DIR")
            .env_remove("XDG_DATA_HOME")
            .env_remove("XDG_CACHE_HOME")
            .env("HOME", home.path());
        for (k, v) in envs {
            c.env(k, v);
        }
        // Another test thread may fork while our copy's write descriptor is open; the child
        // holds it until it execs, and exec of the copy fails with ETXTBSY until then.
        let mut tries = 0;
        loop {
            match c.output() {
                Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy && tries < 100 => {
                    tries += 1;
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                r => break r.unwrap(),
            }
        }
    };
    let o = run(&[]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("no sample dump found"), "{err}");
    assert!(err.contains("VMCORE_SAMPLE"), "{err}");
    assert!(err.contains(".local/share/vmcore-tools"), "{err}");
    assert!(
        !err.contains("testdata/real/kdump/proc-vmcore.elf.zst ("),
        "{err}"
    );
    // VMCORE_SAMPLE names any dump.
    let hdr = real("steps/elfcorehdr-06-cpu3-online.bin");
    let o = run(&[("VMCORE_SAMPLE", hdr.as_ref())]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("elfcorehdr-06-cpu3-online.bin"));
    // The sample copied into the data folder, compressed, is decompressed into the cache.
    let data = home.path().join(".local/share/vmcore-tools");
    std::fs::create_dir_all(&data).unwrap();
    let zst = real_data::root().join("kdump/proc-vmcore.elf.zst");
    std::fs::copy(&zst, data.join("proc-vmcore.elf.zst")).unwrap();
    let o = run(&[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("kernel:      6.12.111+deb12-amd64"));
    assert!(
        home.path()
            .join(".cache/vmcore-tools/proc-vmcore.elf")
            .is_file()
    );
}
