//! Signatures in cosign's stored form, made by real signers, pushed to the test registry.
//!
//! cosign cannot be installed here (a Go binary, not packaged), so this writes what cosign
//! writes, as its signature specification (`specs/SIGNATURE_SPEC.md` in sigstore/cosign)
//! describes it: a simple-signing payload (`critical.identity.docker-reference`,
//! `critical.image.docker-manifest-digest`, `critical.type`), signed with `openssl` — ECDSA
//! P-256/P-384 and RSA over SHA-256 as `openssl dgst -sha256 -sign` (DER signatures, as
//! cosign's `sign` makes them), Ed25519 over the payload itself (`openssl pkeyutl -rawin`) —
//! and an OCI image manifest tagged `sha256-<hex>.sig` whose layers are the payloads
//! (`application/vnd.dev.cosign.simplesigning.v1+json`) with the base64 signature in the
//! `dev.cosignproject.cosign/signature` annotation, pushed with skopeo from an OCI layout.
//! The keys are openssl's PEM keys, not cosign's encrypted key files: pinnace reads only the
//! public half, which is the same PEM `PUBLIC KEY` either way.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine;
use serde_json::{Value, json};
use tempfile::TempDir;

use super::oci_layout::sha256_digest;
use super::registry::Registry;
use super::tools::skopeo_ok;

pub const SIMPLE_SIGNING: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
pub const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    P256,
    P384,
    Rsa,
    Ed25519,
}

/// A key pair made by `openssl genpkey`.
pub struct SigningKey {
    dir: TempDir,
    pub kind: KeyKind,
}

impl SigningKey {
    pub fn generate(kind: KeyKind) -> SigningKey {
        let dir = tempfile::tempdir().unwrap();
        let private = dir.path().join("key.pem");
        let mut args = vec!["genpkey", "-out", private.to_str().unwrap()];
        match kind {
            KeyKind::P256 => {
                args.extend(["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"])
            }
            KeyKind::P384 => {
                args.extend(["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"])
            }
            KeyKind::Rsa => args.extend(["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]),
            KeyKind::Ed25519 => args.extend(["-algorithm", "ED25519"]),
        }
        openssl(&args);
        let public = dir.path().join("key.pub");
        openssl(&[
            "pkey",
            "-in",
            private.to_str().unwrap(),
            "-pubout",
            "-out",
            public.to_str().unwrap(),
        ]);
        SigningKey { dir, kind }
    }

    /// The PEM `PUBLIC KEY`, as cosign.pub holds it.
    pub fn public_pem(&self) -> String {
        fs::read_to_string(self.dir.path().join("key.pub")).unwrap()
    }

    fn private(&self) -> PathBuf {
        self.dir.path().join("key.pem")
    }

    /// The signature of `payload`, base64, as cosign puts it in the annotation.
    pub fn sign(&self, payload: &[u8]) -> String {
        let input = self.dir.path().join("payload");
        let output = self.dir.path().join("signature");
        fs::write(&input, payload).unwrap();
        let (private, input_s, output_s) = (
            self.private().display().to_string(),
            input.display().to_string(),
            output.display().to_string(),
        );
        match self.kind {
            KeyKind::Ed25519 => openssl(&[
                "pkeyutl", "-sign", "-rawin", "-inkey", &private, "-in", &input_s, "-out",
                &output_s,
            ]),
            _ => openssl(&[
                "dgst", "-sha256", "-sign", &private, "-out", &output_s, &input_s,
            ]),
        }
        base64::engine::general_purpose::STANDARD.encode(fs::read(&output).unwrap())
    }
}

fn openssl(args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The simple-signing payload cosign signs for `digest` of `docker_reference` (the image name).
pub fn payload(docker_reference: &str, digest: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "critical": {
            "identity": {"docker-reference": docker_reference},
            "image": {"docker-manifest-digest": digest},
            "type": "cosign container image signature"
        },
        "optional": null
    }))
    .unwrap()
}

/// One layer of a `.sig` manifest: the payload and its (base64) signature annotation.
pub struct SignatureLayer {
    pub payload: Vec<u8>,
    pub signature: String,
}

impl SignatureLayer {
    /// `key`'s signature over the payload for `digest` of `repo` at `registry`.
    pub fn signed(key: &SigningKey, registry: &Registry, repo: &str, digest: &str) -> Self {
        let payload = payload(&format!("{}/{repo}", registry.host()), digest);
        let signature = key.sign(&payload);
        SignatureLayer { payload, signature }
    }
}

/// The tag cosign stores the signatures of `digest` under.
pub fn signature_tag(digest: &str) -> String {
    format!("{}.sig", digest.replace(':', "-"))
}

/// Pushes a `sha256-<hex>.sig` manifest for `digest` holding `layers`, as cosign lays it out
/// (an OCI image manifest, a config naming the layers, one simple-signing layer each); returns
/// the signature manifest's digest. Plain-HTTP registries only.
pub fn push_signatures(
    registry: &Registry,
    repo: &str,
    digest: &str,
    layers: &[SignatureLayer],
) -> String {
    let layers: Vec<(Vec<u8>, Value)> = layers
        .iter()
        .map(|layer| {
            let annotations = json!({SIGNATURE_ANNOTATION: layer.signature});
            (layer.payload.clone(), annotations)
        })
        .collect();
    push_signature_layers(registry, repo, digest, &layers)
}

/// Like `push_signatures`, with each layer's payload and all its annotations given (a keyless
/// signature's certificate, chain and Rekor bundle among them).
pub fn push_signature_layers(
    registry: &Registry,
    repo: &str,
    digest: &str,
    layers: &[(Vec<u8>, Value)],
) -> String {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("blobs/sha256")).unwrap();
    fs::write(
        dir.path().join("oci-layout"),
        br#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .unwrap();
    let descriptors: Vec<Value> = layers
        .iter()
        .map(|(payload, annotations)| {
            let mut descriptor = write_blob(dir.path(), SIMPLE_SIGNING, payload);
            descriptor["annotations"] = annotations.clone();
            descriptor
        })
        .collect();
    let diff_ids: Vec<Value> = descriptors.iter().map(|d| d["digest"].clone()).collect();
    let config = json!({
        "architecture": "", "created": "0001-01-01T00:00:00Z", "os": "",
        "config": {}, "history": [{"created": "0001-01-01T00:00:00Z"}],
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    });
    let config = write_blob(
        dir.path(),
        "application/vnd.oci.image.config.v1+json",
        &serde_json::to_vec(&config).unwrap(),
    );
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": config,
        "layers": descriptors,
    });
    let tag = signature_tag(digest);
    let mut top = write_blob(
        dir.path(),
        "application/vnd.oci.image.manifest.v1+json",
        &serde_json::to_vec(&manifest).unwrap(),
    );
    let manifest_digest = top["digest"].as_str().unwrap().to_string();
    top["annotations"] = json!({"org.opencontainers.image.ref.name": tag});
    fs::write(
        dir.path().join("index.json"),
        serde_json::to_vec(&json!({"schemaVersion": 2, "manifests": [top]})).unwrap(),
    )
    .unwrap();
    let auth = dir.path().join("empty-auth.json");
    fs::write(&auth, "{}").unwrap();
    let source = format!("oci:{}:{tag}", dir.path().display());
    let dest = format!("docker://{}/{repo}:{tag}", registry.host());
    skopeo_ok(&[
        "copy",
        "--preserve-digests",
        "--retry-times",
        "2",
        &format!("--authfile={}", auth.display()),
        "--dest-tls-verify=false",
        "--dest-no-creds",
        &source,
        &dest,
    ]);
    manifest_digest
}

fn write_blob(dir: &Path, media_type: &str, bytes: &[u8]) -> Value {
    let digest = sha256_digest(bytes);
    fs::write(
        dir.join("blobs/sha256")
            .join(digest.strip_prefix("sha256:").unwrap()),
        bytes,
    )
    .unwrap();
    json!({"mediaType": media_type, "digest": digest, "size": bytes.len()})
}
