//! Hostile stacks and unwind tables: real memory with patches laid over it. Every walk ends
//! with a stop reason naming the problem — never a hang, a panic or an endless trace.

use kernel_introspect::mem::{KernelMemory, MemoryMap};
use kernel_introspect::orc::{ORC_ENTRY_SIZE, OrcTable};
use kernel_introspect::unwind::{MAX_FRAMES, OrcUnwinder, StartRegs, StopReason, Unwinder};
use kernel_introspect::{Kernel, Result};

use crate::support;

/// Real kernel memory with patched ranges laid over it and holes punched in it.
struct Overlay<'a, M: KernelMemory> {
    under: &'a M,
    over: Patches,
    holes: Vec<(u64, u64)>,
}

/// Byte ranges to lay over memory.
#[derive(Default)]
struct Patches(Vec<(u64, Vec<u8>)>);

impl Patches {
    fn new() -> Self {
        Self::default()
    }
    fn insert(&mut self, addr: u64, bytes: Vec<u8>) {
        self.0.push((addr, bytes));
    }
}

impl<M: KernelMemory> KernelMemory for Overlay<'_, M> {
    fn read(&self, addr: u64, buf: &mut [u8]) -> Result<()> {
        let end = addr + buf.len() as u64;
        if self.holes.iter().any(|&(s, e)| addr < e && end > s) {
            return Err(kernel_introspect::Error::Unmapped {
                addr,
                len: buf.len() as u64,
            });
        }
        // Patches alone may cover the read (a patched stack slot in unmapped memory).
        let mut map = MemoryMap::new();
        for (a, b) in &self.over.0 {
            map.insert(*a, b.clone());
        }
        if map.read(addr, buf).is_ok() {
            return Ok(());
        }
        self.under.read(addr, buf)?;
        for (a, b) in &self.over.0 {
            for (k, byte) in b.iter().enumerate() {
                let at = a + k as u64;
                if at >= addr && at < end {
                    buf[(at - addr) as usize] = *byte;
                }
            }
        }
        Ok(())
    }
}

/// CPU 2 of proc-vmcore (idle, NMI'd): 7 frames down to secondary_startup_64.
fn idle_start(dump: &vmcore::Dump) -> StartRegs {
    let c = &dump.cpus()[1];
    StartRegs::from_regs(c.regs.expect("regs"), Some(2))
}

fn walk(
    kernel: &Kernel<'_>,
    mem: &Overlay<'_, impl KernelMemory>,
    table: OrcTable,
    start: &StartRegs,
) -> kernel_introspect::Backtrace {
    let u = OrcUnwinder::new(mem, table, Some(kernel.symbols().expect("kallsyms")));
    u.unwind(start)
}

/// The index of the ORC entry covering `ip`.
fn orc_index(kernel: &Kernel<'_>, table: &OrcTable, ip: u64) -> u64 {
    let mem = kernel.memory();
    let (mut lo, mut hi) = (0, table.count);
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if table.ip_of(mem, mid).expect("ip") <= ip {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    lo
}

#[test]
fn untouched_overlay_walks_like_the_dump() {
    let dump = support::proc_vmcore();
    let kernel = Kernel::new(&dump).expect("kernel");
    let table = kernel.orc_table().expect("orc");
    let mem = Overlay {
        under: kernel.memory(),
        over: Patches::new(),
        holes: vec![],
    };
    let bt = walk(&kernel, &mem, table, &idle_start(&dump));
    assert_eq!(bt.frames.len(), 7);
    assert_eq!(bt.stop, StopReason::EndOfStack);
}

/// An ORC entry whose previous SP does not move up makes the stack loop onto itself.
#[test]
fn orc_entry_that_does_not_advance_sp_ends_the_walk() {
    let dump = support::proc_vmcore();
    let kernel = Kernel::new(&dump).expect("kernel");
    let table = kernel.orc_table().expect("orc");
    let start = idle_start(&dump);
    // do_idle's entry: SP + 0 → the return address is read from below SP, the SP stays.
    let frames = kernel.unwind_from(start.clone()).expect("bt").frames;
    let do_idle = frames[3].pc - 1;
    let i = orc_index(&kernel, &table, do_idle);
    let mut over = Patches::new();
    // sp_offset 0, bp undefined, sp_reg SP, type CALL (6.4 layout).
    over.insert(
        table.entries + ORC_ENTRY_SIZE * i,
        vec![0, 0, 0, 0, 0x05, 0x02],
    );
    let mem = Overlay {
        under: kernel.memory(),
        over,
        holes: vec![],
    };
    let bt = walk(&kernel, &mem, table, &start);
    assert!(
        matches!(bt.stop, StopReason::NoProgress { .. }),
        "{}",
        bt.stop
    );
    assert!(bt.frames.len() <= 5);
}

/// A pt_regs frame pointing back at itself: each step is a "stack switch"; the walk stops at
/// the switch bound instead of looping.
#[test]
fn pt_regs_loop_ends_at_the_switch_bound() {
    let dump = support::proc_vmcore();
    let kernel = Kernel::new(&dump).expect("kernel");
    let table = kernel.orc_table().expect("orc");
    let start = idle_start(&dump);
    let ip = start.ip;
    let i = orc_index(&kernel, &table, ip);
    // The entry at the start IP: REGS at SP + 0 (6.4 layout: type 3, signal).
    let mut over = Patches::new();
    over.insert(
        table.entries + ORC_ENTRY_SIZE * i,
        vec![0, 0, 0, 0, 0x05, 0x0b],
    );
    // A pt_regs at SP whose ip and sp are the start again (kernel CS 0x10).
    let mut regs = vec![0u8; 21 * 8];
    regs[16 * 8..17 * 8].copy_from_slice(&ip.to_le_bytes());
    regs[17 * 8..18 * 8].copy_from_slice(&0x10u64.to_le_bytes());
    regs[19 * 8..20 * 8].copy_from_slice(&start.sp.to_le_bytes());
    over.insert(start.sp, regs);
    let mem = Overlay {
        under: kernel.memory(),
        over,
        holes: vec![],
    };
    let bt = walk(&kernel, &mem, table, &start);
    assert_eq!(bt.stop, StopReason::TooManyStackSwitches, "{}", bt.stop);
    assert!(bt.frames.len() < MAX_FRAMES);
}

#[test]
fn corrupt_orc_type_is_named() {
    let dump = support::proc_vmcore();
    let kernel = Kernel::new(&dump).expect("kernel");
    let table = kernel.orc_table().expect("orc");
    let start = idle_start(&dump);
    let i = orc_index(&kernel, &table, start.ip);
    let at = table.entries + ORC_ENTRY_SIZE * i;
    let mut over = Patches::new();
    over.insert(at, vec![8, 0, 0, 0, 0x05, 0x07]);
    let mem = Overlay {
        under: kernel.memory(),
        over,
        holes: vec![],
    };
    let bt = walk(&kernel, &mem, table, &start);
    assert!(
        matches!(bt.stop, StopReason::Corrupt { addr, .. } if addr == at),
        "{}",
        bt.stop
    );
    assert_eq!(bt.frames.len(), 1);
}

#[test]
fn unsorted_orc_table_is_an_error_not_a_wrong_frame() {
    let dump = support::proc_vmcore();
    let kernel = Kernel::new(&dump).expect("kernel");
    let table = kernel.orc_table().expect("orc");
    let start = idle_start(&dump);
    let i = orc_index(&kernel, &table, start.ip);
    // Entry i+1 now points 1 MiB below its own slot: out of order with its neighbours.
    let slot = table.ip_table + 4 * (i + 1);
    let mut over = Patches::new();
    over.insert(slot, (-0x10_0000i32).to_le_bytes().to_vec());
    let mem = Overlay {
        under: kernel.memory(),
        over,
        holes: vec![],
    };
    let e = table.verify_sorted(&mem).unwrap_err();
    // The patched entry lands above its successor (the table sits above the text it covers).
    assert!(
        matches!(e.addr(), Some(a) if a == slot || a == slot + 4),
        "{e}"
    );
}

#[test]
fn missing_stack_page_is_reported() {
    let dump = support::proc_vmcore();
    let kernel = Kernel::new(&dump).expect("kernel");
    let table = kernel.orc_table().expect("orc");
    let start = idle_start(&dump);
    let page = start.sp & !0xfff;
    let mem = Overlay {
        under: kernel.memory(),
        over: Patches::new(),
        holes: vec![(page, page + 4096)],
    };
    let bt = walk(&kernel, &mem, table, &start);
    assert!(
        matches!(bt.stop, StopReason::Unreadable { addr, .. } if addr & !0xfff == page),
        "{}",
        bt.stop
    );
}

/// A stack in a page makedumpfile excluded (a free page, dump level 31) is reported as such.
#[test]
fn excluded_stack_page_is_named_in_a_kdump_dump() {
    let elf = support::proc_vmcore();
    let dump = support::real_dump("kdump/makedumpfile-c-d31.kdump");
    let kernel = Kernel::new(&dump).expect("kernel");
    // The direct map's offset, from the ELF twin's program headers.
    let direct = elf
        .segments()
        .iter()
        .find(|s| {
            s.p_type == 1 && s.p_vaddr >= 0xffff_8000_0000_0000 && s.p_vaddr < 0xffff_ffff_8000_0000
        })
        .map(|s| s.p_vaddr - s.p_paddr)
        .expect("direct map");
    let mut buf = [0u8; 8];
    let pa = (0x100_0000u64..0x1000_0000)
        .step_by(4096)
        .find(|&pa| {
            matches!(
                dump.read_phys(vmcore::PhysAddr(pa), &mut buf),
                Err(vmcore::Error::PageExcluded { .. })
            )
        })
        .expect("an excluded page");
    // Return into panic (a call frame) with the stack in that page.
    let panic_ret = kernel
        .symbols()
        .expect("kallsyms")
        .lookup_addr("panic")
        .expect("panic")
        + 742;
    let bt = kernel
        .unwind_from(StartRegs {
            ip: panic_ret,
            sp: direct + pa,
            bp: direct + pa + 0x100,
            ..Default::default()
        })
        .expect("bt");
    match &bt.stop {
        StopReason::Unreadable { detail, .. } => {
            assert!(detail.contains("excluded from the dump"), "{detail}")
        }
        other => panic!("{other}"),
    }
}

proptest::proptest! {
    /// Random ORC tables and stacks (the fuzz target's shape, run in every test pass): the
    /// walk ends within its bounds and never panics.
    #[test]
    fn random_tables_and_stacks_always_end(
        data in proptest::collection::vec(proptest::prelude::any::<u8>(), 64..2048),
        layout in 0u8..4,
        count in 1u64..64,
        with_regs in proptest::prelude::any::<bool>(),
    ) {
        use kernel_introspect::orc::OrcLayout;
        const BASE: u64 = 0xffff_ffff_8100_0000;
        let len = data.len() as u64;
        let q = |i: usize| u64::from_le_bytes(data[8 * i..8 * i + 8].try_into().unwrap_or([0; 8]));
        let table = OrcTable {
            ip_table: BASE + (q(4) % len) / 4 * 4,
            count,
            entries: BASE + q(5) % len,
            layout: [OrcLayout::V4_14, OrcLayout::V6_3, OrcLayout::V6_4, OrcLayout::V7][layout as usize],
            header_hash: None,
            text: vec![(BASE, BASE + len)],
        };
        let mut mem = MemoryMap::new();
        mem.insert(BASE, data.clone());
        let u = OrcUnwinder::new(&mem, table, None);
        let (ip, sp, bp) = (BASE + q(0) % len, BASE + q(1) % len, BASE + q(2) % len);
        let regs = with_regs.then(|| vmcore::Registers::X86_64(vmcore::X86_64Regs {
            rip: ip, rsp: sp, rbp: bp, cs: 0x10, r10: q(3), r13: q(2), rdi: q(1), rdx: q(0),
            ..Default::default()
        }));
        let bt = u.unwind(&StartRegs { ip, sp, bp, regs, cpu: None });
        proptest::prop_assert!(!bt.frames.is_empty() && bt.frames.len() <= MAX_FRAMES);
        let _ = bt.stop.to_string();
    }
}
