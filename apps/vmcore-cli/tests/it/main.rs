//! CLI integration tests through the real binary (one test binary, one file per area).
mod check;
mod cli;
mod tidy;
