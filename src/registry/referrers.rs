//! Sigstore bundles attached to a digest as OCI 1.1 referrers (distribution-spec `spec.md`,
//! "Listing Referrers"): the referrers API, `GET /v2/<name>/referrers/<digest>`, and where a
//! registry answers it with 404, the referrers tag schema (an index tagged `sha256-<hex>`).
//! Either answer is an index of descriptors; each bundle's manifest is fetched by its digest and
//! each bundle blob checked against its own, every read bounded: what a registry lists proves
//! nothing until the bundle itself verifies.

use reqwest::Method;
use serde_json::Value;

use super::client::content_type;
use super::signature_store::refused;
use super::{RegistryClient, RegistryError, verify};
use crate::image_ref::Digest;

/// Media types of Sigstore bundles, as artifact type or layer: `…bundle.v0.3+json` and
/// `…bundle+json;version=0.1|0.2|0.3` all start so.
pub const BUNDLE_MEDIA_TYPE_PREFIX: &str = "application/vnd.dev.sigstore.bundle";
/// Referrers looked at per digest, and bundles read per digest in all.
pub const MAX_REFERRERS: usize = 32;
/// The largest bundle read; one with an SLSA provenance is tens of KiB.
pub const MAX_BUNDLE_BYTES: u64 = 1 << 20;

/// The tag the referrers tag schema lists the referrers of `digest` under.
pub fn referrers_tag(digest: &Digest) -> String {
    format!("{}-{}", digest.algorithm(), digest.hex())
}

impl RegistryClient {
    /// The Sigstore bundles among the referrers of `digest` (empty when there are none).
    pub fn sigstore_bundles(
        &self,
        registry: &str,
        repository: &str,
        digest: &Digest,
    ) -> Result<Vec<Vec<u8>>, RegistryError> {
        let Some(index) = self.referrers_index(registry, repository, digest)? else {
            return Ok(Vec::new());
        };
        let descriptors = index["manifests"].as_array().cloned().unwrap_or_default();
        let mut bundles = Vec::new();
        for descriptor in descriptors.iter().take(MAX_REFERRERS) {
            let artifact_type = descriptor["artifactType"].as_str();
            if artifact_type.is_some_and(|t| !t.starts_with(BUNDLE_MEDIA_TYPE_PREFIX)) {
                continue;
            }
            let Some(child) = descriptor["digest"]
                .as_str()
                .and_then(|d| Digest::parse(d).ok())
            else {
                return Err(refused(registry, "a referrer without a valid digest"));
            };
            bundles.extend(self.bundles_of(registry, repository, &child)?);
            if bundles.len() >= MAX_REFERRERS {
                bundles.truncate(MAX_REFERRERS);
                break;
            }
        }
        Ok(bundles)
    }

    /// The referrers index: the API's answer, or the tag schema's index when the registry has
    /// no API; `None` when neither knows the digest.
    fn referrers_index(
        &self,
        registry: &str,
        repository: &str,
        digest: &Digest,
    ) -> Result<Option<Value>, RegistryError> {
        let from_api = self.via_endpoints(registry, |host| {
            self.referrers_from_api(host, repository, digest)
        });
        match from_api {
            Ok(index) => return Ok(Some(index)),
            Err(RegistryError::NotFound { .. }) => {}
            Err(error) => return Err(error),
        }
        let manifest = match self.fetch(registry, repository, &referrers_tag(digest)) {
            Ok(manifest) => manifest,
            Err(RegistryError::NotFound { .. }) => return Ok(None),
            Err(error) => return Err(error),
        };
        if !manifest.is_index() {
            return Err(refused(registry, "a referrers tag that is not an index"));
        }
        let body = manifest.body.unwrap_or_default();
        serde_json::from_slice(&body)
            .map(Some)
            .map_err(|_| refused(registry, "a referrers index that is not JSON"))
    }

    /// The referrers API's answer from `host`: an OCI index, read within the manifest bound.
    fn referrers_from_api(
        &self,
        host: &str,
        repository: &str,
        digest: &Digest,
    ) -> Result<Value, RegistryError> {
        let mut response = self.request_at(
            Method::GET,
            host,
            repository,
            "referrers",
            &digest.to_string(),
        )?;
        let media_type = content_type(&response);
        let declared = response.content_length();
        let body = verify::read_bounded(
            &mut response,
            declared,
            verify::MAX_MANIFEST_BYTES,
            "a referrers list",
        )
        .map_err(|what| refused(host, &what))?;
        if media_type != "application/vnd.oci.image.index.v1+json" {
            return Err(refused(host, "a referrers list that is not an OCI index"));
        }
        verify::check_manifest(&media_type, &body).map_err(|what| refused(host, &what))?;
        serde_json::from_slice(&body)
            .map_err(|_| refused(host, "a referrers list that is not JSON"))
    }

    /// The bundle layers of the referrer manifest `digest`.
    fn bundles_of(
        &self,
        registry: &str,
        repository: &str,
        digest: &Digest,
    ) -> Result<Vec<Vec<u8>>, RegistryError> {
        let manifest = self.fetch(registry, repository, &digest.to_string())?;
        let body = manifest.body.unwrap_or_default();
        let value: Value = serde_json::from_slice(&body)
            .map_err(|_| refused(registry, "a referrer manifest that is not JSON"))?;
        let layers = value["layers"].as_array().cloned().unwrap_or_default();
        let mut bundles = Vec::new();
        for layer in layers.iter().take(MAX_REFERRERS) {
            let is_bundle = layer["mediaType"]
                .as_str()
                .is_some_and(|t| t.starts_with(BUNDLE_MEDIA_TYPE_PREFIX));
            if !is_bundle {
                continue;
            }
            let Some(blob) = layer["digest"].as_str().and_then(|d| Digest::parse(d).ok()) else {
                return Err(refused(registry, "a bundle layer without a valid digest"));
            };
            bundles.push(self.blob(registry, repository, &blob, MAX_BUNDLE_BYTES)?);
        }
        Ok(bundles)
    }
}
