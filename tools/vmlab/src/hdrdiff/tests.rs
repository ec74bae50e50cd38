//! Unit tests of `hdrdiff.rs`.

use super::*;

fn real_hdr() -> Vec<u8> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/real/steps/elfcorehdr-01-mem-hotadd-128M.bin");
    // The file holds the used part; pad to one page like the kernel's buffer.
    let mut k = std::fs::read(p).unwrap();
    k.resize(4096, 0);
    k
}

#[test]
fn equal_is_none() {
    let k = real_hdr();
    assert_eq!(describe_difference(&k, &k), None);
}

#[test]
fn names_ehdr_and_phdr_fields() {
    let k = real_hdr();
    let mut e = k.clone();
    e[56] = 7; // e_phnum
    let m = describe_difference(&k, &e).unwrap();
    assert!(
        m.contains("offset 0x38 (56): ELF header e_phnum: kernel 0x9, engine 0x7"),
        "{m}"
    );
    let mut e = k.clone();
    // phdr[8] is the hot-added DIMM's RAM PT_LOAD; break its p_paddr high byte.
    e[64 + 8 * 56 + 24 + 4] ^= 1;
    let m = describe_difference(&k, &e).unwrap();
    assert!(m.contains("phdr[8].p_paddr"), "{m}");
    assert!(m.contains("RAM PT_LOAD"), "{m}");
    assert!(m.contains("1 byte(s) differ"), "{m}");
    let mut e = k.clone();
    let last = e.len() - 1;
    e[last] = 1;
    let m = describe_difference(&k, &e).unwrap();
    assert!(m.contains("zero padding"), "{m}");
    let m = describe_difference(&k, &k[..100]).unwrap();
    assert!(m.contains("lengths differ"), "{m}");
}

#[test]
fn field_table_covers_every_header_byte() {
    for off in 0..64 {
        assert!(field_at(off, 1).0.starts_with("ELF header"), "{off}");
    }
    assert_eq!(field_at(64, 1).0, "phdr[0].p_type");
    assert_eq!(field_at(64 + 56 + 47, 2).0, "phdr[1].p_memsz");
}
