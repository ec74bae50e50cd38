//! The arm64 page walk from vmcoreinfo alone, on arbitrary values and tables: bytes 0–1 are
//! `TCR_EL1_T1SZ` and `VA_BITS` (any value, absurd ones included), byte 2 picks the granule
//! (4/16/64 KiB, or a wrong one), bytes 8–15 `kimage_voffset`, 16–23 `PHYS_OFFSET`, 24–31
//! `SYMBOL(swapper_pg_dir)`; the whole input is physical memory at address 0 (the tables), and
//! the words after byte 32 are addresses to translate. Every walk must end with an answer or an
//! error naming what was wrong: at most five levels, loops reported.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vmcore::paging::arm64::Arm64Space;
use vmcore::{PhysAddr, VirtAddr, VmcoreInfo};

fuzz_target!(|data: &[u8]| {
    if data.len() < 40 {
        return;
    }
    let q = |i: usize| u64::from_le_bytes(data[i..i + 8].try_into().unwrap_or([0; 8]));
    let page_size = match data[2] % 4 {
        0 => 4096,
        1 => 16384,
        2 => 65536,
        _ => 8192,
    };
    let text = format!(
        "PAGESIZE={page_size}\nNUMBER(TCR_EL1_T1SZ)={:#x}\nNUMBER(VA_BITS)={}\n\
         NUMBER(kimage_voffset)={:#x}\nNUMBER(PHYS_OFFSET)={:#x}\nSYMBOL(swapper_pg_dir)={:x}\n",
        data[0],
        data[1] as i8,
        q(8),
        q(16),
        q(24)
    );
    let info = VmcoreInfo::parse(text.as_bytes());
    let Ok(space) = Arm64Space::from_vmcoreinfo(&info) else {
        return;
    };
    let read = |pa: PhysAddr, buf: &mut [u8]| -> vmcore::Result<()> {
        let start = usize::try_from(pa.0).map_err(|_| vmcore::Error::NotInDump { addr: pa.0 })?;
        let src = start
            .checked_add(buf.len())
            .and_then(|end| data.get(start..end))
            .ok_or(vmcore::Error::NotInDump { addr: pa.0 })?;
        buf.copy_from_slice(src);
        Ok(())
    };
    for chunk in data[32..].chunks_exact(8).take(16) {
        let va = u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]));
        let _ = space.linear_to_phys(va);
        if let Ok(t) = space.translate(&read, VirtAddr(va)) {
            assert!(t.steps.len() <= usize::from(space.tables.layout.levels));
            assert!(t.page_size.is_power_of_two());
            assert_eq!(t.phys.0 & !(t.page_size - 1), t.page_phys().0);
        }
    }
});
