//! Tests: elf_real.
