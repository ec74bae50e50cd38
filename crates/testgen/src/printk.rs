//! The kernel's printk structures as bytes, for tests, fuzz seeds and the `klog_decode` target.
//!
//! Layouts are written from the kernel's own VMCOREINFO keys (kernel/printk/printk.c,
//! `log_buf_vmcoreinfo_setup`), not from the decoder's structs.

/// The 6.12 lockless-ring VMCOREINFO keys (`SIZE`/`OFFSET` of `printk_ringbuffer`, `prb_desc`,
/// `printk_info`, …, as the real 6.12 guest printed them), with `SYMBOL(prb)` at the start of
/// the 4-level direct map (physical 0 when `page_offset_base` is `0xffff888000000000`).
pub const LOCKLESS_612_KEYS: &str = "SYMBOL(prb)=ffff888000000000\nSIZE(printk_ringbuffer)=88\n\
OFFSET(printk_ringbuffer.desc_ring)=0\nOFFSET(printk_ringbuffer.text_data_ring)=48\n\
SIZE(prb_desc_ring)=48\nOFFSET(prb_desc_ring.count_bits)=0\nOFFSET(prb_desc_ring.descs)=8\n\
OFFSET(prb_desc_ring.infos)=16\nOFFSET(prb_desc_ring.head_id)=24\nOFFSET(prb_desc_ring.tail_id)=32\n\
SIZE(prb_desc)=24\nOFFSET(prb_desc.state_var)=0\nOFFSET(prb_desc.text_blk_lpos)=8\n\
OFFSET(prb_data_blk_lpos.begin)=0\nOFFSET(prb_data_blk_lpos.next)=8\nSIZE(printk_info)=88\n\
OFFSET(printk_info.seq)=0\nOFFSET(printk_info.ts_nsec)=8\nOFFSET(printk_info.text_len)=16\n\
OFFSET(printk_info.caller_id)=20\nOFFSET(printk_info.dev_info)=24\nOFFSET(dev_printk_info.subsystem)=0\n\
LENGTH(printk_info_subsystem)=16\nOFFSET(dev_printk_info.device)=16\nLENGTH(printk_info_device)=48\n\
OFFSET(prb_data_ring.size_bits)=0\nOFFSET(prb_data_ring.data)=8\nOFFSET(atomic_long_t.counter)=0\n";

/// One legacy (3.5–5.9) `struct printk_log` record: `ts_nsec` u64, `len` u16, `text_len` u16,
/// `dict_len` u16, facility u8, `flags:5 level:3` u8, then text and dictionary, padded to 8
/// bytes (`SIZE(printk_log)=16`).
pub fn legacy_record(text: &str, dict: &str, ts_nsec: u64, level: u8) -> Vec<u8> {
    let len = (16 + text.len() + dict.len()).div_ceil(8) * 8;
    let mut r = vec![0u8; len];
    r[0..8].copy_from_slice(&ts_nsec.to_le_bytes());
    r[8..10].copy_from_slice(&(len as u16).to_le_bytes());
    r[10..12].copy_from_slice(&(text.len() as u16).to_le_bytes());
    r[12..14].copy_from_slice(&(dict.len() as u16).to_le_bytes());
    r[15] = level << 5;
    r[16..16 + text.len()].copy_from_slice(text.as_bytes());
    r[16 + text.len()..16 + text.len() + dict.len()].copy_from_slice(dict.as_bytes());
    r
}
