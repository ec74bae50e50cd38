//! The note walker on arbitrary bytes in both byte orders, then every per-note decoder for
//! every machine.
#![no_main]

use kdump_types::ByteOrder;
use libfuzzer_sys::fuzz_target;
use vmcore::Machine;

fuzz_target!(|data: &[u8]| {
    for order in [ByteOrder::Little, ByteOrder::Big] {
        check(data, order);
    }
});

fn check(data: &[u8], order: ByteOrder) {
    let bytes = kdump_types::Bytes::new(data, 0).with_order(order);
    let (notes, findings) = vmcore::fuzzing::parse_notes(bytes);
    for f in &findings {
        let _ = f.to_string();
    }
    for m in [
        Machine::X86_64,
        Machine::X86,
        Machine::Aarch64,
        Machine::Other(21), // ppc64
        Machine::Other(22), // s390x
        Machine::Other(0),
    ] {
        for c in vmcore::fuzzing::contexts_from_notes(m, order, &notes) {
            if let Some(r) = &c.regs {
                let _ = (r.named(), r.pc(), r.sp(), r.flags());
            }
        }
    }
    for n in &notes {
        let _ = n.type_name();
        let info = vmcore::VmcoreInfo::parse(&n.desc);
        let _ = (
            info.osrelease(),
            info.page_size(),
            info.kernel_offset(),
            info.crash_time(),
        );
        let _ = vmcore::fuzzing::Prpsinfo::parse64(&n.desc, order);
        if let Some(q) = vmcore::QemuCpuState::parse(&n.desc) {
            let _ = format!("{q:?}");
        }
    }
}
