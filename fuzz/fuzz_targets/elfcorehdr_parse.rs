//! Fuzz `elfcorehdr::Elfcorehdr::parse` and every accessor of what it returns, plus the
//! alloc-free layout check and verification against a fixed state. Seed the corpus with
//! testdata/real/steps/elfcorehdr-*.bin.
#![no_main]

use elfcorehdr::{Elfcorehdr, SystemState, validate_kernel_layout};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The update path's validator must never panic either.
    let _ = validate_kernel_layout(data, 8);
    let Ok(h) = Elfcorehdr::parse(data) else {
        return;
    };
    let _ = h.phnum();
    let _ = h.is_clean();
    let _ = h.ram_ranges().map(|r| r.len()).sum::<u64>();
    let _ = (
        h.header,
        h.used_len,
        h.page_offset_base,
        h.vmcoreinfo,
        h.kernel_text,
    );
    for p in &h.phdrs {
        let mut buf = [0u8; 56];
        p.encode(&mut buf);
        assert_eq!(elfcorehdr::ProgramHeader::decode(&buf), *p);
    }
    for n in &h.cpu_notes {
        let _ = (n.addr, n.size, n.phdr_index);
    }
    for r in &h.ram {
        let _ = (r.range.last(), r.vaddr, r.phdr_index);
    }
    for f in &h.findings {
        let _ = f.to_string();
    }
    // Comparing against a state must not panic on any header either.
    let state = SystemState {
        cpus: vec![elfcorehdr::CpuState {
            id: 0,
            present: true,
            online: true,
            crash_notes: elfcorehdr::PhysAddr(0x1000),
            crash_notes_size: 368,
        }],
        system_ram: vec![elfcorehdr::PhysRange::new(0x10_0000, 0x1000_0000)],
        ..SystemState::default()
    };
    let _ = elfcorehdr::verify::compare(data, &state);
});
