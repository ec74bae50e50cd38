//! The real dumps bundled in `testdata/real/` (made by a Linux 6.12 guest under QEMU, see
//! `testdata/README.md`), found from the source tree and decompressed once into a cache.
//!
//! Large files are stored `zstd --long=27` compressed. [`path`] returns a path to the
//! uncompressed file, decompressing it on first use into `target/real-data/` (or
//! `$VMCORE_REAL_DATA_CACHE`). Concurrent callers are safe: each writes a private temporary file
//! and renames it into place.
//!
//! ```no_run
//! let vmcore = real_data::path("kdump/proc-vmcore.elf")?;
//! # Ok::<(), std::io::Error>(())
//! ```
#![deny(missing_docs)]

use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// `testdata/real/` in the source tree.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/real")
}

/// Where decompressed files are cached.
pub fn cache_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("VMCORE_REAL_DATA_CACHE") {
        return PathBuf::from(d);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/real-data")
}

/// Path to the real file `rel` (relative to `testdata/real/`), uncompressed.
///
/// If `rel` exists as is (a file or a captured sysfs folder), that path is returned; otherwise `rel.zst` is decompressed into the
/// cache (once) and the cached path returned.
pub fn path(rel: &str) -> io::Result<PathBuf> {
    resolve(&root(), rel, &cache_dir())
}

/// `testdata/kernels/` in the source tree: small real data per kernel of the matrix
/// (`6.1/`, `7.2/`, `7.2-cma/`, `6.12-modcrash/`; see `testdata/kernels/README.md`).
pub fn kernels_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/kernels")
}

/// [`path`] for `testdata/kernels/`: `rel` is e.g. `7.2/kdump/proc-vmcore.elf`.
pub fn kernel_path(rel: &str) -> io::Result<PathBuf> {
    resolve(&kernels_root(), rel, &cache_dir().join("kernels"))
}

fn resolve(root: &Path, rel: &str, cache: &Path) -> io::Result<PathBuf> {
    let direct = root.join(rel);
    if direct.exists() {
        return Ok(direct);
    }
    let zst = root.join(format!("{rel}.zst"));
    if !zst.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!(
                "{} (nor {}) is in {}",
                direct.display(),
                zst.display(),
                root.display()
            ),
        ));
    }
    decompress_cached(&zst, &cache.join(rel))
}

/// `zst` decompressed into `out`, once: a stamp next to `out` records the source's length.
fn decompress_cached(zst: &Path, out: &Path) -> io::Result<PathBuf> {
    let out = out.to_path_buf();
    let src_len = fs::metadata(zst)?.len();
    // Append to the full name: `with_extension` would give `x.elf` and `x.kdump-zlib` one stamp.
    let stamp = sibling(&out, "src-len");
    if out.is_file() && fs::read_to_string(&stamp).ok().as_deref() == Some(&src_len.to_string()) {
        return Ok(out);
    }
    if let Some(dir) = out.parent() {
        fs::create_dir_all(dir)?;
    }
    static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = sibling(&out, &format!("tmp.{}.{n}", std::process::id()));
    {
        let f = fs::File::open(zst)?;
        let mut dec = zstd::stream::read::Decoder::new(f)?;
        // The files were written with --long=27.
        dec.window_log_max(27)?;
        let mut w = io::BufWriter::new(fs::File::create(&tmp)?);
        io::copy(&mut dec.by_ref(), &mut w)?;
        io::Write::flush(&mut w)?;
    }
    fs::rename(&tmp, &out)?;
    fs::write(&stamp, src_len.to_string())?;
    Ok(out)
}

fn sibling(p: &Path, suffix: &str) -> PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(".");
    s.push(suffix);
    PathBuf::from(s)
}

/// The sample dump the apps open when no dump is named: a real Linux 6.12 `/proc/vmcore`.
///
/// Where it is found, first hit wins:
/// 1. `$VMCORE_SAMPLE`: any dump file;
/// 2. when the running program was built in this source tree (it lives under its `target/`),
///    `testdata/real/kdump/proc-vmcore.elf.zst`, decompressed on first use ([`path`]);
/// 3. the data folder (`$VMCORE_DATA_DIR`, else `$XDG_DATA_HOME/vmcore-tools`, else
///    `~/.local/share/vmcore-tools`): `proc-vmcore.elf`, or `proc-vmcore.elf.zst` decompressed
///    on first use into the cache folder (`$XDG_CACHE_HOME/vmcore-tools`, else
///    `~/.cache/vmcore-tools`).
///
/// An installed binary (`cargo install`) never looks into the tree it was built from, which may
/// be gone or belong to someone else; the error says how to get the sample.
pub fn sample_path() -> io::Result<PathBuf> {
    const SAMPLE: &str = "kdump/proc-vmcore.elf";
    if let Some(p) = std::env::var_os("VMCORE_SAMPLE") {
        return Ok(PathBuf::from(p));
    }
    if running_from_source_tree() {
        return path(SAMPLE);
    }
    let data = data_dir();
    if let Some(d) = &data {
        let plain = d.join("proc-vmcore.elf");
        if plain.is_file() {
            return Ok(plain);
        }
        let zst = d.join("proc-vmcore.elf.zst");
        if zst.is_file() {
            let cache = user_dir("XDG_CACHE_HOME", ".cache").ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::NotFound,
                    "no cache folder: set HOME or XDG_CACHE_HOME",
                )
            })?;
            return decompress_cached(&zst, &cache.join("proc-vmcore.elf"));
        }
    }
    let where_ = data.map_or_else(
        || "the data folder ($VMCORE_DATA_DIR or ~/.local/share/vmcore-tools)".to_string(),
        |d| d.display().to_string(),
    );
    Err(io::Error::new(
        io::ErrorKind::NotFound,
        format!(
            "no dump given and no sample dump found: name a dump, set VMCORE_SAMPLE=/path/to/dump, \
             or copy the sample from the source (testdata/real/kdump/proc-vmcore.elf.zst) into {where_}"
        ),
    ))
}

/// True when the program runs under cargo (`cargo run`, `cargo test`) or its executable lives
/// inside the source tree this crate was built in; false for an installed copy.
fn running_from_source_tree() -> bool {
    if std::env::var_os("CARGO").is_some() {
        return true;
    }
    let (Ok(exe), Ok(tree)) = (
        std::env::current_exe().and_then(|e| e.canonicalize()),
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .canonicalize(),
    ) else {
        return false;
    };
    exe.starts_with(tree)
}

/// `$VMCORE_DATA_DIR`, else `$XDG_DATA_HOME/vmcore-tools`, else `~/.local/share/vmcore-tools`.
fn data_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("VMCORE_DATA_DIR") {
        return Some(PathBuf::from(d));
    }
    user_dir("XDG_DATA_HOME", ".local/share")
}

fn user_dir(xdg: &str, under_home: &str) -> Option<PathBuf> {
    let base = std::env::var_os(xdg)
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(under_home)))?;
    Some(base.join("vmcore-tools"))
}

/// Read a small real file (oracle text, headers) into memory.
pub fn read(rel: &str) -> io::Result<Vec<u8>> {
    fs::read(path(rel)?)
}

/// Read a small real text file.
pub fn read_to_string(rel: &str) -> io::Result<String> {
    fs::read_to_string(path(rel)?)
}

/// The steps of the real hotplug scenario, in order: each names `steps/root-<step>/` (the
/// guest's procfs/sysfs), `steps/elfcorehdr-<step>.bin` (the kernel's header) and
/// `steps/qemu-dump-<step>.hdr` (QEMU's dump cut after its notes). See `testdata/real/MANIFEST.md`.
pub const STEPS: [&str; 7] = [
    "00-boot",
    "01-mem-hotadd-128M",
    "02-mem-block-offline",
    "03-mem-block-online",
    "04-cpu3-offline",
    "05-cpu1-offline",
    "06-cpu3-online",
];
