//! `pinnace check` on Kustomize repositories: roots are built in-process, findings land where
//! a person edits, and files a build covers are not checked twice.

use std::fs;
use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

fn write(root: &Path, file: &str, text: &str) {
    let path = root.join(file);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

/// A base with two images and two overlays that retag one of them.
fn repository() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "app/base/kustomization.yaml",
        "resources:\n- deploy.yaml\n",
    );
    write(
        root,
        "app/base/deploy.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.25\n      - name: sidecar\n        image: busybox:1.36\n",
    );
    for env in ["staging", "prod"] {
        write(
            root,
            &format!("app/overlays/{env}/kustomization.yaml"),
            &format!(
                "namePrefix: {env}-\nresources:\n- ../../base\nimages:\n- name: nginx\n  newTag: \"1.27\"\n"
            ),
        );
    }
    dir
}

fn check_json(root: &Path, args: &[&str]) -> (Value, String, i32) {
    let output = Command::cargo_bin("pinnace")
        .unwrap()
        .current_dir(root)
        // The network rules (tests/rule_scope.rs) would flag these pods too.
        .args([
            "check",
            "--format",
            "json",
            "--ignore=missing-network-policy,missing-default-deny",
        ])
        .args(args)
        .output()
        .unwrap();
    let json = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stdout)));
    (
        json,
        String::from_utf8_lossy(&output.stderr).into_owned(),
        output.status.code().unwrap(),
    )
}

fn findings(report: &Value) -> Vec<(String, String, u64, u64)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["path"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
                f["column"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn an_image_an_overlay_sets_is_reported_at_its_images_entry() {
    let repo = repository();
    let (report, _, code) = check_json(repo.path(), &["."]);
    assert_eq!(code, 1);
    let mut found = findings(&report);
    found.sort();
    assert_eq!(
        found,
        [
            (
                "digest-pinning".to_string(),
                "app/base/deploy.yaml".to_string(),
                12,
                16
            ),
            (
                "digest-pinning".to_string(),
                "app/overlays/prod/kustomization.yaml".to_string(),
                5,
                3
            ),
            (
                "digest-pinning".to_string(),
                "app/overlays/staging/kustomization.yaml".to_string(),
                5,
                3
            ),
        ],
        "the base's nginx line is not reported: every build retags it; busybox is reported once"
    );
    let overlay = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "app/overlays/prod/kustomization.yaml")
        .unwrap();
    assert_eq!(overlay["image"], "nginx:1.27");
    assert_eq!(overlay["resource"]["name"], "prod-web");
    assert_eq!(overlay["related"][0]["path"], "app/base/deploy.yaml");
    assert_eq!(overlay["related"][0]["line"], 10);
    assert_eq!(report["summary"]["files_checked"], 4);
}

#[test]
fn a_digest_in_the_overlay_entry_satisfies_the_rule() {
    let repo = repository();
    let digest = format!("sha256:{}", "a".repeat(64));
    write(
        repo.path(),
        "app/overlays/prod/kustomization.yaml",
        &format!(
            "namePrefix: prod-\nresources:\n- ../../base\nimages:\n- name: nginx\n  newTag: \"1.27\"\n  digest: {digest}\n"
        ),
    );
    let (report, _, _) = check_json(
        repo.path(),
        &["app/overlays/prod", "--select", "digest-pinning"],
    );
    let found: Vec<String> = findings(&report).into_iter().map(|f| f.1).collect();
    assert_eq!(found, ["app/base/deploy.yaml"], "only busybox is left");
}

#[test]
fn a_kustomization_pinnace_cannot_build_falls_back_to_its_files() {
    let repo = repository();
    write(
        repo.path(),
        "app/overlays/prod/kustomization.yaml",
        "resources:\n- ../../base\ntransformers:\n- inflate.yaml\n",
    );
    // A plugin that is not one of kustomize's builtins: kustomize would run a program.
    write(
        repo.path(),
        "app/overlays/prod/inflate.yaml",
        "apiVersion: example.com/v1\nkind: Inflator\nmetadata:\n  name: inflate\n",
    );
    let (report, stderr, _) = check_json(repo.path(), &["app/overlays/prod", "app/base"]);
    let warnings = report["warnings"].to_string();
    assert!(
        warnings.contains("cannot build this kustomization") && warnings.contains("Inflator"),
        "{warnings} {stderr}"
    );
    let paths: Vec<String> = findings(&report).into_iter().map(|f| f.1).collect();
    assert_eq!(
        paths,
        ["app/base/deploy.yaml", "app/base/deploy.yaml"],
        "the base is a root of its own now"
    );
}

#[test]
fn a_remote_base_is_reported_as_not_built() {
    let repo = repository();
    write(
        repo.path(),
        "app/overlays/prod/kustomization.yaml",
        "resources:\n- ../../base\n- https://github.com/example/repo//deploy?ref=v1\n",
    );
    let (report, _, _) = check_json(repo.path(), &["app/overlays/prod"]);
    let warnings = report["warnings"].to_string();
    assert!(
        warnings.contains("app/overlays/prod/kustomization.yaml:3:3")
            && warnings.contains("is not fetched"),
        "{warnings}"
    );
}

#[test]
fn sarif_with_related_locations_is_valid() {
    let repo = repository();
    let output = Command::cargo_bin("pinnace")
        .unwrap()
        .current_dir(repo.path())
        .args(["check", "--format", "sarif", "."])
        .output()
        .unwrap();
    let log: Value = serde_json::from_slice(&output.stdout).unwrap();
    let schema_path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/schemas/sarif-schema-2.1.0.json");
    let schema: Value = serde_json::from_str(&fs::read_to_string(schema_path).unwrap()).unwrap();
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft7)
        .offline()
        .build(&schema)
        .unwrap();
    let errors: Vec<String> = validator.iter_errors(&log).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}");
    let related = &log["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| !r["relatedLocations"].as_array().unwrap().is_empty())
        .unwrap()["relatedLocations"][0];
    assert_eq!(
        related["physicalLocation"]["artifactLocation"]["uri"],
        "app/base/deploy.yaml"
    );
}
