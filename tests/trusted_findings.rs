//! Findings a platform team can trust on real repositories (issue 13): values composed the
//! way charts compose them, network findings only where they help, scope that never widens,
//! findings at the line to edit, and the output switches for big repositories.

mod common;

use std::path::Path;

use common::{PROJECT, check, check_findings, run, stderr, tree};
use serde_json::Value;

/// `(rule, path:line, image)` of each finding of `check --format json ARGS` run in the
/// project folder.
fn found(args: &[&str]) -> Vec<String> {
    check_findings(Path::new(PROJECT), args)
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

/// A Deployment in namespace `ci`, labelled `app: NAME`.
fn deployment(name: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}, namespace: ci}}\nspec:\n  template:\n    metadata: {{labels: {{app: {name}}}}}\n    spec:\n      containers: [{{name: c, image: \"nginx:1.25\"}}]\n"
    )
}

#[test]
fn test_fixtures_are_not_judged_by_the_network_rules() {
    // A Tekton catalog task's test resources (a registry its test run deploys), an Argo CD
    // style e2e fixture, and one real workload in the same namespace.
    let dir = tree(&[
        (
            "task/kaniko/0.6/tests/resources.yaml",
            &deployment("registry"),
        ),
        ("test/e2e/testdata/guestbook.yaml", &deployment("guestbook")),
        ("apps/web.yaml", &deployment("web")),
    ]);
    let network = ["--select", "missing-default-deny,missing-network-policy"];
    let found = check(dir.path(), &[network[0], network[1], "."]);
    assert_eq!(
        found,
        [(
            "missing-default-deny".to_string(),
            "apps/web.yaml".to_string(),
            3,
            34
        )]
    );
    // `test_fixtures: []` judges every workload; an override can judge one fixture folder.
    fs_write(
        dir.path(),
        ".pinnace.yaml",
        "network_policies: {test_fixtures: []}
",
    );
    let found = check(dir.path(), &[network[0], network[1], "task"]);
    assert_eq!(common::rules(&found), ["missing-default-deny"]);
    fs_write(
        dir.path(),
        ".pinnace.yaml",
        "overrides:\n  - paths: [\"test/**\"]\n    rules: {missing-default-deny: error}\n",
    );
    let found = check(dir.path(), &[network[0], network[1], "test", "task"]);
    assert_eq!(
        found.iter().map(|f| f.1.as_str()).collect::<Vec<_>>(),
        ["test/e2e/testdata/guestbook.yaml"]
    );
}

fn fs_write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
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

/// `check --format concise ARGS` in the project folder: its lines.
fn concise(args: &[&str]) -> Vec<String> {
    let output = run(
        Path::new(PROJECT),
        &[&["check", "--format", "concise"], args].concat(),
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn a_rendered_chart_is_trusted_and_findings_land_where_certain() {
    // Rendered with helm (tests/helm_charts.rs needs it too). The image's registry is a key of
    // the chart's own: helm's finding stands, names the values key, and the values file's
    // wrong composition (`docker.io/acme/shop`) is dropped. The image line sits after a
    // disabled `if`, so which template line wrote it is not certain: the finding is at the
    // values key the chart reads it from.
    // The network finding is at the pod template's labels; the test hook is not judged, and
    // `files/` holds a Go template, not a manifest.
    let lines = concise(&["testdata/trust/chart"]);
    assert_eq!(
        lines,
        [
            "testdata/trust/chart/templates/deployment.yaml:5:14: missing-default-deny namespace `shop` has no default-deny NetworkPolicy for ingress",
            "testdata/trust/chart/templates/deployment.yaml:14:7: missing-network-policy no NetworkPolicy in namespace `shop` selects these pods",
            "testdata/trust/chart/values.yaml:6:8: digest-pinning image `ghcr.io/acme/shop:2.4.1` is not pinned to a digest",
            "testdata/trust/chart/values.yaml:9:10: digest-pinning image `envoyproxy/envoy:v1.29` is not pinned to a digest",
            "Found 2 errors, 2 warnings and 0 notes in 3 files.",
        ]
    );
    let output = run(
        Path::new(PROJECT),
        &["check", "--format", "json", "testdata/trust/chart"],
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let image = &report["findings"][2];
    let help = image["help"].as_str().unwrap();
    assert!(
        help.contains("reads this image from `image`") && help.contains("not certain"),
        "{image:#}"
    );
    assert_eq!(
        image["template"],
        "testdata/trust/chart/templates/deployment.yaml"
    );
}

#[test]
fn an_uncertain_template_line_without_a_values_key_is_the_template_itself() {
    // A `range` writes the image line twice from one template line, and no values key holds
    // an image: the findings stand at the template's first line (a real file, for annotations
    // and SARIF), and say which rendered line they are about.
    let dir = tree(&[
        (
            "chart/Chart.yaml",
            "apiVersion: v2\nname: web\nversion: 0.1.0\n",
        ),
        ("chart/values.yaml", "names: [nginx, redis]\ntag: \"7.2\"\n"),
        (
            "chart/templates/deploy.yaml",
            "# the workers\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    spec:\n      containers:\n{{- range .Values.names }}\n        - name: {{ . }}\n          image: \"{{ . }}:{{ $.Values.tag }}\"\n{{- end }}\n",
        ),
    ]);
    let output = run(
        dir.path(),
        &[
            "check",
            "--format",
            "json",
            "--select",
            "digest-pinning",
            "chart",
        ],
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let findings = report["findings"].as_array().unwrap();
    let places: Vec<String> = findings
        .iter()
        .map(|f| {
            format!(
                "{}:{}:{} {}",
                f["path"].as_str().unwrap(),
                f["line"],
                f["column"],
                f["image"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        places,
        [
            "chart/templates/deploy.yaml:2:1 nginx:7.2",
            "chart/templates/deploy.yaml:2:1 redis:7.2",
        ]
    );
    let help = findings[1]["help"].as_str().unwrap();
    assert!(
        help.contains("renders `image: \"redis:7.2\"`") && help.contains("not certain"),
        "{help}"
    );
}

#[test]
fn an_inline_patch_finding_lands_on_its_line_in_the_kustomization() {
    let lines = concise(&[
        "--ignore",
        "missing-default-deny",
        "testdata/trust/inline-patch",
    ]);
    assert_eq!(
        lines[0],
        "testdata/trust/inline-patch/overlay/kustomization.yaml:15:22: digest-pinning image `busybox:1.36` is not pinned to a digest"
    );
    let output = run(
        Path::new(PROJECT),
        &["check", "--format", "github", "testdata/trust/inline-patch"],
    );
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(!text.contains("inline patch"), "{text}");
}

/// `pinnace images --format json` rows as `path:line image status`.
fn images(args: &[&str]) -> Vec<String> {
    let output = run(
        Path::new(PROJECT),
        &[&["images", "--format", "json"], args].concat(),
    );
    let rows: Value = serde_json::from_slice(&output.stdout).unwrap();
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{}:{} {} {}",
                r["path"].as_str().unwrap(),
                r["line"],
                r["image"].as_str().unwrap(),
                r["status"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn images_lists_composed_values_inline_patches_and_untagged() {
    assert_eq!(
        images(&[
            "testdata/trust/inline-patch",
            "testdata/trust/values-compose"
        ]),
        [
            "testdata/trust/inline-patch/base/deploy.yaml:9 ghcr.io/acme/web:1.0@sha256:0000000000000000000000000000000000000000000000000000000000000000 pinned",
            "testdata/trust/inline-patch/overlay/kustomization.yaml:15 busybox:1.36 tagged",
            "testdata/trust/values-compose/values-mirror.yaml:6 quay.io/acme/app:1.0 tagged",
            "testdata/trust/values-compose/values.yaml:12 registry.k8s.io/ingress-nginx/controller:v1.9.4 tagged",
            "testdata/trust/values-compose/values.yaml:14 docker.io/istio/pilot:1.20.0 tagged",
            "testdata/trust/values-compose/values.yaml:19 docker.elastic.co/elasticsearch/elasticsearch:8.5.1 tagged",
        ]
    );
    let dir = tree(&[("pod.yaml", &common::pod("nginx"))]);
    let output = run(dir.path(), &["images", "--format", "json", "pod.yaml"]);
    let rows: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(rows[0]["status"], "untagged");
}

#[test]
fn a_root_that_cannot_be_built_judges_neither_its_patches_nor_what_it_retags() {
    let output = run(
        Path::new(PROJECT),
        &[
            "check",
            "--format",
            "concise",
            "--ignore",
            "missing-default-deny",
            "testdata/trust/refused",
        ],
    );
    assert!(stderr(&output).contains("cannot build this kustomization"));
    let text = String::from_utf8(output.stdout).unwrap();
    assert_eq!(
        text,
        "testdata/trust/refused/base/deploy.yaml:9:32: digest-pinning image `ghcr.io/acme/sidecar:1.0` is not pinned to a digest\nFound 1 error, 0 warnings and 0 notes in 3 files.\n"
    );
}

#[test]
fn paths_in_one_report_share_one_style() {
    let base = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    spec:\n      containers:\n      - {name: web, image: ghcr.io/acme/web:1.0}\n";
    let dir = tree(&[
        ("work/.keep", ""),
        ("repo/base/kustomization.yaml", "resources: [deploy.yaml]\n"),
        ("repo/base/deploy.yaml", base),
        ("repo/overlay/kustomization.yaml", "resources: [../base]\n"),
    ]);
    let work = dir.path().join("work");
    let paths = |target: &str| -> Vec<String> {
        check(&work, &[common::NO_NETWORK_RULES, target])
            .into_iter()
            .map(|f| f.1)
            .collect()
    };
    // The base is outside the path given: named as the path given is.
    assert_eq!(paths("../repo/overlay"), ["../repo/base/deploy.yaml"]);
    let absolute = std::fs::canonicalize(dir.path().join("repo/overlay")).unwrap();
    let found = paths(absolute.to_str().unwrap());
    let expected = std::fs::canonicalize(dir.path().join("repo/base/deploy.yaml")).unwrap();
    assert_eq!(found, [expected.to_str().unwrap()]);
}
