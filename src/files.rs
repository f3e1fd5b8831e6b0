//! Reading a file of the tree being checked. The tree is written by whoever opened the pull
//! request, so only regular files are read (a FIFO blocks forever, `/dev/zero` never ends)
//! and each within a size limit, which is checked again while reading (a file may grow).

use std::io::Read;
use std::path::Path;

/// Files larger than this are not read: no manifest is this big, and reading one would cost
/// the memory budget of a whole repository.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("cannot read: {0}")]
    Io(#[from] std::io::Error),
    #[error("{0} is not a regular file; not read")]
    NotRegular(&'static str),
    #[error("file is {:.1} MiB, over the {} MiB limit; not read", *size as f64 / MIB, limit >> 20)]
    TooLarge { size: u64, limit: u64 },
    #[error("not UTF-8 text")]
    NotUtf8,
}

const MIB: f64 = 1024.0 * 1024.0;

/// The bytes of a regular file (symlinks followed), at most `limit` of them.
pub fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    // Ask before opening: opening a FIFO for reading waits for a writer.
    let metadata = std::fs::metadata(path)?;
    check_regular(&metadata, limit)?;
    let file = std::fs::File::open(path)?;
    // The file opened may not be the one asked about, if the path changed in between.
    let opened = file.metadata()?;
    check_regular(&opened, limit)?;
    let mut bytes = Vec::with_capacity(opened.len() as usize + 1);
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge {
            size: bytes.len() as u64,
            limit,
        });
    }
    Ok(bytes)
}

/// [`read_bounded`] with the default limit, as UTF-8 text.
pub fn read_text(path: &Path) -> Result<String, ReadError> {
    let bytes = read_bounded(path, MAX_FILE_BYTES)?;
    String::from_utf8(bytes).map_err(|_| ReadError::NotUtf8)
}

fn check_regular(metadata: &std::fs::Metadata, limit: u64) -> Result<(), ReadError> {
    if !metadata.is_file() {
        return Err(ReadError::NotRegular(kind(metadata)));
    }
    if metadata.len() > limit {
        return Err(ReadError::TooLarge {
            size: metadata.len(),
            limit,
        });
    }
    Ok(())
}

/// What a file that is not a regular file is, for a person.
fn kind(metadata: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let file_type = metadata.file_type();
    if file_type.is_dir() {
        "a folder"
    } else if file_type.is_fifo() {
        "a named pipe"
    } else if file_type.is_char_device() || file_type.is_block_device() {
        "a device"
    } else if file_type.is_socket() {
        "a socket"
    } else {
        "it"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_device_is_refused_without_reading() {
        let error = read_bounded(Path::new("/dev/zero"), 1024).unwrap_err();
        assert!(
            matches!(error, ReadError::NotRegular("a device")),
            "{error}"
        );
    }

    #[test]
    fn a_named_pipe_is_refused_without_waiting_for_a_writer() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe.yaml");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(status.success());
        let error = read_bounded(&fifo, 1024).unwrap_err();
        assert!(
            matches!(error, ReadError::NotRegular("a named pipe")),
            "{error}"
        );
    }

    #[test]
    fn a_file_over_the_limit_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("big.yaml");
        std::fs::write(&file, vec![b'a'; 2048]).unwrap();
        assert!(matches!(
            read_bounded(&file, 1024),
            Err(ReadError::TooLarge { size: 2048, .. })
        ));
        assert_eq!(read_bounded(&file, 2048).unwrap().len(), 2048);
    }
}
