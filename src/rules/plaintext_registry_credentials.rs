use base64::Engine;
use serde_json::Value;

use super::{Context, Rule, RuleMeta};
use crate::finding::{Finding, Severity};
use crate::image_ref::is_templated;
use crate::model::Resource;
use crate::yaml::Node;

/// `plaintext-registry-credentials`: a `kubernetes.io/dockerconfigjson` or
/// `kubernetes.io/dockercfg` Secret whose `data` or `stringData` holds the registry
/// credentials in clear. See `rules/plaintext-registry-credentials.md`.
///
/// Nothing this rule writes may contain credential material: a finding names the Secret and,
/// when they can be read, the registries (the keys of `auths`), never a username, password,
/// `auth` string or token.
pub struct PlaintextRegistryCredentials;

static META: RuleMeta = RuleMeta {
    id: "plaintext-registry-credentials",
    default_severity: Severity::Error,
    summary: "Registry pull credentials are committed in clear in a Secret",
    page: include_str!("../../rules/plaintext-registry-credentials.md"),
    fixable: false,
    sensitive: true,
};

/// Secret types that hold a docker config, and the keys it is stored under.
const TYPES: [&str; 2] = ["kubernetes.io/dockerconfigjson", "kubernetes.io/dockercfg"];
const KEYS: [&str; 2] = [".dockerconfigjson", ".dockercfg"];

/// Fields of a docker config entry that hold a secret.
const SECRET_FIELDS: [&str; 4] = ["auth", "password", "identitytoken", "registrytoken"];

/// At most this many registries are named in a message.
const NAMED_REGISTRIES: usize = 3;

impl Rule for PlaintextRegistryCredentials {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, context: &Context<'_>, findings: &mut Vec<Finding>) {
        for (index, resource) in context.model.resources.iter().enumerate() {
            if !holds_docker_config(resource) {
                continue;
            }
            for field in ["data", "stringData"] {
                let Some(entries) = resource.node.get(field).and_then(Node::as_mapping) else {
                    continue;
                };
                for (key, value) in entries {
                    if !key.as_str().is_some_and(|k| KEYS.contains(&k)) {
                        continue;
                    }
                    let Some(text) = value.as_str() else {
                        continue;
                    };
                    let Some(registries) = in_clear(text, field == "data") else {
                        continue;
                    };
                    findings.push(finding(resource, index, key, &registries));
                }
            }
        }
    }
}

/// A core `v1` Secret of a docker config type that SOPS has not encrypted.
fn holds_docker_config(resource: &Resource<'_>) -> bool {
    resource.kind == "Secret"
        && resource.api_version == "v1"
        && resource
            .node
            .get("type")
            .and_then(Node::as_str)
            .is_some_and(|t| TYPES.contains(&t.trim()))
        // A SOPS-encrypted file carries its metadata in a top-level `sops` key.
        && resource.node.get("sops").is_none()
}

/// What a value tells about the registries it holds credentials for: `None` when it holds no
/// credential in clear (empty, encrypted by SOPS, a template placeholder, or a config without
/// a secret in it); otherwise the names of the registries that can be shown, and how many
/// entries could not be named (a config that does not parse counts as one).
fn in_clear(text: &str, base64: bool) -> Option<Registries> {
    let text = text.trim();
    if text.is_empty() || text.starts_with("ENC[") {
        return None;
    }
    let config = if base64 {
        let compact: String = text.split_ascii_whitespace().collect();
        base64::engine::general_purpose::STANDARD
            .decode(compact)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
    } else {
        Some(text.to_string())
    };
    let parsed = config
        .as_deref()
        .and_then(|c| serde_json::from_str::<Value>(c).ok());
    let Some(Value::Object(object)) = parsed else {
        // Not a docker config pinnace can read: a placeholder substituted at deploy time
        // holds nothing yet; anything else may well be a credential.
        if is_templated(text) || config.as_deref().is_some_and(is_templated) {
            return None;
        }
        return Some(Registries::unreadable());
    };
    // `.dockerconfigjson` nests entries under `auths`; the legacy `.dockercfg` is the map of
    // entries itself. Either shape is read under either key, so a config filed under the
    // other key is still seen.
    let entries = match object.get("auths") {
        Some(Value::Object(auths)) => auths,
        _ => &object,
    };
    let mut registries = Registries::default();
    for (name, entry) in entries {
        if !holds_secret(entry) {
            continue;
        }
        match displayable(name) {
            Some(name) => registries.named.push(name.to_string()),
            None => registries.unnamed += 1,
        }
    }
    (!registries.is_empty()).then_some(registries)
}

/// Whether a config entry holds a secret written out (not a placeholder).
fn holds_secret(entry: &Value) -> bool {
    entry.as_object().is_some_and(|fields| {
        fields.iter().any(|(field, value)| {
            SECRET_FIELDS.contains(&field.to_ascii_lowercase().as_str())
                && value
                    .as_str()
                    .is_some_and(|v| !v.trim().is_empty() && !is_templated(v))
        })
    })
}

/// A registry key as it may be shown: a host, `host:port` or URL made of the characters
/// those use, without user information.
fn displayable(name: &str) -> Option<&str> {
    let safe = |c: char| c.is_ascii_alphanumeric() || ".-_:/[]".contains(c);
    (!name.is_empty() && name.len() <= 255 && name.chars().all(safe)).then_some(name)
}

#[derive(Debug, Default, PartialEq, Eq)]
struct Registries {
    named: Vec<String>,
    unnamed: usize,
}

impl Registries {
    fn unreadable() -> Registries {
        Registries {
            named: Vec::new(),
            unnamed: 1,
        }
    }

    fn is_empty(&self) -> bool {
        self.named.is_empty() && self.unnamed == 0
    }

    /// ` for `a`, `b` and 2 more`, or nothing when no registry can be named.
    fn phrase(&self) -> String {
        if self.named.is_empty() {
            return String::new();
        }
        let mut names: Vec<String> = self
            .named
            .iter()
            .take(NAMED_REGISTRIES)
            .map(|name| format!("`{name}`"))
            .collect();
        let more = self.named.len() - names.len() + self.unnamed;
        if more > 0 {
            names.push(format!("{more} more"));
        }
        let last = names.pop().unwrap_or_default();
        if names.is_empty() {
            format!(" for {last}")
        } else {
            format!(" for {} and {last}", names.join(", "))
        }
    }
}

fn finding(resource: &Resource<'_>, index: usize, key: &Node, registries: &Registries) -> Finding {
    let secret = match resource.name {
        Some(name) => format!("Secret `{name}`"),
        None => "this Secret".to_string(),
    };
    Finding::new(
        &META,
        key.span,
        format!(
            "{secret} holds registry credentials{} in clear",
            registries.phrase()
        ),
    )
    .label("registry credentials committed in clear")
    .help(
        "commit a SealedSecret, an ExternalSecret or a SOPS-encrypted Secret instead, or create \
         the Secret in the cluster out of band (`kubectl create secret docker-registry`); and \
         rotate these credentials: git history keeps them",
    )
    .subject(resource.subject(), index)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(text: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(text)
    }

    fn named(names: &[&str]) -> Option<Registries> {
        Some(Registries {
            named: names.iter().map(|n| n.to_string()).collect(),
            unnamed: 0,
        })
    }

    const CONFIG: &str = r#"{"auths": {"ghcr.io": {"username": "bot", "password": "hunter2", "auth": "Ym90Omh1bnRlcjI="}, "registry.example.com:5000": {"auth": "eDp5"}}}"#;

    #[test]
    fn reads_registries_from_clear_and_base64_configs() {
        let both = named(&["ghcr.io", "registry.example.com:5000"]);
        assert_eq!(in_clear(CONFIG, false), both);
        assert_eq!(in_clear(&encode(CONFIG), true), both);
        // Wrapped base64, as kustomize's generators and some editors write it.
        let wrapped: String = encode(CONFIG)
            .as_bytes()
            .chunks(20)
            .map(|c| format!("{}\n", std::str::from_utf8(c).unwrap()))
            .collect();
        assert_eq!(in_clear(&wrapped, true), both);
        // Legacy `.dockercfg`: the entries without `auths`.
        let legacy = r#"{"https://index.docker.io/v1/": {"auth": "eDp5", "email": "a@b.c"}}"#;
        assert_eq!(
            in_clear(&encode(legacy), true),
            named(&["https://index.docker.io/v1/"])
        );
    }

    #[test]
    fn values_without_a_credential_in_clear_are_not_reported() {
        for text in [
            "",
            "  ",
            "ENC[AES256_GCM,data:abc=,iv:def=,tag:ghi=,type:str]",
            "${DOCKER_CONFIG_JSON}",
            "{{ .Values.pullSecret }}",
            r#"{"auths": {}}"#,
            r#"{"auths": {"ghcr.io": {"auth": "${GHCR_AUTH}"}}}"#,
            r#"{"auths": {"ghcr.io": {"username": "bot", "auth": ""}}}"#,
            r#"{"credHelpers": {"ghcr.io": "gh"}}"#,
        ] {
            assert_eq!(in_clear(text, false), None, "{text}");
        }
        assert_eq!(in_clear(&encode("${DOCKER_CONFIG_JSON}"), true), None);
    }

    #[test]
    fn an_unreadable_value_is_reported_without_names() {
        let unreadable = Some(Registries::unreadable());
        assert_eq!(in_clear("not base64!", true), unreadable);
        assert_eq!(in_clear(&encode("user:password"), true), unreadable);
        assert_eq!(in_clear("{not json", false), unreadable);
        assert_eq!(in_clear("{not json", false).unwrap().phrase(), "");
    }

    #[test]
    fn names_that_could_carry_secrets_are_not_shown() {
        let config = r#"{"auths": {"https://bot:hunter2@ghcr.io": {"auth": "eDp5"}, "quay.io": {"auth": "eDp5"}}}"#;
        let registries = in_clear(config, false).unwrap();
        assert_eq!(registries.named, ["quay.io"]);
        assert_eq!(registries.phrase(), " for `quay.io` and 1 more");
    }

    #[test]
    fn phrases_name_a_few_registries() {
        let phrase = |names: &[&str]| named(names).unwrap().phrase();
        assert_eq!(phrase(&[]), "");
        assert_eq!(phrase(&["a.io"]), " for `a.io`");
        assert_eq!(phrase(&["a.io", "b.io"]), " for `a.io` and `b.io`");
        assert_eq!(
            phrase(&["a.io", "b.io", "c.io"]),
            " for `a.io`, `b.io` and `c.io`"
        );
        assert_eq!(
            phrase(&["a.io", "b.io", "c.io", "d.io", "e.io"]),
            " for `a.io`, `b.io`, `c.io` and 2 more"
        );
    }
}
