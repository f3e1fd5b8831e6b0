//! Judging cosign signatures under one `signatures` entry: a signature counts only when it
//! verifies under one of the entry's keys over the payload's exact bytes, and the payload is a
//! cosign image signature whose `critical.image.docker-manifest-digest` is the pinned digest.

use base64::Engine;
use serde_json::Value;

use super::Verdict;
use super::policy::Policy;
use crate::image_ref::Digest;
use crate::registry::CosignSignature;

/// `critical.type` of a cosign image signature payload (simple signing).
const COSIGN_PAYLOAD_TYPE: &str = "cosign container image signature";

/// The verdict on `pinned` under `policy`'s keys, given the signatures its `.sig` tag holds.
pub fn judge_keys(pinned: &Digest, signatures: &[CosignSignature], policy: &Policy) -> Verdict {
    if signatures.is_empty() {
        return Verdict::NoSignature {
            bundles: !policy.keyless.is_empty(),
        };
    }
    let mut other_digest = None;
    for signature in signatures {
        let Some(key) = signed_by(signature, policy) else {
            continue;
        };
        match signed_digest(&signature.payload) {
            Some(digest) if digest == pinned.to_string() => {
                return Verdict::Verified {
                    key: key.to_string(),
                };
            }
            found => {
                other_digest.get_or_insert(Verdict::OtherDigest {
                    key: key.to_string(),
                    digest: found.unwrap_or_else(|| "no image digest".to_string()),
                });
            }
        }
    }
    other_digest.unwrap_or(Verdict::OtherKey {
        signatures: signatures.len(),
    })
}

/// The name of the key (of the entry's) that `signature` verifies under.
fn signed_by<'a>(signature: &CosignSignature, policy: &'a Policy) -> Option<&'a str> {
    let encoded = signature.signature.as_deref()?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    policy
        .keys
        .iter()
        .find(|key| key.verifies(&signature.payload, &bytes))
        .map(|key| key.name.as_str())
}

/// The digest a simple-signing payload vouches for, when it is a cosign image signature.
pub(super) fn signed_digest(payload: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(payload).ok()?;
    let critical = value.get("critical")?;
    if critical.get("type")?.as_str()? != COSIGN_PAYLOAD_TYPE {
        return None;
    }
    let digest = critical
        .get("image")?
        .get("docker-manifest-digest")?
        .as_str()?;
    // Printed in messages: a well-formed digest only.
    Digest::parse(digest).ok().map(|d| d.to_string())
}
