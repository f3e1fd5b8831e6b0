//! `signatures:` — which images must be signed, and by whom. Key files and the Sigstore trusted
//! root are named relative to the config file's folder and must stay inside it: a config found
//! in the tree is written by whoever opened the pull request, and may name files in the tree but
//! nothing outside it.

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
    #[serde(default)]
    pub keys: Vec<String>,
    /// Sigstore keyless signers: a Fulcio certificate whose identity and issuer match one of
    /// these (and that chains to `trusted_root`, with a Rekor entry proving when it signed).
    #[serde(default)]
    pub keyless: Vec<KeylessIdentity>,
    /// Sigstore `trusted_root.json` (Fulcio CAs, Rekor keys), relative to the config file's
    /// folder and inside it; needed by `keyless`.
    pub trusted_root: Option<String>,
    /// The in-toto predicate types an attestation must have to count
    /// (`https://slsa.dev/provenance/v1`, `https://sigstore.dev/cosign/sign/v1` …); empty, any
    /// statement that names the digest counts. A cosign `.sig` payload or a message signature
    /// signs the digest itself and always counts.
    #[serde(default)]
    pub predicate_types: Vec<String>,
}

/// A keyless signer: who the Fulcio certificate was issued to, and by which OIDC issuer.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KeylessIdentity {
    /// The OIDC issuer, matched exactly against the certificate's Fulcio issuer extension
    /// (`https://token.actions.githubusercontent.com`).
    pub issuer: String,
    /// A regular expression on the certificate's subject (its URI or email SAN), as cosign's
    /// `--certificate-identity-regexp`: unanchored unless written with `^…$`.
    pub identity: String,
}

/// The largest compiled identity expression; a hostile config must not make one huge.
pub const MAX_IDENTITY_REGEX_BYTES: usize = 1 << 20;

/// `identity` compiled, within [`MAX_IDENTITY_REGEX_BYTES`].
pub fn identity_regex(identity: &str) -> Result<regex::Regex, String> {
    regex::RegexBuilder::new(identity)
        .size_limit(MAX_IDENTITY_REGEX_BYTES)
        .build()
        .map_err(|e| {
            e.to_string()
                .lines()
                .last()
                .unwrap_or("")
                .trim()
                .to_string()
        })
}

impl SignatureEntry {
    /// Whom the entry trusts, for messages: its key files and keyless identities.
    pub fn signers(&self) -> String {
        let keyless = self
            .keyless
            .iter()
            .map(|k| format!("identity `{}` from {}", k.identity, k.issuer));
        let all: Vec<String> = self.keys.iter().cloned().chain(keyless).collect();
        all.join(", ")
    }
}

impl SignatureEntry {
    /// The files the entry names, relative to the config's folder: what `--policy-from`
    /// reads from the revision with the config.
    pub fn files(&self) -> impl Iterator<Item = &String> {
        self.keys.iter().chain(&self.trusted_root)
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
        if entry.keys.is_empty() && entry.keyless.is_empty() {
            return Err((
                keys.or(node.get("keyless")).map_or(node.span, |n| n.span),
                "a `signatures` entry names no key and no keyless identity".to_string(),
                "name cosign public keys (PEM) in the repository, e.g. `keys: [keys/release.pub]`, or Sigstore identities under `keyless`"
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
        validate_keyless(entry, node)?;
    }
    Ok(())
}

/// Keyless identities need a trusted root inside the folder, an issuer and an expression.
fn validate_keyless(entry: &SignatureEntry, node: &Node) -> Result<(), (Span, String, String)> {
    let items = node
        .get("keyless")
        .and_then(Node::as_sequence)
        .unwrap_or(&[]);
    for (item, identity) in items.iter().zip(&entry.keyless) {
        let span = |key: &str| item.get(key).map_or(item.span, |n| n.span);
        if identity.issuer.trim().is_empty() {
            return Err((
                span("issuer"),
                "a keyless identity with an empty issuer".to_string(),
                "name the OIDC issuer, e.g. `issuer: https://token.actions.githubusercontent.com`"
                    .to_string(),
            ));
        }
        if let Err(why) = identity_regex(&identity.identity) {
            return Err((
                span("identity"),
                format!("invalid identity expression `{}`: {why}", identity.identity),
                "a regular expression on the certificate's URI or email, e.g. `^https://github.com/acme/`"
                    .to_string(),
            ));
        }
    }
    let root = node.get("trusted_root");
    match (&entry.trusted_root, entry.keyless.is_empty()) {
        (None, false) => Err((
            node.get("keyless").map_or(node.span, |n| n.span),
            "keyless identities need a `trusted_root`".to_string(),
            "name Sigstore's trusted_root.json (Fulcio CAs, Rekor keys) kept in the repository, e.g. `trusted_root: sigstore/trusted_root.json`".to_string(),
        )),
        (Some(path), _) => match outside_reason(path) {
            Some(why) => Err((
                root.map_or(node.span, |n| n.span),
                format!("trusted root `{path}` {why}"),
                "the trusted root is named relative to the config file's folder, and stays inside it".to_string(),
            )),
            None => Ok(()),
        },
        (None, true) => Ok(()),
    }
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
        let keyless = "signatures:\n  - images: [\"a/**\"]\n    keyless:\n      - {issuer: https://i, identity: \"^x$\"}\n";
        let message = error(keyless);
        assert!(
            message.starts_with("c.yaml:4:7: keyless identities need a `trusted_root`"),
            "{message}"
        );
        let message = error(&format!("{keyless}    trusted_root: ../root.json\n"));
        assert!(
            message.starts_with("c.yaml:5:19: trusted root `../root.json` leaves"),
            "{message}"
        );
        let message = error(&format!("{keyless}    trusted_root: r.json\n").replace("^x$", "(x"));
        assert!(
            message.starts_with("c.yaml:4:39: invalid identity expression `(x`"),
            "{message}"
        );
        let message =
            error(&format!("{keyless}    trusted_root: r.json\n").replace("https://i", "\"\""));
        assert!(
            message.starts_with("c.yaml:4:18: a keyless identity with an empty issuer"),
            "{message}"
        );
        let parsed =
            crate::config::parse_config("c.yaml", &format!("{keyless}    trusted_root: r.json\n"));
        let entry = &parsed.unwrap().signatures[0];
        assert_eq!(entry.signers(), "identity `^x$` from https://i");
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
