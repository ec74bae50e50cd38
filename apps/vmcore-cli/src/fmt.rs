//! Small text-formatting helpers shared by the renderers.

/// `--color`: when to color the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
#[allow(missing_docs)] // Plain comments: doc comments would turn every help into the long layout.
pub enum ColorWhen {
    // When standard output is a terminal and NO_COLOR is not set (to anything but empty).
    Auto,
    // Always, even into a pipe or with NO_COLOR set.
    Always,
    Never,
}

impl ColorWhen {
    /// The last `--color WHEN` / `--color=WHEN` of the command line (auto when absent or not
    /// one of the three: clap reports that one).
    pub fn from_args(args: impl Iterator<Item = std::ffi::OsString>) -> ColorWhen {
        let args: Vec<String> = args.map(|a| a.to_string_lossy().into_owned()).collect();
        let mut when = ColorWhen::Auto;
        for (i, a) in args.iter().enumerate() {
            let v = if a == "--color" {
                args.get(i + 1).map(String::as_str)
            } else {
                a.strip_prefix("--color=")
            };
            match v {
                Some("always") => when = ColorWhen::Always,
                Some("never") => when = ColorWhen::Never,
                Some("auto") => when = ColorWhen::Auto,
                _ => {}
            }
            if a == "--" {
                break;
            }
        }
        when
    }
}

static COLOR: std::sync::OnceLock<bool> = std::sync::OnceLock::new();

/// Decide once whether output is colored: `always`, `never`, or for `auto` a terminal on
/// standard output without `NO_COLOR` (<https://no-color.org>: any non-empty value) and with a
/// `TERM` other than `dumb`.
pub fn set_color(when: ColorWhen) {
    use std::io::IsTerminal;
    let on = match when {
        ColorWhen::Always => true,
        ColorWhen::Never => false,
        ColorWhen::Auto => {
            std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::env::var_os("TERM").is_none_or(|t| t != "dumb")
        }
    };
    let _ = COLOR.set(on);
}

/// Whether output is colored (false until [`set_color`]).
pub fn color_enabled() -> bool {
    COLOR.get().copied().unwrap_or(false)
}

/// What a colored word means.
#[derive(Debug, Clone, Copy)]
pub enum Paint {
    /// Errors and failed checks (red, bold).
    Error,
    /// Warnings and inconclusive checks (yellow).
    Warning,
    /// Passed checks (green).
    Ok,
}

/// `text` in the color of `p` when color is on, else `text` unchanged.
pub fn paint(text: &str, p: Paint) -> String {
    if !color_enabled() {
        return text.to_string();
    }
    let code = match p {
        Paint::Error => "1;31",
        Paint::Warning => "33",
        Paint::Ok => "32",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

/// `YYYY-MM-DD HH:MM:SS UTC` for seconds since the epoch (proleptic Gregorian).
pub fn utc(secs: i64) -> String {
    let (y, m, d, hh, mm, ss) = vmcore::civil_utc(secs);
    format!("{y:04}-{m:02}-{d:02} {hh:02}:{mm:02}:{ss:02} UTC")
}

/// Bytes with a binary unit, e.g. `512.0 MiB`.
pub fn size(n: u64) -> String {
    const U: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = n as f64;
    let mut i = 0;
    while v >= 1024.0 && i + 1 < U.len() {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", U[i])
    }
}

/// The file name of a path, for output that must not depend on where the file lives.
pub fn file_name(p: Option<&std::path::Path>) -> String {
    p.and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "-".into())
}

/// Names for several files that tell them apart: each file's name, with as many of its
/// parent folders as it takes to make the names differ (`a/vmcore`, `b/vmcore`), so reports
/// stay independent of where the files live unless two paths share every component.
pub fn distinct_names(paths: &[std::path::PathBuf]) -> Vec<String> {
    use std::path::Component;
    let parts: Vec<Vec<String>> = paths
        .iter()
        .map(|p| {
            p.components()
                .filter(|c| !matches!(c, Component::CurDir))
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect()
        })
        .collect();
    let suffix = |i: usize, n: usize| {
        let v = &parts[i];
        let from = v.len().saturating_sub(n);
        let s = v[from..].join("/");
        if from == 0 {
            // The whole path: keep it as the user typed it (absolute paths keep their root).
            paths[i].display().to_string()
        } else {
            s
        }
    };
    (0..paths.len())
        .map(|i| {
            let mut n = 1;
            loop {
                let mine = suffix(i, n);
                let clash = (0..paths.len())
                    .any(|j| j != i && parts[j] != parts[i] && suffix(j, n) == mine);
                if !clash || n >= parts[i].len() {
                    return if parts[i].is_empty() {
                        "-".into()
                    } else {
                        mine
                    };
                }
                n += 1;
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn distinct_names_add_parents_only_when_needed() {
        let p = |v: &[&str]| v.iter().map(std::path::PathBuf::from).collect::<Vec<_>>();
        assert_eq!(
            super::distinct_names(&p(&["/var/crash/a/vmcore", "/var/crash/b/vmcore", "x.elf"])),
            ["a/vmcore", "b/vmcore", "x.elf"]
        );
        assert_eq!(
            super::distinct_names(&p(&["/d/one.kdump", "two.kdump"])),
            ["one.kdump", "two.kdump"]
        );
        assert_eq!(super::distinct_names(&p(&["-"])), ["-"]);
    }

    #[test]
    fn utc_matches_known_dates() {
        assert_eq!(super::utc(0), "1970-01-01 00:00:00 UTC");
        // CRASHTIME of the real scenario (console.log: 2026-11-26T01:25:17Z).
        assert_eq!(super::utc(1_795_656_317), "2026-11-26 01:25:17 UTC");
        assert_eq!(super::utc(951_782_400), "2000-02-29 00:00:00 UTC");
    }
    #[test]
    fn sizes() {
        assert_eq!(super::size(512), "512 B");
        assert_eq!(super::size(3 << 20), "3.0 MiB");
    }
}
