//! Unit tests of `notes.rs`.

use super::*;

fn note(name: &[u8], ty: u32, desc: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&(name.len() as u32).to_le_bytes());
    v.extend_from_slice(&(desc.len() as u32).to_le_bytes());
    v.extend_from_slice(&ty.to_le_bytes());
    v.extend_from_slice(name);
    while v.len() % 4 != 0 {
        v.push(0);
    }
    v.extend_from_slice(desc);
    while v.len() % 4 != 0 {
        v.push(0);
    }
    v
}

#[test]
fn walks_until_terminator() {
    let mut blob = note(b"CORE\0", 1, &[7; 10]);
    blob.extend(note(b"VMCOREINFO\0", 0, b"A=1\n"));
    blob.extend([0u8; 24]);
    let (notes, f) = parse_notes(Bytes::new(&blob, 0x100));
    assert!(f.is_empty(), "{f:?}");
    assert_eq!(notes.len(), 2);
    assert_eq!(notes[0].name, "CORE");
    assert_eq!(notes[0].desc_offset, 0x100 + 20);
    assert_eq!(notes[1].type_name(), "VMCOREINFO");
    assert_eq!(notes[1].offset, 0x100 + 32);
}

#[test]
fn prpsinfo_decodes_names() {
    let mut d = vec![0u8; 136];
    d[0] = 0;
    d[1] = b'R';
    d[24..28].copy_from_slice(&874u32.to_le_bytes());
    d[40..44].copy_from_slice(b"bash");
    d[56..63].copy_from_slice(b"-bash c");
    let p = Prpsinfo::parse64(&d, kdump_types::ByteOrder::Little).unwrap();
    assert_eq!(
        (p.sname, p.pid, p.fname.as_str(), p.psargs.as_str()),
        ('R', 874, "bash", "-bash c")
    );
    assert!(Prpsinfo::parse64(&d[..100], kdump_types::ByteOrder::Little).is_none());
}

#[test]
fn overrun_is_a_finding_with_offset() {
    let mut blob = note(b"CORE\0", 1, &[7; 8]);
    let second = blob.len();
    blob.extend(note(b"CORE\0", 1, &[1; 8]));
    // Claim a huge descsz for the second note.
    blob[second + 4..second + 8].copy_from_slice(&0xffff_fff0u32.to_le_bytes());
    let (notes, f) = parse_notes(Bytes::new(&blob, 0x1000));
    assert_eq!(notes.len(), 1);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].code, "NOTE001");
    assert_eq!(f[0].offset, Some(0x1000 + second as u64));
}
