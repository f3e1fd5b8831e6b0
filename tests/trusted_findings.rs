//! Findings a platform team can trust on real repositories (issue 13): values composed the
//! way charts compose them, network findings only where they help, scope that never widens,
//! findings at the line to edit, and the output switches for big repositories.

mod common;

use std::path::Path;

use common::{PROJECT, check, run, stderr, tree};
use serde_json::Value;

/// `(rule, path:line, image)` of each finding of `check --format json ARGS` run in the
/// project folder.
fn found(args: &[&str]) -> Vec<String> {
    let output = run(
        Path::new(PROJECT),
        &[&["check", "--format", "json"], args].concat(),
    );
    assert!(
        matches!(output.status.code(), Some(0 | 1)),
        "{}",
        stderr(&output)
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{} {}:{} {}",
                f["rule"].as_str().unwrap(),
                f["path"].as_str().unwrap(),
                f["line"],
                f["image"].as_str().unwrap_or("-")
            )
        })
        .collect()
}

#[test]
fn values_images_are_composed_as_charts_compose_them() {
    // Registries in `global.image.registry`, beside `image.image`, Istio's hub/tag, Elastic's
    // imageTag; an empty repository is the chart's default; null, 123 and auto are no images.
    assert_eq!(
        found(&["testdata/trust/values-compose/values.yaml"]),
        [
            "digest-pinning testdata/trust/values-compose/values.yaml:12 registry.k8s.io/ingress-nginx/controller:v1.9.4",
            "digest-pinning testdata/trust/values-compose/values.yaml:14 docker.io/istio/pilot:1.20.0",
            "digest-pinning testdata/trust/values-compose/values.yaml:19 docker.elastic.co/elasticsearch/elasticsearch:8.5.1",
        ]
    );
}

#[test]
fn an_untrusted_values_map_is_reported_at_its_registry() {
    let found = check(
        Path::new(PROJECT),
        &[
            "--select",
            "untrusted-registry",
            "testdata/trust/values-compose/values-mirror.yaml",
        ],
    );
    assert_eq!(
        found,
        [(
            "untrusted-registry".to_string(),
            "testdata/trust/values-compose/values-mirror.yaml".to_string(),
            4,
            15
        )]
    );
}

#[test]
fn a_shared_global_tag_says_how_to_pin_one_image() {
    let dir = tree(&[
        (
            "chart/Chart.yaml",
            "apiVersion: v2\nname: c\nversion: 1.0.0\n",
        ),
        (
            "chart/values.yaml",
            "global:\n  hub: docker.io/istio\n  tag: 1.20.0\npilot:\n  image: pilot\n",
        ),
        (".pinnace.yaml", "helm: {render: false}\n"),
    ]);
    let output = run(
        dir.path(),
        &["check", "--format", "json", "chart/values.yaml"],
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let first = &report["findings"][0];
    assert_eq!(first["image"], "docker.io/istio/pilot:1.20.0");
    assert_eq!(first["line"], 5);
    assert!(first["help"].as_str().unwrap().contains("global.tag"));
}

#[test]
fn a_namespace_without_policies_is_one_finding_and_hooks_are_not_judged() {
    assert_eq!(
        found(&["testdata/trust/network"]),
        [
            "missing-default-deny testdata/trust/network/namespaces.yaml:4 -",
            "missing-default-deny testdata/trust/network/namespaces.yaml:25 -",
            // `api` in `shop`, which has a policy that leaves it out.
            "missing-network-policy testdata/trust/network/namespaces.yaml:39 -",
        ]
    );
}

#[test]
fn tekton_param_defaults_and_deployment_configs_are_judged() {
    assert_eq!(
        found(&["--select", "digest-pinning", "testdata/trust/crds"]),
        [
            "digest-pinning testdata/trust/crds/deploymentconfig.yaml:12 registry.example.com/legacy:3.1",
            "digest-pinning testdata/trust/crds/tekton-task.yaml:8 gcr.io/kaniko-project/executor:v1.9.0",
        ]
    );
}

#[test]
fn a_config_named_with_config_never_widens_what_is_read() {
    // The config's folder holds a broken manifest and a policy: neither is read.
    let settings = tree(&[
        ("pinnace.yaml", "rules: {digest-pinning: off}\n"),
        ("broken.yaml", "kind: [\n"),
        (
            "policy.yaml",
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny}\nspec: {podSelector: {}}\n",
        ),
    ]);
    let repo = tree(&[("pod.yaml", &common::pod("nginx:1.25"))]);
    let config = settings.path().join("pinnace.yaml");
    let found = check(
        repo.path(),
        &["--config", config.to_str().unwrap(), "pod.yaml"],
    );
    assert_eq!(
        found,
        [(
            "missing-default-deny".to_string(),
            "pod.yaml".to_string(),
            3,
            1
        )]
    );
}

#[test]
fn a_file_named_outside_a_repository_is_its_own_scope() {
    // A policy beside the file, in the working folder, is not read: the file is the scope.
    let dir = tree(&[
        ("apps/pod.yaml", &common::pod("nginx:1.25")),
        (
            "policy.yaml",
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny}\nspec: {podSelector: {}}\n",
        ),
        (
            "kustomize/kustomization.yaml",
            "resources: [../apps/pod.yaml]\n",
        ),
    ]);
    let found = check(
        dir.path(),
        &[
            common::NO_NETWORK_RULES,
            "--select",
            "latest-tag,missing-default-deny,digest-pinning",
            "apps/pod.yaml",
        ],
    );
    assert_eq!(
        found,
        [(
            "digest-pinning".to_string(),
            "apps/pod.yaml".to_string(),
            7,
            12
        )]
    );
    let found = check(
        dir.path(),
        &["--select", "missing-default-deny", "apps/pod.yaml"],
    );
    assert_eq!(
        found.len(),
        1,
        "the policy beside it is not read: {found:?}"
    );
}

#[test]
fn exclude_on_the_command_line() {
    let dir = tree(&[
        ("apps/pod.yaml", &common::pod("nginx:1.25")),
        ("vendor/pod.yaml", &common::pod("nginx:1.25")),
        ("apps/generated/pod.yaml", &common::pod("nginx:1.25")),
    ]);
    let paths = |args: &[&str]| -> Vec<String> {
        let mut all = vec![common::NO_NETWORK_RULES];
        all.extend(args);
        let mut paths: Vec<String> = check(dir.path(), &all).into_iter().map(|f| f.1).collect();
        paths.dedup();
        paths
    };
    assert_eq!(
        paths(&["--exclude", "vendor", "--exclude", "apps/generated/*", "."]),
        ["apps/pod.yaml"]
    );
    let output = run(dir.path(), &["check", "--exclude", "[", "."]);
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn concise_and_statistics() {
    let dir = tree(&[
        ("a.yaml", &common::pod("nginx")),
        ("b.yaml", &common::pod("nginx:1.25")),
    ]);
    let output = run(
        dir.path(),
        &["check", "--format", "concise", common::NO_NETWORK_RULES],
    );
    let text = String::from_utf8(output.stdout).unwrap();
    insta::assert_snapshot!("concise", text);
    let output = run(
        dir.path(),
        &["check", "--statistics", common::NO_NETWORK_RULES],
    );
    let text = String::from_utf8(output.stdout).unwrap();
    insta::assert_snapshot!("statistics", text);
    let output = run(dir.path(), &["check", "--statistics", "--format", "json"]);
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn a_file_named_alone_reports_its_own_findings_and_those_about_it() {
    let dir = tree(&[
        (".git/HEAD", "ref: refs/heads/main\n"),
        (
            "base/kustomization.yaml",
            "resources: [deploy.yaml, worker.yaml]\n",
        ),
        (
            "base/deploy.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    spec:\n      containers:\n      - {name: web, image: ghcr.io/acme/web}\n",
        ),
        (
            "base/worker.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: worker}\nspec:\n  template:\n    spec:\n      containers:\n      - {name: worker, image: ghcr.io/acme/worker:1.0}\n",
        ),
        (
            "overlay/kustomization.yaml",
            "resources: [../base]\nimages:\n- name: ghcr.io/acme/web\n  newTag: \"2.0\"\n",
        ),
        ("other/pod.yaml", &common::pod("nginx:1.25")),
    ]);
    // The staged base file: the overlay entry that sets its image, not the worker's or the
    // other file's findings.
    let found = check(dir.path(), &[common::NO_NETWORK_RULES, "base/deploy.yaml"]);
    assert_eq!(
        found,
        [(
            "digest-pinning".to_string(),
            "overlay/kustomization.yaml".to_string(),
            3,
            3
        )]
    );
    let found = check(dir.path(), &[common::NO_NETWORK_RULES, "base/worker.yaml"]);
    assert_eq!(
        found,
        [(
            "digest-pinning".to_string(),
            "base/worker.yaml".to_string(),
            8,
            31
        )]
    );
}
