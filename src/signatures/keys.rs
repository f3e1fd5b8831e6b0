//! cosign public keys: PEM `PUBLIC KEY` (X.509 SubjectPublicKeyInfo) of the kinds cosign
//! signs with. The cryptography is aws-lc-rs's (the library rustls already uses for TLS).
//!
//! The signature schemes follow what cosign and sigstore-go produce for each key kind:
//! ECDSA (ASN.1 DER signatures) over SHA-256 — cosign's default digest for every key — and,
//! for P-384, SHA-384 as sigstore-go signs; RSA PKCS#1 v1.5 or PSS over SHA-256; Ed25519 in
//! both its forms: pure, over the message itself (older cosign, sigstore-go's default), and
//! pre-hashed (Ed25519ph of RFC 8032 §5.1: SHA-512 of the message, empty context), which
//! cosign 2 signs with (`options.WithED25519ph()` in its `pkg/signature/keys.go`). Ed25519ph is
//! ed25519-dalek's; the two forms are domain-separated, so accepting both opens no forgery.

use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_ASN1, ECDSA_P384_SHA256_ASN1, ECDSA_P384_SHA384_ASN1, ParsedPublicKey,
    RSA_PKCS1_2048_8192_SHA256, RSA_PSS_2048_8192_SHA256, VerificationAlgorithm,
};
use ed25519_dalek::{Signature, VerifyingKey};
use rustls_pki_types::SubjectPublicKeyInfoDer;
use rustls_pki_types::pem::PemObject;
use sha2::{Digest as _, Sha512};
use x509_parser::prelude::FromDer;
use x509_parser::x509::SubjectPublicKeyInfo;

/// A key kind: its name for people, and the schemes a signature under it may use (the first
/// one decides whether a key is of this kind).
struct KeyKind {
    name: &'static str,
    schemes: &'static [&'static dyn VerificationAlgorithm],
}

static KINDS: &[KeyKind] = &[
    KeyKind {
        name: "ECDSA P-256",
        schemes: &[&ECDSA_P256_SHA256_ASN1],
    },
    KeyKind {
        name: "ECDSA P-384",
        schemes: &[&ECDSA_P384_SHA384_ASN1, &ECDSA_P384_SHA256_ASN1],
    },
    KeyKind {
        name: "RSA",
        schemes: &[&RSA_PKCS1_2048_8192_SHA256, &RSA_PSS_2048_8192_SHA256],
    },
    KeyKind {
        name: ED25519,
        schemes: &[&aws_lc_rs::signature::ED25519],
    },
];

/// A public key that signatures are checked under.
pub struct PublicKey {
    /// How config names it (`keys/release.pub`), for messages.
    pub name: String,
    /// `ECDSA P-256`, `RSA` …
    pub kind: &'static str,
    /// The SubjectPublicKeyInfo, which identifies the key in the cache.
    pub der: Vec<u8>,
    parsed: Vec<ParsedPublicKey>,
    /// An Ed25519 key again, for its pre-hashed signatures.
    prehashed: Option<VerifyingKey>,
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PublicKey({}, {})", self.name, self.kind)
    }
}

impl PublicKey {
    /// Reads a PEM `PUBLIC KEY`; the error says what the file is instead.
    pub fn from_pem(name: &str, pem: &[u8]) -> Result<PublicKey, String> {
        let der = SubjectPublicKeyInfoDer::from_pem_slice(pem).map_err(|_| {
            "holds no PEM `PUBLIC KEY` block (a cosign public key, as `cosign generate-key-pair` writes cosign.pub)".to_string()
        })?;
        PublicKey::from_der(name, der.as_ref()).ok_or_else(|| {
            "is not an ECDSA P-256 or P-384, RSA (2048 to 8192 bits) or Ed25519 public key"
                .to_string()
        })
    }

    /// A SubjectPublicKeyInfo (DER) of one of the kinds, or `None`.
    pub fn from_der(name: &str, der: &[u8]) -> Option<PublicKey> {
        let der = der.to_vec();
        for kind in KINDS {
            let parsed: Vec<ParsedPublicKey> = kind
                .schemes
                .iter()
                .filter_map(|scheme| ParsedPublicKey::new(*scheme, &der).ok())
                .collect();
            if parsed.len() == kind.schemes.len() {
                let prehashed = match kind.name {
                    ED25519 => Some(ed25519_key(&der)?),
                    _ => None,
                };
                return Some(PublicKey {
                    name: name.to_string(),
                    kind: kind.name,
                    der,
                    parsed,
                    prehashed,
                });
            }
        }
        None
    }

    /// Whether `signature` is this key's signature of `message`.
    pub fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        self.parsed
            .iter()
            .any(|key| key.verify_sig(message, signature).is_ok())
            || self.verifies_prehashed(message, signature)
    }

    /// Whether `signature` is this key's signature of a message whose SHA-256 is `digest` (a
    /// Sigstore message signature names only the digest of what was signed). Ed25519 signs
    /// the message itself, so no Ed25519 signature verifies from a digest alone.
    pub fn verifies_sha256_digest(&self, digest: &[u8; 32], signature: &[u8]) -> bool {
        let Ok(digest) =
            aws_lc_rs::digest::Digest::import_less_safe(digest, &aws_lc_rs::digest::SHA256)
        else {
            return false;
        };
        self.kind != ED25519
            && self
                .parsed
                .iter()
                .any(|key| key.verify_digest_sig(&digest, signature).is_ok())
    }

    /// Whether `signature` is this Ed25519 key's Ed25519ph signature of `message`. Strict
    /// verification: a non-canonical signature or a weak key never verifies.
    fn verifies_prehashed(&self, message: &[u8], signature: &[u8]) -> bool {
        let (Some(key), Ok(signature)) = (&self.prehashed, Signature::from_slice(signature)) else {
            return false;
        };
        let digest = Sha512::new().chain_update(message);
        key.verify_prehashed_strict(digest, None, &signature)
            .is_ok()
    }
}

/// The name of the Ed25519 kind.
const ED25519: &str = "Ed25519";

/// The Ed25519 point of a SubjectPublicKeyInfo aws-lc-rs has already read as Ed25519.
fn ed25519_key(der: &[u8]) -> Option<VerifyingKey> {
    let (_, info) = SubjectPublicKeyInfo::from_der(der).ok()?;
    let point: &[u8; 32] = info.subject_public_key.data.as_ref().try_into().ok()?;
    VerifyingKey::from_bytes(point).ok()
}

#[cfg(test)]
mod tests {
    use aws_lc_rs::encoding::AsDer;
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{
        ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P384_SHA384_ASN1_SIGNING, EcdsaKeyPair,
        Ed25519KeyPair, KeyPair,
    };
    use base64::Engine;

    use super::PublicKey;

    fn pem(der: &[u8]) -> String {
        let text = base64::engine::general_purpose::STANDARD.encode(der);
        format!("-----BEGIN PUBLIC KEY-----\n{text}\n-----END PUBLIC KEY-----\n")
    }

    #[test]
    fn what_is_not_a_public_key_is_refused() {
        assert!(PublicKey::from_pem("k", b"not a key").is_err());
        let certificate = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        assert!(PublicKey::from_pem("k", certificate.as_bytes()).is_err());
        assert!(PublicKey::from_pem("k", pem(b"\x30\x03\x02\x01\x01").as_bytes()).is_err());
    }

    #[test]
    fn ecdsa_keys_verify_their_own_signatures_only() {
        let random = SystemRandom::new();
        for (signing, kind) in [
            (&ECDSA_P256_SHA256_ASN1_SIGNING, "ECDSA P-256"),
            (&ECDSA_P384_SHA384_ASN1_SIGNING, "ECDSA P-384"),
        ] {
            let pair = EcdsaKeyPair::generate(signing).unwrap();
            let der = pair.public_key().as_der().unwrap();
            let key = PublicKey::from_pem("k", pem(der.as_ref()).as_bytes()).unwrap();
            assert_eq!(key.kind, kind);
            let signature = pair.sign(&random, b"payload").unwrap();
            assert!(key.verifies(b"payload", signature.as_ref()));
            assert!(!key.verifies(b"payloaD", signature.as_ref()));
            let other = EcdsaKeyPair::generate(signing).unwrap();
            let forged = other.sign(&random, b"payload").unwrap();
            assert!(!key.verifies(b"payload", forged.as_ref()));
        }
    }

    #[test]
    fn ed25519_keys_verify_their_own_signatures_only() {
        let pair = Ed25519KeyPair::generate().unwrap();
        let der = pair.public_key().as_der().unwrap();
        let key = PublicKey::from_pem("k", pem(der.as_ref()).as_bytes()).unwrap();
        assert_eq!(key.kind, "Ed25519");
        let signature = pair.sign(b"payload");
        assert!(key.verifies(b"payload", signature.as_ref()));
        assert!(!key.verifies(b"other", signature.as_ref()));
    }

    /// RFC 8032 §7.3, the Ed25519ph test vector ("abc"), its public key as an SPKI.
    #[test]
    fn ed25519_keys_verify_pre_hashed_signatures_as_rfc_8032_makes_them() {
        let hex = |text: &str| -> Vec<u8> {
            (0..text.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
                .collect()
        };
        let mut spki = hex("302a300506032b6570032100");
        spki.extend(hex(
            "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
        ));
        let signature = hex(concat!(
            "98a70222f0b8121aa9d30f813d683f809e462b469c7ff87639499bb94e6dae41",
            "31f85042463c2a355a2003d062adf5aaa10b8c61e636062aaad11c2a26083406"
        ));
        let key = PublicKey::from_pem("k", pem(&spki).as_bytes()).unwrap();
        assert_eq!(key.kind, "Ed25519");
        assert!(key.verifies(b"abc", &signature));
        assert!(!key.verifies(b"abd", &signature));
        let mut altered = signature.clone();
        altered[63] ^= 1;
        assert!(!key.verifies(b"abc", &altered));
        assert!(!key.verifies(b"abc", &signature[..63]));
    }

    #[test]
    fn an_ed25519_key_does_not_take_a_pure_signature_of_the_pre_hash() {
        // A pure Ed25519 signature over SHA-512(message) is not an Ed25519ph signature of the
        // message: the forms are domain-separated.
        use sha2::{Digest, Sha512};
        let pair = Ed25519KeyPair::generate().unwrap();
        let der = pair.public_key().as_der().unwrap();
        let key = PublicKey::from_pem("k", pem(der.as_ref()).as_bytes()).unwrap();
        let signature = pair.sign(&Sha512::digest(b"payload"));
        assert!(!key.verifies(b"payload", signature.as_ref()));
    }
}
