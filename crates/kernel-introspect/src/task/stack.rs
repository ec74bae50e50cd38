//! Stacks of tasks: the unwinder with every module's ORC table, module frame names, and a
//! sleeping task's backtrace from its switch frame.

use super::*;

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
