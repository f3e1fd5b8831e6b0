//! Judging cosign key signatures under one `signatures` entry, in both of cosign's forms: a
//! `.sig` layer counts only when it verifies under one of the entry's keys over the payload's
//! exact bytes, and the payload is a cosign image signature whose
//! `critical.image.docker-manifest-digest` is the pinned digest; a key-signed Sigstore bundle
//! (cosign 3) counts when its DSSE signature verifies under one of the keys and its in-toto
//! statement's subject is the pinned digest.

use base64::Engine;
use serde_json::Value;

use super::Verdict;
use super::bundle::{KeyBundle, SignedOver, predicate_type, vouches_for};
use super::policy::Policy;
use crate::image_ref::Digest;
use crate::registry::CosignSignature;

/// `critical.type` of a cosign image signature payload (simple signing).
const COSIGN_PAYLOAD_TYPE: &str = "cosign container image signature";

/// The verdict on `pinned` under `policy`'s keys, given the signatures its `.sig` tag holds and
/// the key-signed bundles among its referrers (cosign 3's form).
pub fn judge_keys(
    pinned: &Digest,
    signatures: &[CosignSignature],
    bundles: &[KeyBundle],
    policy: &Policy,
) -> Verdict {
    let count = signatures.len() + bundles.len();
    if count == 0 {
        return Verdict::NoSignature { bundles: true };
    }
    let tagged = signatures.iter().filter_map(|signature| {
        let encoded = signature.signature.as_deref()?;
        Some(KeySigned {
            signed: SignedOver::Bytes(signature.payload.clone()),
            signature: base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .ok()?,
            vouches_for: signed_digest(&signature.payload).map(|d| vec![d]),
            predicate_type: None,
        })
    });
    let bundled = bundles.iter().map(|bundle| KeySigned {
        signed: bundle.signed.clone(),
        signature: bundle.signature.clone(),
        vouches_for: vouches_for(&bundle.content, &bundle.payload),
        predicate_type: predicate_type(&bundle.content, &bundle.payload),
    });
    let mut other_digest = None;
    for candidate in tagged.chain(bundled) {
        let Some(key) = signed_by(&candidate, policy) else {
            continue;
        };
        let key = key.to_string();
        if !policy.accepts_predicate(candidate.predicate_type.as_deref()) {
            other_digest.get_or_insert(Verdict::OtherPredicate {
                key,
                predicate_type: candidate.predicate_type.unwrap_or_default(),
            });
            continue;
        }
        let digests = candidate.vouches_for.unwrap_or_default();
        if digests.contains(&pinned.to_string()) {
            return Verdict::Verified { key };
        }
        other_digest.get_or_insert(Verdict::OtherDigest {
            key,
            digest: digests
                .into_iter()
                .next()
                .unwrap_or_else(|| "no image digest".to_string()),
        });
    }
    other_digest.unwrap_or(Verdict::OtherKey { signatures: count })
}

/// A signature made with a key: the bytes signed, the signature, and the digests the signed
/// payload vouches for.
struct KeySigned {
    signed: SignedOver,
    signature: Vec<u8>,
    vouches_for: Option<Vec<String>>,
    /// The in-toto predicate type of what it signs, `None` for a cosign payload.
    predicate_type: Option<String>,
}

/// The name of the key (of the entry's) that `candidate` verifies under.
fn signed_by<'a>(candidate: &KeySigned, policy: &'a Policy) -> Option<&'a str> {
    policy
        .keys
        .iter()
        .find(|key| candidate.signed.verifies(key, &candidate.signature))
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
