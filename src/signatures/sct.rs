//! Certificate transparency for Fulcio certificates: the signed certificate timestamps (SCTs,
//! RFC 6962 §3) a Fulcio certificate carries in its extension 1.3.6.1.4.1.11129.2.4.2 are a CT
//! log's promise that it logged the certificate, so a certificate issued in secret (by a
//! compromised CA) is caught. As sigstore-go and cosign require by default, one SCT must
//! verify under a CT log of the trusted root, at a time the root trusts that log for.
//!
//! An SCT signs the precertificate (RFC 6962 §3.2): the SHA-256 of the issuer's public key and
//! the certificate's TBS re-encoded without the SCT extension, which `precertificate_tbs`
//! rebuilds element by element.

use sha2::{Digest as _, Sha256};
use x509_parser::der_parser::asn1_rs::{Class, Tag};
use x509_parser::prelude::{FromDer, X509Certificate};

use super::der::{Elements, encode};
use super::keys::PublicKey;
use super::trusted_root::TrustedRoot;

/// The SCT list extension (RFC 6962 §3.3).
const SCT_LIST: &str = "1.3.6.1.4.1.11129.2.4.2";
/// SCTs looked at per certificate.
const MAX_SCTS: usize = 16;

/// Checks that `leaf` (DER) carries an SCT that verifies under a CT log of `root`; `issuer` is
/// the DER certificate that issued it. The error is worded to follow "a certificate ".
pub fn check_sct(leaf: &[u8], issuer: &[u8], root: &TrustedRoot) -> Result<(), String> {
    let unreadable = |why: &str| format!("whose certificate transparency cannot be read ({why})");
    let (_, certificate) = X509Certificate::from_der(leaf).map_err(|_| unreadable("not DER"))?;
    let (_, issuer) =
        X509Certificate::from_der(issuer).map_err(|_| unreadable("an issuer that is not DER"))?;
    let Some(extension) = certificate
        .extensions()
        .iter()
        .find(|e| e.oid.to_id_string() == SCT_LIST)
    else {
        return Err(
            "without a signed certificate timestamp, so no CT log of the trusted root vouches for it"
                .to_string(),
        );
    };
    let list = sct_list(extension.value).map_err(|why| unreadable(&why))?;
    let tbs =
        precertificate_tbs(certificate.tbs_certificate.as_ref()).map_err(|why| unreadable(&why))?;
    let issuer_key_hash: [u8; 32] = Sha256::digest(issuer.public_key().raw).into();
    let verified = list
        .iter()
        .filter_map(|bytes| Sct::parse(bytes))
        .any(|sct| sct.verifies(&issuer_key_hash, &tbs, root));
    if verified {
        Ok(())
    } else {
        Err(
            "whose signed certificate timestamps verify under no CT log of the trusted root"
                .to_string(),
        )
    }
}

/// The SCTs of the extension's value: an OCTET STRING holding a TLS `SignedCertificateTimestampList`
/// (a 2-byte length, then SCTs of a 2-byte length each).
fn sct_list(value: &[u8]) -> Result<Vec<&[u8]>, String> {
    let octets = Elements::within(value).next("SCT list")?;
    if octets.tag() != Tag::OctetString {
        return Err("an SCT list that is not an octet string".to_string());
    }
    let mut list = Tls::new(octets.data);
    let mut entries = Tls::new(list.vector(2).ok_or("a truncated SCT list")?);
    let mut scts = Vec::new();
    while !entries.is_empty() && scts.len() < MAX_SCTS {
        scts.push(entries.vector(2).ok_or("a truncated SCT")?);
    }
    Ok(scts)
}

/// The TBSCertificate `tbs` (DER) without its SCT extension, re-encoded.
fn precertificate_tbs(tbs: &[u8]) -> Result<Vec<u8>, String> {
    let mut fields = Elements::of(tbs, Tag::Sequence)?;
    let mut content = Vec::new();
    while !fields.is_empty() {
        let (field, raw) = fields.next_raw("certificate field")?;
        if field.class() != Class::ContextSpecific || field.tag() != Tag(3) {
            content.extend_from_slice(raw);
            continue;
        }
        let (_, sequence) = Elements::within(field.data).next_raw("extensions")?;
        let mut extensions = Elements::of(sequence, Tag::Sequence)?;
        let mut kept = Vec::new();
        while !extensions.is_empty() {
            let (_, extension) = extensions.next_raw("extension")?;
            let oid = Elements::of(extension, Tag::Sequence)?.oid("extension id")?;
            if oid.to_id_string() != SCT_LIST {
                kept.extend_from_slice(extension);
            }
        }
        content.extend(encode(0xa3, &encode(0x30, &kept)));
    }
    Ok(encode(0x30, &content))
}

/// A v1 SCT (RFC 6962 §3.2).
struct Sct<'a> {
    log_id: &'a [u8],
    timestamp: u64,
    extensions: &'a [u8],
    signature: &'a [u8],
}

impl<'a> Sct<'a> {
    fn parse(bytes: &'a [u8]) -> Option<Sct<'a>> {
        let mut tls = Tls::new(bytes);
        if tls.take(1)? != [0] {
            return None; // only v1 exists
        }
        let log_id = tls.take(32)?;
        let timestamp = u64::from_be_bytes(tls.take(8)?.try_into().ok()?);
        let extensions = tls.vector(2)?;
        // DigitallySigned: hash and signature algorithm (a byte each), then the signature.
        tls.take(2)?;
        let signature = tls.vector(2)?;
        tls.is_empty().then_some(Sct {
            log_id,
            timestamp,
            extensions,
            signature,
        })
    }

    /// Whether a CT log of `root`, trusted at the SCT's time, signed this SCT over the
    /// precertificate of `tbs` by the issuer of `issuer_key_hash`.
    fn verifies(&self, issuer_key_hash: &[u8; 32], tbs: &[u8], root: &TrustedRoot) -> bool {
        let Some(log) = root.ct_logs.iter().find(|log| log.key_id == self.log_id) else {
            return false;
        };
        let seconds = i64::try_from(self.timestamp / 1000).unwrap_or(i64::MAX);
        if !log.valid.contains(seconds) || tbs.len() >= 1 << 24 {
            return false;
        }
        let Some(key) = PublicKey::from_der("ct log", &log.der) else {
            return false;
        };
        let mut signed = vec![0, 0]; // v1, certificate_timestamp
        signed.extend(self.timestamp.to_be_bytes());
        signed.extend([0, 1]); // precert_entry
        signed.extend(issuer_key_hash);
        signed.extend(&(tbs.len() as u32).to_be_bytes()[1..]);
        signed.extend(tbs);
        signed.extend(&(self.extensions.len() as u16).to_be_bytes());
        signed.extend(self.extensions);
        key.verifies(&signed, self.signature)
    }
}

/// A reader of TLS presentation-language data (RFC 8446 §3): fixed fields and vectors with a
/// big-endian length prefix.
struct Tls<'a> {
    rest: &'a [u8],
}

impl<'a> Tls<'a> {
    fn new(bytes: &'a [u8]) -> Tls<'a> {
        Tls { rest: bytes }
    }

    fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    fn take(&mut self, count: usize) -> Option<&'a [u8]> {
        if self.rest.len() < count {
            return None;
        }
        let (taken, rest) = self.rest.split_at(count);
        self.rest = rest;
        Some(taken)
    }

    /// A vector whose length takes `width` bytes.
    fn vector(&mut self, width: usize) -> Option<&'a [u8]> {
        let length = self
            .take(width)?
            .iter()
            .fold(0usize, |length, byte| length << 8 | usize::from(*byte));
        self.take(length)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEAF: &[u8] = include_bytes!("../../testdata/signatures/fulcio/fulcio-leaf.der");
    const ISSUER: &[u8] = include_bytes!("../../testdata/signatures/fulcio/fulcio-root.der");

    fn root() -> TrustedRoot {
        TrustedRoot::parse(include_bytes!(
            "../../testdata/signatures/fulcio/trusted_root.json"
        ))
        .unwrap()
    }

    #[test]
    fn an_sct_of_a_ct_log_of_the_root_vouches_for_its_certificate() {
        assert_eq!(check_sct(LEAF, ISSUER, &root()), Ok(()));
        // Another issuer's key hash is another precertificate.
        let error = check_sct(LEAF, LEAF, &root()).unwrap_err();
        assert!(error.contains("verify under no CT log"), "{error}");
        let mut late = root();
        late.ct_logs[0].valid.start = i64::MAX;
        assert!(check_sct(LEAF, ISSUER, &late).is_err());
    }

    proptest::proptest! {
        /// A certificate altered anywhere never panics the SCT check.
        #[test]
        fn an_altered_certificate_never_panics(at in 0..LEAF.len(), mask in 1..=255u8) {
            let mut altered = LEAF.to_vec();
            altered[at] ^= mask;
            let _ = check_sct(&altered, ISSUER, &root());
        }
    }

    #[test]
    fn tls_vectors_are_read_within_their_bytes() {
        let mut tls = Tls::new(&[0, 2, 7, 8, 0, 5, 1]);
        assert_eq!(tls.vector(2), Some(&[7, 8][..]));
        assert_eq!(tls.vector(2), None, "a length past the end");
        assert!(Sct::parse(&[1; 60]).is_none(), "not v1");
        assert!(Sct::parse(&[0; 20]).is_none(), "truncated");
    }

    #[test]
    fn a_certificate_without_the_extension_has_no_sct() {
        // The timestamp authority's certificates of testdata/signatures/rfc3161 carry none.
        let root = TrustedRoot::parse(include_bytes!(
            "../../testdata/signatures/rfc3161/trusted_root.json"
        ))
        .unwrap();
        let chain = &root.timestamp_authorities[0].chain;
        let error = check_sct(&chain[0], &chain[1], &root).unwrap_err();
        assert!(
            error.starts_with("without a signed certificate timestamp"),
            "{error}"
        );
    }

    #[test]
    fn the_precertificate_drops_only_the_sct_extension() {
        // A TBS of one field and an extensions block [3] of two: basicConstraints and an SCT
        // list; the SCT list goes, the rest is re-encoded as it was.
        let basic = [
            0x30, 0x0c, 0x06, 0x03, 0x55, 0x1d, 0x13, 0x04, 0x05, 0x30, 0x03, 0x01, 0x01, 0xff,
        ];
        let mut sct = vec![0x30, 0x11, 0x06, 0x0a];
        sct.extend([0x2b, 0x06, 0x01, 0x04, 0x01, 0xd6, 0x79, 0x02, 0x04, 0x02]);
        sct.extend([0x04, 0x03, 0x04, 0x01, 0x00]);
        let extensions = encode(0xa3, &encode(0x30, &[&basic[..], &sct].concat()));
        let field = [0x02, 0x01, 0x05];
        let tbs = encode(0x30, &[&field[..], &extensions].concat());
        let expected = encode(
            0x30,
            &[&field[..], &encode(0xa3, &encode(0x30, &basic))].concat(),
        );
        assert_eq!(precertificate_tbs(&tbs).unwrap(), expected);
    }

    #[test]
    fn what_is_not_a_certificate_says_so() {
        let root = TrustedRoot::default();
        let error = check_sct(b"junk", b"junk", &root).unwrap_err();
        assert!(error.contains("cannot be read"), "{error}");
    }
}
