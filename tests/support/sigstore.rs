//! Sigstore keyless signatures made by Sigstore's own JavaScript signer (npm `sigstore`) against
//! Sigstore's own test doubles (`@sigstore/mock`: Fulcio and Rekor inside the Node process),
//! through `sigstore_sign.js` beside this file, and attached to images in the test registry:
//!
//! - bundles as OCI referrers through the referrers tag schema (distribution-spec `spec.md`,
//!   "Referrers Tag Schema": an index tagged `sha256-<hex>` listing artifact manifests whose
//!   `subject` is the image), pushed through the registry API, since docker-registry 2.8 has no
//!   referrers API and Debian's skopeo 1.9 predates OCI artifacts;
//! - cosign's keyless form in the `.sig` tag (cosign `specs/SIGNATURE_SPEC.md`): the
//!   certificate, chain and Rekor bundle annotations, taken from a bundle of the same signing.
//!
//! The npm packages are installed by scripts/install-test-deps.sh under target/test-tools/node.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine;
use serde_json::{Value, json};
use tempfile::TempDir;

use super::http::http_request;
use super::oci_layout::sha256_digest;
use super::registry::Registry;

pub const BUNDLE_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
pub const GITHUB_ISSUER: &str = "https://token.actions.githubusercontent.com";
pub const RELEASE_IDENTITY: &str =
    "https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1.0.0";

/// Where scripts/install-test-deps.sh installs the tests' npm packages.
pub fn node_modules() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-tools/node/node_modules")
}

/// The npm packages the signature tests run in Node.js.
const NPM_PACKAGES: [&str; 3] = ["sigstore", "@sigstore/mock", "@noble/curves"];

/// Call first in every test that signs in Node.js (keyless, Ed25519ph):
/// `if sigstore_tools_missing() { return; }`. Off CI a missing Node.js or npm package skips the
/// test with a note; with `CI=true` it fails.
pub fn sigstore_tools_missing() -> bool {
    let have_node = super::tools::on_path("node");
    let have_modules = NPM_PACKAGES
        .iter()
        .all(|package| node_modules().join(package).is_dir());
    if have_node && have_modules {
        return false;
    }
    super::tools::skip_or_fail(&format!(
        "signature tests need node and the npm packages {}; run scripts/install-test-deps.sh",
        NPM_PACKAGES.join(", ")
    ))
}

/// One signing: `attest` makes a DSSE in-toto bundle, `sign` a message signature.
pub struct Job {
    pub name: String,
    pub attest: bool,
    pub payload: Vec<u8>,
    pub subject: String,
    pub issuer: String,
    /// Moves the mock Rekor's clock, so the entry's time falls outside the certificate's.
    pub rekor_offset_seconds: i64,
    /// `Some(offset)`: an RFC 3161 timestamp of the mock timestamp authority, its clock moved
    /// by `offset` seconds, instead of a Rekor entry (as GitHub attests private repositories).
    pub timestamped: Option<i64>,
    /// A PKCS #8 DER private key: a key-signed bundle, as cosign 3's `sign --key` makes one,
    /// instead of a keyless one.
    pub key_file: Option<PathBuf>,
}

impl Job {
    /// An attestation of `digest` by the release identity of GitHub's issuer.
    pub fn attest(name: &str, digest: &str) -> Job {
        Job {
            name: name.to_string(),
            attest: true,
            payload: statement(digest),
            subject: RELEASE_IDENTITY.to_string(),
            issuer: GITHUB_ISSUER.to_string(),
            rekor_offset_seconds: 0,
            timestamped: None,
            key_file: None,
        }
    }

    /// What `cosign sign --key` stores for `digest` since cosign 3: a bundle of the
    /// `https://sigstore.dev/cosign/sign/v1` statement, signed with the key in `key_file`.
    pub fn cosign_key_signed(name: &str, digest: &str, key_file: PathBuf) -> Job {
        Job {
            payload: cosign_sign_statement(digest),
            key_file: Some(key_file),
            ..Job::attest(name, digest)
        }
    }

    /// An attestation of `digest` by the release identity, timestamped by the mock timestamp
    /// authority and not logged in Rekor.
    pub fn attest_timestamped(name: &str, digest: &str) -> Job {
        Job {
            timestamped: Some(0),
            ..Job::attest(name, digest)
        }
    }
}

/// What one run of the signer made: a bundle per job, and the trusted root of its CA and log.
pub struct Signed {
    pub bundles: BTreeMap<String, Value>,
    pub trusted_root: Value,
}

/// Runs the JavaScript signer over `jobs` (one mock Fulcio CA and Rekor log for all).
pub fn sign_all(jobs: &[Job]) -> Signed {
    let dir = TempDir::new().unwrap();
    let specs: Vec<Value> = jobs
        .iter()
        .map(|job| {
            let file = dir.path().join(format!("{}.payload", job.name));
            std::fs::write(&file, &job.payload).unwrap();
            json!({
                "name": job.name, "kind": if job.attest { "attest" } else { "sign" },
                "payload_file": file, "subject": job.subject, "issuer": job.issuer,
                "rekor_offset_seconds": job.rekor_offset_seconds,
                "timestamp": job.timestamped.is_some(),
                "tsa_offset_seconds": job.timestamped.unwrap_or(0),
                "key_file": job.key_file,
            })
        })
        .collect();
    let jobs_file = dir.path().join("jobs.json");
    std::fs::write(&jobs_file, serde_json::to_vec(&specs).unwrap()).unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/sigstore_sign.js");
    let output = Command::new("node")
        .arg(&script)
        .arg(&jobs_file)
        .arg(&out)
        .env("NODE_PATH", node_modules())
        .output()
        .expect("run node");
    assert!(
        output.status.success(),
        "sigstore_sign.js failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let read = |name: &str| -> Value {
        serde_json::from_slice(&std::fs::read(out.join(name)).unwrap()).unwrap()
    };
    Signed {
        bundles: jobs
            .iter()
            .map(|job| (job.name.clone(), read(&format!("{}.json", job.name))))
            .collect(),
        trusted_root: read("trusted_root.json"),
    }
}

/// An in-toto v1 statement (SLSA provenance, empty) about the image `digest`.
pub fn statement(digest: &str) -> Vec<u8> {
    let hex = digest.strip_prefix("sha256:").unwrap();
    serde_json::to_vec(&json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "image", "digest": {"sha256": hex}}],
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {"buildDefinition": {"buildType": "https://actions.github.io/buildtypes/workflow/v1"}},
    }))
    .unwrap()
}

/// The statement `cosign sign` signs for `digest` in the new bundle format (cosign
/// `cmd/cosign/cli/sign/sign.go`: the digest as subject, an empty predicate).
pub fn cosign_sign_statement(digest: &str) -> Vec<u8> {
    let hex = digest.strip_prefix("sha256:").unwrap();
    serde_json::to_vec(&json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"digest": {"sha256": hex}}],
        "predicateType": "https://sigstore.dev/cosign/sign/v1",
        "predicate": {},
    }))
    .unwrap()
}

/// Pushes one blob through the registry API (POST, then PUT with its digest).
pub fn push_blob(registry: &Registry, repo: &str, bytes: &[u8]) -> String {
    let host = registry.host();
    let digest = sha256_digest(bytes);
    let started = http_request(
        &host,
        "POST",
        &format!("/v2/{repo}/blobs/uploads/"),
        &[],
        b"",
    )
    .expect("start an upload");
    assert_eq!(started.status, 202, "{}", started.body_text());
    let location = started
        .header("location")
        .expect("upload location")
        .to_string();
    let path = location
        .strip_prefix(&format!("http://{host}"))
        .unwrap_or(&location)
        .to_string();
    let separator = if path.contains('?') { '&' } else { '?' };
    let put = http_request(
        &host,
        "PUT",
        &format!("{path}{separator}digest={digest}"),
        &[("Content-Type", "application/octet-stream")],
        bytes,
    )
    .expect("finish an upload");
    assert_eq!(put.status, 201, "{}", put.body_text());
    digest
}

/// Pushes a manifest of `media_type` under `reference` (a tag or its digest); its digest.
pub fn push_manifest(
    registry: &Registry,
    repo: &str,
    reference: &str,
    media_type: &str,
    bytes: &[u8],
) -> String {
    let response = http_request(
        &registry.host(),
        "PUT",
        &format!("/v2/{repo}/manifests/{reference}"),
        &[("Content-Type", media_type)],
        bytes,
    )
    .expect("push a manifest");
    assert_eq!(response.status, 201, "{}", response.body_text());
    sha256_digest(bytes)
}

/// Attaches `bundles` to `digest` of `repo` as referrers, through the referrers tag schema: an
/// artifact manifest per bundle (the bundle its one layer, `subject` the image) and the index
/// tagged `sha256-<hex>` that lists them.
pub fn push_referrers(registry: &Registry, repo: &str, digest: &str, bundles: &[Vec<u8>]) {
    let manifest_type = "application/vnd.oci.image.manifest.v1+json";
    let empty = push_blob(registry, repo, b"{}");
    let subject = subject_descriptor(registry, repo, digest);
    let descriptors: Vec<Value> = bundles
        .iter()
        .map(|bundle| {
            let layer = push_blob(registry, repo, bundle);
            let manifest = serde_json::to_vec(&json!({
                "schemaVersion": 2,
                "mediaType": manifest_type,
                "artifactType": BUNDLE_TYPE,
                "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty, "size": 2},
                "layers": [{"mediaType": BUNDLE_TYPE, "digest": layer, "size": bundle.len()}],
                "subject": subject,
                "annotations": {"dev.sigstore.bundle.content": "dsse-envelope"},
            }))
            .unwrap();
            let pushed = sha256_digest(&manifest);
            push_manifest(registry, repo, &pushed, manifest_type, &manifest);
            json!({"mediaType": manifest_type, "digest": pushed, "size": manifest.len(), "artifactType": BUNDLE_TYPE})
        })
        .collect();
    let index_type = "application/vnd.oci.image.index.v1+json";
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": index_type, "manifests": descriptors,
    }))
    .unwrap();
    push_manifest(
        registry,
        repo,
        &digest.replace(':', "-"),
        index_type,
        &index,
    );
}

/// The descriptor of the manifest `digest` as the registry serves it.
fn subject_descriptor(registry: &Registry, repo: &str, digest: &str) -> Value {
    let raw = registry.inspect_raw(&format!("{repo}@{digest}")).unwrap();
    let media_type = serde_json::from_slice::<Value>(&raw).unwrap()["mediaType"].clone();
    json!({"mediaType": media_type, "digest": digest, "size": raw.len()})
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn unb64(value: &Value) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(value.as_str().unwrap())
        .unwrap()
}

fn pem(der: &[u8]) -> String {
    format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        b64(der)
    )
}

/// The annotations of a cosign keyless `.sig` layer, from a message-signature bundle over that
/// layer's payload: signature, certificate, chain (the trusted root's CA), and the Rekor bundle
/// or RFC 3161 timestamp the bundle has.
pub fn cosign_annotations(bundle: &Value, trusted_root: &Value) -> Value {
    let material = &bundle["verificationMaterial"];
    // `sign` makes a v0.2 bundle, whose leaf heads a chain; v0.3 has the leaf alone.
    let leaf = match material.get("certificate") {
        Some(certificate) => unb64(&certificate["rawBytes"]),
        None => unb64(&material["x509CertificateChain"]["certificates"][0]["rawBytes"]),
    };
    let ca = unb64(
        &trusted_root["certificateAuthorities"][0]["certChain"]["certificates"][0]["rawBytes"],
    );
    let mut annotations = json!({
        "dev.cosignproject.cosign/signature": bundle["messageSignature"]["signature"],
        "dev.sigstore.cosign/certificate": pem(&leaf),
        "dev.sigstore.cosign/chain": pem(&ca),
    });
    let entry = &material["tlogEntries"][0];
    if !entry.is_null() {
        let log_id: String = unb64(&entry["logId"]["keyId"])
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let integer = |v: &Value| v.as_str().unwrap().parse::<i64>().unwrap();
        let rekor_bundle = json!({
            "SignedEntryTimestamp": entry["inclusionPromise"]["signedEntryTimestamp"],
            "Payload": {
                "body": entry["canonicalizedBody"],
                "integratedTime": integer(&entry["integratedTime"]),
                "logIndex": integer(&entry["logIndex"]),
                "logID": log_id,
            },
        });
        annotations["dev.sigstore.cosign/bundle"] =
            serde_json::to_string(&rekor_bundle).unwrap().into();
    }
    // cosign's timestamp annotation (pkg/cosign/bundle/tsa.go): the TSA's answer, base64.
    let stamp = &material["timestampVerificationData"]["rfc3161Timestamps"][0]["signedTimestamp"];
    if !stamp.is_null() {
        let annotation = json!({ "SignedRFC3161Timestamp": stamp });
        annotations["dev.sigstore.cosign/rfc3161timestamp"] =
            serde_json::to_string(&annotation).unwrap().into();
    }
    annotations
}

/// Flips a bit of the base64 bytes at `pointer` (a JSON pointer) in `value`.
pub fn flip(value: &mut Value, pointer: &str) {
    let field = value.pointer_mut(pointer).unwrap();
    let mut bytes = unb64(field);
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    *field = Value::String(b64(&bytes));
}
