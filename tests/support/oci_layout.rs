//! Builds a small, deterministic OCI image layout on disk (the `oci:` transport of skopeo),
//! so tests get real images without pulling anything from the internet.
//!
//! Layout: `oci-layout`, `index.json` (one descriptor annotated with the tag), and
//! `blobs/sha256/<hex>` for every config, layer, manifest and (multi-platform) index.
//! Everything is derived from the seed: the same seed gives byte-identical blobs, so the same
//! digests; different seeds give different digests.
#![allow(dead_code)]

use std::fs;
use std::path::Path;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tempfile::TempDir;

pub const MANIFEST_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
pub const INDEX_TYPE: &str = "application/vnd.oci.image.index.v1+json";
pub const CONFIG_TYPE: &str = "application/vnd.oci.image.config.v1+json";
pub const LAYER_TYPE: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

/// The two platforms of `TestImage::MultiPlatform`, in the order of the index (and of
/// `Pushed::children`).
pub const PLATFORMS: [&str; 2] = ["amd64", "arm64"];

/// What kind of image `Registry::push` makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestImage {
    /// One OCI image manifest (linux/amd64).
    SinglePlatform,
    /// An OCI image index over linux/amd64 and linux/arm64 (in that order).
    MultiPlatform,
}

/// An OCI layout in a temp dir, plus the digests the push is expected to preserve.
pub struct OciLayout {
    pub dir: TempDir,
    /// Digest of what the tag names: the manifest, or the index for multi-platform.
    pub digest: String,
    /// Per-platform manifest digests (empty for a single-platform image).
    pub children: Vec<String>,
}

pub fn sha256_digest(bytes: &[u8]) -> String {
    let hash = Sha256::digest(bytes);
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// Writes the layout for `image` with the tag `tag` into a fresh temp dir.
pub fn build(tag: &str, image: TestImage, seed: &str) -> OciLayout {
    let dir = TempDir::new().expect("temp dir for OCI layout");
    fs::create_dir_all(dir.path().join("blobs/sha256")).unwrap();
    fs::write(
        dir.path().join("oci-layout"),
        br#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .unwrap();

    let (top, children) = match image {
        TestImage::SinglePlatform => (image_manifest(dir.path(), seed, "amd64"), Vec::new()),
        TestImage::MultiPlatform => {
            let manifests: Vec<Value> = PLATFORMS
                .iter()
                .map(|arch| {
                    let mut desc = image_manifest(dir.path(), seed, arch);
                    desc["platform"] = json!({"architecture": arch, "os": "linux"});
                    desc
                })
                .collect();
            let children = manifests
                .iter()
                .map(|d| d["digest"].as_str().unwrap().to_string())
                .collect();
            let index = json!({
                "schemaVersion": 2,
                "mediaType": INDEX_TYPE,
                "manifests": manifests,
            });
            (write_json_blob(dir.path(), INDEX_TYPE, &index), children)
        }
    };

    let digest = top["digest"].as_str().unwrap().to_string();
    let mut tagged = top;
    tagged["annotations"] = json!({"org.opencontainers.image.ref.name": tag});
    let layout_index = json!({"schemaVersion": 2, "manifests": [tagged]});
    fs::write(
        dir.path().join("index.json"),
        serde_json::to_vec(&layout_index).unwrap(),
    )
    .unwrap();
    OciLayout {
        dir,
        digest,
        children,
    }
}

/// Writes config, layer and manifest blobs for one platform; returns the manifest descriptor.
fn image_manifest(dir: &Path, seed: &str, arch: &str) -> Value {
    let file = format!("pinnace test image\nseed: {seed}\narch: {arch}\n");
    let tar = tar_with_one_file("pinnace-seed.txt", file.as_bytes());
    let layer = write_blob(dir, LAYER_TYPE, &gzip_stored(&tar));
    let config = json!({
        "architecture": arch,
        "os": "linux",
        "config": {"Labels": {"dev.pinnace.test.seed": seed}},
        "rootfs": {"type": "layers", "diff_ids": [sha256_digest(&tar)]},
    });
    let config = write_json_blob(dir, CONFIG_TYPE, &config);
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "config": config,
        "layers": [layer],
    });
    write_json_blob(dir, MANIFEST_TYPE, &manifest)
}

fn write_json_blob(dir: &Path, media_type: &str, value: &Value) -> Value {
    write_blob(dir, media_type, &serde_json::to_vec(value).unwrap())
}

/// Stores `bytes` under blobs/sha256 and returns its OCI descriptor.
fn write_blob(dir: &Path, media_type: &str, bytes: &[u8]) -> Value {
    let digest = sha256_digest(bytes);
    let hex = digest.strip_prefix("sha256:").unwrap();
    fs::write(dir.join("blobs/sha256").join(hex), bytes).unwrap();
    json!({"mediaType": media_type, "digest": digest, "size": bytes.len()})
}

/// A ustar archive holding one regular file (mode 0644, mtime 0, so it is deterministic).
fn tar_with_one_file(name: &str, data: &[u8]) -> Vec<u8> {
    assert!(name.len() < 100, "tar name too long");
    let mut header = [0u8; 512];
    let mut put =
        |offset: usize, text: &[u8]| header[offset..offset + text.len()].copy_from_slice(text);
    put(0, name.as_bytes());
    put(100, b"0000644\0"); // mode
    put(108, b"0000000\0"); // uid
    put(116, b"0000000\0"); // gid
    put(124, format!("{:011o}\0", data.len()).as_bytes()); // size
    put(136, b"00000000000\0"); // mtime
    put(148, b"        "); // checksum counts as spaces while summing
    put(156, b"0"); // regular file
    put(257, b"ustar\0"); // magic
    put(263, b"00"); // version
    let sum: u32 = header.iter().map(|&b| u32::from(b)).sum();
    header[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());

    let mut tar = header.to_vec();
    tar.extend_from_slice(data);
    tar.resize(tar.len().div_ceil(512) * 512, 0);
    tar.resize(tar.len() + 1024, 0); // two zero blocks end the archive
    tar
}

/// A valid gzip stream using deflate "stored" (uncompressed) blocks: no compression crate
/// is needed, and skopeo/registries see a real `tar+gzip` layer.
fn gzip_stored(data: &[u8]) -> Vec<u8> {
    // Header: magic, CM=deflate, no flags, mtime 0, no extra flags, OS unknown.
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    let mut chunks: Vec<&[u8]> = data.chunks(0xffff).collect();
    if chunks.is_empty() {
        chunks.push(&[]);
    }
    let last = chunks.len() - 1;
    for (i, chunk) in chunks.iter().enumerate() {
        out.push(u8::from(i == last)); // BFINAL bit, BTYPE=00 (stored)
        let len = chunk.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(chunk);
    }
    out.extend_from_slice(&crc32(data).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

/// CRC-32 (IEEE), bitwise: the layers are a few KiB, speed does not matter.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}
