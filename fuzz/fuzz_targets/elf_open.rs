//! Open arbitrary bytes as a dump (ELF vmcore, raw elfcorehdr, or whatever the detector
//! picks) and call every accessor (rust-minidump's fuzz pattern): see `vmcore_fuzz::exercise_dump`.
//! Seeds: `scripts/fuzz-seed.sh` (testgen ELF cores, real headers, heads of the real dumps).
#![no_main]

use libfuzzer_sys::fuzz_target;
use vmcore::Dump;

fuzz_target!(|data: &[u8]| {
    if let Ok(d) = Dump::from_bytes(data.to_vec()) {
        vmcore_fuzz::exercise_dump(&d);
    }
});
