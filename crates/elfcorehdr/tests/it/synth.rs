//! Synthetic machines for property and hostile-input tests.

use elfcorehdr::{
    BlockState, CpuState, KernelText, MemoryBlock, NoteLocation, PhysAddr, PhysRange, SystemState,
    VirtAddr,
};

pub const BLOCK: u64 = 128 << 20;

/// `cpus` possible CPUs and `ranges` System RAM ranges of one 128 MiB block each, every other
/// block (so ranges never merge), above 4 GiB, plus low RAM split by a crash kernel.
pub fn machine(cpus: usize, ranges: usize) -> SystemState {
    let mut system_ram = vec![
        PhysRange::from_inclusive(0x1000, 0x9fbff),
        PhysRange::from_inclusive(0x100000, 0x7fffffff),
    ];
    let mut memory_blocks: Vec<MemoryBlock> = (0..16)
        .map(|i| MemoryBlock {
            index: i,
            phys_index: i,
            state: BlockState::Online,
        })
        .collect();
    for i in 0..ranges.saturating_sub(1) as u64 {
        let idx = 32 + 2 * i;
        system_ram.push(PhysRange::from_start_len(idx * BLOCK, BLOCK));
        memory_blocks.push(MemoryBlock {
            index: idx,
            phys_index: idx,
            state: BlockState::Online,
        });
    }
    SystemState {
        cpus: (0..cpus as u32)
            .map(|id| CpuState {
                id,
                present: true,
                online: true,
                crash_notes: PhysAddr(0x7e00_0000 + u64::from(id) * 0x8_0000),
                crash_notes_size: 368,
            })
            .collect(),
        vmcoreinfo: NoteLocation {
            addr: PhysAddr(0x1940000),
            size: 0x1024,
        },
        system_ram,
        crash_kernel: Some(PhysRange::from_inclusive(0x0d00_0000, 0x18ff_ffff)),
        crash_kernel_low: None,
        kernel_text: KernelText {
            vaddr: VirtAddr(0xffffffff88a00000),
            paddr: PhysAddr(0x19a00000),
            size: 0x2c30000,
        },
        page_offset_base: VirtAddr(0xffff88bf40000000),
        crash_elfcorehdr_size: Some(917_616),
        memory_block_size: Some(BLOCK),
        memory_blocks,
        ..SystemState::default()
    }
}
