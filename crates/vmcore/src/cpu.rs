//! Per-CPU context: `NT_PRSTATUS` register notes and QEMU's CPU-state notes.
//!
//! A register note whose descriptor is all zero (a CPU that never ran `crash_save_cpu`, or a
//! vCPU QEMU never started) is kept as a [`CpuContext`] with `regs: None`: "no registers", not
//! "registers that are all zero" (rust-minidump's context-validity idea).

use kdump_types::{ByteOrder, Bytes, ReadError};

use crate::notes::{NAME_CORE, NAME_QEMU, Note};

/// The CPU architecture of a dump (`e_machine`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Machine {
    /// x86_64.
    X86_64,
    /// 32-bit x86.
    X86,
    /// ARM64.
    Aarch64,
    /// Anything else, by `e_machine`.
    Other(u16),
}

impl Machine {
    /// From `e_machine`.
    pub fn from_e_machine(m: u16) -> Self {
        match m {
            kdump_types::elf::EM_X86_64 => Machine::X86_64,
            kdump_types::elf::EM_386 => Machine::X86,
            kdump_types::elf::EM_AARCH64 => Machine::Aarch64,
            o => Machine::Other(o),
        }
    }
    /// From the `machine` field of a utsname (`"x86_64"`, `"aarch64"`, …).
    pub fn from_uts(s: &str) -> Self {
        match s {
            "x86_64" => Machine::X86_64,
            "i386" | "i486" | "i586" | "i686" => Machine::X86,
            "aarch64" | "arm64" => Machine::Aarch64,
            // ELF e_machine numbers, so a kdump-compressed dump names its machine as an ELF
            // dump of the same machine does.
            m if m == "arm" || m.starts_with("armv") => Machine::Other(40),
            "ppc" => Machine::Other(20),
            "ppc64" | "ppc64le" => Machine::Other(21),
            "s390" | "s390x" => Machine::Other(22),
            "mips" | "mips64" => Machine::Other(8),
            "riscv64" | "riscv32" => Machine::Other(243),
            _ => Machine::Other(0),
        }
    }
    /// Short name.
    pub fn name(&self) -> String {
        match self {
            Machine::X86_64 => "x86_64".into(),
            Machine::X86 => "i386".into(),
            Machine::Aarch64 => "aarch64".into(),
            Machine::Other(40) => "arm".into(),
            Machine::Other(20) => "ppc".into(),
            Machine::Other(21) => "ppc64".into(),
            Machine::Other(22) => "s390".into(),
            Machine::Other(8) => "mips".into(),
            Machine::Other(243) => "riscv".into(),
            Machine::Other(m) => format!("e_machine {m}"),
        }
    }
}

/// x86_64 `user_regs_struct`, in kernel order (27 × u64).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[allow(missing_docs)]
pub struct X86_64Regs {
    pub r15: u64,
    pub r14: u64,
    pub r13: u64,
    pub r12: u64,
    pub rbp: u64,
    pub rbx: u64,
    pub r11: u64,
    pub r10: u64,
    pub r9: u64,
    pub r8: u64,
    pub rax: u64,
    pub rcx: u64,
    pub rdx: u64,
    pub rsi: u64,
    pub rdi: u64,
    pub orig_rax: u64,
    pub rip: u64,
    pub cs: u64,
    pub eflags: u64,
    pub rsp: u64,
    pub ss: u64,
    pub fs_base: u64,
    pub gs_base: u64,
    pub ds: u64,
    pub es: u64,
    pub fs: u64,
    pub gs: u64,
}

/// Names of [`X86_64Regs`] fields in kernel order.
pub const X86_64_REG_NAMES: [&str; 27] = [
    "r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10", "r9", "r8", "rax", "rcx", "rdx", "rsi",
    "rdi", "orig_rax", "rip", "cs", "eflags", "rsp", "ss", "fs_base", "gs_base", "ds", "es", "fs",
    "gs",
];

impl X86_64Regs {
    /// The registers of a kernel `struct pt_regs` (x86_64): its 21 words are the first 21 of
    /// `user_regs_struct` (r15 … ss); the segment bases and selectors stay 0.
    pub fn from_pt_regs(w: &[u64; 21]) -> Self {
        X86_64Regs {
            r15: w[0],
            r14: w[1],
            r13: w[2],
            r12: w[3],
            rbp: w[4],
            rbx: w[5],
            r11: w[6],
            r10: w[7],
            r9: w[8],
            r8: w[9],
            rax: w[10],
            rcx: w[11],
            rdx: w[12],
            rsi: w[13],
            rdi: w[14],
            orig_rax: w[15],
            rip: w[16],
            cs: w[17],
            eflags: w[18],
            rsp: w[19],
            ss: w[20],
            ..X86_64Regs::default()
        }
    }

    fn from_words(w: &[u64; 27]) -> Self {
        let mut pt = [0u64; 21];
        pt.copy_from_slice(&w[..21]);
        X86_64Regs {
            fs_base: w[21],
            gs_base: w[22],
            ds: w[23],
            es: w[24],
            fs: w[25],
            gs: w[26],
            ..Self::from_pt_regs(&pt)
        }
    }
    /// The registers in kernel order, with their names.
    pub fn named(&self) -> Vec<(&'static str, u64)> {
        let v = [
            self.r15,
            self.r14,
            self.r13,
            self.r12,
            self.rbp,
            self.rbx,
            self.r11,
            self.r10,
            self.r9,
            self.r8,
            self.rax,
            self.rcx,
            self.rdx,
            self.rsi,
            self.rdi,
            self.orig_rax,
            self.rip,
            self.cs,
            self.eflags,
            self.rsp,
            self.ss,
            self.fs_base,
            self.gs_base,
            self.ds,
            self.es,
            self.fs,
            self.gs,
        ];
        X86_64_REG_NAMES.iter().copied().zip(v).collect()
    }
}

/// i386 `user_regs_struct` (17 × u32), in kernel order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct X86Regs(pub [u32; 17]);

/// Names of [`X86Regs`] in kernel order.
pub const X86_REG_NAMES: [&str; 17] = [
    "ebx", "ecx", "edx", "esi", "edi", "ebp", "eax", "ds", "es", "fs", "gs", "orig_eax", "eip",
    "cs", "eflags", "esp", "ss",
];

/// aarch64 `user_pt_regs`: x0–x30, sp, pc, pstate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Aarch64Regs {
    /// x0 … x30.
    pub x: [u64; 31],
    /// Stack pointer.
    pub sp: u64,
    /// Program counter.
    pub pc: u64,
    /// Processor state.
    pub pstate: u64,
}

/// ppc64 `pt_regs` as its `elf_gregset_t` holds it (the first 44 of 48 words).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ppc64Regs {
    /// r0 … r31 (r1 is the stack pointer).
    pub gpr: [u64; 32],
    /// The other 12, in kernel order: `nip` (the instruction pointer), `msr`, `orig_gpr3`,
    /// `ctr`, `link`, `xer`, `ccr`, `softe`, `trap`, `dar`, `dsisr`, `result`.
    pub special: [u64; 12],
}

/// Names of [`Ppc64Regs::special`].
pub const PPC64_SPECIAL_NAMES: [&str; 12] = [
    "nip",
    "msr",
    "orig_gpr3",
    "ctr",
    "link",
    "xer",
    "ccr",
    "softe",
    "trap",
    "dar",
    "dsisr",
    "result",
];

/// s390x `s390_regs`: the PSW, r0–r15 (r15 is the stack pointer), access registers, and
/// `orig_gpr2`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct S390xRegs {
    /// PSW mask (its bits 31–32 are the addressing mode, 17 the problem state).
    pub psw_mask: u64,
    /// PSW address: the instruction address.
    pub psw_addr: u64,
    /// r0 … r15.
    pub gprs: [u64; 16],
    /// a0 … a15.
    pub acrs: [u32; 16],
    /// `orig_gpr2`.
    pub orig_gpr2: u64,
}

/// Registers of one CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registers {
    /// x86_64.
    X86_64(X86_64Regs),
    /// i386.
    X86(X86Regs),
    /// aarch64.
    Aarch64(Aarch64Regs),
    /// ppc64 (either byte order).
    Ppc64(Ppc64Regs),
    /// s390x.
    S390x(S390xRegs),
}

impl Registers {
    /// Instruction pointer.
    pub fn pc(&self) -> u64 {
        match self {
            Registers::X86_64(r) => r.rip,
            Registers::X86(r) => u64::from(r.0[12]),
            Registers::Aarch64(r) => r.pc,
            Registers::Ppc64(r) => r.special[0],
            Registers::S390x(r) => r.psw_addr,
        }
    }
    /// Stack pointer.
    pub fn sp(&self) -> u64 {
        match self {
            Registers::X86_64(r) => r.rsp,
            Registers::X86(r) => u64::from(r.0[15]),
            Registers::Aarch64(r) => r.sp,
            Registers::Ppc64(r) => r.gpr[1],
            Registers::S390x(r) => r.gprs[15],
        }
    }
    /// Flags register (`eflags`, `pstate`, ppc64 `msr`, the s390x PSW mask).
    pub fn flags(&self) -> u64 {
        match self {
            Registers::X86_64(r) => r.eflags,
            Registers::X86(r) => u64::from(r.0[14]),
            Registers::Aarch64(r) => r.pstate,
            Registers::Ppc64(r) => r.special[1],
            Registers::S390x(r) => r.psw_mask,
        }
    }
    /// The set bits of the flags register that matter when reading a crash, named as the
    /// architecture names them: x86 `EFLAGS` (`CF ZF IF …`), or arm64 `PSTATE` (`N Z C V`, the
    /// masked exceptions `D A I F`, and the exception level and stack, `EL1h`), ppc64 `MSR`
    /// (`SF EE PR …`), s390x PSW (`PER IO EXT PSTATE WAIT …` and the addressing mode).
    pub fn flag_names(&self) -> String {
        const X86: [(u32, &str); 9] = [
            (0, "CF"),
            (2, "PF"),
            (6, "ZF"),
            (7, "SF"),
            (8, "TF"),
            (9, "IF"),
            (10, "DF"),
            (11, "OF"),
            (14, "NT"),
        ];
        const ARM64: [(u32, &str); 8] = [
            (31, "N"),
            (30, "Z"),
            (29, "C"),
            (28, "V"),
            (9, "D"),
            (8, "A"),
            (7, "I"),
            (6, "F"),
        ];
        // MSR bits (arch/powerpc/include/asm/reg.h).
        const PPC64: [(u32, &str); 9] = [
            (63, "SF"),
            (15, "EE"),
            (14, "PR"),
            (13, "FP"),
            (12, "ME"),
            (5, "IR"),
            (4, "DR"),
            (1, "RI"),
            (0, "LE"),
        ];
        // PSW mask bits, numbered from the least significant (PSW bit n is 63 - n).
        const S390X: [(u32, &str); 6] = [
            (63 - 1, "PER"),
            (63 - 5, "DAT"),
            (63 - 6, "IO"),
            (63 - 7, "EXT"),
            (63 - 13, "MCHK"),
            (63 - 14, "WAIT"),
        ];
        let f = self.flags();
        let bits: &[(u32, &str)] = match self {
            Registers::Aarch64(_) => &ARM64,
            Registers::Ppc64(_) => &PPC64,
            Registers::S390x(_) => &S390X,
            _ => &X86,
        };
        let mut names: Vec<String> = bits
            .iter()
            .filter(|(b, _)| f & (1 << b) != 0)
            .map(|(_, n)| (*n).to_string())
            .collect();
        if let Registers::S390x(_) = self {
            // PSW bit 15: problem (user) state; bits 31-32: the addressing mode.
            names.push(
                if f & (1 << (63 - 15)) != 0 {
                    "user"
                } else {
                    "kernel"
                }
                .to_string(),
            );
            names.push(
                match (f >> 31) & 3 {
                    3 => "64-bit",
                    1 => "31-bit",
                    0 => "24-bit",
                    _ => "invalid-amode",
                }
                .to_string(),
            );
        }
        if let Registers::Aarch64(_) = self {
            // PSTATE.M[3:0]: the exception level (bits 3:2) and, above EL0, which stack
            // pointer (bit 0: h = SP_ELx, t = SP_EL0).
            let m = f & 0xf;
            let el = m >> 2;
            names.push(if el == 0 {
                "EL0t".to_string()
            } else {
                format!("EL{el}{}", if m & 1 == 1 { 'h' } else { 't' })
            });
        }
        names.join(" ")
    }

    /// Every register with its name, in kernel order.
    pub fn named(&self) -> Vec<(&'static str, u64)> {
        match self {
            Registers::X86_64(r) => r.named(),
            Registers::X86(r) => X86_REG_NAMES
                .iter()
                .copied()
                .zip(r.0.iter().map(|&v| u64::from(v)))
                .collect(),
            Registers::Aarch64(r) => {
                const N: [&str; 34] = [
                    "x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11",
                    "x12", "x13", "x14", "x15", "x16", "x17", "x18", "x19", "x20", "x21", "x22",
                    "x23", "x24", "x25", "x26", "x27", "x28", "x29", "x30", "sp", "pc", "pstate",
                ];
                let mut v: Vec<u64> = r.x.to_vec();
                v.extend([r.sp, r.pc, r.pstate]);
                N.iter().copied().zip(v).collect()
            }
            Registers::Ppc64(r) => {
                const GPR: [&str; 32] = [
                    "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10", "r11",
                    "r12", "r13", "r14", "r15", "r16", "r17", "r18", "r19", "r20", "r21", "r22",
                    "r23", "r24", "r25", "r26", "r27", "r28", "r29", "r30", "r31",
                ];
                GPR.iter()
                    .copied()
                    .zip(r.gpr)
                    .chain(PPC64_SPECIAL_NAMES.iter().copied().zip(r.special))
                    .collect()
            }
            Registers::S390x(r) => {
                const GPR: [&str; 16] = [
                    "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10", "r11",
                    "r12", "r13", "r14", "r15",
                ];
                const ACR: [&str; 16] = [
                    "a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8", "a9", "a10", "a11",
                    "a12", "a13", "a14", "a15",
                ];
                [("psw_mask", r.psw_mask), ("psw_addr", r.psw_addr)]
                    .into_iter()
                    .chain(GPR.iter().copied().zip(r.gprs))
                    .chain(ACR.iter().copied().zip(r.acrs.map(u64::from)))
                    .chain([("orig_gpr2", r.orig_gpr2)])
                    .collect()
            }
        }
    }
}

/// The signal fields at the start of `elf_prstatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SignalInfo {
    /// `si_signo`.
    pub si_signo: i32,
    /// `si_code`.
    pub si_code: i32,
    /// `si_errno`.
    pub si_errno: i32,
    /// `pr_cursig`.
    pub cursig: u16,
}

/// One segment register as QEMU saves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[allow(missing_docs)]
pub struct QemuSegment {
    pub selector: u32,
    pub limit: u32,
    pub flags: u32,
    pub base: u64,
}

/// QEMU's `QEMUCPUState` note (target/i386/arch_dump.c): what `NT_PRSTATUS` lacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[allow(missing_docs)]
pub struct QemuCpuState {
    pub version: u32,
    pub size: u32,
    pub rip: u64,
    pub rflags: u64,
    pub cs: QemuSegment,
    pub ds: QemuSegment,
    pub es: QemuSegment,
    pub fs: QemuSegment,
    pub gs: QemuSegment,
    pub ss: QemuSegment,
    pub ldt: QemuSegment,
    pub tr: QemuSegment,
    pub gdt: QemuSegment,
    pub idt: QemuSegment,
    /// CR0–CR4.
    pub cr: [u64; 5],
    /// `kernel_gs_base`, present when `size` covers it (newer QEMU).
    pub kernel_gs_base: Option<u64>,
}

impl QemuCpuState {
    /// Decode an x86_64 `QEMUCPUState`: version, size, 18 GPRs + rip/rflags (8-byte each, from
    /// offset 8), 10 segments of 24 bytes from offset 152, `cr[5]` at 392, kernel_gs_base at 432.
    pub fn parse(desc: &[u8]) -> Option<Self> {
        if desc.len() < 432 {
            return None;
        }
        Self::decode(&Bytes::new(desc, 0)).ok()
    }

    fn decode(b: &Bytes<'_>) -> Result<Self, ReadError> {
        let seg = |off: u64| -> Result<QemuSegment, ReadError> {
            Ok(QemuSegment {
                selector: b.read_u32("QEMUCPUSegment.selector", off)?,
                limit: b.read_u32("QEMUCPUSegment.limit", off + 4)?,
                flags: b.read_u32("QEMUCPUSegment.flags", off + 8)?,
                base: b.read_u64("QEMUCPUSegment.base", off + 16)?,
            })
        };
        let size = b.read_u32("QEMUCPUState.size", 4)?;
        let mut cr = [0u64; 5];
        for (i, c) in (0u64..).zip(cr.iter_mut()) {
            *c = b.read_u64("QEMUCPUState.cr", 392 + 8 * i)?;
        }
        let kernel_gs_base = if size >= 440 && b.len() >= 440 {
            Some(b.read_u64("QEMUCPUState.kernel_gs_base", 432)?)
        } else {
            None
        };
        Ok(QemuCpuState {
            version: b.read_u32("QEMUCPUState.version", 0)?,
            size,
            rip: b.read_u64("QEMUCPUState.rip", 136)?,
            rflags: b.read_u64("QEMUCPUState.rflags", 144)?,
            cs: seg(152)?,
            ds: seg(176)?,
            es: seg(200)?,
            fs: seg(224)?,
            gs: seg(248)?,
            ss: seg(272)?,
            ldt: seg(296)?,
            tr: seg(320)?,
            gdt: seg(344)?,
            idt: seg(368)?,
            cr,
            kernel_gs_base,
        })
    }
}

/// One CPU's saved context, in dump order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpuContext {
    /// Position among the dump's register notes (0-based). Not the CPU number.
    pub note_index: usize,
    /// File offset of the `NT_PRSTATUS` note header.
    pub note_offset: u64,
    /// The CPU number, only where the dump says it (QEMU: `pr_pid - 1`).
    pub cpu: Option<u32>,
    /// `pr_pid`: the task running on the CPU (kernel dumps), or QEMU's CPU index + 1.
    pub pid: u32,
    /// `pr_ppid`.
    pub ppid: u32,
    /// Signal fields.
    pub signal: SignalInfo,
    /// Registers; `None` when the note is zeroed (no context saved).
    pub regs: Option<Registers>,
    /// QEMU's extra CPU state, for QEMU dumps.
    pub qemu: Option<QemuCpuState>,
    /// Why `regs` is `None`, or a problem with the note.
    pub problem: Option<CpuProblem>,
}

/// Why a register note gave no registers (`CPU001` for [`CpuProblem::Zeroed`], `CPU003` for
/// [`CpuProblem::MachineNotDecoded`], `CPU002` for the rest). `Display` is the sentence the
/// CLI and TUI print.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CpuProblem {
    /// The descriptor is all zero: the CPU never ran `crash_save_cpu` (or QEMU never started
    /// the vCPU), so no context was saved.
    Zeroed,
    /// The descriptor is shorter than `struct elf_prstatus` of the architecture.
    DescriptorTooShort {
        /// The architecture's name (`x86_64`, `aarch64`, `i386`).
        machine: String,
        /// Bytes in the descriptor.
        len: usize,
        /// Bytes the architecture's `elf_prstatus` needs.
        need: usize,
    },
    /// Registers of this `e_machine` are not decoded.
    MachineNotDecoded(u16),
    /// A field could not be read (a layout bug: lengths are checked first).
    Unreadable(ReadError),
}

impl std::fmt::Display for CpuProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CpuProblem::Zeroed => f.write_str("register note is zeroed: no context was saved"),
            CpuProblem::DescriptorTooShort { machine, len, need } => write!(
                f,
                "NT_PRSTATUS descriptor is {len} bytes, {machine} needs at least {need}"
            ),
            CpuProblem::MachineNotDecoded(m) => {
                write!(f, "registers of e_machine {m} are not decoded")
            }
            CpuProblem::Unreadable(e) => write!(f, "{e}"),
        }
    }
}

fn parse_prstatus(
    machine: Machine,
    order: ByteOrder,
    desc: &[u8],
) -> Result<(SignalInfo, u32, u32, Registers), CpuProblem> {
    let b = Bytes::new(desc, 0).with_order(order);
    // Only reached after the length checks below, so a read error is a layout bug here; it
    // still becomes the note's problem, never a panic.
    let bug = CpuProblem::Unreadable;
    let signal = || -> Result<SignalInfo, ReadError> {
        Ok(SignalInfo {
            si_signo: b.read_u32("elf_prstatus.pr_info.si_signo", 0)? as i32,
            si_code: b.read_u32("elf_prstatus.pr_info.si_code", 4)? as i32,
            si_errno: b.read_u32("elf_prstatus.pr_info.si_errno", 8)? as i32,
            cursig: b.read_u16("elf_prstatus.pr_cursig", 12)?,
        })
    };
    match machine {
        Machine::X86_64 | Machine::Aarch64 => {
            // 64-bit elf_prstatus: pr_pid at 32, pr_ppid at 36, pr_reg at 112.
            let nregs = if machine == Machine::X86_64 { 27 } else { 34 };
            let need = 112 + nregs * 8;
            if desc.len() < need {
                return Err(CpuProblem::DescriptorTooShort {
                    machine: machine.name(),
                    len: desc.len(),
                    need,
                });
            }
            let sig = signal().map_err(bug)?;
            let pid = b.read_u32("elf_prstatus.pr_pid", 32).map_err(bug)?;
            let ppid = b.read_u32("elf_prstatus.pr_ppid", 36).map_err(bug)?;
            let reg = |i: u64| b.read_u64("elf_prstatus.pr_reg", 112 + 8 * i).map_err(bug);
            let regs = if machine == Machine::X86_64 {
                let mut w = [0u64; 27];
                for (i, x) in (0u64..).zip(w.iter_mut()) {
                    *x = reg(i)?;
                }
                Registers::X86_64(X86_64Regs::from_words(&w))
            } else {
                let mut x = [0u64; 31];
                for (i, r) in (0u64..).zip(x.iter_mut()) {
                    *r = reg(i)?;
                }
                Registers::Aarch64(Aarch64Regs {
                    x,
                    sp: reg(31)?,
                    pc: reg(32)?,
                    pstate: reg(33)?,
                })
            };
            Ok((sig, pid, ppid, regs))
        }
        Machine::X86 => {
            // 32-bit elf_prstatus: pr_pid at 24, pr_reg at 72 (17 × u32).
            if desc.len() < 72 + 68 {
                return Err(CpuProblem::DescriptorTooShort {
                    machine: machine.name(),
                    len: desc.len(),
                    need: 72 + 68,
                });
            }
            let mut r = [0u32; 17];
            for (i, x) in (0u64..).zip(r.iter_mut()) {
                *x = b.read_u32("elf_prstatus.pr_reg", 72 + 4 * i).map_err(bug)?;
            }
            Ok((
                signal().map_err(bug)?,
                b.read_u32("elf_prstatus.pr_pid", 24).map_err(bug)?,
                b.read_u32("elf_prstatus.pr_ppid", 28).map_err(bug)?,
                Registers::X86(X86Regs(r)),
            ))
        }
        // EM_PPC64: 64-bit elf_prstatus, pr_reg at 112, 44 of its 48 words used.
        Machine::Other(21) => {
            let need = 112 + 44 * 8;
            if desc.len() < need {
                return Err(CpuProblem::DescriptorTooShort {
                    machine: machine.name(),
                    len: desc.len(),
                    need,
                });
            }
            let reg = |i: u64| b.read_u64("elf_prstatus.pr_reg", 112 + 8 * i).map_err(bug);
            let mut gpr = [0u64; 32];
            for (i, r) in (0u64..).zip(gpr.iter_mut()) {
                *r = reg(i)?;
            }
            let mut special = [0u64; 12];
            for (i, r) in (32u64..).zip(special.iter_mut()) {
                *r = reg(i)?;
            }
            Ok((
                signal().map_err(bug)?,
                b.read_u32("elf_prstatus.pr_pid", 32).map_err(bug)?,
                b.read_u32("elf_prstatus.pr_ppid", 36).map_err(bug)?,
                Registers::Ppc64(Ppc64Regs { gpr, special }),
            ))
        }
        // EM_S390 with a 64-bit elf_prstatus (s390x): pr_reg at 112, 216 bytes. A 31-bit
        // s390 note is shorter and is not decoded.
        Machine::Other(22) if desc.len() >= 112 + 216 => {
            let word = |off: u64| b.read_u64("elf_prstatus.pr_reg", 112 + off).map_err(bug);
            let mut gprs = [0u64; 16];
            for (i, r) in (0u64..).zip(gprs.iter_mut()) {
                *r = word(16 + 8 * i)?;
            }
            let mut acrs = [0u32; 16];
            for (i, r) in (0u64..).zip(acrs.iter_mut()) {
                *r = b
                    .read_u32("elf_prstatus.pr_reg.acrs", 112 + 144 + 4 * i)
                    .map_err(bug)?;
            }
            Ok((
                signal().map_err(bug)?,
                b.read_u32("elf_prstatus.pr_pid", 32).map_err(bug)?,
                b.read_u32("elf_prstatus.pr_ppid", 36).map_err(bug)?,
                Registers::S390x(S390xRegs {
                    psw_mask: word(0)?,
                    psw_addr: word(8)?,
                    gprs,
                    acrs,
                    orig_gpr2: word(208)?,
                }),
            ))
        }
        Machine::Other(m) => Err(CpuProblem::MachineNotDecoded(m)),
    }
}

/// `NT_PRFPREG`: floating-point registers.
const NT_PRFPREG: u32 = 2;

/// Build the per-CPU contexts from a dump's notes.
///
/// `qemu_numbering`: the dump was written by QEMU, whose `pr_pid` is the vCPU index + 1; it is
/// detected from the presence of `QEMU` notes when `None`.
/// `order` is the dump's byte order: a big-endian machine writes its `elf_prstatus` so.
pub(crate) fn contexts_from_notes(
    machine: Machine,
    order: ByteOrder,
    notes: &[Note],
) -> Vec<CpuContext> {
    // QEMU writes a `QEMU` CPU-state note per vCPU on x86; on aarch64 it writes none, but
    // follows every NT_PRSTATUS with a `CORE` NT_PRFPREG (target/arm/arch_dump.c), which the
    // kernel's crash notes never carry.
    let is_qemu = notes.iter().any(|n| n.name == NAME_QEMU)
        || (machine == Machine::Aarch64
            && notes
                .iter()
                .any(|n| n.name == NAME_CORE && n.n_type == NT_PRFPREG));
    let qemu_states: Vec<Option<QemuCpuState>> = notes
        .iter()
        .filter(|n| n.name == NAME_QEMU && n.n_type == 0)
        .map(|n| QemuCpuState::parse(&n.desc))
        .collect();
    notes
        .iter()
        .filter(|n| n.name == NAME_CORE && n.n_type == kdump_types::elf::NT_PRSTATUS)
        .enumerate()
        .map(|(i, n)| {
            let zeroed = n.desc.iter().all(|&b| b == 0);
            let qemu = qemu_states.get(i).copied().flatten();
            let mut ctx = CpuContext {
                note_index: i,
                note_offset: n.offset,
                cpu: None,
                pid: 0,
                ppid: 0,
                signal: SignalInfo::default(),
                regs: None,
                qemu,
                problem: None,
            };
            if zeroed {
                ctx.problem = Some(CpuProblem::Zeroed);
                return ctx;
            }
            match parse_prstatus(machine, order, &n.desc) {
                Ok((sig, pid, ppid, regs)) => {
                    ctx.signal = sig;
                    ctx.pid = pid;
                    ctx.ppid = ppid;
                    ctx.regs = Some(regs);
                    if is_qemu && pid > 0 {
                        ctx.cpu = Some(pid - 1);
                    }
                }
                Err(e) => ctx.problem = Some(e),
            }
            ctx
        })
        .collect()
}
