//! What the kernel reads when it builds the header: [`SystemState`].
//!
//! Plain data, no I/O. [`SystemState::from_root`](crate::SystemState::from_root) fills it from a
//! procfs/sysfs root; tests and benchmarks build it directly.

use kdump_types::{PhysAddr, PhysRange, VirtAddr};

use crate::error::{Error, Result};
use crate::profile::KernelProfile;

/// The low 1 MiB, which x86 always excludes ("always reserved", `elf_header_exclude_ranges()`).
pub const LOW_1M: PhysRange = PhysRange {
    start: PhysAddr(0),
    end: PhysAddr(0x10_0000),
};

/// One possible CPU and where its crash note buffer lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuState {
    /// Logical CPU number (`cpuN`).
    pub id: u32,
    /// In `/sys/devices/system/cpu/present`.
    pub present: bool,
    /// In `/sys/devices/system/cpu/online`.
    pub online: bool,
    /// Physical address of this CPU's `crash_notes` buffer (`cpuN/crash_notes`).
    pub crash_notes: PhysAddr,
    /// `sizeof(note_buf_t)` (`cpuN/crash_notes_size`; 368 on x86_64).
    pub crash_notes_size: u64,
}

/// Where a note lives in physical memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NoteLocation {
    /// Physical address.
    pub addr: PhysAddr,
    /// Size in bytes.
    pub size: u64,
}

/// The kernel text mapping: the second-to-first PT_LOAD of the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct KernelText {
    /// `_text` (KASLR-shifted).
    pub vaddr: VirtAddr,
    /// `__pa_symbol(_text)`, the start of "Kernel code" in `/proc/iomem`.
    pub paddr: PhysAddr,
    /// `_end - _text`.
    pub size: u64,
}

/// State of a memory block (`/sys/devices/system/memory/memoryN/state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockState {
    /// `online`.
    Online,
    /// `offline`.
    Offline,
    /// `going-offline` (transient).
    GoingOffline,
}

/// One memory block (`/sys/devices/system/memory/memoryN`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryBlock {
    /// `N` of `memoryN`; the block covers `[N * block_size, (N + 1) * block_size)`.
    pub index: u64,
    /// `phys_index` (hex in sysfs); equals `index` on x86.
    pub phys_index: u64,
    /// `state`.
    pub state: BlockState,
}

/// `crash_hotplug` sysfs attributes: "1" when the kernel rewrites the loaded header itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CrashHotplug {
    /// `/sys/devices/system/cpu/crash_hotplug`, if present.
    pub cpu: Option<bool>,
    /// `/sys/devices/system/memory/crash_hotplug`, if present.
    pub memory: Option<bool>,
}

/// Kernel build options that size the header segment.
///
/// Defaults are Debian's 6.12 amd64 kernel (MAXSMP): `NR_CPUS_DEFAULT` 8192,
/// `CRASH_MAX_MEMORY_RANGES` 8192, `MEMORY_HOTPLUG=y`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KernelConfig {
    /// `CONFIG_NR_CPUS_DEFAULT` (64 with SMP, 8192 with MAXSMP).
    pub nr_cpus_default: usize,
    /// `CONFIG_CRASH_MAX_MEMORY_RANGES` (default 8192).
    pub crash_max_memory_ranges: usize,
    /// `CONFIG_MEMORY_HOTPLUG`.
    pub memory_hotplug: bool,
}

impl Default for KernelConfig {
    fn default() -> Self {
        Self::DEBIAN_6_12
    }
}

impl KernelConfig {
    /// Debian 12/13 `linux-image-6.12.*-amd64` (MAXSMP).
    pub const DEBIAN_6_12: KernelConfig = KernelConfig {
        nr_cpus_default: 8192,
        crash_max_memory_ranges: 8192,
        memory_hotplug: true,
    };

    /// Bytes the kernel reserves for the header segment at `kexec_file_load` time
    /// (`crash_load_segments()` in arch/x86/kernel/crash.c, 6.12):
    /// `(2 + NR_CPUS_DEFAULT + CRASH_MAX_MEMORY_RANGES) * 56 + 64` with memory hotplug, else
    /// `(nr_mem_ranges + 2 + NR_CPUS_DEFAULT) * 56 + 64`. When that phdr count reaches
    /// `PN_XNUM` the kernel logs "number of Phdrs exceeds max" and keeps the bare header size
    /// (`initial_len`), so no update can grow it.
    pub fn segment_capacity(&self, nr_mem_ranges: usize, initial_len: usize) -> usize {
        let pnum = if self.memory_hotplug {
            2 + self.nr_cpus_default + self.crash_max_memory_ranges
        } else {
            nr_mem_ranges + 2 + self.nr_cpus_default
        };
        if pnum < usize::from(kdump_types::elf::PN_XNUM) {
            pnum * kdump_types::elf::PHDR64_SIZE + kdump_types::elf::EHDR64_SIZE
        } else {
            initial_len
        }
    }

    /// What `/sys/kernel/crash_elfcorehdr_size` shows (`arch_crash_get_elfcorehdr_size()`):
    /// the phdr bytes only, without the 64-byte ELF header.
    pub fn sysfs_elfcorehdr_size(&self) -> usize {
        let ranges = if self.memory_hotplug {
            self.crash_max_memory_ranges
        } else {
            0
        };
        (2 + self.nr_cpus_default + ranges) * kdump_types::elf::PHDR64_SIZE
    }
}

/// Everything `crash_prepare_elf64_headers()` and its x86 caller read, captured at one instant.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SystemState {
    /// Every *possible* CPU, ascending by id (the header has one PT_NOTE per possible CPU).
    pub cpus: Vec<CpuState>,
    /// The VMCOREINFO note (`/sys/kernel/vmcoreinfo`).
    pub vmcoreinfo: NoteLocation,
    /// Top-level "System RAM" resources of `/proc/iomem`, ascending, inclusive ends converted.
    pub system_ram: Vec<PhysRange>,
    /// `crashk_res` ("Crash kernel"), if reserved.
    pub crash_kernel: Option<PhysRange>,
    /// `crashk_low_res` (the second "Crash kernel", below 4 GiB), if reserved.
    pub crash_kernel_low: Option<PhysRange>,
    /// The kernel text mapping.
    pub kernel_text: KernelText,
    /// `page_offset_base`: start of the direct map (`__va(pa) = pa + page_offset_base`).
    pub page_offset_base: VirtAddr,
    /// `/sys/kernel/crash_elfcorehdr_size`, if present.
    pub crash_elfcorehdr_size: Option<u64>,
    /// `crash_hotplug` attributes.
    pub crash_hotplug: CrashHotplug,
    /// `/sys/devices/system/memory/block_size_bytes`, if memory blocks exist.
    pub memory_block_size: Option<u64>,
    /// Memory blocks, ascending by index.
    pub memory_blocks: Vec<MemoryBlock>,
    /// The kernel's version-dependent behaviour (default: 6.12). [`SystemState::from_root`]
    /// detects it ([`KernelProfile::detect`]).
    pub profile: KernelProfile,
    /// `/proc/sys/kernel/osrelease`, if the root has it.
    pub os_release: Option<String>,
    /// `crashk_cma_ranges` (`crashkernel=SIZE,cma`, 6.17+), ascending: CMA memory lent to the
    /// crash kernel, "System RAM" in `/proc/iomem` but excluded from the header. From
    /// `/sys/kernel/kexec_crash_cma_ranges` when the kernel has it, else given by the user.
    pub crash_cma: Vec<PhysRange>,
    /// The root has `/sys/kernel/kexec_crash_cma_ranges` (so [`SystemState::crash_cma`] is
    /// the kernel's own list, possibly empty).
    pub crash_cma_from_sysfs: bool,
}

impl SystemState {
    /// The ranges x86 removes from System RAM, in the order `elf_header_exclude_ranges()`
    /// removes them: low 1 MiB, `crashk_res`, `crashk_low_res`, then (6.17+ profiles) every
    /// `crashk_cma_ranges[i]`.
    pub fn excluded_ranges(&self) -> impl Iterator<Item = PhysRange> + '_ {
        let cma: &[PhysRange] = if self.profile.cma_ranges {
            &self.crash_cma
        } else {
            &[]
        };
        std::iter::once(LOW_1M)
            .chain(self.crash_kernel)
            .chain(self.crash_kernel_low)
            .chain(cma.iter().copied())
    }

    /// The possible CPU with this id.
    pub fn cpu(&self, id: u32) -> Option<&CpuState> {
        self.cpus
            .binary_search_by_key(&id, |c| c.id)
            .ok()
            .and_then(|i| self.cpus.get(i))
    }

    /// The memory block with this index.
    pub fn memory_block(&self, index: u64) -> Option<&MemoryBlock> {
        self.memory_blocks
            .binary_search_by_key(&index, |b| b.index)
            .ok()
            .and_then(|i| self.memory_blocks.get(i))
    }

    /// Possible CPUs as a cpulist (`0-3,8`).
    pub fn possible_cpulist(&self) -> String {
        format_cpulist(self.cpus.iter().map(|c| c.id))
    }

    /// The segment size the kernel reserved: `crash_elfcorehdr_size + 64` when sysfs says,
    /// otherwise `config`'s formula; for a kernel without crash hotplug (the 6.1 profile) the
    /// page-aligned header for this state, `ALIGN(64 + e_phnum * 56, 4096)` (what
    /// `kexec_file_load` reserved if the state is the one it saw at load time).
    pub fn segment_capacity(&self, config: &KernelConfig) -> usize {
        match self.crash_elfcorehdr_size {
            Some(n) if n > 0 => usize::try_from(n)
                .unwrap_or(usize::MAX)
                .saturating_add(kdump_types::elf::EHDR64_SIZE),
            _ if !self.profile.crash_hotplug => crate::build::kernel_buffer_len(self)
                .unwrap_or_else(|_| config.segment_capacity(self.system_ram.len(), 0)),
            _ => config.segment_capacity(self.system_ram.len(), 0),
        }
    }

    /// Checks what the builder relies on: CPUs ascending and unique with a note address, RAM
    /// ranges ascending, non-empty and disjoint.
    pub fn validate(&self) -> Result<()> {
        if self.cpus.is_empty() {
            return Err(invalid("no possible CPU"));
        }
        for w in self.cpus.windows(2) {
            if w[0].id >= w[1].id {
                return Err(invalid(format!(
                    "CPUs not ascending: cpu{} before cpu{}",
                    w[0].id, w[1].id
                )));
            }
        }
        for r in &self.system_ram {
            if r.is_empty() {
                return Err(invalid(format!("empty System RAM range at {:#x}", r.start)));
            }
        }
        for w in self.system_ram.windows(2) {
            if w[0].end > w[1].start {
                return Err(invalid(format!(
                    "System RAM ranges not ascending and disjoint: {} then {}",
                    w[0], w[1]
                )));
            }
        }
        if !self.crash_cma.is_empty() && !self.profile.cma_ranges {
            return Err(invalid(format!(
                "CMA crash kernel ranges given, but kernel profile {} has no crashkernel=SIZE,cma \
                 (Linux 6.17+): choose the kernel's profile",
                self.profile
            )));
        }
        for r in &self.crash_cma {
            if r.is_empty() {
                return Err(invalid(format!("empty CMA crash range at {:#x}", r.start)));
            }
        }
        Ok(())
    }
}

fn invalid(what: impl Into<String>) -> Error {
    Error::InvalidState { what: what.into() }
}

/// Formats ids as a Linux cpulist (`0-3,5,7-8`).
pub fn format_cpulist(ids: impl IntoIterator<Item = u32>) -> String {
    let mut out = String::new();
    let mut run: Option<(u32, u32)> = None;
    let flush = |run: (u32, u32), out: &mut String| {
        if !out.is_empty() {
            out.push(',');
        }
        if run.0 == run.1 {
            out.push_str(&run.0.to_string());
        } else {
            out.push_str(&format!("{}-{}", run.0, run.1));
        }
    };
    for id in ids {
        run = match run {
            Some((a, b)) if b.checked_add(1) == Some(id) => Some((a, id)),
            Some(r) => {
                flush(r, &mut out);
                Some((id, id))
            }
            None => Some((id, id)),
        };
    }
    if let Some(r) = run {
        flush(r, &mut out);
    }
    out
}
