//! Per-CPU variables and CPU masks, through kallsyms: `__per_cpu_offset[cpu]` added to a per-CPU
//! symbol's address gives that CPU's copy; `__cpu_online_mask` and friends are bitmaps of
//! `nr_cpu_ids` bits.

use crate::mem::KernelMemory;
use crate::{Error, Kernel, Result};

/// More CPUs than any kernel supports (x86_64 MAXSMP is 8192); a larger `nr_cpu_ids` is corrupt.
pub const MAX_CPUS: u32 = 8192;

/// Which of the kernel's CPU masks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CpuMask {
    /// `__cpu_possible_mask`.
    Possible,
    /// `__cpu_present_mask`.
    Present,
    /// `__cpu_online_mask` (after a crash: the CPUs online when it happened, as the crash
    /// shutdown does not clear it on x86_64; drgn's oracle lists these).
    Online,
}

impl CpuMask {
    fn symbol(self) -> &'static str {
        match self {
            CpuMask::Possible => "__cpu_possible_mask",
            CpuMask::Present => "__cpu_present_mask",
            CpuMask::Online => "__cpu_online_mask",
        }
    }
}

impl Kernel<'_> {
    /// `nr_cpu_ids`: how many CPU numbers this boot can use.
    pub fn nr_cpu_ids(&self) -> Result<u32> {
        let at = self.symbol_addr("nr_cpu_ids", "the number of CPU ids")?;
        let n = self.memory().read_u32(at)?;
        if n == 0 || n > MAX_CPUS {
            return Err(Error::Corrupt {
                what: "nr_cpu_ids",
                addr: at,
                detail: format!("{n} CPUs (expected 1 to {MAX_CPUS})"),
            });
        }
        Ok(n)
    }

    /// The CPUs in `mask`, ascending.
    pub fn cpus_in(&self, mask: CpuMask) -> Result<Vec<u32>> {
        let n = self.nr_cpu_ids()?;
        let at = self.symbol_addr(mask.symbol(), "a CPU mask")?;
        let words = n.div_ceil(64) as usize;
        let bytes = self.memory().read_vec(at, words * 8)?;
        Ok((0..n)
            .filter(|&cpu| {
                let w = cpu as usize / 64;
                let word = u64::from_le_bytes(bytes[w * 8..w * 8 + 8].try_into().unwrap_or([0; 8]));
                word >> (cpu % 64) & 1 == 1
            })
            .collect())
    }

    /// `__per_cpu_offset[cpu]`: add it to a per-CPU symbol's address for `cpu`'s copy.
    pub fn per_cpu_offset(&self, cpu: u32) -> Result<u64> {
        let n = self.nr_cpu_ids()?;
        if cpu >= n {
            return Err(Error::Corrupt {
                what: "CPU number",
                addr: 0,
                detail: format!("CPU {cpu} is not below nr_cpu_ids {n}"),
            });
        }
        let at = self.symbol_addr("__per_cpu_offset", "per-CPU variables")?;
        self.memory().read_u64(at + 8 * cpu as u64)
    }

    /// The address of `cpu`'s copy of the per-CPU variable at `addr` (a kallsyms address).
    pub fn per_cpu_ptr(&self, addr: u64, cpu: u32) -> Result<u64> {
        Ok(addr.wrapping_add(self.per_cpu_offset(cpu)?))
    }
}
