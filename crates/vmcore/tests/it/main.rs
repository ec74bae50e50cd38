//! One integration-test binary for `vmcore` (one file per area).
mod arm64_real;
mod arm64_walk_real;
mod elf_real;
mod elf_synthetic;
mod flat_elf;
mod fuzz;
mod hostile;
mod kdump;
mod klog;
mod libkdumpfile;
mod paging;
mod paging_arm64;
mod split;
