//! `plaintext-registry-credentials` through the real binary: which Secrets it reports, where,
//! and that no output format gives away the credentials it reports.

mod common;

use base64::Engine;
use common::{run, tree};
use serde_json::Value;
use tempfile::TempDir;

const USERNAME: &str = "ci-puller-7f3a";
const PASSWORD: &str = "pw-Zq8vK2mN5rT";
const RULE: &str = "plaintext-registry-credentials";

fn b64(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

/// The `auth` string of the test credential: base64 of `user:password`.
fn auth() -> String {
    b64(&format!("{USERNAME}:{PASSWORD}"))
}

/// A `.dockerconfigjson` with the test credential for two registries.
fn docker_config() -> String {
    format!(
        r#"{{"auths":{{"ghcr.io":{{"username":"{USERNAME}","password":"{PASSWORD}","auth":"{}"}},"registry.example.com:5000":{{"auth":"{}"}}}}}}"#,
        auth(),
        auth()
    )
}

/// A legacy `.dockercfg`: the entries without `auths`.
fn legacy_config() -> String {
    format!(
        r#"{{"https://index.docker.io/v1/":{{"auth":"{}","email":"ci@example.com"}}}}"#,
        auth()
    )
}

/// Every string that would give the credential away, for the leak checks.
fn secrets() -> Vec<String> {
    vec![
        USERNAME.to_string(),
        PASSWORD.to_string(),
        auth(),
        b64(&docker_config()),
        b64(&legacy_config()),
    ]
}

fn secret(name: &str, kind: &str, body: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n  namespace: shop\ntype: {kind}\n{body}"
    )
}

/// Files with credentials in clear (reported) and in every safe form (not reported).
fn fixtures() -> TempDir {
    let data = secret(
        "regcred",
        "kubernetes.io/dockerconfigjson",
        &format!("data:\n  .dockerconfigjson: {}\n", b64(&docker_config())),
    );
    // stringData, inline and as a block scalar (pretty JSON over several lines).
    let string_inline = secret(
        "regcred-inline",
        "kubernetes.io/dockerconfigjson",
        &format!("stringData:\n  .dockerconfigjson: '{}'\n", docker_config()),
    );
    let pretty =
        serde_json::to_string_pretty(&serde_json::from_str::<Value>(&docker_config()).unwrap())
            .unwrap()
            .lines()
            .map(|line| format!("    {line}\n"))
            .collect::<String>();
    let string_block = secret(
        "regcred-block",
        "kubernetes.io/dockerconfigjson",
        &format!("stringData:\n  .dockerconfigjson: |\n{pretty}"),
    );
    let dockercfg = secret(
        "legacy",
        "kubernetes.io/dockercfg",
        &format!("data:\n  .dockercfg: {}\n", b64(&legacy_config())),
    );

    let sealed = "\
apiVersion: bitnami.com/v1alpha1
kind: SealedSecret
metadata:
  name: regcred
  namespace: shop
spec:
  encryptedData:
    .dockerconfigjson: AgBy3i4OJSWK+PiTySYZZA9rO43cGDEqAgBy3i4OJSWK
  template:
    type: kubernetes.io/dockerconfigjson
";
    let sops = secret(
        "regcred-sops",
        "kubernetes.io/dockerconfigjson",
        "data:\n  .dockerconfigjson: ENC[AES256_GCM,data:pJXcmkU2DVl0Q3m1,iv:1xZ6X0uJ5Hn8,tag:Qm9P3LZp,type:str]\n\
         sops:\n  lastmodified: \"2025-01-01T00:00:00Z\"\n  version: 3.9.0\n",
    );
    // A top-level `sops` key says the file is encrypted, whatever a value looks like.
    let sops_partial = secret(
        "regcred-sops-partial",
        "kubernetes.io/dockerconfigjson",
        "data:\n  .dockerconfigjson: QUJDREVGR0g=\nsops:\n  version: 3.9.0\n",
    );
    let external = "\
apiVersion: external-secrets.io/v1beta1
kind: ExternalSecret
metadata:
  name: regcred
spec:
  secretStoreRef: {name: vault, kind: ClusterSecretStore}
  target:
    template:
      type: kubernetes.io/dockerconfigjson
      data:
        .dockerconfigjson: '{{ .config | toString }}'
  data:
  - secretKey: config
    remoteRef: {key: registry/ghcr}
";
    // The same value in a Secret that is not a pull secret: other rules' business.
    let opaque = secret(
        "not-a-pull-secret",
        "Opaque",
        &format!("data:\n  .dockerconfigjson: {}\n", b64(&docker_config())),
    );
    let placeholder = secret(
        "regcred-flux",
        "kubernetes.io/dockerconfigjson",
        "stringData:\n  .dockerconfigjson: ${GHCR_DOCKER_CONFIG}\n",
    );
    tree(&[
        ("clear/data.yaml", &data),
        ("clear/string-inline.yaml", &string_inline),
        ("clear/string-block.yaml", &string_block),
        ("clear/dockercfg.yaml", &dockercfg),
        ("safe/sealed.yaml", sealed),
        ("safe/sops.yaml", &sops),
        ("safe/sops-partial.yaml", &sops_partial),
        ("safe/external.yaml", external),
        ("safe/opaque.yaml", &opaque),
        ("safe/placeholder.yaml", &placeholder),
    ])
}

fn check_json(dir: &std::path::Path, args: &[&str]) -> Vec<Value> {
    let output = run(dir, &[&["check", "--format", "json"], args].concat());
    assert!(
        matches!(output.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    report["findings"].as_array().unwrap().clone()
}

#[test]
fn clear_credentials_are_reported_at_their_key() {
    let dir = fixtures();
    let findings = check_json(dir.path(), &["clear"]);
    let found: Vec<(String, String, u64, u64, String)> = findings
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["path"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
                f["column"].as_u64().unwrap(),
                f["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let both = "for `ghcr.io` and `registry.example.com:5000` in clear";
    let expected = [
        (
            "clear/data.yaml",
            8,
            3,
            format!("Secret `regcred` holds registry credentials {both}"),
        ),
        (
            "clear/dockercfg.yaml",
            8,
            3,
            "Secret `legacy` holds registry credentials for `https://index.docker.io/v1/` in clear"
                .to_string(),
        ),
        (
            "clear/string-block.yaml",
            8,
            3,
            format!("Secret `regcred-block` holds registry credentials {both}"),
        ),
        (
            "clear/string-inline.yaml",
            8,
            3,
            format!("Secret `regcred-inline` holds registry credentials {both}"),
        ),
    ];
    let expected: Vec<(String, String, u64, u64, String)> = expected
        .into_iter()
        .map(|(path, line, column, message)| {
            (RULE.to_string(), path.to_string(), line, column, message)
        })
        .collect();
    assert_eq!(found, expected);

    for finding in &findings {
        assert_eq!(finding["severity"], "error");
        assert_eq!(finding["label"], "registry credentials committed in clear");
        let help = finding["help"].as_str().unwrap();
        for way in ["SealedSecret", "ExternalSecret", "SOPS", "out of band"] {
            assert!(help.contains(way), "{help}");
        }
        // The span is the key, nothing of the value.
        let key_length = if finding["path"] == "clear/dockercfg.yaml" {
            ".dockercfg".len()
        } else {
            ".dockerconfigjson".len()
        };
        assert_eq!(finding["byte_length"].as_u64(), Some(key_length as u64));
        assert_eq!(finding["end_line"], finding["line"]);
        assert_eq!(finding["resource"]["kind"], "Secret");
        assert_eq!(finding["resource"]["namespace"], "shop");
        assert!(finding["resource"]["name"].is_string());
        assert_eq!(finding["image"], Value::Null);
        assert_eq!(finding["container"], Value::Null);
    }
}

#[test]
fn sealed_sops_external_opaque_and_placeholder_secrets_are_not_reported() {
    let dir = fixtures();
    let findings = check_json(dir.path(), &["safe"]);
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn a_finding_can_be_suppressed_on_the_secret() {
    let config = b64(&docker_config());
    let annotated = format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: regcred\n  annotations:\n    pinnace.dev/ignore: {RULE}\ntype: kubernetes.io/dockerconfigjson\ndata:\n  .dockerconfigjson: {config}\n"
    );
    let commented = format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: regcred\ntype: kubernetes.io/dockerconfigjson\ndata:\n  # pinnace:ignore {RULE} -- test cluster only\n  .dockerconfigjson: {config}\n"
    );
    let dir = tree(&[
        ("annotated.yaml", &annotated),
        ("commented.yaml", &commented),
    ]);
    assert!(check_json(dir.path(), &[]).is_empty());
}

/// stdout and stderr of `check --format FORMAT` on the files with clear credentials.
fn output_of(dir: &std::path::Path, format: &str) -> String {
    let output = run(
        dir,
        &["check", "--format", format, "--color", "never", "clear"],
    );
    assert_eq!(output.status.code(), Some(1), "{format}");
    let mut text = String::from_utf8(output.stdout).unwrap();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    assert!(text.contains(RULE), "{format}: {text}");
    text
}

fn assert_no_secret(format: &str, text: &str) {
    for secret in secrets() {
        assert!(
            !text.contains(&secret),
            "{format} output shows credential material `{secret}`:\n{text}"
        );
    }
}

/// What the rule itself writes (message, label, help, subject) never holds credential
/// material, in any format. The source line that human and SARIF output quote is checked
/// by the next test.
#[test]
fn no_format_shows_credentials_in_what_the_rule_writes() {
    let dir = fixtures();
    for format in ["json", "github"] {
        assert_no_secret(format, &output_of(dir.path(), format));
    }
    // Human output without the quoted source lines (`NN │ …`).
    let human: String = output_of(dir.path(), "human")
        .lines()
        .filter(|line| {
            let gutter = line.trim_start();
            !(gutter.starts_with(|c: char| c.is_ascii_digit()) && gutter.contains(" │ "))
        })
        .map(|line| format!("{line}\n"))
        .collect();
    assert!(human.contains("registry credentials committed in clear"));
    assert_no_secret("human", &human);
    // SARIF without `region.snippet`.
    let mut sarif: Value = serde_json::from_str(&output_of(dir.path(), "sarif")).unwrap();
    for result in sarif["runs"][0]["results"].as_array_mut().unwrap() {
        for location in result["locations"].as_array_mut().unwrap() {
            let region = &mut location["physicalLocation"]["region"];
            region.as_object_mut().unwrap().remove("snippet");
        }
    }
    assert_no_secret("sarif", &sarif.to_string());
}

/// The whole output, quoted source lines included. Human output quotes the finding's line
/// with one line of context, and SARIF puts the line in `region.snippet`: for a Secret that
/// is the credential itself. Passing needs the reporters to leave out (or mask) the source
/// of findings about secrets, which is outside this rule.
#[test]
fn no_format_shows_credentials_anywhere() {
    let dir = fixtures();
    for format in ["human", "json", "github", "sarif"] {
        assert_no_secret(format, &output_of(dir.path(), format));
    }
}

/// A Kustomize `secretGenerator` that builds the Secret from a committed file commits the
/// credentials too; the finding points at the generator's entry.
#[test]
fn a_generated_secret_is_reported_at_its_generator_entry() {
    let kustomization = "\
secretGenerator:
- name: regcred
  type: kubernetes.io/dockerconfigjson
  files:
  - .dockerconfigjson=config.json
";
    let dir = tree(&[
        ("app/kustomization.yaml", kustomization),
        ("app/config.json", &docker_config()),
    ]);
    let findings = check_json(dir.path(), &["app"]);
    assert_eq!(findings.len(), 1, "{findings:#?}");
    let finding = &findings[0];
    assert_eq!(finding["rule"], RULE);
    assert_eq!(finding["path"], "app/kustomization.yaml");
    assert_eq!(
        (finding["line"].as_u64(), finding["column"].as_u64()),
        (Some(5), Some(5))
    );
    assert!(finding["message"].as_str().unwrap().contains("`ghcr.io`"));
}
