//! `Elf64_Ehdr` / `Elf64_Phdr` as the kernel lays them out, and bounds-checked access to them.

use kdump_types::Bytes;
use kdump_types::elf::{EHDR64_SIZE, PHDR64_SIZE};

use crate::error::Result;

/// `Elf64_Phdr` (ELF gABI; the kernel's `struct elf64_phdr` in include/uapi/linux/elf.h).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ProgramHeader {
    /// `p_type`: PT_NOTE (4) or PT_LOAD (1) in an elfcorehdr.
    pub p_type: u32,
    /// `p_flags`: `PF_R | PF_W | PF_X` for PT_LOAD, 0 for PT_NOTE.
    pub p_flags: u32,
    /// `p_offset`: in a raw elfcorehdr a *physical address* (== `p_paddr`), not a file offset.
    pub p_offset: u64,
    /// `p_vaddr`: 0 for notes; `_text` or `__va(start)` for loads.
    pub p_vaddr: u64,
    /// `p_paddr`: physical address.
    pub p_paddr: u64,
    /// `p_filesz`.
    pub p_filesz: u64,
    /// `p_memsz` (== `p_filesz` in an elfcorehdr).
    pub p_memsz: u64,
    /// `p_align`: 0 in the kernel's header.
    pub p_align: u64,
}

impl ProgramHeader {
    /// Decodes the 56 bytes at relative offset `off` of `data`.
    pub fn read(data: &Bytes<'_>, off: u64) -> Result<Self> {
        let b: [u8; PHDR64_SIZE] = data.array("Elf64_Phdr", off)?;
        Ok(Self::decode(&b))
    }

    /// Decodes a 56-byte `Elf64_Phdr`.
    pub fn decode(b: &[u8; PHDR64_SIZE]) -> Self {
        let u32_at = |o: usize| kdump_types::le_u32(b, o);
        let u64_at = |o: usize| kdump_types::le_u64(b, o);
        ProgramHeader {
            p_type: u32_at(0),
            p_flags: u32_at(4),
            p_offset: u64_at(8),
            p_vaddr: u64_at(16),
            p_paddr: u64_at(24),
            p_filesz: u64_at(32),
            p_memsz: u64_at(40),
            p_align: u64_at(48),
        }
    }

    /// Encodes into exactly 56 bytes.
    pub fn encode(&self, out: &mut [u8; PHDR64_SIZE]) {
        *out = self.to_bytes();
    }

    /// The 56 little-endian bytes, as seven 8-byte words (`p_type` and `p_flags` share the
    /// first), so the builder stores a whole phdr at once instead of field by field.
    pub fn to_bytes(&self) -> [u8; PHDR64_SIZE] {
        let words = [
            u64::from(self.p_type) | u64::from(self.p_flags) << 32,
            self.p_offset,
            self.p_vaddr,
            self.p_paddr,
            self.p_filesz,
            self.p_memsz,
            self.p_align,
        ];
        let mut out = [0u8; PHDR64_SIZE];
        for (chunk, w) in out.chunks_exact_mut(8).zip(words) {
            chunk.copy_from_slice(&w.to_le_bytes());
        }
        out
    }
}

/// The fields of `Elf64_Ehdr` an elfcorehdr uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ElfHeader {
    /// `e_ident` (16 bytes).
    pub e_ident: [u8; 16],
    /// `e_type` (ET_CORE = 4).
    pub e_type: u16,
    /// `e_machine` (EM_X86_64 = 62).
    pub e_machine: u16,
    /// `e_version` (EV_CURRENT = 1).
    pub e_version: u32,
    /// `e_entry` (0).
    pub e_entry: u64,
    /// `e_phoff` (64).
    pub e_phoff: u64,
    /// `e_shoff` (0).
    pub e_shoff: u64,
    /// `e_flags` (0).
    pub e_flags: u32,
    /// `e_ehsize` (64).
    pub e_ehsize: u16,
    /// `e_phentsize` (56).
    pub e_phentsize: u16,
    /// `e_phnum`.
    pub e_phnum: u16,
    /// `e_shentsize` (0).
    pub e_shentsize: u16,
    /// `e_shnum` (0).
    pub e_shnum: u16,
    /// `e_shstrndx` (0).
    pub e_shstrndx: u16,
}

impl ElfHeader {
    /// Decodes the first 64 bytes of `data`.
    pub fn read(data: &Bytes<'_>) -> Result<Self> {
        let b: [u8; EHDR64_SIZE] = data.array("Elf64_Ehdr", 0)?;
        Ok(Self::decode(&b))
    }

    /// Decodes a 64-byte `Elf64_Ehdr`.
    pub fn decode(b: &[u8; EHDR64_SIZE]) -> Self {
        let mut e_ident = [0u8; 16];
        e_ident.copy_from_slice(&b[..16]);
        let u16_at = |o: usize| kdump_types::le_u16(b, o);
        ElfHeader {
            e_ident,
            e_type: u16_at(16),
            e_machine: u16_at(18),
            e_version: kdump_types::le_u32(b, 20),
            e_entry: kdump_types::le_u64(b, 24),
            e_phoff: kdump_types::le_u64(b, 32),
            e_shoff: kdump_types::le_u64(b, 40),
            e_flags: kdump_types::le_u32(b, 48),
            e_ehsize: u16_at(52),
            e_phentsize: u16_at(54),
            e_phnum: u16_at(56),
            e_shentsize: u16_at(58),
            e_shnum: u16_at(60),
            e_shstrndx: u16_at(62),
        }
    }

    /// Encodes into exactly 64 bytes.
    pub fn encode(&self, out: &mut [u8; EHDR64_SIZE]) {
        out[..16].copy_from_slice(&self.e_ident);
        out[16..18].copy_from_slice(&self.e_type.to_le_bytes());
        out[18..20].copy_from_slice(&self.e_machine.to_le_bytes());
        out[20..24].copy_from_slice(&self.e_version.to_le_bytes());
        out[24..32].copy_from_slice(&self.e_entry.to_le_bytes());
        out[32..40].copy_from_slice(&self.e_phoff.to_le_bytes());
        out[40..48].copy_from_slice(&self.e_shoff.to_le_bytes());
        out[48..52].copy_from_slice(&self.e_flags.to_le_bytes());
        out[52..54].copy_from_slice(&self.e_ehsize.to_le_bytes());
        out[54..56].copy_from_slice(&self.e_phentsize.to_le_bytes());
        out[56..58].copy_from_slice(&self.e_phnum.to_le_bytes());
        out[58..60].copy_from_slice(&self.e_shentsize.to_le_bytes());
        out[60..62].copy_from_slice(&self.e_shnum.to_le_bytes());
        out[62..64].copy_from_slice(&self.e_shstrndx.to_le_bytes());
    }

    /// The header `crash_prepare_elf64_headers()` writes, with `e_phnum` phdrs.
    pub fn kernel(e_phnum: u16) -> Self {
        use kdump_types::elf::*;
        let mut e_ident = [0u8; 16];
        e_ident[..4].copy_from_slice(&ELFMAG);
        e_ident[4] = ELFCLASS64;
        e_ident[5] = ELFDATA2LSB;
        e_ident[6] = EV_CURRENT;
        // EI_OSABI = ELF_OSABI, which x86 leaves at the generic ELFOSABI_NONE (0); the oracle
        // headers confirm it ("UNIX - System V").
        ElfHeader {
            e_ident,
            e_type: ET_CORE,
            e_machine: EM_X86_64,
            e_version: u32::from(EV_CURRENT),
            e_phoff: EHDR64_SIZE as u64,
            e_ehsize: EHDR64_SIZE as u16,
            e_phentsize: PHDR64_SIZE as u16,
            e_phnum,
            ..ElfHeader::default()
        }
    }
}
