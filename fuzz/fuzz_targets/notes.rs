//! The note walker on arbitrary bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (notes, _findings) = vmcore::notes::parse_notes(kdump_types::Bytes::new(data, 0));
    let _ = vmcore::cpu::contexts_from_notes(vmcore::Machine::X86_64, &notes);
    for n in &notes {
        let _ = vmcore::VmcoreInfo::parse(&n.desc);
        let _ = vmcore::notes::Prpsinfo::parse64(&n.desc);
        let _ = vmcore::QemuCpuState::parse(&n.desc);
    }
});
