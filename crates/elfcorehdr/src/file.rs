//! File targets: replace a header file atomically.

use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};
use crate::state::SystemState;
use crate::update::{Changes, Event, LoadMode, Updater};

/// Largest header file we load (the 6.12 MAXSMP segment is 917,680 bytes; a PN_XNUM-sized
/// header is ~3.6 MiB).
pub const MAX_HEADER_FILE: u64 = 64 << 20;

/// Reads a header file, refusing files larger than [`MAX_HEADER_FILE`].
pub fn read_header_file(path: &Path) -> Result<Vec<u8>> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if meta.len() > MAX_HEADER_FILE {
        return Err(Error::io(
            path,
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "{} bytes: larger than any elfcorehdr segment ({MAX_HEADER_FILE} max)",
                    meta.len()
                ),
            ),
        ));
    }
    std::fs::read(path).map_err(|e| Error::io(path, e))
}

/// Replaces `path` with `bytes` atomically: writes a temporary file in the same directory,
/// fsyncs it, renames it over `path`, then fsyncs the directory. Readers see the old or the
/// new file, never a mix.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "elfcorehdr".into());
    let tmp = dir.join(format!(".{name}.tmp.{}", std::process::id()));
    let result = (|| -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)?;
        // Make the rename itself durable.
        std::fs::File::open(dir)?.sync_all()
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(path, e));
    }
    Ok(())
}

/// Applies `event` to the header file at `path` (the whole segment, as `build` writes it) and
/// replaces the file atomically if anything changed. On error the file is untouched.
pub fn update_file(
    path: &Path,
    state: &SystemState,
    event: Event,
    mode: LoadMode,
) -> Result<Changes> {
    let mut bytes = read_header_file(path)?;
    let mut updater = Updater::new(mode);
    let changes = updater.update_in_place(&mut bytes, state, event)?.clone();
    if changes.changed() {
        write_atomically(path, &bytes)?;
    }
    Ok(changes)
}
