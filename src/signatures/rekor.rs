//! Rekor transparency-log entries: the proof that a keyless signature was logged, and when.
//!
//! - The signed entry timestamp (SET, Rekor's "inclusion promise"): the log's signature over
//!   the canonical JSON of `{body, integratedTime, logID, logIndex}` (sigstore/rekor
//!   `pkg/api/entries.go`). It is what proves the signing time, `integratedTime`.
//! - The inclusion proof: an RFC 6962 / RFC 9162 §2.1.3.2 audit path from the entry's leaf to a
//!   root hash, and a checkpoint (a signed note, C2SP `signed-note` and `tlog-checkpoint`)
//!   in which the log signs that root hash and tree size.
//! - The entry's body must record this very signature: the `hashedrekord` or `dsse` entry
//!   (sigstore/rekor `pkg/types/*/v0.0.1`) names the signature, the certificate and the hash of
//!   what was signed, so an entry copied from another signing proves nothing.

use base64::Engine;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use serde_json::Value;
use sha2::{Digest as _, Sha256};

use super::keys::PublicKey;
use super::trusted_root::TrustedRoot;

/// The longest audit path read (a tree of 2^64 leaves has 64).
const MAX_PROOF_HASHES: usize = 64;

/// One log entry as a bundle or cosign's Rekor bundle carries it.
#[derive(Debug, Clone, Default)]
pub struct LogEntry {
    /// The log's key id (SHA-256 of its DER key).
    pub log_id: Vec<u8>,
    pub log_index: i64,
    pub integrated_time: i64,
    /// The canonicalized entry body, as logged.
    pub body: Vec<u8>,
    pub signed_entry_timestamp: Option<Vec<u8>>,
    pub inclusion_proof: Option<InclusionProof>,
}

#[derive(Debug, Clone, Default)]
pub struct InclusionProof {
    pub log_index: u64,
    pub tree_size: u64,
    pub root_hash: Vec<u8>,
    pub hashes: Vec<Vec<u8>>,
    /// The signed note, as text.
    pub checkpoint: String,
}

/// What a keyless signature claims the log holds: the log entry must record these.
pub struct Logged<'a> {
    pub signature: &'a [u8],
    /// The leaf certificate (DER).
    pub certificate: &'a [u8],
    /// SHA-256 of the payload (`hashedrekord`: the signed bytes; `dsse`: the DSSE payload).
    pub payload_sha256: [u8; 32],
}

/// Verifies `entry` under the logs of `root` and that it records `logged`; the proven signing
/// time (Unix seconds), or what is wrong, worded to follow "its transparency-log entry ".
pub fn verify_entry(
    entry: &LogEntry,
    root: &TrustedRoot,
    logged: &Logged<'_>,
) -> Result<i64, String> {
    let log = root
        .log(&entry.log_id)
        .ok_or("is from a log the trusted root does not name")?;
    if !log.valid.contains(entry.integrated_time) {
        return Err("is from a time the trusted root does not trust its log for".to_string());
    }
    let key = PublicKey::from_der("rekor", &log.der).ok_or("names a log key pinnace cannot use")?;
    if let Some(proof) = &entry.inclusion_proof {
        verify_inclusion(entry, proof, &key)?;
    }
    let Some(set) = &entry.signed_entry_timestamp else {
        // An inclusion proof shows the entry is in the log, not when it got there.
        return Err(
            "has no signed entry timestamp, so nothing proves when it was signed".to_string(),
        );
    };
    if !key.verifies(&promise_message(entry), set) {
        return Err(
            "has a signed entry timestamp that does not verify under the log's key".to_string(),
        );
    }
    records(&entry.body, logged)?;
    Ok(entry.integrated_time)
}

/// The canonical JSON (keys sorted, no spaces) Rekor signs as the SET.
fn promise_message(entry: &LogEntry) -> Vec<u8> {
    let body = base64::engine::general_purpose::STANDARD.encode(&entry.body);
    let log_id: String = entry.log_id.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        r#"{{"body":"{body}","integratedTime":{},"logID":"{log_id}","logIndex":{}}}"#,
        entry.integrated_time, entry.log_index
    )
    .into_bytes()
}

fn verify_inclusion(
    entry: &LogEntry,
    proof: &InclusionProof,
    key: &PublicKey,
) -> Result<(), String> {
    let bad = |why: &str| format!("has an inclusion proof that {why}");
    if proof.hashes.len() > MAX_PROOF_HASHES || proof.hashes.iter().any(|h| h.len() != 32) {
        return Err(bad("is malformed"));
    }
    let leaf = hash_pair(0x00, &entry.body, &[]);
    let root = root_from_path(proof.log_index, proof.tree_size, leaf, &proof.hashes)
        .ok_or_else(|| bad("does not lead to its root hash"))?;
    if root.as_slice() != proof.root_hash {
        return Err(bad("does not lead to its root hash"));
    }
    let (size, hash) = checkpoint(&proof.checkpoint, key, entry.log_id.get(..4).unwrap_or(&[]))
        .ok_or_else(|| bad("has a checkpoint that does not verify under the log's key"))?;
    if size != proof.tree_size || hash != proof.root_hash {
        return Err(bad("has a checkpoint for another tree"));
    }
    Ok(())
}

/// RFC 6962 hashing: `H(prefix || a || b)`.
fn hash_pair(prefix: u8, a: &[u8], b: &[u8]) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update([prefix]);
    hash.update(a);
    hash.update(b);
    hash.finalize().into()
}

/// The root an audit path leads to from leaf `index` of a tree of `size` (RFC 9162 §2.1.3.2).
fn root_from_path(index: u64, size: u64, leaf: [u8; 32], path: &[Vec<u8>]) -> Option<[u8; 32]> {
    if index >= size {
        return None;
    }
    let (mut fnode, mut snode, mut hash) = (index, size - 1, leaf);
    for sibling in path {
        if snode == 0 {
            return None;
        }
        if fnode & 1 == 1 || fnode == snode {
            hash = hash_pair(0x01, sibling, &hash);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            hash = hash_pair(0x01, &hash, sibling);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    (snode == 0).then_some(hash)
}

/// The tree size and root hash of a checkpoint whose note one of its signatures (`— name
/// base64(key hint || signature)`) signs under `key`, the signature naming the key by `hint`
/// (a Rekor v1 log's: the first 4 bytes of its key id), as sigstore-go's note verifier asks.
fn checkpoint(note: &str, key: &PublicKey, hint: &[u8]) -> Option<(u64, Vec<u8>)> {
    let split = note.find("\n\n")?;
    let (text, signatures) = (&note[..=split], &note[split + 2..]);
    let signed = signatures.lines().any(|line| {
        let Some(rest) = line.strip_prefix("\u{2014} ") else {
            return false;
        };
        let Some((_, encoded)) = rest.rsplit_once(' ') else {
            return false;
        };
        let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(encoded) else {
            return false;
        };
        bytes.len() > 4 && bytes[..4] == *hint && key.verifies(text.as_bytes(), &bytes[4..])
    });
    if !signed {
        return None;
    }
    let mut lines = text.lines().skip(1);
    let size = lines.next()?.parse().ok()?;
    let hash = base64::engine::general_purpose::STANDARD
        .decode(lines.next()?)
        .ok()?;
    Some((size, hash))
}

/// Whether the entry body records `logged`: its signature, certificate and payload hash.
fn records(body: &[u8], logged: &Logged<'_>) -> Result<(), String> {
    let mismatch = |what: &str| format!("records {what} than this signature's");
    let value: Value =
        serde_json::from_slice(body).map_err(|_| "has a body that is not JSON".to_string())?;
    let spec = &value["spec"];
    let hex: String = logged
        .payload_sha256
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let decode = |v: &Value| {
        v.as_str()
            .and_then(|t| base64::engine::general_purpose::STANDARD.decode(t).ok())
    };
    // Each kind's hash of what was signed, and its (signature, PEM verifier) pairs.
    let (hash, signatures): (&Value, Vec<Recorded>) = match value["kind"].as_str() {
        Some("hashedrekord") => (
            &spec["data"]["hash"],
            vec![(
                decode(&spec["signature"]["content"]),
                decode(&spec["signature"]["publicKey"]["content"]),
            )],
        ),
        Some("dsse") => (
            &spec["payloadHash"],
            entries(&spec["signatures"])
                .map(|s| (decode(&s["signature"]), decode(&s["verifier"])))
                .collect(),
        ),
        // in-toto v0.0.2 (sigstore/rekor pkg/types/intoto/v0.0.2): the envelope's
        // signatures are base64 twice over.
        Some("intoto") if value["apiVersion"] == "0.0.2" => (
            &spec["content"]["payloadHash"],
            entries(&spec["content"]["envelope"]["signatures"])
                .map(|s| {
                    let once = decode(&s["sig"]);
                    let twice = once.and_then(|text| {
                        base64::engine::general_purpose::STANDARD.decode(text).ok()
                    });
                    (twice, decode(&s["publicKey"]))
                })
                .collect(),
        ),
        _ => {
            return Err(
                "is of a kind pinnace does not read (not hashedrekord, dsse or intoto 0.0.2)"
                    .to_string(),
            );
        }
    };
    if hash["algorithm"].as_str() != Some("sha256") || hash["value"].as_str() != Some(hex.as_str())
    {
        return Err(mismatch("another payload"));
    }
    let ours = |(signature, verifier): &Recorded| {
        signature.as_deref() == Some(logged.signature)
            && verifier
                .as_deref()
                .and_then(|pem| CertificateDer::from_pem_slice(pem).ok())
                .is_some_and(|der| der.as_ref() == logged.certificate)
    };
    if !signatures.iter().any(ours) {
        return Err(mismatch("another signature or certificate"));
    }
    Ok(())
}

/// A signature an entry records and the PEM certificate or key it records it under, each
/// `None` when it is not base64.
type Recorded = (Option<Vec<u8>>, Option<Vec<u8>>);

/// The items of a JSON array (none when it is not one), at most 16.
fn entries(list: &Value) -> impl Iterator<Item = &Value> {
    list.as_array().into_iter().flatten().take(16)
}

#[cfg(test)]
mod tests {
    use aws_lc_rs::encoding::AsDer;
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};

    use super::*;

    #[test]
    fn a_checkpoint_counts_only_when_the_log_signed_its_note() {
        let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_ASN1_SIGNING).unwrap();
        let der = pair.public_key().as_der().unwrap();
        let key = PublicKey::from_der("rekor", der.as_ref()).unwrap();
        let root = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        let note = format!("rekor.example - 42\n3\n{root}\nTimestamp: 1\n");
        let signature = pair.sign(&SystemRandom::new(), note.as_bytes()).unwrap();
        let mut hinted = vec![1, 2, 3, 4];
        hinted.extend_from_slice(signature.as_ref());
        let line = base64::engine::general_purpose::STANDARD.encode(&hinted);
        let checkpoint_text = format!("{note}\n\u{2014} rekor.example {line}\n");
        let hint = [1, 2, 3, 4];
        assert_eq!(
            checkpoint(&checkpoint_text, &key, &hint),
            Some((3, vec![7u8; 32]))
        );
        // The right signature under another key's hint names another key.
        assert_eq!(checkpoint(&checkpoint_text, &key, &[4, 3, 2, 1]), None);
        let altered = checkpoint_text.replacen("\n3\n", "\n4\n", 1);
        assert_eq!(checkpoint(&altered, &key, &hint), None);
        let other = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_ASN1_SIGNING).unwrap();
        let other_der = other.public_key().as_der().unwrap();
        let other_key = PublicKey::from_der("other", other_der.as_ref()).unwrap();
        assert_eq!(checkpoint(&checkpoint_text, &other_key, &hint), None);
        assert_eq!(checkpoint(&note, &key, &hint), None);
    }

    fn leaf(n: u8) -> [u8; 32] {
        hash_pair(0x00, &[n], &[])
    }

    #[test]
    fn audit_paths_lead_to_the_root_of_their_tree() {
        // A tree of 3 leaves: root = H(H(l0, l1), l2).
        let (l0, l1, l2) = (leaf(0), leaf(1), leaf(2));
        let left = hash_pair(0x01, &l0, &l1);
        let root = hash_pair(0x01, &left, &l2);
        assert_eq!(root_from_path(2, 3, l2, &[left.to_vec()]), Some(root));
        assert_eq!(
            root_from_path(0, 3, l0, &[l1.to_vec(), l2.to_vec()]),
            Some(root)
        );
        assert_eq!(
            root_from_path(1, 3, l1, &[l0.to_vec(), l2.to_vec()]),
            Some(root)
        );
        assert_eq!(root_from_path(0, 1, l0, &[]), Some(l0));
        assert_ne!(
            root_from_path(1, 3, l1, &[l2.to_vec(), l0.to_vec()]),
            Some(root)
        );
        assert_eq!(root_from_path(3, 3, l2, &[]), None);
        assert_eq!(root_from_path(0, 3, l0, &[l1.to_vec()]), None);
    }
}
