//! The update path allocates nothing once warm: counted with a per-thread counting allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use elfcorehdr::{Event, LoadMode, Updater};

struct Counting;

thread_local! {
    static ALLOCS: Cell<usize> = const { Cell::new(0) };
}

#[allow(unsafe_code)]
// SAFETY: forwards every call to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as our caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocs() -> usize {
    ALLOCS.with(Cell::get)
}

#[test]
fn warm_update_in_place_does_not_allocate() {
    let s0 = crate::real::state("00-boot");
    let s1 = crate::real::state("01-mem-hotadd-128M");
    let mut seg = crate::real::kernel_segment("00-boot");
    let on = Event::parse("memory-online:memory32", s1.memory_block_size).unwrap();
    let off = Event::parse("memory-offline:memory0", s0.memory_block_size).unwrap();
    let mut up = Updater::new(LoadMode::KexecFile);
    // Warm up: the first update sizes the scratch buffer and lists.
    up.update_in_place(&mut seg, &s1, on).unwrap();
    up.update_in_place(&mut seg, &s0, off).unwrap();
    let before = allocs();
    for _ in 0..10 {
        assert_eq!(
            up.update_in_place(&mut seg, &s1, on).unwrap().phnum_after,
            9
        );
        assert_eq!(
            up.update_in_place(&mut seg, &s0, off).unwrap().phnum_after,
            8
        );
        up.update_in_place(&mut seg, &s1, Event::CpuOffline(2))
            .unwrap();
    }
    assert_eq!(allocs() - before, 0, "update_in_place allocated");
    // The counter works: a Vec allocates.
    let v = vec![1u8; 10];
    assert!(allocs() > before, "{v:?}");
}
