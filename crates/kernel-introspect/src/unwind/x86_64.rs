//! The x86_64 walker: the kernel's ORC rules applied to dump memory.
//!
//! Each step looks up the ORC entry of the current address (the address itself after an
//! interrupt, the return address minus one after a call), computes the caller's stack pointer
//! from it, and then reads either a return address just below it (call frames), a whole
//! `struct pt_regs` (interrupt, exception, NMI and syscall entry) or the hardware iret frame.
//! A `pt_regs` whose CS has RPL 3 is the user context the kernel was entered from: it becomes
//! the last frame. Code ORC does not cover is walked as a frame-pointer frame, as the kernel
//! does, and the frames found that way are marked.

use vmcore::{Registers, X86_64Regs};

use super::{
    Backtrace, CodeArea, ExceptionStack, Frame, FrameKind, FrameSymbol, MAX_FRAMES,
    MAX_STACK_SWITCHES, StackKind, StartRegs, StopReason, UnwindMethod, Unwinder, unreadable,
};
use crate::Kallsyms;
use crate::mem::KernelMemory;
use crate::orc::{OrcEntry, OrcReg, OrcTable, OrcType};

/// Words in `struct pt_regs` (r15 … ss), the same order as the register note's first 21.
const PT_REGS_WORDS: usize = 21;
/// Index of `ip` in `struct pt_regs` (the iret frame starts there).
const PT_REGS_IP: usize = 16;

/// Start of the module area when KASLR is off (`__START_KERNEL_map` + 512 MiB); with KASLR it
/// starts at +1 GiB, which this range includes.
const MODULES_VADDR_MIN: u64 = 0xffff_ffff_a000_0000;
/// `MODULES_END`.
const MODULES_END: u64 = 0xffff_ffff_ff00_0000;
/// Addresses below this are user space (47-bit and 56-bit user halves both end below it).
const USER_END: u64 = 0x0100_0000_0000_0000;

/// Words above SP a stack scan looks at (4 KiB: the largest frame objtool-less code has).
const SCAN_WORDS: usize = 512;

/// Labels inside x86_64 entry and startup code (`SYM_INNER_LABEL`): they have no size in the
/// kernel's ELF symbol table, so debuggers (drgn, gdb) name their code after the enclosing
/// symbol; kallsyms keeps no sizes, so they are listed here.
const INNER_LABELS: &[&str] = &[
    "common_startup_64",
    "secondary_startup_64_no_verify",
    "entry_SYSCALL_64_safe_stack",
    "entry_SYSCALL_64_after_hwframe",
    "entry_SYSRETQ_unsafe_stack",
    "entry_SYSRETQ_end",
    "swapgs_restore_regs_and_return_to_usermode",
    "restore_regs_and_return_to_kernel",
    "native_irq_return_iret",
    "asm_load_gs_index_gs_change",
    "entry_SYSENTER_compat_after_hwframe",
    "entry_SYSCALL_compat_safe_stack",
    "entry_SYSCALL_compat_after_hwframe",
    "entry_SYSRETL_compat_unsafe_stack",
    "entry_SYSRETL_compat_end",
];

/// A per-CPU stack the walker can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StackRange {
    /// The CPU it belongs to.
    pub cpu: u32,
    /// Lowest address.
    pub start: u64,
    /// One past the highest address.
    pub end: u64,
    /// Which stack.
    pub kind: StackKind,
}

/// The x86_64 ORC unwinder over some kernel memory.
#[derive(Debug)]
pub struct OrcUnwinder<'a, M: KernelMemory + ?Sized> {
    mem: &'a M,
    syms: Option<&'a Kallsyms>,
    tables: Vec<OrcTable>,
    stacks: Vec<StackRange>,
}

/// The register state while walking.
#[derive(Debug, Clone)]
struct State {
    ip: u64,
    sp: u64,
    bp: u64,
    /// The last full `pt_regs` (or register note) still describing this frame's registers.
    regs: Option<[u64; PT_REGS_WORDS]>,
    /// `ip` is exact (interrupt, note), not a return address.
    signal: bool,
}

impl<'a, M: KernelMemory + ?Sized> OrcUnwinder<'a, M> {
    /// An unwinder over `mem` with vmlinux's ORC `table`; `syms` names frames when given.
    pub fn new(mem: &'a M, table: OrcTable, syms: Option<&'a Kallsyms>) -> Self {
        OrcUnwinder {
            mem,
            syms,
            tables: vec![table],
            stacks: Vec::new(),
        }
    }

    /// Add an ORC table covering more code (a module's `arch.orc_unwind_ip` / `orc_unwind`).
    pub fn add_table(&mut self, table: OrcTable) {
        self.tables.push(table);
    }

    /// Name these per-CPU stacks (IRQ, exception) in frames.
    pub fn set_stacks(&mut self, stacks: Vec<StackRange>) {
        self.stacks = stacks;
    }

    /// The per-CPU stacks it names.
    pub fn stacks(&self) -> &[StackRange] {
        &self.stacks
    }

    fn stack_of(&self, sp: u64) -> StackKind {
        if let Some(r) = self.stacks.iter().find(|r| sp >= r.start && sp < r.end) {
            return r.kind;
        }
        if sp < USER_END {
            StackKind::User
        } else if sp >= 0xffff_8000_0000_0000 {
            StackKind::Task
        } else {
            StackKind::Unknown
        }
    }

    fn area_of(&self, pc: u64) -> CodeArea {
        if let Some(s) = self.syms {
            let (lo, hi) = s.kernel_span();
            if pc >= lo && pc < hi {
                return CodeArea::Kernel;
            }
        } else if self.tables.first().is_some_and(|t| t.covers(pc)) {
            return CodeArea::Kernel;
        }
        if (MODULES_VADDR_MIN..MODULES_END).contains(&pc) {
            CodeArea::Module
        } else if pc < USER_END {
            CodeArea::User
        } else {
            CodeArea::Unknown
        }
    }

    fn find_orc(&self, ip: u64) -> crate::Result<Option<OrcEntry>> {
        for t in &self.tables {
            if t.covers(ip) {
                return t.find(self.mem, ip);
            }
        }
        Ok(None)
    }

    fn symbol_of(&self, pc: u64, call: bool) -> Option<FrameSymbol> {
        let syms = self.syms?;
        let at = if call { pc.checked_sub(1)? } else { pc };
        let mut s = syms.symbolize(at)?;
        // An inner label names no function of its own: attribute its code to the enclosing
        // symbol (at most a few nested labels). The enclosing symbol then extends to where the
        // label's code ends.
        let end = s.size.map(|z| s.symbol.addr.saturating_add(z));
        for _ in 0..4 {
            if !INNER_LABELS.contains(&s.symbol.name) {
                break;
            }
            match s.symbol.addr.checked_sub(1).and_then(|a| syms.symbolize(a)) {
                Some(outer) => s = outer,
                None => break,
            }
        }
        Some(FrameSymbol {
            name: s.symbol.name.to_string(),
            offset: pc - s.symbol.addr,
            size: end.map(|e| e.saturating_sub(s.symbol.addr)),
        })
    }

    /// For code without unwind information: the first stack word above `st.sp` (within
    /// [`SCAN_WORDS`]) that is a return address right after a `call rel32` into the function
    /// containing `lookup` (or its `__pfx_` padding, which call-depth tracking calls). The
    /// frame found this way is the caller; BP is kept (the caller's ORC entry says where it is).
    fn scan_for_caller(&self, st: &State, lookup: u64) -> Option<State> {
        let syms = self.syms?;
        let func = syms.symbolize(lookup)?.symbol.addr;
        let kernel = self.tables.first()?;
        let words = self.mem.read_vec(st.sp, SCAN_WORDS * 8).ok().or_else(|| {
            // The stack may end before SCAN_WORDS: read up to the page end.
            let n = ((st.sp | 0xfff) + 1 - st.sp) as usize;
            self.mem.read_vec(st.sp, n).ok()
        })?;
        for (i, w) in words.chunks_exact(8).enumerate() {
            let ret = u64::from_le_bytes(w.try_into().unwrap_or([0; 8]));
            if !kernel.covers(ret) {
                continue;
            }
            let mut call = [0u8; 5];
            if self.mem.read(ret.wrapping_sub(5), &mut call).is_err() || call[0] != 0xe8 {
                continue;
            }
            let rel = i32::from_le_bytes([call[1], call[2], call[3], call[4]]);
            let target = ret.wrapping_add(rel as i64 as u64);
            if target <= func && func - target <= 16 {
                return Some(State {
                    ip: ret,
                    sp: st.sp + 8 * i as u64 + 8,
                    bp: st.bp,
                    regs: None,
                    signal: false,
                });
            }
        }
        None
    }

    fn frame(&self, pc: u64, sp: u64, kind: FrameKind, method: UnwindMethod) -> Frame {
        let call = matches!(kind, FrameKind::Call);
        let area = self.area_of(pc);
        let symbol = if area == CodeArea::Kernel {
            self.symbol_of(pc, call)
        } else {
            None
        };
        let stack = if matches!(kind, FrameKind::User { .. }) {
            StackKind::User
        } else {
            self.stack_of(sp)
        };
        Frame {
            pc,
            sp,
            symbol,
            module: None,
            area,
            kind,
            stack,
            method,
        }
    }

    fn is_fork_return(&self, ip: u64) -> bool {
        // A new task's saved return address is the start of ret_from_fork(_asm): no call
        // precedes it, so it is looked up as is (the kernel's unwind_start does the same).
        self.syms.is_some_and(|s| {
            ["ret_from_fork_asm", "ret_from_fork"]
                .iter()
                .any(|n| s.lookup_addr(n) == Some(ip))
        })
    }

    fn read(&self, addr: u64) -> std::result::Result<u64, StopReason> {
        self.mem.read_u64(addr).map_err(|e| unreadable(&e, addr))
    }

    fn read_pt_regs(&self, at: u64) -> std::result::Result<[u64; PT_REGS_WORDS], StopReason> {
        let mut raw = [0u8; PT_REGS_WORDS * 8];
        self.mem
            .read(at, &mut raw)
            .map_err(|e| unreadable(&e, at))?;
        let mut w = [0u64; PT_REGS_WORDS];
        for (i, c) in raw.chunks_exact(8).enumerate() {
            w[i] = u64::from_le_bytes(c.try_into().unwrap_or([0; 8]));
        }
        Ok(w)
    }

    /// One step from `st` (whose frame has been recorded): the next frame, or why there is none.
    fn step(
        &self,
        st: &State,
    ) -> std::result::Result<(State, FrameKind, UnwindMethod), StopReason> {
        let lookup = if st.signal {
            st.ip
        } else {
            st.ip.wrapping_sub(1)
        };
        let (orc, method) = match self.find_orc(lookup) {
            Ok(Some(e)) => (e, UnwindMethod::Orc),
            Ok(None) => {
                if matches!(self.area_of(lookup), CodeArea::Kernel | CodeArea::Module) {
                    (OrcEntry::FRAME_POINTER, UnwindMethod::FramePointer)
                } else {
                    return Err(StopReason::NotText { pc: st.ip });
                }
            }
            Err(e) => return Err(unreadable(&e, lookup)),
        };
        match orc.kind {
            OrcType::Undefined => {
                return match self.scan_for_caller(st, lookup) {
                    Some(next) => Ok((next, FrameKind::Call, UnwindMethod::StackScan)),
                    None => Err(StopReason::NoUnwindInfo { pc: lookup }),
                };
            }
            OrcType::EndOfStack => return Err(StopReason::EndOfStack),
            _ => {}
        }
        let reg = |i: usize, name: &str| {
            st.regs.map(|r| r[i]).ok_or_else(|| StopReason::Corrupt {
                addr: lookup,
                detail: format!(
                    "ORC bases the previous SP on {name}, which no saved registers give here"
                ),
            })
        };
        let off = orc.sp_offset as i64 as u64;
        let prev_sp = match orc.sp_reg {
            OrcReg::Sp => st.sp.wrapping_add(off),
            OrcReg::Bp => st.bp.wrapping_add(off),
            OrcReg::SpIndirect => self.read(st.sp)?.wrapping_add(off),
            OrcReg::BpIndirect => self.read(st.bp.wrapping_add(off))?,
            OrcReg::R10 => reg(7, "R10")?,
            OrcReg::R13 => reg(2, "R13")?,
            OrcReg::Di => reg(14, "RDI")?,
            OrcReg::Dx => reg(12, "RDX")?,
            OrcReg::Ax => reg(10, "RAX")?,
            other => {
                return Err(StopReason::Corrupt {
                    addr: lookup,
                    detail: format!("ORC entry has SP base {other:?}"),
                });
            }
        };
        let switching = matches!(orc.sp_reg, OrcReg::SpIndirect | OrcReg::BpIndirect)
            || matches!(orc.kind, OrcType::Regs | OrcType::RegsPartial);
        let (mut next, kind) = match orc.kind {
            OrcType::Call => {
                let ret_at = prev_sp.wrapping_sub(8);
                let ip = self.read(ret_at)?;
                (
                    State {
                        ip,
                        sp: prev_sp,
                        bp: st.bp,
                        regs: None,
                        signal: orc.signal,
                    },
                    FrameKind::Call,
                )
            }
            OrcType::Regs => {
                let w = self.read_pt_regs(prev_sp)?;
                let regs = Registers::X86_64(regs_of(&w));
                let user = w[17] & 3 == 3;
                let kind = if user {
                    FrameKind::User {
                        regs: Box::new(regs),
                    }
                } else {
                    FrameKind::Interrupted {
                        regs: Box::new(regs),
                        partial: false,
                    }
                };
                (
                    State {
                        ip: w[PT_REGS_IP],
                        sp: w[19],
                        bp: st.bp,
                        regs: Some(w),
                        signal: orc.signal,
                    },
                    kind,
                )
            }
            OrcType::RegsPartial => {
                // prev_sp points at the iret frame: ip, cs, flags, sp, ss.
                let mut w = [0u64; PT_REGS_WORDS];
                for (i, slot) in w[PT_REGS_IP..].iter_mut().enumerate() {
                    *slot = self.read(prev_sp.wrapping_add(8 * i as u64))?;
                }
                let regs = Registers::X86_64(regs_of(&w));
                let user = w[17] & 3 == 3;
                let kind = if user {
                    FrameKind::User {
                        regs: Box::new(regs),
                    }
                } else {
                    FrameKind::Interrupted {
                        regs: Box::new(regs),
                        partial: true,
                    }
                };
                // Registers not in the iret frame keep their values from the last full set.
                (
                    State {
                        ip: w[PT_REGS_IP],
                        sp: w[19],
                        bp: st.bp,
                        regs: st.regs,
                        signal: orc.signal,
                    },
                    kind,
                )
            }
            // Handled above; kept as a stop rather than a panic.
            OrcType::Undefined | OrcType::EndOfStack => {
                return Err(StopReason::NoUnwindInfo { pc: lookup });
            }
        };
        next.bp = match orc.bp_reg {
            // Unchanged in this frame, unless a full pt_regs says what it was.
            OrcReg::Undefined => match (orc.kind, next.regs) {
                (OrcType::Regs, Some(r)) => r[4],
                _ => st.bp,
            },
            OrcReg::PrevSp => self.read(prev_sp.wrapping_add(orc.bp_offset as i64 as u64))?,
            OrcReg::Bp => self.read(st.bp.wrapping_add(orc.bp_offset as i64 as u64))?,
            other => {
                return Err(StopReason::Corrupt {
                    addr: lookup,
                    detail: format!("ORC entry has BP base {other:?}"),
                });
            }
        };
        if !switching && next.sp <= st.sp {
            return Err(StopReason::NoProgress {
                sp: next.sp,
                prev_sp: st.sp,
            });
        }
        Ok((next, kind, method))
    }
}

fn regs_of(w: &[u64; PT_REGS_WORDS]) -> X86_64Regs {
    X86_64Regs::from_pt_regs(w)
}

fn words_of(r: &X86_64Regs) -> [u64; PT_REGS_WORDS] {
    [
        r.r15, r.r14, r.r13, r.r12, r.rbp, r.rbx, r.r11, r.r10, r.r9, r.r8, r.rax, r.rcx, r.rdx,
        r.rsi, r.rdi, r.orig_rax, r.rip, r.cs, r.eflags, r.rsp, r.ss,
    ]
}

impl<M: KernelMemory + ?Sized> Unwinder for OrcUnwinder<'_, M> {
    fn unwind(&self, start: &StartRegs) -> Backtrace {
        let full = match &start.regs {
            Some(Registers::X86_64(r)) => Some(words_of(r)),
            _ => None,
        };
        let mut st = State {
            ip: start.ip,
            sp: start.sp,
            bp: start.bp,
            regs: full,
            signal: start.regs.is_some() || self.is_fork_return(start.ip),
        };
        let first_kind = match &start.regs {
            Some(r) => {
                let user = matches!(r, Registers::X86_64(x) if x.cs & 3 == 3)
                    || (start.ip < USER_END && start.ip != 0);
                if user {
                    FrameKind::User { regs: Box::new(*r) }
                } else {
                    FrameKind::Interrupted {
                        regs: Box::new(*r),
                        partial: false,
                    }
                }
            }
            None => FrameKind::Call,
        };
        let mut frames = vec![self.frame(st.ip, st.sp, first_kind, UnwindMethod::Start)];
        let mut switches = 0usize;
        let stop = loop {
            let last = &frames[frames.len() - 1];
            if matches!(last.kind, FrameKind::User { .. }) {
                break StopReason::UserMode;
            }
            if frames.len() >= MAX_FRAMES {
                break StopReason::TooManyFrames;
            }
            match self.step(&st) {
                Ok((next, kind, method)) => {
                    if self.stack_of(next.sp) != self.stack_of(st.sp) || next.sp <= st.sp {
                        switches += 1;
                        if switches > MAX_STACK_SWITCHES {
                            break StopReason::TooManyStackSwitches;
                        }
                    }
                    frames.push(self.frame(next.ip, next.sp, kind, method));
                    st = next;
                }
                Err(stop) => break stop,
            }
        };
        Backtrace { frames, stop }
    }
}

/// The IRQ and exception stacks of `cpu`, from its per-CPU data: `hardirq_stack_ptr` (a
/// per-CPU variable until 6.1, a `pcpu_hot` member since: found there as the one pointer 8 bytes
/// below a page boundary) and `cea_exception_stacks` (a per-CPU pointer to the CPU entry area's
/// IST stacks: a 4 KiB guard page, then an 8 KiB stack, for each of [`ExceptionStack::ALL`]).
pub(crate) fn cpu_stacks(
    mem: &(impl KernelMemory + ?Sized),
    syms: &Kallsyms,
    cpu: u32,
    per_cpu_offset: u64,
) -> Vec<StackRange> {
    const IRQ_STACK_SIZE: u64 = 16 * 1024;
    const GUARD: u64 = 4096;
    const ESTACK: u64 = 8192;
    let mut out = Vec::new();
    let irq_top = if let Some(a) = syms.lookup_addr("hardirq_stack_ptr") {
        mem.read_u64(a.wrapping_add(per_cpu_offset)).ok()
    } else if let Some(a) = syms.lookup_addr("pcpu_hot") {
        mem.read_vec(a.wrapping_add(per_cpu_offset), 64)
            .ok()
            .and_then(|b| {
                b.chunks_exact(8)
                    .map(|c| u64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
                    .find(|&v| v >= 0xffff_8000_0000_0000 && (v.wrapping_add(8)) % 4096 == 0)
            })
    } else {
        None
    };
    if let Some(top) = irq_top {
        let end = top.wrapping_add(8);
        out.push(StackRange {
            cpu,
            start: end.wrapping_sub(IRQ_STACK_SIZE),
            end,
            kind: StackKind::Irq,
        });
    }
    if let Some(a) = syms.lookup_addr("cea_exception_stacks") {
        if let Ok(base) = mem.read_u64(a.wrapping_add(per_cpu_offset)) {
            if base >= 0xffff_8000_0000_0000 {
                for (i, e) in ExceptionStack::ALL.iter().enumerate() {
                    let start = base.wrapping_add(i as u64 * (GUARD + ESTACK) + GUARD);
                    out.push(StackRange {
                        cpu,
                        start,
                        end: start.wrapping_add(ESTACK),
                        kind: StackKind::Exception(*e),
                    });
                }
            }
        }
    }
    out
}
