//! Conversion of any readable dump to an ELF vmcore (see `write_elf`).
