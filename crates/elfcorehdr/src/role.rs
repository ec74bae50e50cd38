//! What each program header of a parsed elfcorehdr describes, for tables and messages.

use std::fmt;

use kdump_types::PhysRange;

use crate::parse::Elfcorehdr;

/// The role of one program header in a kernel-built elfcorehdr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhdrRole {
    /// The PT_NOTE of the k-th possible CPU (its `crash_notes`), k counted in header order.
    CpuNote(usize),
    /// The VMCOREINFO PT_NOTE.
    Vmcoreinfo,
    /// The kernel text PT_LOAD.
    KernelText,
    /// A System RAM PT_LOAD.
    Ram(PhysRange),
    /// None of those (unused, or beyond `e_phnum`).
    Other,
}

impl fmt::Display for PhdrRole {
    /// `cpu-note K`, `vmcoreinfo`, `kernel-text`, `ram` or `other`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PhdrRole::CpuNote(k) => write!(f, "cpu-note {k}"),
            PhdrRole::Vmcoreinfo => f.write_str("vmcoreinfo"),
            PhdrRole::KernelText => f.write_str("kernel-text"),
            PhdrRole::Ram(_) => f.write_str("ram"),
            PhdrRole::Other => f.write_str("other"),
        }
    }
}

impl Elfcorehdr {
    /// The role of program header `index`.
    pub fn role(&self, index: usize) -> PhdrRole {
        if let Some(k) = self.cpu_notes.iter().position(|n| n.phdr_index == index) {
            PhdrRole::CpuNote(k)
        } else if self.vmcoreinfo.is_some_and(|v| v.phdr_index == index) {
            PhdrRole::Vmcoreinfo
        } else if self.kernel_text.is_some_and(|t| t.phdr_index == index) {
            PhdrRole::KernelText
        } else if let Some(r) = self.ram.iter().find(|r| r.phdr_index == index) {
            PhdrRole::Ram(r.range)
        } else {
            PhdrRole::Other
        }
    }
}
