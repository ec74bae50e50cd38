//! The kallsyms decoder on arbitrary memory: the input is mapped at a fixed kernel address and
//! its first bytes say where each table starts inside it (and what `_stext` should decode to),
//! so token tables, name streams, counts and address encodings are all attacker-chosen.
#![no_main]

use kernel_introspect::Kallsyms;
use kernel_introspect::kallsyms::KallsymsTables;
use kernel_introspect::mem::MemoryMap;
use libfuzzer_sys::fuzz_target;

const BASE: u64 = 0xffff_ffff_8100_0000;

fuzz_target!(|data: &[u8]| {
    if data.len() < 24 {
        return;
    }
    let word = |i: usize| u16::from_le_bytes([data[2 * i], data[2 * i + 1]]) as u64;
    let at = |i: usize| BASE + word(i) % data.len() as u64;
    let flags = data[14];
    let stext = u64::from_le_bytes(data[16..24].try_into().unwrap_or([0; 8]));
    let t = KallsymsTables {
        num_syms: at(0),
        names: at(1),
        token_table: at(2),
        token_index: at(3),
        offsets: (flags & 1 != 0).then(|| at(4)),
        relative_base: (flags & 2 != 0).then(|| at(5)),
        addresses: (flags & 4 != 0).then(|| at(6)),
        stext,
    };
    let mut mem = MemoryMap::new();
    mem.insert(BASE, data.to_vec());
    if let Ok(k) = Kallsyms::decode(&t, &mem) {
        let _ = (k.len(), k.encoding().name(), k.kernel_span());
        for s in k.iter().take(64) {
            let _ = k.lookup(s.name);
            if let Some(off) = k.symbolize(s.addr.wrapping_add(1)) {
                let _ = off.to_string();
            }
        }
        let _ = k.lookup("_stext");
        let _ = k.symbolize(stext);
    }
});
