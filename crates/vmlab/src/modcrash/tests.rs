//! Unit tests of `modcrash.rs`.

use super::*;

#[test]
fn stat_fields_after_comm() {
    // comm may hold spaces and parentheses: fields are counted after the last ')'.
    let stat = "123 (a (b) c) R 1 123 1 0 -1 4194304 95 0 0 0 1 2 0 0 20 0 1 0 371 1556480 198 \
                18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 2 0 0 0 0 0";
    assert_eq!(stat_state_cpu(stat), Some(('R', 2)));
    assert_eq!(stat_state_cpu("1 (x) S 0"), None);
    assert_eq!(stat_state_cpu("no parens"), None);
}
