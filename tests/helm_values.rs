//! Helm values files checked offline: image maps and strings anywhere in the tree are judged
//! by the image rules at their own lines, and `pinnace images` lists them.

use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

const PROJECT: &str = env!("CARGO_MANIFEST_DIR");

fn run(dir: &Path, args: &[&str]) -> (i32, String) {
    let output = Command::cargo_bin("pinnace")
        .unwrap()
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    (
        output.status.code().unwrap(),
        String::from_utf8(output.stdout).unwrap(),
    )
}

/// `(rule, path:line:column, values key, image)` of each finding.
fn findings(dir: &Path, paths: &[&str]) -> Vec<String> {
    let mut args = vec!["check", "--format", "json"];
    args.extend(paths);
    let (_, stdout) = run(dir, &args);
    let report: Value = serde_json::from_str(&stdout).unwrap();
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{} {}:{}:{} {} {}",
                f["rule"].as_str().unwrap(),
                f["path"].as_str().unwrap(),
                f["line"],
                f["column"],
                f["resource"]["name"].as_str().unwrap_or("-"),
                f["image"].as_str().unwrap_or("-"),
            )
        })
        .collect()
}

#[test]
fn chart_values_files_are_checked_at_their_lines() {
    // Values alone: charts are not rendered with helm here (tests/helm_charts.rs does that).
    // The config is the project's own (never one in the system temp folder, whose contents
    // are not the test's).
    let found = findings(
        Path::new(PROJECT),
        &[
            "--config",
            "testdata/helm/render-off.pinnace.yaml",
            "testdata/helm/web/values.yaml",
            "testdata/helm/platform",
        ],
    );
    insta::assert_debug_snapshot!("chart_values_findings", found);
}

#[test]
fn the_findings_json_names_the_values_key() {
    let (code, stdout) = run(
        Path::new(PROJECT),
        &["check", "--format", "json", "testdata/helm/web/values.yaml"],
    );
    assert_eq!(code, 1);
    let report: Value = serde_json::from_str(&stdout).unwrap();
    let first = &report["findings"][0];
    assert_eq!(first["resource"]["kind"], "HelmValues");
    assert_eq!(first["resource"]["name"], "image");
    assert_eq!(first["image"], "ghcr.io/acme/shop:2.4.1");
    assert_eq!(
        first["help"],
        "run `pinnace pin` to write `tag: 2.4.1@sha256:…`, or write the digest yourself"
    );
}

#[test]
fn images_lists_values_images() {
    let (code, stdout) = run(
        Path::new(PROJECT),
        &["images", "--format", "json", "testdata/helm/platform"],
    );
    assert_eq!(code, 0);
    let rows: Value = serde_json::from_str(&stdout).unwrap();
    let rows: Vec<String> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{}:{} {} {} {} {}",
                r["path"].as_str().unwrap(),
                r["line"],
                r["kind"].as_str().unwrap(),
                r["name"].as_str().unwrap(),
                r["image"].as_str().unwrap(),
                r["status"].as_str().unwrap()
            )
        })
        .collect();
    insta::assert_debug_snapshot!("platform_values_images", rows);
}

#[test]
fn a_values_file_needs_a_chart_or_config() {
    let dir = tempfile::tempdir().unwrap();
    let values = "image:\n  repository: nginx\n  tag: \"1.25\"\nsidecar:\n  image: busybox:1.36 # pinnace:ignore digest-pinning -- test\n";
    std::fs::create_dir_all(dir.path().join("chart")).unwrap();
    std::fs::write(dir.path().join("values.yaml"), values).unwrap();
    std::fs::write(dir.path().join("chart/values-prod.yaml"), values).unwrap();
    assert_eq!(findings(dir.path(), &["."]), Vec::<String>::new());

    std::fs::write(
        dir.path().join("chart/Chart.yaml"),
        "apiVersion: v2\nname: c\nversion: 1.0.0\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join(".pinnace.yaml"),
        "helm:\n  values: [\"values.yaml\"]\n",
    )
    .unwrap();
    assert_eq!(
        findings(dir.path(), &["."]),
        [
            "digest-pinning chart/values-prod.yaml:3:8 image docker.io/library/nginx:1.25",
            "digest-pinning values.yaml:3:8 image docker.io/library/nginx:1.25",
        ]
        .map(|line| line.replace("docker.io/library/", ""))
    );
}

#[test]
fn templated_and_chart_decided_values_are_not_judged() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("Chart.yaml"),
        "apiVersion: v2\nname: c\nversion: 1.0.0\nappVersion: 1.2.3\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("values.yaml"),
        "image:\n  repository: ghcr.io/acme/app\n  tag: \"\"  # defaults to appVersion\nother:\n  image: \"{{ .Values.global.image }}\"\nbad:\n  image: Not/A/Valid:Image:Ref\n",
    )
    .unwrap();
    assert_eq!(
        findings(dir.path(), &["."]),
        ["invalid-image-reference values.yaml:7:14 bad.image Not/A/Valid:Image:Ref"]
    );
    let (_, stdout) = run(dir.path(), &["images", "."]);
    assert!(
        stdout.contains("values.yaml:2:15\tHelmValues/image\t-\tghcr.io/acme/app\ttemplated"),
        "{stdout}"
    );
}
