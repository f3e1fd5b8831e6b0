//! Judging Sigstore keyless signatures under one `signatures` entry. Each step is checked, and
//! the first that fails is the signature's verdict: the signature over what it signs, under the
//! certificate's key; a Rekor entry that records this signature and proves when it was made
//! (or, for a bundle without Rekor entries, an RFC 3161 timestamp of it);
//! the certificate's chain to a Fulcio authority of the trusted root at that time, for code
//! signing, and an SCT of a CT log of the root (when it names any); an identity and issuer the entry names; a payload for the pinned digest.

use super::Verdict;
use super::bundle::{KeylessSignature, vouches_for};
use super::certificate::{check_chain, read_leaf};
use super::policy::Policy;
use super::rekor::{Logged, verify_entry};
use super::rfc3161::verify_timestamp;
use super::sct::check_sct;
use super::trusted_root::TrustedRoot;
use crate::image_ref::Digest;

/// The verdict of the most convincing of `signatures` under `policy`'s keyless identities;
/// `None` when the entry has none or there is no signature.
pub fn judge_keyless(
    pinned: &Digest,
    signatures: &[KeylessSignature],
    policy: &Policy,
) -> Option<Verdict> {
    let root = policy.trusted_root.as_ref()?;
    signatures
        .iter()
        .map(|signature| judge_one(pinned, signature, policy, root))
        .max_by_key(rank)
}

/// How far a verdict got through the steps: the furthest is the one worth reporting.
pub fn rank(verdict: &Verdict) -> u8 {
    match verdict {
        Verdict::Verified { .. } => 9,
        Verdict::OtherDigest { .. } => 8,
        Verdict::OtherIdentity { .. } => 7,
        Verdict::UntrustedCertificate { .. } => 6,
        Verdict::BadLogEntry { .. } | Verdict::BadTimestamp { .. } => 5,
        Verdict::AlteredSignature => 4,
        Verdict::UnreadableSignature { .. } => 3,
        Verdict::OnlyPlatformsSigned { .. } => 2,
        Verdict::OtherKey { .. } => 1,
        Verdict::NoSignature { .. } | Verdict::NotChecked { .. } => 0,
    }
}

fn judge_one(
    pinned: &Digest,
    signature: &KeylessSignature,
    policy: &Policy,
    root: &TrustedRoot,
) -> Verdict {
    let signer = match read_leaf(&signature.certificate) {
        Ok(signer) => signer,
        Err(failure) => {
            return Verdict::UntrustedCertificate {
                reason: failure.describe(),
            };
        }
    };
    if !signer.key.verifies(&signature.signed, &signature.signature) {
        return Verdict::AlteredSignature;
    }
    let signed_at = match signing_time(signature, root) {
        Ok(time) => time,
        Err(verdict) => return verdict,
    };
    let issuer = match check_chain(&signature.certificate, root, signed_at) {
        Ok(issuer) => issuer,
        Err(failure) => {
            return Verdict::UntrustedCertificate {
                reason: failure.describe(),
            };
        }
    };
    // A root without CT logs (a private Sigstore without one) asks for no SCT.
    if !root.ct_logs.is_empty()
        && let Err(reason) = check_sct(&signature.certificate, issuer, root)
    {
        return Verdict::UntrustedCertificate { reason };
    }
    let issuer = signer.issuer.clone().unwrap_or_default();
    let trusted = policy
        .keyless
        .iter()
        .any(|(identity, pattern)| identity.issuer == issuer && pattern.is_match(&signer.identity));
    let identity = shown(&signer.identity);
    let who = format!("{identity} ({})", shown_issuer(&issuer));
    if !trusted {
        return Verdict::OtherIdentity {
            identity,
            issuer: shown_issuer(&issuer),
        };
    }
    match vouches_for(&signature.content, &signature.payload) {
        Some(digests) if digests.iter().any(|d| d == &pinned.to_string()) => {
            Verdict::Verified { key: who }
        }
        found => Verdict::OtherDigest {
            key: who,
            digest: found
                .and_then(|d| d.into_iter().next())
                .unwrap_or_else(|| "no image digest".to_string()),
        },
    }
}

fn shown_issuer(issuer: &str) -> String {
    match issuer {
        "" => "no issuer".to_string(),
        other => shown(other),
    }
}

/// The longest identity or issuer shown; GitHub workflow identities run to ~150 characters.
const MAX_SHOWN: usize = 512;

/// Certificate text made safe to print: no control characters (a terminal escape in a SAN is
/// an attack on whoever reads the log), within [`MAX_SHOWN`] characters.
fn shown(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control())
        .take(MAX_SHOWN)
        .collect()
}

/// The signing time a Rekor entry proves (the first that verifies) or, when the signature has
/// no Rekor entry, an RFC 3161 timestamp (as GitHub attests private repositories). A Rekor
/// entry that is there must verify: a timestamp does not make up for a forged log entry.
fn signing_time(signature: &KeylessSignature, root: &TrustedRoot) -> Result<i64, Verdict> {
    let logged = Logged {
        signature: &signature.signature,
        certificate: &signature.certificate,
        payload_sha256: signature.payload_sha256(),
    };
    if !signature.log_entries.is_empty() {
        let mut reason = String::new();
        for entry in &signature.log_entries {
            match verify_entry(entry, root, &logged) {
                Ok(time) => return Ok(time),
                Err(why) => reason = why,
            }
        }
        return Err(Verdict::BadLogEntry { reason });
    }
    if signature.timestamps.is_empty() {
        return Err(Verdict::BadLogEntry {
            reason: "is missing (neither a Rekor entry nor an RFC 3161 timestamp proves when it was signed)".to_string(),
        });
    }
    let mut reason = String::new();
    for stamp in &signature.timestamps {
        match verify_timestamp(stamp, &signature.signature, root) {
            Ok(time) => return Ok(time),
            Err(why) => reason = why,
        }
    }
    Err(Verdict::BadTimestamp { reason })
}
