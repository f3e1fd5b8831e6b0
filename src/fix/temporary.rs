//! The temporary files `pin` and `migrate` write before renaming them over a file. Each is
//! named `.pinnace-pin-<pid>-<random>.tmp`, so that a person (and the next run) can tell what
//! it is and whether the run that made it is gone; SIGINT and SIGTERM remove the ones in
//! flight before the process ends, and a run removes those a `kill -9` left in a folder it
//! writes to.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, Once};

const PREFIX: &str = ".pinnace-pin-";
const SUFFIX: &str = ".tmp";

/// Temporary files being written, which a signal removes. Locked while one is created or
/// renamed, so a signal never ends the process between the two.
static IN_FLIGHT: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
/// Folders already swept of stale temporary files in this run.
static SWEPT: Mutex<Option<HashSet<PathBuf>>> = Mutex::new(None);

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A temporary file beside `folder`'s files, registered for removal on a signal.
pub struct Temporary {
    /// `None` once persisted.
    file: Option<tempfile::NamedTempFile>,
    path: PathBuf,
}

impl Temporary {
    pub fn create(folder: &Path) -> std::io::Result<Temporary> {
        clean_up_on_signal();
        sweep(folder);
        let mut in_flight = lock(&IN_FLIGHT);
        let file = tempfile::Builder::new()
            .prefix(&format!("{PREFIX}{}-", std::process::id()))
            .suffix(SUFFIX)
            .tempfile_in(folder)?;
        let path = file.path().to_path_buf();
        in_flight.push(path.clone());
        Ok(Temporary {
            file: Some(file),
            path,
        })
    }

    pub fn as_file_mut(&mut self) -> Option<&mut std::fs::File> {
        self.file.as_mut().map(tempfile::NamedTempFile::as_file_mut)
    }

    /// Renames the file over `target`.
    pub fn persist(mut self, target: &Path) -> std::io::Result<()> {
        let mut in_flight = lock(&IN_FLIGHT);
        let result = match self.file.take() {
            Some(file) => file.persist(target).map(|_| ()).map_err(|e| e.error),
            None => Ok(()),
        };
        in_flight.retain(|p| *p != self.path);
        result
    }
}

impl Drop for Temporary {
    fn drop(&mut self) {
        let mut in_flight = lock(&IN_FLIGHT);
        // Removes the file unless it was persisted.
        drop(self.file.take());
        in_flight.retain(|p| *p != self.path);
    }
}

/// Once per process: a thread that waits for SIGINT or SIGTERM, removes the temporary files
/// in flight and ends the process as the signal would (exit code 128 + signal).
pub fn clean_up_on_signal() {
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        use signal_hook::consts::{SIGINT, SIGTERM};
        let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) else {
            return;
        };
        std::thread::spawn(move || {
            if let Some(signal) = signals.forever().next() {
                let in_flight = lock(&IN_FLIGHT);
                for path in in_flight.iter() {
                    let _ = std::fs::remove_file(path);
                }
                std::process::exit(128 + signal);
            }
        });
    });
}

/// Removes from `folder`, once per run, the temporary files of runs that are gone.
fn sweep(folder: &Path) {
    let first = lock(&SWEPT)
        .get_or_insert_with(HashSet::new)
        .insert(folder.to_path_buf());
    if !first {
        return;
    }
    let Ok(entries) = std::fs::read_dir(folder) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if let Some(pid) = name.to_str().and_then(owner_pid)
            && !is_running(pid)
            && entry.file_type().is_ok_and(|t| t.is_file())
        {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// The process id in a temporary file's name, if the name is one of ours.
fn owner_pid(name: &str) -> Option<u32> {
    let rest = name.strip_prefix(PREFIX)?.strip_suffix(SUFFIX)?;
    let (pid, random) = rest.split_once('-')?;
    (!random.is_empty()).then_some(())?;
    pid.parse().ok()
}

/// Whether a process with this id exists (where `/proc` cannot tell, it is assumed to).
fn is_running(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    let proc = Path::new("/proc");
    !proc.join("self").exists() || proc.join(pid.to_string()).exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_say_whose_they_are() {
        assert_eq!(owner_pid(".pinnace-pin-1234-abc123.tmp"), Some(1234));
        assert_eq!(owner_pid(".pinnace-pin-1234-.tmp"), None);
        assert_eq!(owner_pid(".pinnace-x.tmp"), None);
        assert_eq!(owner_pid("deploy.yaml"), None);
    }

    #[test]
    fn a_stale_temporary_file_is_removed_and_a_live_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        // No process has an id this large on Linux (pid_max is at most 2^22).
        let stale = dir.path().join(".pinnace-pin-4294967295-abcdef.tmp");
        let live = dir
            .path()
            .join(format!(".pinnace-pin-{}-abcdef.tmp", std::process::id()));
        let other = dir.path().join(".pinnace-notes.tmp");
        for path in [&stale, &live, &other] {
            std::fs::write(path, "x").unwrap();
        }
        let temporary = Temporary::create(dir.path()).unwrap();
        assert!(!stale.exists());
        assert!(live.exists() && other.exists());
        let name = temporary.path.file_name().unwrap().to_str().unwrap();
        assert!(name.starts_with(PREFIX), "{name}");
    }
}
