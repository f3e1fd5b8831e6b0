//! Signatures of pinned digests: which `signatures` entry covers an image, and whether a
//! signature stored beside its digest verifies under that entry's keys. Gathered before the
//! rules run (like the other online facts), so `unsigned-image` stays a pure function.

mod bundle;
mod certificate;
mod cosign;
mod der;
mod gather;
mod judge;
mod keyless;
mod keys;
mod policy;
mod rekor;
mod require;
mod rfc3161;
mod sct;
mod trusted_root;

pub use gather::{EntryVerdict, SignatureFacts, Verifier, gather_for_run};
pub use judge::judge;
pub use keys::PublicKey;
pub use policy::{MAX_KEY_FILE_BYTES, Policies, Policy, read_inside};
pub use require::{require_signatures, required_policies};
pub use trusted_root::{MAX_TRUSTED_ROOT_BYTES, TrustedRoot};

use serde::{Deserialize, Serialize};

/// Rekor entries looked at per keyless signature.
const MAX_LOG_ENTRIES: usize = 8;
/// RFC 3161 timestamps looked at per keyless signature.
const MAX_TIMESTAMPS: usize = 8;

/// What was found for one digest under one `signatures` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "kebab-case")]
pub enum Verdict {
    /// A signature over a payload for this digest verifies under `key`.
    Verified { key: String },
    /// The registry holds no signature for the digest: no cosign signature, and (`bundles`,
    /// false only in caches of older runs, which did not ask) no Sigstore bundle among its
    /// referrers either.
    NoSignature {
        #[serde(default)]
        bundles: bool,
    },
    /// There are signatures, and none verifies under the entry's keys (another signer, or a
    /// signature that was altered).
    OtherKey { signatures: usize },
    /// A signature verifies under `key`, but its payload vouches for another digest.
    OtherDigest { key: String, digest: String },
    /// An attestation by `key` for the digest, of a predicate type the entry does not take.
    OtherPredicate { key: String, predicate_type: String },
    /// The pinned digest is a multi-arch index with no signature of its own, and `signed` of
    /// its `platforms` manifests verify under `key`: signers should sign the index, which is
    /// what a multi-arch pin names.
    OnlyPlatformsSigned {
        key: String,
        signed: usize,
        platforms: usize,
    },
    /// The registry could not be asked (the reason is the registry error's text).
    NotChecked { reason: String },
    /// A keyless signature that does not verify under its own certificate's key.
    AlteredSignature,
    /// A keyless signature without a Rekor entry that verifies and records it (and, when it has
    /// no Rekor entry at all, without an RFC 3161 timestamp either).
    BadLogEntry { reason: String },
    /// A keyless signature with no Rekor entry, whose RFC 3161 timestamps all fail.
    BadTimestamp { reason: String },
    /// A keyless signature whose certificate is not one the trusted root vouches for.
    UntrustedCertificate { reason: String },
    /// A keyless signature by a certificate that names another identity or issuer.
    OtherIdentity { identity: String, issuer: String },
    /// A signature that cannot be read (a bundle of another kind, a broken annotation).
    UnreadableSignature { reason: String },
}

impl Verdict {
    pub fn is_verified(&self) -> bool {
        matches!(self, Verdict::Verified { .. })
    }

    /// What was found, worded to follow "`image`: ".
    pub fn describe(&self) -> String {
        match self {
            Verdict::Verified { key } => format!("signed (verifies under {key})"),
            Verdict::NoSignature { bundles: true } => {
                "no cosign signature or Sigstore bundle".to_string()
            }
            Verdict::NoSignature { bundles: false } => "no cosign signature".to_string(),
            Verdict::OtherKey { signatures: 1 } => {
                "a signature that verifies under none of the keys (signed by another key, or altered)".to_string()
            }
            Verdict::OtherKey { signatures } => format!(
                "{signatures} signatures, none of which verifies under the keys (signed by another key, or altered)"
            ),
            Verdict::OtherDigest { key, digest } => {
                format!("a signature by {key} for another digest ({digest})")
            }
            Verdict::OtherPredicate {
                key,
                predicate_type,
            } => format!(
                "an attestation by {key} of predicate type `{predicate_type}`, which the entry's `predicate_types` do not list"
            ),
            Verdict::OnlyPlatformsSigned {
                key,
                signed,
                platforms,
            } => format!(
                "no signature on the multi-arch index; only {signed} of its {platforms} platform manifests are signed (by {key}), and a multi-arch pin is verified on the index"
            ),
            Verdict::NotChecked { reason } => format!("signatures not checked: {reason}"),
            Verdict::AlteredSignature => {
                "a keyless signature that does not verify under its own certificate (altered)"
                    .to_string()
            }
            Verdict::BadLogEntry { reason } => {
                format!("a keyless signature whose transparency-log entry {reason}")
            }
            Verdict::BadTimestamp { reason } => {
                format!("a keyless signature whose RFC 3161 timestamp {reason}")
            }
            Verdict::UntrustedCertificate { reason } => {
                format!("a keyless signature with a certificate {reason}")
            }
            Verdict::OtherIdentity { identity, issuer } => format!(
                "a keyless signature by {identity} from {issuer}, which none of the identities matches"
            ),
            Verdict::UnreadableSignature { reason } => reason.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Verdict;

    #[test]
    fn a_cached_no_signature_verdict_of_an_older_run_still_reads() {
        // Caches written before keyless entries hold a bare `no-signature`.
        let verdict: Verdict = serde_json::from_str(r#"{"verdict":"no-signature"}"#).unwrap();
        assert_eq!(verdict, Verdict::NoSignature { bundles: false });
        assert_eq!(verdict.describe(), "no cosign signature");
    }
}
