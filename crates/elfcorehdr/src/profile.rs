//! Kernel profiles: the x86_64 elfcorehdr decisions that differ between Linux versions.
//!
//! What changes (docs/KERNELS.md has the table, the sources and what each was checked with):
//!
//! | | 6.1 (Debian 12) | 6.6–6.16 (Debian 13's 6.12) | 6.17+ (Debian sid's 7.2) |
//! |---|---|---|---|
//! | kernel rewrites the header on memory online/offline | no (no `CONFIG_CRASH_HOTPLUG` before 6.6) | yes | yes |
//! | segment `kexec_file_load` reserves | `ALIGN(64 + e_phnum * 56, 4096)` | [`KernelConfig::segment_capacity`] (917,680 B on MAXSMP) | same |
//! | `crash_exclude_mem_range()` | pre-6.8 form: stops after the first partially overlapping range | 6.8+ form: walks every range | 6.8+ |
//! | excluded from System RAM | low 1 MiB, `crashk_res`, `crashk_low_res` | same | same, then every `crashk_cma_ranges[i]` |
//! | extra range slots | 2 | 2 | `2 + crashk_cma_cnt` |
//!
//! A profile is chosen from the live system or a captured root ([`KernelProfile::detect`]: the
//! release and which sysfs files exist), from a dump's VMCOREINFO `OSRELEASE`
//! ([`KernelProfile::from_release`]), or by name ([`KernelProfile::from_name`], the CLI's
//! `--kernel`). It travels in [`SystemState::profile`](crate::SystemState::profile), so every
//! builder, updater and check uses the same one.

use std::fmt;

/// How `crash_exclude_mem_range()` splits ranges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExcludeForm {
    /// Before 6.8 (`kernel/kexec_file.c`, later `kernel/crash_core.c`): removes fully covered
    /// ranges, then trims or splits the *first* partially overlapping range and stops.
    Pre68,
    /// 6.8 and later: walks every range, splitting in place (`memmove`).
    Since68,
}

/// The version-dependent x86_64 elfcorehdr behaviour of one kernel family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KernelProfile {
    /// Short name, as `--kernel` takes it: `6.1`, `6.12`, `7`.
    pub name: &'static str,
    /// What it covers, for messages.
    pub about: &'static str,
    /// The kernel rewrites the loaded header on memory online/offline (`CONFIG_CRASH_HOTPLUG`,
    /// 6.6+). Without it, the header `kexec_file_load` built stays as it was until userspace
    /// reloads the crash kernel, and the segment is just the page-aligned header.
    pub crash_hotplug: bool,
    /// CMA-backed crash kernel memory (`crashkernel=SIZE,cma`, 6.17+): `crashk_cma_ranges` are
    /// excluded after `crashk_low_res`, and each adds a range slot.
    pub cma_ranges: bool,
    /// The `crash_exclude_mem_range()` form.
    pub exclude: ExcludeForm,
}

impl KernelProfile {
    /// Linux before 6.6, e.g. Debian 12's 6.1: no crash hotplug, a static header.
    pub const LINUX_6_1: KernelProfile = KernelProfile {
        name: "6.1",
        about: "Linux 5.x-6.5 (Debian 12's 6.1): no crash hotplug; the header kexec_file_load builds never changes",
        crash_hotplug: false,
        cma_ranges: false,
        exclude: ExcludeForm::Pre68,
    };

    /// Linux 6.8 to 6.16, e.g. Debian 13's and RHEL 10's 6.12: crash hotplug, MAXSMP-sized
    /// segment.
    pub const LINUX_6_12: KernelProfile = KernelProfile {
        name: "6.12",
        about: "Linux 6.6-6.16 (Debian 13 / RHEL 10's 6.12): crash hotplug rewrites the header in place",
        crash_hotplug: true,
        cma_ranges: false,
        exclude: ExcludeForm::Since68,
    };

    /// Linux 6.17 and later, e.g. Debian sid's 7.2: as 6.12, plus CMA crash kernel ranges.
    pub const LINUX_7: KernelProfile = KernelProfile {
        name: "7",
        about: "Linux 6.17+ (Debian sid's 7.2): crash hotplug, and crashkernel=,cma ranges excluded",
        crash_hotplug: true,
        cma_ranges: true,
        exclude: ExcludeForm::Since68,
    };

    /// Every named profile, oldest first.
    pub const ALL: [KernelProfile; 3] = [Self::LINUX_6_1, Self::LINUX_6_12, Self::LINUX_7];

    /// The profile for a kernel release string (`uname -r`, `/proc/sys/kernel/osrelease`,
    /// VMCOREINFO `OSRELEASE`): `6.1.0-57-amd64` → 6.1, `6.12.111+deb12-amd64` → 6.12,
    /// `7.2.13+deb14-amd64` → 7. `None` when it does not start with `MAJOR.MINOR`.
    ///
    /// 6.6 and 6.7 have crash hotplug with the pre-6.8 exclusion form; they map to the 6.12
    /// profile (the exclusion forms agree unless one excluded range partially overlaps two
    /// System RAM ranges, which x86's exclusions never do on the machines we know of).
    pub fn from_release(release: &str) -> Option<KernelProfile> {
        let mut it = release.trim().split(['.', '-', '+', ' ']);
        let major: u32 = it.next()?.parse().ok()?;
        let minor: u32 = it.next()?.parse().ok()?;
        Some(match (major, minor) {
            (0..=5, _) | (6, 0..=5) => Self::LINUX_6_1,
            (6, 6..=16) => Self::LINUX_6_12,
            _ => Self::LINUX_7,
        })
    }

    /// The profile of the kernel a dump came from: its VMCOREINFO text's `OSRELEASE=` line.
    /// `None` without that key or with a release [`KernelProfile::from_release`] cannot read.
    /// (A dump does not say whether its kernel had crash hotplug built in; the release decides.)
    pub fn from_vmcoreinfo(vmcoreinfo: &str) -> Option<KernelProfile> {
        vmcoreinfo
            .lines()
            .find_map(|l| l.strip_prefix("OSRELEASE="))
            .and_then(Self::from_release)
    }

    /// The profile named `6.1`, `6.12` or `7` (also any release string, e.g. `7.2` or
    /// `6.1.0-57-amd64`, through [`KernelProfile::from_release`]).
    pub fn from_name(name: &str) -> Option<KernelProfile> {
        Self::ALL
            .into_iter()
            .find(|p| p.name == name)
            .or_else(|| Self::from_release(name))
    }

    /// The profile of a running kernel (or a captured root of one): `release` from
    /// `/proc/sys/kernel/osrelease` if known, and whether sysfs has
    /// `/sys/kernel/crash_elfcorehdr_size` (crash hotplug built in) and
    /// `/sys/kernel/kexec_crash_cma_ranges` (6.17+).
    ///
    /// The files win over the version: a distribution kernel may carry crash hotplug back to
    /// an older release (RHEL 9's 5.14), or build without it (then it behaves like 6.1).
    /// Without a release, the files alone decide: no `crash_elfcorehdr_size` → 6.1.
    pub fn detect(release: Option<&str>, has_elfcorehdr_size: bool, has_cma_file: bool) -> Self {
        let base = release.and_then(Self::from_release);
        let mut p = match (base, has_elfcorehdr_size) {
            (_, false) => Self::LINUX_6_1,
            (Some(p), true) if p.crash_hotplug => p,
            (_, true) => Self::LINUX_6_12,
        };
        if has_cma_file && p.crash_hotplug {
            p = Self::LINUX_7;
        } else if has_cma_file {
            // CMA ranges without crash hotplug (a 6.17+ kernel built without
            // CONFIG_CRASH_HOTPLUG): the static header, with CMA exclusions.
            p.cma_ranges = true;
            p.exclude = ExcludeForm::Since68;
        }
        p
    }

    /// Extra `crash_mem` slots x86 `fill_up_crash_elf_data()` adds to the System RAM count:
    /// 2 ("exclusion of crash region and/or crashk_low_res may cause another range split"),
    /// plus one per CMA range on 6.17+. (Mainline after 7.2 adds a third for the low 1 MiB;
    /// the count matters only when the exclusions run out of slots.)
    pub fn extra_range_slots(&self, cma_ranges: usize) -> usize {
        2 + if self.cma_ranges { cma_ranges } else { 0 }
    }
}

impl Default for KernelProfile {
    fn default() -> Self {
        Self::LINUX_6_12
    }
}

impl fmt::Display for KernelProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "linux-{}", self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn releases_map_to_profiles() {
        assert_eq!(
            KernelProfile::from_release("6.1.0-57-amd64"),
            Some(KernelProfile::LINUX_6_1)
        );
        assert_eq!(
            KernelProfile::from_release("6.12.111+deb12-amd64"),
            Some(KernelProfile::LINUX_6_12)
        );
        assert_eq!(
            KernelProfile::from_release("7.2.13+deb14-amd64"),
            Some(KernelProfile::LINUX_7)
        );
        assert_eq!(
            KernelProfile::from_release("6.17.0"),
            Some(KernelProfile::LINUX_7)
        );
        assert_eq!(
            KernelProfile::from_release("6.5.9"),
            Some(KernelProfile::LINUX_6_1)
        );
        assert_eq!(KernelProfile::from_release("linux"), None);
        assert_eq!(KernelProfile::from_name("7"), Some(KernelProfile::LINUX_7));
        assert_eq!(
            KernelProfile::from_name("6.1"),
            Some(KernelProfile::LINUX_6_1)
        );
    }

    #[test]
    fn sysfs_files_win_over_the_release() {
        // A 6.12 built without CONFIG_CRASH_HOTPLUG behaves like 6.1.
        assert!(!KernelProfile::detect(Some("6.12.1"), false, false).crash_hotplug);
        // A backport of crash hotplug to an old release.
        assert_eq!(
            KernelProfile::detect(Some("5.14.0-500.el9"), true, false),
            KernelProfile::LINUX_6_12
        );
        assert_eq!(
            KernelProfile::detect(None, true, true),
            KernelProfile::LINUX_7
        );
        assert_eq!(
            KernelProfile::detect(Some("7.2.13"), true, false),
            KernelProfile::LINUX_7
        );
        let no_hp_cma = KernelProfile::detect(Some("7.2.13"), false, true);
        assert!(!no_hp_cma.crash_hotplug && no_hp_cma.cma_ranges);
    }

    #[test]
    fn cma_slots_only_where_the_kernel_has_them() {
        assert_eq!(KernelProfile::LINUX_7.extra_range_slots(2), 4);
        assert_eq!(KernelProfile::LINUX_6_12.extra_range_slots(2), 2);
    }
}
