//! Unit tests of `layout.rs`.

use super::*;
use kdump_types::elf::Elf64Phdr;

fn table(phdrs: &[Elf64Phdr]) -> Vec<u8> {
    phdrs.iter().flat_map(|p| p.to_bytes()).collect()
}

fn note(addr: u64) -> Elf64Phdr {
    Elf64Phdr {
        p_type: PT_NOTE,
        p_offset: addr,
        p_paddr: addr,
        p_filesz: 368,
        p_memsz: 368,
        ..Elf64Phdr::default()
    }
}

fn load(addr: u64) -> Elf64Phdr {
    Elf64Phdr {
        p_type: PT_LOAD,
        p_flags: 7,
        p_offset: addr,
        p_vaddr: addr + 0x1000,
        p_paddr: addr,
        p_filesz: 0x1000,
        p_memsz: 0x1000,
        p_align: 0,
    }
}

#[test]
fn batches_keep_the_note_before_load_rule_across_calls() {
    let mut check = PhdrLayoutCheck::default();
    check.phdrs(&table(&[note(1), note(2)]), 64).unwrap();
    check.phdrs(&table(&[load(3)]), 64 + 112).unwrap();
    let err = check
        .phdrs(&table(&[load(4), note(5)]), 64 + 168)
        .unwrap_err();
    assert!(
        matches!(err, Error::BadField { what: "p_type", offset, .. } if offset == 64 + 224),
        "{err:?}"
    );
}

#[test]
fn the_first_bad_phdr_is_reported_with_its_offset() {
    let mut bad = load(0x2000);
    bad.p_memsz += 1;
    let mut check = PhdrLayoutCheck::default();
    let err = check
        .phdrs(&table(&[note(1), load(0x1000), bad, load(0x3000)]), 64)
        .unwrap_err();
    assert!(
        matches!(err, Error::BadField { what: "Elf64_Phdr", offset, value: 0x2000, .. } if offset == 64 + 112),
        "{err:?}"
    );
    let mut bad = note(9);
    bad.p_type = 6;
    let err = PhdrLayoutCheck::default()
        .phdrs(&table(&[note(1), bad]), 64)
        .unwrap_err();
    assert!(matches!(
        err,
        Error::BadField {
            what: "p_type",
            value: 6,
            ..
        }
    ));
}

#[test]
fn partial_phdrs_and_wrong_counts_fail() {
    let mut bytes = table(&[note(1)]);
    bytes.push(0);
    assert!(PhdrLayoutCheck::default().phdrs(&bytes, 64).is_err());
    let mut check = PhdrLayoutCheck::default();
    check.phdrs(&table(&[note(1), load(2)]), 64).unwrap();
    assert!(check.finish(2).is_ok());
    assert!(check.finish(3).is_err());
}
