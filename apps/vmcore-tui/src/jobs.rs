//! Slow work that must not block input: kernel-log and kernel-symbol decoding, memory
//! searches. The event loop hands [`Job`]s to a worker thread, which reports [`JobEvent`]s
//! back through the same channel as key presses; tests run the same jobs inline with
//! [`run_pending`].

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use vmcore::{Dump, PhysAddr};

use crate::action::Action;
use crate::integrations::{self, DecodedLog};
use crate::state::App;

/// Work for the worker thread.
#[derive(Debug, Clone)]
pub enum Job {
    /// Decode the kernel log.
    DecodeLog {
        /// Job id.
        id: u64,
    },
    /// Decode the kernel's symbols, backtraces and tasks.
    DecodeKernel {
        /// Job id.
        id: u64,
    },
    /// Search physical memory for `needle`, starting at `from`.
    Search {
        /// Job id.
        id: u64,
        /// First address to look at.
        from: u64,
        /// Bytes to find.
        needle: Vec<u8>,
        /// Set by the app to stop the search.
        cancel: Arc<AtomicBool>,
    },
}

/// The decoded kernel model, shared with the app (compared by identity: it is decoded once).
#[derive(Debug, Clone)]
pub struct KernelReady(pub Arc<integrations::KernelModel>);

impl PartialEq for KernelReady {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}
impl Eq for KernelReady {}

/// A report from the worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobEvent {
    /// Progress of job `id`: `done` of `total` units (bytes for searches).
    Progress {
        /// Job id.
        id: u64,
        /// Units done.
        done: u64,
        /// Units in all (0 when unknown).
        total: u64,
    },
    /// The kernel log is decoded (or why it cannot be).
    LogDone {
        /// Job id.
        id: u64,
        /// Lines, or the reason there are none.
        result: Result<DecodedLog, String>,
    },
    /// The kernel model is decoded.
    KernelDone {
        /// Job id.
        id: u64,
        /// The model.
        model: KernelReady,
    },
    /// A search finished: the address of the first match, `None` when there is none, or
    /// `Err` when it was cancelled.
    SearchDone {
        /// Job id.
        id: u64,
        /// Outcome.
        result: Result<Option<u64>, String>,
    },
}

/// Bytes read per step of a search: big enough to be fast, small enough that progress and
/// cancellation are checked often (a 1 TiB dump reports a million times, which is fine).
const CHUNK: usize = 1 << 20;

/// Run `job` on `dump`, reporting through `report`. Never panics on dump content.
pub fn run(job: Job, dump: &Dump, report: &mut dyn FnMut(JobEvent)) {
    match job {
        Job::DecodeLog { id } => {
            let result = integrations::kernel_log(dump, &mut |done, total| {
                report(JobEvent::Progress { id, done, total });
            });
            report(JobEvent::LogDone { id, result });
        }
        Job::DecodeKernel { id } => {
            let model = KernelReady(Arc::new(integrations::kernel_model(dump)));
            report(JobEvent::KernelDone { id, model });
        }
        Job::Search {
            id,
            from,
            needle,
            cancel,
        } => {
            let result = search(dump, from, &needle, &cancel, &mut |done, total| {
                report(JobEvent::Progress { id, done, total });
            });
            report(JobEvent::SearchDone { id, result });
        }
    }
}

/// Find `needle` in the dump's RAM at or after `from`.
pub fn search(
    dump: &Dump,
    from: u64,
    needle: &[u8],
    cancel: &AtomicBool,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Option<u64>, String> {
    if needle.is_empty() {
        return Ok(None);
    }
    // The parts of RAM ranges at or after `from`, in physical order.
    let spans: Vec<(u64, u64)> = dump
        .memory()
        .ram()
        .filter(|r| r.phys.end.0 > from)
        .map(|r| (r.phys.start.0.max(from), r.phys.end.0))
        .collect();
    let total: u64 = spans
        .iter()
        .map(|(s, e)| e.saturating_sub(*s))
        .fold(0, u64::saturating_add);
    let mut done = 0u64;
    let mut buf = vec![0u8; CHUNK + needle.len()];
    for (start, end) in spans {
        // Bytes carried over from the previous chunk so a match across chunks is found.
        let mut carry = 0usize;
        let mut addr = start;
        while addr < end {
            if cancel.load(Ordering::Relaxed) {
                return Err("search cancelled".into());
            }
            let n = (end - addr).min(CHUNK as u64) as usize;
            let window = &mut buf[carry..carry + n];
            if dump.read_phys(PhysAddr(addr), window).is_err() {
                // Unreadable (truncated, excluded) bytes cannot match; start afresh after them.
                carry = 0;
                addr += n as u64;
                done += n as u64;
                progress(done, total);
                continue;
            }
            let hay = &buf[..carry + n];
            let base = addr - carry as u64;
            if let Some(pos) = find(hay, needle) {
                return Ok(Some(base + pos as u64));
            }
            let keep = (needle.len() - 1).min(hay.len());
            buf.copy_within(carry + n - keep..carry + n, 0);
            carry = keep;
            addr += n as u64;
            done += n as u64;
            progress(done, total);
        }
    }
    Ok(None)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let first = needle[0];
    let mut i = 0;
    while i + needle.len() <= hay.len() {
        let pos = hay[i..=hay.len() - needle.len()]
            .iter()
            .position(|&b| b == first)?;
        let at = i + pos;
        if &hay[at..at + needle.len()] == needle {
            return Some(at);
        }
        i = at + 1;
    }
    None
}

/// Run every queued job inline and apply its reports, as the worker and event loop would.
/// For tests and benchmarks, which need deterministic state without threads.
pub fn run_pending(app: &mut App) {
    loop {
        let jobs = app.take_jobs();
        if jobs.is_empty() {
            return;
        }
        for job in jobs {
            let dump = Arc::clone(&app.dump);
            let mut events = Vec::new();
            run(job, &dump, &mut |e| events.push(e));
            for e in events {
                crate::update::update(app, Action::Job(e));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::find;

    #[test]
    fn find_needles() {
        assert_eq!(find(b"hello world", b"world"), Some(6));
        assert_eq!(find(b"aaab", b"ab"), Some(2));
        assert_eq!(find(b"abc", b"abcd"), None);
        assert_eq!(find(b"xyz", b"q"), None);
    }
}
