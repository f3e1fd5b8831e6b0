//! RFC 3161 timestamps: a timestamp authority's signed statement that a signature existed at a
//! time, which proves a keyless signing time where no transparency log does (GitHub's artifact
//! attestations of private repositories carry only these). A Sigstore bundle holds the TSA's DER
//! `TimeStampResp` (RFC 3161 §2.4.2) in `timestampVerificationData.rfc3161Timestamps`.
//!
//! What is checked, as sigstore-go and sigstore-js check it: the token is CMS `SignedData`
//! (RFC 5652 §5) over a `TSTInfo` (RFC 3161 §2.4.2); its message imprint is the hash of the
//! signature bytes; its signed attributes name the `TSTInfo` content type and carry the
//! `TSTInfo`'s digest; they are signed by the leaf of a timestamp authority of the trusted root,
//! whose chain was valid at `genTime` for time stamping; and the authority's own `validFor`
//! span holds `genTime`. Only the trusted root's certificates are used, never those the token
//! brings. The ESS signing-certificate attribute is not checked: the signature under the trusted
//! leaf's key is what binds the token to its authority.
//!
//! The DER is read one element at a time (`der.rs`); the cryptography is rustls-webpki's over
//! aws-lc-rs.

use std::time::Duration;

use rustls_pki_types::{CertificateDer, SignatureVerificationAlgorithm, UnixTime};
use sha2::{Digest as _, Sha256, Sha384, Sha512};
use webpki::{EndEntityCert, KeyUsage, anchor_from_trusted_cert};
use x509_parser::der_parser::asn1_rs::{GeneralizedTime, Oid, Tag};
use x509_parser::prelude::{FromDer, X509Certificate};

use super::der::{Elements, encode};
use super::trusted_root::{CertificateAuthority, TrustedRoot};

/// id-kp-timeStamping (1.3.6.1.5.5.7.3.8), DER without tag and length, as webpki wants it.
const TIME_STAMPING: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x08];
const SIGNED_DATA: &str = "1.2.840.113549.1.7.2";
const TST_INFO: &str = "1.2.840.113549.1.9.16.1.4";
const CONTENT_TYPE_ATTRIBUTE: &str = "1.2.840.113549.1.9.3";
const MESSAGE_DIGEST_ATTRIBUTE: &str = "1.2.840.113549.1.9.4";

/// Verifies `response` as a timestamp of `signature` under the timestamp authorities of `root`;
/// the time it proves (Unix seconds), or what is wrong, worded to follow "its RFC 3161
/// timestamp ".
pub fn verify_timestamp(
    response: &[u8],
    signature: &[u8],
    root: &TrustedRoot,
) -> Result<i64, String> {
    let token = read_token(response).map_err(|why| format!("cannot be read ({why})"))?;
    let info = read_tst_info(token.tst_info).map_err(|why| format!("cannot be read ({why})"))?;
    if info.imprint_algorithm.digest(signature).as_deref() != Some(info.imprint) {
        return Err("is of other bytes than the signature".to_string());
    }
    check_signed_attributes(&token)?;
    let mut failure = "is signed by no timestamp authority of the trusted root".to_string();
    for authority in &root.timestamp_authorities {
        let Some(leaf) = authority.chain.first() else {
            continue;
        };
        if !signed_by(&token, leaf) {
            continue;
        }
        match check_authority(authority, info.time) {
            Ok(()) => return Ok(info.time),
            Err(why) => failure = why,
        }
    }
    Err(failure)
}

/// The parts of a timestamp token the checks read.
struct Token<'a> {
    /// The DER `TSTInfo` (the encapsulated content).
    tst_info: &'a [u8],
    digest_algorithm: HashAlgorithm,
    /// The signed attributes' content (the `[0] IMPLICIT SET OF Attribute`'s value).
    signed_attributes: &'a [u8],
    signature: &'a [u8],
}

/// What a `TSTInfo` says.
struct TstInfo<'a> {
    imprint_algorithm: HashAlgorithm,
    imprint: &'a [u8],
    /// `genTime`, Unix seconds.
    time: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HashAlgorithm {
    Sha256,
    Sha384,
    Sha512,
    Other,
}

impl HashAlgorithm {
    fn from_oid(oid: &Oid<'_>) -> HashAlgorithm {
        match oid.to_id_string().as_str() {
            "2.16.840.1.101.3.4.2.1" => HashAlgorithm::Sha256,
            "2.16.840.1.101.3.4.2.2" => HashAlgorithm::Sha384,
            "2.16.840.1.101.3.4.2.3" => HashAlgorithm::Sha512,
            _ => HashAlgorithm::Other,
        }
    }

    fn digest(self, bytes: &[u8]) -> Option<Vec<u8>> {
        match self {
            HashAlgorithm::Sha256 => Some(Sha256::digest(bytes).to_vec()),
            HashAlgorithm::Sha384 => Some(Sha384::digest(bytes).to_vec()),
            HashAlgorithm::Sha512 => Some(Sha512::digest(bytes).to_vec()),
            HashAlgorithm::Other => None,
        }
    }

    /// The signature schemes of a signer that hashes with this algorithm (the key decides
    /// which one applies).
    fn schemes(self) -> &'static [&'static dyn SignatureVerificationAlgorithm] {
        match self {
            HashAlgorithm::Sha256 => SHA256_SCHEMES,
            HashAlgorithm::Sha384 => SHA384_SCHEMES,
            HashAlgorithm::Sha512 => SHA512_SCHEMES,
            HashAlgorithm::Other => &[],
        }
    }
}

static SHA256_SCHEMES: &[&dyn SignatureVerificationAlgorithm] = &[
    webpki::aws_lc_rs::ECDSA_P256_SHA256,
    webpki::aws_lc_rs::ECDSA_P384_SHA256,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA256,
    webpki::aws_lc_rs::RSA_PSS_2048_8192_SHA256_LEGACY_KEY,
];
static SHA384_SCHEMES: &[&dyn SignatureVerificationAlgorithm] = &[
    webpki::aws_lc_rs::ECDSA_P256_SHA384,
    webpki::aws_lc_rs::ECDSA_P384_SHA384,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA384,
    webpki::aws_lc_rs::RSA_PSS_2048_8192_SHA384_LEGACY_KEY,
];
static SHA512_SCHEMES: &[&dyn SignatureVerificationAlgorithm] = &[
    webpki::aws_lc_rs::ECDSA_P521_SHA512,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA512,
    webpki::aws_lc_rs::RSA_PSS_2048_8192_SHA512_LEGACY_KEY,
];

/// The `SignedData` of a `TimeStampResp` whose status grants it (or of a bare token).
fn read_token(response: &[u8]) -> Result<Token<'_>, String> {
    let mut outer = Elements::of(response, Tag::Sequence)?;
    let (first, first_raw) = outer.next_raw("status")?;
    let content_info = if first.tag() == Tag::Oid {
        // A bare TimeStampToken (ContentInfo) rather than a response.
        response
    } else {
        let mut status = Elements::of(first_raw, Tag::Sequence)?;
        let granted = status.next("status")?;
        // granted (0) or grantedWithMods (1).
        if !matches!(granted.data, [0] | [1]) {
            return Err("a response that grants no timestamp".to_string());
        }
        outer.next_raw("timestamp token")?.1
    };
    let mut info = Elements::of(content_info, Tag::Sequence)?;
    if info.oid("content type")?.to_id_string() != SIGNED_DATA {
        return Err("a token that is not CMS SignedData".to_string());
    }
    let explicit = info.context(0).ok_or("a token without content")?;
    let mut signed_data = Elements::of(explicit.data, Tag::Sequence)?;
    signed_data.next("version")?;
    signed_data.next("digest algorithms")?;
    let (_, encapsulated) = signed_data.next_raw("encapsulated content")?;
    let tst_info = encapsulated_tst_info(encapsulated)?;
    signed_data.context(0); // certificates: the trusted root's are used instead
    signed_data.context(1); // revocation lists
    let (_, signer_infos) = signed_data.next_raw("signer infos")?;
    let mut signers = Elements::of(signer_infos, Tag::Set)?;
    let (_, signer) = signers.next_raw("signer info")?;
    let mut signer = Elements::of(signer, Tag::Sequence)?;
    signer.next("version")?;
    signer.next("signer identifier")?;
    let digest_algorithm = HashAlgorithm::from_oid(&signer.algorithm("digest algorithm")?);
    let signed_attributes = signer
        .context(0)
        .ok_or("a signer without signed attributes")?
        .data;
    signer.algorithm("signature algorithm")?;
    let signature = signer.next("signature")?;
    if signature.tag() != Tag::OctetString {
        return Err("a signature that is not an octet string".to_string());
    }
    Ok(Token {
        tst_info,
        digest_algorithm,
        signed_attributes,
        signature: signature.data,
    })
}

/// The `TSTInfo` DER inside an `EncapsulatedContentInfo`.
fn encapsulated_tst_info(encapsulated: &[u8]) -> Result<&[u8], String> {
    let mut content = Elements::of(encapsulated, Tag::Sequence)?;
    if content.oid("content type")?.to_id_string() != TST_INFO {
        return Err("a token whose content is not a TSTInfo".to_string());
    }
    let explicit = content.context(0).ok_or("a token without a TSTInfo")?;
    let octets = Elements::within(explicit.data).next("TSTInfo")?;
    if octets.tag() != Tag::OctetString || octets.header.is_constructed() {
        return Err("a TSTInfo that is not in an octet string".to_string());
    }
    Ok(octets.data)
}

fn read_tst_info(der: &[u8]) -> Result<TstInfo<'_>, String> {
    let mut info = Elements::of(der, Tag::Sequence)?;
    info.next("version")?;
    info.oid("policy")?;
    let (_, imprint) = info.next_raw("message imprint")?;
    let mut imprint = Elements::of(imprint, Tag::Sequence)?;
    let imprint_algorithm = HashAlgorithm::from_oid(&imprint.algorithm("hash algorithm")?);
    let hashed = imprint.next("hashed message")?;
    info.next("serial number")?;
    let time = GeneralizedTime::try_from(info.next("time")?)
        .ok()
        .and_then(|time| time.utc_datetime().ok())
        .ok_or("a genTime that is not a GeneralizedTime")?;
    Ok(TstInfo {
        imprint_algorithm,
        imprint: hashed.data,
        time: time.unix_timestamp(),
    })
}

/// The signed attributes must say the content is a `TSTInfo` and carry its digest: they are
/// what the authority signs, so they are what ties its signature to this `TSTInfo`.
fn check_signed_attributes(token: &Token<'_>) -> Result<(), String> {
    let unreadable = |why: String| format!("cannot be read ({why})");
    let mut attributes = Elements::within(token.signed_attributes);
    let (mut content_type, mut digest) = (None, None);
    while !attributes.is_empty() {
        let (_, raw) = attributes.next_raw("attribute").map_err(unreadable)?;
        let mut attribute = Elements::of(raw, Tag::Sequence).map_err(unreadable)?;
        let kind = attribute.oid("attribute type").map_err(unreadable)?;
        let (_, values) = attribute.next_raw("attribute values").map_err(unreadable)?;
        let mut values = Elements::of(values, Tag::Set).map_err(unreadable)?;
        let value = values.next("attribute value").map_err(unreadable)?;
        match kind.to_id_string().as_str() {
            CONTENT_TYPE_ATTRIBUTE => content_type = Oid::try_from(value).ok(),
            MESSAGE_DIGEST_ATTRIBUTE => digest = Some(value.data),
            _ => {}
        }
    }
    if content_type.map(|oid| oid.to_id_string()).as_deref() != Some(TST_INFO) {
        return Err("does not sign its content as a TSTInfo".to_string());
    }
    if digest != token.digest_algorithm.digest(token.tst_info).as_deref() {
        return Err("signs another TSTInfo than the one it holds".to_string());
    }
    Ok(())
}

/// Whether the signed attributes verify under `leaf`'s key. CMS signs their DER with the
/// universal SET tag in place of the `[0] IMPLICIT` one (RFC 5652 §5.4).
fn signed_by(token: &Token<'_>, leaf: &[u8]) -> bool {
    let der = CertificateDer::from(leaf);
    let Ok(leaf) = EndEntityCert::try_from(&der) else {
        return false;
    };
    let message = encode(0x31, token.signed_attributes);
    token.digest_algorithm.schemes().iter().any(|scheme| {
        leaf.verify_signature(*scheme, &message, token.signature)
            .is_ok()
    })
}

/// The authority's chain (leaf first, its root last) for time stamping at `time`, and its
/// `validFor` span, must hold `time`.
fn check_authority(authority: &CertificateAuthority, time: i64) -> Result<(), String> {
    if !authority.valid.contains(time) {
        return Err("is from a time the trusted root does not trust its authority for".to_string());
    }
    let outside = || "is from a time outside its authority's certificate validity".to_string();
    let [leaf, intermediates @ .., anchor] = authority.chain.as_slice() else {
        // A single certificate: trusted as the root lists it, within its validity.
        let (_, leaf) = X509Certificate::from_der(&authority.chain[0])
            .map_err(|_| "names an authority whose certificate cannot be read".to_string())?;
        let at = x509_parser::time::ASN1Time::from_timestamp(time).map_err(|_| outside())?;
        return leaf
            .validity()
            .is_valid_at(at)
            .then_some(())
            .ok_or_else(outside);
    };
    let leaf_der = CertificateDer::from(leaf.as_slice());
    let leaf = EndEntityCert::try_from(&leaf_der)
        .map_err(|_| "names an authority whose certificate cannot be read".to_string())?;
    let anchor_der = CertificateDer::from(anchor.as_slice());
    let anchor = anchor_from_trusted_cert(&anchor_der)
        .map_err(|_| "names an authority whose root cannot be read".to_string())?;
    let intermediates: Vec<CertificateDer<'_>> = intermediates
        .iter()
        .map(|c| CertificateDer::from(c.as_slice()))
        .collect();
    let at = UnixTime::since_unix_epoch(Duration::from_secs(time.max(0) as u64));
    leaf.verify_for_usage(
        super::certificate::CHAIN_ALGORITHMS,
        &[anchor],
        &intermediates,
        at,
        KeyUsage::required(TIME_STAMPING),
        None,
        None,
    )
    .map(|_| ())
    .map_err(|error| match error {
        webpki::Error::CertExpired { .. } | webpki::Error::CertNotValidYet { .. } => outside(),
        webpki::Error::RequiredEkuNotFoundContext(_) => {
            "names an authority whose certificate is not for time stamping".to_string()
        }
        _ => "names an authority whose chain does not verify".to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const RESPONSE: &[u8] = include_bytes!("../../testdata/signatures/rfc3161/response.der");
    const SIGNATURE: &[u8] = include_bytes!("../../testdata/signatures/rfc3161/signature.bin");
    /// genTime of RESPONSE, 2026-12-02T04:42:49.238Z.
    const STAMPED_AT: i64 = 1796186569;

    fn root() -> TrustedRoot {
        TrustedRoot::parse(include_bytes!(
            "../../testdata/signatures/rfc3161/trusted_root.json"
        ))
        .unwrap()
    }

    #[test]
    fn a_timestamp_of_the_signature_proves_its_time() {
        assert_eq!(
            verify_timestamp(RESPONSE, SIGNATURE, &root()),
            Ok(STAMPED_AT)
        );
        let error = verify_timestamp(RESPONSE, b"another signature", &root()).unwrap_err();
        assert_eq!(error, "is of other bytes than the signature");
    }

    #[test]
    fn an_authority_outside_its_valid_span_proves_nothing() {
        let mut root = root();
        root.timestamp_authorities[0].valid.start = STAMPED_AT + 1;
        let error = verify_timestamp(RESPONSE, SIGNATURE, &root).unwrap_err();
        assert!(
            error.contains("does not trust its authority for"),
            "{error}"
        );
        root.timestamp_authorities.clear();
        let error = verify_timestamp(RESPONSE, SIGNATURE, &root).unwrap_err();
        assert!(error.contains("no timestamp authority"), "{error}");
    }

    proptest! {
        /// A timestamp altered anywhere never panics, and never proves another time: the time is
        /// under the authority's signature.
        #[test]
        fn an_altered_timestamp_proves_no_other_time(
            at in 0..RESPONSE.len(),
            mask in 1..=255u8,
            cut in 0..RESPONSE.len(),
        ) {
            let mut altered = RESPONSE.to_vec();
            altered[at] ^= mask;
            let proven = verify_timestamp(&altered, SIGNATURE, &root());
            prop_assert!(proven.is_err() || proven == Ok(STAMPED_AT), "{proven:?}");
            let truncated = verify_timestamp(&RESPONSE[..cut], SIGNATURE, &root());
            prop_assert!(truncated.is_err());
        }
    }

    #[test]
    fn what_is_not_a_timestamp_response_cannot_be_read() {
        let root = TrustedRoot::default();
        for bytes in [
            &b""[..],
            b"\x30\x00",
            b"\x30\x03\x02\x01\x02",
            b"\x04\x00",
            b"junk",
        ] {
            let error = verify_timestamp(bytes, b"signature", &root).unwrap_err();
            assert!(error.starts_with("cannot be read"), "{bytes:?}: {error}");
        }
        // A status of rejection (2) grants nothing.
        let rejected = b"\x30\x05\x30\x03\x02\x01\x02";
        let error = verify_timestamp(rejected, b"signature", &root).unwrap_err();
        assert!(error.contains("grants no timestamp"), "{error}");
    }
}
