//! The kernel-layout check the update path runs on a new header before it touches the target:
//! [`validate_kernel_layout`] on a whole buffer, or [`PhdrLayoutCheck`] fed batch by batch while
//! the header is being written (same rules, same errors).

use kdump_types::Bytes;
use kdump_types::elf::{EHDR64_SIZE, Elf64Phdr, PHDR64_SIZE, PT_LOAD, PT_NOTE, ehdr64};

use crate::error::{Error, Result};
use crate::parse::read_header;

/// Checks, without allocating, that `bytes` start with a complete header in the kernel's layout
/// with `expected_phnum` program headers: ELF header exactly as the kernel writes it, every
/// phdr PT_NOTE or PT_LOAD with `p_offset == p_paddr` and `p_filesz == p_memsz`, notes before
/// loads. The update path applies the same rules (`check_kernel_ehdr`, `PhdrLayoutCheck`)
/// to its scratch buffer, batch by batch, before it touches the target.
pub fn validate_kernel_layout(bytes: &[u8], expected_phnum: u16) -> Result<()> {
    let (h, table) = read_header(bytes)?;
    if h != crate::raw::kernel_ehdr(expected_phnum) {
        return Err(bad_ehdr(h.e_phnum));
    }
    let mut check = PhdrLayoutCheck::default();
    check.phdrs(table.as_slice(), table.base())?;
    check.finish(expected_phnum)
}

/// The 64 bytes of `ehdr` are exactly the kernel's ELF header with `expected_phnum` (the
/// update path's form of [`validate_kernel_layout`]'s ELF header check: same rule, compared as
/// bytes, without decoding).
pub(crate) fn check_kernel_ehdr(ehdr: &[u8], expected_phnum: u16) -> Result<()> {
    let mut want = [0u8; EHDR64_SIZE];
    crate::raw::kernel_ehdr(expected_phnum).encode(&mut want);
    if ehdr != want {
        let e_phnum = Bytes::new(ehdr, 0).read_u16("Elf64_Ehdr.e_phnum", ehdr64::E_PHNUM as u64)?;
        return Err(bad_ehdr(e_phnum));
    }
    Ok(())
}

fn bad_ehdr(e_phnum: u16) -> Error {
    Error::BadField {
        what: "Elf64_Ehdr",
        offset: 0,
        value: u64::from(e_phnum),
        expected: "the kernel's ELF header with the expected e_phnum",
    }
}

/// The program-header rules of [`validate_kernel_layout`], applied to consecutive batches of
/// the table (so the update path checks each batch while it is still in L1 after writing it).
#[derive(Debug, Default)]
pub(crate) struct PhdrLayoutCheck {
    /// A PT_LOAD was seen: no PT_NOTE may follow.
    seen_load: bool,
    /// Program headers checked so far.
    count: usize,
}

impl PhdrLayoutCheck {
    /// Checks the next program headers; `bytes` is a whole number of phdrs starting at file
    /// offset `base`. The first failing phdr is the error.
    pub(crate) fn phdrs(&mut self, bytes: &[u8], base: u64) -> Result<()> {
        let table = bytes.chunks_exact(PHDR64_SIZE);
        let partial = table.remainder();
        // Fast pass without early exits (this runs over up to 16k phdrs on every update);
        // when anything is wrong, the exact pass below finds and reports the first culprit.
        let mut bad = !partial.is_empty();
        let mut seen_load = self.seen_load;
        for ph in table.clone() {
            let [type_flags, p_offset, _, p_paddr, p_filesz, p_memsz, _] = words(ph);
            let p_type = type_flags as u32;
            let is_load = p_type == PT_LOAD;
            bad |= !(is_load || (p_type == PT_NOTE && !seen_load));
            seen_load |= is_load;
            bad |= (p_offset ^ p_paddr) | (p_filesz ^ p_memsz) != 0;
        }
        if !bad {
            self.seen_load = seen_load;
            self.count += bytes.len() / PHDR64_SIZE;
            return Ok(());
        }
        for (i, ph) in table.enumerate() {
            let at = base + (i * PHDR64_SIZE) as u64;
            let Elf64Phdr {
                p_type,
                p_offset,
                p_paddr,
                p_filesz,
                p_memsz,
                ..
            } = Elf64Phdr::read(&Bytes::new(ph, at), 0)?;
            let ok_type = match p_type {
                PT_NOTE => !self.seen_load,
                PT_LOAD => {
                    self.seen_load = true;
                    true
                }
                _ => false,
            };
            if !ok_type {
                return Err(Error::BadField {
                    what: "p_type",
                    offset: at,
                    value: p_type.into(),
                    expected: "PT_NOTE before PT_LOAD",
                });
            }
            if p_offset != p_paddr || p_filesz != p_memsz {
                return Err(Error::BadField {
                    what: "Elf64_Phdr",
                    offset: at,
                    value: p_offset,
                    expected: "p_offset == p_paddr and p_filesz == p_memsz",
                });
            }
        }
        // Only a trailing partial phdr is left.
        Err(Error::BadField {
            what: "Elf64_Phdr",
            offset: base + (bytes.len() - partial.len()) as u64,
            value: partial.len() as u64,
            expected: "a whole 56-byte program header",
        })
    }

    /// Every program header was checked: exactly `expected_phnum` of them.
    pub(crate) fn finish(&self, expected_phnum: u16) -> Result<()> {
        if self.count != usize::from(expected_phnum) {
            return Err(Error::BadField {
                what: "e_phnum",
                offset: 56,
                value: self.count as u64,
                expected: "as many checked program headers as e_phnum",
            });
        }
        Ok(())
    }
}

/// The seven little-endian 8-byte words of a 56-byte phdr (`p_type | p_flags << 32`,
/// `p_offset`, `p_vaddr`, `p_paddr`, `p_filesz`, `p_memsz`, `p_align`); fixed-size, so no
/// bounds checks are left in the fast pass.
fn words(ph: &[u8]) -> [u64; 7] {
    let mut out = [0; 7];
    if let Some(ph) = ph.first_chunk::<PHDR64_SIZE>() {
        for (w, b) in out.iter_mut().zip(ph.chunks_exact(8)) {
            *w = u64::from_le_bytes(b.try_into().unwrap_or_default());
        }
    }
    out
}

#[cfg(test)]
mod tests;
