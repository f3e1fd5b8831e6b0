//! Atomic file replacement: a file ends up either as it was or fully rewritten.

use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("{path} changed on disk after pinnace read it; left alone (run again)")]
    ChangedOnDisk { path: PathBuf },
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Replaces `path` with `new` if it still holds `expected`: the new text goes to a temporary
/// file in the same folder, is synced, takes the original's permissions, and is renamed over
/// the original, so a crash leaves either the old file or the new one, never a mix.
pub fn write_atomically(path: &Path, expected: &[u8], new: &[u8]) -> Result<(), WriteError> {
    let io = |source| WriteError::Io {
        path: path.to_path_buf(),
        source,
    };
    let current = std::fs::read(path).map_err(io)?;
    if current != expected {
        return Err(WriteError::ChangedOnDisk {
            path: path.to_path_buf(),
        });
    }
    let permissions = std::fs::metadata(path).map_err(io)?.permissions();
    let folder = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut temporary = tempfile::Builder::new()
        .prefix(".pinnace-")
        .suffix(".tmp")
        .tempfile_in(folder)
        .map_err(io)?;
    temporary.write_all(new).map_err(io)?;
    temporary
        .as_file()
        .set_permissions(permissions)
        .map_err(io)?;
    temporary.as_file().sync_all().map_err(io)?;
    temporary.persist(path).map_err(|error| io(error.error))?;
    // Make the rename itself durable.
    if let Ok(dir) = std::fs::File::open(folder) {
        let _ = dir.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_content_and_keeps_the_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.yaml");
        std::fs::write(&path, "old\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        write_atomically(&path, b"old\n", b"new\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new\n");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary file is left behind");
    }

    #[test]
    fn a_file_changed_since_it_was_read_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.yaml");
        std::fs::write(&path, "edited by someone else\n").unwrap();
        let error = write_atomically(&path, b"old\n", b"new\n").unwrap_err();
        assert!(matches!(error, WriteError::ChangedOnDisk { .. }));
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "edited by someone else\n"
        );
    }
}
