//! ELF constants used by kdump headers and vmcores (from the ELF gABI and Linux `elf.h`).

/// `\x7fELF`.
pub const ELFMAG: [u8; 4] = *b"\x7fELF";
/// 32-bit class.
pub const ELFCLASS32: u8 = 1;
/// 64-bit class.
pub const ELFCLASS64: u8 = 2;
/// Little-endian.
pub const ELFDATA2LSB: u8 = 1;
/// Big-endian.
pub const ELFDATA2MSB: u8 = 2;
/// Current ELF version.
pub const EV_CURRENT: u8 = 1;
/// Core file.
pub const ET_CORE: u16 = 4;
/// Intel 80386.
pub const EM_386: u16 = 3;
/// AMD x86-64.
pub const EM_X86_64: u16 = 62;
/// ARM 64-bit.
pub const EM_AARCH64: u16 = 183;
/// Loadable segment.
pub const PT_LOAD: u32 = 1;
/// Note segment.
pub const PT_NOTE: u32 = 4;
/// Segment flag: executable.
pub const PF_X: u32 = 1;
/// Segment flag: writable.
pub const PF_W: u32 = 2;
/// Segment flag: readable.
pub const PF_R: u32 = 4;
/// Extended numbering: e_phnum == PN_XNUM means the count is in section 0's sh_info.
pub const PN_XNUM: u16 = 0xffff;
/// `struct elf_prstatus`.
pub const NT_PRSTATUS: u32 = 1;
/// `struct elf_prpsinfo`.
pub const NT_PRPSINFO: u32 = 3;
/// Size of `Elf64_Ehdr`.
pub const EHDR64_SIZE: usize = 64;
/// Size of `Elf64_Phdr`.
pub const PHDR64_SIZE: usize = 56;
/// Size of `Elf32_Ehdr`.
pub const EHDR32_SIZE: usize = 52;
/// Size of `Elf32_Phdr`.
pub const PHDR32_SIZE: usize = 32;
/// `makedumpfile` marks an incomplete ELF dump with this bit in `e_flags`.
pub const DUMP_ELF_INCOMPLETE: u32 = 0x1;

mod raw;
pub use raw::*;
