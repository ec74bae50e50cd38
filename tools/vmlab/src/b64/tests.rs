//! Unit tests of `b64.rs`.

use super::decode;

#[test]
fn decodes_with_padding_and_line_breaks() {
    assert_eq!(decode("aGVsbG8=").unwrap(), b"hello");
    assert_eq!(decode("aGVs\nbG8h\n").unwrap(), b"hello!");
    assert_eq!(decode("").unwrap(), b"");
    assert!(decode("a@==").is_err());
    assert!(decode("aA==aA").is_err());
}
