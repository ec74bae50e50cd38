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
