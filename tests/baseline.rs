//! `pinnace check --baseline FILE [--update-baseline]`: findings recorded by what they are
//! about, not where they are, so only new findings fail a run.

mod common;

use std::fs;
use std::path::Path;

use common::{NO_NETWORK_CONFIG, check, run, stderr, tree};
use serde_json::Value;

const DEPLOYMENT: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  template:
    spec:
      containers:
      - name: web
        image: nginx:1.25
      - name: cache
        image: redis:7
";

fn repository() -> tempfile::TempDir {
    let dir = tree(&[
        ("apps/web.yaml", DEPLOYMENT),
        (".pinnace.yaml", NO_NETWORK_CONFIG),
    ]);
    let output = run(
        dir.path(),
        &["check", "--baseline", "baseline.json", "--update-baseline"],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("wrote 2 finding(s) to the baseline baseline.json"),
        "{}",
        stderr(&output)
    );
    dir
}

fn edit(dir: &Path, file: &str, edit: impl FnOnce(String) -> String) {
    let path = dir.join(file);
    let text = fs::read_to_string(&path).unwrap();
    fs::write(path, edit(text)).unwrap();
}

#[test]
fn the_file_is_sorted_relative_and_line_free() {
    let dir = repository();
    let text = fs::read_to_string(dir.path().join("baseline.json")).unwrap();
    let json: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["version"], 1);
    let entries = json["findings"].as_array().unwrap();
    let images: Vec<&str> = entries
        .iter()
        .map(|e| e["image"].as_str().unwrap())
        .collect();
    assert_eq!(images, ["redis:7", "nginx:1.25"], "sorted by container");
    assert_eq!(entries[1]["file"], "apps/web.yaml");
    assert_eq!(entries[1]["rule"], "digest-pinning");
    assert_eq!(entries[1]["resource"], "Deployment/shop/web");
    assert_eq!(entries[1]["container"], "web");
    assert_eq!(entries[1]["count"], 1);
    assert!(!text.contains("line"), "no line numbers: {text}");
    // Written again from a subfolder (paths relative to the baseline's folder), the bytes
    // do not change.
    let output = run(
        &dir.path().join("apps"),
        &[
            "check",
            ".",
            "--baseline",
            "../baseline.json",
            "--update-baseline",
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        fs::read_to_string(dir.path().join("baseline.json")).unwrap(),
        text
    );
}

#[test]
fn an_unrelated_edit_above_keeps_the_baseline_matching() {
    let dir = repository();
    edit(dir.path(), "apps/web.yaml", |text| {
        format!(
            "# owned by the shop team\n{}",
            text.replace("  name: web\n", "  name: web\n  labels: {team: shop}\n")
        )
    });
    let output = run(dir.path(), &["check", "--baseline", "baseline.json"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("2 finding(s) in the baseline baseline.json were not reported"),
        "{}",
        stderr(&output)
    );
    assert!(!stderr(&output).contains("gone"), "{}", stderr(&output));
}

#[test]
fn a_new_finding_fails_and_is_the_only_one_reported() {
    let dir = repository();
    edit(dir.path(), "apps/web.yaml", |text| {
        format!("{text}      - name: proxy\n        image: envoyproxy/envoy:v1.30\n")
    });
    let output = run(
        dir.path(),
        &["check", "--format", "json", "--baseline", "baseline.json"],
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{report}");
    assert_eq!(findings[0]["image"], "envoyproxy/envoy:v1.30");
    assert_eq!(findings[0]["line"], 15);
    // Without the baseline, all three are there.
    assert_eq!(check(dir.path(), &[]).len(), 3);
}

#[test]
fn a_second_identical_finding_is_new() {
    let dir = repository();
    edit(dir.path(), "apps/web.yaml", |text| {
        format!("{text}---\n{text}")
    });
    let output = run(
        dir.path(),
        &["check", "--format", "json", "--baseline", "baseline.json"],
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["findings"].as_array().unwrap().len(), 2, "{report}");
}

#[test]
fn a_fixed_finding_is_reported_as_gone() {
    let dir = repository();
    edit(dir.path(), "apps/web.yaml", |text| {
        text.replace("redis:7", &format!("redis:7@sha256:{}", "1".repeat(64)))
    });
    let output = run(dir.path(), &["check", "--baseline", "baseline.json"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let err = stderr(&output);
    assert!(err.contains("1 finding(s) in the baseline"), "{err}");
    assert!(err.contains("1 baseline finding(s) are gone"), "{err}");
    assert!(
        err.contains("gone: apps/web.yaml: digest-pinning, Deployment/shop/web, cache, redis:7"),
        "{err}"
    );
    // A run over another folder does not call the entries of files it did not check stale.
    fs::create_dir(dir.path().join("other")).unwrap();
    let output = run(
        dir.path(),
        &["check", "other", "--baseline", "baseline.json"],
    );
    assert!(!stderr(&output).contains("gone"), "{}", stderr(&output));
}

#[test]
fn a_broken_baseline_is_a_clear_error() {
    let dir = repository();
    fs::write(dir.path().join("baseline.json"), "{\"version\": 1}").unwrap();
    let output = run(dir.path(), &["check", "--baseline", "baseline.json"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("baseline.json is not a pinnace baseline"),
        "{}",
        stderr(&output)
    );
    let output = run(dir.path(), &["check", "--baseline", "missing.json"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("cannot read the baseline missing.json"),
        "{}",
        stderr(&output)
    );
}
