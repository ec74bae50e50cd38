//! Properties: build → parse → build is the identity; random event sequences never leave a
//! partial header and track what the kernel would hold.

use elfcorehdr::{
    BlockState, Decision, Elfcorehdr, Event, LoadMode, MemoryBlock, PhysRange, SystemState,
    Updater, build, kernel_buffer_len,
};
use proptest::prelude::*;

use crate::synth::{BLOCK, machine};

fn arb_state() -> impl Strategy<Value = SystemState> {
    (
        1usize..80,
        proptest::collection::vec((1u64..64, 1u64..64), 1..40),
        any::<bool>(),
        any::<bool>(),
        0u64..0x40,
    )
        .prop_map(|(cpus, gaps, crash, low, ck_off)| {
            let mut s = machine(cpus, 1);
            // Random disjoint, ascending System RAM made of (gap, len) pairs in MiB.
            let mut at = 0u64;
            s.system_ram = gaps
                .iter()
                .map(|&(gap, len)| {
                    at += gap << 20;
                    let r = PhysRange::from_start_len(at, len << 20);
                    at += len << 20;
                    r
                })
                .collect();
            // Crash kernel somewhere (possibly straddling ranges or in a hole).
            s.crash_kernel = crash.then(|| PhysRange::from_start_len(ck_off << 24, 48 << 20));
            s.crash_kernel_low = low.then(|| PhysRange::from_start_len(0x0800_0000, 16 << 20));
            s
        })
}

/// The state a header describes, read back from the model (exclusions already applied).
fn state_from_header(h: &Elfcorehdr, like: &SystemState) -> SystemState {
    let mut s = like.clone();
    for (cpu, note) in s.cpus.iter_mut().zip(&h.cpu_notes) {
        cpu.crash_notes = note.addr;
        cpu.crash_notes_size = note.size;
    }
    s.cpus.truncate(h.cpu_notes.len());
    let v = h.vmcoreinfo.unwrap();
    s.vmcoreinfo.addr = v.addr;
    s.vmcoreinfo.size = v.size;
    let kt = h.kernel_text.unwrap();
    s.kernel_text.vaddr = kt.vaddr;
    s.kernel_text.paddr = kt.range.start;
    s.kernel_text.size = kt.range.len();
    s.system_ram = h.ram_ranges().collect();
    s.crash_kernel = None;
    s.crash_kernel_low = None;
    if let Some(b) = h.page_offset_base {
        s.page_offset_base = b;
    }
    s
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn build_parse_build_is_identity(s in arb_state()) {
        // A crash kernel over all of RAM leaves no PT_LOAD, which parse rightly calls an error
        // (EHDR025): not a header this property is about.
        prop_assume!(!elfcorehdr::memory_ranges(&s).unwrap().is_empty());
        let cap = kernel_buffer_len(&s).unwrap();
        let bytes = build(&s, cap).unwrap();
        let h = Elfcorehdr::parse(&bytes).unwrap();
        prop_assert!(h.findings.iter().all(|f| f.severity == elfcorehdr::Severity::Info), "{:?}", h.findings);
        prop_assert_eq!(h.cpu_notes.len(), s.cpus.len());
        // Every RAM PT_LOAD lies in System RAM and outside every exclusion.
        for r in h.ram_ranges() {
            prop_assert!(s.system_ram.iter().any(|x| x.start <= r.start && r.end <= x.end));
            for ex in s.excluded_ranges() {
                prop_assert!(!r.overlaps(&ex), "{} overlaps excluded {}", r, ex);
            }
        }
        let again = build(&state_from_header(&h, &s), cap).unwrap();
        prop_assert!(again == bytes);
    }
}

#[derive(Debug, Clone)]
enum Op {
    AddBlock(usize),
    OnlineBlock(usize),
    OfflineBlock(usize),
    RemoveBlock(usize),
    CpuOnline(u32),
    CpuOffline(u32),
    UnknownCpu,
}

fn arb_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0usize..24).prop_map(Op::AddBlock),
        (0usize..24).prop_map(Op::OnlineBlock),
        (0usize..24).prop_map(Op::OfflineBlock),
        (0usize..24).prop_map(Op::RemoveBlock),
        (0u32..8).prop_map(Op::CpuOnline),
        (0u32..8).prop_map(Op::CpuOffline),
        Just(Op::UnknownCpu),
    ]
}

/// Hotpluggable blocks 0..24 live at 64 GiB + i * 128 MiB; None = absent.
fn with_blocks(base: &SystemState, blocks: &[Option<BlockState>]) -> SystemState {
    let mut s = base.clone();
    let first = (64u64 << 30) / BLOCK;
    for (i, b) in blocks.iter().enumerate() {
        if let Some(st) = b {
            let idx = first + i as u64;
            s.system_ram
                .push(PhysRange::from_start_len(idx * BLOCK, BLOCK));
            s.memory_blocks.push(MemoryBlock {
                index: idx,
                phys_index: idx,
                state: *st,
            });
        }
    }
    s
}

/// What an update from `old` to `new` (whole segments) reports, computed the slow way: ELF
/// header changed; phdrs that differ or appeared; bytes written = every 4 KiB page of the new
/// page-aligned header that differs, plus the old header's bytes beyond it (zeroed).
fn naive_changes(old: &[u8], new: &[u8]) -> (bool, Vec<u16>, usize) {
    let phnum = |b: &[u8]| usize::from(u16::from_le_bytes([b[56], b[57]]));
    let (before, after) = (phnum(old), phnum(new));
    let phdr = |b: &[u8], i: usize| b[64 + i * 56..64 + (i + 1) * 56].to_vec();
    let changed = (0..after)
        .filter(|&i| i >= before || phdr(old, i) != phdr(new, i))
        .map(|i| i as u16)
        .collect();
    let need = (64 + after * 56).div_ceil(4096) * 4096;
    let pages = (0..need)
        .step_by(4096)
        .filter(|&p| old[p..p + 4096] != new[p..p + 4096])
        .count();
    let stale = (64 + before * 56).saturating_sub(need);
    (old[..64] != new[..64], changed, pages * 4096 + stale)
}

fn block_range(i: usize) -> PhysRange {
    PhysRange::from_start_len((64u64 << 30) + i as u64 * BLOCK, BLOCK)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(120))]

    /// The buffer always holds a complete header: the one built for the state at the last
    /// event the kernel regenerates on (or the initial one), never a mix; errors change nothing;
    /// a final memory event brings it to a fresh build of the final state.
    #[test]
    fn random_event_sequences_never_leave_a_partial_header(
        ops in proptest::collection::vec(arb_op(), 1..40),
        small in any::<bool>(),
    ) {
        // 60 CPUs + 2 + 4 RAM ranges = 66 phdrs; a 4096-byte segment holds 72, so the seventh
        // hot-added block no longer fits there.
        let base = machine(60, 3);
        let mut blocks: Vec<Option<BlockState>> = vec![None; 24];
        // A small segment makes some growth unfit; the header must then stay as it was.
        let cap = if small { 4096 } else { 917_680 };
        let mut seg = build(&base, cap).unwrap();
        let mut expected = seg.clone();
        let mut up = Updater::new(LoadMode::KexecFile);
        for op in ops {
            let mut next = blocks.clone();
            let event = match op {
                Op::AddBlock(i) if blocks[i].is_none() => { next[i] = Some(BlockState::Offline); Event::MemoryAdd(block_range(i)) }
                Op::OnlineBlock(i) if blocks[i] == Some(BlockState::Offline) => { next[i] = Some(BlockState::Online); Event::MemoryOnline(block_range(i)) }
                Op::OfflineBlock(i) if blocks[i] == Some(BlockState::Online) => { next[i] = Some(BlockState::Offline); Event::MemoryOffline(block_range(i)) }
                Op::RemoveBlock(i) if blocks[i] == Some(BlockState::Offline) => { next[i] = None; Event::MemoryRemove(block_range(i)) }
                Op::CpuOnline(c) => Event::CpuOnline(c),
                Op::CpuOffline(c) => Event::CpuOffline(c),
                Op::UnknownCpu => Event::CpuOnline(1000),
                _ => continue,
            };
            let state = with_blocks(&base, &next);
            let before = seg.clone();
            match up.update_in_place(&mut seg, &state, event) {
                Ok(ch) => {
                    blocks = next;
                    if ch.decision == Decision::Regenerate {
                        expected = build(&state, cap).unwrap();
                        let (ehdr, phdrs, written) = naive_changes(&before, &expected);
                        prop_assert_eq!(ch.ehdr_changed, ehdr, "after {}", event);
                        prop_assert_eq!(&ch.changed_phdrs, &phdrs, "after {}", event);
                        prop_assert_eq!(ch.bytes_written, written, "after {}", event);
                    }
                    prop_assert!(seg == expected, "after {}", event);
                }
                Err(e) => {
                    prop_assert!(seg == before, "{} failed ({}) but changed the buffer", event, e);
                    prop_assert!(matches!(e, elfcorehdr::Error::Unfit { .. } | elfcorehdr::Error::UnknownCpu { .. }), "{}", e);
                    if !matches!(e, elfcorehdr::Error::UnknownCpu { .. }) {
                        blocks = next; // the machine changed even though the header could not
                    }
                }
            }
            // Whatever happened, the buffer parses as a complete header.
            let h = Elfcorehdr::parse(&seg).unwrap();
            prop_assert!(h.findings.is_empty(), "{:?}", h.findings);
        }
        // A final regenerating event (offline+online of a base block) reaches a fresh build.
        let state = with_blocks(&base, &blocks);
        if let Ok(fresh) = build(&state, cap) {
            up.update_in_place(&mut seg, &state, Event::MemoryOnline(PhysRange::from_start_len(0, BLOCK))).unwrap();
            prop_assert!(seg == fresh);
        }
    }
}

/// A multi-page header (phdrs straddle page boundaries, batches do not line up with pages): a
/// range that goes offline-then-removed and back in the middle shifts every later phdr, one at
/// the end changes one; each update reports exactly what the slow comparison finds, and the
/// segment equals a fresh build. A shrink across a page boundary zeroes the stale bytes.
#[test]
fn update_reports_exactly_the_pages_and_phdrs_that_differ() {
    let full = machine(200, 300);
    let cap = full.segment_capacity(&elfcorehdr::KernelConfig::DEBIAN_6_12);
    let without = |i: usize| {
        let mut s = full.clone();
        s.system_ram.remove(i);
        s
    };
    let ram = |i: usize| full.system_ram[i];
    let mut seg = build(&full, cap).unwrap();
    let mut up = Updater::new(LoadMode::KexecFile);
    let steps = [
        (without(150), Event::MemoryOffline(ram(150))),
        (full.clone(), Event::MemoryOnline(ram(150))),
        (without(300), Event::MemoryOffline(ram(300))),
        (full.clone(), Event::MemoryOnline(ram(300))),
        (full.clone(), Event::MemoryOnline(ram(300))),
    ];
    for (state, event) in steps {
        let before = seg.clone();
        let expected = build(&state, cap).unwrap();
        let ch = up.update_in_place(&mut seg, &state, event).unwrap().clone();
        assert!(seg == expected, "after {event}");
        let (ehdr, phdrs, written) = naive_changes(&before, &expected);
        assert_eq!(
            (ch.ehdr_changed, &ch.changed_phdrs, ch.bytes_written),
            (ehdr, &phdrs, written),
            "after {event}"
        );
    }
    // Shrinking by 80 ranges crosses a page boundary: the old tail beyond elf_sz is zeroed.
    let mut small = full.clone();
    small.system_ram.truncate(222);
    let before = seg.clone();
    let ch = up
        .update_in_place(&mut seg, &small, Event::MemoryOffline(ram(221)))
        .unwrap()
        .clone();
    assert!(seg == build(&small, cap).unwrap());
    assert_eq!(ch.bytes_written, naive_changes(&before, &seg).2);
    assert!(ch.bytes_written > 0 && ch.changed_phdrs.is_empty() && ch.ehdr_changed);
}
