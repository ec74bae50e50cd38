//! vmlab: real-kernel tests. A Debian Linux 6.12 guest under QEMU/TCG hot-plugs CPUs and
//! memory as a scenario file says, is snapshotted and checked after every step (the kernel's
//! own elfcorehdr, read out of guest RAM, against our engine; `vmcore elfcorehdr verify --live`
//! and `watch` inside the guest), then crashes; the dumps its crash kernel saves are checked
//! with our readers. See docs/VMLAB.md.
//!
//! Nothing here boots a VM unless asked: `vmlab run SCENARIO` (or `VMLAB=1 cargo test -p
//! vmlab`). The unit tests need no VM.

pub mod b64;
pub mod chan;
pub mod checks;
pub mod hdrdiff;
pub mod history;
pub mod machine;
pub mod modcrash;
pub mod qmp;
pub mod run;
pub mod scenario;
