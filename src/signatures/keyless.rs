//! Judging Sigstore keyless signatures under one `signatures` entry. Each step is checked, and
//! the first that fails is the signature's verdict: the signature over what it signs, under the
//! certificate's key; a Rekor entry that records this signature and proves when it was made
//! (or, for a bundle without Rekor entries, an RFC 3161 timestamp of it);
//! the certificate's chain to a Fulcio authority of the trusted root at that time, for code
//! signing, and an SCT of a CT log of the root (when it names any); an identity and issuer the entry names; a payload for the pinned digest.

use super::Verdict;
use super::bundle::{KeylessSignature, predicate_type, vouches_for};
use super::certificate::{CertificateFailure, check_chain, read_leaf};
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
        Verdict::OtherDigest { .. } | Verdict::OtherPredicate { .. } => 8,
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
    if !signature.signed.verifies(&signer.key, &signature.signature) {
        return Verdict::AlteredSignature;
    }
    if let Err(verdict) = trusted_certificate(signature, root) {
        return verdict;
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
    let predicate = predicate_type(&signature.content, &signature.payload);
    if !policy.accepts_predicate(predicate.as_deref()) {
        return Verdict::OtherPredicate {
            key: who,
            predicate_type: predicate.unwrap_or_default(),
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

/// The certificate's trust: a signing time proven (see [`proven_times`]), the chain to a
/// Fulcio authority of the root valid at every time proven (as sigstore-go checks it), and an
/// SCT of a CT log of the root (a root without CT logs, a private Sigstore's, asks for none).
fn trusted_certificate(signature: &KeylessSignature, root: &TrustedRoot) -> Result<(), Verdict> {
    let untrusted = |failure: CertificateFailure| Verdict::UntrustedCertificate {
        reason: failure.describe(),
    };
    let mut issuer = None;
    for time in proven_times(signature, root)? {
        let found = check_chain(&signature.certificate, root, time).map_err(untrusted)?;
        issuer = issuer.or(Some(found));
    }
    let issuer = issuer.ok_or_else(|| untrusted(CertificateFailure::Untrusted))?;
    if !root.ct_logs.is_empty() {
        check_sct(&signature.certificate, issuer, root)
            .map_err(|reason| Verdict::UntrustedCertificate { reason })?;
    }
    Ok(())
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

/// The signing times proven for a signature, counted as sigstore-go counts them: every Rekor
/// entry of a log the trusted root names must verify (a timestamp does not make up for a forged
/// log entry; an entry of another log is passed over), and one must, when the root names
/// logs; a v1 entry's signed entry timestamp proves a time (a v2 entry proves inclusion only); each RFC 3161 timestamp that verifies proves one (one that does not is passed over, as
/// GitHub's attestations of private repositories carry only these); and at least one time
/// must be proven.
fn proven_times(signature: &KeylessSignature, root: &TrustedRoot) -> Result<Vec<i64>, Verdict> {
    let logged = Logged {
        signature: &signature.signature,
        certificate: &signature.certificate,
        payload_sha256: signature.payload_sha256(),
        signed_sha256: signature.signed_sha256(),
    };
    let mut times = Vec::new();
    let mut unknown_log = None;
    let mut logged_in = 0;
    for entry in &signature.log_entries {
        if root.log(&entry.log_id).is_none() {
            unknown_log = Some("is from a log the trusted root does not name".to_string());
            continue;
        }
        if signature.inclusion_proof_required && entry.inclusion_proof.is_none() {
            return Err(Verdict::BadLogEntry {
                reason: "has no inclusion proof, which a v0.2 or later bundle's entry must have"
                    .to_string(),
            });
        }
        match verify_entry(entry, root, &logged) {
            Ok(time) => times.extend(time),
            Err(reason) => return Err(Verdict::BadLogEntry { reason }),
        }
        logged_in += 1;
    }
    // A root that names transparency logs asks for transparency: an unlogged signature does
    // not count (as cosign verifies without `--insecure-ignore-tlog`), however well stamped.
    // A root without logs (GitHub's for private repositories) asks for timestamps alone.
    if !root.logs.is_empty() && logged_in == 0 {
        return Err(Verdict::BadLogEntry {
            reason: unknown_log.unwrap_or_else(|| {
                "is missing: the trusted root names transparency logs, and none records this signature".to_string()
            }),
        });
    }
    let mut stamp_failure = None;
    for stamp in &signature.timestamps {
        match verify_timestamp(stamp, &signature.signature, root) {
            Ok(time) => times.push(time),
            Err(why) => stamp_failure = Some(why),
        }
    }
    if !times.is_empty() {
        return Ok(times);
    }
    Err(match (unknown_log, stamp_failure) {
        (_, Some(reason)) => Verdict::BadTimestamp { reason },
        (Some(reason), None) => Verdict::BadLogEntry { reason },
        (None, None) if !signature.log_entries.is_empty() => Verdict::BadTimestamp {
            reason: "is missing: a Rekor v2 entry proves that the signature was logged, not when, and no RFC 3161 timestamp does".to_string(),
        },
        (None, None) => Verdict::BadLogEntry {
            reason: "is missing (neither a Rekor entry nor an RFC 3161 timestamp proves when it was signed)".to_string(),
        },
    })
}
