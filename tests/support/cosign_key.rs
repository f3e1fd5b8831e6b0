//! cosign's private-key file, `cosign.key`, read and written as cosign does.
//!
//! The format, as cosign's `pkg/cosign/keys.go` (`marshalKeyPair`, `LoadPrivateKey`) writes
//! and reads it: the private key as PKCS #8 DER (`x509.MarshalPKCS8PrivateKey`), encrypted
//! with `encrypted.Encrypt` from go-securesystemslib's `encrypted` package (earlier cosign
//! releases used the same code as sigstore's `pkg/encrypted`), in a PEM block of type
//! `ENCRYPTED SIGSTORE PRIVATE KEY` (older files: `ENCRYPTED COSIGN PRIVATE KEY`). The block
//! holds JSON:
//!
//! ```json
//! {"kdf": {"name": "scrypt", "params": {"N": 65536, "r": 8, "p": 1}, "salt": "<base64>"},
//!  "cipher": {"name": "nacl/secretbox", "nonce": "<base64>"},
//!  "ciphertext": "<base64>"}
//! ```
//!
//! The key is scrypt(password, salt, N, r, p) of 32 bytes (salt of 32 random bytes; the
//! package accepts N = 2^15, 2^16 (its default) or 2^17 with r = 8, p = 1, and nothing else);
//! the ciphertext is NaCl secretbox (XSalsa20-Poly1305, the tag first) under a 24-byte random
//! nonce; byte fields are standard base64, as Go's JSON encodes `[]byte`. The cryptography is
//! the RustCrypto crates `scrypt` and `crypto_secretbox`.
#![allow(dead_code)]

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use crypto_secretbox::aead::{Aead, KeyInit};
use crypto_secretbox::{Key, Nonce, XSalsa20Poly1305};
use serde_json::{Value, json};

/// The PEM type cosign writes today.
pub const PEM_TYPE: &str = "ENCRYPTED SIGSTORE PRIVATE KEY";
/// The PEM type older cosign releases wrote, which cosign still reads.
pub const LEGACY_PEM_TYPE: &str = "ENCRYPTED COSIGN PRIVATE KEY";

/// go-securesystemslib's default (`standardParams`): N = 2^16, r = 8, p = 1.
const LOG_N: u8 = 16;
const SALT_BYTES: usize = 32;
const NONCE_BYTES: usize = 24;

/// The scrypt parameters go-securesystemslib accepts when decrypting (`CheckParams`).
const ACCEPTED_LOG_N: [u8; 3] = [15, 16, 17];

/// `cosign.key` for a PKCS #8 private key, encrypted under `password`.
pub fn encrypt(pkcs8: &[u8], password: &[u8]) -> String {
    let salt = random::<SALT_BYTES>();
    let nonce = random::<NONCE_BYTES>();
    let key = derive(password, &salt, LOG_N);
    let cipher = XSalsa20Poly1305::new(Key::from_slice(&key));
    let ciphertext = cipher
        .encrypt(Nonce::from_slice(&nonce), pkcs8)
        .expect("secretbox seals");
    let document = json!({
        "kdf": {
            "name": "scrypt",
            "params": {"N": 1u64 << LOG_N, "r": 8, "p": 1},
            "salt": STANDARD.encode(salt),
        },
        "cipher": {"name": "nacl/secretbox", "nonce": STANDARD.encode(nonce)},
        "ciphertext": STANDARD.encode(ciphertext),
    });
    pem(PEM_TYPE, &serde_json::to_vec(&document).unwrap())
}

/// The PKCS #8 private key in `cosign.key`, or why it cannot be had (a wrong password, a
/// file that is not cosign's).
pub fn decrypt(file: &str, password: &[u8]) -> Result<Vec<u8>, String> {
    let (kind, der) = unpem(file)?;
    if kind != PEM_TYPE && kind != LEGACY_PEM_TYPE {
        return Err(format!("unsupported pem type: {kind}"));
    }
    let document: Value = serde_json::from_slice(&der).map_err(|e| format!("not JSON: {e}"))?;
    let bytes = |value: &Value| {
        value
            .as_str()
            .and_then(|text| STANDARD.decode(text).ok())
            .ok_or_else(|| "a field that is not base64".to_string())
    };
    let kdf = &document["kdf"];
    if kdf["name"] != "scrypt" || document["cipher"]["name"] != "nacl/secretbox" {
        return Err("not scrypt and nacl/secretbox".to_string());
    }
    let params = &kdf["params"];
    let log_n = ACCEPTED_LOG_N
        .into_iter()
        .find(|log_n| params["N"] == 1u64 << log_n && params["r"] == 8 && params["p"] == 1)
        .ok_or("unsupported scrypt parameters")?;
    let nonce = bytes(&document["cipher"]["nonce"])?;
    if nonce.len() != NONCE_BYTES {
        return Err("encrypted: incorrect nonce size".to_string());
    }
    let key = derive(password, &bytes(&kdf["salt"])?, log_n);
    XSalsa20Poly1305::new(Key::from_slice(&key))
        .decrypt(
            Nonce::from_slice(&nonce),
            bytes(&document["ciphertext"])?.as_slice(),
        )
        .map_err(|_| "encrypted: decryption failed".to_string())
}

fn derive(password: &[u8], salt: &[u8], log_n: u8) -> [u8; 32] {
    let params = scrypt::Params::new(log_n, 8, 1).expect("valid scrypt parameters");
    let mut key = [0u8; 32];
    scrypt::scrypt(password, salt, &params, &mut key).expect("32 bytes of output");
    key
}

fn random<const N: usize>() -> [u8; N] {
    use aws_lc_rs::rand::SecureRandom;
    let mut bytes = [0u8; N];
    aws_lc_rs::rand::SystemRandom::new()
        .fill(&mut bytes)
        .expect("random bytes");
    bytes
}

/// A PEM block, 64 characters a line, as Go's `pem.EncodeToMemory` writes it.
pub fn pem(kind: &str, der: &[u8]) -> String {
    let text = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {kind}-----\n");
    for line in text.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap());
        out.push('\n');
    }
    out.push_str(&format!("-----END {kind}-----\n"));
    out
}

/// The type and bytes of the first PEM block of `text`.
pub fn unpem(text: &str) -> Result<(String, Vec<u8>), String> {
    let start = text.find("-----BEGIN ").ok_or("invalid pem block")?;
    let rest = &text[start + "-----BEGIN ".len()..];
    let (kind, body) = rest.split_once("-----").ok_or("invalid pem block")?;
    let end = format!("-----END {kind}-----");
    let body = &body[..body.find(&end).ok_or("invalid pem block")?];
    let joined: String = body.split_whitespace().collect();
    let der = STANDARD
        .decode(joined)
        .map_err(|_| "invalid pem block".to_string())?;
    Ok((kind.to_string(), der))
}
