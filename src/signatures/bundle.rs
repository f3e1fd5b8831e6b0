//! Keyless signatures in the two forms registries hold them, read into one shape:
//!
//! - a Sigstore bundle (`Bundle` of sigstore/protobuf-specs `protos/sigstore_bundle.proto`,
//!   media types `application/vnd.dev.sigstore.bundle.v0.3+json` and
//!   `application/vnd.dev.sigstore.bundle+json;version=0.1|0.2`), as GitHub artifact
//!   attestations attach them as OCI referrers: a DSSE envelope (DSSE `protocol.md`) over an
//!   in-toto statement whose subject names the image digest, a Fulcio certificate, Rekor entries
//!   and RFC 3161 timestamps;
//! - a cosign keyless signature in the `.sig` tag (cosign `specs/SIGNATURE_SPEC.md`): the
//!   simple-signing payload, its signature, the certificate and chain annotations, the Rekor
//!   bundle annotation (`{SignedEntryTimestamp, Payload: {body, integratedTime, logIndex, logID}}`)
//!   and the RFC 3161 timestamp annotation (`{SignedRFC3161Timestamp}`).

use base64::Engine;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest as _, Sha256};

use super::cosign::signed_digest;
use super::keys::PublicKey;
use super::rekor::{InclusionProof, LogEntry};
use crate::image_ref::Digest;

/// The in-toto payload type of a DSSE envelope.
pub const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// What a signature is over: the bytes themselves, or, for a Sigstore message signature, only
/// their SHA-256 (the bundle carries the digest of what was signed, not the bytes).
#[derive(Debug, Clone)]
pub enum SignedOver {
    Bytes(Vec<u8>),
    Sha256([u8; 32]),
}

impl SignedOver {
    pub fn verifies(&self, key: &PublicKey, signature: &[u8]) -> bool {
        match self {
            SignedOver::Bytes(bytes) => key.verifies(bytes, signature),
            SignedOver::Sha256(digest) => key.verifies_sha256_digest(digest, signature),
        }
    }
}

/// A keyless signature, whichever form it came in.
#[derive(Debug, Clone)]
pub struct KeylessSignature {
    /// The Fulcio leaf certificate (DER).
    pub certificate: Vec<u8>,
    pub signature: Vec<u8>,
    /// What the signature is over (the DSSE pre-authentication encoding, the payload, or the
    /// digest of a message).
    pub signed: SignedOver,
    /// What the log entry hashes: the DSSE payload, or the cosign payload.
    pub payload: Vec<u8>,
    pub content: Content,
    pub log_entries: Vec<LogEntry>,
    /// RFC 3161 timestamps of the signature: each a DER `TimeStampResp`.
    pub timestamps: Vec<Vec<u8>>,
    /// Whether each Rekor entry must carry an inclusion proof: bundles since v0.2 must (the
    /// bundle spec); a v0.1 bundle and cosign's Rekor bundle annotation may hold a SET alone.
    pub inclusion_proof_required: bool,
}

/// What a keyless signature vouches for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    /// A DSSE envelope of `payload_type` (an in-toto statement when it is [`IN_TOTO_PAYLOAD_TYPE`]).
    Dsse { payload_type: String },
    /// A cosign simple-signing payload.
    Cosign,
    /// A message signature (a bundle's `messageSignature`): a signature over the bytes whose
    /// SHA-256 this is, which for an image is its manifest, so the digest it names.
    Message { sha256: [u8; 32] },
}

impl KeylessSignature {
    /// The SHA-256 of the bytes the signature is over (what a `hashedrekord` entry records).
    pub fn signed_sha256(&self) -> [u8; 32] {
        match &self.signed {
            SignedOver::Bytes(bytes) => Sha256::digest(bytes).into(),
            SignedOver::Sha256(digest) => *digest,
        }
    }

    /// What a `dsse` or `intoto` log entry records as the hash of what was signed: the
    /// payload's SHA-256, or a message signature's digest.
    pub fn payload_sha256(&self) -> [u8; 32] {
        match self.content {
            Content::Message { sha256 } => sha256,
            _ => Sha256::digest(&self.payload).into(),
        }
    }
}

/// Where the pieces of a bundle are, in its JSON form (protobuf JSON: camelCase, bytes in
/// base64, 64-bit integers as strings).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BundleJson {
    media_type: String,
    verification_material: MaterialJson,
    dsse_envelope: Option<EnvelopeJson>,
    message_signature: Option<MessageSignatureJson>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MaterialJson {
    certificate: Option<RawBytes>,
    x509_certificate_chain: Option<ChainJson>,
    /// `{hint}`: signed with a key, which the bundle only hints at.
    public_key: Option<Value>,
    #[serde(default)]
    tlog_entries: Vec<EntryJson>,
    timestamp_verification_data: Option<TimestampDataJson>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TimestampDataJson {
    #[serde(default)]
    rfc3161_timestamps: Vec<SignedTimestampJson>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SignedTimestampJson {
    signed_timestamp: String,
}

/// A certificate chain as Sigstore's JSON writes it (bundles and trusted roots alike).
#[derive(Deserialize)]
pub(super) struct ChainJson {
    pub(super) certificates: Vec<RawBytes>,
}

/// DER bytes, base64 in `rawBytes`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct RawBytes {
    pub(super) raw_bytes: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EntryJson {
    log_index: Value,
    log_id: KeyIdJson,
    /// Rekor v2 entries have none.
    #[serde(default)]
    integrated_time: Value,
    inclusion_promise: Option<PromiseJson>,
    inclusion_proof: Option<ProofJson>,
    canonicalized_body: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct KeyIdJson {
    key_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PromiseJson {
    signed_entry_timestamp: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProofJson {
    /// Protobuf JSON leaves a 0 out.
    #[serde(default)]
    log_index: Value,
    root_hash: String,
    tree_size: Value,
    #[serde(default)]
    hashes: Vec<String>,
    checkpoint: CheckpointJson,
}

#[derive(Deserialize)]
struct CheckpointJson {
    envelope: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MessageSignatureJson {
    message_digest: Option<MessageDigestJson>,
    signature: String,
}

#[derive(Deserialize)]
struct MessageDigestJson {
    algorithm: String,
    digest: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EnvelopeJson {
    payload: String,
    payload_type: String,
    signatures: Vec<SignatureJson>,
}

#[derive(Deserialize)]
struct SignatureJson {
    sig: String,
}

fn b64(text: &str) -> Result<Vec<u8>, String> {
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|_| "a field that is not base64".to_string())
}

/// A protobuf-JSON integer: a string of digits, or a number.
fn integer(value: &Value) -> Result<i64, String> {
    match value {
        Value::String(text) => text.parse().ok(),
        Value::Number(number) => number.as_i64(),
        Value::Null => Some(0),
        _ => None,
    }
    .ok_or_else(|| "a field that is not an integer".to_string())
}

/// A DSSE signature made with a key, in a bundle whose verification material is a public key
/// (its hint, not the key): what `cosign sign --key` stores as a referrer since cosign 3 (the
/// new bundle format, an in-toto statement of predicate type `https://sigstore.dev/cosign/sign/v1`;
/// cosign `cmd/cosign/cli/sign/sign.go`).
#[derive(Debug, Clone)]
pub struct KeyBundle {
    pub signature: Vec<u8>,
    /// The DSSE pre-authentication encoding the signature is over, or a message's digest.
    pub signed: SignedOver,
    pub payload: Vec<u8>,
    pub content: Content,
}

/// A Sigstore bundle, by what signed it.
#[derive(Debug, Clone)]
pub enum Bundle {
    Keyless(KeylessSignature),
    Key(KeyBundle),
}

/// Reads a Sigstore bundle with a DSSE envelope, signed under a certificate or a key; the error
/// says what it is instead (worded to follow "a Sigstore bundle that is ").
pub fn parse_bundle(bytes: &[u8]) -> Result<Bundle, String> {
    let bundle: BundleJson =
        serde_json::from_slice(bytes).map_err(|_| "not readable as a bundle".to_string())?;
    if !bundle
        .media_type
        .starts_with("application/vnd.dev.sigstore.bundle")
    {
        return Err("of an unknown media type".to_string());
    }
    let material = bundle.verification_material;
    let signed = match (bundle.dsse_envelope, bundle.message_signature) {
        (Some(envelope), _) => dsse_content(envelope)?,
        (None, Some(message)) => message_content(message)?,
        (None, None) => return Err("without a signature".to_string()),
    };
    let certificate = match (material.certificate, material.x509_certificate_chain) {
        (Some(leaf), _) => b64(&leaf.raw_bytes)?,
        (None, Some(chain)) => b64(&chain
            .certificates
            .first()
            .ok_or("not signed with a certificate")?
            .raw_bytes)?,
        (None, None) if material.public_key.is_some() => {
            return Ok(Bundle::Key(KeyBundle {
                signature: signed.signature,
                signed: signed.over,
                payload: signed.payload,
                content: signed.content,
            }));
        }
        (None, None) => return Err("without verification material".to_string()),
    };
    let log_entries = material
        .tlog_entries
        .iter()
        .take(super::MAX_LOG_ENTRIES)
        .map(log_entry)
        .collect::<Result<Vec<_>, _>>()?;
    let timestamps = material
        .timestamp_verification_data
        .iter()
        .flat_map(|data| &data.rfc3161_timestamps)
        .take(super::MAX_TIMESTAMPS)
        .map(|stamp| b64(&stamp.signed_timestamp))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Bundle::Keyless(KeylessSignature {
        certificate,
        signature: signed.signature,
        signed: signed.over,
        payload: signed.payload,
        content: signed.content,
        log_entries,
        timestamps,
        inclusion_proof_required: !bundle.media_type.ends_with("version=0.1"),
    }))
}

/// A bundle's signature and what it is over.
struct Signed {
    signature: Vec<u8>,
    over: SignedOver,
    payload: Vec<u8>,
    content: Content,
}

/// A DSSE envelope with exactly one signature, as the bundle spec requires.
fn dsse_content(envelope: EnvelopeJson) -> Result<Signed, String> {
    let payload = b64(&envelope.payload)?;
    let [signature] = envelope.signatures.as_slice() else {
        return Err("a DSSE envelope without exactly one signature".to_string());
    };
    Ok(Signed {
        signature: b64(&signature.sig)?,
        over: SignedOver::Bytes(pae(&envelope.payload_type, &payload)),
        payload,
        content: Content::Dsse {
            payload_type: envelope.payload_type,
        },
    })
}

/// A message signature over SHA-256 digest (the algorithm Sigstore signs messages with).
fn message_content(message: MessageSignatureJson) -> Result<Signed, String> {
    let digest = message
        .message_digest
        .ok_or("a message signature without its digest")?;
    if digest.algorithm != "SHA2_256" {
        return Err(format!(
            "a message signature over a {} digest (pinnace verifies SHA2_256 ones, as image digests are)",
            shown(&digest.algorithm)
        ));
    }
    let sha256: [u8; 32] = b64(&digest.digest)?
        .try_into()
        .map_err(|_| "a message digest that is not 32 bytes".to_string())?;
    Ok(Signed {
        signature: b64(&message.signature)?,
        over: SignedOver::Sha256(sha256),
        payload: Vec::new(),
        content: Content::Message { sha256 },
    })
}

/// A field's text made safe to print (no control characters, a bounded length).
fn shown(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).take(64).collect()
}

fn log_entry(entry: &EntryJson) -> Result<LogEntry, String> {
    let inclusion_proof = entry
        .inclusion_proof
        .as_ref()
        .map(|proof| {
            Ok::<_, String>(InclusionProof {
                log_index: integer(&proof.log_index)?.max(0) as u64,
                tree_size: integer(&proof.tree_size)?.max(0) as u64,
                root_hash: b64(&proof.root_hash)?,
                hashes: proof
                    .hashes
                    .iter()
                    .map(|h| b64(h))
                    .collect::<Result<_, _>>()?,
                checkpoint: proof.checkpoint.envelope.clone(),
            })
        })
        .transpose()?;
    Ok(LogEntry {
        log_id: b64(&entry.log_id.key_id)?,
        log_index: integer(&entry.log_index)?,
        integrated_time: integer(&entry.integrated_time)?,
        body: b64(&entry.canonicalized_body)?,
        signed_entry_timestamp: entry
            .inclusion_promise
            .as_ref()
            .map(|p| b64(&p.signed_entry_timestamp))
            .transpose()?,
        inclusion_proof,
    })
}

/// DSSE's pre-authentication encoding: what a DSSE signature is over.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {payload_type} {} ",
        payload_type.len(),
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
}

/// cosign's Rekor bundle annotation (`dev.sigstore.cosign/bundle`).
#[derive(Deserialize)]
struct RekorBundleJson {
    #[serde(rename = "SignedEntryTimestamp")]
    signed_entry_timestamp: String,
    #[serde(rename = "Payload")]
    payload: RekorPayloadJson,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RekorPayloadJson {
    body: String,
    integrated_time: i64,
    log_index: i64,
    #[serde(rename = "logID")]
    log_id: String,
}

/// cosign's RFC 3161 timestamp annotation (`dev.sigstore.cosign/rfc3161timestamp`; cosign
/// `pkg/cosign/bundle/tsa.go`).
#[derive(Deserialize)]
struct TimestampAnnotationJson {
    #[serde(rename = "SignedRFC3161Timestamp")]
    signed_rfc3161_timestamp: String,
}

/// What a cosign keyless `.sig` layer holds besides its payload: the signature (base64), the
/// leaf certificate (PEM), and the Rekor bundle and RFC 3161 timestamp annotations (JSON),
/// each `None` when the layer has none.
pub struct CosignLayer<'a> {
    pub signature: &'a str,
    pub certificate_pem: &'a str,
    pub rekor_bundle: Option<&'a str>,
    pub timestamp: Option<&'a str>,
}

/// A cosign keyless signature from a `.sig` layer.
pub fn cosign_keyless(payload: &[u8], layer: &CosignLayer<'_>) -> Result<KeylessSignature, String> {
    let (signature, certificate_pem, rekor_bundle) =
        (layer.signature, layer.certificate_pem, layer.rekor_bundle);
    let certificate = CertificateDer::from_pem_slice(certificate_pem.as_bytes())
        .map_err(|_| "a certificate annotation that holds no PEM certificate".to_string())?;
    let log_entries = match rekor_bundle {
        None => Vec::new(),
        Some(text) => {
            let bundle: RekorBundleJson = serde_json::from_str(text)
                .map_err(|_| "a Rekor bundle annotation that is not readable".to_string())?;
            let log_id = (0..bundle.payload.log_id.len())
                .step_by(2)
                .map(|i| {
                    bundle
                        .payload
                        .log_id
                        .get(i..i + 2)
                        .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                })
                .collect::<Option<Vec<u8>>>()
                .ok_or("a Rekor bundle whose log id is not hex")?;
            vec![LogEntry {
                log_id,
                log_index: bundle.payload.log_index,
                integrated_time: bundle.payload.integrated_time,
                body: b64(&bundle.payload.body)?,
                signed_entry_timestamp: Some(b64(&bundle.signed_entry_timestamp)?),
                inclusion_proof: None,
            }]
        }
    };
    // cosign timestamps the signature's raw bytes, as a bundle's timestamps do.
    let timestamps = match layer.timestamp {
        None => Vec::new(),
        Some(text) => {
            let stamp: TimestampAnnotationJson = serde_json::from_str(text)
                .map_err(|_| "an RFC 3161 timestamp annotation that is not readable".to_string())?;
            vec![b64(&stamp.signed_rfc3161_timestamp)?]
        }
    };
    Ok(KeylessSignature {
        certificate: certificate.as_ref().to_vec(),
        signature: b64(signature)?,
        signed: SignedOver::Bytes(payload.to_vec()),
        payload: payload.to_vec(),
        content: Content::Cosign,
        log_entries,
        timestamps,
        inclusion_proof_required: false,
    })
}

/// The digests (`sha256:…`) a signed payload names: an in-toto statement's subjects, or the
/// cosign payload's `docker-manifest-digest`; `None` when it is neither.
pub fn vouches_for(content: &Content, payload: &[u8]) -> Option<Vec<String>> {
    match content {
        Content::Cosign => signed_digest(payload).map(|d| vec![d]),
        Content::Dsse { payload_type } if payload_type == IN_TOTO_PAYLOAD_TYPE => {
            let subjects = statement_subjects(payload)?;
            Some(
                subjects
                    .iter()
                    .filter_map(|hex| Digest::parse(&format!("sha256:{hex}")).ok())
                    .map(|d| d.to_string())
                    .collect(),
            )
        }
        Content::Dsse { .. } => None,
        Content::Message { sha256 } => Some(vec![format!(
            "sha256:{}",
            sha256
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        )]),
    }
}

/// The `predicateType` of the in-toto statement a signature signs, `None` when it signs no
/// statement (a cosign payload, a message signature, another DSSE payload).
pub fn predicate_type(content: &Content, payload: &[u8]) -> Option<String> {
    if !matches!(content, Content::Dsse { payload_type } if payload_type == IN_TOTO_PAYLOAD_TYPE) {
        return None;
    }
    let value: Value = serde_json::from_slice(payload).ok()?;
    // Printed in messages: bounded, without control characters.
    let kind = value["predicateType"].as_str().unwrap_or("");
    Some(kind.chars().filter(|c| !c.is_control()).take(256).collect())
}

/// The sha256 subject digests (hex) of an in-toto statement, `None` when it is not one.
pub fn statement_subjects(payload: &[u8]) -> Option<Vec<String>> {
    let value: Value = serde_json::from_slice(payload).ok()?;
    let kind = value["_type"].as_str()?;
    if !kind.starts_with("https://in-toto.io/Statement/") {
        return None;
    }
    Some(
        value["subject"]
            .as_array()?
            .iter()
            .filter_map(|s| s["digest"]["sha256"].as_str().map(str::to_string))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Whatever a registry sends as a bundle, reading it never panics.
        #[test]
        fn any_bytes_read_as_a_bundle_or_an_error(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
            let _ = parse_bundle(&bytes);
        }

        /// A bundle whose fields are of the wrong kinds is an error, never a panic.
        #[test]
        fn a_bundle_of_wrong_field_kinds_is_an_error(field in "(dsseEnvelope|messageSignature|verificationMaterial|tlogEntries)", value in "(1|\"x\"|\\[\\]|\\{\\}|null)") {
            let text = format!(r#"{{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{{"certificate":{{"rawBytes":"AA=="}},"tlogEntries":[]}},"{field}":{value}}}"#);
            let _ = parse_bundle(text.as_bytes());
        }
    }

    #[test]
    fn the_pre_authentication_encoding_is_dsse_s() {
        // DSSE protocol.md's example.
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
        );
    }

    #[test]
    fn what_is_not_a_keyless_bundle_says_so() {
        let message = r#"{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"publicKey":{"hint":"x"}},"messageSignature":{"messageDigest":{"algorithm":"SHA2_384","digest":"AA=="},"signature":"AA=="}}"#;
        let error = parse_bundle(message.as_bytes()).unwrap_err();
        assert!(error.contains("over a SHA2_384 digest"), "{error}");
        let unsigned = r#"{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"publicKey":{"hint":"x"}}}"#;
        assert!(
            parse_bundle(unsigned.as_bytes())
                .unwrap_err()
                .contains("without a signature")
        );
        assert!(parse_bundle(b"{}").is_err());
        let subjects = statement_subjects(
            br#"{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"x","digest":{"sha256":"ab"}}]}"#,
        );
        assert_eq!(subjects, Some(vec!["ab".to_string()]));
        assert_eq!(statement_subjects(br#"{"_type":"other"}"#), None);
    }
}
