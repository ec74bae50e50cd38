//! Byte comparison of two elfcorehdr segments, reported as the first differing byte and the
//! ELF field it belongs to, so a failing VM check says what broke, not just "differs".

use elfcorehdr::{Elfcorehdr, PhdrRole};

/// `(offset, size, name)` of the Elf64_Ehdr fields.
const EHDR_FIELDS: &[(usize, usize, &str)] = &[
    (0, 4, "e_ident[EI_MAG]"),
    (4, 1, "e_ident[EI_CLASS]"),
    (5, 1, "e_ident[EI_DATA]"),
    (6, 1, "e_ident[EI_VERSION]"),
    (7, 1, "e_ident[EI_OSABI]"),
    (8, 8, "e_ident[EI_ABIVERSION..]"),
    (16, 2, "e_type"),
    (18, 2, "e_machine"),
    (20, 4, "e_version"),
    (24, 8, "e_entry"),
    (32, 8, "e_phoff"),
    (40, 8, "e_shoff"),
    (48, 4, "e_flags"),
    (52, 2, "e_ehsize"),
    (54, 2, "e_phentsize"),
    (56, 2, "e_phnum"),
    (58, 2, "e_shentsize"),
    (60, 2, "e_shnum"),
    (62, 2, "e_shstrndx"),
];

/// `(offset, size, name)` of the Elf64_Phdr fields.
const PHDR_FIELDS: &[(usize, usize, &str)] = &[
    (0, 4, "p_type"),
    (4, 4, "p_flags"),
    (8, 8, "p_offset"),
    (16, 8, "p_vaddr"),
    (24, 8, "p_paddr"),
    (32, 8, "p_filesz"),
    (40, 8, "p_memsz"),
    (48, 8, "p_align"),
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
    if off < 64 {
        for &(o, n, name) in EHDR_FIELDS {
            if off >= o && off < o + n {
                return (format!("ELF header {name}"), o, n);
            }
        }
    }
    let ph = off.saturating_sub(64) / 56;
    if off >= 64 && ph < phnum {
        let within = (off - 64) % 56;
        for &(o, n, name) in PHDR_FIELDS {
            if within >= o && within < o + n {
                return (format!("phdr[{ph}].{name}"), 64 + ph * 56 + o, n);
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
    let phnum = le(kernel, 56, 2)
        .unwrap_or(0)
        .max(le(engine, 56, 2).unwrap_or(0)) as usize;
    let (field, at, size) = field_at(first, phnum);
    let mut msg = format!(
        "first differing byte at offset {first:#x} ({first}): {field}: kernel {:#x}, engine {:#x}",
        le(kernel, at, size).unwrap_or(0),
        le(engine, at, size).unwrap_or(0)
    );
    if field.starts_with("phdr[") {
        let i = (first - 64) / 56;
        msg.push_str(&format!(
            " (kernel's phdr[{i}] is the {})",
            role(kh.as_ref(), i)
        ));
    }
    msg.push_str(&format!(
        "; {total} byte(s) differ in all; kernel e_phnum {}, engine e_phnum {}",
        le(kernel, 56, 2).unwrap_or(0),
        le(engine, 56, 2).unwrap_or(0)
    ));
    Some(msg)
}

#[cfg(test)]
mod tests;
