//! Fuzz the pure printk ring decoders (`vmcore::klog::decode_lockless` / `decode_legacy`) over a
//! fake kernel memory built from the input: the input bytes are mapped at one virtual address,
//! everything else is unmapped. `SYMBOL(prb)` / `SYMBOL(log_buf)` point at the first bytes, so
//! the fuzzer controls every pointer, size and descriptor. Layout keys are the 6.12 kernel's.
//! Then every accessor, the makedumpfile formatter and the hotplug kernel-log importer run on
//! the result (`vmcore_fuzz::exercise_log`).
//! An input starting with `V` carries extra vmcoreinfo lines up to its first NUL, appended to
//! the layout (the last value of a key wins), and the memory starts after that NUL: the layout
//! keys come from the dump too, so the fuzzer changes sizes and offsets as well.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vmcore::klog;
use vmcore::{Error, VirtAddr, VmcoreInfo};

const BASE: u64 = 0xffff_8880_0000_0000;

/// The 6.12 lockless-ring keys, `SYMBOL(prb)` at the direct map's start.
const LOCKLESS: &str = testgen::printk::LOCKLESS_612_KEYS;

const LEGACY: &str = "SYMBOL(log_buf)=ffff888000000000\nSYMBOL(log_buf_len)=ffff888000000008\n\
SYMBOL(log_first_idx)=ffff888000000010\nSYMBOL(log_next_idx)=ffff888000000018\n\
SIZE(printk_log)=16\nOFFSET(printk_log.ts_nsec)=0\nOFFSET(printk_log.len)=8\n\
OFFSET(printk_log.text_len)=10\nOFFSET(printk_log.dict_len)=12\n";

fuzz_target!(|input: &[u8]| {
    let (extra, data): (&[u8], &[u8]) = match input.split_first() {
        Some((b'V', rest)) => match rest.iter().position(|&b| b == 0) {
            Some(n) => (&rest[..n], &rest[n + 1..]),
            None => (rest, &[]),
        },
        _ => (&[], input),
    };
    let read = |va: VirtAddr, buf: &mut [u8]| -> vmcore::Result<()> {
        let off = va.0.wrapping_sub(BASE);
        let end = off.checked_add(buf.len() as u64);
        match end {
            Some(end) if end <= data.len() as u64 => {
                buf.copy_from_slice(&data[off as usize..end as usize]);
                Ok(())
            }
            _ => Err(Error::VirtNotMapped {
                addr: va.0,
                level: "PTE",
                entry: 0,
            }),
        }
    };
    for layout in [LOCKLESS, LEGACY] {
        let mut text = layout.as_bytes().to_vec();
        text.extend_from_slice(extra);
        let info = VmcoreInfo::parse(&text);
        if let Ok(log) = klog::decode(&info, &read) {
            vmcore_fuzz::exercise_log(&log);
        }
    }
});
