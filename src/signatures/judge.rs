//! The verdict on a digest under one `signatures` entry, from every signature stored for it:
//! key signatures (cosign's `.sig` layers, and key-signed Sigstore bundles among the referrers)
//! judged under the entry's keys, keyless ones (cosign's with a certificate, and bundles with
//! one) under its identities; the best verdict wins, and
//! when none verifies, the one that got furthest says what was found.

use super::Verdict;
use super::bundle::{Bundle, CosignLayer, cosign_keyless, parse_bundle};
use super::cosign::judge_keys;
use super::keyless::{judge_keyless, rank};
use super::policy::Policy;
use crate::image_ref::Digest;
use crate::registry::StoredSignatures;

pub fn judge(pinned: &Digest, found: &StoredSignatures, policy: &Policy) -> Verdict {
    if found.is_empty() {
        return Verdict::NoSignature { bundles: true };
    }
    let mut verdicts = Vec::new();
    let mut keyless = Vec::new();
    let mut key_bundles = Vec::new();
    for bundle in &found.bundles {
        match parse_bundle(bundle) {
            Ok(Bundle::Keyless(signature)) => keyless.push(signature),
            Ok(Bundle::Key(signature)) => key_bundles.push(signature),
            Err(why) => verdicts.push(Verdict::UnreadableSignature {
                reason: format!("a Sigstore bundle that is {why}"),
            }),
        }
    }
    let key_signed = !found.cosign.is_empty() || !key_bundles.is_empty();
    if !policy.keys.is_empty() && key_signed {
        verdicts.push(judge_keys(pinned, &found.cosign, &key_bundles, policy));
    }
    if !policy.keyless.is_empty() {
        for stored in &found.cosign {
            let (Some(certificate), Some(signature)) = (&stored.certificate, &stored.signature)
            else {
                continue;
            };
            let layer = CosignLayer {
                signature,
                certificate_pem: certificate,
                rekor_bundle: stored.rekor_bundle.as_deref(),
                timestamp: stored.timestamp.as_deref(),
            };
            let read = cosign_keyless(&stored.payload, &layer);
            match read {
                Ok(signature) => keyless.push(signature),
                Err(why) => verdicts.push(Verdict::UnreadableSignature {
                    reason: format!("a keyless cosign signature with {why}"),
                }),
            }
        }
        verdicts.extend(judge_keyless(pinned, &keyless, policy));
    }
    verdicts
        .into_iter()
        .max_by_key(rank)
        .unwrap_or_else(|| without_certificates(found, policy))
}

/// What signatures are to an entry that could not judge them: signed by another key, or, for
/// an entry of keyless identities only, not keyless at all.
fn without_certificates(found: &StoredSignatures, policy: &Policy) -> Verdict {
    let signatures = found.cosign.len() + found.bundles.len();
    if !policy.keys.is_empty() {
        return Verdict::OtherKey { signatures };
    }
    Verdict::UnreadableSignature {
        reason: format!(
            "{signatures} signature(s) made with a key, not keyless (no certificate), and the entry names no key"
        ),
    }
}
