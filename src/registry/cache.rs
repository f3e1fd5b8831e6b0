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
}

impl ResolutionCache {
    /// Opens a cache file; a missing file is an empty cache.
    pub fn open(path: &Path, max_age: Duration) -> Result<ResolutionCache, String> {
        let (entries, signatures) = match std::fs::read(path) {
            Ok(bytes) => {
                let file: CacheFile = serde_json::from_slice(&bytes).map_err(|e| {
                    format!("cache file {} is not a pinnace cache: {e}", path.display())
                })?;
                if file.version != VERSION {
                    return Err(format!(
                        "cache file {} has version {}, expected {VERSION}",
                        path.display(),
                        file.version
                    ));
                }
                (file.entries, file.signatures)
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Default::default(),
            Err(error) => {
                return Err(format!(
                    "cannot read cache file {}: {error}",
                    path.display()
                ));
            }
        };
        Ok(ResolutionCache {
            path: path.to_path_buf(),
            max_age,
            entries: Mutex::new(entries),
            signatures: Mutex::new(signatures),
        })
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
        if now().saturating_sub(entry.resolved_at) > self.max_age.as_secs() {
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

    /// Writes the cache atomically (a temporary file renamed over the old one).
    pub fn save(&self) -> Result<(), String> {
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
        let folder = self
            .path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let write = || -> std::io::Result<()> {
            let mut temporary = tempfile::NamedTempFile::new_in(folder)?;
            std::io::Write::write_all(&mut temporary, &json)?;
            temporary.as_file().sync_all()?;
            temporary.persist(&self.path).map_err(|e| e.error)?;
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
        let cache = ResolutionCache::open(&path, Duration::from_secs(3600)).unwrap();
        cache.put("docker.io/library/nginx:1.25", &manifest);
        cache.save().unwrap();
        let reopened = ResolutionCache::open(&path, Duration::from_secs(3600)).unwrap();
        assert_eq!(reopened.get("docker.io/library/nginx:1.25"), Some(manifest));
        assert_eq!(reopened.get("docker.io/library/nginx:1.26"), None);
        std::fs::write(&path, r#"{"version":1,"entries":{"k":{"digest":"sha256:x","media_type":"","resolved_at":0}}}"#).unwrap();
        let old = ResolutionCache::open(&path, Duration::from_secs(3600)).unwrap();
        assert_eq!(old.get("k"), None, "too old, and invalid anyway");
    }
}
