//! `signatures:` compiled for a run: globs built, key files read (inside the config's folder,
//! regular files only, within a size bound) and parsed.

use std::path::Path;

use globset::GlobSet;
use sha2::{Digest as _, Sha256};

use super::keys::PublicKey;
use super::trusted_root::{MAX_TRUSTED_ROOT_BYTES, TrustedRoot};
use crate::config::{
    KeylessIdentity, SignatureEntry, glob_set, host_glob, identity_regex, outside_reason,
};

/// No PEM public key is near this size; a bigger file is not a key.
pub const MAX_KEY_FILE_BYTES: u64 = 64 << 10;

/// One `signatures` entry, ready to judge signatures.
#[derive(Debug)]
pub struct Policy {
    /// The entry's position in `signatures` (0-based), for messages.
    pub index: usize,
    images: GlobSet,
    pub keys: Vec<PublicKey>,
    /// Keyless identities with their compiled expressions.
    pub keyless: Vec<(KeylessIdentity, regex::Regex)>,
    /// The Sigstore trusted root keyless signatures chain to (present when `keyless` is).
    pub trusted_root: Option<TrustedRoot>,
    /// What the entry trusts, as a hash of its keys, identities and trusted root: a cached
    /// verdict is reused only under the same trust.
    pub fingerprint: String,
    /// The predicate types an in-toto attestation must have (empty: any).
    pub predicate_types: Vec<String>,
}

impl Policy {
    /// Whether the entry takes a statement of `predicate_type` (`None`: not an in-toto
    /// statement, which signs the digest itself).
    pub fn accepts_predicate(&self, predicate_type: Option<&str>) -> bool {
        match predicate_type {
            None => true,
            Some(kind) => {
                self.predicate_types.is_empty() || self.predicate_types.iter().any(|t| t == kind)
            }
        }
    }
}

/// Every entry of `signatures`.
#[derive(Debug, Default)]
pub struct Policies {
    pub entries: Vec<Policy>,
}

impl Policies {
    /// Compiles the entries; `root` is the config file's folder. The error names the file and
    /// what is wrong with it.
    pub fn load(entries: &[SignatureEntry], root: &Path) -> Result<Policies, String> {
        let entries = entries
            .iter()
            .enumerate()
            .map(|(index, entry)| Policy::load(index, entry, root))
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Policies { entries })
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entries that cover an image name (`ghcr.io/acme/shop`): a digest must verify under
    /// each of them.
    pub fn covering<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Policy> + 'a {
        self.entries
            .iter()
            .filter(move |policy| policy.images.is_match(name))
    }
}

impl Policy {
    /// Compiles entry `index`: its globs, its key files, its identities and trusted root.
    fn load(index: usize, entry: &SignatureEntry, root: &Path) -> Result<Policy, String> {
        let keys = entry
            .keys
            .iter()
            .map(|name| read_key(root, name))
            .collect::<Result<Vec<_>, _>>()?;
        let keyless = entry
            .keyless
            .iter()
            .map(|identity| {
                identity_regex(&identity.identity)
                    .map(|pattern| (identity.clone(), pattern))
                    .map_err(|why| format!("signatures: identity `{}`: {why}", identity.identity))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let (trusted_root, root_bytes) = match &entry.trusted_root {
            Some(name) => {
                let bytes = read_root(root, name)?;
                let parsed = TrustedRoot::parse(&bytes)
                    .map_err(|why| format!("signatures: trusted root `{name}` {why}"))?;
                (Some(parsed), Some(bytes))
            }
            None => (None, None),
        };
        Ok(Policy {
            index,
            images: glob_set(entry.images.iter().map(|p| host_glob(p))),
            fingerprint: fingerprint(
                &keys,
                &entry.keyless,
                root_bytes.as_deref(),
                &entry.predicate_types,
            ),
            keys,
            keyless,
            trusted_root,
            predicate_types: entry.predicate_types.clone(),
        })
    }
}

/// A hash of what an entry trusts. An entry with keys only, and no predicate types, hashes as
/// it always has, so the verdicts cached under it stay valid.
fn fingerprint(
    keys: &[PublicKey],
    keyless: &[KeylessIdentity],
    root: Option<&[u8]>,
    predicate_types: &[String],
) -> String {
    let mut hash = Sha256::new();
    let mut field = |bytes: &[u8]| {
        hash.update((bytes.len() as u64).to_be_bytes());
        hash.update(bytes);
    };
    for key in keys {
        field(&key.der);
    }
    if !keyless.is_empty() || root.is_some() {
        field(b"keyless");
        for identity in keyless {
            field(identity.issuer.as_bytes());
            field(identity.identity.as_bytes());
        }
        field(root.unwrap_or_default());
    }
    if !predicate_types.is_empty() {
        field(b"predicate types");
        for kind in predicate_types {
            field(kind.as_bytes());
        }
    }
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads the trusted root file, held to `root`.
fn read_root(root: &Path, name: &str) -> Result<Vec<u8>, String> {
    let fail = |why: String| format!("signatures: trusted root `{name}` {why}");
    if let Some(why) = outside_reason(name) {
        return Err(fail(why.to_string()));
    }
    read_inside(root, name, MAX_TRUSTED_ROOT_BYTES).map_err(fail)
}

/// Reads and parses one key file, held to `root`.
fn read_key(root: &Path, name: &str) -> Result<PublicKey, String> {
    let fail = |why: String| format!("signatures: key file `{name}` {why}");
    if let Some(why) = outside_reason(name) {
        return Err(fail(why.to_string()));
    }
    let bytes = read_inside(root, name, MAX_KEY_FILE_BYTES).map_err(fail)?;
    PublicKey::from_pem(name, &bytes).map_err(fail)
}

/// The bytes of `root/name`: a regular file whose real path (symlinks resolved) is inside
/// `root`, at most `limit` bytes.
pub fn read_inside(root: &Path, name: &str, limit: u64) -> Result<Vec<u8>, String> {
    let root = std::fs::canonicalize(root).map_err(|e| format!("cannot be found: {e}"))?;
    let path =
        std::fs::canonicalize(root.join(name)).map_err(|e| format!("cannot be read: {e}"))?;
    if !path.starts_with(&root) {
        return Err("leads outside the config file's folder (through a symlink)".to_string());
    }
    crate::files::read_bounded(&path, limit).map_err(|error| match error {
        crate::files::ReadError::NotRegular(_) => "is not a regular file".to_string(),
        crate::files::ReadError::TooLarge { .. } => format!("is larger than {} KiB", limit >> 10),
        other => other.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keyless_entry(identity: &str) -> SignatureEntry {
        let text = format!(
            "signatures:\n  - images: [\"ghcr.io/acme/**\"]\n    keyless: [{{issuer: \"https://i\", identity: \"{identity}\"}}]\n    trusted_root: root.json\n"
        );
        crate::config::parse_config("c.yaml", &text)
            .unwrap()
            .signatures[0]
            .clone()
    }

    #[test]
    fn the_trusted_root_is_read_inside_the_folder_and_fingerprinted() {
        let root = tempfile::tempdir().unwrap();
        let entry = keyless_entry("^x$");
        let error = Policies::load(std::slice::from_ref(&entry), root.path()).unwrap_err();
        assert!(
            error.starts_with("signatures: trusted root `root.json` cannot be read"),
            "{error}"
        );
        std::fs::write(root.path().join("root.json"), "{}").unwrap();
        let error = Policies::load(std::slice::from_ref(&entry), root.path()).unwrap_err();
        assert!(error.contains("names no certificate authority"), "{error}");
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("root.json"), "{}").unwrap();
        std::fs::remove_file(root.path().join("root.json")).unwrap();
        std::os::unix::fs::symlink(
            outside.path().join("root.json"),
            root.path().join("root.json"),
        )
        .unwrap();
        let error = Policies::load(&[entry], root.path()).unwrap_err();
        assert!(
            error.contains("outside the config file's folder"),
            "{error}"
        );

        let identity = |pattern: &str| KeylessIdentity {
            issuer: "https://i".to_string(),
            identity: pattern.to_string(),
        };
        let one = fingerprint(&[], &[identity("^a$")], Some(b"root"), &[]);
        assert_ne!(
            one,
            fingerprint(&[], &[identity("^b$")], Some(b"root"), &[])
        );
        assert_ne!(
            one,
            fingerprint(&[], &[identity("^a$")], Some(b"other root"), &[])
        );
        assert_eq!(
            one,
            fingerprint(&[], &[identity("^a$")], Some(b"root"), &[])
        );
    }

    #[test]
    fn key_files_are_held_to_the_config_folder() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("key.pub"), "secret").unwrap();
        let root = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path().join("key.pub"), root.path().join("link.pub"))
            .unwrap();
        std::fs::create_dir(root.path().join("keys")).unwrap();
        let error = read_inside(root.path(), "link.pub", 1024).unwrap_err();
        assert!(error.contains("outside"), "{error}");
        let error = read_inside(root.path(), "keys", 1024).unwrap_err();
        assert!(error.contains("regular file"), "{error}");
        std::fs::write(root.path().join("big.pub"), vec![b'a'; 2048]).unwrap();
        let error = read_inside(root.path(), "big.pub", 1024).unwrap_err();
        assert!(error.contains("larger"), "{error}");
        let error = read_key(root.path(), "../key.pub").unwrap_err();
        assert!(error.contains("leaves"), "{error}");
    }
}
