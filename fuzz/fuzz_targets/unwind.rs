//! The x86_64 ORC unwinder on arbitrary stacks and unwind tables: the input is mapped as kernel
//! memory holding a small ORC table (place-relative IPs and 6-byte entries) and a stack, and the
//! start registers come from its first bytes. Every walk must end (frame and stack-switch
//! bounds), whatever the data says.
#![no_main]

use kernel_introspect::mem::MemoryMap;
use kernel_introspect::orc::{OrcLayout, OrcTable};
use kernel_introspect::unwind::{OrcUnwinder, StartRegs, Unwinder};
use libfuzzer_sys::fuzz_target;
use vmcore::{Registers, X86_64Regs};

const BASE: u64 = 0xffff_ffff_8100_0000;

fuzz_target!(|data: &[u8]| {
    if data.len() < 40 {
        return;
    }
    let len = data.len() as u64;
    let q = |i: usize| u64::from_le_bytes(data[8 * i..8 * i + 8].try_into().unwrap_or([0; 8]));
    let layout = match data[32] % 3 {
        0 => OrcLayout::V4_14,
        1 => OrcLayout::V6_3,
        _ => OrcLayout::V6_4,
    };
    let count = (data[33] as u64 % 64) + 1;
    let table = OrcTable {
        ip_table: BASE + (data[34] as u64 * 8) % len,
        count,
        entries: BASE + (data[35] as u64 * 8) % len,
        layout,
        header_hash: None,
        text: vec![(BASE, BASE + len)],
    };
    let mut mem = MemoryMap::new();
    mem.insert(BASE, data.to_vec());
    let unwinder = OrcUnwinder::new(&mem, table, None);
    let ip = BASE + q(0) % len;
    let sp = BASE + q(1) % len;
    let bp = BASE + q(2) % len;
    let with_regs = data[36] & 1 != 0;
    let regs = with_regs.then(|| {
        Registers::X86_64(X86_64Regs {
            rip: ip,
            rsp: sp,
            rbp: bp,
            cs: q(3) & 3,
            r10: q(3),
            r13: q(2),
            rdi: q(1),
            rdx: q(0),
            ..X86_64Regs::default()
        })
    });
    let bt = unwinder.unwind(&StartRegs {
        ip,
        sp,
        bp,
        regs,
        cpu: None,
    });
    assert!(bt.frames.len() <= kernel_introspect::unwind::MAX_FRAMES);
    for f in &bt.frames {
        let _ = (
            f.location(),
            f.interrupted(),
            f.stack.name(),
            f.method.name(),
        );
    }
    let _ = bt.stop.to_string();
});
