//! The history check of one dump: what the history says about itself ([`history_findings`]),
//! the diff of the replayed topology against the dump ([`crate::diff()`]), and HP016 when
//! nothing could be compared ([`inconclusive_reason`]).

use crate::diff::{
    BLOCK_SIZE_MISMATCH, DumpContent, DumpKind, ELFCOREHDR_UPDATE_LOST,
    ELFCOREHDR_UPDATE_TOO_LARGE, HISTORY_EVENT_UNRESOLVED, HISTORY_INCONCLUSIVE, HotplugFinding,
    Subject, diff, hf,
};
use crate::history::{History, NoticeKind, format_seconds_us};
use crate::topology::Topology;

/// Findings about the history itself up to the replayed point: kernel notices of lost or
/// oversized elfcorehdr updates, events replay could not apply, block-size conflicts.
pub fn history_findings(history: &History, topology: &Topology) -> Vec<HotplugFinding> {
    let mut out = Vec::new();
    for n in history
        .notices
        .iter()
        .filter(|n| n.events_before <= topology.events_applied)
    {
        let when = n
            .uptime_us
            .map(|u| format!(" at uptime {}", format_seconds_us(u)))
            .unwrap_or_default();
        match n.kind {
            NoticeKind::Updated => {}
            NoticeKind::UpdateLost => out.push(hf(
                ELFCOREHDR_UPDATE_LOST,
                Subject::History { line: n.line },
                None,
                format!("the kernel dropped an elfcorehdr update{when} (kexec_trylock failed): the header may miss the event before it"),
            )),
            NoticeKind::UpdateTooLarge { elfsz, memsz } => out.push(hf(
                ELFCOREHDR_UPDATE_TOO_LARGE,
                Subject::History { line: n.line },
                None,
                format!("the kernel's new elfcorehdr ({elfsz} bytes) did not fit its {memsz}-byte segment{when}: the old header stayed"),
            )),
        }
    }
    for u in &topology.unresolved {
        out.push(hf(
            HISTORY_EVENT_UNRESOLVED,
            Subject::History { line: u.line },
            None,
            format!("event {} not replayed: {}", u.event_index, u.why),
        ));
    }
    for &(a, b) in &history.block_size_conflicts {
        out.push(hf(
            BLOCK_SIZE_MISMATCH,
            Subject::Header,
            None,
            format!("the history's sources disagree on the memory block size: {a:#x} and {b:#x}"),
        ));
    }
    out
}

/// Why `history`, replayed to `topology`, could not be compared with `content`, or `None`
/// when something was compared.
///
/// A history without a starting topology (a sysfs snapshot, or a start record that lists the
/// CPUs and memory blocks) knows only the CPUs and blocks its events name. It still compares
/// something when a CPU it knows to be online can be matched to a register note (QEMU dumps,
/// elfcorehdrs, or kernel dumps whose notes were attributed with `--state`/`--elfcorehdr`) or
/// when it knows memory blocks and their size. Otherwise nothing was compared: a dump from
/// another machine would diff as cleanly as the right one, so the check must not pass.
pub fn inconclusive_reason(
    history: &History,
    topology: &Topology,
    content: &DumpContent,
) -> Option<String> {
    if topology.cpus_complete || topology.memory_complete {
        return None;
    }
    let online = topology.online_cpus();
    let notes_named = content.kind != DumpKind::KernelVmcore
        || content
            .cpus
            .iter()
            .filter(|s| s.has_context)
            .all(|s| s.cpu.is_some());
    let cpus_compared = !online.is_empty() && notes_named;
    let memory_compared = topology.block_size.is_some_and(|b| b > 0) && !topology.memory.is_empty();
    if cpus_compared || memory_compared {
        return None;
    }
    let cpus = if online.is_empty() {
        "it names no online CPU".to_string()
    } else {
        format!(
            "the register notes are not attributed to its online CPU(s) {} (give --state or --elfcorehdr)",
            elfcorehdr::format_cpulist(online.iter().copied())
        )
    };
    let memory = if topology.memory.is_empty() {
        "no memory block"
    } else {
        "memory blocks without their size"
    };
    Some(format!(
        "the history has no starting topology (a sysfs snapshot or a start record) before its {} event(s), {cpus}, and it gives {memory}: nothing was compared with the dump; give the snapshot first (--history sysfs-at-boot/ --history events)",
        history.events.len()
    ))
}

/// The history check of one dump, as `vmcore check` and `vmcore-tui` both run it: the
/// history's own findings ([`history_findings`]), the diff of the topology against the dump
/// ([`diff`]), and HP016 (a warning) when nothing could be compared
/// ([`inconclusive_reason`]).
pub fn history_check(
    history: &History,
    topology: &Topology,
    content: &DumpContent,
) -> Vec<HotplugFinding> {
    let mut out = history_findings(history, topology);
    out.extend(diff(topology, content));
    if let Some(why) = inconclusive_reason(history, topology, content) {
        out.push(hf(HISTORY_INCONCLUSIVE, Subject::Topology, None, why));
    }
    out
}
