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
/// (`6.1/`, `7.2/`, `7.2-cma/`; see `testdata/kernels/README.md`).
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
    let out = cache.join(rel);
    let src_len = fs::metadata(&zst)?.len();
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
        let f = fs::File::open(&zst)?;
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
