//! Signatures of pinned digests: which `signatures` entry covers an image, and whether a
//! signature stored beside its digest verifies under that entry's keys. Gathered before the
//! rules run (like the other online facts), so `unsigned-image` stays a pure function.

mod cosign;
mod gather;
mod keys;
mod policy;
mod require;

pub use cosign::judge;
pub use gather::{EntryVerdict, SignatureFacts, Verifier, gather_for_run};
pub use keys::PublicKey;
pub use policy::{MAX_KEY_FILE_BYTES, Policies, Policy, read_inside};
pub use require::{require_signatures, required_policies};

use serde::{Deserialize, Serialize};

/// What was found for one digest under one `signatures` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "kebab-case")]
pub enum Verdict {
    /// A signature over a payload for this digest verifies under `key`.
    Verified { key: String },
    /// The registry holds no signature for the digest.
    NoSignature,
    /// There are signatures, and none verifies under the entry's keys (another signer, or a
    /// signature that was altered).
    OtherKey { signatures: usize },
    /// A signature verifies under `key`, but its payload vouches for another digest.
    OtherDigest { key: String, digest: String },
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
}

impl Verdict {
    pub fn is_verified(&self) -> bool {
        matches!(self, Verdict::Verified { .. })
    }

    /// What was found, worded to follow "`image`: ".
    pub fn describe(&self) -> String {
        match self {
            Verdict::Verified { key } => format!("signed (verifies under {key})"),
            Verdict::NoSignature => "no cosign signature".to_string(),
            Verdict::OtherKey { signatures: 1 } => {
                "a signature that verifies under none of the keys (signed by another key, or altered)".to_string()
            }
            Verdict::OtherKey { signatures } => format!(
                "{signatures} signatures, none of which verifies under the keys (signed by another key, or altered)"
            ),
            Verdict::OtherDigest { key, digest } => {
                format!("a signature by {key} for another digest ({digest})")
            }
            Verdict::OnlyPlatformsSigned {
                key,
                signed,
                platforms,
            } => format!(
                "no signature on the multi-arch index; only {signed} of its {platforms} platform manifests are signed (by {key}), and a multi-arch pin is verified on the index"
            ),
            Verdict::NotChecked { reason } => format!("signatures not checked: {reason}"),
        }
    }
}
