//! Fuzz `elfcorehdr::Elfcorehdr::parse` and every accessor of what it returns, the alloc-free
//! layout check, verification against a fixed state, the hotplug diff of the parsed header,
//! and `update_in_place` on the bytes as a target segment (which must leave them untouched
//! whenever it fails). Seeds: testdata/real/steps/elfcorehdr-*.bin (`scripts/fuzz-seed.sh`).
#![no_main]

use elfcorehdr::{
    Elfcorehdr, Event, LoadMode, PhysAddr, PhysRange, SystemState, Updater, validate_kernel_layout,
};
use libfuzzer_sys::fuzz_target;

const BLOCK: u64 = 0x800_0000;

/// The machine after the events below: CPU 3 offline, CPU 1 online, memory blocks 0 and 1
/// online, block 2 offline (so every event passes `check_event` and memory events rebuild).
fn state() -> SystemState {
    SystemState {
        cpus: (0..4)
            .map(|id| elfcorehdr::CpuState {
                id,
                present: true,
                online: id != 3,
                crash_notes: PhysAddr(0x1000 + u64::from(id) * 0x1000),
                crash_notes_size: 368,
            })
            .collect(),
        system_ram: vec![PhysRange::new(0x10_0000, 0x1000_0000)],
        memory_block_size: Some(BLOCK),
        memory_blocks: (0..3)
            .map(|index| elfcorehdr::MemoryBlock {
                index,
                phys_index: index,
                state: if index < 2 {
                    elfcorehdr::BlockState::Online
                } else {
                    elfcorehdr::BlockState::Offline
                },
            })
            .collect(),
        ..SystemState::default()
    }
}

fuzz_target!(|data: &[u8]| {
    // The update path's validator must never panic either.
    for cap in [0, 8, 64, u16::MAX] {
        let _ = validate_kernel_layout(data, cap);
    }
    let state = state();
    // Comparing against a state must not panic on any header either.
    if let Ok(findings) = elfcorehdr::verify::compare(data, &state) {
        for f in &findings {
            let _ = f.to_string();
        }
    }
    // An update either succeeds or leaves the target as it was. CPU events rebuild only for
    // kexec_load images; memory events always do.
    let events = [
        Event::CpuOffline(3),
        Event::CpuOnline(1),
        Event::MemoryOnline(PhysRange::from_start_len(BLOCK, BLOCK)),
        Event::MemoryOffline(PhysRange::from_start_len(2 * BLOCK, BLOCK)),
    ];
    for mode in [LoadMode::KexecFile, LoadMode::KexecLoad { updated: false }] {
        let mut updater = Updater::new(mode);
        for event in events {
            let mut target = data.to_vec();
            if updater.update_in_place(&mut target, &state, event).is_err() {
                assert_eq!(target, data, "a failed update changed the target");
            }
        }
    }
    let Ok(h) = Elfcorehdr::parse(data) else {
        return;
    };
    let _ = (h.phnum(), h.is_clean());
    let _ = h.ram_ranges().fold(0u64, |a, r| a.wrapping_add(r.len()));
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
        let _ = (r.range.last(), r.range.is_empty(), r.vaddr, r.phdr_index);
    }
    for f in &h.findings {
        let _ = f.to_string();
    }
    // What `vmcore diff` does with a header: its content against a topology.
    let content = hotplug::DumpContent::of_elfcorehdr(&h, None, Some(data.len() as u64))
        .with_exclusions_of(&state);
    let _ = hotplug::diff(&hotplug::Topology::default(), &content);
});
