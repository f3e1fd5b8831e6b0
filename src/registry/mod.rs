//! Talking to OCI registries: resolve a tag to the digest of what it names, fetch manifests
//! for the online checks, with credentials, TLS, mirrors, retries and a resolution cache.

mod auth;
mod cache;
mod client;
mod credentials;
mod facts;
mod limiter;
mod referrers;
mod resolver;
mod signature_store;
mod verify;

pub use cache::ResolutionCache;
pub use client::{ClientOptions, RegistryClient};
pub use credentials::{Credential, CredentialStore, Secret};
pub use facts::{OnlineFacts, WantedFacts, fact_keys};
pub use referrers::{BUNDLE_MEDIA_TYPE_PREFIX, referrers_tag};
pub use resolver::{Resolutions, Resolver};
pub use signature_store::{CosignSignature, StoredSignatures, signature_tag};
pub use verify::printable;

use crate::image_ref::Digest;

/// Media types a tag may name, in the order pinnace prefers them.
pub const MANIFEST_MEDIA_TYPES: [&str; 4] = [
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
];

/// What a tag or digest names in a registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    pub digest: Digest,
    pub media_type: String,
    /// The manifest's bytes, when it was fetched with GET.
    pub body: Option<Vec<u8>>,
}

impl Manifest {
    /// An OCI index or Docker manifest list: one manifest per platform.
    pub fn is_index(&self) -> bool {
        self.media_type.contains("index") || self.media_type.contains("manifest.list")
    }

    /// The digests of an index's per-platform manifests (empty for a single manifest).
    pub fn children(&self) -> Vec<String> {
        let Some(body) = &self.body else {
            return Vec::new();
        };
        let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
            return Vec::new();
        };
        value["manifests"]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter_map(|m| m["digest"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Why a registry could not answer. Messages name the registry and reference, never a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    #[error("authentication failed for {host}: {detail}")]
    Auth { host: String, detail: String },
    #[error("{reference} not found in {host}")]
    NotFound { host: String, reference: String },
    #[error("{host} is rate limiting requests (HTTP 429) and kept doing so after retries")]
    RateLimited { host: String },
    #[error("TLS failure talking to {host}: {detail}")]
    Tls { host: String, detail: String },
    #[error("cannot reach {host}: {detail}")]
    Network { host: String, detail: String },
    #[error("{host} answered unexpectedly: {detail}")]
    Protocol { host: String, detail: String },
    /// The digest was resolved, but `pin --require-signature` found no signature that
    /// verifies under config `signatures`.
    #[error("{digest} is not pinned: {detail}")]
    Unsigned { digest: String, detail: String },
}

impl RegistryError {
    /// A short category for summaries: `auth`, `not found`, `rate limited`, `tls`, `network`, `protocol`.
    pub fn kind(&self) -> &'static str {
        match self {
            RegistryError::Auth { .. } => "auth",
            RegistryError::NotFound { .. } => "not found",
            RegistryError::RateLimited { .. } => "rate limited",
            RegistryError::Tls { .. } => "tls",
            RegistryError::Network { .. } => "network",
            RegistryError::Protocol { .. } => "protocol",
            RegistryError::Unsigned { .. } => "unsigned",
        }
    }
}
