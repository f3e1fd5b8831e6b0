//! Atomic file replacement: a file ends up either as it was or fully rewritten.

use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::temporary::Temporary;

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("{path} changed on disk after pinnace read it; left alone (run again)")]
    ChangedOnDisk { path: PathBuf },
    #[error("{path} {reason}; left alone")]
    Refused { path: PathBuf, reason: String },
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Replaces `path` with `new` if it still holds `expected`: the new text goes to a temporary
/// file in the same folder, is synced, takes the original's permissions, owner and group,
/// and is renamed over the original, so a crash leaves either the old file or the new one,
/// never a mix. A file that renaming would not replace as a person expects is refused: a
/// symlink (or a file reached through one), which would become a copy of its target; a
/// read-only file; a file with several hard links, which would be split from the others.
pub fn write_atomically(path: &Path, expected: &[u8], new: &[u8]) -> Result<(), WriteError> {
    let io = |source| WriteError::Io {
        path: path.to_path_buf(),
        source,
    };
    let metadata = refuse_unsafe(path)?;
    let current = crate::files::read_bounded(path, crate::files::MAX_FILE_BYTES)
        .map_err(|error| refused(path, error.to_string()))?;
    if current != expected {
        return Err(WriteError::ChangedOnDisk {
            path: path.to_path_buf(),
        });
    }
    let folder = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut temporary = Temporary::create(folder).map_err(io)?;
    let file = temporary
        .as_file_mut()
        .ok_or_else(|| io(std::io::Error::other("temporary file already renamed")))?;
    file.write_all(new).map_err(io)?;
    file.set_permissions(metadata.permissions()).map_err(io)?;
    keep_owner(file, &metadata).map_err(|error| {
        refused(
            path,
            format!(
                "belongs to user {} and group {}, which the new file cannot be given ({error})",
                metadata.uid(),
                metadata.gid()
            ),
        )
    })?;
    file.sync_all().map_err(io)?;
    temporary.persist(path).map_err(io)?;
    // Make the rename itself durable.
    if let Ok(dir) = std::fs::File::open(folder) {
        let _ = dir.sync_all();
    }
    Ok(())
}

fn refused(path: &Path, reason: String) -> WriteError {
    WriteError::Refused {
        path: path.to_path_buf(),
        reason,
    }
}

/// The file's metadata, when replacing it by a rename is what a person expects.
fn refuse_unsafe(path: &Path) -> Result<std::fs::Metadata, WriteError> {
    let metadata = std::fs::symlink_metadata(path).map_err(|source| WriteError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    if metadata.file_type().is_symlink() {
        return Err(refused(path, "is a symlink".to_string()));
    }
    let through_link = std::path::absolute(path)
        .ok()
        .zip(std::fs::canonicalize(path).ok())
        .is_some_and(|(absolute, real)| absolute != real);
    if through_link {
        return Err(refused(
            path,
            "is reached through a symlinked folder".to_string(),
        ));
    }
    if !metadata.is_file() {
        return Err(refused(path, "is not a regular file".to_string()));
    }
    if metadata.permissions().readonly() {
        return Err(refused(path, "is read-only".to_string()));
    }
    if metadata.nlink() > 1 {
        return Err(refused(
            path,
            format!(
                "has {} hard links, which a rewrite would split",
                metadata.nlink()
            ),
        ));
    }
    Ok(metadata)
}

/// Gives the new file the original's owner and group, when they differ from the ones it was
/// created with (a root run over another user's files).
fn keep_owner(file: &std::fs::File, original: &std::fs::Metadata) -> std::io::Result<()> {
    let created = file.metadata()?;
    if created.uid() == original.uid() && created.gid() == original.gid() {
        return Ok(());
    }
    std::os::unix::fs::fchown(file, Some(original.uid()), Some(original.gid()))
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

    fn refusal(path: &Path) -> String {
        match write_atomically(path, b"old\n", b"new\n") {
            Err(WriteError::Refused { reason, .. }) => reason,
            other => panic!("{path:?} was not refused: {other:?}"),
        }
    }

    #[test]
    fn a_symlink_or_a_file_through_a_linked_folder_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside");
        std::fs::create_dir(&outside).unwrap();
        std::fs::write(outside.join("a.yaml"), "old\n").unwrap();
        let repo = dir.path().join("repo");
        std::fs::create_dir(&repo).unwrap();
        std::os::unix::fs::symlink(outside.join("a.yaml"), repo.join("a.yaml")).unwrap();
        std::os::unix::fs::symlink(&outside, repo.join("linked")).unwrap();
        assert_eq!(refusal(&repo.join("a.yaml")), "is a symlink");
        assert!(refusal(&repo.join("linked/a.yaml")).contains("symlinked folder"));
        assert!(
            std::fs::symlink_metadata(repo.join("a.yaml"))
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(
            std::fs::read_to_string(outside.join("a.yaml")).unwrap(),
            "old\n"
        );
    }

    #[test]
    fn a_read_only_file_or_one_with_hard_links_is_left_alone() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let read_only = dir.path().join("ro.yaml");
        std::fs::write(&read_only, "old\n").unwrap();
        std::fs::set_permissions(&read_only, std::fs::Permissions::from_mode(0o444)).unwrap();
        assert_eq!(refusal(&read_only), "is read-only");
        let linked = dir.path().join("linked.yaml");
        std::fs::write(&linked, "old\n").unwrap();
        std::fs::hard_link(&linked, dir.path().join("other.yaml")).unwrap();
        assert!(refusal(&linked).contains("2 hard links"));
        assert_eq!(
            std::fs::read_to_string(dir.path().join("other.yaml")).unwrap(),
            "old\n"
        );
    }

    #[test]
    fn owner_and_group_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.yaml");
        std::fs::write(&path, "old\n").unwrap();
        // Only root can give a file to another user; as anyone else, the file is ours anyway.
        let is_root = std::fs::metadata(&path).unwrap().uid() == 0;
        if is_root {
            std::os::unix::fs::chown(&path, Some(4321), Some(4322)).unwrap();
        }
        let before = std::fs::metadata(&path).unwrap();
        write_atomically(&path, b"old\n", b"new\n").unwrap();
        let after = std::fs::metadata(&path).unwrap();
        assert_eq!((after.uid(), after.gid()), (before.uid(), before.gid()));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new\n");
    }
}
