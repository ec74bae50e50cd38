//! Partial output files: removed on every failure, and by the next run when a killed run
//! (whose process is gone) left one.

use std::path::{Path, PathBuf};

/// Removes the file when dropped, unless [`RemoveOnDrop::disarm`]ed: an error return or a
/// panic between creating a partial file and renaming it leaves nothing behind.
#[derive(Debug)]
pub struct RemoveOnDrop(pub PathBuf);

impl RemoveOnDrop {
    /// The file was renamed into place: keep it.
    pub fn disarm(self) {
        std::mem::forget(self);
    }
}

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Removes `OUTPUT.partial.PID` files next to `output` whose process is gone.
pub fn remove_stale_partials(output: &Path) {
    let dir = match output.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if let Some(name) = output.file_name().and_then(|n| n.to_str()) {
        elfcorehdr::file::remove_stale_temps(dir, &format!("{name}.partial."));
    }
}
