//! Fulcio signing certificates: the chain to a certificate authority of the trusted root, valid
//! at the signing time and for code signing (rustls-webpki), and who the certificate names — its
//! URI or email SAN and the OIDC issuer in Fulcio's extension (x509-parser). Fulcio's
//! certificate profile: sigstore/fulcio `docs/certificate-specification.md` and `docs/oid-info.md`.

use std::time::Duration;

use rustls_pki_types::{CertificateDer, UnixTime};
use webpki::{EndEntityCert, KeyUsage, anchor_from_trusted_cert};
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

use super::keys::PublicKey;
use super::trusted_root::TrustedRoot;

/// id-kp-codeSigning (1.3.6.1.5.5.7.3.3), DER without tag and length, as webpki wants it.
const CODE_SIGNING: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x03];
/// Fulcio's OIDC issuer extension, a DER UTF8String (v2) …
const ISSUER_V2: &str = "1.3.6.1.4.1.57264.1.8";
/// … and the deprecated one, the issuer's raw bytes (v1).
const ISSUER_V1: &str = "1.3.6.1.4.1.57264.1.1";

/// Signature schemes Fulcio, timestamp authorities and their intermediates sign certificates
/// with.
pub(super) static CHAIN_ALGORITHMS: &[&dyn rustls_pki_types::SignatureVerificationAlgorithm] = &[
    webpki::aws_lc_rs::ECDSA_P256_SHA256,
    webpki::aws_lc_rs::ECDSA_P256_SHA384,
    webpki::aws_lc_rs::ECDSA_P384_SHA256,
    webpki::aws_lc_rs::ECDSA_P384_SHA384,
    webpki::aws_lc_rs::ECDSA_P521_SHA512,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA256,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA384,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA512,
    webpki::aws_lc_rs::RSA_PSS_2048_8192_SHA256_LEGACY_KEY,
    webpki::aws_lc_rs::ED25519,
];

/// Who a certificate that chains to the trusted root was issued to.
#[derive(Debug)]
pub struct Signer {
    /// The URI or email SAN (the first one).
    pub identity: String,
    /// The OIDC issuer from Fulcio's extension; `None` when the certificate has none.
    pub issuer: Option<String>,
    /// The certificate's key, which the signature must verify under.
    pub key: PublicKey,
}

/// Why a certificate is not one to trust, worded to follow "a certificate ".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertificateFailure {
    /// Not a certificate pinnace can read, or a key of another kind.
    Unreadable(String),
    /// It chains to no certificate authority of the trusted root.
    Untrusted,
    /// It (or its chain) was not valid at the signing time.
    OutsideValidity,
    /// It is not for code signing.
    NotForCodeSigning,
}

impl CertificateFailure {
    pub fn describe(&self) -> String {
        match self {
            CertificateFailure::Unreadable(why) => format!("that cannot be read ({why})"),
            CertificateFailure::Untrusted => {
                "that chains to no certificate authority of the trusted root".to_string()
            }
            CertificateFailure::OutsideValidity => {
                "outside its validity at the time the transparency log or timestamp proves it signed".to_string()
            }
            CertificateFailure::NotForCodeSigning => {
                "without the code-signing extended key usage".to_string()
            }
        }
    }
}

/// Checks `leaf` (DER) against the authorities of `root` that were valid at `signed_at` (Unix
/// seconds), and returns the certificate that issued it. Only the trusted root's own
/// intermediates are used: a chain that came with the signature is not trusted to add any.
pub fn check_chain<'a>(
    leaf: &[u8],
    root: &'a TrustedRoot,
    signed_at: i64,
) -> Result<&'a [u8], CertificateFailure> {
    let der = CertificateDer::from(leaf);
    let end_entity =
        EndEntityCert::try_from(&der).map_err(|e| CertificateFailure::Unreadable(e.to_string()))?;
    let time = UnixTime::since_unix_epoch(Duration::from_secs(signed_at.max(0) as u64));
    let mut failure = CertificateFailure::Untrusted;
    for authority in root.authorities.iter() {
        let Some((anchor, intermediates)) = authority.chain.split_last() else {
            continue;
        };
        let anchor_der = CertificateDer::from(anchor.as_slice());
        let Ok(anchor) = anchor_from_trusted_cert(&anchor_der) else {
            continue;
        };
        let intermediates: Vec<CertificateDer<'_>> = intermediates
            .iter()
            .map(|c| CertificateDer::from(c.as_slice()))
            .collect();
        let anchors = [anchor];
        let verified = end_entity.verify_for_usage(
            CHAIN_ALGORITHMS,
            &anchors,
            &intermediates,
            time,
            KeyUsage::required(CODE_SIGNING),
            None,
            None,
        );
        failure = match verified.map(|_| ()) {
            Ok(()) if authority.valid.contains(signed_at) => {
                return issuer_of(leaf, &authority.chain).ok_or(CertificateFailure::Untrusted);
            }
            Ok(()) => CertificateFailure::OutsideValidity,
            Err(error) => failure.max_with(chain_failure(&error)),
        };
    }
    Err(failure)
}

/// The certificate of `chain` whose subject is `leaf`'s issuer.
fn issuer_of<'a>(leaf: &[u8], chain: &'a [Vec<u8>]) -> Option<&'a [u8]> {
    let (_, leaf) = X509Certificate::from_der(leaf).ok()?;
    chain.iter().map(Vec::as_slice).find(|candidate| {
        X509Certificate::from_der(candidate)
            .is_ok_and(|(_, c)| c.subject().as_raw() == leaf.issuer().as_raw())
    })
}

impl CertificateFailure {
    /// The more telling of two failures: one that got further along the chain.
    fn max_with(self, other: CertificateFailure) -> CertificateFailure {
        let rank = |f: &CertificateFailure| match f {
            CertificateFailure::Untrusted => 0,
            CertificateFailure::Unreadable(_) => 1,
            CertificateFailure::NotForCodeSigning => 2,
            CertificateFailure::OutsideValidity => 3,
        };
        if rank(&other) > rank(&self) {
            other
        } else {
            self
        }
    }
}

fn chain_failure(error: &webpki::Error) -> CertificateFailure {
    use webpki::Error;
    match error {
        Error::CertExpired { .. } | Error::CertNotValidYet { .. } => {
            CertificateFailure::OutsideValidity
        }
        Error::RequiredEkuNotFoundContext(_) => CertificateFailure::NotForCodeSigning,
        _ => CertificateFailure::Untrusted,
    }
}

/// The SAN, issuer and key of a certificate (trusted only once [`check_chain`] accepts it).
pub fn read_leaf(leaf: &[u8]) -> Result<Signer, CertificateFailure> {
    let unreadable = |why: &str| CertificateFailure::Unreadable(why.to_string());
    let (_, certificate) =
        X509Certificate::from_der(leaf).map_err(|_| unreadable("not DER X.509"))?;
    let identity = certificate
        .subject_alternative_name()
        .ok()
        .flatten()
        .and_then(|san| {
            san.value.general_names.iter().find_map(|name| match name {
                GeneralName::URI(uri) => Some(uri.to_string()),
                GeneralName::RFC822Name(email) => Some(email.to_string()),
                _ => None,
            })
        })
        .ok_or_else(|| unreadable("no URI or email subject alternative name"))?;
    let key = PublicKey::from_der(&identity, certificate.public_key().raw)
        .ok_or_else(|| unreadable("a key of a kind pinnace does not verify"))?;
    Ok(Signer {
        identity,
        issuer: issuer(&certificate),
        key,
    })
}

/// The OIDC issuer of a Fulcio certificate: the v2 extension, else the deprecated v1 one.
fn issuer(certificate: &X509Certificate<'_>) -> Option<String> {
    let extension = |oid: &str| {
        certificate
            .extensions()
            .iter()
            .find(|e| e.oid.to_id_string() == oid)
            .map(|e| e.value)
    };
    if let Some(value) = extension(ISSUER_V2) {
        let (_, text) = x509_parser::der_parser::der::parse_der_utf8string(value).ok()?;
        return text.as_str().ok().map(str::to_string);
    }
    let raw = extension(ISSUER_V1)?;
    String::from_utf8(raw.to_vec()).ok()
}
