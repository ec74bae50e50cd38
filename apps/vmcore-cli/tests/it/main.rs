//! CLI integration tests through the real binary.
