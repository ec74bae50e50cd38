//! The bounded walk of the task list (`init_task.tasks`, thread groups, the PID IDR for
//! tasks the list lost), over any [`KernelMemory`].

use super::*;

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
