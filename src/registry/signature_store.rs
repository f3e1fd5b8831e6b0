//! Fetching cosign signatures: the `sha256-<hex>.sig` tag next to a digest, whose layers are
//! simple-signing payloads with the signature in an annotation (cosign's signature
//! specification, `specs/SIGNATURE_SPEC.md` in sigstore/cosign). Every answer is bounded, and
//! each payload is checked against the digest its descriptor names: the registry is not
//! trusted to serve the bytes that were signed.

use reqwest::Method;
use serde_json::Value;
use sha2::{Digest as _, Sha256};

use super::{RegistryClient, RegistryError, verify};
use crate::image_ref::Digest;

/// The media type of a simple-signing payload layer.
pub const SIMPLE_SIGNING_MEDIA_TYPE: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
/// The annotation that holds a layer's signature (base64).
pub const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
/// The annotation of a keyless signature's Fulcio certificate (PEM).
pub const CERTIFICATE_ANNOTATION: &str = "dev.sigstore.cosign/certificate";
/// The annotation of a keyless signature's Rekor bundle (JSON).
pub const REKOR_BUNDLE_ANNOTATION: &str = "dev.sigstore.cosign/bundle";
/// cosign's RFC 3161 timestamp of the signature (`{"SignedRFC3161Timestamp": base64}`).
pub const TIMESTAMP_ANNOTATION: &str = "dev.sigstore.cosign/rfc3161timestamp";
/// No certificate or Rekor bundle annotation is near this size.
const MAX_ANNOTATION_BYTES: usize = 64 << 10;
/// Layers of one `.sig` manifest looked at; cosign appends one per `cosign sign`.
pub const MAX_SIGNATURE_LAYERS: usize = 32;
/// The largest payload read; cosign's are a few hundred bytes.
pub const MAX_PAYLOAD_BYTES: u64 = 256 << 10;

/// One signature as cosign stores it: the payload that was signed and the signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CosignSignature {
    pub payload: Vec<u8>,
    /// The `dev.cosignproject.cosign/signature` annotation, base64; `None` when absent.
    pub signature: Option<String>,
    /// A keyless signature's certificate annotation (PEM), within a bound.
    pub certificate: Option<String>,
    /// A keyless signature's Rekor bundle annotation (JSON), within a bound.
    pub rekor_bundle: Option<String>,
    /// A keyless signature's RFC 3161 timestamp annotation (JSON), within a bound.
    pub timestamp: Option<String>,
}

/// Every signature stored for a digest: cosign's `.sig` layers and, when asked for, the
/// Sigstore bundles among its OCI referrers (raw JSON, each checked against its digest).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoredSignatures {
    pub cosign: Vec<CosignSignature>,
    pub bundles: Vec<Vec<u8>>,
}

impl StoredSignatures {
    pub fn is_empty(&self) -> bool {
        self.cosign.is_empty() && self.bundles.is_empty()
    }
}

/// The tag cosign stores the signatures of `digest` under.
pub fn signature_tag(digest: &Digest) -> String {
    format!("{}-{}.sig", digest.algorithm(), digest.hex())
}

impl RegistryClient {
    /// The cosign signatures stored for `digest` in `repository`; empty when it has none (no
    /// `.sig` tag).
    pub fn cosign_signatures(
        &self,
        registry: &str,
        repository: &str,
        digest: &Digest,
    ) -> Result<Vec<CosignSignature>, RegistryError> {
        let manifest = match self.fetch(registry, repository, &signature_tag(digest)) {
            Ok(manifest) => manifest,
            Err(RegistryError::NotFound { .. }) => return Ok(Vec::new()),
            Err(error) => return Err(error),
        };
        let host = registry.to_string();
        let body = manifest.body.unwrap_or_default();
        let value: Value = serde_json::from_slice(&body)
            .map_err(|_| refused(&host, "a signature manifest that is not JSON"))?;
        let layers = value["layers"].as_array().cloned().unwrap_or_default();
        let mut signatures = Vec::new();
        for layer in layers.iter().take(MAX_SIGNATURE_LAYERS) {
            if layer["mediaType"].as_str() != Some(SIMPLE_SIGNING_MEDIA_TYPE) {
                continue;
            }
            let Some(digest) = layer["digest"].as_str().and_then(|d| Digest::parse(d).ok()) else {
                return Err(refused(&host, "a signature layer without a valid digest"));
            };
            let payload = self.blob(registry, repository, &digest, MAX_PAYLOAD_BYTES)?;
            let annotation = |name: &str| {
                layer["annotations"][name]
                    .as_str()
                    .filter(|text| text.len() <= MAX_ANNOTATION_BYTES)
                    .map(str::to_string)
            };
            signatures.push(CosignSignature {
                payload,
                signature: annotation(SIGNATURE_ANNOTATION),
                certificate: annotation(CERTIFICATE_ANNOTATION),
                rekor_bundle: annotation(REKOR_BUNDLE_ANNOTATION),
                timestamp: annotation(TIMESTAMP_ANNOTATION),
            });
        }
        Ok(signatures)
    }

    /// The signatures stored for `digest`: the `.sig` tag's, and the Sigstore bundles that
    /// refer to it (keyless ones, and cosign 3's key-signed ones).
    pub fn stored_signatures(
        &self,
        registry: &str,
        repository: &str,
        digest: &Digest,
    ) -> Result<StoredSignatures, RegistryError> {
        let cosign = self.cosign_signatures(registry, repository, digest)?;
        let bundles = self.sigstore_bundles(registry, repository, digest)?;
        Ok(StoredSignatures { cosign, bundles })
    }

    /// The bytes of the blob `digest`, at most `limit` of them, checked against the digest.
    pub fn blob(
        &self,
        registry: &str,
        repository: &str,
        digest: &Digest,
        limit: u64,
    ) -> Result<Vec<u8>, RegistryError> {
        self.via_endpoints(registry, |host| {
            let mut response =
                self.request_at(Method::GET, host, repository, "blobs", &digest.to_string())?;
            let declared = response.content_length();
            let bytes = verify::read_bounded(&mut response, declared, limit, "a signature payload")
                .map_err(|what| refused(host, &what))?;
            let actual = verify::hex(&Sha256::digest(&bytes));
            if digest.algorithm() != "sha256" || digest.hex() != actual {
                return Err(refused(host, "a blob whose bytes do not match its digest"));
            }
            Ok(bytes)
        })
    }
}

pub(super) fn refused(host: &str, what: &str) -> RegistryError {
    RegistryError::Protocol {
        host: host.to_string(),
        detail: format!("sent {what}"),
    }
}
