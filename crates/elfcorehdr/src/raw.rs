//! The ELF header the kernel writes. Decoding and encoding `Elf64_Ehdr` / `Elf64_Phdr` live in
//! one place, the raw ELF layer `kdump_types::elf` (named field offsets, little-endian); this
//! crate keeps its historical names for them as aliases.

use kdump_types::elf::EM_X86_64;
pub use kdump_types::elf::{Elf64Ehdr, Elf64Phdr};

/// `Elf64_Ehdr` (this crate's name for [`Elf64Ehdr`]).
pub type ElfHeader = Elf64Ehdr;
/// `Elf64_Phdr` (this crate's name for [`Elf64Phdr`]).
pub type ProgramHeader = Elf64Phdr;

/// The header `crash_prepare_elf64_headers()` writes, with `e_phnum` phdrs. `EI_OSABI` is
/// `ELF_OSABI`, which x86 leaves at the generic `ELFOSABI_NONE` (0); the oracle headers confirm
/// it ("UNIX - System V").
pub fn kernel_ehdr(e_phnum: u16) -> Elf64Ehdr {
    Elf64Ehdr::core(EM_X86_64, e_phnum)
}
