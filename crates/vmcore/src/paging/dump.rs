//! What a [`Dump`] adds to the page walk: its kernel and per-CPU page tables, its
//! `page_offset_base`, and [`VirtReader`] (virtual reads through the walk).

use kdump_types::{ByteOrder, PhysAddr, VirtAddr};

use super::{
    DIRECT_MAP_START_L4, DIRECT_MAP_START_L5, PAGE_OFFSET_ALIGN, PageTables, PhysReader,
    RootSource, Translation, arm64,
};
use crate::cpu::Machine;
use crate::dump::Dump;
use crate::error::{Error, Result};
use crate::memmap::{RangeKind, X86_64_START_KERNEL_MAP};

/// How `page_offset_base` was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageOffsetSource {
    /// From a direct-map ELF PT_LOAD: `p_vaddr − p_paddr`.
    ElfLoad,
    /// From a scan of the kernel page tables over the direct-map window.
    PageTableScan,
}

/// The start of the kernel's direct map of physical memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageOffset {
    /// `page_offset_base`: the virtual address of physical address 0.
    pub base: u64,
    /// How it was found.
    pub source: PageOffsetSource,
}

impl Dump {
    /// The page-table walk of `walk` reads this dump only if it is that machine's and
    /// little-endian: another machine's tables, or a big-endian kernel's (aarch64_be), would
    /// be misread, so those get an error naming the machine and byte order, never a wrong
    /// translation.
    fn require_walk(&self, walk: Machine) -> Result<()> {
        let (m, order) = (self.machine(), self.byte_order());
        if m == walk && order == ByteOrder::Little {
            return Ok(());
        }
        Err(Error::Unsupported {
            what: "page-table walk",
            offset: 0,
            detail: format!(
                "this is the {} walk (virtual addresses are translated for little-endian x86_64 \
                 and aarch64), this dump is {order} {}",
                walk.name(),
                m.name()
            ),
        })
    }

    /// The kernel page tables, from vmcoreinfo: root `SYMBOL(init_top_pgt)` (or
    /// `SYMBOL(swapper_pg_dir)`) converted with `NUMBER(phys_base)`, `NUMBER(pgtable_l5_enabled)`
    /// and `NUMBER(sme_mask)`.
    pub fn kernel_page_tables(&self) -> Result<PageTables> {
        self.require_walk(Machine::X86_64)?;
        let info = self.vmcoreinfo().ok_or_else(|| Error::MissingVmcoreinfo {
            key: "VMCOREINFO note (needed for the kernel page tables)".into(),
        })?;
        // Kernels before 4.13 name the top table init_level4_pgt (renamed with 5-level paging).
        let (sym, source) = match (
            info.symbol("init_top_pgt"),
            info.symbol("swapper_pg_dir"),
            info.symbol("init_level4_pgt"),
        ) {
            (Some(v), _, _) => (v, RootSource::InitTopPgt),
            (None, Some(v), _) => (v, RootSource::SwapperPgDir),
            (None, None, Some(v)) => (v, RootSource::InitLevel4Pgt),
            (None, None, None) => {
                return Err(Error::MissingVmcoreinfo {
                    key: "SYMBOL(init_top_pgt), SYMBOL(swapper_pg_dir) or SYMBOL(init_level4_pgt)"
                        .into(),
                });
            }
        };
        let phys_base = info
            .number("phys_base")
            .ok_or_else(|| Error::MissingVmcoreinfo {
                key: "NUMBER(phys_base)".into(),
            })? as u64;
        if sym < X86_64_START_KERNEL_MAP {
            return Err(Error::Corrupt {
                what: "vmcoreinfo",
                detail: format!(
                    "root page table symbol {sym:#x} is below __START_KERNEL_map ({X86_64_START_KERNEL_MAP:#x}): not a kernel-text address"
                ),
            });
        }
        let root = (sym - X86_64_START_KERNEL_MAP).wrapping_add(phys_base);
        Ok(PageTables::new(
            PhysAddr(root),
            self.paging_levels(),
            self.sme_mask(),
            source,
        ))
    }

    fn paging_levels(&self) -> u8 {
        match self
            .vmcoreinfo()
            .and_then(|i| i.number("pgtable_l5_enabled"))
        {
            Some(n) if n != 0 => 5,
            _ => 4,
        }
    }

    fn sme_mask(&self) -> u64 {
        self.vmcoreinfo()
            .and_then(|i| i.number("sme_mask"))
            .unwrap_or(0) as u64
    }

    /// The page tables of one CPU: its CR3 from the QEMU CPU-state note (PCID bits and the SME
    /// bit stripped). `note_index` is [`crate::CpuContext::note_index`].
    ///
    /// A CPU stopped in user mode with page-table isolation has the user copy of its tables
    /// loaded, which maps little of the kernel; use [`Dump::kernel_page_tables`] for kernel
    /// addresses then.
    pub fn cpu_page_tables(&self, note_index: usize) -> Result<PageTables> {
        self.require_walk(Machine::X86_64)?;
        let cpu = self.cpus().get(note_index).ok_or_else(|| Error::Corrupt {
            what: "CPU context",
            detail: format!(
                "register note {note_index} does not exist (the dump has {})",
                self.cpus().len()
            ),
        })?;
        let cr3 = match cpu.qemu.map(|q| q.cr[3]) {
            Some(c) if c != 0 => c,
            // QEMU writes a state note for every vCPU; one that never ran (offline, or never
            // brought up) has all control registers zero.
            Some(_) => {
                return Err(Error::Corrupt {
                    what: "CPU context",
                    detail: format!(
                        "register note {note_index}: the vCPU's CR3 is 0, so it had no page tables loaded (it never started or was offline); walk the kernel's tables instead (without --cpu)"
                    ),
                });
            }
            None => {
                return Err(Error::Corrupt {
                    what: "CPU context",
                    detail: format!(
                        "register note {note_index} has no CR3 (only QEMU dumps carry it)"
                    ),
                });
            }
        };
        Ok(PageTables::new(
            PhysAddr(cr3),
            self.paging_levels(),
            self.sme_mask(),
            RootSource::Cr3 { note_index },
        ))
    }

    /// Walk `tables` for `va`, reading tables with [`Dump::read_phys`].
    pub fn translate_with(&self, tables: &PageTables, va: VirtAddr) -> Result<Translation> {
        tables.translate(&|pa, buf| self.read_phys(pa, buf), va)
    }

    /// The arm64 kernel address space, from vmcoreinfo alone ([`arm64::Arm64Space`]).
    pub fn arm64_space(&self) -> Result<arm64::Arm64Space> {
        self.require_walk(Machine::Aarch64)?;
        let info = self.vmcoreinfo().ok_or_else(|| Error::MissingVmcoreinfo {
            key: "VMCOREINFO note (needed for the kernel page tables)".into(),
        })?;
        arm64::Arm64Space::from_vmcoreinfo(info)
    }

    /// The kernel's address space for this dump's architecture: x86_64's
    /// [`Dump::kernel_page_tables`] or arm64's [`Dump::arm64_space`].
    pub fn address_space(&self) -> Result<AddressSpace> {
        match self.machine() {
            Machine::Aarch64 => Ok(AddressSpace::Aarch64(self.arm64_space()?)),
            _ => Ok(AddressSpace::X86_64(self.kernel_page_tables()?)),
        }
    }

    /// Translate a kernel virtual address through the kernel page tables, with every level
    /// (for `vmcore vtop`).
    pub fn translate(&self, va: VirtAddr) -> Result<Translation> {
        self.address_space()?
            .translate(&|pa, buf| self.read_phys(pa, buf), va)
    }

    /// A reader of kernel virtual memory that keeps the page tables and the last translation.
    pub fn virt_reader(&self) -> Result<VirtReader<'_>> {
        Ok(VirtReader::new(self, self.address_space()?))
    }

    /// Read kernel virtual memory into `buf`, across pages, translating each page through the
    /// kernel page tables.
    pub fn read_virt(&self, va: VirtAddr, buf: &mut [u8]) -> Result<()> {
        self.virt_reader()?.read(va, buf)
    }

    /// `page_offset_base`, the start of the direct map: `p_vaddr − p_paddr` of a direct-map
    /// PT_LOAD when the dump has one, otherwise found by scanning the kernel page tables over
    /// the direct-map window (up to `NUMBER(VMALLOC_START)` when known).
    pub fn page_offset_base(&self) -> Result<PageOffset> {
        self.require_walk(Machine::X86_64)?;
        let levels = self.paging_levels();
        let window_start = if levels == 5 {
            DIRECT_MAP_START_L5
        } else {
            DIRECT_MAP_START_L4
        };
        for r in self.memory().ranges() {
            if r.kind != RangeKind::Load {
                continue;
            }
            if let Some(v) = r.virt
                && v.0 >= window_start
                && v.0 < X86_64_START_KERNEL_MAP
            {
                let base = v.0.wrapping_sub(r.phys.start.0);
                if base % PAGE_OFFSET_ALIGN == 0 {
                    return Ok(PageOffset {
                        base,
                        source: PageOffsetSource::ElfLoad,
                    });
                }
            }
        }
        let tables = self.kernel_page_tables()?;
        // The direct map ends where vmalloc starts; without that key, the architectural
        // maximum (64 TiB for 4-level, 32 PiB for 5-level) bounds the window.
        let window_end = self
            .vmcoreinfo()
            .and_then(|i| i.number("VMALLOC_START"))
            .map(|v| v as u64)
            .filter(|&v| v > window_start)
            .unwrap_or(if levels == 5 {
                window_start + (1u64 << 55)
            } else {
                window_start + (1u64 << 46)
            });
        let base =
            tables.scan_direct_map(&|pa, buf| self.read_phys(pa, buf), window_start, window_end)?;
        Ok(PageOffset {
            base,
            source: PageOffsetSource::PageTableScan,
        })
    }
}

/// A kernel address space of one architecture: what [`VirtReader`] translates through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressSpace {
    /// x86_64 4/5-level tables.
    X86_64(PageTables),
    /// arm64 `swapper_pg_dir` with the linear map and kernel image offsets.
    Aarch64(arm64::Arm64Space),
}

impl From<PageTables> for AddressSpace {
    fn from(t: PageTables) -> Self {
        AddressSpace::X86_64(t)
    }
}

impl From<arm64::Arm64Space> for AddressSpace {
    fn from(s: arm64::Arm64Space) -> Self {
        AddressSpace::Aarch64(s)
    }
}

impl AddressSpace {
    /// Walk the tables for `va` through `read`, every level recorded.
    pub fn translate(&self, read: PhysReader<'_>, va: VirtAddr) -> Result<Translation> {
        match self {
            AddressSpace::X86_64(t) => t.translate(read, va),
            AddressSpace::Aarch64(s) => s.translate(read, va),
        }
    }

    /// The physical address of `va` without a walk, where the architecture fixes it: the
    /// arm64 linear map (`__lm_to_phys`). `None` means "walk the tables".
    fn direct(&self, va: u64) -> Option<u64> {
        match self {
            AddressSpace::X86_64(_) => None,
            AddressSpace::Aarch64(s) => s.linear_to_phys(va),
        }
    }

    /// The granule: the smallest page the tables map.
    fn granule(&self) -> u64 {
        match self {
            AddressSpace::X86_64(_) => 4096,
            AddressSpace::Aarch64(s) => s.tables.layout.page_size(),
        }
    }
}

/// Reads kernel virtual memory through a set of page tables, remembering the last page it
/// translated so sequential reads (ring buffers, arrays) cost one walk per page.
#[derive(Debug)]
pub struct VirtReader<'a> {
    dump: &'a Dump,
    space: AddressSpace,
    /// (virtual page start, physical page start, page size) of the last translation.
    last: std::cell::Cell<Option<(u64, u64, u64)>>,
}

impl<'a> VirtReader<'a> {
    /// A reader over `space` (x86_64 [`PageTables`] or an arm64 [`arm64::Arm64Space`]).
    pub fn new(dump: &'a Dump, space: impl Into<AddressSpace>) -> Self {
        VirtReader {
            dump,
            space: space.into(),
            last: std::cell::Cell::new(None),
        }
    }

    /// The address space in use.
    pub fn space(&self) -> &AddressSpace {
        &self.space
    }

    /// Physical address of `va` and the bytes left in its page.
    fn phys_of(&self, va: u64) -> Result<(u64, u64)> {
        if let Some((vstart, pstart, size)) = self.last.get()
            && va.wrapping_sub(vstart) < size
        {
            let off = va - vstart;
            return Ok((pstart + off, size - off));
        }
        // The arm64 linear map is fixed arithmetic; it is trusted only where it lands in the
        // dump's memory (a KASAN shadow address past the linear map's real end would not).
        if let Some(pa) = self.space.direct(va)
            && self.dump.memory().find_phys(PhysAddr(pa)).is_some()
        {
            let size = self.space.granule();
            let off = va & (size - 1);
            self.last.set(Some((va - off, pa - off, size)));
            return Ok((pa, size - off));
        }
        let t = self
            .space
            .translate(&|pa, buf| self.dump.read_phys(pa, buf), VirtAddr(va))?;
        let vstart = va & !(t.page_size - 1);
        self.last.set(Some((vstart, t.page_phys().0, t.page_size)));
        Ok((t.phys.0, t.bytes_left_in_page()))
    }

    /// Read `buf.len()` bytes at `va`, across pages.
    pub fn read(&self, va: VirtAddr, buf: &mut [u8]) -> Result<()> {
        let mut done = 0usize;
        while done < buf.len() {
            let a =
                va.0.checked_add(done as u64)
                    .ok_or_else(|| Error::Corrupt {
                        what: "virtual read",
                        detail: format!(
                            "reading {} bytes at {:#x} runs past the end of the address space",
                            buf.len(),
                            va.0
                        ),
                    })?;
            let (pa, left) = self.phys_of(a)?;
            let n = left.min((buf.len() - done) as u64) as usize;
            self.dump
                .read_phys(PhysAddr(pa), &mut buf[done..done + n])?;
            done += n;
        }
        Ok(())
    }
}
