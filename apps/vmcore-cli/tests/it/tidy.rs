//! Tidy checks of the whole workspace (rust-analyzer style): architecture invariants and docs
//! that must follow the code.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n == "target") {
                continue;
            }
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

fn deps_of(manifest: &Path) -> BTreeSet<String> {
    let text = fs::read_to_string(manifest).unwrap();
    let mut deps = BTreeSet::new();
    let mut in_deps = false;
    for l in text.lines() {
        let t = l.trim();
        if t.starts_with('[') {
            // Only normal dependencies: dev-dependencies may use anything.
            in_deps = t == "[dependencies]";
            continue;
        }
        if in_deps && let Some((name, _)) = t.split_once('=') {
            deps.insert(name.trim().to_string());
        }
    }
    deps
}

#[test]
fn every_finding_code_in_the_code_is_documented() {
    let doc = fs::read_to_string(root().join("docs/findings.md")).unwrap();
    let mut files = Vec::new();
    rust_files(&root().join("crates"), &mut files);
    let mut missing = BTreeSet::new();
    let mut found = BTreeSet::new();
    for f in files {
        let text = fs::read_to_string(&f).unwrap();
        for (i, _) in text.match_indices('"') {
            let rest = &text[i + 1..];
            let code: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
            let letters = code.trim_end_matches(|c: char| c.is_ascii_digit());
            let digits = &code[letters.len()..];
            let known = [
                "ELF", "NOTE", "CPU", "KDUMP", "FLAT", "KLOG", "EHDR", "VER", "HP", "CHK", "DUMP",
            ];
            if known.contains(&letters) && digits.len() == 3 && rest[code.len()..].starts_with('"')
            {
                found.insert(code.clone());
                if !doc.contains(&code) {
                    missing.insert(format!("{code} ({})", f.display()));
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "finding codes missing from docs/findings.md: {missing:?}"
    );
}

#[test]
fn dependency_direction_matches_docs_architecture() {
    let r = root();
    let vmcore = deps_of(&r.join("crates/vmcore/Cargo.toml"));
    let ehdr = deps_of(&r.join("crates/elfcorehdr/Cargo.toml"));
    assert!(!vmcore.contains("elfcorehdr") && !ehdr.contains("vmcore"));
    assert!(!deps_of(&r.join("crates/testgen/Cargo.toml")).contains("vmcore"));
    let app_only = ["clap", "ratatui", "crossterm", "anyhow", "indicatif"];
    for lib in [
        "kdump-types",
        "vmcore",
        "elfcorehdr",
        "hotplug",
        "testgen",
        "real-data",
    ] {
        let d = deps_of(&r.join(format!("crates/{lib}/Cargo.toml")));
        for a in app_only {
            assert!(
                !d.contains(a),
                "library {lib} depends on app-only crate {a}"
            );
        }
        for app in ["vmcore-cli", "vmcore-tui"] {
            assert!(!d.contains(app), "library {lib} depends on app {app}");
        }
    }
}

#[test]
fn code_never_reads_the_shared_folder() {
    let mut files = Vec::new();
    for d in ["crates", "apps"] {
        rust_files(&root().join(d), &mut files);
    }
    let needle = ["..", "/shared"].concat();
    for f in files {
        let text = fs::read_to_string(&f).unwrap();
        assert!(
            !text.contains(&needle),
            "{} refers to {needle}: copy the data into testdata/ instead",
            f.display()
        );
    }
}

#[test]
fn no_library_prints() {
    let mut files = Vec::new();
    for lib in [
        "kdump-types",
        "vmcore",
        "elfcorehdr",
        "hotplug",
        "real-data",
    ] {
        rust_files(&root().join(format!("crates/{lib}/src")), &mut files);
    }
    for f in files {
        let text = fs::read_to_string(&f).unwrap();
        for (n, l) in text.lines().enumerate() {
            let code = l.split("//").next().unwrap_or("");
            for m in ["println!", "eprintln!", "print!(", "eprint!("] {
                assert!(
                    !code.contains(m),
                    "{}:{} prints ({m}); libraries return data, apps print",
                    f.display(),
                    n + 1
                );
            }
        }
    }
}

/// `(code, name, severity)` of every registered finding code: the crates' tables are the one
/// home of a code (`kdump_types::finding_codes!`, or `FindingCode` constants in `hotplug::scan`).
fn registered_codes() -> Vec<(&'static str, &'static str, &'static str)> {
    let mut out: Vec<_> = vmcore::findings::CODES
        .iter()
        .chain(elfcorehdr::findings::CODES)
        .map(|c| (c.code, c.name, c.severity.as_str()))
        .collect();
    out.extend(
        hotplug::diff::CODES
            .iter()
            .chain(hotplug::scan::CODES)
            .map(|c| (c.code, c.name, c.severity.as_str())),
    );
    out
}

/// docs/findings.md lists exactly the registered codes, each with its table's name and
/// severity.
#[test]
fn findings_doc_matches_the_code_tables() {
    let doc = fs::read_to_string(root().join("docs/findings.md")).unwrap();
    let mut rows = std::collections::BTreeMap::new();
    for l in doc.lines() {
        let cells: Vec<&str> = l.split('|').map(str::trim).collect();
        if cells.len() > 4 {
            let code = cells[1];
            let letters = code.trim_end_matches(|c: char| c.is_ascii_digit());
            if !letters.is_empty()
                && letters.chars().all(|c| c.is_ascii_uppercase())
                && code.len() - letters.len() == 3
            {
                rows.insert(
                    code.to_string(),
                    (cells[2].to_string(), cells[3].to_string()),
                );
            }
        }
    }
    let tables = registered_codes();
    let mut codes = BTreeSet::new();
    for (code, name, sev) in &tables {
        assert!(codes.insert(*code), "{code} is registered twice");
        let row = rows.get(*code);
        assert_eq!(
            row,
            Some(&(name.to_string(), sev.to_string())),
            "docs/findings.md row of {code} must say `{name}` and `{sev}`"
        );
    }
    let unregistered: Vec<_> = rows
        .keys()
        .filter(|c| !codes.contains(c.as_str()))
        .collect();
    assert!(
        unregistered.is_empty(),
        "docs/findings.md lists codes no table registers: {unregistered:?}"
    );
}

/// A code still spelled out at its use site (`"ELF003", "loads-overlap", Severity::Warning`)
/// says what its table says.
#[test]
fn finding_literals_agree_with_the_code_tables() {
    let tables = registered_codes();
    let mut files = Vec::new();
    rust_files(&root().join("crates"), &mut files);
    for f in files {
        let text = fs::read_to_string(&f).unwrap();
        for (code, name, sev) in &tables {
            let literal = format!("\"{code}\",");
            for (i, _) in text.match_indices(&literal) {
                let rest: String = text[i + literal.len()..]
                    .split_whitespace()
                    .take(2)
                    .collect::<Vec<_>>()
                    .join(" ");
                if let Some(n) = rest.strip_prefix('"').and_then(|r| r.split('"').next())
                    && rest.contains("Severity::")
                {
                    assert_eq!(n, *name, "{}: {code}", f.display());
                    let s = rest.split("Severity::").nth(1).unwrap_or("").to_lowercase();
                    assert!(s.starts_with(sev), "{}: {code} is {sev}", f.display());
                }
            }
        }
    }
}

/// Every crate under `crates/` is a library: no app-only dependency, and no printing outside
/// its binaries (`src/bin`). Harnesses that parse arguments and print live under `tools/`.
#[test]
fn every_crate_under_crates_follows_the_library_invariants() {
    let app_only = ["clap", "ratatui", "crossterm", "anyhow", "indicatif"];
    let mut checked = 0;
    for e in fs::read_dir(root().join("crates")).unwrap().flatten() {
        let dir = e.path();
        let manifest = dir.join("Cargo.toml");
        if !manifest.exists() {
            continue;
        }
        checked += 1;
        let deps = deps_of(&manifest);
        for a in app_only {
            assert!(
                !deps.contains(a),
                "{} depends on app-only crate {a}: move it under tools/",
                dir.display()
            );
        }
        let mut files = Vec::new();
        rust_files(&dir.join("src"), &mut files);
        for f in files
            .iter()
            .filter(|f| !f.components().any(|c| c.as_os_str() == "bin"))
        {
            let text = fs::read_to_string(f).unwrap();
            for (n, l) in text.lines().enumerate() {
                let code = l.split("//").next().unwrap_or("");
                for m in ["println!", "eprintln!", "print!(", "eprint!("] {
                    assert!(!code.contains(m), "{}:{} prints ({m})", f.display(), n + 1);
                }
            }
        }
    }
    assert!(checked >= 7, "only {checked} crates found under crates/");
}
