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
