//! The arm64 frame-record walker on arbitrary stacks and code: the input is mapped twice, as
//! kernel text at `TEXT` (named by a fixed kallsyms table: exception-entry stubs, ordinary
//! functions) and as a task stack at `STACK` whose upper half is an IRQ stack; the start
//! registers come from its first words (pc, sp, x29, x30 into those regions, pstate, whether a
//! register set is given). Every walk must end within `MAX_FRAMES`, whatever the records,
//! `pt_regs`, `bl` instructions and stack switches say.
#![no_main]

use kernel_introspect::kallsyms::{Kallsyms, KallsymsTables};
use kernel_introspect::mem::MemoryMap;
use kernel_introspect::unwind::arm64::FrameRecordUnwinder;
use kernel_introspect::unwind::{MAX_FRAMES, StackKind, StackRange, StartRegs, Unwinder};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use vmcore::{Aarch64Regs, Registers};

const TEXT: u64 = 0xffff_8000_8001_0000;
const STACK: u64 = 0xffff_0000_1000_0000;
const SYMTAB: u64 = 0xffff_8000_a000_0000;
const NAMES: [&str; 8] = [
    "_stext",
    "el1h_64_sync",
    "el1h_64_irq",
    "el0t_64_sync",
    "panic",
    "cpu_do_idle",
    "call_on_irq_stack",
    "_end",
];

fn symtab() -> &'static (Vec<u8>, KallsymsTables) {
    static T: OnceLock<(Vec<u8>, KallsymsTables)> = OnceLock::new();
    T.get_or_init(|| {
        let syms: Vec<(&str, char, u64)> = NAMES
            .iter()
            .enumerate()
            .map(|(i, n)| (*n, 't', TEXT + 0x40 * i as u64))
            .collect();
        let img = testgen::kallsyms::kallsyms_image(SYMTAB, &syms);
        let mut bytes = img.bytes.clone();
        bytes.resize(bytes.len() + 0x2000, 0);
        let t = KallsymsTables {
            num_syms: img.num_syms,
            names: img.names,
            token_table: img.token_table,
            token_index: img.token_index,
            offsets: None,
            relative_base: None,
            addresses: Some(img.addresses),
            stext: TEXT,
        };
        (bytes, t)
    })
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 48 {
        return;
    }
    let len = data.len() as u64;
    let q = |i: usize| u64::from_le_bytes(data[8 * i..8 * i + 8].try_into().unwrap_or([0; 8]));
    let (tab, tables) = symtab();
    let mut mem = MemoryMap::new();
    mem.insert(SYMTAB, tab.clone());
    let Ok(syms) = Kallsyms::decode(tables, &mem) else {
        return;
    };
    mem.insert(TEXT, data.to_vec());
    mem.insert(STACK, data.to_vec());
    let mut u = FrameRecordUnwinder::new(&mem, Some(&syms), 0xffff_0000_0000_0000);
    u.add_module_area(TEXT + len, TEXT + 2 * len);
    u.set_stacks(vec![StackRange {
        cpu: 0,
        start: STACK + len / 2,
        end: STACK + len,
        kind: StackKind::Irq,
    }]);
    let pc = TEXT + q(0) % len;
    let sp = STACK + q(1) % len;
    let fp = STACK + q(2) % len;
    let mut x = [0u64; 31];
    x[29] = fp;
    x[30] = TEXT + q(3) % len;
    let regs = (data[40] & 1 != 0).then(|| {
        Registers::Aarch64(Aarch64Regs {
            x,
            sp,
            pc,
            pstate: u64::from(data[41]),
        })
    });
    let bt = u.unwind(&StartRegs {
        ip: pc,
        sp,
        bp: fp,
        regs,
        cpu: Some(0),
    });
    assert!(bt.frames.len() <= MAX_FRAMES);
    assert!(!bt.frames.is_empty());
});
