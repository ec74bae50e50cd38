//! Small text-formatting helpers shared by the renderers.

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

#[cfg(test)]
mod tests {
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
