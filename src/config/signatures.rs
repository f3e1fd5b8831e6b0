//! `signatures:` — which images must be signed, and by whom. Key files are named relative to
//! the config file's folder and must stay inside it: a config found in the tree is written by
//! whoever opened the pull request, and may name keys in the tree but nothing outside it.

use std::path::{Component, Path};

use schemars::JsonSchema;
use serde::Deserialize;

use crate::source::Span;
use crate::yaml::Node;

/// One `signatures` entry: images its globs cover need a signature that verifies under it.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SignatureEntry {
    /// Globs on the normalized image name, as in `registries.trusted` (`ghcr.io/acme/**`; a
    /// bare host covers everything it serves).
    pub images: Vec<String>,
    /// cosign public keys (PEM `PUBLIC KEY`: ECDSA P-256 or P-384, RSA, Ed25519), relative to
    /// the config file's folder and inside it. A signature under any one of them verifies.
    pub keys: Vec<String>,
}

impl SignatureEntry {
    /// The files the entry names, relative to the config's folder: what `--policy-from`
    /// reads from the revision with the config.
    pub fn files(&self) -> impl Iterator<Item = &String> {
        self.keys.iter()
    }
}

/// Checks what serde cannot: globs that compile, at least one key, key paths inside the
/// config's folder.
pub(super) fn validate(
    entries: &[SignatureEntry],
    nodes: &[Node],
) -> Result<(), (Span, String, String)> {
    for (entry, node) in entries.iter().zip(nodes) {
        let images = node.get("images");
        let image_items = images.and_then(Node::as_sequence).unwrap_or(&[]);
        if entry.images.is_empty() {
            return Err((
                images.map_or(node.span, |n| n.span),
                "a `signatures` entry covers no image".to_string(),
                "list globs on image names, e.g. `images: [\"ghcr.io/acme/**\"]`".to_string(),
            ));
        }
        for (item, glob) in image_items.iter().zip(&entry.images) {
            if let Err(error) = globset::Glob::new(glob) {
                return Err((
                    item.span,
                    format!("invalid glob `{glob}`: {}", error.kind()),
                    "globs use `*`, `**`, `?`, `[…]` and `{a,b}`".to_string(),
                ));
            }
        }
        let keys = node.get("keys");
        if entry.keys.is_empty() {
            return Err((
                keys.map_or(node.span, |n| n.span),
                "a `signatures` entry names no key".to_string(),
                "name cosign public keys (PEM) in the repository, e.g. `keys: [keys/release.pub]`"
                    .to_string(),
            ));
        }
        let key_items = keys.and_then(Node::as_sequence).unwrap_or(&[]);
        for (item, key) in key_items.iter().zip(&entry.keys) {
            if let Some(why) = outside_reason(key) {
                return Err((
                    item.span,
                    format!("key file `{key}` {why}"),
                    "key files are named relative to the config file's folder, and stay inside it"
                        .to_string(),
                ));
            }
        }
    }
    Ok(())
}

/// Why a path written in config does not name a file inside the config's folder, if it
/// does not. Symlinks are checked again when the file is read.
pub fn outside_reason(path: &str) -> Option<&'static str> {
    let path = Path::new(path);
    if path.as_os_str().is_empty() {
        return Some("is empty");
    }
    if path.is_absolute() || path.has_root() {
        return Some("is an absolute path");
    }
    if path.components().any(|c| c == Component::ParentDir) {
        return Some("leaves the config file's folder (`..`)");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::outside_reason;

    #[test]
    fn mistakes_are_reported_at_their_line() {
        let error = |text: &str| {
            crate::config::parse_config("c.yaml", text)
                .unwrap_err()
                .to_string()
        };
        let text =
            "signatures:\n  - images: [\"ghcr.io/acme/**\"]\n    keys: [keys/ok.pub, ../up.pub]\n";
        let message = error(text);
        assert!(
            message.starts_with("c.yaml:3:25: key file `../up.pub` leaves"),
            "{message}"
        );
        let message = error("signatures:\n  - images: [\"a/**\"]\n    keys: []\n");
        assert!(
            message.starts_with("c.yaml:3:11: a `signatures` entry names no key"),
            "{message}"
        );
        let message = error("signatures:\n  - images: [\"a/**\"]\n    keyless: []\n");
        assert!(message.contains("unknown field `keyless`"), "{message}");
        let parsed =
            crate::config::parse_config("c.yaml", text.replace(", ../up.pub", "").as_str());
        assert_eq!(parsed.unwrap().signatures[0].keys, ["keys/ok.pub"]);
    }

    #[test]
    fn paths_that_leave_the_folder_are_named() {
        assert_eq!(outside_reason("keys/release.pub"), None);
        assert_eq!(outside_reason("./release.pub"), None);
        assert!(outside_reason("/etc/ssl/key.pub").is_some());
        assert!(outside_reason("keys/../../key.pub").is_some());
        assert!(outside_reason("").is_some());
    }
}
