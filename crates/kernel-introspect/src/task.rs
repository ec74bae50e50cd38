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

/// The task-list walk over any kernel memory (the dump, or a map of bytes in tests), with the
/// bounds and gap recovery of [`Kernel::tasks`].
#[derive(Debug)]
pub struct TaskWalker<'m, M: KernelMemory + ?Sized> {
    mem: &'m M,
    /// The layout it reads with.
    pub layout: TaskLayout,
}

impl<'m, M: KernelMemory + ?Sized> TaskWalker<'m, M> {
    /// A walker reading `mem` with `layout`.
    pub fn new(mem: &'m M, layout: TaskLayout) -> Self {
        TaskWalker { mem, layout }
    }

    /// Every task reachable from `init` (`init_task`'s address): the task list, each thread
    /// group, and, when a `task_struct` cannot be read, the list backwards and the process tree.
    /// Problems are findings in the list, never a hang: at most [`MAX_TASKS`] nodes per list.
    pub fn walk(&self, init: u64) -> TaskList {
        let mut list = TaskList::default();
        let mut seen = HashSet::new();
        if let Err(e) = self.walk_tasks(&self.layout, init, &mut list, &mut seen) {
            list.findings.push(TaskFinding {
                addr: e.addr().unwrap_or(init),
                detail: format!("the task list's head cannot be read: {}", why(&e)),
            });
        }
        list.tasks.sort_by_key(|t| t.pid);
        list
    }

    /// The task whose `task_struct` is at `addr`.
    pub fn read_task(&self, layout: &TaskLayout, addr: u64) -> Result<Task> {
        let mem = self.mem;
        let at = |off: u64| {
            addr.checked_add(off)
                .ok_or(Error::AddressOverflow { addr, len: off })
        };
        let pid = mem.read_u32(at(layout.pid)?)? as i32;
        let tgid = mem.read_u32(at(layout.tgid)?)? as i32;
        let mut comm = vec![0u8; layout.comm.1];
        KernelMemory::read(mem, at(layout.comm.0)?, &mut comm)?;
        let end = comm.iter().position(|&b| b == 0).unwrap_or(comm.len());
        let comm = String::from_utf8_lossy(&comm[..end]).into_owned();
        let raw_state = if layout.state.1 == 4 {
            mem.read_u32(at(layout.state.0)?)? as u64
        } else {
            mem.read_u64(at(layout.state.0)?)?
        };
        let exit_state = mem.read_u32(at(layout.exit_state)?)?;
        let parent = mem.read_u64(at(layout.real_parent)?)?;
        let ppid = if parent == 0 {
            0
        } else {
            mem.read_u32(
                parent
                    .checked_add(layout.tgid)
                    .ok_or(Error::AddressOverflow {
                        addr: parent,
                        len: layout.tgid,
                    })?,
            )? as i32
        };
        let on_cpu = match layout.on_cpu {
            Some(o) => mem.read_u32(at(o)?)? != 0,
            None => false,
        };
        Ok(Task {
            addr,
            pid,
            tgid,
            ppid,
            comm,
            state: state_letter(raw_state, exit_state),
            raw_state,
            exit_state,
            cpu: mem.read_u32(at(layout.cpu)?)?,
            on_cpu,
            running_on: None,
            flags: mem.read_u32(at(layout.flags)?)?,
            stack: mem.read_u64(at(layout.stack)?)?,
        })
    }

    pub(crate) fn walk_tasks(
        &self,
        layout: &TaskLayout,
        init: u64,
        list: &mut TaskList,
        seen: &mut HashSet<u64>,
    ) -> Result<()> {
        let head = init.wrapping_add(layout.tasks);
        let forward = self.mem.read_u64(head)?;
        if self.walk_list(layout, head, forward, 0, list, seen) {
            // An unreadable task (a page makedumpfile left out) cut the list: walk it
            // backwards from the head through `prev` to read the tasks behind the gap.
            if let Ok(backward) = self.mem.read_u64(head.wrapping_add(8)) {
                self.walk_list(layout, head, backward, 8, list, seen);
            }
            // Tasks between two gaps are still in their parents' `children` lists, and every
            // task is in the pid IDR.
            self.walk_tree(layout, init, list, seen);
            if let Some(idr) = layout.pid_idr {
                self.walk_pid_idr(layout, &idr, list, seen);
            }
        }
        Ok(())
    }

    /// Every process reachable from `init` through `children`/`sibling` that the list walk
    /// did not reach (depth-first, bounded by [`MAX_TASKS`] steps).
    fn walk_tree(
        &self,
        layout: &TaskLayout,
        init: u64,
        list: &mut TaskList,
        seen: &mut HashSet<u64>,
    ) {
        let Some((children, sibling)) = layout.children else {
            return;
        };
        let mut parents = vec![init];
        let mut visited: HashSet<u64> = HashSet::new();
        let mut steps = 0usize;
        while let Some(parent) = parents.pop() {
            if !visited.insert(parent) {
                continue;
            }
            let head = parent.wrapping_add(children);
            for node in self.list_nodes(head, &mut steps) {
                let child = node.wrapping_sub(sibling);
                if seen.insert(child) {
                    match self.read_task(layout, child) {
                        Ok(t) => {
                            list.tasks.push(t);
                            self.walk_threads(layout, child, list, seen);
                        }
                        Err(e) => {
                            if !list.findings.iter().any(|f| f.addr == child) {
                                list.findings.push(TaskFinding {
                                    addr: child,
                                    detail: format!("child task cannot be read: {}", why(&e)),
                                });
                            }
                            continue;
                        }
                    }
                }
                parents.push(child);
            }
        }
    }

    /// Every task with a pid in the pid IDR that no list reached (bounded: [`MAX_XA_DEPTH`]
    /// levels, [`MAX_TASKS`] entries).
    fn walk_pid_idr(
        &self,
        layout: &TaskLayout,
        idr: &PidIdr,
        list: &mut TaskList,
        seen: &mut HashSet<u64>,
    ) {
        let Ok(root) = self.mem.read_u64(idr.head) else {
            return;
        };
        let mut pids = Vec::new();
        let mut stack = vec![(root, 0usize)];
        let mut visited = 0usize;
        while let Some((entry, depth)) = stack.pop() {
            visited += 1;
            if visited > MAX_TASKS {
                break;
            }
            // Internal entries (low bits 10) above 4096 are nodes; below are sibling/retry marks.
            if entry & 3 == 2 {
                if entry <= 4096 || depth >= MAX_XA_DEPTH {
                    continue;
                }
                let node = entry - 2;
                let (off, n) = idr.node_slots;
                let Ok(raw) = self.mem.read_vec(node.wrapping_add(off), n as usize * 8) else {
                    continue;
                };
                let slots = kdump_types::Bytes::new(&raw, node.wrapping_add(off));
                for i in 0..n {
                    let Ok(e) = slots.read_u64("xa_node.slots", i * 8) else {
                        continue;
                    };
                    if e != 0 {
                        stack.push((e, depth + 1));
                    }
                }
            } else if entry & 3 == 0 && entry != 0 {
                pids.push(entry);
            }
        }
        let mut unreadable = Vec::new();
        for pid in pids {
            // pid->tasks[PIDTYPE_PID].first is &task->pid_links[PIDTYPE_PID].
            let first = match self.mem.read_u64(pid.wrapping_add(idr.pid_tasks)) {
                Ok(f) => f,
                Err(_) => {
                    unreadable.push(pid);
                    continue;
                }
            };
            if first == 0 {
                continue;
            }
            let task = first.wrapping_sub(idr.pid_links);
            if !seen.insert(task) {
                continue;
            }
            match self.read_task(layout, task) {
                Ok(t) => list.tasks.push(t),
                Err(e) => {
                    if !list.findings.iter().any(|f| f.addr == task) {
                        list.findings.push(TaskFinding {
                            addr: task,
                            detail: format!(
                                "task of pid IDR entry {pid:#x} cannot be read: {}",
                                why(&e)
                            ),
                        });
                    }
                }
            }
        }
        if let Some(&first) = unreadable.first() {
            list.findings.push(TaskFinding {
                addr: first,
                detail: format!(
                    "{} struct pid of the pid IDR cannot be read: tasks reachable only through them are missing",
                    unreadable.len()
                ),
            });
        }
    }

    /// The nodes of the `list_head` ring at `head`: forwards through `next` and, when a
    /// pointer cannot be read, backwards from the head through `prev` up to the gap. `steps`
    /// counts against [`MAX_TASKS`] across calls.
    fn list_nodes(&self, head: u64, steps: &mut usize) -> Vec<u64> {
        let mem = self.mem;
        let mut nodes = Vec::new();
        let mut seen = HashSet::new();
        for link in [0u64, 8] {
            let Ok(mut node) = mem.read_u64(head.wrapping_add(link)) else {
                break;
            };
            let mut gap = false;
            while node != head && *steps < MAX_TASKS && seen.insert(node) {
                *steps += 1;
                nodes.push(node);
                match mem.read_u64(node.wrapping_add(link)) {
                    Ok(n) => node = n,
                    Err(_) => {
                        gap = true;
                        break;
                    }
                }
            }
            if !gap {
                break;
            }
        }
        nodes
    }

    /// Walk the task list from `node` to `head`, following the `next` (`link` 0) or `prev`
    /// (`link` 8) pointers. Returns whether an unreadable task or pointer ended the walk
    /// (rather than the head, a loop or the bound).
    fn walk_list(
        &self,
        layout: &TaskLayout,
        head: u64,
        mut node: u64,
        link: u64,
        list: &mut TaskList,
        seen: &mut HashSet<u64>,
    ) -> bool {
        let mem = self.mem;
        while node != head {
            if seen.len() >= MAX_TASKS {
                list.findings.push(TaskFinding {
                    addr: node,
                    detail: format!("more than {MAX_TASKS} tasks: the task list is corrupt"),
                });
                return false;
            }
            let leader = node.wrapping_sub(layout.tasks);
            if !seen.insert(leader) {
                // Walking backwards after a gap, meeting a task read forwards is the end.
                if link == 0 {
                    list.findings.push(TaskFinding {
                        addr: node,
                        detail: format!(
                            "the task list loops back to task {leader:#x} before reaching init_task"
                        ),
                    });
                }
                return false;
            }
            match self.read_task(layout, leader) {
                Ok(t) => {
                    list.tasks.push(t);
                    self.walk_threads(layout, leader, list, seen);
                }
                Err(e) => {
                    list.findings.push(TaskFinding {
                        addr: leader,
                        detail: format!("task on the task list cannot be read: {}", why(&e)),
                    });
                    return true;
                }
            }
            node = match mem.read_u64(node.wrapping_add(link)) {
                Ok(n) => n,
                Err(e) => {
                    list.findings.push(TaskFinding {
                        addr: node,
                        detail: format!("the task list's link cannot be read: {}", why(&e)),
                    });
                    return true;
                }
            };
        }
        false
    }

    /// The threads of `leader`'s group other than the leader itself.
    fn walk_threads(
        &self,
        layout: &TaskLayout,
        leader: u64,
        list: &mut TaskList,
        seen: &mut HashSet<u64>,
    ) {
        let mem = self.mem;
        let (head, link) = match layout.threads {
            ThreadLinks::SignalThreadHead {
                signal,
                thread_head,
                thread_node,
            } => match mem.read_u64(leader.wrapping_add(signal)) {
                Ok(sig) => (sig.wrapping_add(thread_head), thread_node),
                Err(e) => {
                    list.findings.push(TaskFinding {
                        addr: leader,
                        detail: format!("its signal_struct cannot be read: {}", why(&e)),
                    });
                    return;
                }
            },
            ThreadLinks::ThreadGroup { thread_group } => {
                (leader.wrapping_add(thread_group), thread_group)
            }
        };
        let mut node = match mem.read_u64(head) {
            Ok(n) => n,
            Err(e) => {
                list.findings.push(TaskFinding {
                    addr: head,
                    detail: format!("thread list cannot be read: {}", why(&e)),
                });
                return;
            }
        };
        let mut steps = 0usize;
        while node != head {
            steps += 1;
            let task = node.wrapping_sub(link);
            if steps > MAX_TASKS {
                list.findings.push(TaskFinding {
                    addr: node,
                    detail: format!("thread list of {leader:#x} does not return to its head"),
                });
                return;
            }
            if task != leader {
                if !seen.insert(task) {
                    list.findings.push(TaskFinding {
                        addr: node,
                        detail: format!("thread list of {leader:#x} loops back to task {task:#x}"),
                    });
                    return;
                }
                match self.read_task(layout, task) {
                    Ok(t) => list.tasks.push(t),
                    Err(e) => {
                        list.findings.push(TaskFinding {
                            addr: task,
                            detail: format!("thread of {leader:#x} cannot be read: {}", why(&e)),
                        });
                        return;
                    }
                }
            }
            node = match mem.read_u64(node) {
                Ok(n) => n,
                Err(e) => {
                    list.findings.push(TaskFinding {
                        addr: node,
                        detail: format!("thread list next pointer cannot be read: {}", why(&e)),
                    });
                    return;
                }
            };
        }
    }
}

/// A stack walker over kernel memory that also covers module text.
pub type Walker<'k, 'd> = crate::unwind::KernelUnwinder<'k, vmcore::paging::VirtReader<'d>>;

impl<'d> Kernel<'d> {
    /// The unwinder of [`Kernel::unwinder`] plus every loaded module's ORC table
    /// (`module.arch`), so that module frames unwind by their own tables. Without BTF (no
    /// modules), the vmlinux unwinder.
    pub fn unwinder_with_modules(&self) -> Result<Walker<'_, 'd>> {
        let mut u = self.unwinder()?;
        // arm64 module frames unwind by their frame records like the kernel's.
        let crate::unwind::KernelUnwinder::Orc(walker) = &mut u else {
            return Ok(u);
        };
        let Ok(mods) = self.modules() else {
            return Ok(u);
        };
        let info = self.vmcoreinfo()?;
        let base =
            crate::orc::OrcTable::from_kallsyms(self.symbols()?, self.memory(), info.osrelease())?;
        for m in &mods.modules {
            let Some(orc) = m.orc.filter(|o| o.count > 0 && o.ip_table != 0) else {
                continue;
            };
            walker.add_table(crate::orc::OrcTable {
                ip_table: orc.ip_table,
                count: orc.count as u64,
                entries: orc.orc_table,
                layout: base.layout,
                header_hash: None,
                // Module regions are (base, size); the table covers [base, base + size).
                text: m
                    .regions
                    .iter()
                    .map(|&(base, size)| (base, base.saturating_add(size)))
                    .collect(),
            });
        }
        Ok(u)
    }

    /// Name the frames of `trace` that lie in module text (`lab_crash_bug+0x2a [lab_crash]`),
    /// with the module's own symbol table; call frames are looked up at `pc - 1` as the
    /// unwinder does for the kernel. Frames already named keep their names.
    pub fn name_module_frames(&self, trace: &mut crate::unwind::Backtrace) {
        let Ok(mods) = self.modules() else {
            return;
        };
        for f in &mut trace.frames {
            if f.symbol.is_some() && f.area != crate::unwind::CodeArea::Module {
                continue;
            }
            let lookup = if f.interrupted() {
                f.pc
            } else {
                f.pc.wrapping_sub(1)
            };
            let Some(m) = mods.module_at(lookup) else {
                continue;
            };
            f.module = Some(m.name.clone());
            if let Some(s) = m.symbolize(lookup) {
                f.symbol = Some(crate::unwind::FrameSymbol {
                    name: s.name.to_string(),
                    offset: f.pc - s.addr,
                    size: s.size,
                });
            }
        }
    }

    /// The stack of `task`: from its CPU's register note when it was running there at the
    /// time of the dump, else from the context it saved when it last switched out
    /// ([`Kernel::switch_frame`]). Module frames are named.
    pub fn task_backtrace(&self, task: &Task) -> Result<crate::unwind::Backtrace> {
        let u = self.unwinder_with_modules()?;
        self.task_backtrace_with(&u, task)
    }

    /// [`Kernel::task_backtrace`] with an unwinder built once for many tasks.
    pub fn task_backtrace_with(
        &self,
        unwinder: &Walker<'_, 'd>,
        task: &Task,
    ) -> Result<crate::unwind::Backtrace> {
        use crate::unwind::{StartRegs, Unwinder};
        let start = match task.running_on {
            Some(cpu) => {
                let numbers = self.note_cpus()?;
                let note = self
                    .dump()
                    .cpus()
                    .iter()
                    .zip(numbers)
                    .find(|(_, n)| *n == Some(cpu))
                    .and_then(|(c, _)| c.regs);
                match note {
                    Some(regs) => StartRegs::from_regs(regs, Some(cpu)),
                    None => {
                        return Err(Error::Corrupt {
                            what: "task",
                            addr: task.addr,
                            detail: format!(
                                "pid {} was running on CPU {cpu}, which has no register note",
                                task.pid
                            ),
                        });
                    }
                }
            }
            None => {
                let f = self.switch_frame(task)?;
                StartRegs {
                    ip: f.ip,
                    sp: f.sp,
                    bp: f.bp,
                    regs: None,
                    cpu: None,
                }
            }
        };
        let mut trace = unwinder.unwind(&start);
        self.name_module_frames(&mut trace);
        Ok(trace)
    }
}
