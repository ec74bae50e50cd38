//! Stack unwinding: one [`Unwinder`] trait, one walker per architecture (x86_64 ORC,
//! [`arm64`] frame records), and the backtrace model they share.
//!
//! A walk never fails half-way with an error: it returns the frames it found and a
//! [`StopReason`] saying why it ended — the bottom of the stack, the user-mode boundary, or a
//! problem (a stack page missing from the dump, corrupt unwind data, a stack that does not
//! progress). Every walk is bounded by [`MAX_FRAMES`] and [`MAX_STACK_SWITCHES`].

pub mod arm64;
pub mod x86_64;

use vmcore::Registers;

pub use arm64::FrameRecordUnwinder;
pub use x86_64::{OrcUnwinder, StackRange};

/// More frames than any real kernel stack holds (16 KiB task stack plus IRQ and exception
/// stacks); a walk that reaches it stops with [`StopReason::TooManyFrames`].
pub const MAX_FRAMES: usize = 512;

/// Stack switches (task → IRQ → exception → …, or back) allowed in one walk; real nesting is at
/// most a handful.
pub const MAX_STACK_SWITCHES: usize = 16;

/// Where a walk starts.
///
/// Without `regs`, `ip` is taken as a return address (a sleeping task's saved context: the
/// unwinder looks up `ip - 1`, as the kernel does for call frames) and frame 0 is a call frame.
/// With `regs` (a register note, a `pt_regs`), `ip` is the exact interrupted instruction and
/// frame 0 is marked interrupted, carrying them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StartRegs {
    /// Instruction pointer.
    pub ip: u64,
    /// Stack pointer.
    pub sp: u64,
    /// Frame pointer (RBP on x86_64, x29 on arm64).
    pub bp: u64,
    /// The full register set, when the start is an interrupted context.
    pub regs: Option<Registers>,
    /// The CPU the context ran on, when known: lets the walker name its IRQ and exception
    /// stacks.
    pub cpu: Option<u32>,
}

impl StartRegs {
    /// A start from a full register set (`ip`, `sp`, `bp` taken from it).
    pub fn from_regs(regs: Registers, cpu: Option<u32>) -> Self {
        let bp = match &regs {
            Registers::X86_64(r) => r.rbp,
            Registers::Aarch64(r) => r.x[29],
            Registers::X86(r) => u64::from(r.0[5]),
            // Their back chain starts at the stack pointer (no unwinder walks them here).
            Registers::Ppc64(_) | Registers::S390x(_) => regs.sp(),
        };
        StartRegs {
            ip: regs.pc(),
            sp: regs.sp(),
            bp,
            regs: Some(regs),
            cpu,
        }
    }
}

/// A symbol a frame's address resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameSymbol {
    /// The symbol name.
    pub name: String,
    /// `pc - symbol address` (for call frames the return address's offset, as drgn and the
    /// kernel print it).
    pub offset: u64,
    /// Distance to the next symbol, when known.
    pub size: Option<u64>,
}

/// What kind of code a frame's address is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeArea {
    /// The kernel image (kallsyms resolves it).
    Kernel,
    /// The module area: named once module symbols are read (`Frame::module`), otherwise shown as
    /// `[module text]`.
    Module,
    /// User space (below the canonical hole).
    User,
    /// Anything else (the direct map, vmalloc, a corrupt value).
    Unknown,
}

/// How a frame's registers were found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameKind {
    /// Reached by returning from a call: `pc` is a return address.
    Call,
    /// Reached through saved registers: the register note (frame 0) or a `pt_regs` on the stack
    /// (interrupt, exception, NMI, syscall entry). `partial`: only the hardware iret frame
    /// (ip, cs, flags, sp, ss) was saved; the other registers are zero.
    Interrupted {
        /// The registers.
        regs: Box<Registers>,
        /// Only the iret frame is real.
        partial: bool,
    },
    /// The user-mode context a kernel entry saved: the end of the kernel trace.
    User {
        /// The user registers.
        regs: Box<Registers>,
    },
}

/// Which stack a frame's SP is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StackKind {
    /// A task's kernel stack (anything in kernel memory not identified as another stack).
    Task,
    /// The CPU's hard-IRQ stack.
    Irq,
    /// One of the CPU's exception (IST) stacks.
    Exception(ExceptionStack),
    /// The CPU's entry trampoline stack.
    Entry,
    /// arm64: the CPU's overflow stack (a kernel stack overflow is handled there).
    Overflow,
    /// User space.
    User,
    /// Not a kernel address.
    Unknown,
}

/// The x86_64 IST exception stacks, in `struct cea_exception_stacks` order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExceptionStack {
    /// Double fault.
    Df,
    /// Non-maskable interrupt.
    Nmi,
    /// Debug.
    Db,
    /// Machine check.
    Mce,
    /// SEV VMM communication.
    Vc,
    /// SEV VMM communication, nested.
    Vc2,
}

impl ExceptionStack {
    /// All, in memory order.
    pub const ALL: [ExceptionStack; 6] = [
        ExceptionStack::Df,
        ExceptionStack::Nmi,
        ExceptionStack::Db,
        ExceptionStack::Mce,
        ExceptionStack::Vc,
        ExceptionStack::Vc2,
    ];

    /// Short name (`NMI`, `#DF`, …).
    pub fn name(self) -> &'static str {
        match self {
            ExceptionStack::Df => "#DF",
            ExceptionStack::Nmi => "NMI",
            ExceptionStack::Db => "#DB",
            ExceptionStack::Mce => "#MC",
            ExceptionStack::Vc => "#VC",
            ExceptionStack::Vc2 => "#VC2",
        }
    }
}

impl StackKind {
    /// A short name for reports.
    pub fn name(self) -> &'static str {
        match self {
            StackKind::Task => "task",
            StackKind::Irq => "irq",
            StackKind::Exception(e) => e.name(),
            StackKind::Entry => "entry",
            StackKind::Overflow => "overflow",
            StackKind::User => "user",
            StackKind::Unknown => "unknown",
        }
    }
}

/// One frame of a backtrace, innermost first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The instruction pointer: the interrupted instruction (interrupted and user frames) or
    /// the return address (call frames).
    pub pc: u64,
    /// The stack pointer in this frame.
    pub sp: u64,
    /// The kernel symbol of `pc` (looked up at `pc - 1` for call frames, so a call that is a
    /// function's last instruction still names that function; `offset` is from `pc`).
    pub symbol: Option<FrameSymbol>,
    /// The module the code belongs to, once module symbols are known.
    pub module: Option<String>,
    /// What kind of code `pc` is in.
    pub area: CodeArea,
    /// How this frame was reached.
    pub kind: FrameKind,
    /// The stack `sp` is on.
    pub stack: StackKind,
    /// How the step *to* this frame found it (anything but ORC is a guess, less reliable).
    pub method: UnwindMethod,
}

/// How a frame was found from the one below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnwindMethod {
    /// The start of the walk (registers given).
    Start,
    /// The unwind tables (ORC) of the code below.
    Orc,
    /// No ORC entry covered the code below (module or generated code): the kernel's fallback,
    /// a frame-pointer layout, was assumed.
    FramePointer,
    /// The code below has no unwind information (objtool skipped it, e.g. `__crash_kexec`,
    /// which is `STACK_FRAME_NON_STANDARD`): the stack was scanned for the first return address
    /// whose call instruction targets that function.
    StackScan,
    /// arm64: the frame record at the frame pointer (`{x29, x30}`), the kernel's own method.
    FrameRecord,
    /// arm64: the link register of an interrupted function that had not stored its frame
    /// record (a leaf, a prologue, an epilogue), validated as the address after a call.
    LinkRegister,
}

impl UnwindMethod {
    /// The architecture's own method (the start, ORC, arm64 frame records): reports mark only
    /// the other frames, which were found by a fallback.
    pub fn is_primary(self) -> bool {
        matches!(
            self,
            UnwindMethod::Start | UnwindMethod::Orc | UnwindMethod::FrameRecord
        )
    }

    /// A short name for reports.
    pub fn name(self) -> &'static str {
        match self {
            UnwindMethod::Start => "start",
            UnwindMethod::Orc => "orc",
            UnwindMethod::FramePointer => "frame-pointer",
            UnwindMethod::StackScan => "stack-scan",
            UnwindMethod::FrameRecord => "frame-record",
            UnwindMethod::LinkRegister => "link-register",
        }
    }
}

impl Frame {
    /// Whether the frame's registers came from saved registers rather than a call (drgn's
    /// `interrupted`).
    pub fn interrupted(&self) -> bool {
        !matches!(self.kind, FrameKind::Call)
    }

    /// `function+0x1a/0x40`, `function+0x2a/0x30 [module]`, `[module text]` or `?` (as crash and
    /// the kernel print).
    pub fn location(&self) -> String {
        match (&self.symbol, self.area) {
            (Some(s), _) => {
                let at = match s.size {
                    Some(size) => format!("{}+{:#x}/{:#x}", s.name, s.offset, size),
                    None => format!("{}+{:#x}", s.name, s.offset),
                };
                // As the kernel's %pS: a module's function carries the module's name.
                match &self.module {
                    Some(m) => format!("{at} [{m}]"),
                    None => at,
                }
            }
            (None, CodeArea::Module) => match &self.module {
                Some(m) => format!("[{m}]"),
                None => "[module text]".to_string(),
            },
            (None, CodeArea::User) => "(user space)".to_string(),
            (None, _) => "?".to_string(),
        }
    }
}

/// Why a walk ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopReason {
    /// The unwind data marks the bottom of the stack (kernel thread entry, `secondary_startup_64`).
    EndOfStack,
    /// A saved context of user mode ended the kernel trace (its frame is the last one).
    UserMode,
    /// The unwind data has no information for this code (an ORC gap).
    NoUnwindInfo {
        /// The address looked up.
        pc: u64,
    },
    /// A return address that is neither kernel nor module code.
    NotText {
        /// The address.
        pc: u64,
    },
    /// Stack or unwind-table memory is not in the dump.
    Unreadable {
        /// The kernel virtual address.
        addr: u64,
        /// Why (e.g. "stack page excluded from the dump").
        detail: String,
    },
    /// Unwind data no kernel writes.
    Corrupt {
        /// The address of the bad data.
        addr: u64,
        /// What was wrong.
        detail: String,
    },
    /// The stack pointer went backwards on the same stack: a loop in corrupt data.
    NoProgress {
        /// The new SP.
        sp: u64,
        /// The SP it should be above.
        prev_sp: u64,
    },
    /// [`MAX_FRAMES`] frames were found.
    TooManyFrames,
    /// More than [`MAX_STACK_SWITCHES`] stack switches.
    TooManyStackSwitches,
}

impl StopReason {
    /// Whether the walk ended where a stack normally ends.
    pub fn is_complete(&self) -> bool {
        matches!(self, StopReason::EndOfStack | StopReason::UserMode)
    }
}

impl std::fmt::Display for StopReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StopReason::EndOfStack => write!(f, "end of stack"),
            StopReason::UserMode => write!(f, "entered from user mode"),
            StopReason::NoUnwindInfo { pc } => write!(f, "no unwind information for {pc:#x}"),
            StopReason::NotText { pc } => write!(f, "return address {pc:#x} is not kernel code"),
            StopReason::Unreadable { addr, detail } => write!(f, "cannot read {addr:#x}: {detail}"),
            StopReason::Corrupt { addr, detail } => {
                write!(f, "corrupt unwind data at {addr:#x}: {detail}")
            }
            StopReason::NoProgress { sp, prev_sp } => write!(
                f,
                "stack pointer {sp:#x} is not above the previous frame's {prev_sp:#x}: corrupt stack"
            ),
            StopReason::TooManyFrames => write!(f, "stopped after {MAX_FRAMES} frames"),
            StopReason::TooManyStackSwitches => {
                write!(f, "stopped after {MAX_STACK_SWITCHES} stack switches")
            }
        }
    }
}

/// A walked stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backtrace {
    /// Innermost first.
    pub frames: Vec<Frame>,
    /// Why the walk ended.
    pub stop: StopReason,
}

/// A stack walker for one architecture.
pub trait Unwinder {
    /// Walk from `start`. Never fails: problems end the walk with a [`StopReason`].
    fn unwind(&self, start: &StartRegs) -> Backtrace;
}

/// A problem reading memory, as a stop reason (excluded pages are named as such).
pub(crate) fn unreadable(e: &crate::Error, fallback: u64) -> StopReason {
    let addr = e.addr().unwrap_or(fallback);
    let detail = match e {
        crate::Error::Read { cause, .. } => match cause.as_ref() {
            vmcore::Error::PageExcluded { .. } => {
                "stack page excluded from the dump (makedumpfile dump level)".to_string()
            }
            other => other.to_string(),
        },
        crate::Error::Corrupt { .. } => {
            return StopReason::Corrupt {
                addr,
                detail: e.to_string(),
            };
        }
        other => other.to_string(),
    };
    StopReason::Unreadable { addr, detail }
}

/// The walker of a dump's architecture: x86_64 ORC or arm64 frame records.
#[derive(Debug)]
pub enum KernelUnwinder<'a, M: crate::mem::KernelMemory + ?Sized> {
    /// x86_64: the in-memory ORC tables.
    Orc(OrcUnwinder<'a, M>),
    /// arm64: frame records and exception `pt_regs`.
    FrameRecord(FrameRecordUnwinder<'a, M>),
}

impl<M: crate::mem::KernelMemory + ?Sized> KernelUnwinder<'_, M> {
    /// The per-CPU stacks it names (IRQ, exception, overflow).
    pub fn stacks(&self) -> &[StackRange] {
        match self {
            KernelUnwinder::Orc(u) => u.stacks(),
            KernelUnwinder::FrameRecord(u) => u.stacks(),
        }
    }
}

impl<M: crate::mem::KernelMemory + ?Sized> Unwinder for KernelUnwinder<'_, M> {
    fn unwind(&self, start: &StartRegs) -> Backtrace {
        match self {
            KernelUnwinder::Orc(u) => u.unwind(start),
            KernelUnwinder::FrameRecord(u) => u.unwind(start),
        }
    }
}
