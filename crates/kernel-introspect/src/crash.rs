//! What crashed: which CPU each register note belongs to, which CPU panicked, and each CPU's
//! backtrace.
//!
//! A kdump `/proc/vmcore` numbers its register notes by position only. The kernel wrote each
//! note into that CPU's per-CPU `crash_notes` buffer before the dump, and those buffers are in
//! the dump's memory: finding each note's bytes in `per_cpu_ptr(crash_notes, cpu)` gives its real
//! CPU number. QEMU dumps number their notes themselves (`pr_pid - 1`).

use vmcore::{CpuContext, Machine};

use crate::mem::KernelMemory;
use crate::orc::OrcTable;
use crate::percpu::CpuMask;
use crate::unwind::Frame;
use crate::unwind::{
    Backtrace, CodeArea, FrameKind, FrameRecordUnwinder, KernelUnwinder, OrcUnwinder, StartRegs,
    Unwinder,
};
use crate::{Error, Kernel, Result};

/// Bytes of an ELF note header plus the padded name `"CORE"` before the descriptor in a
/// `crash_notes` buffer.
const CORE_NOTE_DESC_OFFSET: u64 = 12 + 8;

/// A register note's descriptor is an `elf_prstatus` (336 bytes on x86_64); anything above a
/// page is not one.
const MAX_PRSTATUS: u32 = 4096;

/// Functions of the panic and crash-dump machinery, skipped when naming the crash site.
const PANIC_PATH: &[&str] = &[
    "__crash_kexec",
    "crash_kexec",
    "crash_setup_regs",
    "panic",
    "vpanic",
    "nmi_panic",
    "oops_end",
    "die",
    "__die",
    "die_addr",
    "do_trap",
    "do_error_trap",
    "bust_spinlocks",
    "check_panic_on_warn",
    "__warn",
    "report_bug",
    "handle_bug",
    "native_machine_crash_shutdown",
    "machine_crash_shutdown",
    // arm64
    "die_kernel_fault",
    "__do_kernel_fault",
    "arm64_notify_die",
    "bug_brk_handler",
];

/// One register note's CPU and backtrace.
#[derive(Debug, Clone)]
pub struct CpuBacktrace {
    /// Position among the dump's register notes.
    pub note_index: usize,
    /// The CPU number (from the dump itself, or found through `crash_notes`).
    pub cpu: Option<u32>,
    /// The task running there (`pr_pid`; `None` for QEMU dumps, whose `pr_pid` is a vCPU
    /// number).
    pub pid: Option<u32>,
    /// This CPU panicked (`panic_cpu` / `crashing_cpu`).
    pub crashed: bool,
    /// The trace, or why there is none (a zeroed note, no registers).
    pub trace: std::result::Result<Backtrace, String>,
}

/// The one-line answer to "what crashed".
#[derive(Debug, Clone)]
pub struct CrashSite {
    /// The CPU that panicked.
    pub cpu: u32,
    /// The task running there (`pr_pid` of its register note), when known.
    pub pid: Option<u32>,
    /// The frame that names the crash: the faulting instruction of an exception, else the
    /// first caller outside the panic machinery (`panic`, `__crash_kexec`, …).
    pub frame: Option<Frame>,
    /// The whole trace of that CPU.
    pub trace: Option<Backtrace>,
}

impl<'d> Kernel<'d> {
    /// vmlinux's ORC tables (x86_64 kernels built with CONFIG_UNWINDER_ORC).
    pub fn orc_table(&self) -> Result<OrcTable> {
        let info = self.vmcoreinfo()?;
        let t = OrcTable::from_kallsyms(self.symbols()?, self.memory(), info.osrelease())?;
        t.verify_sorted(self.memory())?;
        Ok(t)
    }

    /// The unwinder for this dump's architecture, with every CPU's IRQ and exception stacks.
    pub fn unwinder(&self) -> Result<KernelUnwinder<'_, vmcore::paging::VirtReader<'d>>> {
        match self.dump().machine() {
            Machine::X86_64 => {}
            Machine::Aarch64 => return self.arm64_unwinder().map(KernelUnwinder::FrameRecord),
            other => {
                return Err(Error::Corrupt {
                    what: "backtrace",
                    addr: 0,
                    detail: format!(
                        "backtraces of {} dumps are not implemented (x86_64 ORC and arm64 frame records only)",
                        other.name()
                    ),
                });
            }
        }
        let syms = self.symbols()?;
        let mut u = OrcUnwinder::new(self.memory(), self.orc_table()?, Some(syms));
        let mut stacks = Vec::new();
        for cpu in self.cpus_in(CpuMask::Possible).unwrap_or_default() {
            if let Ok(off) = self.per_cpu_offset(cpu) {
                stacks.extend(crate::unwind::x86_64::cpu_stacks(
                    self.memory(),
                    syms,
                    cpu,
                    off,
                ));
            }
        }
        u.set_stacks(stacks);
        Ok(KernelUnwinder::Orc(u))
    }

    /// The arm64 frame-record unwinder: pointer-authentication bits from vmcoreinfo's
    /// `KERNELPACMASK` and the VA size, `pt_regs.stackframe` from BTF (the 5.x–6.12 offset
    /// without it), the module area from vmcoreinfo, every CPU's IRQ and overflow stacks.
    fn arm64_unwinder(&self) -> Result<FrameRecordUnwinder<'_, vmcore::paging::VirtReader<'d>>> {
        let syms = self.symbols()?;
        let info = self.vmcoreinfo()?;
        let space = self.dump().arm64_space()?;
        let va_bits = space.t1sz.map_or(space.tables.layout.va_bits, |t| 64 - t);
        let pac = info.number("KERNELPACMASK").unwrap_or(0) as u64 | (u64::MAX << va_bits);
        let mut u = FrameRecordUnwinder::new(self.memory(), Some(syms), pac);
        if let Ok(off) = self.btf().and_then(|b| {
            b.member_offset("pt_regs", "stackframe")
                .map_err(|e| self.btf_error(e))
        }) {
            u.set_stackframe_offset(off);
        }
        if let (Some(lo), Some(hi)) = (info.number("MODULES_VADDR"), info.number("MODULES_END")) {
            u.add_module_area(lo as u64, hi as u64);
        }
        // Since 6.5 modules go within 2 GiB below the (randomized) kernel image, outside
        // MODULES_VADDR..MODULES_END ("arm64: module: rework module VA range selection").
        let (text, _) = syms.kernel_span();
        u.add_module_area(text.saturating_sub(2 << 30), text);
        // THREAD_SIZE (= IRQ_STACK_SIZE): 16 KiB, or a page when pages are larger (VMAP stacks).
        let thread_size = (16 * 1024).max(space.tables.layout.page_size());
        let mut stacks = Vec::new();
        for cpu in self.cpus_in(CpuMask::Possible).unwrap_or_default() {
            if let Ok(off) = self.per_cpu_offset(cpu) {
                stacks.extend(crate::unwind::arm64::cpu_stacks(
                    self.memory(),
                    syms,
                    cpu,
                    off,
                    thread_size,
                ));
            }
        }
        u.set_stacks(stacks);
        Ok(u)
    }

    /// Walk a stack from `start` (a sleeping task's saved context, a `pt_regs`, a register
    /// note). Errors only when no unwinder can be built (no kallsyms, no ORC tables); problems
    /// during the walk end it with a [`crate::unwind::StopReason`].
    ///
    /// A sleeping task (`task->thread.sp` points at its `struct inactive_task_frame`) starts at
    /// `StartRegs { ip: frame.ret_addr, sp: thread.sp + size_of(inactive_task_frame), bp:
    /// frame.bp, ..Default::default() }`: without `regs`, `ip` is a return address and frame 0
    /// a call frame (drgn's `__schedule+…`, not interrupted).
    ///
    /// Each call builds an unwinder (and checks the ORC table once more); for many walks build
    /// one with [`Kernel::unwinder`] and call [`Unwinder::unwind`] on it.
    pub fn unwind_from(&self, start: StartRegs) -> Result<Backtrace> {
        Ok(self.unwinder()?.unwind(&start))
    }

    /// The backtrace of one register note.
    pub fn backtrace(&self, cpu: &CpuContext) -> Result<Backtrace> {
        let regs = cpu.regs.ok_or_else(|| Error::Corrupt {
            what: "register note",
            addr: 0,
            detail: cpu
                .problem
                .as_ref()
                .map_or_else(|| "no registers".to_string(), ToString::to_string),
        })?;
        self.unwind_from(StartRegs::from_regs(regs, cpu.cpu))
    }

    /// `panic_cpu`: the CPU that called panic, `None` when nothing panicked (-1).
    pub fn panic_cpu(&self) -> Result<Option<u32>> {
        self.cpu_variable("panic_cpu", "which CPU panicked")
    }

    /// `crashing_cpu` (x86): the CPU that ran the crash shutdown, `None` when -1 or absent.
    pub fn crashing_cpu(&self) -> Result<Option<u32>> {
        if self.symbols()?.lookup("crashing_cpu").is_none() {
            return Ok(None);
        }
        self.cpu_variable("crashing_cpu", "which CPU ran the crash shutdown")
    }

    fn cpu_variable(&self, name: &'static str, why: &'static str) -> Result<Option<u32>> {
        let at = self.symbol_addr(name, why)?;
        let v = self.memory().read_u32(at)? as i32;
        if v < 0 {
            return Ok(None);
        }
        let n = self.nr_cpu_ids()?;
        if v as u32 >= n {
            return Err(Error::Corrupt {
                what: name,
                addr: at,
                detail: format!("CPU {v} is not below nr_cpu_ids {n}"),
            });
        }
        Ok(Some(v as u32))
    }

    /// The crashed CPU: `panic_cpu`, else `crashing_cpu`.
    pub fn crashed_cpu(&self) -> Result<Option<u32>> {
        Ok(match self.panic_cpu()? {
            Some(c) => Some(c),
            None => self.crashing_cpu()?,
        })
    }

    /// The CPU number of each register note, in note order: the dump's own number (QEMU) or the
    /// CPU whose `crash_notes` buffer holds the same note; `None` where neither says.
    pub fn note_cpus(&self) -> Result<Vec<Option<u32>>> {
        let cpus = self.dump().cpus();
        if cpus.iter().all(|c| c.cpu.is_some()) {
            return Ok(cpus.iter().map(|c| c.cpu).collect());
        }
        let buffers = self.crash_note_buffers()?;
        Ok(cpus
            .iter()
            .map(|c| {
                c.cpu.or_else(|| {
                    let note = self
                        .dump()
                        .notes()
                        .iter()
                        .find(|n| n.offset == c.note_offset)?;
                    buffers
                        .iter()
                        .find(|(_, desc)| *desc == note.desc)
                        .map(|(cpu, _)| *cpu)
                })
            })
            .collect())
    }

    /// `(cpu, descriptor)` of every possible CPU's `crash_notes` buffer holding a register note.
    fn crash_note_buffers(&self) -> Result<Vec<(u32, Vec<u8>)>> {
        let at = self.symbol_addr("crash_notes", "the CPU of each register note")?;
        let ptr = self.memory().read_u64(at)?;
        let mut out = Vec::new();
        for cpu in self.cpus_in(CpuMask::Possible)? {
            let buf = self.per_cpu_ptr(ptr, cpu)?;
            let Ok(hdr) = self.memory().read_vec(buf, 12) else {
                continue;
            };
            let word = |i: usize| u32::from_le_bytes([hdr[i], hdr[i + 1], hdr[i + 2], hdr[i + 3]]);
            let (namesz, descsz, n_type) = (word(0), word(4), word(8));
            if namesz != 5 || n_type != 1 || descsz == 0 || descsz > MAX_PRSTATUS {
                continue; // empty (an offline CPU) or not a register note
            }
            if let Ok(desc) = self
                .memory()
                .read_vec(buf + CORE_NOTE_DESC_OFFSET, descsz as usize)
            {
                out.push((cpu, desc));
            }
        }
        Ok(out)
    }

    /// Every register note's CPU and backtrace.
    pub fn backtraces(&self) -> Result<Vec<CpuBacktrace>> {
        // Module ORC tables and names when the dump has BTF (the vmlinux unwinder otherwise).
        let unwinder = self.unwinder_with_modules()?;
        let numbers = self
            .note_cpus()
            .unwrap_or_else(|_| self.dump().cpus().iter().map(|c| c.cpu).collect());
        let crashed = self.crashed_cpu().ok().flatten();
        // QEMU numbers its notes itself (x86 state notes; aarch64 has none but a CPU number).
        let qemu = self
            .dump()
            .cpus()
            .iter()
            .any(|c| c.qemu.is_some() || c.cpu.is_some());
        Ok(self
            .dump()
            .cpus()
            .iter()
            .zip(numbers)
            .map(|(c, cpu)| CpuBacktrace {
                note_index: c.note_index,
                cpu,
                pid: (!qemu).then_some(c.pid),
                crashed: cpu.is_some() && cpu == crashed,
                trace: match c.regs {
                    Some(r) => {
                        let mut t = unwinder.unwind(&StartRegs::from_regs(r, cpu));
                        self.name_module_frames(&mut t);
                        Ok(t)
                    }
                    None => Err(c
                        .problem
                        .as_ref()
                        .map_or_else(|| "no registers".to_string(), ToString::to_string)),
                },
            })
            .collect())
    }

    /// Which CPU crashed, in which task and function; `None` when nothing panicked.
    pub fn crash_site(&self) -> Result<Option<CrashSite>> {
        let Some(cpu) = self.crashed_cpu()? else {
            return Ok(None);
        };
        let traces = self.backtraces()?;
        let Some(bt) = traces.into_iter().find(|b| b.cpu == Some(cpu)) else {
            return Ok(Some(CrashSite {
                cpu,
                pid: None,
                frame: None,
                trace: None,
            }));
        };
        let trace = bt.trace.ok();
        let frame = trace.as_ref().and_then(|t| site_frame(&t.frames)).cloned();
        Ok(Some(CrashSite {
            cpu,
            pid: bt.pid,
            frame,
            trace,
        }))
    }
}

/// The frame that names a crash: the faulting kernel instruction when an exception entry
/// (`asm_exc_*`) saved registers, else the first frame outside `PANIC_PATH`.
pub fn site_frame(frames: &[Frame]) -> Option<&Frame> {
    for w in frames.windows(2).skip(1) {
        // x86_64 `asm_exc_*`; arm64 synchronous exception entries (`el1h_64_sync`).
        let entry_is_exception = w[0].symbol.as_ref().is_some_and(|s| {
            s.name.starts_with("asm_exc_") || crate::unwind::arm64::is_sync_entry(&s.name)
        });
        if entry_is_exception
            && matches!(w[1].kind, FrameKind::Interrupted { .. })
            && w[1].area != CodeArea::User
        {
            return Some(&w[1]);
        }
    }
    frames.iter().find(|f| {
        f.symbol
            .as_ref()
            .is_none_or(|s| !PANIC_PATH.contains(&s.name.as_str()))
    })
}

/// The one-line answer to "what crashed", as `vmcore info` prints it and the TUI's overview
/// shows it: `CPU 5, pid 2892 (sh) in sysrq_handle_crash+0x1a`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrashSummary {
    /// The CPU that panicked.
    pub cpu: u32,
    /// The task running there, when known.
    pub pid: Option<u32>,
    /// Its command (needs BTF: the run queue's current task), when known.
    pub comm: Option<String>,
    /// `function+0xoff` of the crash site ([`site_frame`]).
    pub site: Option<String>,
    /// The top frames of the crashed CPU (at most four), innermost first, as `function+0xoff`.
    pub frames: Vec<String>,
}

impl std::fmt::Display for CrashSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CPU {}", self.cpu)?;
        if let Some(p) = self.pid {
            write!(f, ", pid {p}")?;
            if let Some(c) = &self.comm {
                write!(f, " ({c})")?;
            }
        }
        if let Some(s) = &self.site {
            write!(f, " in {s}")?;
        }
        Ok(())
    }
}

impl Kernel<'_> {
    /// Which CPU crashed, in which task and function, summarized; `Err` says why nothing can
    /// be told (nothing panicked, no kallsyms or ORC).
    pub fn crash_summary(&self) -> std::result::Result<CrashSummary, String> {
        let site = match self.crash_site() {
            Ok(Some(s)) => s,
            Ok(None) => return Err("no CPU panicked (panic_cpu is -1)".to_string()),
            Err(e) => return Err(format!("unknown ({e})")),
        };
        let short = |f: &Frame| match (&f.symbol, &f.module) {
            (Some(s), Some(m)) => format!("{}+{:#x} [{m}]", s.name, s.offset),
            (Some(s), None) => format!("{}+{:#x}", s.name, s.offset),
            (None, _) => f.location(),
        };
        // The task's name needs BTF; without it the line is shorter, never wrong.
        let comm = self
            .cpu_tasks(site.cpu)
            .and_then(|c| {
                let layout = self.task_layout()?;
                self.read_task(&layout, c.curr)
            })
            .ok()
            .filter(|t| site.pid.is_none_or(|p| i64::from(p) == i64::from(t.pid)))
            .map(|t| t.comm);
        Ok(CrashSummary {
            cpu: site.cpu,
            pid: site.pid,
            comm,
            site: site.frame.as_ref().map(short),
            frames: site
                .trace
                .map(|t| t.frames.iter().take(4).map(short).collect())
                .unwrap_or_default(),
        })
    }
}
