//! A kernel symbol table in the kallsyms format (scripts/kallsyms.c), for synthetic kernels:
//! `kallsyms_num_syms`, `kallsyms_names` (length byte, then token indexes; the first token
//! byte is the type character), `kallsyms_token_table` / `kallsyms_token_index` (here the
//! identity: token `b` is the one byte `b`, so no name is compressed) and absolute
//! `kallsyms_addresses`. Written from the format, not from the decoder.

/// A kallsyms image and where its tables are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KallsymsImage {
    /// Kernel virtual address of `bytes[0]`.
    pub base: u64,
    /// The tables, back to back.
    pub bytes: Vec<u8>,
    /// `kallsyms_num_syms`.
    pub num_syms: u64,
    /// `kallsyms_names`.
    pub names: u64,
    /// `kallsyms_token_table`.
    pub token_table: u64,
    /// `kallsyms_token_index`.
    pub token_index: u64,
    /// `kallsyms_addresses`.
    pub addresses: u64,
}

fn align8(v: &mut Vec<u8>) {
    while v.len() % 8 != 0 {
        v.push(0);
    }
}

/// The tables for `symbols` (name, type character, address), placed at `base`. Names must be
/// non-empty, shorter than 127 bytes and free of NULs.
pub fn kallsyms_image(base: u64, symbols: &[(&str, char, u64)]) -> KallsymsImage {
    let mut b = Vec::new();
    b.extend_from_slice(&(symbols.len() as u32).to_le_bytes());
    align8(&mut b);
    let names = b.len();
    for (name, kind, _) in symbols {
        let mut codes = vec![*kind as u8];
        codes.extend(name.bytes());
        b.push(codes.len() as u8);
        b.extend(codes);
    }
    align8(&mut b);
    let token_table = b.len();
    let mut index = Vec::with_capacity(256);
    for t in 0..=255u8 {
        index.push((b.len() - token_table) as u16);
        if t != 0 {
            b.push(t);
        }
        b.push(0);
    }
    align8(&mut b);
    let token_index = b.len();
    for i in index {
        b.extend_from_slice(&i.to_le_bytes());
    }
    align8(&mut b);
    let addresses = b.len();
    for (_, _, addr) in symbols {
        b.extend_from_slice(&addr.to_le_bytes());
    }
    KallsymsImage {
        base,
        num_syms: base,
        names: base + names as u64,
        token_table: base + token_table as u64,
        token_index: base + token_index as u64,
        addresses: base + addresses as u64,
        bytes: b,
    }
}
