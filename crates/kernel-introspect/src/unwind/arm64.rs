//! The arm64 walker: frame records, as the kernel's own unwinder follows them
//! (arch/arm64/kernel/stacktrace.c).
//!
//! arm64 kernels always keep frame pointers: every function that calls another stores a frame
//! record `{ previous x29, x30 }` on its stack and points x29 at it. A walk reads the record at
//! x29, takes its x30 (the return address, pointer-authentication bits stripped) as the caller's
//! pc and its first word as the caller's x29, until the final record `{0, 0}` the kernel puts
//! in every task's `pt_regs` (since 5.x the end of every kernel stack).
//!
//! Exception entries (`el1h_64_irq`, `el1h_64_sync`, `el0t_64_sync`, … in entry.S) save a
//! whole `struct pt_regs` and point x29 at the frame record inside it (`pt_regs.stackframe`,
//! holding the interrupted x29 and pc). So the record found above a frame whose return address
//! is in an entry stub is read as a `pt_regs`: an interrupted kernel context continues the walk
//! with its exact pc; a user context (PSTATE says EL0, or AArch32) ends it.
//!
//! Interrupted contexts (a register note, a `pt_regs`) may stop in a function that has not
//! stored its frame record yet (a leaf, or the prologue, or a `ret`): then x29 still belongs to
//! its caller and x30 holds the return address. The function's first instructions, read from
//! the dump, tell whether `mov x29, sp` has run; when it has not and the instruction before x30
//! is a `bl` to that very function, x30 is the next frame ([`UnwindMethod::LinkRegister`]).
//! A CPU stopped at an exception vector before the entry code saved anything (x29 still a user
//! pointer) ends at the user boundary.
//!
//! IRQ stacks (per-CPU `irq_stack_ptr`) and the overflow stack (per-CPU `overflow_stack`) are
//! named; a walk moves from them to the task stack through `call_on_irq_stack`'s frame record.
//! Records must move up the stack they are on, and a stack left is never entered again; the
//! walk is bounded by [`MAX_FRAMES`] and [`MAX_STACK_SWITCHES`].

use vmcore::{Aarch64Regs, Registers};

use super::{
    Backtrace, CodeArea, Frame, FrameKind, FrameSymbol, MAX_FRAMES, MAX_STACK_SWITCHES, StackKind,
    StackRange, StartRegs, StopReason, UnwindMethod, Unwinder, unreadable,
};
use crate::Kallsyms;
use crate::mem::KernelMemory;

/// Words of `struct user_pt_regs` at the start of `struct pt_regs`: x0–x30, sp, pc, pstate.
const PT_REGS_WORDS: usize = 34;
/// `offsetof(struct pt_regs, stackframe)` (`S_STACKFRAME`) from 5.x to 6.12, used when the
/// dump has no BTF to say it.
pub const DEFAULT_PT_REGS_STACKFRAME: u64 = 296;
/// `OVERFLOW_STACK_SIZE`.
const OVERFLOW_STACK_SIZE: u64 = 4096;
/// Instructions of a function's start searched for `mov x29, sp` (prologues with pointer
/// authentication, BTI, shadow call stack and ftrace's entry NOPs fit well inside).
const PROLOGUE_INSNS: u64 = 16;

/// An arm64 frame-record unwinder over some kernel memory.
#[derive(Debug)]
pub struct FrameRecordUnwinder<'a, M: KernelMemory + ?Sized> {
    mem: &'a M,
    syms: Option<&'a Kallsyms>,
    stacks: Vec<StackRange>,
    /// Bits set in kernel pointers whose pointer-authentication code is stripped.
    kernel_pac_bits: u64,
    /// `offsetof(struct pt_regs, stackframe)`.
    stackframe_offset: u64,
    /// Where module code may be: `[MODULES_VADDR, MODULES_END)` and, since 6.5, the 2 GiB
    /// below the kernel image.
    modules: Vec<(u64, u64)>,
}

/// Strip a pointer-authentication code (and a KASAN tag) from a kernel return address: a
/// kernel pointer (bit 55 set) gets every bit in `kernel_pac_bits` and the top byte set again.
pub fn strip_pac(addr: u64, kernel_pac_bits: u64) -> u64 {
    if addr >> 55 & 1 == 1 {
        addr | kernel_pac_bits | 0xff00_0000_0000_0000
    } else {
        addr
    }
}

/// Whether `pstate` is a user context: AArch32 (nRW, bit 4) or AArch64 EL0t (`M[3:0]` = 0).
pub fn is_user_pstate(pstate: u64) -> bool {
    pstate & 0x10 != 0 || pstate & 0xf == 0
}

/// The exception-entry stubs of entry.S (`el1h_64_irq`, `el0t_64_sync`, …): a frame record
/// above one of their return addresses is the one inside a `pt_regs`.
pub fn is_entry_stub(name: &str) -> bool {
    let Some(rest) = name.strip_prefix("el") else {
        return false;
    };
    let b = rest.as_bytes();
    if b.len() < 5 || !matches!(b[0], b'0' | b'1') || !matches!(b[1], b't' | b'h') {
        return false;
    }
    let Some(tail) = rest[2..]
        .strip_prefix("_64_")
        .or_else(|| rest[2..].strip_prefix("_32_"))
    else {
        return false;
    };
    matches!(tail, "sync" | "irq" | "fiq" | "error")
}

/// Exception entries whose `pt_regs` hold a faulting instruction (a crash site), not an
/// interrupt.
pub fn is_sync_entry(name: &str) -> bool {
    is_entry_stub(name) && name.ends_with("_sync")
}

/// The target of a `bl` at `at`, `None` for any other instruction (an indirect call cannot be
/// checked against the function it called).
pub fn bl_target(at: u64, insn: u32) -> Option<u64> {
    if insn & 0xfc00_0000 != 0x9400_0000 {
        return None;
    }
    // imm26, in words, signed.
    let words = ((insn << 6) as i32 >> 6) as i64;
    Some(at.wrapping_add((words * 4) as u64))
}

/// `add x29, sp, #imm` (`mov x29, sp` is `#0`): the prologue instruction that makes x29 this
/// function's frame record.
fn sets_frame_pointer(insn: u32) -> bool {
    insn & 0xff80_03ff == 0x9100_03fd
}

/// `ret`, `retaa`/`retab`, `autiasp`/`autibsp`: the epilogue has restored the caller's x29.
fn is_return_or_auth(insn: u32) -> bool {
    insn == 0xd65f_03c0 || insn & 0xffff_fbff == 0xd65f_0bff || insn & 0xffff_ffdf == 0xd503_239f
}

impl<'a, M: KernelMemory + ?Sized> FrameRecordUnwinder<'a, M> {
    /// An unwinder over `mem`; `syms` names frames (and finds entry stubs) when given;
    /// `kernel_pac_bits` is what [`strip_pac`] sets (vmcoreinfo's `KERNELPACMASK` joined with
    /// the bits above the VA size).
    pub fn new(mem: &'a M, syms: Option<&'a Kallsyms>, kernel_pac_bits: u64) -> Self {
        FrameRecordUnwinder {
            mem,
            syms,
            stacks: Vec::new(),
            kernel_pac_bits,
            stackframe_offset: DEFAULT_PT_REGS_STACKFRAME,
            modules: Vec::new(),
        }
    }

    /// `offsetof(struct pt_regs, stackframe)` of this kernel (from BTF).
    pub fn set_stackframe_offset(&mut self, offset: u64) {
        self.stackframe_offset = offset;
    }

    /// Add a range where module code may be, to tell module code from garbage.
    pub fn add_module_area(&mut self, start: u64, end: u64) {
        self.modules.push((start, end));
    }

    /// Name these per-CPU stacks (IRQ, overflow) in frames.
    pub fn set_stacks(&mut self, stacks: Vec<StackRange>) {
        self.stacks = stacks;
    }

    /// The per-CPU stacks it names.
    pub fn stacks(&self) -> &[StackRange] {
        &self.stacks
    }

    fn stack_range_of(&self, sp: u64) -> Option<&StackRange> {
        self.stacks.iter().find(|r| sp >= r.start && sp < r.end)
    }

    fn stack_of(&self, sp: u64) -> StackKind {
        if let Some(r) = self.stack_range_of(sp) {
            return r.kind;
        }
        if sp >> 55 & 1 == 1 {
            StackKind::Task
        } else if sp != 0 {
            StackKind::User
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
        }
        if self.modules.iter().any(|&(lo, hi)| pc >= lo && pc < hi) {
            CodeArea::Module
        } else if pc >> 55 & 1 == 0 {
            CodeArea::User
        } else {
            CodeArea::Unknown
        }
    }

    fn symbol_of(&self, pc: u64, call: bool) -> Option<FrameSymbol> {
        let syms = self.syms?;
        let at = if call { pc.checked_sub(4)? } else { pc };
        let s = syms.symbolize(at)?;
        Some(FrameSymbol {
            name: s.symbol.name.to_string(),
            offset: pc - s.symbol.addr,
            size: s.size,
        })
    }

    fn frame(&self, pc: u64, sp: u64, kind: FrameKind, method: UnwindMethod) -> Frame {
        let call = matches!(kind, FrameKind::Call);
        let symbol = match kind {
            FrameKind::User { .. } => None,
            _ => self.symbol_of(pc, call),
        };
        Frame {
            pc,
            sp,
            symbol,
            module: None,
            area: self.area_of(pc),
            kind,
            stack: self.stack_of(sp),
            method,
        }
    }

    fn read_insn(&self, addr: u64) -> Option<u32> {
        self.mem.read_u32(addr).ok()
    }

    /// For an interrupted context at `pc`: x30 when it is the return address of `pc`'s
    /// function because that function has not (or no longer) set x29 to its own record. Only
    /// when the instruction before x30 is a `bl` to that very function: a stale x30 (left by
    /// an earlier call) or one of an interrupted entry path is never taken.
    fn link_register_caller(&self, pc: u64, lr: u64) -> Option<u64> {
        let syms = self.syms?;
        let ret = strip_pac(lr, self.kernel_pac_bits);
        if !matches!(self.area_of(ret), CodeArea::Kernel | CodeArea::Module) {
            return None;
        }
        let func = syms.symbolize(pc)?.symbol.addr;
        let call = ret.checked_sub(4)?;
        if self.read_insn(call).and_then(|i| bl_target(call, i)) != Some(func) {
            return None;
        }
        if self.read_insn(pc).is_some_and(is_return_or_auth) {
            return Some(ret);
        }
        for i in 0..PROLOGUE_INSNS {
            let at = func.checked_add(i * 4)?;
            if at >= pc {
                // `mov x29, sp` (if any) is still to come.
                return Some(ret);
            }
            if self.read_insn(at).is_some_and(sets_frame_pointer) {
                return None;
            }
        }
        // No frame record in the prologue: a leaf.
        Some(ret)
    }

    fn read_pt_regs(&self, addr: u64) -> crate::Result<Aarch64Regs> {
        let b = self.mem.read_vec(addr, PT_REGS_WORDS * 8)?;
        let w = |i: usize| u64::from_le_bytes(b[i * 8..i * 8 + 8].try_into().unwrap_or([0; 8]));
        let mut x = [0u64; 31];
        for (i, r) in x.iter_mut().enumerate() {
            *r = w(i);
        }
        Ok(Aarch64Regs {
            x,
            sp: w(31),
            pc: w(32),
            pstate: w(33),
        })
    }

    /// Push the frame of an interrupted kernel context (and the x30 caller when its function
    /// has no record yet); returns the frame pointer to continue from.
    fn push_interrupted(
        &self,
        frames: &mut Vec<Frame>,
        r: &Aarch64Regs,
        method: UnwindMethod,
    ) -> u64 {
        frames.push(self.frame(
            r.pc,
            r.sp,
            FrameKind::Interrupted {
                regs: Box::new(Registers::Aarch64(*r)),
                partial: false,
            },
            method,
        ));
        if let Some(ret) = self.link_register_caller(r.pc, r.x[30]) {
            frames.push(self.frame(ret, r.sp, FrameKind::Call, UnwindMethod::LinkRegister));
        }
        r.x[29]
    }
}

impl<M: KernelMemory + ?Sized> Unwinder for FrameRecordUnwinder<'_, M> {
    fn unwind(&self, start: &StartRegs) -> Backtrace {
        let mut frames = Vec::new();
        let mut fp = match &start.regs {
            Some(Registers::Aarch64(r)) if is_user_pstate(r.pstate) => {
                frames.push(self.frame(
                    r.pc,
                    r.sp,
                    FrameKind::User {
                        regs: Box::new(Registers::Aarch64(*r)),
                    },
                    UnwindMethod::Start,
                ));
                return Backtrace {
                    frames,
                    stop: StopReason::UserMode,
                };
            }
            Some(Registers::Aarch64(r)) => {
                let fp = self.push_interrupted(&mut frames, r, UnwindMethod::Start);
                // Stopped at an exception vector right after entering from EL0 (the KPTI
                // trampoline, `vectors`): nothing is saved yet and x29 is still the user's.
                if fp != 0 && fp >> 55 & 1 == 0 {
                    return Backtrace {
                        frames,
                        stop: StopReason::UserMode,
                    };
                }
                fp
            }
            _ => {
                frames.push(self.frame(start.ip, start.sp, FrameKind::Call, UnwindMethod::Start));
                start.bp
            }
        };
        let mut switches = 0usize;
        let mut left: Vec<(u64, u64)> = Vec::new();
        let mut prev_fp: Option<u64> = None;
        let stop = loop {
            if frames.len() >= MAX_FRAMES {
                break StopReason::TooManyFrames;
            }
            if fp == 0 {
                break StopReason::EndOfStack;
            }
            if fp & 7 != 0 {
                break StopReason::Corrupt {
                    addr: fp,
                    detail: "frame pointer is not 8-byte aligned".into(),
                };
            }
            // Records move up their stack; a stack that was left is never entered again.
            let here = self.stack_range_of(fp).map(|r| (r.start, r.end));
            if let Some(p) = prev_fp {
                let before = self.stack_range_of(p).map(|r| (r.start, r.end));
                if here == before {
                    if fp <= p {
                        break StopReason::NoProgress { sp: fp, prev_sp: p };
                    }
                } else {
                    if let Some(b) = before {
                        left.push(b);
                    }
                    if here.is_some_and(|h| left.contains(&h)) {
                        break StopReason::NoProgress { sp: fp, prev_sp: p };
                    }
                    switches += 1;
                    if switches > MAX_STACK_SWITCHES {
                        break StopReason::TooManyStackSwitches;
                    }
                }
            }
            prev_fp = Some(fp);
            let entry = frames.last().and_then(|f| {
                matches!(f.kind, FrameKind::Call)
                    .then_some(f.symbol.as_ref())
                    .flatten()
                    .filter(|s| is_entry_stub(&s.name))
            });
            if entry.is_some() {
                // The record is `pt_regs.stackframe`: the whole interrupted context is below.
                let at = fp.wrapping_sub(self.stackframe_offset);
                let r = match self.read_pt_regs(at) {
                    Ok(r) => r,
                    Err(e) => break unreadable(&e, at),
                };
                if is_user_pstate(r.pstate) {
                    frames.push(self.frame(
                        r.pc,
                        r.sp,
                        FrameKind::User {
                            regs: Box::new(Registers::Aarch64(r)),
                        },
                        UnwindMethod::FrameRecord,
                    ));
                    break StopReason::UserMode;
                }
                fp = self.push_interrupted(&mut frames, &r, UnwindMethod::FrameRecord);
                continue;
            }
            let record = match self.mem.read_vec(fp, 16) {
                Ok(b) => b,
                Err(e) => break unreadable(&e, fp),
            };
            let next_fp = u64::from_le_bytes(record[0..8].try_into().unwrap_or([0; 8]));
            let lr = u64::from_le_bytes(record[8..16].try_into().unwrap_or([0; 8]));
            if next_fp == 0 && lr == 0 {
                // The final record of a task's pt_regs.
                break StopReason::EndOfStack;
            }
            let pc = strip_pac(lr, self.kernel_pac_bits);
            if !matches!(self.area_of(pc), CodeArea::Kernel | CodeArea::Module) {
                break StopReason::NotText { pc };
            }
            // Frame records carry no SP: the caller's SP is at least just above this record.
            let above = fp.wrapping_add(16);
            frames.push(self.frame(pc, above, FrameKind::Call, UnwindMethod::FrameRecord));
            fp = next_fp;
        };
        // An interrupted frame can bring its x30 caller along: keep the bound exact.
        if frames.len() > MAX_FRAMES {
            frames.truncate(MAX_FRAMES);
            return Backtrace {
                frames,
                stop: StopReason::TooManyFrames,
            };
        }
        Backtrace { frames, stop }
    }
}

/// The IRQ and overflow stacks of `cpu`: per-CPU `irq_stack_ptr` (a pointer to
/// `IRQ_STACK_SIZE` = `THREAD_SIZE` bytes) and per-CPU `overflow_stack` (an array of
/// `OVERFLOW_STACK_SIZE`).
pub(crate) fn cpu_stacks(
    mem: &(impl KernelMemory + ?Sized),
    syms: &Kallsyms,
    cpu: u32,
    per_cpu_offset: u64,
    thread_size: u64,
) -> Vec<StackRange> {
    let mut out = Vec::new();
    if let Some(a) = syms.lookup_addr("irq_stack_ptr")
        && let Ok(base) = mem.read_u64(a.wrapping_add(per_cpu_offset))
        && base >> 55 & 1 == 1
    {
        out.push(StackRange {
            cpu,
            start: base,
            end: base.wrapping_add(thread_size),
            kind: StackKind::Irq,
        });
    }
    if let Some(a) = syms.lookup_addr("overflow_stack") {
        let start = a.wrapping_add(per_cpu_offset);
        out.push(StackRange {
            cpu,
            start,
            end: start.wrapping_add(OVERFLOW_STACK_SIZE),
            kind: StackKind::Overflow,
        });
    }
    out
}
