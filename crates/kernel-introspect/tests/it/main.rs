//! Integration tests of kernel-introspect: real-data oracles first (System.map and drgn with
//! Debian's full debug vmlinux, testdata/real/oracles), then hostile inputs.

mod bt;
mod btf;
mod fuzz_regressions;
mod kallsyms;
mod kernels;
mod modcrash;
mod support;
mod task;
mod unwind_hostile;
