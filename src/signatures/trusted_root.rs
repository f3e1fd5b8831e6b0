//! Sigstore's `trusted_root.json` (the `TrustedRoot` message of sigstore/protobuf-specs,
//! `protos/sigstore_trustroot.proto`, in its JSON form): the Fulcio certificate authorities
//! that issue signing certificates, the certificate transparency logs that vouch for them, and
//! the Rekor transparency logs and RFC 3161 timestamp authorities that prove when they signed,
//! each with the time span it may be trusted for. Read offline from the repository, as cosign's
//! `--trusted-root` reads it; refreshing it from Sigstore's TUF repository is the user's step.

use super::bundle::ChainJson;
use base64::Engine;
use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A trusted root is a few KiB; Sigstore's public-good one is about 7.
pub const MAX_TRUSTED_ROOT_BYTES: u64 = 1 << 20;

/// A certificate authority (Fulcio) or a timestamp authority: its chain (leaf-most first, the
/// root last) and when it may be trusted.
#[derive(Debug, Clone)]
pub struct CertificateAuthority {
    /// DER certificates, as the trusted root lists them: a Fulcio CA's intermediates, then its
    /// root; a timestamp authority's signing certificate, its intermediates, its root.
    pub chain: Vec<Vec<u8>>,
    pub valid: Validity,
}

/// A transparency log's key: entries name it by `key_id` (the SHA-256 of its DER key).
#[derive(Debug, Clone)]
pub struct LogKey {
    pub key_id: Vec<u8>,
    /// The SubjectPublicKeyInfo (DER).
    pub der: Vec<u8>,
    pub valid: Validity,
    /// The host of its `baseUrl`, which names the log in its checkpoints; empty when the root
    /// gives none.
    pub origin: String,
}

/// A `validFor` span in Unix seconds; an open end is `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Validity {
    pub start: i64,
    pub end: Option<i64>,
}

impl Validity {
    pub fn contains(&self, time: i64) -> bool {
        time >= self.start && self.end.is_none_or(|end| time <= end)
    }
}

/// What the root trusts.
#[derive(Debug, Clone, Default)]
pub struct TrustedRoot {
    pub authorities: Vec<CertificateAuthority>,
    pub logs: Vec<LogKey>,
    pub timestamp_authorities: Vec<CertificateAuthority>,
    /// Certificate transparency logs, whose SCTs a Fulcio certificate must carry.
    pub ct_logs: Vec<LogKey>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RootJson {
    #[serde(default)]
    tlogs: Vec<LogJson>,
    #[serde(default)]
    ctlogs: Vec<LogJson>,
    #[serde(default)]
    certificate_authorities: Vec<AuthorityJson>,
    #[serde(default)]
    timestamp_authorities: Vec<AuthorityJson>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LogJson {
    #[serde(default)]
    base_url: String,
    public_key: PublicKeyJson,
    log_id: LogIdJson,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PublicKeyJson {
    raw_bytes: String,
    valid_for: Option<ValidForJson>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LogIdJson {
    key_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuthorityJson {
    cert_chain: ChainJson,
    valid_for: Option<ValidForJson>,
}

#[derive(Deserialize)]
struct ValidForJson {
    start: Option<String>,
    end: Option<String>,
}

impl TrustedRoot {
    /// Parses a trusted root; the error says what is wrong, worded to follow the file's name.
    pub fn parse(bytes: &[u8]) -> Result<TrustedRoot, String> {
        let json: RootJson = serde_json::from_slice(bytes)
            .map_err(|e| format!("is not a Sigstore trusted_root.json: {e}"))?;
        let authorities =
            read_authorities(json.certificate_authorities, "a certificate authority")?;
        let timestamp_authorities =
            read_authorities(json.timestamp_authorities, "a timestamp authority")?;
        let logs = read_logs(json.tlogs, "a transparency log")?;
        let ct_logs = read_logs(json.ctlogs, "a certificate transparency log")?;
        if authorities.is_empty() {
            return Err("names no certificate authority (Fulcio)".to_string());
        }
        if logs.is_empty() && timestamp_authorities.is_empty() {
            return Err(
                "names no transparency log (Rekor) or timestamp authority, so nothing could prove when a certificate signed"
                    .to_string(),
            );
        }
        Ok(TrustedRoot {
            authorities,
            logs,
            timestamp_authorities,
            ct_logs,
        })
    }

    /// The log whose key id is `key_id`.
    pub fn log(&self, key_id: &[u8]) -> Option<&LogKey> {
        self.logs.iter().find(|log| log.key_id == key_id)
    }
}

/// The log keys of a `tlogs` or `ctlogs` list.
fn read_logs(list: Vec<LogJson>, what: &str) -> Result<Vec<LogKey>, String> {
    list.into_iter()
        .map(|log| {
            // The bundle spec's TimeRange: a log's `validFor` must say when it started.
            if log
                .public_key
                .valid_for
                .as_ref()
                .and_then(|v| v.start.as_ref())
                .is_none()
            {
                return Err(format!("has {what} without a `validFor.start`"));
            }
            // `https://host[:port][/path]` to `host`, as Go's `url.Hostname` gives it.
            let rest = log.base_url.split_once("://").map_or("", |(_, rest)| rest);
            let host = rest.split(['/', ':']).next().unwrap_or("");
            Ok(LogKey {
                key_id: decode(&log.log_id.key_id, &format!("{what}'s key id"))?,
                der: decode(&log.public_key.raw_bytes, &format!("{what}'s key"))?,
                valid: validity(log.public_key.valid_for.as_ref())?,
                origin: host.to_string(),
            })
        })
        .collect()
}

/// The authorities of a `certificateAuthorities` or `timestampAuthorities` list.
fn read_authorities(
    list: Vec<AuthorityJson>,
    what: &str,
) -> Result<Vec<CertificateAuthority>, String> {
    list.into_iter()
        .map(|ca| {
            let chain = ca
                .cert_chain
                .certificates
                .iter()
                .map(|c| decode(&c.raw_bytes, &format!("{what}'s certificate")))
                .collect::<Result<Vec<_>, _>>()?;
            if chain.is_empty() {
                return Err(format!("has {what} without certificates"));
            }
            Ok(CertificateAuthority {
                chain,
                valid: validity(ca.valid_for.as_ref())?,
            })
        })
        .collect()
}

fn decode(text: &str, what: &str) -> Result<Vec<u8>, String> {
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|_| format!("has {what} that is not base64"))
}

fn validity(valid_for: Option<&ValidForJson>) -> Result<Validity, String> {
    let parse = |text: &Option<String>| -> Result<Option<i64>, String> {
        text.as_deref()
            .map(|t| {
                OffsetDateTime::parse(t, &Rfc3339)
                    .map(|time| time.unix_timestamp())
                    .map_err(|_| format!("has a validFor time that is not RFC 3339 ({t})"))
            })
            .transpose()
    };
    Ok(Validity {
        start: parse(&valid_for.and_then(|v| v.start.clone()))?.unwrap_or(i64::MIN),
        end: parse(&valid_for.and_then(|v| v.end.clone()))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_root_needs_an_authority_and_a_log() {
        let log = r#"{"publicKey":{"rawBytes":"AAE=","validFor":{"start":"2021-01-12T11:53:27.000Z"}},"logId":{"keyId":"AQI="}}"#;
        let ca = r#"{"certChain":{"certificates":[{"rawBytes":"AwQ="}]},"validFor":{"start":"2022-04-13T20:06:15Z","end":"2031-10-05T13:56:58Z"}}"#;
        let root = TrustedRoot::parse(
            format!(r#"{{"tlogs":[{log}],"certificateAuthorities":[{ca}]}}"#).as_bytes(),
        )
        .unwrap();
        assert_eq!(root.logs[0].key_id, [1, 2]);
        assert_eq!(root.logs[0].valid.start, 1610452407);
        assert_eq!(root.authorities[0].chain, [vec![3, 4]]);
        assert!(root.authorities[0].valid.contains(1700000000));
        assert!(!root.authorities[0].valid.contains(2000000000));
        assert!(root.log(&[1, 2]).is_some());
        let error = TrustedRoot::parse(format!(r#"{{"tlogs":[{log}]}}"#).as_bytes()).unwrap_err();
        assert!(error.contains("no certificate authority"), "{error}");
        assert!(TrustedRoot::parse(b"[]").is_err());
        let bad_time = ca.replace("2022-04-13T20:06:15Z", "yesterday");
        let text = format!(r#"{{"tlogs":[{log}],"certificateAuthorities":[{bad_time}]}}"#);
        assert!(
            TrustedRoot::parse(text.as_bytes())
                .unwrap_err()
                .contains("RFC 3339")
        );
    }
}
