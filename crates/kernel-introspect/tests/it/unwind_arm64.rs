//! The arm64 frame-record walker on synthetic stacks (issue 17): a symbol table from
//! `testgen::kallsyms`, code bytes where the walker reads instructions, and stacks of frame
//! records and `pt_regs` laid out as entry.S and the AAPCS64 prologue leave them. Each scenario
//! is one thing a real dump has: a panic through a kernel exception into a syscall, a CPU in
//! user space, an idle CPU stopped in a leaf function, a sleeping task, an IRQ stack, and
//! corrupt chains that must end with a reason instead of looping.

use kernel_introspect::mem::MemoryMap;
use kernel_introspect::unwind::arm64::{FrameRecordUnwinder, strip_pac};
use kernel_introspect::unwind::{
    FrameKind, StackKind, StackRange, StartRegs, StopReason, UnwindMethod, Unwinder,
};
use kernel_introspect::{Kallsyms, kallsyms::KallsymsTables};
use vmcore::{Aarch64Regs, Registers};

const TEXT: u64 = 0xffff_8000_8001_0000;
const STACK: u64 = 0xffff_0000_1000_0000;
const IRQ_STACK: u64 = 0xffff_8000_9000_0000;
const SYMTAB: u64 = 0xffff_8000_a000_0000;
/// `offsetof(struct pt_regs, stackframe)` in 6.12.
const STACKFRAME: u64 = 296;
/// Bits above a 48-bit VA: what stripping a kernel PAC sets.
const PAC_BITS: u64 = 0xffff_0000_0000_0000;
const NOP: u32 = 0xd503_201f;
/// `bl` from `at` to `target`.
fn bl(at: u64, target: u64) -> u32 {
    0x9400_0000 | ((target.wrapping_sub(at) >> 2) as u32 & 0x03ff_ffff)
}
const MOV_X29_SP: u32 = 0x9100_03fd;
const STP_X29_X30: u32 = 0xa9bf_7bfd;
/// EL1h with interrupts masked.
const PSTATE_EL1H: u64 = 0x3c5;

/// Functions, 0x100 bytes apart: (name, offset from TEXT, has a frame record).
const FUNCS: &[(&str, u64, bool)] = &[
    ("_stext", 0x000, false),
    ("sysrq_handle_crash", 0x100, true),
    ("el1h_64_sync", 0x200, false),
    ("el1h_64_sync_handler", 0x300, true),
    ("panic", 0x400, true),
    ("__crash_kexec", 0x500, true),
    ("default_idle_call", 0x600, true),
    ("cpu_do_idle", 0x700, false),
    ("el0t_64_sync", 0x800, false),
    ("invoke_syscall", 0x900, true),
    ("do_idle", 0xa00, true),
    ("__switch_to", 0xb00, true),
    ("__schedule", 0xc00, true),
    ("handle_irq", 0xd00, true),
    ("call_on_irq_stack", 0xe00, true),
    ("_end", 0x1000, false),
];

fn at(name: &str) -> u64 {
    TEXT + FUNCS.iter().find(|f| f.0 == name).expect(name).1
}

/// A return address `off` bytes into `name`, with a `bl` right before it.
fn ret(name: &str, off: u64) -> u64 {
    at(name) + off
}

struct Fake {
    mem: MemoryMap,
    syms: Kallsyms,
}

fn put(text: &mut [u8], at: u64, insn: u32) {
    let i = at as usize;
    if i + 4 <= text.len() {
        text[i..i + 4].copy_from_slice(&insn.to_le_bytes());
    }
}

fn fake(stack: &[(u64, u64)]) -> Fake {
    fake_with_calls(stack, &[])
}

/// `calls`: (address of a `bl`, its target) written over the generic calls.
fn fake_with_calls(stack: &[(u64, u64)], calls: &[(u64, u64)]) -> Fake {
    let mut mem = MemoryMap::new();
    // Code: NOPs, a prologue where the function has a frame record, a `bl` before every
    // return address the scenarios use (offsets 0x20 and 0x40).
    let mut text = vec![0u8; 0x1000];
    for w in text.chunks_exact_mut(4) {
        w.copy_from_slice(&NOP.to_le_bytes());
    }
    for &(_, off, framed) in FUNCS {
        if framed {
            put(&mut text, off, STP_X29_X30);
            put(&mut text, off + 4, MOV_X29_SP);
        }
        // Generic calls (to _stext) before +0x20 and +0x40.
        put(&mut text, off + 0x1c, bl(off + 0x1c, 0));
        put(&mut text, off + 0x3c, bl(off + 0x3c, 0));
    }
    for &(site, target) in calls {
        put(&mut text, site - TEXT, bl(site, target));
    }
    mem.insert(TEXT, text);
    let symbols: Vec<(&str, char, u64)> = FUNCS
        .iter()
        .map(|&(n, off, _)| (n, 't', TEXT + off))
        .collect();
    let img = testgen::kallsyms::kallsyms_image(SYMTAB, &symbols);
    // Readers fetch whole pages: the tables are followed by more kernel data in a real image.
    let mut bytes = img.bytes.clone();
    bytes.resize(bytes.len() + 0x2000, 0);
    mem.insert(img.base, bytes);
    let tables = KallsymsTables {
        num_syms: img.num_syms,
        names: img.names,
        token_table: img.token_table,
        token_index: img.token_index,
        offsets: None,
        relative_base: None,
        addresses: Some(img.addresses),
        stext: TEXT,
    };
    // The task stack and the IRQ stack (16 KiB each), zero but for the scenario's words.
    for base in [STACK, IRQ_STACK] {
        let mut bytes = vec![0u8; 0x4000];
        for &(addr, value) in stack {
            if let Some(off) = addr.checked_sub(base).filter(|&o| o + 8 <= 0x4000) {
                bytes[off as usize..off as usize + 8].copy_from_slice(&value.to_le_bytes());
            }
        }
        mem.insert(base, bytes);
    }
    let syms = Kallsyms::decode(&tables, &mem).expect("kallsyms");
    Fake { mem, syms }
}

fn record(at: u64, next_fp: u64, lr: u64) -> [(u64, u64); 2] {
    [(at, next_fp), (at + 8, lr)]
}

/// A `pt_regs` at `at` (34 words), with its frame record `{x29, pc}` at `stackframe`.
fn pt_regs(at: u64, r: &Aarch64Regs, with_record: bool) -> Vec<(u64, u64)> {
    let mut w: Vec<(u64, u64)> =
        r.x.iter()
            .chain([r.sp, r.pc, r.pstate].iter())
            .enumerate()
            .map(|(i, v)| (at + 8 * i as u64, *v))
            .collect();
    if with_record {
        w.extend(record(at + STACKFRAME, r.x[29], r.pc));
    } else {
        w.extend(record(at + STACKFRAME, 0, 0));
    }
    w
}

fn regs(pc: u64, sp: u64, fp: u64, lr: u64, pstate: u64) -> Aarch64Regs {
    let mut x = [0u64; 31];
    x[29] = fp;
    x[30] = lr;
    Aarch64Regs { x, sp, pc, pstate }
}

fn names(bt: &kernel_introspect::Backtrace) -> Vec<String> {
    bt.frames
        .iter()
        .map(|f| match (&f.symbol, &f.kind) {
            (_, FrameKind::User { .. }) => "(user)".to_string(),
            (Some(s), FrameKind::Interrupted { .. }) => format!("{}+{:#x}!", s.name, s.offset),
            (Some(s), _) => format!("{}+{:#x}", s.name, s.offset),
            (None, _) => format!("{:#x}", f.pc),
        })
        .collect()
}

fn start(r: Aarch64Regs) -> StartRegs {
    StartRegs::from_regs(Registers::Aarch64(r), Some(0))
}

#[test]
fn panic_through_a_kernel_exception_into_a_syscall() {
    // panic → __crash_kexec saved regs; below: the data abort in sysrq_handle_crash (el1h
    // pt_regs), which ran in a syscall entered from user space (el0t pt_regs, the last frame).
    let f1 = STACK + 0x100;
    let f2 = STACK + 0x140;
    let f3 = STACK + 0x180;
    let pt1 = STACK + 0x200;
    let f5 = STACK + 0x400;
    let f6 = STACK + 0x440;
    let pt2 = STACK + 0x3000;
    let interrupted = regs(
        at("sysrq_handle_crash") + 0x10,
        pt1 + 0x150,
        f5,
        0,
        PSTATE_EL1H,
    );
    let user = regs(
        0x0000_aaaa_0000_1234,
        0x0000_ffff_f000_0000,
        0x0000_ffff_f000_0100,
        0,
        0,
    );
    let signed = (ret("panic", 0x20) & !(0x7f << 48)) | (0x2a << 48); // a PAC in bits 54:48
    assert_eq!(strip_pac(signed, PAC_BITS), ret("panic", 0x20));
    let mut words = Vec::new();
    words.extend(record(f1, f2, signed));
    words.extend(record(f2, f3, ret("el1h_64_sync_handler", 0x40)));
    words.extend(record(f3, pt1 + STACKFRAME, ret("el1h_64_sync", 0x20)));
    words.extend(pt_regs(pt1, &interrupted, true));
    words.extend(record(f5, f6, ret("invoke_syscall", 0x40)));
    words.extend(record(f6, pt2 + STACKFRAME, ret("el0t_64_sync", 0x20)));
    words.extend(pt_regs(pt2, &user, false));
    let f = fake(&words);
    let u = FrameRecordUnwinder::new(&f.mem, Some(&f.syms), PAC_BITS);
    let bt = u.unwind(&start(regs(
        at("__crash_kexec") + 0x30,
        STACK + 0xf0,
        f1,
        0,
        PSTATE_EL1H,
    )));
    assert_eq!(
        names(&bt),
        [
            "__crash_kexec+0x30!",
            "panic+0x20",
            "el1h_64_sync_handler+0x40",
            "el1h_64_sync+0x20",
            "sysrq_handle_crash+0x10!",
            "invoke_syscall+0x40",
            "el0t_64_sync+0x20",
            "(user)",
        ]
    );
    assert_eq!(bt.stop, StopReason::UserMode);
    assert!(bt.stop.is_complete());
    assert_eq!(bt.frames[7].pc, 0x0000_aaaa_0000_1234);
    // The crash site is the faulting instruction the exception saved.
    let site = kernel_introspect::crash::site_frame(&bt.frames).expect("site");
    assert_eq!(site.pc, at("sysrq_handle_crash") + 0x10);
    assert!(bt.frames[1..7].iter().all(|f| f.stack == StackKind::Task));
    assert_eq!(bt.frames[7].stack, StackKind::User);
}

#[test]
fn a_cpu_in_user_space_has_no_kernel_frames() {
    let f = fake(&[]);
    let u = FrameRecordUnwinder::new(&f.mem, Some(&f.syms), PAC_BITS);
    for pstate in [0x0, 0x10, 0x8000_0000] {
        let bt = u.unwind(&start(regs(
            0x0000_aaaa_0000_1000,
            0x0000_ffff_0000_0000,
            0,
            0,
            pstate,
        )));
        assert_eq!(names(&bt), ["(user)"], "pstate {pstate:#x}");
        assert_eq!(bt.stop, StopReason::UserMode);
    }
}

#[test]
fn an_idle_cpu_stopped_in_a_leaf_keeps_the_caller_from_x30() {
    // cpu_do_idle stores no frame record: x29 is still default_idle_call's, x30 returns there.
    let g1 = STACK + 0x800;
    let g2 = STACK + 0x840;
    let mut words = Vec::new();
    words.extend(record(g1, g2, ret("do_idle", 0x40)));
    words.extend(record(g2, 0, 0)); // the final record
    let f = fake_with_calls(
        &words,
        &[(ret("default_idle_call", 0x1c), at("cpu_do_idle"))],
    );
    let u = FrameRecordUnwinder::new(&f.mem, Some(&f.syms), PAC_BITS);
    let r = regs(
        at("cpu_do_idle") + 0x8,
        STACK + 0x7f0,
        g1,
        ret("default_idle_call", 0x20),
        PSTATE_EL1H,
    );
    let bt = u.unwind(&start(r));
    assert_eq!(
        names(&bt),
        ["cpu_do_idle+0x8!", "default_idle_call+0x20", "do_idle+0x40"]
    );
    assert_eq!(bt.frames[1].method, UnwindMethod::LinkRegister);
    assert_eq!(bt.stop, StopReason::EndOfStack);

    // In a function past its prologue, x30 is stale and is not used.
    let r = regs(
        at("invoke_syscall") + 0x30,
        STACK + 0x7f0,
        g1,
        ret("default_idle_call", 0x20),
        PSTATE_EL1H,
    );
    assert_eq!(
        names(&u.unwind(&start(r))),
        ["invoke_syscall+0x30!", "do_idle+0x40"]
    );
    // x30 that does not follow a call is not a return address.
    let r = regs(
        at("cpu_do_idle") + 0x8,
        STACK,
        g1,
        at("panic") + 0x8,
        PSTATE_EL1H,
    );
    assert_eq!(
        names(&u.unwind(&start(r))),
        ["cpu_do_idle+0x8!", "do_idle+0x40"]
    );
}

#[test]
fn a_sleeping_task_starts_at_its_saved_context() {
    // cpu_context: pc returns into __switch_to, fp is __switch_to's record.
    let h1 = STACK + 0x900;
    let h2 = STACK + 0x940;
    let mut words = Vec::new();
    words.extend(record(h1, h2, ret("__schedule", 0x40)));
    words.extend(record(h2, 0, 0));
    let f = fake(&words);
    let u = FrameRecordUnwinder::new(&f.mem, Some(&f.syms), PAC_BITS);
    let bt = u.unwind(&StartRegs {
        ip: ret("__switch_to", 0x20),
        sp: STACK + 0x8f0,
        bp: h1,
        regs: None,
        cpu: None,
    });
    assert_eq!(names(&bt), ["__switch_to+0x20", "__schedule+0x40"]);
    assert!(bt.frames.iter().all(|f| f.kind == FrameKind::Call));
    assert_eq!(bt.stop, StopReason::EndOfStack);
}

#[test]
fn irq_stack_to_task_stack_once() {
    let i1 = IRQ_STACK + 0x3f00;
    let t1 = STACK + 0xa00;
    let mut words = Vec::new();
    words.extend(record(i1, t1, ret("call_on_irq_stack", 0x20)));
    words.extend(record(t1, 0, 0));
    let f = fake(&words);
    let mut u = FrameRecordUnwinder::new(&f.mem, Some(&f.syms), PAC_BITS);
    u.set_stacks(vec![StackRange {
        cpu: 0,
        start: IRQ_STACK,
        end: IRQ_STACK + 0x4000,
        kind: StackKind::Irq,
    }]);
    let bt = u.unwind(&start(regs(
        at("handle_irq") + 0x30,
        IRQ_STACK + 0x3e00,
        i1,
        0,
        PSTATE_EL1H,
    )));
    assert_eq!(names(&bt), ["handle_irq+0x30!", "call_on_irq_stack+0x20"]);
    assert_eq!(bt.frames[0].stack, StackKind::Irq);
    assert_eq!(bt.stop, StopReason::EndOfStack);

    // A chain that goes back to the IRQ stack after leaving it is corrupt.
    let mut words = Vec::new();
    words.extend(record(i1, t1, ret("call_on_irq_stack", 0x20)));
    words.extend(record(t1, i1 + 0x20, ret("handle_irq", 0x20)));
    words.extend(record(i1 + 0x20, 0, ret("panic", 0x20)));
    let f = fake(&words);
    let mut u = FrameRecordUnwinder::new(&f.mem, Some(&f.syms), PAC_BITS);
    u.set_stacks(vec![StackRange {
        cpu: 0,
        start: IRQ_STACK,
        end: IRQ_STACK + 0x4000,
        kind: StackKind::Irq,
    }]);
    let bt = u.unwind(&start(regs(
        at("handle_irq") + 0x30,
        IRQ_STACK,
        i1,
        0,
        PSTATE_EL1H,
    )));
    assert!(
        matches!(bt.stop, StopReason::NoProgress { .. }),
        "{:?}",
        bt.stop
    );
}

#[test]
fn corrupt_chains_end_with_a_reason() {
    let f1 = STACK + 0x100;
    type Case = (Vec<(u64, u64)>, u64, fn(&StopReason) -> bool);
    let cases: Vec<Case> = vec![
        // A record pointing at itself.
        (record(f1, f1, ret("panic", 0x20)).to_vec(), f1, |s| {
            matches!(s, StopReason::NoProgress { .. })
        }),
        // A record pointing down the stack.
        (
            record(f1, f1 - 0x40, ret("panic", 0x20)).to_vec(),
            f1,
            |s| matches!(s, StopReason::NoProgress { .. }),
        ),
        // A return address that is not code.
        (record(f1, 0, 0xdead_beef).to_vec(), f1, |s| {
            matches!(s, StopReason::NotText { pc: 0xdead_beef })
        }),
        // A misaligned frame pointer.
        (Vec::new(), f1 + 3, |s| {
            matches!(s, StopReason::Corrupt { .. })
        }),
        // A frame pointer to memory the dump does not hold.
        (Vec::new(), STACK + 0x10_0000, |s| {
            matches!(s, StopReason::Unreadable { .. })
        }),
    ];
    for (words, fp, ok) in cases {
        let f = fake(&words);
        let u = FrameRecordUnwinder::new(&f.mem, Some(&f.syms), PAC_BITS);
        let bt = u.unwind(&start(regs(at("panic") + 0x30, STACK, fp, 0, PSTATE_EL1H)));
        assert!(ok(&bt.stop), "{:?}", bt.stop);
        assert!(bt.frames.len() <= 3);
    }
    // An exception entry whose pt_regs is not in the dump.
    let mut words = Vec::new();
    words.extend(record(f1, STACK + 0x10_0000, ret("el1h_64_sync", 0x20)));
    let f = fake(&words);
    let u = FrameRecordUnwinder::new(&f.mem, Some(&f.syms), PAC_BITS);
    let bt = u.unwind(&start(regs(at("panic") + 0x30, STACK, f1, 0, PSTATE_EL1H)));
    assert!(
        matches!(bt.stop, StopReason::Unreadable { .. }),
        "{:?}",
        bt.stop
    );
}

#[test]
fn a_chain_longer_than_any_real_stack_stops_at_max_frames() {
    use kernel_introspect::unwind::MAX_FRAMES;
    // 600 records, each 16 bytes above the last: all valid, none final.
    let mut words = Vec::new();
    for i in 0..600u64 {
        let at = STACK + 0x100 + 16 * i;
        words.extend(record(at, at + 16, ret("panic", 0x20)));
    }
    let f = fake(&words);
    let u = FrameRecordUnwinder::new(&f.mem, Some(&f.syms), PAC_BITS);
    let bt = u.unwind(&start(regs(
        at("cpu_do_idle") + 0x8,
        STACK,
        STACK + 0x100,
        ret("panic", 0x20),
        PSTATE_EL1H,
    )));
    assert_eq!(bt.stop, StopReason::TooManyFrames);
    assert_eq!(bt.frames.len(), MAX_FRAMES);
}

/// A record in the last 16 bytes of the address space: the address above it wraps, the walk
/// goes on to the record's (final) successor instead of overflowing.
#[test]
fn a_record_at_the_top_of_the_address_space() {
    let top = u64::MAX - 15;
    let f = fake(&[]);
    let mut mem = f.mem.clone();
    let mut rec = 0u64.to_le_bytes().to_vec();
    rec.extend(ret("panic", 0x20).to_le_bytes());
    mem.insert(top, rec);
    let u = FrameRecordUnwinder::new(&mem, Some(&f.syms), PAC_BITS);
    let bt = u.unwind(&start(regs(at("panic") + 0x30, STACK, top, 0, PSTATE_EL1H)));
    assert_eq!(names(&bt), ["panic+0x30!", "panic+0x20"]);
    assert_eq!(bt.frames[1].sp, 0);
    assert_eq!(bt.stop, StopReason::EndOfStack);
}
