//! Tasks, read through the kernel's BTF: every process on `init_task.tasks` and every thread of
//! its thread group, each CPU's current and idle task (`runqueues`), and the saved context a
//! sleeping task's stack unwinds from.
//!
//! Member offsets come from BTF, never from a table of kernel versions; where kernels differ the
//! member that exists decides (`__state` since 5.14, `state` before; `signal->thread_head` +
//! `thread_node` since 6.7, `thread_group` before; `thread_info.cpu` with
//! THREAD_INFO_IN_TASK, `task_struct.cpu` without).

use std::collections::HashSet;

use crate::btf::Btf;
use crate::mem::KernelMemory;
use crate::{CpuMask, Error, Kernel, Result};

mod stack;
mod walker;

pub use stack::Walker;
pub use walker::TaskWalker;

/// More tasks than a kernel can have (`PID_MAX_LIMIT`, 4M on 64-bit): a longer list is corrupt.
pub const MAX_TASKS: usize = 1 << 22;

/// `PF_KTHREAD`: the task is a kernel thread (ps shows it in brackets).
pub const PF_KTHREAD: u32 = 0x0020_0000;

/// `TASK_COMM_LEN` fallback when BTF does not give `comm`'s size.
const COMM_LEN: usize = 16;

/// Where the members this module reads are, from BTF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskLayout {
    /// `task_struct.tasks`.
    pub tasks: u64,
    /// `task_struct.pid`.
    pub pid: u64,
    /// `task_struct.tgid`.
    pub tgid: u64,
    /// `task_struct.comm` and its length.
    pub comm: (u64, usize),
    /// `task_struct.__state` (`u32`, 5.14+) or `state` (`long`, before).
    pub state: (u64, u8),
    /// `task_struct.exit_state`.
    pub exit_state: u64,
    /// `task_struct.thread_info.cpu` or `task_struct.cpu`.
    pub cpu: u64,
    /// `task_struct.on_cpu` (SMP kernels).
    pub on_cpu: Option<u64>,
    /// `task_struct.flags`.
    pub flags: u64,
    /// `task_struct.real_parent`.
    pub real_parent: u64,
    /// `task_struct.stack`.
    pub stack: u64,
    /// How a thread group's threads are linked.
    pub threads: ThreadLinks,
    /// `task_struct.thread.sp`: the stack pointer saved at the last context switch.
    pub thread_sp: u64,
    /// `task_struct.children` and `sibling`: the process tree, walked when the task list
    /// has gaps.
    pub children: Option<(u64, u64)>,
    /// The pid IDR of `init_pid_ns`, walked last when the lists have gaps (every task has a
    /// pid there, as drgn's `for_each_task` reads them).
    pub pid_idr: Option<PidIdr>,
}

/// Where the pid IDR (an XArray of `struct pid *`) is and how its nodes are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PidIdr {
    /// Address of `init_pid_ns.idr.idr_rt.xa_head`.
    pub head: u64,
    /// `xa_node.shift`.
    pub node_shift: u64,
    /// `xa_node.slots` and its length (`XA_CHUNK_SIZE`).
    pub node_slots: (u64, u64),
    /// `pid.tasks` (`tasks[PIDTYPE_PID]` is its first `hlist_head`).
    pub pid_tasks: u64,
    /// `task_struct.pid_links` (`pid_links[PIDTYPE_PID]` first).
    pub pid_links: u64,
}

/// XArray nodes nest at most this deep (64-bit indexes, 6 bits per level).
const MAX_XA_DEPTH: usize = 11;

/// How the threads of a thread group are linked (it changed in 6.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThreadLinks {
    /// `task->signal->thread_head`, through each thread's `thread_node` (6.7+).
    SignalThreadHead {
        /// `task_struct.signal`.
        signal: u64,
        /// `signal_struct.thread_head`.
        thread_head: u64,
        /// `task_struct.thread_node`.
        thread_node: u64,
    },
    /// A ring through every thread's `thread_group` (before 6.7).
    ThreadGroup {
        /// `task_struct.thread_group`.
        thread_group: u64,
    },
}

impl TaskLayout {
    /// The layout of `struct task_struct` that `btf` describes.
    pub fn from_btf(btf: &Btf) -> std::result::Result<Self, crate::btf::BtfError> {
        let off = |path: &str| btf.member_offset("task_struct", path);
        let comm = btf.member("task_struct", "comm")?;
        let comm_len = btf
            .size_of(comm.type_id)
            .map(|n| n as usize)
            .unwrap_or(COMM_LEN);
        let state = match off("__state") {
            Ok(o) => (o, 4),
            Err(_) => (off("state")?, 8),
        };
        let cpu = off("thread_info.cpu").or_else(|_| off("cpu"))?;
        let threads = match (
            off("signal"),
            btf.member_offset("signal_struct", "thread_head"),
            off("thread_node"),
        ) {
            (Ok(signal), Ok(thread_head), Ok(thread_node)) => ThreadLinks::SignalThreadHead {
                signal,
                thread_head,
                thread_node,
            },
            _ => ThreadLinks::ThreadGroup {
                thread_group: off("thread_group")?,
            },
        };
        Ok(TaskLayout {
            tasks: off("tasks")?,
            pid: off("pid")?,
            tgid: off("tgid")?,
            comm: (comm.offset(), comm_len.clamp(1, 64)),
            state,
            exit_state: off("exit_state")?,
            cpu,
            on_cpu: off("on_cpu").ok(),
            flags: off("flags")?,
            real_parent: off("real_parent")?,
            stack: off("stack")?,
            threads,
            // x86_64 `thread.sp`; arm64 `thread.cpu_context.sp`.
            thread_sp: off("thread.sp").or_else(|_| off("thread.cpu_context.sp"))?,
            children: off("children").ok().zip(off("sibling").ok()),
            pid_idr: None,
        })
    }
}

/// One task (a thread: Linux schedules threads; `pid` is the thread id, `tgid` the process).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    /// Address of its `task_struct`.
    pub addr: u64,
    /// Thread id (`task_struct.pid`).
    pub pid: i32,
    /// Process id (`task_struct.tgid`).
    pub tgid: i32,
    /// The parent process (`real_parent->tgid`; 0 under `init_task`).
    pub ppid: i32,
    /// Command name (`comm`).
    pub comm: String,
    /// State letter as ps prints it (`R`, `S`, `D`, `T`, `t`, `X`, `Z`, `P`, `I`).
    pub state: char,
    /// `__state` (or `state`) as the kernel wrote it.
    pub raw_state: u64,
    /// `exit_state`.
    pub exit_state: u32,
    /// The CPU it last ran on (`task_cpu()`).
    pub cpu: u32,
    /// `on_cpu`: set while the task is switched in on a CPU (false when unknown).
    pub on_cpu: bool,
    /// The online CPU whose `rq->curr` it is at the time of the dump (crash's `>`).
    pub running_on: Option<u32>,
    /// `task_struct.flags` (`PF_*`).
    pub flags: u32,
    /// Base of its kernel stack (`task_struct.stack`).
    pub stack: u64,
}

impl Task {
    /// Whether it is a kernel thread (`PF_KTHREAD`).
    pub fn is_kernel_thread(&self) -> bool {
        self.flags & PF_KTHREAD != 0
    }
}

/// `TASK_*` bits of `__state` / `exit_state` (include/linux/sched.h; stable since 5.14, and the
/// report bits since 4.14).
mod bits {
    pub const TASK_REPORT: u64 = 0x7f;
    pub const TASK_UNINTERRUPTIBLE: u64 = 0x2;
    pub const TASK_NOLOAD: u64 = 0x400;
    pub const TASK_IDLE: u64 = TASK_UNINTERRUPTIBLE | TASK_NOLOAD;
    pub const TASK_RTLOCK_WAIT: u64 = 0x1000;
    pub const TASK_FROZEN: u64 = 0x8000;
    /// One past TASK_REPORT's highest bit: what the kernel reports TASK_IDLE as.
    pub const TASK_REPORT_IDLE: u64 = 0x80;
}

/// The state letter ps prints, as the kernel's `__task_state_index()` computes it: the report
/// bits of `state | exit_state`, `I` for `TASK_IDLE`, `D` for RT-lock waits and frozen tasks,
/// then the highest bit set indexes "RSDTtXZPI".
pub fn state_letter(state: u64, exit_state: u32) -> char {
    use bits::*;
    let mut s = (state | exit_state as u64) & TASK_REPORT;
    if state & TASK_IDLE == TASK_IDLE {
        s = TASK_REPORT_IDLE;
    }
    if state & (TASK_RTLOCK_WAIT | TASK_FROZEN) != 0 {
        s = TASK_UNINTERRUPTIBLE;
    }
    let index = 64 - s.leading_zeros() as usize;
    b"RSDTtXZPI"[index.min(8)] as char
}

/// A read error as a finding's reason. [`Error::Read`] carries the reader's own reason
/// ("excluded from the dump by its dump level", "truncated"), so the text names it.
fn why(e: &Error) -> String {
    e.to_string()
}

/// Something wrong with the task list that ended or shortened the walk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskFinding {
    /// The list node or task where it went wrong.
    pub addr: u64,
    /// What was wrong.
    pub detail: String,
}

impl std::fmt::Display for TaskFinding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:#x}: {}", self.addr, self.detail)
    }
}

/// A CPU and the tasks its run queue names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpuTasks {
    /// The CPU.
    pub cpu: u32,
    /// `rq->curr`: the task running there when the dump was taken.
    pub curr: u64,
    /// `rq->idle`: its idle task (`swapper/N`, pid 0).
    pub idle: u64,
}

/// Every task of the kernel.
#[derive(Debug, Clone, Default)]
pub struct TaskList {
    /// Every task on `init_task.tasks` and its thread groups, by pid (drgn's `for_each_task`:
    /// the idle tasks are not among them).
    pub tasks: Vec<Task>,
    /// The idle task of each online CPU (pid 0, `swapper/N`), by CPU.
    pub idle: Vec<Task>,
    /// Each online CPU's run queue.
    pub cpus: Vec<CpuTasks>,
    /// What cut the walk short (a cyclic or unreadable list): the list is incomplete.
    pub findings: Vec<TaskFinding>,
}

impl TaskList {
    /// The task with thread id `pid` (pid 0: the idle task of the lowest online CPU).
    pub fn by_pid(&self, pid: i32) -> Option<&Task> {
        if pid == 0 {
            return self.idle.first();
        }
        self.tasks.iter().find(|t| t.pid == pid)
    }
}

/// The register values a sleeping task's stack unwinds from: what `__switch_to_asm` pushed
/// (`struct inactive_task_frame`) at `thread.sp`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SwitchFrame {
    /// `frame->ret_addr`: where the task resumes (inside `__schedule`).
    pub ip: u64,
    /// `thread.sp + sizeof(struct inactive_task_frame)`: the stack pointer at that return.
    pub sp: u64,
    /// `frame->bp`.
    pub bp: u64,
    /// `thread.sp` itself.
    pub frame_addr: u64,
}

impl Kernel<'_> {
    /// The layout of `task_struct` from this kernel's BTF.
    pub fn task_layout(&self) -> Result<TaskLayout> {
        let btf = self.btf()?;
        let mut layout = TaskLayout::from_btf(btf).map_err(|source| self.btf_error(source))?;
        layout.pid_idr = self.pid_idr_layout(btf);
        Ok(layout)
    }

    /// The pid IDR's place, when this kernel's BTF and kallsyms describe it.
    fn pid_idr_layout(&self, btf: &Btf) -> Option<PidIdr> {
        let ns = self.symbols().ok()?.lookup_addr("init_pid_ns")?;
        let head = btf
            .member_offset("pid_namespace", "idr.idr_rt.xa_head")
            .ok()?;
        let slots = btf.member("xa_node", "slots").ok()?;
        let nslots = btf.resolve(slots.type_id).ok()?.array()?.nelems as u64;
        Some(PidIdr {
            head: ns.wrapping_add(head),
            node_shift: btf.member_offset("xa_node", "shift").ok()?,
            node_slots: (slots.offset(), nslots.min(256)),
            pid_tasks: btf.member_offset("pid", "tasks").ok()?,
            pid_links: btf.member_offset("task_struct", "pid_links").ok()?,
        })
    }

    pub(crate) fn btf_error(&self, source: crate::btf::BtfError) -> Error {
        let addr = self
            .symbols()
            .ok()
            .and_then(|s| s.lookup_addr("__start_BTF"))
            .unwrap_or(0);
        Error::Btf { addr, source }
    }

    /// The task whose `task_struct` is at `addr`.
    pub fn read_task(&self, layout: &TaskLayout, addr: u64) -> Result<Task> {
        TaskWalker::new(self.memory(), *layout).read_task(layout, addr)
    }

    /// `rq->curr` and `rq->idle` of `cpu` (per-CPU `runqueues`).
    pub fn cpu_tasks(&self, cpu: u32) -> Result<CpuTasks> {
        let btf = self.btf()?;
        let curr = btf
            .member_offset("rq", "curr")
            .map_err(|e| self.btf_error(e))?;
        let idle = btf
            .member_offset("rq", "idle")
            .map_err(|e| self.btf_error(e))?;
        let rq = self.per_cpu_ptr(self.symbol_addr("runqueues", "each CPU's run queue")?, cpu)?;
        Ok(CpuTasks {
            cpu,
            curr: self.memory().read_u64(rq.wrapping_add(curr))?,
            idle: self.memory().read_u64(rq.wrapping_add(idle))?,
        })
    }

    /// Every task: the processes on `init_task.tasks`, each one's threads, and each online
    /// CPU's current and idle task. A cyclic or unreadable list ends the walk with a finding
    /// (the tasks read so far are kept); at most [`MAX_TASKS`] tasks are read.
    pub fn tasks(&self) -> Result<TaskList> {
        let layout = self.task_layout()?;
        let init = self.symbol_addr("init_task", "the list of all tasks")?;
        let mut list = TaskList::default();
        let mut seen: HashSet<u64> = HashSet::new();
        TaskWalker::new(self.memory(), layout).walk_tasks(&layout, init, &mut list, &mut seen)?;

        for cpu in self.cpus_in(CpuMask::Online)? {
            let rq = self.cpu_tasks(cpu)?;
            if let Some(t) = list.tasks.iter_mut().find(|t| t.addr == rq.curr) {
                t.running_on = Some(cpu);
            }
            match self.read_task(&layout, rq.idle) {
                Ok(mut idle) => {
                    if rq.curr == rq.idle {
                        idle.running_on = Some(cpu);
                    }
                    list.idle.push(idle);
                }
                Err(e) => list.findings.push(TaskFinding {
                    addr: rq.idle,
                    detail: format!("CPU {cpu}'s idle task cannot be read: {}", why(&e)),
                }),
            }
            list.cpus.push(rq);
        }
        list.tasks.sort_by_key(|t| t.pid);
        Ok(list)
    }

    /// Where a task that is not running resumes: its `struct inactive_task_frame` at
    /// `thread.sp` (x86_64), or the callee-saved registers `cpu_switch_to` stored in
    /// `thread.cpu_context` (arm64: `pc` is the return address into `__switch_to`, `fp` its
    /// frame record). For a task running on a CPU the register note is the start instead:
    /// this frame is stale there.
    pub fn switch_frame(&self, task: &Task) -> Result<SwitchFrame> {
        let btf = self.btf()?;
        let e = |err| self.btf_error(err);
        let mem = self.memory();
        if self.dump().machine() == vmcore::Machine::Aarch64 {
            let ctx = btf
                .member_offset("task_struct", "thread.cpu_context")
                .map_err(e)?;
            let field = |name: &str| btf.member_offset("cpu_context", name).map_err(e);
            let at = task.addr.wrapping_add(ctx);
            return Ok(SwitchFrame {
                ip: mem.read_u64(at.wrapping_add(field("pc")?))?,
                sp: mem.read_u64(at.wrapping_add(field("sp")?))?,
                bp: mem.read_u64(at.wrapping_add(field("fp")?))?,
                frame_addr: at,
            });
        }
        let layout = self.task_layout()?;
        let ret = btf
            .member_offset("inactive_task_frame", "ret_addr")
            .map_err(e)?;
        let bp = btf.member_offset("inactive_task_frame", "bp").map_err(e)?;
        let size = btf.sizeof("inactive_task_frame").map_err(e)?;
        let sp = mem.read_u64(task.addr.wrapping_add(layout.thread_sp))?;
        Ok(SwitchFrame {
            ip: mem.read_u64(sp.wrapping_add(ret))?,
            sp: sp.wrapping_add(size),
            bp: mem.read_u64(sp.wrapping_add(bp))?,
            frame_addr: sp,
        })
    }
}
