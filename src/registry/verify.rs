//! What a registry's answer must be before pinnace trusts it: a manifest of an accepted media
//! type whose bytes are the ones its digest header names, read within a bound. A registry is
//! written by whoever names it in an image, so a 2xx status alone proves nothing (a captive
//! portal's HTML page, a JSON error, a CDN's placeholder all come with 200).

use std::io::Read;

use serde_json::Value;
use sha2::{Digest as _, Sha256, Sha512};

use super::MANIFEST_MEDIA_TYPES;

/// The largest manifest read, as containerd bounds it (4 MiB).
pub const MAX_MANIFEST_BYTES: u64 = 4 << 20;
/// The largest token-service answer read (real ones are a few KiB).
pub const MAX_TOKEN_BYTES: u64 = 1 << 20;
/// The most of an error body read, for the registry's own error code.
pub const MAX_ERROR_BYTES: u64 = 64 << 10;

/// Reads at most `limit` bytes of `body`; more is an error naming `what` and the bound.
/// `declared` is the Content-Length, refused before reading when it already says too much.
pub fn read_bounded(
    body: &mut impl Read,
    declared: Option<u64>,
    limit: u64,
    what: &str,
) -> Result<Vec<u8>, String> {
    let too_large = || format!("{what} larger than {}", human_size(limit));
    if declared.is_some_and(|length| length > limit) {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    body.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("{what} that broke off: {e}"))?;
    if bytes.len() as u64 > limit {
        return Err(too_large());
    }
    Ok(bytes)
}

fn human_size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 => format!("{} MiB", b >> 20),
        b => format!("{} KiB", b >> 10),
    }
}

/// Whether a `Content-Type` names one of the manifest kinds pinnace asks for.
pub fn is_manifest_media_type(content_type: &str) -> bool {
    MANIFEST_MEDIA_TYPES.contains(&content_type)
}

/// Checks that `body`, served with `content_type`, is a manifest of that type; the `Err` says
/// what the registry sent instead (worded to follow "sent").
pub fn check_manifest(content_type: &str, body: &[u8]) -> Result<(), String> {
    if !is_manifest_media_type(content_type) {
        let shown = match content_type {
            "" => "no Content-Type".to_string(),
            other => printable(other),
        };
        return Err(format!("{shown} instead of a manifest"));
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|_| format!("a {content_type} body that is not JSON"))?;
    let Some(object) = value.as_object() else {
        return Err(format!("a {content_type} body that is not a JSON object"));
    };
    if object.get("schemaVersion").and_then(Value::as_u64) != Some(2) {
        if let Some(code) = error_code(&value) {
            return Err(format!("an error ({code}) with HTTP 200"));
        }
        return Err("a manifest without schemaVersion 2".to_string());
    }
    match object.get("mediaType") {
        Some(Value::String(declared)) if declared == content_type => {}
        Some(declared) => {
            return Err(format!(
                "a manifest whose mediaType {} differs from its Content-Type {content_type}",
                printable(&declared.to_string())
            ));
        }
        // OCI made `mediaType` optional late (image-spec 1.0.2); Docker's formats always carry it.
        None if content_type.starts_with("application/vnd.oci.") => {}
        None => return Err(format!("a {content_type} without its mediaType")),
    }
    let shaped = if is_index_type(content_type) {
        object.get("manifests").is_some_and(Value::is_array)
    } else {
        object.get("config").is_some_and(Value::is_object)
            && object.get("layers").is_some_and(Value::is_array)
    };
    if !shaped {
        return Err(format!("a {content_type} without the fields of one"));
    }
    Ok(())
}

fn is_index_type(media_type: &str) -> bool {
    media_type.contains("index") || media_type.contains("manifest.list")
}

/// Checks the `Docker-Content-Digest` a registry sent against the bytes it sent.
pub fn check_claimed_digest(claimed: &str, body: &[u8]) -> Result<(), String> {
    let (algorithm, _) = claimed.split_once(':').unwrap_or((claimed, ""));
    let actual = match algorithm {
        "sha256" => hex(&Sha256::digest(body)),
        "sha512" => hex(&Sha512::digest(body)),
        _ => {
            return Err(format!(
                "a Docker-Content-Digest pinnace cannot verify ({})",
                printable(claimed)
            ));
        }
    };
    if claimed != format!("{algorithm}:{actual}") {
        return Err("a manifest whose bytes do not match its Docker-Content-Digest".to_string());
    }
    Ok(())
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The first `code` of a distribution error body (`{"errors":[{"code":…}]}`), printable.
pub fn error_code(value: &Value) -> Option<String> {
    let code = value.get("errors")?.get(0)?.get("code")?.as_str()?;
    Some(printable(code))
}

/// What the registry said in an error body, for a message: its first error code, if any.
pub fn error_body_code(body: &[u8]) -> Option<String> {
    error_code(&serde_json::from_slice(body).ok()?)
}

/// Text from a registry, made safe to print: no control characters (a terminal escape is an
/// attack on whoever reads the log), at most 80 characters.
pub fn printable(text: &str) -> String {
    let mut shown: String = text.chars().filter(|c| !c.is_control()).take(80).collect();
    if text.chars().filter(|c| !c.is_control()).count() > 80 {
        shown.push('…');
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
    const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

    #[test]
    fn a_manifest_of_each_kind_passes() {
        let manifest = br#"{"schemaVersion":2,"config":{},"layers":[]}"#;
        assert_eq!(check_manifest(OCI_MANIFEST, manifest), Ok(()));
        let list = format!(r#"{{"schemaVersion":2,"mediaType":"{DOCKER_LIST}","manifests":[]}}"#);
        assert_eq!(check_manifest(DOCKER_LIST, list.as_bytes()), Ok(()));
    }

    #[test]
    fn what_is_not_a_manifest_is_named() {
        let refused = |content_type, body: &str| check_manifest(content_type, body.as_bytes());
        assert_eq!(
            refused("text/html", "<html>"),
            Err("text/html instead of a manifest".into())
        );
        assert_eq!(
            refused(OCI_MANIFEST, r#"{"errors":[{"code":"DENIED"}]}"#),
            Err("an error (DENIED) with HTTP 200".into())
        );
        assert!(refused(OCI_MANIFEST, "[1]").is_err());
        assert!(refused(OCI_MANIFEST, r#"{"schemaVersion":1}"#).is_err());
        assert!(refused(DOCKER_LIST, r#"{"schemaVersion":2,"manifests":[]}"#).is_err());
        assert!(refused(OCI_MANIFEST, r#"{"schemaVersion":2,"manifests":[]}"#).is_err());
    }

    #[test]
    fn digests_are_checked_in_their_own_algorithm() {
        let body = b"{}";
        let sha256 = format!("sha256:{}", hex(&Sha256::digest(body)));
        let sha512 = format!("sha512:{}", hex(&Sha512::digest(body)));
        assert_eq!(check_claimed_digest(&sha256, body), Ok(()));
        assert_eq!(check_claimed_digest(&sha512, body), Ok(()));
        assert!(check_claimed_digest(&sha256, b"{ }").is_err());
        assert!(check_claimed_digest("md5:abc", body).is_err());
    }

    #[test]
    fn reading_stops_at_the_bound() {
        let mut endless = std::io::repeat(b' ');
        let error = read_bounded(&mut endless, None, 1024, "a manifest").unwrap_err();
        assert_eq!(error, "a manifest larger than 1 KiB");
        let declared = read_bounded(&mut &b"{}"[..], Some(1 << 30), 1024, "a manifest");
        assert!(declared.is_err());
        assert_eq!(
            read_bounded(&mut &b"{}"[..], Some(2), 1024, "x"),
            Ok(b"{}".to_vec())
        );
    }

    #[test]
    fn registry_text_is_printable() {
        assert_eq!(printable("a\u{1b}[31mb"), "a[31mb");
        assert_eq!(printable(&"x".repeat(100)).chars().count(), 81);
    }
}
