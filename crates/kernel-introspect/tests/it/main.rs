//! Integration tests of kernel-introspect: real-data oracles first (System.map and drgn with
//! Debian's full debug vmlinux, testdata/real/oracles), then hostile inputs.

mod arm64_real;
mod bt;
mod btf;
mod fuzz_regressions;
mod kallsyms;
mod kernels;
mod modcrash;
mod support;
mod task;
mod unwind_arm64;
mod unwind_hostile;
