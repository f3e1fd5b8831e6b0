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
    /// SHA-256 of the payload (a DSSE payload, or what a cosign or message signature signs).
    pub payload_sha256: [u8; 32],
    /// SHA-256 of the bytes the signature is over (a DSSE envelope's pre-authentication
    /// encoding; for the other kinds, the payload again).
    pub signed_sha256: [u8; 32],
}

/// Verifies `entry` under the logs of `root` and that it records `logged`; the signing time its
/// signed entry timestamp proves (Unix seconds), `None` for a Rekor v2 entry (which proves its
/// inclusion, not a time: the bundle's RFC 3161 timestamp does), or what is wrong, worded to
/// follow "its transparency-log entry ".
pub fn verify_entry(
    entry: &LogEntry,
    root: &TrustedRoot,
    logged: &Logged<'_>,
) -> Result<Option<i64>, String> {
    let log = root
        .log(&entry.log_id)
        .ok_or("is from a log the trusted root does not name")?;
    let key = PublicKey::from_der("rekor", &log.der).ok_or("names a log key pinnace cannot use")?;
    let version = records(&entry.body, logged)?;
    if version == Version::V2 {
        let Some(proof) = &entry.inclusion_proof else {
            return Err("is a Rekor v2 entry without an inclusion proof".to_string());
        };
        verify_inclusion(entry, proof, &key, &log.origin)?;
        return Ok(None);
    }
    if !log.valid.contains(entry.integrated_time) {
        return Err("is from a time the trusted root does not trust its log for".to_string());
    }
    // A v1 checkpoint's origin is `name - tree id`, not checked against the root.
    if let Some(proof) = &entry.inclusion_proof {
        verify_inclusion(entry, proof, &key, "")?;
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
    Ok(Some(entry.integrated_time))
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
    origin: &str,
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
    let signer = Signer {
        key,
        hint: entry.log_id.get(..4).unwrap_or(&[]),
        origin,
    };
    let (size, hash) = checkpoint(&proof.checkpoint, &signer)
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

/// Who signs a log's checkpoints: its key, the key hint its signatures carry (the first 4
/// bytes of its key id, v1 and v2 alike), and its origin (the host of its `baseUrl`).
struct Signer<'a> {
    key: &'a PublicKey,
    hint: &'a [u8],
    origin: &'a str,
}

/// The tree size and root hash of a checkpoint (C2SP `tlog-checkpoint` and `signed-note`) whose
/// note one of its signature lines (`— name base64(key hint || signature)`) signs under the
/// log's key and hint, as sigstore-go's note verifier asks: other lines (a witness's
/// cosignature) are passed over. A Rekor v2 note's origin, and the name its signature line
/// gives, must be the host of the log's `baseUrl` (`origin`; empty for v1, whose origin is
/// `name - tree id`).
fn checkpoint(note: &str, signer: &Signer<'_>) -> Option<(u64, Vec<u8>)> {
    let split = note.find("\n\n")?;
    let (text, signatures) = (&note[..=split], &note[split + 2..]);
    let signed = signatures.lines().any(|line| {
        let Some(rest) = line.strip_prefix("\u{2014} ") else {
            return false;
        };
        let Some((name, encoded)) = rest.rsplit_once(' ') else {
            return false;
        };
        let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(encoded) else {
            return false;
        };
        (signer.origin.is_empty() || name == signer.origin)
            && bytes.len() > 4
            && bytes[..4] == *signer.hint
            && signer.key.verifies(text.as_bytes(), &bytes[4..])
    });
    if !signed {
        return None;
    }
    let mut lines = text.lines();
    let origin = lines.next()?;
    if !signer.origin.is_empty() && origin != signer.origin {
        return None;
    }
    let size = lines.next()?.parse().ok()?;
    let hash = base64::engine::general_purpose::STANDARD
        .decode(lines.next()?)
        .ok()?;
    Some((size, hash))
}

/// The Rekor API an entry was logged through: v1 (`hashedrekord`/`dsse` 0.0.1, `intoto`
/// 0.0.2, with a signed entry timestamp) or v2 (rekor-tiles: `hashedrekord`/`dsse` 0.0.2,
/// proven by inclusion alone).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Version {
    V1,
    V2,
}

/// Whether the entry body records `logged` — its signature, certificate and the hash of what
/// was signed — and through which API it was logged.
fn records(body: &[u8], logged: &Logged<'_>) -> Result<Version, String> {
    let mismatch = |what: &str| format!("records {what} than this signature's");
    let value: Value =
        serde_json::from_slice(body).map_err(|_| "has a body that is not JSON".to_string())?;
    let (version, hashed, recorded) = recorded(&value)?;
    let expected = match hashed.of {
        Hashed::Payload => logged.payload_sha256,
        Hashed::Signed => logged.signed_sha256,
    };
    if hashed.sha256.as_deref() != Some(expected.as_slice()) {
        return Err(mismatch("another payload"));
    }
    let ours = |(signature, certificate): &Recorded| {
        signature.as_deref() == Some(logged.signature)
            && certificate.as_deref() == Some(logged.certificate)
    };
    if !recorded.iter().any(ours) {
        return Err(mismatch("another signature or certificate"));
    }
    Ok(version)
}

/// The hash an entry records: of the payload (a DSSE payload, as `dsse` and `intoto` entries
/// record it) or of the signed bytes (`hashedrekord`: a message, a cosign payload, or, in v2,
/// a DSSE envelope's pre-authentication encoding); `None` when it is not a SHA-256.
struct RecordedHash {
    of: Hashed,
    sha256: Option<Vec<u8>>,
}

enum Hashed {
    Payload,
    Signed,
}

/// An entry's version, its hash, and its (signature, certificate DER) pairs.
fn recorded(value: &Value) -> Result<(Version, RecordedHash, Vec<Recorded>), String> {
    let spec = &value["spec"];
    let b64 = |v: &Value| {
        v.as_str()
            .and_then(|t| base64::engine::general_purpose::STANDARD.decode(t).ok())
    };
    let hex = |v: &Value| -> Option<Vec<u8>> {
        (v["algorithm"].as_str() == Some("sha256"))
            .then(|| v["value"].as_str().and_then(decode_hex))
            .flatten()
    };
    let sha2_256 = |v: &Value| {
        (v["algorithm"].as_str() == Some("SHA2_256"))
            .then(|| b64(&v["digest"]))
            .flatten()
    };
    // v1 verifiers are PEM, base64 again; v2 ones DER (an `x509Certificate`'s `rawBytes`).
    let pem = |v: &Value| {
        b64(v).and_then(|pem| {
            CertificateDer::from_pem_slice(&pem)
                .ok()
                .map(|der| der.as_ref().to_vec())
        })
    };
    let v2_signature = |s: &Value| {
        (
            b64(&s["content"]),
            b64(&s["verifier"]["x509Certificate"]["rawBytes"]),
        )
    };
    let hash = |of, sha256| RecordedHash { of, sha256 };
    let entry = match (value["kind"].as_str(), value["apiVersion"].as_str()) {
        (Some("hashedrekord"), Some("0.0.1")) => (
            Version::V1,
            hash(Hashed::Signed, hex(&spec["data"]["hash"])),
            vec![(
                b64(&spec["signature"]["content"]),
                pem(&spec["signature"]["publicKey"]["content"]),
            )],
        ),
        (Some("dsse"), Some("0.0.1")) => (
            Version::V1,
            hash(Hashed::Payload, hex(&spec["payloadHash"])),
            entries(&spec["signatures"])
                .map(|s| (b64(&s["signature"]), pem(&s["verifier"])))
                .collect(),
        ),
        // in-toto v0.0.2 (sigstore/rekor pkg/types/intoto/v0.0.2): the envelope's signatures
        // are base64 twice over.
        (Some("intoto"), Some("0.0.2")) => (
            Version::V1,
            hash(Hashed::Payload, hex(&spec["content"]["payloadHash"])),
            entries(&spec["content"]["envelope"]["signatures"])
                .map(|s| {
                    let twice = b64(&s["sig"]).and_then(|text| {
                        base64::engine::general_purpose::STANDARD.decode(text).ok()
                    });
                    (twice, pem(&s["publicKey"]))
                })
                .collect(),
        ),
        // Rekor v2 (sigstore/rekor-tiles `api/proto/rekor/v2`): the spec under its type's name.
        (Some("hashedrekord"), Some("0.0.2")) => {
            let spec = &spec["hashedRekordV002"];
            (
                Version::V2,
                hash(Hashed::Signed, sha2_256(&spec["data"])),
                vec![v2_signature(&spec["signature"])],
            )
        }
        (Some("dsse"), Some("0.0.2")) => {
            let spec = &spec["dsseV002"];
            (
                Version::V2,
                hash(Hashed::Payload, sha2_256(&spec["payloadHash"])),
                entries(&spec["signatures"]).map(v2_signature).collect(),
            )
        }
        _ => {
            return Err(
                "is of a kind pinnace does not read (hashedrekord or dsse 0.0.1 or 0.0.2, intoto 0.0.2)"
                    .to_string(),
            );
        }
    };
    Ok(entry)
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// A signature an entry records and the certificate (DER) it records it under, each `None`
/// when it cannot be read.
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
        let signer = |key, hint| Signer {
            key,
            hint,
            origin: "",
        };
        assert_eq!(
            checkpoint(&checkpoint_text, &signer(&key, &hint)),
            Some((3, vec![7u8; 32]))
        );
        // The right signature under another key's hint names another key.
        assert_eq!(
            checkpoint(&checkpoint_text, &signer(&key, &[4, 3, 2, 1])),
            None
        );
        let altered = checkpoint_text.replacen("\n3\n", "\n4\n", 1);
        assert_eq!(checkpoint(&altered, &signer(&key, &hint)), None);
        let other = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_ASN1_SIGNING).unwrap();
        let other_der = other.public_key().as_der().unwrap();
        let other_key = PublicKey::from_der("other", other_der.as_ref()).unwrap();
        assert_eq!(
            checkpoint(&checkpoint_text, &signer(&other_key, &hint)),
            None
        );
        assert_eq!(checkpoint(&note, &signer(&key, &hint)), None);
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

    /// A Rekor v2 `hashedrekord` 0.0.2 entry, alone in its log, and its log in a root.
    struct V2Log {
        root: TrustedRoot,
        entry: LogEntry,
        signature: Vec<u8>,
        certificate: Vec<u8>,
        signed_sha256: [u8; 32],
    }

    fn v2_log(origin: &str, note_origin: &str) -> V2Log {
        use aws_lc_rs::signature::Ed25519KeyPair;
        let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
        let (signature, certificate) = (b"a signature".to_vec(), b"a certificate".to_vec());
        let signed_sha256: [u8; 32] = Sha256::digest(b"signed bytes").into();
        let body = format!(
            r#"{{"apiVersion":"0.0.2","kind":"hashedrekord","spec":{{"hashedRekordV002":{{"data":{{"algorithm":"SHA2_256","digest":"{}"}},"signature":{{"content":"{}","verifier":{{"keyDetails":"PKIX_ECDSA_P256_SHA_256","x509Certificate":{{"rawBytes":"{}"}}}}}}}}}}}}"#,
            b64(&signed_sha256),
            b64(&signature),
            b64(&certificate)
        );
        let leaf = hash_pair(0x00, body.as_bytes(), &[]);
        let log_key = Ed25519KeyPair::generate().unwrap();
        let key_id = vec![9u8; 32];
        let note = format!("{note_origin}\n1\n{}\n", b64(&leaf));
        let mut hinted = key_id[..4].to_vec();
        hinted.extend_from_slice(log_key.sign(note.as_bytes()).as_ref());
        let witness = "\u{2014} witness.example AAAAAAAA\n";
        let checkpoint = format!("{note}\n{witness}\u{2014} {origin} {}\n", b64(&hinted));
        let der = log_key.public_key().as_der().unwrap().as_ref().to_vec();
        let root = TrustedRoot {
            logs: vec![super::super::trusted_root::LogKey {
                key_id: key_id.clone(),
                der,
                valid: super::super::trusted_root::Validity {
                    start: 0,
                    end: None,
                },
                origin: origin.to_string(),
            }],
            ..TrustedRoot::default()
        };
        let entry = LogEntry {
            log_id: key_id,
            log_index: 0,
            integrated_time: 0,
            body: body.into_bytes(),
            signed_entry_timestamp: None,
            inclusion_proof: Some(InclusionProof {
                log_index: 0,
                tree_size: 1,
                root_hash: leaf.to_vec(),
                hashes: Vec::new(),
                checkpoint,
            }),
        };
        V2Log {
            root,
            entry,
            signature,
            certificate,
            signed_sha256,
        }
    }

    impl V2Log {
        /// What the entry's signature claims the log holds.
        fn logged(&self) -> Logged<'_> {
            Logged {
                signature: &self.signature,
                certificate: &self.certificate,
                payload_sha256: [0; 32],
                signed_sha256: self.signed_sha256,
            }
        }
    }

    #[test]
    fn a_rekor_v2_entry_proves_its_inclusion_and_no_time() {
        let log = v2_log("log2025-1.rekor.example", "log2025-1.rekor.example");
        let logged = log.logged();
        assert_eq!(verify_entry(&log.entry, &log.root, &logged), Ok(None));

        let other = Logged {
            signed_sha256: [1; 32],
            ..logged
        };
        let error = verify_entry(&log.entry, &log.root, &other).unwrap_err();
        assert!(error.contains("another payload"), "{error}");

        let mut unproven = log.entry.clone();
        unproven.inclusion_proof = None;
        let error = verify_entry(&unproven, &log.root, &logged).unwrap_err();
        assert!(error.contains("without an inclusion proof"), "{error}");

        // A checkpoint of another origin than the log's `baseUrl` names.
        let elsewhere = v2_log("log2025-1.rekor.example", "other.example");
        let error =
            verify_entry(&elsewhere.entry, &elsewhere.root, &elsewhere.logged()).unwrap_err();
        assert!(error.contains("checkpoint that does not verify"), "{error}");
    }
}
