//! Tests: elf_synthetic.
