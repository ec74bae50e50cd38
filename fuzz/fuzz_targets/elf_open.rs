//! Open arbitrary bytes as a dump and call every accessor (rust-minidump's fuzz pattern).
#![no_main]

use libfuzzer_sys::fuzz_target;
use vmcore::{Dump, PhysAddr};

fuzz_target!(|data: &[u8]| {
    let Ok(d) = Dump::from_bytes(data.to_vec()) else {
        return;
    };
    let _ = (d.cpus(), d.notes(), d.segments(), d.truncation(), d.findings(), d.kdump_info());
    if let Some(v) = d.vmcoreinfo() {
        let _ = (v.osrelease(), v.page_size(), v.symbol("prb"), v.number("phys_base"));
    }
    for c in d.cpus() {
        if let Some(r) = &c.regs {
            let _ = r.named();
        }
    }
    let mut buf = [0u8; 4096];
    for r in d.memory().ranges().iter().take(64) {
        let _ = d.read_phys(r.phys.start, &mut buf);
        let _ = d.read_phys(PhysAddr(r.phys.end.0.saturating_sub(100)), &mut buf);
    }
});
