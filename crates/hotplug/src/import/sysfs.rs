//! Sysfs snapshots: the topology at one instant, from a captured root (`<root>/sys/devices/
//! system/{cpu,memory}`, as `testdata/real/steps/root-<step>/` holds) or a live `/`.
//!
//! Read: `cpu/possible`, `cpu/present`, `cpu/online` (cpulists), `memory/block_size_bytes`
//! (hex), `memory/memoryN/state` (`online`, `offline`, `going-offline`). A snapshot is a
//! history with a start topology and no events; its CPU and block lists are complete.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::history::{History, SourceFormat};
use crate::import::Imported;
use crate::topology::{BlockStatus, CpuStatus, Topology};

const MAX_FILE: u64 = 1 << 20;

fn read(path: &Path) -> Result<Option<String>> {
    match std::fs::File::open(path) {
        Ok(f) => {
            let mut s = String::new();
            f.take(MAX_FILE)
                .read_to_string(&mut s)
                .map_err(|source| Error::Io {
                    path: path.to_path_buf(),
                    source,
                })?;
            Ok(Some(s))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(Error::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

fn cpulist(path: &Path) -> Result<Vec<u32>> {
    let text = read(path)?.ok_or_else(|| Error::Snapshot {
        path: path.to_path_buf(),
        what: "missing".into(),
    })?;
    elfcorehdr::parse_cpulist(path, &text).map_err(|e| Error::Snapshot {
        path: path.to_path_buf(),
        what: e.to_string(),
    })
}

/// `<root>/sys/devices/system`, or `root` itself when it already is such a directory.
fn system_dir(root: &Path) -> PathBuf {
    for cand in [
        root.join("sys/devices/system"),
        root.join("devices/system"),
        root.to_path_buf(),
    ] {
        if cand.join("cpu").is_dir() {
            return cand;
        }
    }
    root.join("sys/devices/system")
}

/// Reads the topology of a sysfs root.
pub fn topology(root: &Path) -> Result<Topology> {
    let sys = system_dir(root);
    let cpu = sys.join("cpu");
    let possible = cpulist(&cpu.join("possible"))?;
    let present = cpulist(&cpu.join("present"))?;
    let online = cpulist(&cpu.join("online"))?;
    let mut t = Topology {
        cpus_complete: true,
        ..Topology::default()
    };
    for c in possible.iter().chain(&present).chain(&online) {
        t.cpus.insert(
            *c,
            CpuStatus {
                present: present.contains(c),
                online: online.contains(c),
                apic_id: None,
            },
        );
    }
    let mem = sys.join("memory");
    if mem.is_dir() {
        let bs_path = mem.join("block_size_bytes");
        if let Some(bs) = read(&bs_path)? {
            let v = kdump_types::parse_hex(&bs)
                .filter(|&v| v > 0)
                .ok_or_else(|| Error::Snapshot {
                    path: bs_path.clone(),
                    what: format!("block size {:?} is not a non-zero hex number", bs.trim()),
                })?;
            t.block_size = Some(v);
        }
        let entries = std::fs::read_dir(&mem).map_err(|source| Error::Io {
            path: mem.clone(),
            source,
        })?;
        for e in entries {
            let e = e.map_err(|source| Error::Io {
                path: mem.clone(),
                source,
            })?;
            let name = e.file_name().to_string_lossy().into_owned();
            let Some(n) = name.strip_prefix("memory") else {
                continue;
            };
            let Ok(index) = n.parse::<u64>() else {
                continue;
            };
            let state_path = e.path().join("state");
            let Some(state) = read(&state_path)? else {
                continue;
            };
            let status = match state.trim() {
                "online" => BlockStatus::Online,
                // going-offline is transient; the block is on its way out of use.
                "offline" | "going-offline" => BlockStatus::Offline,
                other => {
                    return Err(Error::Snapshot {
                        path: state_path,
                        what: format!("unknown memory block state {other:?}"),
                    });
                }
            };
            t.memory.insert(index, status);
        }
        t.memory_complete = true;
    }
    Ok(t)
}

/// Imports a sysfs root as a history with only a start topology.
pub fn import(root: &Path) -> Result<Imported> {
    let t = topology(root)?;
    let mut history = History::new(SourceFormat::Sysfs);
    history.block_size = t.block_size;
    history.start = Some(t);
    Ok(Imported {
        history,
        problems: Vec::new(),
    })
}
