//! `--cache FILE`: tag resolutions kept between runs (and shared between machines in a bulk
//! migration), so that a second run asks the registry nothing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::Manifest;
use crate::image_ref::Digest;

const VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    digest: String,
    media_type: String,
    /// Seconds since the Unix epoch.
    resolved_at: u64,
}

#[derive(Debug, Serialize, Deserialize)]
struct CacheFile {
    version: u32,
    /// `registry/repository:tag` to what it named.
    entries: BTreeMap<String, Entry>,
    /// Signature verdicts, by digest and policy (see [`ResolutionCache::signature`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    signatures: BTreeMap<String, SignatureEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct SignatureEntry {
    verdict: crate::signatures::Verdict,
    /// Seconds since the Unix epoch.
    verified_at: u64,
}

#[derive(Debug)]
pub struct ResolutionCache {
    path: PathBuf,
    max_age: Duration,
    entries: Mutex<BTreeMap<String, Entry>>,
    signatures: Mutex<BTreeMap<String, SignatureEntry>>,
    /// False when the file is a newer pinnace's: it is left as it is.
    writable: bool,
}

/// A cache file larger than this is not read (a fleet's resolutions take a few MiB).
const MAX_CACHE_BYTES: u64 = 256 * 1024 * 1024;

impl ResolutionCache {
    /// Opens a cache file; a missing file is an empty cache. So is one that is empty, cut
    /// short, not a cache or a newer pinnace's, with a warning that says so: a cache only
    /// saves requests, and losing it must not end the run.
    pub fn open(
        path: &Path,
        max_age: Duration,
    ) -> Result<(ResolutionCache, Option<String>), String> {
        let mut cache = ResolutionCache {
            path: path.to_path_buf(),
            max_age,
            entries: Mutex::new(BTreeMap::new()),
            signatures: Mutex::new(BTreeMap::new()),
            writable: true,
        };
        let bytes = match crate::files::read_bounded(path, MAX_CACHE_BYTES) {
            Ok(bytes) => bytes,
            Err(crate::files::ReadError::Io(error))
                if error.kind() == std::io::ErrorKind::NotFound =>
            {
                return Ok((cache, None));
            }
            Err(error) => return Err(format!("cache file {}: {error}", path.display())),
        };
        let warning = |why: String| {
            Some(format!(
                "cache file {} {why}; starting with an empty cache",
                path.display()
            ))
        };
        let file: CacheFile = match serde_json::from_slice(&bytes) {
            Ok(file) => file,
            Err(error) => {
                return Ok((cache, warning(format!("is not a pinnace cache ({error})"))));
            }
        };
        if file.version != VERSION {
            cache.writable = file.version < VERSION;
            let kept = if cache.writable {
                ""
            } else {
                ", and left as it is"
            };
            return Ok((
                cache,
                warning(format!(
                    "has version {}, this pinnace reads {VERSION}{kept}",
                    file.version
                )),
            ));
        }
        cache.entries = Mutex::new(file.entries);
        cache.signatures = Mutex::new(file.signatures);
        Ok((cache, None))
    }

    /// A cache that lives for the run only: nothing is read, and [`ResolutionCache::save`]
    /// writes nothing.
    pub fn in_memory(max_age: Duration) -> ResolutionCache {
        ResolutionCache {
            path: PathBuf::new(),
            max_age,
            entries: Mutex::new(BTreeMap::new()),
            signatures: Mutex::new(BTreeMap::new()),
            writable: false,
        }
    }

    /// A signature verdict younger than the max age; `key` names the digest and the policy
    /// (`registry/repository@digest` and a fingerprint of the keys it was judged under).
    pub fn signature(&self, key: &str) -> Option<crate::signatures::Verdict> {
        let entries = self.signatures.lock().unwrap_or_else(|p| p.into_inner());
        let entry = entries.get(key)?;
        let now = now();
        if entry.verified_at > now || now - entry.verified_at > self.max_age.as_secs() {
            return None;
        }
        Some(entry.verdict.clone())
    }

    pub fn put_signature(&self, key: &str, verdict: &crate::signatures::Verdict) {
        let entry = SignatureEntry {
            verdict: verdict.clone(),
            verified_at: now(),
        };
        self.signatures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.to_string(), entry);
    }

    /// A resolution younger than the max age.
    pub fn get(&self, key: &str) -> Option<Manifest> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let entry = entries.get(key)?;
        // An entry from the future (a clock set wrong, or a file written to stay fresh) is
        // as stale as an old one.
        let now = now();
        if entry.resolved_at > now || now - entry.resolved_at > self.max_age.as_secs() {
            return None;
        }
        Some(Manifest {
            digest: Digest::parse(&entry.digest).ok()?,
            media_type: entry.media_type.clone(),
            body: None,
        })
    }

    pub fn put(&self, key: &str, manifest: &Manifest) {
        let entry = Entry {
            digest: manifest.digest.to_string(),
            media_type: manifest.media_type.clone(),
            resolved_at: now(),
        };
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.to_string(), entry);
    }

    /// Writes the cache atomically (a temporary file renamed over the old one). A symlinked
    /// cache file is the invoker's own arrangement: its target is replaced, with its mode.
    pub fn save(&self) -> Result<(), String> {
        if !self.writable {
            return Ok(());
        }
        let entries = self
            .entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let signatures = self
            .signatures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let file = CacheFile {
            version: VERSION,
            entries,
            signatures,
        };
        let json = serde_json::to_vec_pretty(&file).map_err(|e| e.to_string())?;
        let target = std::fs::canonicalize(&self.path).unwrap_or_else(|_| self.path.clone());
        let folder = target
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let write = || -> std::io::Result<()> {
            let mut temporary = tempfile::NamedTempFile::new_in(folder)?;
            std::io::Write::write_all(&mut temporary, &json)?;
            if let Ok(metadata) = std::fs::metadata(&target) {
                temporary
                    .as_file()
                    .set_permissions(metadata.permissions())?;
            }
            temporary.as_file().sync_all()?;
            temporary.persist(&target).map_err(|e| e.error)?;
            Ok(())
        };
        write().map_err(|e| format!("cannot write cache file {}: {e}", self.path.display()))
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_survive_a_save_and_expire() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache.json");
        let manifest = Manifest {
            digest: Digest::parse(&format!("sha256:{}", "a".repeat(64))).unwrap(),
            media_type: "application/vnd.oci.image.index.v1+json".into(),
            body: None,
        };
        let (cache, _) = ResolutionCache::open(&path, Duration::from_secs(3600)).unwrap();
        cache.put("docker.io/library/nginx:1.25", &manifest);
        cache.save().unwrap();
        let (reopened, _) = ResolutionCache::open(&path, Duration::from_secs(3600)).unwrap();
        assert_eq!(reopened.get("docker.io/library/nginx:1.25"), Some(manifest));
        assert_eq!(reopened.get("docker.io/library/nginx:1.26"), None);
        std::fs::write(&path, r#"{"version":1,"entries":{"k":{"digest":"sha256:x","media_type":"","resolved_at":0}}}"#).unwrap();
        let (old, _) = ResolutionCache::open(&path, Duration::from_secs(3600)).unwrap();
        assert_eq!(old.get("k"), None, "too old, and invalid anyway");
    }

    fn manifest() -> Manifest {
        Manifest {
            digest: Digest::parse(&format!("sha256:{}", "a".repeat(64))).unwrap(),
            media_type: "application/vnd.oci.image.index.v1+json".into(),
            body: None,
        }
    }

    #[test]
    fn a_broken_or_newer_cache_file_is_a_warning_and_an_empty_cache() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache.json");
        for (text, says) in [
            ("", "not a pinnace cache"),
            ("{\"version\":1,\"entries\":{\"k\":", "not a pinnace cache"),
            ("{\"version\":99,\"entries\":{}}", "left as it is"),
            ("[1, 2]", "not a pinnace cache"),
        ] {
            std::fs::write(&path, text).unwrap();
            let (cache, warning) = ResolutionCache::open(&path, Duration::from_secs(60)).unwrap();
            let warning = warning.expect("a warning");
            assert!(warning.contains(says), "{text}: {warning}");
            assert_eq!(cache.get("k"), None);
            cache.put("k", &manifest());
            cache.save().unwrap();
            // A newer pinnace's file is left alone; the others are replaced.
            let after = std::fs::read_to_string(&path).unwrap();
            assert_eq!(after == text, text.contains("99"), "{text}: {after}");
        }
    }

    #[test]
    fn an_entry_from_the_future_is_stale() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache.json");
        let digest = format!("sha256:{}", "a".repeat(64));
        let future = now() + 10 * 365 * 86_400;
        std::fs::write(
            &path,
            format!("{{\"version\":1,\"entries\":{{\"k\":{{\"digest\":\"{digest}\",\"media_type\":\"x\",\"resolved_at\":{future}}}}}}}"),
        )
        .unwrap();
        let (cache, warning) = ResolutionCache::open(&path, Duration::from_secs(3600)).unwrap();
        assert_eq!(warning, None);
        assert_eq!(cache.get("k"), None);
    }

    #[test]
    fn a_symlinked_cache_file_is_written_through_and_keeps_its_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("shared/cache.json");
        std::fs::create_dir_all(real.parent().unwrap()).unwrap();
        std::fs::write(&real, "{\"version\":1,\"entries\":{}}").unwrap();
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o644)).unwrap();
        let link = dir.path().join("cache.json");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let (cache, _) = ResolutionCache::open(&link, Duration::from_secs(3600)).unwrap();
        cache.put("k", &manifest());
        cache.save().unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert!(std::fs::read_to_string(&real).unwrap().contains("\"k\""));
        let mode = std::fs::metadata(&real).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644);
    }
}
