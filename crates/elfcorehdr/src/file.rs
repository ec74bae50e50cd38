//! File targets: read a header file, replace it atomically.
//!
//! A replaced file keeps what the user gave it: its permission bits, owner and group (the
//! replacement is created with them before a byte is written), and its place behind a
//! symlink (the file the link names is replaced; the link stays). A read-only target is
//! refused unless [`WriteOptions::force`]. Temporary files of runs that were killed (their
//! process is gone) are removed by the next write to the same file.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::state::SystemState;
use crate::update::{Changes, Event, LoadMode, Updater};

/// Largest header file we load (the 6.12 MAXSMP segment is 917,680 bytes; a PN_XNUM-sized
/// header is ~3.6 MiB).
pub const MAX_HEADER_FILE: u64 = 64 << 20;

/// How [`write_atomically_with`] may treat an existing target.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteOptions {
    /// Replace a read-only target (no write permission bit) too.
    pub force: bool,
}

fn invalid(path: &Path, msg: String) -> Error {
    Error::io(
        path,
        std::io::Error::new(std::io::ErrorKind::InvalidInput, msg),
    )
}

/// Refuses what is not a regular file: a directory, a FIFO or a device blocks, never ends
/// (`/dev/zero`), or cannot be replaced, and its `st_size` says nothing about what it holds.
fn check_regular(path: &Path, meta: &std::fs::Metadata) -> Result<()> {
    let t = meta.file_type();
    let kind = if t.is_file() {
        return Ok(());
    } else if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO (named pipe)"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a file"
    };
    Err(invalid(path, format!("is {kind}, not a regular file")))
}

/// Reads a header file, refusing what is not a regular file and files larger than
/// [`MAX_HEADER_FILE`]. The size is checked on what is read, not only on `st_size`.
pub fn read_header_file(path: &Path) -> Result<Vec<u8>> {
    // O_NONBLOCK: opening a FIFO for reading must not wait for a writer before we refuse it.
    let f = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| Error::io(path, e))?;
    let meta = f.metadata().map_err(|e| Error::io(path, e))?;
    check_regular(path, &meta)?;
    let too_big = |n: u64| {
        invalid(
            path,
            format!("{n} bytes: larger than any elfcorehdr segment ({MAX_HEADER_FILE} max)"),
        )
    };
    if meta.len() > MAX_HEADER_FILE {
        return Err(too_big(meta.len()));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    f.take(MAX_HEADER_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    if bytes.len() as u64 > MAX_HEADER_FILE {
        return Err(too_big(bytes.len() as u64));
    }
    Ok(bytes)
}

/// The file `path` names: itself, or the file a symlink (chain) points to. A dangling link
/// is refused: replacing it would create a file where the user expected one to be.
fn resolve_target(path: &Path) -> Result<PathBuf> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => std::fs::canonicalize(path).map_err(|e| {
            invalid(
                path,
                format!("is a symlink whose target cannot be resolved ({e}); not replaced"),
            )
        }),
        _ => Ok(path.to_path_buf()),
    }
}

/// Removes files in `dir` named `{prefix}{PID}` whose process no longer exists: what a run
/// killed between creating its temporary file and renaming it leaves. Only regular files
/// are removed, and nothing when `/proc` cannot tell which processes live. Returns what was
/// removed.
pub fn remove_stale_temps(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    let mut removed = Vec::new();
    if !Path::new("/proc/self").exists() {
        return removed;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return removed;
    };
    let me = std::process::id();
    for ent in entries.flatten() {
        let name = ent.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(prefix))
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        let p = ent.path();
        let is_file = std::fs::symlink_metadata(&p).is_ok_and(|m| m.file_type().is_file());
        if pid == me || !is_file || Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        if std::fs::remove_file(&p).is_ok() {
            removed.push(p);
        }
    }
    removed
}

/// Replaces `path` with `bytes` atomically (see [`write_atomically_with`]), refusing a
/// read-only target.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomically_with(path, bytes, WriteOptions::default())
}

/// Replaces `path` with `bytes` atomically: writes a temporary file in the same directory,
/// gives it the target's permission bits, owner and group, fsyncs it, renames it over the
/// target, then fsyncs the directory. Readers see the old or the new file, never a mix.
///
/// A symlink is followed: the file it names is replaced and the link kept. A target that is
/// not a regular file is refused, and so is a read-only one unless `opts.force`. A new file
/// gets the default mode (0666 less the umask).
pub fn write_atomically_with(path: &Path, bytes: &[u8], opts: WriteOptions) -> Result<()> {
    let target = resolve_target(path)?;
    let existing = match std::fs::metadata(&target) {
        Ok(m) => Some(m),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(Error::io(&target, e)),
    };
    if let Some(m) = &existing {
        check_regular(&target, m)?;
        let mode = m.permissions().mode() & 0o7777;
        if mode & 0o222 == 0 && !opts.force {
            return Err(Error::ReadOnlyTarget { path: target, mode });
        }
    }
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "elfcorehdr".into());
    let prefix = format!(".{name}.tmp.");
    remove_stale_temps(&dir, &prefix);
    let tmp = dir.join(format!("{prefix}{}", std::process::id()));
    let result = (|| -> std::io::Result<()> {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            // Private until it has the old file's owner and mode; a new file gets the default.
            .mode(if existing.is_some() { 0o600 } else { 0o666 })
            .open(&tmp)?;
        if let Some(m) = &existing {
            keep_owner_and_mode(&f, m)?;
        }
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, &target)?;
        // Make the rename itself durable.
        File::open(&dir)?.sync_all()
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(&target, e));
    }
    Ok(())
}

/// Gives the new file `f` the owner, group and permission bits of the old one (`m`). The
/// owner first: a chown may clear set-id bits that the chmod then restores.
fn keep_owner_and_mode(f: &File, m: &std::fs::Metadata) -> std::io::Result<()> {
    let mine = f.metadata()?;
    if (mine.uid(), mine.gid()) != (m.uid(), m.gid()) {
        std::os::unix::fs::fchown(f, Some(m.uid()), Some(m.gid())).map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!(
                    "cannot give the new file the owner {}:{} of the old one ({e}); \
                     the file is left as it was",
                    m.uid(),
                    m.gid()
                ),
            )
        })?;
    }
    f.set_permissions(std::fs::Permissions::from_mode(
        m.permissions().mode() & 0o7777,
    ))
}

/// Applies `event` to the header file at `path` (the whole segment, as `build` writes it) and
/// replaces the file atomically if anything changed. On error the file is untouched.
pub fn update_file(
    path: &Path,
    state: &SystemState,
    event: Event,
    mode: LoadMode,
) -> Result<Changes> {
    update_file_with(path, state, event, mode, WriteOptions::default())
}

/// [`update_file`] with [`WriteOptions`] (`force` replaces a read-only target).
pub fn update_file_with(
    path: &Path,
    state: &SystemState,
    event: Event,
    mode: LoadMode,
    opts: WriteOptions,
) -> Result<Changes> {
    update_file_using(path, state, event, &mut Updater::new(mode), opts)?
}

/// [`update_file_with`] through the caller's [`Updater`], which remembers across events what
/// the kernel remembers (a `kexec_load` image's first regeneration). The outer error is the
/// file's (unreadable, not replaced); the inner one is the engine refusing the event, the
/// file untouched.
pub fn update_file_using(
    path: &Path,
    state: &SystemState,
    event: Event,
    updater: &mut Updater,
    opts: WriteOptions,
) -> Result<Result<Changes>> {
    let mut bytes = read_header_file(path)?;
    let changes = match updater.update_in_place(&mut bytes, state, event) {
        Ok(ch) => ch.clone(),
        Err(e) => return Ok(Err(e)),
    };
    if changes.changed() {
        write_atomically_with(path, &bytes, opts)?;
    }
    Ok(Ok(changes))
}
