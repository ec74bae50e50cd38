//! The raw ELF layer: `Elf64_Ehdr`, `Elf64_Phdr` and `Elf64_Nhdr` decoded from and encoded to
//! their bytes, with every field offset named once.
//!
//! **Byte order.** A reader finds the file's order once, from `e_ident[EI_DATA]` ([`ident`],
//! [`Ident::byte_order`]), and reads through a [`Bytes`] view in that order: every `read*`
//! here decodes in the view's order, so a big-endian (ppc64, s390x) header decodes as a
//! little-endian one does. `decode*`/`to_bytes*` without `_in` are little-endian (x86_64 and
//! aarch64, what the elfcorehdr engine builds); the `_in` forms take the order.
//!
//! **Bounds.** `read*` functions take a [`Bytes`] view and fail with a [`ReadError`] naming the
//! absolute file offset; `decode*` functions take a fixed-size array, so they cannot run past
//! the end. ELF32 headers (i386 dumps) decode into the same structs, every field widened.
//!
//! One home: the reader (`vmcore::elf`), the elfcorehdr engine, `vmcore::convert` and the
//! synthetic dumps of `testgen` all encode and decode ELF headers through this file.

use crate::{ByteOrder, Bytes, ReadError};

use super::{
    EHDR32_SIZE, EHDR64_SIZE, ELFCLASS64, ELFDATA2LSB, ELFMAG, ET_CORE, EV_CURRENT, PHDR32_SIZE,
    PHDR64_SIZE,
};

/// Offsets in `e_ident` (the same in both classes).
pub mod ident {
    /// `EI_MAG0..EI_MAG3`: `\x7fELF`.
    pub const EI_MAG: u64 = 0;
    /// `EI_CLASS`: [`ELFCLASS32`](crate::elf::ELFCLASS32) or [`ELFCLASS64`](crate::elf::ELFCLASS64).
    pub const EI_CLASS: u64 = 4;
    /// `EI_DATA`: byte order, [`ELFDATA2LSB`](crate::elf::ELFDATA2LSB) or
    /// [`ELFDATA2MSB`](crate::elf::ELFDATA2MSB).
    pub const EI_DATA: u64 = 5;
    /// `EI_VERSION`.
    pub const EI_VERSION: u64 = 6;
    /// `EI_NIDENT`: size of `e_ident`.
    pub const EI_NIDENT: u64 = 16;
}

/// Field offsets of one class's ELF header, program header and section header 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClassLayout {
    /// `sizeof(ElfN_Ehdr)`.
    pub ehdr_size: u64,
    /// `sizeof(ElfN_Phdr)`.
    pub phdr_size: u64,
    /// `e_type`.
    pub e_type: u64,
    /// `e_machine`.
    pub e_machine: u64,
    /// `e_phoff`.
    pub e_phoff: u64,
    /// `e_shoff`.
    pub e_shoff: u64,
    /// `e_flags`.
    pub e_flags: u64,
    /// `e_phentsize`.
    pub e_phentsize: u64,
    /// `e_phnum`.
    pub e_phnum: u64,
    /// `sh_info` in a section header (section 0 holds the PN_XNUM program header count).
    pub sh_info: u64,
}

/// Every field offset of `Elf64_Ehdr` (ELF gABI; `struct elf64_hdr` in include/uapi/linux/elf.h).
pub mod ehdr64 {
    /// `e_ident[16]`.
    pub const E_IDENT: usize = 0;
    /// `e_type`.
    pub const E_TYPE: usize = 16;
    /// `e_machine`.
    pub const E_MACHINE: usize = 18;
    /// `e_version`.
    pub const E_VERSION: usize = 20;
    /// `e_entry`.
    pub const E_ENTRY: usize = 24;
    /// `e_phoff`.
    pub const E_PHOFF: usize = 32;
    /// `e_shoff`.
    pub const E_SHOFF: usize = 40;
    /// `e_flags`.
    pub const E_FLAGS: usize = 48;
    /// `e_ehsize`.
    pub const E_EHSIZE: usize = 52;
    /// `e_phentsize`.
    pub const E_PHENTSIZE: usize = 54;
    /// `e_phnum`.
    pub const E_PHNUM: usize = 56;
    /// `e_shentsize`.
    pub const E_SHENTSIZE: usize = 58;
    /// `e_shnum`.
    pub const E_SHNUM: usize = 60;
    /// `e_shstrndx`.
    pub const E_SHSTRNDX: usize = 62;
}

/// Every field offset of `Elf32_Ehdr`.
pub mod ehdr32 {
    /// `e_type`.
    pub const E_TYPE: usize = 16;
    /// `e_machine`.
    pub const E_MACHINE: usize = 18;
    /// `e_version`.
    pub const E_VERSION: usize = 20;
    /// `e_entry`.
    pub const E_ENTRY: usize = 24;
    /// `e_phoff`.
    pub const E_PHOFF: usize = 28;
    /// `e_shoff`.
    pub const E_SHOFF: usize = 32;
    /// `e_flags`.
    pub const E_FLAGS: usize = 36;
    /// `e_ehsize`.
    pub const E_EHSIZE: usize = 40;
    /// `e_phentsize`.
    pub const E_PHENTSIZE: usize = 42;
    /// `e_phnum`.
    pub const E_PHNUM: usize = 44;
    /// `e_shentsize`.
    pub const E_SHENTSIZE: usize = 46;
    /// `e_shnum`.
    pub const E_SHNUM: usize = 48;
    /// `e_shstrndx`.
    pub const E_SHSTRNDX: usize = 50;
}

/// Every field offset of `Elf64_Phdr` (`struct elf64_phdr`).
pub mod phdr64 {
    /// `p_type`.
    pub const P_TYPE: usize = 0;
    /// `p_flags` (after `p_type` in ELF64, unlike ELF32).
    pub const P_FLAGS: usize = 4;
    /// `p_offset`.
    pub const P_OFFSET: usize = 8;
    /// `p_vaddr`.
    pub const P_VADDR: usize = 16;
    /// `p_paddr`.
    pub const P_PADDR: usize = 24;
    /// `p_filesz`.
    pub const P_FILESZ: usize = 32;
    /// `p_memsz`.
    pub const P_MEMSZ: usize = 40;
    /// `p_align`.
    pub const P_ALIGN: usize = 48;
}

/// Every field offset of `Elf32_Phdr` (`struct elf32_phdr`).
pub mod phdr32 {
    /// `p_type`.
    pub const P_TYPE: usize = 0;
    /// `p_offset`.
    pub const P_OFFSET: usize = 4;
    /// `p_vaddr`.
    pub const P_VADDR: usize = 8;
    /// `p_paddr`.
    pub const P_PADDR: usize = 12;
    /// `p_filesz`.
    pub const P_FILESZ: usize = 16;
    /// `p_memsz`.
    pub const P_MEMSZ: usize = 20;
    /// `p_flags` (near the end in ELF32).
    pub const P_FLAGS: usize = 24;
    /// `p_align`.
    pub const P_ALIGN: usize = 28;
}

/// `Elf64_Shdr`: only what a PN_XNUM core needs of section header 0.
pub mod shdr64 {
    /// `sizeof(Elf64_Shdr)`.
    pub const SIZE: usize = 64;
    /// `sh_info` (section 0 holds the real program header count when `e_phnum` is PN_XNUM).
    pub const SH_INFO: usize = 44;
}

/// `Elf32_Shdr`: only what a PN_XNUM core needs of section header 0.
pub mod shdr32 {
    /// `sh_info`.
    pub const SH_INFO: usize = 28;
}

/// `Elf64_Ehdr` / `Elf64_Phdr` / `Elf64_Shdr` offsets.
pub const ELF64: ClassLayout = ClassLayout {
    ehdr_size: EHDR64_SIZE as u64,
    phdr_size: PHDR64_SIZE as u64,
    e_type: ehdr64::E_TYPE as u64,
    e_machine: ehdr64::E_MACHINE as u64,
    e_phoff: ehdr64::E_PHOFF as u64,
    e_shoff: ehdr64::E_SHOFF as u64,
    e_flags: ehdr64::E_FLAGS as u64,
    e_phentsize: ehdr64::E_PHENTSIZE as u64,
    e_phnum: ehdr64::E_PHNUM as u64,
    sh_info: shdr64::SH_INFO as u64,
};

/// `Elf32_Ehdr` / `Elf32_Phdr` / `Elf32_Shdr` offsets.
pub const ELF32: ClassLayout = ClassLayout {
    ehdr_size: EHDR32_SIZE as u64,
    phdr_size: PHDR32_SIZE as u64,
    e_type: ehdr32::E_TYPE as u64,
    e_machine: ehdr32::E_MACHINE as u64,
    e_phoff: ehdr32::E_PHOFF as u64,
    e_shoff: ehdr32::E_SHOFF as u64,
    e_flags: ehdr32::E_FLAGS as u64,
    e_phentsize: ehdr32::E_PHENTSIZE as u64,
    e_phnum: ehdr32::E_PHNUM as u64,
    sh_info: shdr32::SH_INFO as u64,
};

/// What `e_ident` says about the rest of the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ident {
    /// `e_ident[EI_MAG0..4] == "\x7fELF"`.
    pub magic_ok: bool,
    /// `e_ident[EI_CLASS]`.
    pub class: u8,
    /// `e_ident[EI_DATA]`: the byte order every later field is in.
    pub data: u8,
    /// `e_ident[EI_VERSION]`.
    pub version: u8,
}

impl Ident {
    /// True when the file is little-endian.
    pub fn is_little_endian(&self) -> bool {
        self.data == ELFDATA2LSB
    }
    /// The order every later field is in; `None` for an `EI_DATA` that is neither.
    pub fn byte_order(&self) -> Option<ByteOrder> {
        ByteOrder::from_elf_data(self.data)
    }
}

/// Decode `e_ident` at the start of `b`.
pub fn ident(b: &Bytes<'_>) -> Result<Ident, ReadError> {
    let id: [u8; 16] = b.array("ELF identification", 0)?;
    Ok(Ident {
        magic_ok: id[..4] == ELFMAG,
        class: id[ident::EI_CLASS as usize],
        data: id[ident::EI_DATA as usize],
        version: id[ident::EI_VERSION as usize],
    })
}

/// `N` bytes at `at` of a fixed-size structure; `at + N` is within the array at every call site
/// (constant offsets of a fixed-size type), checked by the round-trip tests.
fn field<const N: usize>(b: &[u8], at: usize) -> [u8; N] {
    let mut a = [0u8; N];
    a.copy_from_slice(&b[at..at + N]);
    a
}
fn u16_at(o: ByteOrder, b: &[u8], at: usize) -> u16 {
    o.u16(field(b, at))
}
fn u32_at(o: ByteOrder, b: &[u8], at: usize) -> u32 {
    o.u32(field(b, at))
}
fn u64_at(o: ByteOrder, b: &[u8], at: usize) -> u64 {
    o.u64(field(b, at))
}
fn put(out: &mut [u8], at: usize, v: &[u8]) {
    out[at..at + v.len()].copy_from_slice(v);
}

/// `Elf64_Ehdr`, every field (an ELF32 header decodes into it widened).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Elf64Ehdr {
    /// `e_ident` (16 bytes).
    pub e_ident: [u8; 16],
    /// `e_type` (`ET_CORE` = 4 for a dump).
    pub e_type: u16,
    /// `e_machine` (`EM_X86_64` = 62, `EM_AARCH64` = 183, `EM_386` = 3).
    pub e_machine: u16,
    /// `e_version` (`EV_CURRENT` = 1).
    pub e_version: u32,
    /// `e_entry` (0 in a core).
    pub e_entry: u64,
    /// `e_phoff`: file offset of the program header table.
    pub e_phoff: u64,
    /// `e_shoff`: file offset of the section header table (0 unless PN_XNUM).
    pub e_shoff: u64,
    /// `e_flags` (makedumpfile sets `DUMP_ELF_INCOMPLETE`).
    pub e_flags: u32,
    /// `e_ehsize`.
    pub e_ehsize: u16,
    /// `e_phentsize`.
    pub e_phentsize: u16,
    /// `e_phnum` (`PN_XNUM` = 0xffff: the count is in section header 0's `sh_info`).
    pub e_phnum: u16,
    /// `e_shentsize`.
    pub e_shentsize: u16,
    /// `e_shnum`.
    pub e_shnum: u16,
    /// `e_shstrndx`.
    pub e_shstrndx: u16,
}

impl Elf64Ehdr {
    /// Decode the 64 bytes at relative offset `off` of `b`.
    pub fn read(b: &Bytes<'_>, off: u64) -> Result<Self, ReadError> {
        b.array::<EHDR64_SIZE>("Elf64_Ehdr", off)
            .map(|a| Self::decode_in(&a, b.order()))
    }

    /// Decode the 52-byte `Elf32_Ehdr` at relative offset `off` of `b`, widened.
    pub fn read_elf32(b: &Bytes<'_>, off: u64) -> Result<Self, ReadError> {
        b.array::<EHDR32_SIZE>("Elf32_Ehdr", off)
            .map(|a| Self::decode_elf32_in(&a, b.order()))
    }

    /// Decode a little-endian 64-byte `Elf64_Ehdr`.
    pub fn decode(b: &[u8; EHDR64_SIZE]) -> Self {
        Self::decode_in(b, ByteOrder::Little)
    }

    /// Decode a 64-byte `Elf64_Ehdr` in byte order `o`.
    pub fn decode_in(b: &[u8; EHDR64_SIZE], o: ByteOrder) -> Self {
        use ehdr64::*;
        Elf64Ehdr {
            e_ident: field(b, E_IDENT),
            e_type: u16_at(o, b, E_TYPE),
            e_machine: u16_at(o, b, E_MACHINE),
            e_version: u32_at(o, b, E_VERSION),
            e_entry: u64_at(o, b, E_ENTRY),
            e_phoff: u64_at(o, b, E_PHOFF),
            e_shoff: u64_at(o, b, E_SHOFF),
            e_flags: u32_at(o, b, E_FLAGS),
            e_ehsize: u16_at(o, b, E_EHSIZE),
            e_phentsize: u16_at(o, b, E_PHENTSIZE),
            e_phnum: u16_at(o, b, E_PHNUM),
            e_shentsize: u16_at(o, b, E_SHENTSIZE),
            e_shnum: u16_at(o, b, E_SHNUM),
            e_shstrndx: u16_at(o, b, E_SHSTRNDX),
        }
    }

    /// Decode a little-endian 52-byte `Elf32_Ehdr`, every address and offset widened.
    pub fn decode_elf32(b: &[u8; EHDR32_SIZE]) -> Self {
        Self::decode_elf32_in(b, ByteOrder::Little)
    }

    /// Decode a 52-byte `Elf32_Ehdr` in byte order `o`, every address and offset widened.
    pub fn decode_elf32_in(b: &[u8; EHDR32_SIZE], o: ByteOrder) -> Self {
        use ehdr32::*;
        Elf64Ehdr {
            e_ident: field(b, 0),
            e_type: u16_at(o, b, E_TYPE),
            e_machine: u16_at(o, b, E_MACHINE),
            e_version: u32_at(o, b, E_VERSION),
            e_entry: u32_at(o, b, E_ENTRY).into(),
            e_phoff: u32_at(o, b, E_PHOFF).into(),
            e_shoff: u32_at(o, b, E_SHOFF).into(),
            e_flags: u32_at(o, b, E_FLAGS),
            e_ehsize: u16_at(o, b, E_EHSIZE),
            e_phentsize: u16_at(o, b, E_PHENTSIZE),
            e_phnum: u16_at(o, b, E_PHNUM),
            e_shentsize: u16_at(o, b, E_SHENTSIZE),
            e_shnum: u16_at(o, b, E_SHNUM),
            e_shstrndx: u16_at(o, b, E_SHSTRNDX),
        }
    }

    /// The 64 little-endian bytes.
    pub fn to_bytes(&self) -> [u8; EHDR64_SIZE] {
        self.to_bytes_in(ByteOrder::Little)
    }

    /// The 64 bytes in byte order `o` (`e_ident` is written as it is: set its `EI_DATA` to
    /// match, as [`Elf64Ehdr::core_in`] does).
    pub fn to_bytes_in(&self, o: ByteOrder) -> [u8; EHDR64_SIZE] {
        use ehdr64::*;
        let mut out = [0u8; EHDR64_SIZE];
        put(&mut out, E_IDENT, &self.e_ident);
        put(&mut out, E_TYPE, &o.u16_bytes(self.e_type));
        put(&mut out, E_MACHINE, &o.u16_bytes(self.e_machine));
        put(&mut out, E_VERSION, &o.u32_bytes(self.e_version));
        put(&mut out, E_ENTRY, &o.u64_bytes(self.e_entry));
        put(&mut out, E_PHOFF, &o.u64_bytes(self.e_phoff));
        put(&mut out, E_SHOFF, &o.u64_bytes(self.e_shoff));
        put(&mut out, E_FLAGS, &o.u32_bytes(self.e_flags));
        put(&mut out, E_EHSIZE, &o.u16_bytes(self.e_ehsize));
        put(&mut out, E_PHENTSIZE, &o.u16_bytes(self.e_phentsize));
        put(&mut out, E_PHNUM, &o.u16_bytes(self.e_phnum));
        put(&mut out, E_SHENTSIZE, &o.u16_bytes(self.e_shentsize));
        put(&mut out, E_SHNUM, &o.u16_bytes(self.e_shnum));
        put(&mut out, E_SHSTRNDX, &o.u16_bytes(self.e_shstrndx));
        out
    }

    /// Encode into exactly 64 bytes.
    pub fn encode(&self, out: &mut [u8; EHDR64_SIZE]) {
        *out = self.to_bytes();
    }

    /// The header of a little-endian ELF64 core with `e_phnum` program headers right after it,
    /// as the kernel's `crash_prepare_elf64_headers()` and `makedumpfile -E` write it:
    /// `EI_OSABI` is `ELFOSABI_NONE` (0), no entry, no sections, no flags.
    pub fn core(e_machine: u16, e_phnum: u16) -> Self {
        Self::core_in(e_machine, e_phnum, ByteOrder::Little)
    }

    /// [`Elf64Ehdr::core`] of a machine whose byte order is `o` (`EI_DATA` says so; encode
    /// it with [`Elf64Ehdr::to_bytes_in`]).
    pub fn core_in(e_machine: u16, e_phnum: u16, o: ByteOrder) -> Self {
        let mut e_ident = [0u8; 16];
        e_ident[..4].copy_from_slice(&ELFMAG);
        e_ident[ident::EI_CLASS as usize] = ELFCLASS64;
        e_ident[ident::EI_DATA as usize] = o.elf_data();
        e_ident[ident::EI_VERSION as usize] = EV_CURRENT;
        Elf64Ehdr {
            e_ident,
            e_type: ET_CORE,
            e_machine,
            e_version: u32::from(EV_CURRENT),
            e_phoff: EHDR64_SIZE as u64,
            e_ehsize: EHDR64_SIZE as u16,
            e_phentsize: PHDR64_SIZE as u16,
            e_phnum,
            ..Elf64Ehdr::default()
        }
    }
}

/// `Elf64_Phdr` (an ELF32 program header decodes into it widened).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Elf64Phdr {
    /// `p_type`: `PT_LOAD` (1), `PT_NOTE` (4), …
    pub p_type: u32,
    /// `p_flags`: `PF_R | PF_W | PF_X` for a kernel PT_LOAD, 0 for PT_NOTE.
    pub p_flags: u32,
    /// `p_offset`: a file offset; in a raw elfcorehdr a *physical address* (== `p_paddr`).
    pub p_offset: u64,
    /// `p_vaddr`.
    pub p_vaddr: u64,
    /// `p_paddr`.
    pub p_paddr: u64,
    /// `p_filesz`.
    pub p_filesz: u64,
    /// `p_memsz`.
    pub p_memsz: u64,
    /// `p_align`.
    pub p_align: u64,
}

impl Elf64Phdr {
    /// Decode the 56 bytes at relative offset `off` of `b`.
    pub fn read(b: &Bytes<'_>, off: u64) -> Result<Self, ReadError> {
        b.array::<PHDR64_SIZE>("Elf64_Phdr", off)
            .map(|a| Self::decode_in(&a, b.order()))
    }

    /// Decode the 32-byte `Elf32_Phdr` at relative offset `off` of `b`, widened.
    pub fn read_elf32(b: &Bytes<'_>, off: u64) -> Result<Self, ReadError> {
        b.array::<PHDR32_SIZE>("Elf32_Phdr", off)
            .map(|a| Self::decode_elf32_in(&a, b.order()))
    }

    /// Decode a little-endian 56-byte `Elf64_Phdr`.
    pub fn decode(b: &[u8; PHDR64_SIZE]) -> Self {
        Self::decode_in(b, ByteOrder::Little)
    }

    /// Decode a 56-byte `Elf64_Phdr` in byte order `o`.
    pub fn decode_in(b: &[u8; PHDR64_SIZE], o: ByteOrder) -> Self {
        use phdr64::*;
        Elf64Phdr {
            p_type: u32_at(o, b, P_TYPE),
            p_flags: u32_at(o, b, P_FLAGS),
            p_offset: u64_at(o, b, P_OFFSET),
            p_vaddr: u64_at(o, b, P_VADDR),
            p_paddr: u64_at(o, b, P_PADDR),
            p_filesz: u64_at(o, b, P_FILESZ),
            p_memsz: u64_at(o, b, P_MEMSZ),
            p_align: u64_at(o, b, P_ALIGN),
        }
    }

    /// Decode a little-endian 32-byte `Elf32_Phdr`, widened.
    pub fn decode_elf32(b: &[u8; PHDR32_SIZE]) -> Self {
        Self::decode_elf32_in(b, ByteOrder::Little)
    }

    /// Decode a 32-byte `Elf32_Phdr` in byte order `o`, widened.
    pub fn decode_elf32_in(b: &[u8; PHDR32_SIZE], o: ByteOrder) -> Self {
        use phdr32::*;
        Elf64Phdr {
            p_type: u32_at(o, b, P_TYPE),
            p_flags: u32_at(o, b, P_FLAGS),
            p_offset: u32_at(o, b, P_OFFSET).into(),
            p_vaddr: u32_at(o, b, P_VADDR).into(),
            p_paddr: u32_at(o, b, P_PADDR).into(),
            p_filesz: u32_at(o, b, P_FILESZ).into(),
            p_memsz: u32_at(o, b, P_MEMSZ).into(),
            p_align: u32_at(o, b, P_ALIGN).into(),
        }
    }

    /// The 56 little-endian bytes.
    pub fn to_bytes(&self) -> [u8; PHDR64_SIZE] {
        self.to_bytes_in(ByteOrder::Little)
    }

    /// The 56 bytes in byte order `o`.
    pub fn to_bytes_in(&self, o: ByteOrder) -> [u8; PHDR64_SIZE] {
        use phdr64::*;
        let mut out = [0u8; PHDR64_SIZE];
        put(&mut out, P_TYPE, &o.u32_bytes(self.p_type));
        put(&mut out, P_FLAGS, &o.u32_bytes(self.p_flags));
        put(&mut out, P_OFFSET, &o.u64_bytes(self.p_offset));
        put(&mut out, P_VADDR, &o.u64_bytes(self.p_vaddr));
        put(&mut out, P_PADDR, &o.u64_bytes(self.p_paddr));
        put(&mut out, P_FILESZ, &o.u64_bytes(self.p_filesz));
        put(&mut out, P_MEMSZ, &o.u64_bytes(self.p_memsz));
        put(&mut out, P_ALIGN, &o.u64_bytes(self.p_align));
        out
    }

    /// Encode into exactly 56 bytes.
    pub fn encode(&self, out: &mut [u8; PHDR64_SIZE]) {
        *out = self.to_bytes();
    }
}

/// Size of `Elf64_Nhdr` (`Elf32_Nhdr` is the same: three 32-bit words).
pub const NHDR_SIZE: usize = 12;

/// Field offsets of `Elf64_Nhdr`.
pub mod nhdr {
    /// `n_namesz`: bytes of the name, with its NUL.
    pub const N_NAMESZ: usize = 0;
    /// `n_descsz`: bytes of the descriptor.
    pub const N_DESCSZ: usize = 4;
    /// `n_type`.
    pub const N_TYPE: usize = 8;
}

/// `Elf64_Nhdr`: the header of one ELF note (name and descriptor follow, each 4-aligned).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Nhdr {
    /// `n_namesz`.
    pub n_namesz: u32,
    /// `n_descsz`.
    pub n_descsz: u32,
    /// `n_type`.
    pub n_type: u32,
}

impl Nhdr {
    /// Decode the 12 bytes at relative offset `off` of `b`.
    pub fn read(b: &Bytes<'_>, off: u64) -> Result<Self, ReadError> {
        let a: [u8; NHDR_SIZE] = b.array("ELF note header", off)?;
        let o = b.order();
        Ok(Nhdr {
            n_namesz: u32_at(o, &a, nhdr::N_NAMESZ),
            n_descsz: u32_at(o, &a, nhdr::N_DESCSZ),
            n_type: u32_at(o, &a, nhdr::N_TYPE),
        })
    }

    /// The 12 little-endian bytes.
    pub fn to_bytes(&self) -> [u8; NHDR_SIZE] {
        self.to_bytes_in(ByteOrder::Little)
    }

    /// The 12 bytes in byte order `o`.
    pub fn to_bytes_in(&self, o: ByteOrder) -> [u8; NHDR_SIZE] {
        let mut out = [0u8; NHDR_SIZE];
        put(&mut out, nhdr::N_NAMESZ, &o.u32_bytes(self.n_namesz));
        put(&mut out, nhdr::N_DESCSZ, &o.u32_bytes(self.n_descsz));
        put(&mut out, nhdr::N_TYPE, &o.u32_bytes(self.n_type));
        out
    }
}

/// Append one note to `out` as the kernel writes it (`append_elf_note`): header, `name` with
/// its NUL, padding to 4, `desc`, padding to 4.
pub fn push_note(out: &mut Vec<u8>, name: &str, n_type: u32, desc: &[u8]) {
    push_note_in(out, ByteOrder::Little, name, n_type, desc);
}

/// [`push_note`] with the note header in byte order `o`.
pub fn push_note_in(out: &mut Vec<u8>, o: ByteOrder, name: &str, n_type: u32, desc: &[u8]) {
    let h = Nhdr {
        n_namesz: name.len() as u32 + 1,
        n_descsz: desc.len() as u32,
        n_type,
    };
    out.extend_from_slice(&h.to_bytes_in(o));
    out.extend_from_slice(name.as_bytes());
    out.push(0);
    out.resize(out.len().next_multiple_of(4), 0);
    out.extend_from_slice(desc);
    out.resize(out.len().next_multiple_of(4), 0);
}

/// Size of `Elf64_Sym`.
pub const SYM64_SIZE: usize = 24;

/// `Elf64_Sym` (a module's `kallsyms->symtab` entries in kernel memory).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Elf64Sym {
    /// `st_name`: offset in the string table.
    pub st_name: u32,
    /// `st_info`: binding and type.
    pub st_info: u8,
    /// `st_other`: visibility.
    pub st_other: u8,
    /// `st_shndx`: section index (`SHN_UNDEF` = 0 for an undefined symbol).
    pub st_shndx: u16,
    /// `st_value`: the address.
    pub st_value: u64,
    /// `st_size`.
    pub st_size: u64,
}

impl Elf64Sym {
    /// Decode the 24 bytes at relative offset `off` of `b`.
    pub fn read(b: &Bytes<'_>, off: u64) -> Result<Self, ReadError> {
        let a: [u8; SYM64_SIZE] = b.array("Elf64_Sym", off)?;
        let o = b.order();
        Ok(Elf64Sym {
            st_name: u32_at(o, &a, 0),
            st_info: a[4],
            st_other: a[5],
            st_shndx: u16_at(o, &a, 6),
            st_value: u64_at(o, &a, 8),
            st_size: u64_at(o, &a, 16),
        })
    }
}
