//! The real-kernel run as a cargo test, only when asked: `VMLAB=1 cargo test -p vmlab --test vm`
//! (needs `cargo build --release -p vmcore-cli` first; CI uses scripts/vm-ci.sh instead).
//! Without VMLAB=1 it boots nothing and says so: `cargo test --workspace` stays VM-free.

use std::path::Path;
use std::process::Command;

#[test]
fn ci_short_scenario_in_a_real_guest() {
    if std::env::var("VMLAB").as_deref() != Ok("1") {
        eprintln!("vmlab: VM test not run (set VMLAB=1 to boot the guest)");
        return;
    }
    let ws = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let vmcore = ws.join("target/release/vmcore");
    assert!(
        vmcore.is_file(),
        "VMLAB=1 but no {}: run `cargo build --release -p vmcore-cli` first",
        vmcore.display()
    );
    let st = Command::new(env!("CARGO_BIN_EXE_vmlab"))
        .arg("run")
        .arg(ws.join("scenarios/ci-short.json"))
        .status()
        .expect("cannot run vmlab");
    assert!(
        st.success(),
        "the ci-short scenario failed ({st}); see its output above"
    );
}
