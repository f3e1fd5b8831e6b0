//! Sigstore bundles attached to a digest as OCI 1.1 referrers (distribution-spec `spec.md`,
//! "Listing Referrers"): the referrers API, `GET /v2/<name>/referrers/<digest>`, and where a
//! registry answers it with 404, the referrers tag schema (an index tagged `sha256-<hex>`).
//! Either answer is an index of descriptors; an API answer may come in pages, each naming the
//! next in a `Link: <…>; rel="next"` header (RFC 8288), followed only to the same endpoint of
//! the same host and at most [`MAX_PAGES`] deep; each bundle's manifest is fetched by its digest and
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
/// Pages of the referrers API read per digest.
pub const MAX_PAGES: usize = 8;
/// The longest query string a `next` link may carry.
const MAX_LINK_QUERY: usize = 1024;
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
            self.referrers_pages(host, repository, digest)
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

    /// The referrers API's answer from `host`, its pages joined into one index: pages are read
    /// until one names no next page, [`MAX_REFERRERS`] descriptors are in hand, or
    /// [`MAX_PAGES`] were read.
    fn referrers_pages(
        &self,
        host: &str,
        repository: &str,
        digest: &Digest,
    ) -> Result<Value, RegistryError> {
        let (mut index, mut next) = self.referrers_page(host, repository, &digest.to_string())?;
        for _ in 1..MAX_PAGES {
            let listed = index["manifests"].as_array().map_or(0, Vec::len);
            let Some(query) = next.take().filter(|_| listed < MAX_REFERRERS) else {
                break;
            };
            let (page, after) =
                self.referrers_page(host, repository, &format!("{digest}?{query}"))?;
            let more = page["manifests"].as_array().cloned().unwrap_or_default();
            if let Some(manifests) = index["manifests"].as_array_mut() {
                manifests.extend(more);
            }
            next = after;
        }
        Ok(index)
    }

    /// One page of the referrers API (`reference` is the digest, with the query of a `next`
    /// link after the first page): an OCI index, read within the manifest bound, and the query
    /// of the next page when the registry names one on this endpoint.
    fn referrers_page(
        &self,
        host: &str,
        repository: &str,
        reference: &str,
    ) -> Result<(Value, Option<String>), RegistryError> {
        let mut response =
            self.request_at(Method::GET, host, repository, "referrers", reference)?;
        let digest = reference.split('?').next().unwrap_or(reference);
        let next = response
            .headers()
            .get_all(reqwest::header::LINK)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .find_map(|value| next_page_query(value, host, repository, digest));
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
        let index = serde_json::from_slice(&body)
            .map_err(|_| refused(host, "a referrers list that is not JSON"))?;
        Ok((index, next))
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

/// The query string of a `Link` header's `rel="next"` target, when the target is this very
/// referrers endpoint (`/v2/<repository>/referrers/<digest>`, relative or on `host`): a
/// registry's link elsewhere is not followed, and the query is kept to URL-safe characters.
fn next_page_query(link: &str, host: &str, repository: &str, digest: &str) -> Option<String> {
    let path = format!("/v2/{repository}/referrers/{digest}");
    link.split(',').find_map(|entry| {
        let (target, params) = entry.trim().strip_prefix('<')?.split_once('>')?;
        let is_next = params.split(';').any(|param| {
            let param = param.trim().replace(' ', "");
            param == "rel=\"next\"" || param == "rel=next"
        });
        if !is_next {
            return None;
        }
        let relative = match target.split_once("://") {
            Some((_, rest)) => rest.strip_prefix(host)?,
            None => target,
        };
        let query = relative.strip_prefix(path.as_str())?.strip_prefix('?')?;
        let safe = query.len() <= MAX_LINK_QUERY
            && query
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~%=&+:".contains(&b));
        safe.then(|| query.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::next_page_query;

    #[test]
    fn only_a_next_link_to_this_endpoint_is_followed() {
        let digest = "sha256:0123";
        let next = |link: &str| next_page_query(link, "r.example", "team/app", digest);
        let path = "/v2/team/app/referrers/sha256:0123";
        assert_eq!(
            next(&format!("<{path}?n=10&last=abc>; rel=\"next\"")).as_deref(),
            Some("n=10&last=abc")
        );
        assert_eq!(
            next(&format!("<https://r.example{path}?last=x>;rel=next")).as_deref(),
            Some("last=x")
        );
        assert_eq!(
            next(&format!(
                "<{path}?a=1>; rel=\"prev\", <{path}?b=2>; rel=\"next\""
            ))
            .as_deref(),
            Some("b=2")
        );
        for elsewhere in [
            format!("<https://evil.example{path}?n=1>; rel=\"next\""),
            "</v2/team/other/referrers/sha256:0123?n=1>; rel=\"next\"".to_string(),
            format!("<{path}>; rel=\"next\""),
            format!("<{path}?n=1#frag>; rel=\"next\""),
            format!("<{path}?n=1 x>; rel=\"next\""),
            format!("<{path}?n=1>; rel=\"prev\""),
            format!("<{path}?{}>; rel=\"next\"", "a".repeat(2000)),
        ] {
            assert_eq!(next(&elsewhere), None, "{elsewhere}");
        }
    }
}
