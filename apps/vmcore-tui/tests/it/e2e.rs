//! End to end: the real binary in a tmux pseudo-terminal opens the real dump, visits every
//! view, quits, and leaves the terminal as it found it (no alternate screen, no mouse
//! reporting, canonical mode back on).
//!
//! Needs `tmux` (`.ci/run` installs it). Without it the test says so and passes, except under
//! CI (`CI` set), where a missing tmux is a failure.

use std::path::Path;
use std::process::{Command, Output};
use std::thread::sleep;
use std::time::{Duration, Instant};

struct Tmux {
    socket: String,
}

impl Tmux {
    fn cmd(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("run tmux")
    }
    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.cmd(&["capture-pane", "-p", "-t", "e2e"]).stdout).into_owned()
    }
    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "e2e"];
        args.extend_from_slice(keys);
        assert!(self.cmd(&args).status.success());
    }
    fn flag(&self, name: &str) -> String {
        let f = format!("#{{{name}}}");
        String::from_utf8_lossy(&self.cmd(&["display-message", "-p", "-t", "e2e", &f]).stdout)
            .trim()
            .to_string()
    }
    /// Wait until the screen shows `text` (the binary runs in the background; rendering and
    /// opening take a moment, much longer under a loaded CI machine).
    #[track_caller]
    fn wait_for(&self, text: &str) -> String {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if s.contains(text) {
                return s;
            }
            if start.elapsed() > Duration::from_secs(60) {
                panic!("{text:?} never appeared; screen:\n{s}");
            }
            sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        // Ends only the tmux server this test started, on its private socket.
        let _ = self.cmd(&["kill-server"]);
    }
}

#[test]
fn binary_visits_every_view_and_restores_the_terminal() {
    if Command::new("tmux").arg("-V").output().is_err() {
        assert!(
            std::env::var_os("CI").is_none(),
            "tmux is required under CI"
        );
        eprintln!("tmux is not installed: skipping the end-to-end test");
        return;
    }
    let bin = env!("CARGO_BIN_EXE_vmcore-tui");
    let dump = real_data::path("kdump/proc-vmcore.elf").expect("sample dump");
    let t = Tmux {
        socket: format!("vmcore-tui-e2e-{}", std::process::id()),
    };
    let q = |p: &Path| format!("'{}'", p.display().to_string().replace('\'', r"'\''"));
    // After the TUI exits, print its status and whether the tty is canonical again
    // (`icanon`, not `-icanon`), then keep the pane open for capture.
    let script = format!(
        "{} {}; echo EXIT=$?; stty -a | tr ' ' '\\n' | grep -x -- '-*icanon' | sed 's/^/MODE=/'; sleep 120",
        q(Path::new(bin)),
        q(&dump)
    );
    let out = t.cmd(&[
        "new-session",
        "-d",
        "-s",
        "e2e",
        "-x",
        "100",
        "-y",
        "30",
        "sh",
        "-c",
        &script,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    t.wait_for("proc-vmcore.elf");
    let s = t.wait_for("Crash time");
    assert!(s.contains("6.12.111+deb12-amd64"), "{s}");
    assert_eq!(
        t.flag("alternate_on"),
        "1",
        "the TUI uses the alternate screen"
    );

    // Shift-Tab, as the terminal sends it, goes to the previous view (wrapping).
    t.keys(&["BTab"]);
    t.wait_for("Findings (");
    t.keys(&["2"]);
    t.wait_for("RIP");
    t.keys(&["Enter"]);
    t.wait_for("Backtrace");
    t.wait_for("Registers");
    t.keys(&["Escape"]);
    // An Escape followed at once by a key reads as Alt+key; let it stand alone.
    sleep(Duration::from_millis(300));
    t.keys(&["3"]);
    t.wait_for("Tasks (");
    // The first task's stack (the idle task of CPU 0), then back to the list.
    t.keys(&["Enter"]);
    t.wait_for("stop: ");
    t.keys(&["Escape"]);
    sleep(Duration::from_millis(300));
    t.keys(&["4"]);
    t.wait_for("Physical address space");
    t.keys(&["5"]);
    t.wait_for("Hex ·");
    t.keys(&["g", "1", "0", "0", "0", "0", "0", "Enter"]);
    t.wait_for("0000000000100000");
    t.keys(&["6"]);
    t.wait_for("OSRELEASE");
    t.keys(&["7"]);
    t.wait_for("Kernel log ·");
    t.keys(&["8"]);
    t.wait_for("Findings (");
    t.keys(&["?"]);
    t.wait_for("Everywhere");
    t.keys(&["Escape"]);
    sleep(Duration::from_millis(300));
    t.keys(&["1"]);
    t.wait_for("Crash time");
    t.keys(&["q"]);

    let s = t.wait_for("MODE=");
    assert!(s.contains("EXIT=0"), "{s}");
    assert!(s.contains("MODE=icanon"), "raw mode left on:\n{s}");
    assert_eq!(t.flag("alternate_on"), "0", "alternate screen left on");
    assert_eq!(t.flag("mouse_any_flag"), "0", "mouse reporting left on");
}

#[test]
fn without_a_terminal_it_says_so_and_exits_2() {
    let o = Command::new(env!("CARGO_BIN_EXE_vmcore-tui"))
        .arg(real_data::path("kdump/proc-vmcore.elf").expect("sample dump"))
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run vmcore-tui");
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty(), "no escape codes: {:?}", o.stdout);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("standard output is not a terminal"), "{err}");
}

#[test]
fn sigterm_restores_the_terminal() {
    if Command::new("tmux").arg("-V").output().is_err() {
        assert!(
            std::env::var_os("CI").is_none(),
            "tmux is required under CI"
        );
        eprintln!("tmux is not installed: skipping the end-to-end test");
        return;
    }
    let bin = env!("CARGO_BIN_EXE_vmcore-tui");
    let dump = real_data::path("kdump/proc-vmcore.elf").expect("sample dump");
    let dir = tempfile::tempdir().expect("tempdir");
    let pidfile = dir.path().join("pid");
    let t = Tmux {
        socket: format!("vmcore-tui-term-{}", std::process::id()),
    };
    let q = |p: &Path| format!("'{}'", p.display().to_string().replace('\'', r"'\''"));
    let script = format!(
        "{} {} & P=$!; echo $P > {}; wait $P; echo EXIT=$?; stty -a | tr ' ' '\\n' | grep -x -- '-*icanon' | sed 's/^/MODE=/'; sleep 120",
        q(Path::new(bin)),
        q(&dump),
        q(&pidfile)
    );
    let out = t.cmd(&[
        "new-session",
        "-d",
        "-s",
        "e2e",
        "-x",
        "100",
        "-y",
        "30",
        "sh",
        "-c",
        &script,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    t.wait_for("Crash time");
    assert_eq!(t.flag("alternate_on"), "1");
    let pid = std::fs::read_to_string(&pidfile).expect("pid file");
    // Only the TUI this test started, by its process id.
    let killed = Command::new("kill")
        .args(["-TERM", pid.trim()])
        .status()
        .expect("run kill");
    assert!(killed.success());
    let s = t.wait_for("MODE=");
    assert!(s.contains("EXIT=0"), "{s}");
    assert!(s.contains("MODE=icanon"), "raw mode left on:\n{s}");
    assert_eq!(t.flag("alternate_on"), "0", "alternate screen left on");
    assert_eq!(t.flag("mouse_any_flag"), "0", "mouse reporting left on");
    assert_eq!(t.flag("cursor_flag"), "1", "cursor left hidden");
}

#[test]
fn a_missing_dump_is_named_with_the_os_error() {
    let o = Command::new(env!("CARGO_BIN_EXE_vmcore-tui"))
        .arg("/nonexistent/vmcore")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run vmcore-tui");
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("cannot open /nonexistent/vmcore")
            && err.contains("No such file or directory (os error 2)"),
        "{err}"
    );
    assert_eq!(err.matches("os error").count(), 1, "{err}");
}
