//! Inputs the fuzz targets found, rebuilt from real memory with the damage they needed.

use kernel_introspect::Kallsyms;
use kernel_introspect::mem::{KernelMemory, MemoryMap};

use crate::support;

/// `kallsyms_decode`: a token with non-ASCII bytes made the lossy UTF-8 conversion widen each
/// bad byte to three, so the recorded name ends sliced mid-character (a panic). Now the bad
/// bytes read as `?` and the table decodes.
#[test]
fn non_ascii_tokens_decode_without_panic() {
    let dump = support::proc_vmcore();
    let info = dump.vmcoreinfo().expect("vmcoreinfo");
    let t = kernel_introspect::kallsyms::KallsymsTables::from_vmcoreinfo(info).expect("tables");
    let reader = dump.virt_reader().expect("reader");
    let mut mem = MemoryMap::new();
    let names_len = (t.token_table - t.names) as usize;
    let table_len = (t.token_index - t.token_table) as usize;
    let mut tokens = reader.read_vec(t.token_table, table_len).expect("tokens");
    // Every byte of every token (not the NULs) above 0x7f: each symbol name gets bad bytes.
    for b in tokens.iter_mut().filter(|b| **b > b'a') {
        *b |= 0x80;
    }
    for (addr, bytes) in [
        (t.num_syms, reader.read_vec(t.num_syms, 8).expect("count")),
        (t.names, reader.read_vec(t.names, names_len).expect("names")),
        (t.token_table, tokens),
        (
            t.token_index,
            reader.read_vec(t.token_index, 512).expect("index"),
        ),
        (
            t.offsets.expect("offsets"),
            reader
                .read_vec(t.offsets.expect("offsets"), 4 * 170_000)
                .expect("offsets"),
        ),
        (
            t.relative_base.expect("base"),
            reader
                .read_vec(t.relative_base.expect("base"), 8)
                .expect("base"),
        ),
    ] {
        mem.insert(addr, bytes);
    }
    // `_stext` no longer decodes, so this is an error now; before, a panic.
    match Kallsyms::decode(&t, &mem) {
        Ok(k) => assert!(k.iter().all(|s| s.name.is_ascii())),
        Err(e) => assert!(e.to_string().contains("_stext"), "{e}"),
    }
}
