//! Unit tests of the byte view and ranges.

use super::*;

#[test]
fn bytes_reports_absolute_offset_on_truncation() {
    let data = [1u8, 2, 3, 4, 5];
    let b = Bytes::new(&data, 0x1000);
    assert_eq!(b.read_u32("x", 0).unwrap(), 0x0403_0201);
    let e = b.read_u32("field", 3).unwrap_err();
    assert_eq!(
        e,
        ReadError::Truncated {
            what: "field",
            offset: 0x1003,
            need: 4,
            have: 2
        }
    );
    assert!(b.slice("huge", u64::MAX - 1, 4).is_err());
    let s = b.sub("sub", 2, 3).unwrap();
    assert_eq!(s.base(), 0x1002);
    assert_eq!(s.read_u8("y", 2).unwrap(), 5);
}

#[test]
fn ranges() {
    let r = PhysRange::from_inclusive(0x1000, 0x1fff);
    assert_eq!(r.len(), 0x1000);
    assert!(r.contains(0x1fff) && !r.contains(0x2000));
    assert_eq!(r.to_string(), "0x1000-0x1fff");
    assert!(r.overlaps(&PhysRange::new(0x1fff, 0x3000)));
    assert!(!r.overlaps(&PhysRange::new(0x2000, 0x3000)));
    assert_eq!(PhysRange::new(5, 2).len(), 0);
}

#[test]
fn civil_utc_known_dates() {
    assert_eq!(civil_utc(0), (1970, 1, 1, 0, 0, 0));
    assert_eq!(civil_utc(951_782_400), (2000, 2, 29, 0, 0, 0));
    // CRASHTIME of the real scenario.
    assert_eq!(civil_utc(1_795_656_305), (2026, 11, 26, 1, 25, 5));
    assert_eq!(civil_utc(-1), (1969, 12, 31, 23, 59, 59));
}

#[test]
fn parse_hex_accepts_the_kernels_spellings() {
    assert_eq!(parse_hex("ffffffff8a65c3a0"), Some(0xffffffff8a65c3a0));
    assert_eq!(parse_hex(" 0x1940000\n"), Some(0x1940000));
    assert_eq!(parse_hex("0X10"), Some(16));
    assert_eq!(parse_hex(""), None);
    assert_eq!(parse_hex("0x"), None);
    assert_eq!(parse_hex("12g"), None);
}

/// A core header written byte by byte from the gABI tables, not through the encoder.
fn gabi_core_header() -> Vec<u8> {
    let mut h = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0".to_vec();
    h.extend_from_slice(&4u16.to_le_bytes()); // e_type
    h.extend_from_slice(&62u16.to_le_bytes()); // e_machine
    h.extend_from_slice(&1u32.to_le_bytes()); // e_version
    h.extend_from_slice(&0u64.to_le_bytes()); // e_entry
    h.extend_from_slice(&64u64.to_le_bytes()); // e_phoff
    h.extend_from_slice(&0u64.to_le_bytes()); // e_shoff
    h.extend_from_slice(&0u32.to_le_bytes()); // e_flags
    for v in [64u16, 56, 3, 0, 0, 0] {
        h.extend_from_slice(&v.to_le_bytes());
    }
    h
}

#[test]
fn elf64_header_matches_the_gabi_layout() {
    use elf::*;
    let want = gabi_core_header();
    assert_eq!(Elf64Ehdr::core(EM_X86_64, 3).to_bytes().to_vec(), want);
    let b = Bytes::new(&want, 0);
    let h = Elf64Ehdr::read(&b, 0).unwrap();
    assert_eq!(h, Elf64Ehdr::core(EM_X86_64, 3));
    let id = ident(&b).unwrap();
    assert!(id.magic_ok && id.is_little_endian() && id.class == ELFCLASS64);
    let e = Elf64Ehdr::read(&Bytes::new(&want[..60], 0x100), 0).unwrap_err();
    assert_eq!(e.offset(), 0x100);
}

#[test]
fn elf64_phdr_matches_the_gabi_layout() {
    use elf::*;
    let p = Elf64Phdr {
        p_type: PT_LOAD,
        p_flags: PF_R | PF_W | PF_X,
        p_offset: 0x1000,
        p_vaddr: 0xffff_8880_0000_0000,
        p_paddr: 0x10_0000,
        p_filesz: 0x2000,
        p_memsz: 0x3000,
        p_align: 0x1000,
    };
    let mut want = Vec::new();
    want.extend_from_slice(&1u32.to_le_bytes());
    want.extend_from_slice(&7u32.to_le_bytes());
    for v in [
        0x1000u64,
        0xffff_8880_0000_0000,
        0x10_0000,
        0x2000,
        0x3000,
        0x1000,
    ] {
        want.extend_from_slice(&v.to_le_bytes());
    }
    assert_eq!(p.to_bytes().to_vec(), want);
    assert_eq!(Elf64Phdr::read(&Bytes::new(&want, 0), 0).unwrap(), p);
    let e = Elf64Phdr::read(&Bytes::new(&want, 0x40), 8).unwrap_err();
    assert_eq!(e.offset(), 0x48);
}

#[test]
fn elf32_headers_widen() {
    use elf::*;
    // Elf32_Phdr: type, offset, vaddr, paddr, filesz, memsz, flags, align.
    let mut raw = Vec::new();
    for v in [1u32, 0x100, 0xc000_0000, 0x200, 0x300, 0x400, 6, 0x1000] {
        raw.extend_from_slice(&v.to_le_bytes());
    }
    let p = Elf64Phdr::read_elf32(&Bytes::new(&raw, 0), 0).unwrap();
    assert_eq!(
        (
            p.p_type, p.p_offset, p.p_vaddr, p.p_paddr, p.p_filesz, p.p_memsz, p.p_flags, p.p_align
        ),
        (1, 0x100, 0xc000_0000, 0x200, 0x300, 0x400, 6, 0x1000)
    );
    let mut h = b"\x7fELF\x01\x01\x01\0\0\0\0\0\0\0\0\0".to_vec();
    h.extend_from_slice(&4u16.to_le_bytes());
    h.extend_from_slice(&3u16.to_le_bytes());
    for v in [1u32, 0, 52, 0, 0] {
        h.extend_from_slice(&v.to_le_bytes());
    }
    for v in [52u16, 32, 2, 0, 0, 0] {
        h.extend_from_slice(&v.to_le_bytes());
    }
    let e = Elf64Ehdr::read_elf32(&Bytes::new(&h, 0), 0).unwrap();
    assert_eq!(
        (e.e_machine, e.e_phoff, e.e_phentsize, e.e_phnum),
        (3, 52, 32, 2)
    );
}

#[test]
fn notes_are_written_as_the_kernel_does() {
    use elf::*;
    let mut out = Vec::new();
    push_note(&mut out, "CORE", NT_PRSTATUS, &[1, 2, 3]);
    assert_eq!(out.len(), 12 + 8 + 4);
    assert_eq!(&out[12..17], b"CORE\0");
    let h = Nhdr::read(&Bytes::new(&out, 0), 0).unwrap();
    assert_eq!((h.n_namesz, h.n_descsz, h.n_type), (5, 3, 1));
    assert_eq!(
        Nhdr::read(&Bytes::new(&out, 0), 16).unwrap_err().offset(),
        16
    );
}

#[test]
fn big_endian_headers_encode_most_significant_byte_first_and_read_back() {
    use elf::*;
    let o = ByteOrder::Big;
    let h = Elf64Ehdr::core_in(22, 3, o);
    let b = h.to_bytes_in(o);
    assert_eq!(b[5], ELFDATA2MSB);
    assert_eq!(
        &b[16..20],
        &[0, 4, 0, 22],
        "e_type ET_CORE, e_machine EM_S390"
    );
    let view = Bytes::new(&b, 0).with_order(o);
    assert_eq!(Elf64Ehdr::read(&view, 0).unwrap(), h);
    assert_eq!(
        ident(&view).unwrap().byte_order(),
        Some(ByteOrder::Big),
        "EI_DATA names the order"
    );
    // Read little-endian, the same bytes are another header: the order matters.
    assert_ne!(Elf64Ehdr::read(&Bytes::new(&b, 0), 0).unwrap(), h);
    let p = Elf64Phdr {
        p_type: PT_LOAD,
        p_flags: 7,
        p_offset: 0x1122_3344_5566_7788,
        ..Elf64Phdr::default()
    };
    let pb = p.to_bytes_in(o);
    assert_eq!(&pb[..8], &[0, 0, 0, 1, 0, 0, 0, 7]);
    assert_eq!(
        &pb[8..16],
        &[0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88]
    );
    assert_eq!(
        Elf64Phdr::read(&Bytes::new(&pb, 0).with_order(o), 0).unwrap(),
        p
    );
    // A sub-view keeps its parent's order.
    let v = Bytes::new(&[0, 0, 0, 0, 0x12, 0x34], 0x100).with_order(o);
    assert_eq!(v.sub("s", 4, 2).unwrap().read_u16("x", 0).unwrap(), 0x1234);
    let mut n = Vec::new();
    push_note_in(&mut n, o, "CORE", NT_PRSTATUS, &[9]);
    assert_eq!(&n[..12], &[0, 0, 0, 5, 0, 0, 0, 1, 0, 0, 0, 1]);
    let nh = Nhdr::read(&Bytes::new(&n, 0).with_order(o), 0).unwrap();
    assert_eq!((nh.n_namesz, nh.n_descsz, nh.n_type), (5, 1, NT_PRSTATUS));
}
