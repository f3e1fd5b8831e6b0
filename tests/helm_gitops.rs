//! GitOps controller resources: Flux `HelmRelease` values and `Kustomization` images, Argo CD
//! `Application` Helm values (a YAML string, an object, parameters) and Kustomize images are
//! checked at their own lines, and pinned where they are written (against a real registry:
//! Debian's docker-registry on 127.0.0.1, see tests/support).

mod support;

use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

use support::cli::{Repo, pinnace, text};
use support::{Registry, TestImage};

const PROJECT: &str = env!("CARGO_MANIFEST_DIR");

fn check_json(dir: &Path, path: &str) -> Value {
    let output = Command::cargo_bin("pinnace")
        .unwrap()
        .current_dir(dir)
        .args(["check", "--format", "json", path])
        .output()
        .unwrap();
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn gitops_fixtures_are_checked_at_their_lines() {
    let report = check_json(Path::new(PROJECT), "testdata/helm/gitops");
    let found: Vec<String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{} {}:{}:{} {}/{} {} | {}",
                f["rule"].as_str().unwrap(),
                f["path"].as_str().unwrap(),
                f["line"],
                f["column"],
                f["resource"]["kind"].as_str().unwrap(),
                f["resource"]["name"].as_str().unwrap(),
                f["image"].as_str().unwrap(),
                f["help"].as_str().unwrap_or("-"),
            )
        })
        .collect();
    insta::assert_debug_snapshot!("gitops_findings", found);
}

#[test]
fn findings_inside_an_argo_values_string_land_on_their_lines_and_can_be_suppressed() {
    let dir = tempfile::tempdir().unwrap();
    let application = |comment: &str| {
        format!(
            "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: a\nspec:\n  source:\n    helm:\n      values: |\n        # defaults for the storefront\n        image:\n          repository: ghcr.io/acme/shop\n          tag: \"2.4.1\"{comment}\n"
        )
    };
    std::fs::write(dir.path().join("app.yaml"), application("")).unwrap();
    let report = check_json(dir.path(), ".");
    let finding = &report["findings"][0];
    assert_eq!(
        (finding["line"].as_u64(), finding["column"].as_u64()),
        (Some(12), Some(16))
    );
    assert_eq!(finding["byte_length"], 7, "the quoted tag, exactly");

    std::fs::write(
        dir.path().join("app.yaml"),
        application("  # pinnace:ignore digest-pinning -- rolled by the release bot"),
    )
    .unwrap();
    let report = check_json(dir.path(), ".");
    assert_eq!(report["findings"], serde_json::json!([]));
}

#[test]
fn a_helm_release_in_a_kustomize_build_is_checked_in_its_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("kustomization.yaml"),
        "namespace: shop\nresources:\n  - release.yaml\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("release.yaml"),
        "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: web\nspec:\n  values:\n    image:\n      repository: ghcr.io/acme/shop\n      tag: 2.4.2\n",
    )
    .unwrap();
    let report = check_json(dir.path(), ".");
    let finding = &report["findings"][0];
    assert_eq!(finding["path"], "release.yaml");
    assert_eq!(
        (finding["line"].as_u64(), finding["column"].as_u64()),
        (Some(9), Some(12))
    );
    assert_eq!(
        finding["resource"]["namespace"], "shop",
        "as the build sets it"
    );
    assert_eq!(report["findings"].as_array().unwrap().len(), 1);
}

#[test]
fn helm_release_values_kustomization_images_and_argo_sources_are_pinned_in_place() {
    if support::registry_tools_missing() {
        return;
    }
    let registry = Registry::start();
    let host = registry.host();
    let shop = registry.push("acme/shop", "2.4.2", TestImage::MultiPlatform, "shop");
    let pay = registry.push("acme/payments", "3.1.0", TestImage::SinglePlatform, "pay");
    let envoy = registry.push("mirror/envoy", "1.29", TestImage::SinglePlatform, "envoy");
    let redis = registry.push("mirror/redis", "7.2.4", TestImage::SinglePlatform, "redis");
    let migrate = registry.push("acme/migrate", "2.4.1", TestImage::SinglePlatform, "mig");
    let repo = Repo::insecure(&host);
    let release = format!(
        "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: web\nspec:\n  values:\n    image:\n      registry: {host}\n      repository: acme/shop\n      tag: 2.4.2 # release bot\n"
    );
    let kustomization = format!(
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: payments\nspec:\n  images:\n    - name: payments\n      newName: {host}/acme/payments\n      newTag: \"3.1.0\"\n    - {{name: redis, newName: {host}/mirror/redis, newTag: 7.2.4}}\n"
    );
    let application = format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: a\nspec:\n  sources:\n    - helm:\n        values: |\n          image: {host}/acme/shop:2.4.2\n        valuesObject:\n          migrations:\n            image: {{repository: {host}/acme/migrate, tag: 2.4.1, digest: \"\"}}\n        parameters:\n          - name: sidecar.image\n            value: {host}/mirror/envoy:1.29\n    - kustomize:\n        images:\n          - {host}/acme/payments:3.1.0\n          - \"redis={host}/mirror/redis:7.2.4\"\n"
    );
    repo.write("flux/release.yaml", &release);
    // The same release through a Kustomize root (as Flux repositories list them).
    repo.write(
        "clusters/prod/kustomization.yaml",
        "resources:\n  - release.yaml\n",
    );
    repo.write("clusters/prod/release.yaml", &release);
    repo.write("flux/payments.yaml", &kustomization);
    repo.write("argo/app.yaml", &application);

    let output = pinnace(&repo, &["pin", "."], &[]);
    let (_, stderr) = text(&output);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("8 pinned"), "{stderr}");
    assert!(
        stderr.contains("skipped 1: written with escapes or as a block scalar"),
        "the values string is left alone: {stderr}"
    );
    let read = |path: &str| std::fs::read_to_string(repo.path().join(path)).unwrap();
    let pinned_release = release.replace("tag: 2.4.2 #", &format!("tag: 2.4.2@{} #", shop.digest));
    assert_eq!(read("flux/release.yaml"), pinned_release);
    assert_eq!(read("clusters/prod/release.yaml"), pinned_release);
    assert_eq!(
        read("flux/payments.yaml"),
        kustomization
            .replace(
                "newTag: \"3.1.0\"\n",
                &format!("newTag: \"3.1.0\"\n      digest: {}\n", pay.digest)
            )
            .replace(
                "newTag: 7.2.4}",
                &format!("newTag: 7.2.4, digest: {}}}", redis.digest)
            )
    );
    assert_eq!(
        read("argo/app.yaml"),
        application
            .replace("digest: \"\"", &format!("digest: \"{}\"", migrate.digest))
            .replace("envoy:1.29\n", &format!("envoy:1.29@{}\n", envoy.digest))
            .replace(
                "acme/payments:3.1.0\n",
                &format!("acme/payments:3.1.0@{}\n", pay.digest)
            )
            .replace("redis:7.2.4\"", &format!("redis:7.2.4@{}\"", redis.digest))
    );
}
