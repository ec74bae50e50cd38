//! CLI integration tests through the real binary (one test binary, one file per area).
mod arm64;
mod bt;
mod check;
mod cli;
mod hostile;
mod modcrash;
mod task;
mod tidy;
mod tui_agrees;
mod usability;

use std::process::{Command, Output};

/// Run the real `vmcore` binary.
pub fn vmcore(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vmcore"))
        .args(args)
        .output()
        .expect("run vmcore")
}

/// Its standard output as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("utf-8")
}

/// Path of a real file or captured folder under testdata/real (decompressed when needed).
pub fn real(rel: &str) -> String {
    real_data::path(rel)
        .unwrap_or_else(|e| panic!("{rel}: {e}"))
        .to_string_lossy()
        .into_owned()
}
