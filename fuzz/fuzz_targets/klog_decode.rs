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

const LOCKLESS: &str = "SYMBOL(prb)=ffff888000000000\nSIZE(printk_ringbuffer)=88\n\
OFFSET(printk_ringbuffer.desc_ring)=0\nOFFSET(printk_ringbuffer.text_data_ring)=48\n\
SIZE(prb_desc_ring)=48\nOFFSET(prb_desc_ring.count_bits)=0\nOFFSET(prb_desc_ring.descs)=8\n\
OFFSET(prb_desc_ring.infos)=16\nOFFSET(prb_desc_ring.head_id)=24\nOFFSET(prb_desc_ring.tail_id)=32\n\
SIZE(prb_desc)=24\nOFFSET(prb_desc.state_var)=0\nOFFSET(prb_desc.text_blk_lpos)=8\n\
OFFSET(prb_data_blk_lpos.begin)=0\nOFFSET(prb_data_blk_lpos.next)=8\nSIZE(printk_info)=88\n\
OFFSET(printk_info.seq)=0\nOFFSET(printk_info.ts_nsec)=8\nOFFSET(printk_info.text_len)=16\n\
OFFSET(printk_info.caller_id)=20\nOFFSET(printk_info.dev_info)=24\nOFFSET(dev_printk_info.subsystem)=0\n\
LENGTH(printk_info_subsystem)=16\nOFFSET(dev_printk_info.device)=16\nLENGTH(printk_info_device)=48\n\
OFFSET(prb_data_ring.size_bits)=0\nOFFSET(prb_data_ring.data)=8\nOFFSET(atomic_long_t.counter)=0\n";

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
