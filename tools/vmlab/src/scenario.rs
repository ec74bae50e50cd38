//! Scenario files (`scenarios/*.json`): the machine shape and the steps, as data.
//!
//! ```json
//! { "name": "ci-short",
//!   "machine": { "smp": 2, "maxcpus": 4, "coldplug_cores": [2, 3], "mem_mib": 512,
//!                "slots": 4, "maxmem_mib": 2048, "crashkernel": "192M" },
//!   "timeout_s": 420,
//!   "steps": [ { "name": "01-mem-add", "do": ["mem-add dimm1 128M"] },
//!              { "name": "02-dimm-remove", "do": ["mem-remove dimm1"], "expect": "stale" } ],
//!   "crash": { "online_cpus": [0, 2], "check_codes": ["..."] } }
//! ```
//!
//! Unknown keys are errors: a typo in a scenario must not silently drop a step or a check.

use std::path::Path;

use anyhow::{Context, bail};
use serde::Deserialize;

/// One scenario file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Short name, used for the run folder.
    pub name: String,
    /// What the scenario shows (free text, printed at the start).
    #[serde(default)]
    pub about: String,
    /// The QEMU machine.
    #[serde(default)]
    pub machine: Machine,
    /// Hard limit for the whole run (boot retries, steps, crash), seconds.
    #[serde(default = "default_timeout")]
    pub timeout_s: u64,
    /// Steps after the boot snapshot (`00-boot` is implicit).
    pub steps: Vec<Step>,
    /// What the dumps saved after the crash must show.
    #[serde(default)]
    pub crash: CrashExpect,
    /// The guest kernel (default: the Debian 12 6.12 package `scripts/vm-build.sh` picks).
    /// `VMLAB_KERNEL_PKG` / `VMLAB_APT_SUITE` in the environment override it.
    #[serde(default)]
    pub kernel: Option<KernelPkg>,
}

/// Which Debian kernel package(s) the guest boots.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KernelPkg {
    /// Package name(s), comma-separated when the kernel is split (Debian 14: the
    /// `linux-binary-unsigned-…` image and `linux-modules-…`), e.g.
    /// `linux-image-6.1.0-57-amd64-unsigned`.
    pub package: String,
    /// Debian suite to fetch it from when the machine's apt sources lack it (e.g. `sid`).
    #[serde(default)]
    pub apt_suite: Option<String>,
}

fn default_timeout() -> u64 {
    600
}

/// Machine shape (defaults: LAB.md's machine).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Machine {
    /// vCPUs at boot from `-smp` (cores 0..smp).
    pub smp: u32,
    /// `maxcpus` of `-smp`.
    pub maxcpus: u32,
    /// Extra cores cold-plugged with `-device` (their APIC IDs must exist at boot: LAB.md).
    pub coldplug_cores: Vec<u32>,
    /// Boot memory, MiB.
    pub mem_mib: u64,
    /// DIMM slots.
    pub slots: u32,
    /// `maxmem`, MiB.
    pub maxmem_mib: u64,
    /// `crashkernel=` value.
    pub crashkernel: String,
    /// A second `crashkernel=SIZE,cma` reservation (Linux 6.17+), e.g. `64M`.
    pub crashkernel_cma: Option<String>,
}

impl Default for Machine {
    fn default() -> Self {
        Machine {
            smp: 2,
            maxcpus: 4,
            coldplug_cores: vec![2, 3],
            mem_mib: 512,
            slots: 4,
            maxmem_mib: 2048,
            crashkernel: "192M".into(),
            crashkernel_cma: None,
        }
    }
}

/// What the kernel's header is expected to be after a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Expect {
    /// The kernel's header equals what our engine builds from the state (and `verify --live`
    /// is clean).
    #[default]
    InSync,
    /// The kernel did not (and should not) rewrite its header: it describes memory that is gone
    /// (a DIMM removed after the last memory event). `verify --live` must report it; the
    /// engine's replay of the step's events must still reproduce the kernel's bytes.
    Stale,
}

/// One step: actions, then snapshot and checks.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Step name, e.g. `03-cpu3-offline` (becomes `root-<name>`, `elfcorehdr-<name>.bin`).
    pub name: String,
    /// Actions, see [`Action::parse`].
    #[serde(rename = "do")]
    pub actions: Vec<String>,
    /// What the header must be afterwards.
    #[serde(default)]
    pub expect: Expect,
}

/// Expectations on the dumps the crash kernel saves.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CrashExpect {
    /// CPUs online at the crash: exactly these have a register context in /proc/vmcore.
    pub online_cpus: Option<Vec<u32>>,
    /// Error and warning codes `vmcore check --history` must report on the raw /proc/vmcore
    /// copy: exactly these kinds, no more (e.g. `HP005` when a removed DIMM is still in the
    /// header; one finding per block, compared as a set).
    pub check_codes: Vec<String>,
    /// How the guest is crashed (default `sysrq`).
    pub trigger: Trigger,
    /// CPU the crash is triggered on (`taskset -c N`; default: wherever the shell runs).
    pub crash_cpu: Option<u32>,
    /// CPUs kept busy in user space at the crash (a busybox `while :; do :; done`, pinned):
    /// their register notes must be reported as interrupted in user mode.
    pub user_spin_cpus: Vec<u32>,
    /// CPUs kept busy in the kernel at the crash (`dd if=/dev/zero of=/dev/null`, pinned):
    /// their traces start in kernel text, interrupted by the crash NMI.
    pub kernel_spin_cpus: Vec<u32>,
}

/// How the guest is crashed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Trigger {
    /// `echo c > /proc/sysrq-trigger`: a panic in `sysrq_handle_crash` (vmlinux text).
    #[default]
    Sysrq,
    /// `echo BUG > /sys/kernel/debug/provoke-crash/DIRECT` with `tools/vmlab/lab_crash`
    /// loaded and `kernel.panic_on_oops=1`: a BUG() inside a module, so the crashing CPU's
    /// registers (and its first three frames) are in module text.
    LabCrashBug,
}

/// A hotplug action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// `mem-add ID SIZE`: QMP object-add + device_add pc-dimm; wait until its blocks are online.
    MemAdd {
        /// DIMM id.
        id: String,
        /// Bytes.
        size: u64,
    },
    /// `mem-remove ID`: QMP device_del; wait for DEVICE_DELETED and the blocks to go.
    MemRemove {
        /// DIMM id.
        id: String,
    },
    /// `mem-offline ID K`: the DIMM's K-th memory block offline (guest sysfs).
    MemOffline {
        /// DIMM id.
        id: String,
        /// Block index within the DIMM.
        block: usize,
    },
    /// `mem-online ID K`.
    MemOnline {
        /// DIMM id.
        id: String,
        /// Block index within the DIMM.
        block: usize,
    },
    /// `cpu-offline N` (guest sysfs; no vCPU unplug: QEMU 7.2 TCG may crash, LAB.md).
    CpuOffline(u32),
    /// `cpu-online N`.
    CpuOnline(u32),
}

/// `128M`, `1G`, `4096` (bytes).
pub fn parse_size(s: &str) -> anyhow::Result<u64> {
    let (num, mul) = match s.as_bytes().last() {
        Some(b'K' | b'k') => (&s[..s.len() - 1], 1u64 << 10),
        Some(b'M' | b'm') => (&s[..s.len() - 1], 1 << 20),
        Some(b'G' | b'g') => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    let n: u64 = num
        .parse()
        .with_context(|| format!("bad size {s:?} (e.g. 128M)"))?;
    n.checked_mul(mul)
        .with_context(|| format!("size {s:?} overflows"))
}

impl Action {
    /// Parse one action line.
    pub fn parse(line: &str) -> anyhow::Result<Action> {
        let w: Vec<&str> = line.split_whitespace().collect();
        let num = |s: &str| -> anyhow::Result<u32> {
            s.parse()
                .with_context(|| format!("{line:?}: {s:?} is not a number"))
        };
        Ok(match w.as_slice() {
            ["mem-add", id, size] => Action::MemAdd {
                id: id.to_string(),
                size: parse_size(size)?,
            },
            ["mem-remove", id] => Action::MemRemove { id: id.to_string() },
            ["mem-offline", id, k] => Action::MemOffline {
                id: id.to_string(),
                block: num(k)? as usize,
            },
            ["mem-online", id, k] => Action::MemOnline {
                id: id.to_string(),
                block: num(k)? as usize,
            },
            ["cpu-offline", n] => Action::CpuOffline(num(n)?),
            ["cpu-online", n] => Action::CpuOnline(num(n)?),
            _ => bail!(
                "unknown action {line:?}: expected mem-add ID SIZE | mem-remove ID | \
                 mem-offline ID K | mem-online ID K | cpu-offline N | cpu-online N"
            ),
        })
    }

    /// The history `action` name (testdata/real/history.jsonl uses these).
    pub fn kind(&self) -> &'static str {
        match self {
            Action::MemAdd { .. } => "mem_add",
            Action::MemRemove { .. } => "mem_remove",
            Action::MemOffline { .. } => "mem_offline",
            Action::MemOnline { .. } => "mem_online",
            Action::CpuOffline(_) => "cpu_offline",
            Action::CpuOnline(_) => "cpu_online",
        }
    }
}

impl Scenario {
    /// Read and validate a scenario file.
    pub fn load(path: &Path) -> anyhow::Result<Scenario> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read scenario {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("scenario {}", path.display()))
    }

    /// Parse and validate scenario JSON.
    pub fn parse(text: &str) -> anyhow::Result<Scenario> {
        let s: Scenario = serde_json::from_str(text)?;
        s.validate()?;
        Ok(s)
    }

    /// Cross-field checks: names unique and path-safe, actions parse, CPUs and DIMMs exist.
    pub fn validate(&self) -> anyhow::Result<()> {
        let m = &self.machine;
        if m.smp == 0 || m.smp > m.maxcpus {
            bail!("machine: smp {} must be 1..=maxcpus {}", m.smp, m.maxcpus);
        }
        for &c in &m.coldplug_cores {
            if c < m.smp || c >= m.maxcpus {
                bail!(
                    "machine: coldplug core {c} must be in smp..maxcpus ({}..{})",
                    m.smp,
                    m.maxcpus
                );
            }
        }
        let ncpus = m.smp + m.coldplug_cores.len() as u32;
        let mut names = std::collections::HashSet::new();
        names.insert("00-boot".to_string());
        let mut dimms: Vec<String> = Vec::new();
        for s in &self.steps {
            if !names.insert(s.name.clone()) {
                bail!("step name {:?} is used twice (00-boot is implicit)", s.name);
            }
            if s.name.is_empty()
                || !s
                    .name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                bail!("step name {:?}: use [A-Za-z0-9_-] only", s.name);
            }
            if s.actions.is_empty() {
                bail!("step {}: no actions", s.name);
            }
            for a in &s.actions {
                let act = Action::parse(a).with_context(|| format!("step {}", s.name))?;
                match &act {
                    Action::MemAdd { id, size } => {
                        if dimms.contains(id) {
                            bail!("step {}: DIMM {id} is already plugged", s.name);
                        }
                        if *size == 0 || size % (128 << 20) != 0 {
                            bail!(
                                "step {}: DIMM size must be a multiple of the 128 MiB memory block",
                                s.name
                            );
                        }
                        dimms.push(id.clone());
                    }
                    Action::MemRemove { id }
                    | Action::MemOffline { id, .. }
                    | Action::MemOnline { id, .. } => {
                        if !dimms.contains(id) {
                            bail!("step {}: DIMM {id} is not plugged at this point", s.name);
                        }
                        if matches!(act, Action::MemRemove { .. }) {
                            dimms.retain(|d| d != id);
                        }
                    }
                    Action::CpuOffline(n) | Action::CpuOnline(n) => {
                        if *n == 0 || *n >= ncpus {
                            bail!(
                                "step {}: CPU {n} cannot go on/offline (cpu0 cannot; the machine has {ncpus})",
                                s.name
                            );
                        }
                    }
                }
            }
        }
        let c = &self.crash;
        let placed: Vec<u32> = c
            .crash_cpu
            .iter()
            .chain(&c.user_spin_cpus)
            .chain(&c.kernel_spin_cpus)
            .copied()
            .collect();
        for (i, n) in placed.iter().enumerate() {
            if *n >= ncpus {
                bail!("crash: CPU {n} does not exist (the machine has {ncpus})");
            }
            if placed[..i].contains(n) {
                bail!(
                    "crash: CPU {n} is given two jobs (crash_cpu, user_spin_cpus, kernel_spin_cpus)"
                );
            }
        }
        if c.trigger == Trigger::Sysrq && !placed.is_empty() {
            bail!("crash: crash_cpu and the spinning CPUs are for the lab-crash-bug trigger only");
        }
        if self.timeout_s < 60 {
            bail!("timeout_s {} is too short to boot a guest", self.timeout_s);
        }
        Ok(())
    }

    /// The kernel command line of the production kernel.
    pub fn kernel_append(&self) -> String {
        let cma = self
            .machine
            .crashkernel_cma
            .as_ref()
            .map(|c| format!(" crashkernel={c},cma"))
            .unwrap_or_default();
        format!(
            "console=ttyS0 crashkernel={}{cma} memhp_default_state=online_movable init_on_free=1 panic=-1 loglevel=6",
            self.machine.crashkernel
        )
    }
}

#[cfg(test)]
mod tests;
