//! Byte comparison of two elfcorehdr segments, reported as the first differing byte and the
//! ELF field it belongs to, so a failing VM check says what broke, not just "differs".

use elfcorehdr::{Elfcorehdr, PhdrRole};
use kdump_types::elf::{EHDR64_SIZE as EHDR, PHDR64_SIZE as PHDR, ehdr64, phdr64};

/// `(offset, size, name)` of the Elf64_Ehdr fields (offsets from the raw ELF layer).
const EHDR_FIELDS: &[(usize, usize, &str)] = &[
    (0, 4, "e_ident[EI_MAG]"),
    (4, 1, "e_ident[EI_CLASS]"),
    (5, 1, "e_ident[EI_DATA]"),
    (6, 1, "e_ident[EI_VERSION]"),
    (7, 1, "e_ident[EI_OSABI]"),
    (8, 8, "e_ident[EI_ABIVERSION..]"),
    (ehdr64::E_TYPE, 2, "e_type"),
    (ehdr64::E_MACHINE, 2, "e_machine"),
    (ehdr64::E_VERSION, 4, "e_version"),
    (ehdr64::E_ENTRY, 8, "e_entry"),
    (ehdr64::E_PHOFF, 8, "e_phoff"),
    (ehdr64::E_SHOFF, 8, "e_shoff"),
    (ehdr64::E_FLAGS, 4, "e_flags"),
    (ehdr64::E_EHSIZE, 2, "e_ehsize"),
    (ehdr64::E_PHENTSIZE, 2, "e_phentsize"),
    (ehdr64::E_PHNUM, 2, "e_phnum"),
    (ehdr64::E_SHENTSIZE, 2, "e_shentsize"),
    (ehdr64::E_SHNUM, 2, "e_shnum"),
    (ehdr64::E_SHSTRNDX, 2, "e_shstrndx"),
];

/// `(offset, size, name)` of the Elf64_Phdr fields.
const PHDR_FIELDS: &[(usize, usize, &str)] = &[
    (phdr64::P_TYPE, 4, "p_type"),
    (phdr64::P_FLAGS, 4, "p_flags"),
    (phdr64::P_OFFSET, 8, "p_offset"),
    (phdr64::P_VADDR, 8, "p_vaddr"),
    (phdr64::P_PADDR, 8, "p_paddr"),
    (phdr64::P_FILESZ, 8, "p_filesz"),
    (phdr64::P_MEMSZ, 8, "p_memsz"),
    (phdr64::P_ALIGN, 8, "p_align"),
];

fn le(bytes: &[u8], at: usize, size: usize) -> Option<u64> {
    let s = bytes.get(at..at + size)?;
    Some(s.iter().rev().fold(0u64, |v, &b| (v << 8) | u64::from(b)))
}

/// What a phdr index is in a kernel header (for messages).
fn role(h: Option<&Elfcorehdr>, i: usize) -> String {
    let Some(h) = h else {
        return "?".into();
    };
    match h.role(i) {
        PhdrRole::CpuNote(k) => format!("PT_NOTE of possible CPU #{k}"),
        PhdrRole::Vmcoreinfo => "VMCOREINFO PT_NOTE".into(),
        PhdrRole::KernelText => "kernel text PT_LOAD".into(),
        PhdrRole::Ram(range) => format!("RAM PT_LOAD {range}"),
        PhdrRole::Other => "beyond e_phnum".into(),
    }
}

/// Name the field at byte `off` of a header whose phdr table has `phnum` entries.
pub fn field_at(off: usize, phnum: usize) -> (String, usize, usize) {
    if off < EHDR {
        for &(o, n, name) in EHDR_FIELDS {
            if off >= o && off < o + n {
                return (format!("ELF header {name}"), o, n);
            }
        }
    }
    let ph = off.saturating_sub(EHDR) / PHDR;
    if off >= EHDR && ph < phnum {
        let within = (off - EHDR) % PHDR;
        for &(o, n, name) in PHDR_FIELDS {
            if within >= o && within < o + n {
                return (format!("phdr[{ph}].{name}"), EHDR + ph * PHDR + o, n);
            }
        }
    }
    ("zero padding".into(), off, 1)
}

/// `None` when equal; else a message naming the first differing byte, its field, both values,
/// and how many bytes differ in all.
pub fn describe_difference(kernel: &[u8], engine: &[u8]) -> Option<String> {
    let common = kernel.len().min(engine.len());
    let first = (0..common).find(|&i| kernel[i] != engine[i]);
    let first = match first {
        Some(i) => i,
        None if kernel.len() == engine.len() => return None,
        None => {
            return Some(format!(
                "lengths differ: kernel segment {} bytes, engine {} bytes (equal up to {common})",
                kernel.len(),
                engine.len()
            ));
        }
    };
    let total = (0..common).filter(|&i| kernel[i] != engine[i]).count();
    let kh = Elfcorehdr::parse(kernel).ok();
    let phnum = le(kernel, ehdr64::E_PHNUM, 2)
        .unwrap_or(0)
        .max(le(engine, ehdr64::E_PHNUM, 2).unwrap_or(0)) as usize;
    let (field, at, size) = field_at(first, phnum);
    let mut msg = format!(
        "first differing byte at offset {first:#x} ({first}): {field}: kernel {:#x}, engine {:#x}",
        le(kernel, at, size).unwrap_or(0),
        le(engine, at, size).unwrap_or(0)
    );
    if field.starts_with("phdr[") {
        let i = (first - EHDR) / PHDR;
        msg.push_str(&format!(
            " (kernel's phdr[{i}] is the {})",
            role(kh.as_ref(), i)
        ));
    }
    msg.push_str(&format!(
        "; {total} byte(s) differ in all; kernel e_phnum {}, engine e_phnum {}",
        le(kernel, ehdr64::E_PHNUM, 2).unwrap_or(0),
        le(engine, ehdr64::E_PHNUM, 2).unwrap_or(0)
    ));
    Some(msg)
}

#[cfg(test)]
mod tests;
