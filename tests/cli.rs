//! The command line: exit codes, standard input, rule selection, suppression, discovery,
//! `images`, `rules`, `explain`, custom resources and `kind: List`. Config files have
//! their own tests in `cli_config.rs`.

mod common;

use std::fs;
use std::path::Path;

use assert_cmd::Command;
use common::{NO_NETWORK_RULES, PINNED, PROJECT, check, code, pod, rules, run, stderr, tree};
use serde_json::Value;
use tempfile::TempDir;

// --- exit codes --------------------------------------------------------------------------

#[test]
fn exit_codes() {
    let clean = tree(&[("pinned.yaml", &pod(PINNED))]);
    assert_eq!(code(clean.path(), &["check", "."]), 0);
    let dirty = tree(&[("pod.yaml", &pod("nginx:1.25"))]);
    assert_eq!(code(dirty.path(), &["check", "."]), 1);
    assert_eq!(code(dirty.path(), &["check", "--fail-on", "never", "."]), 0);

    let missing = run(dirty.path(), &["check", "no/such/path"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).contains("no/such/path"));
    let unknown = run(dirty.path(), &["check", "--select", "no-such-rule", "."]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(stderr(&unknown).contains("no-such-rule"));

    fs::write(dirty.path().join(".pinnace.yaml"), "rules: [\n").unwrap();
    assert_eq!(code(dirty.path(), &["check", "."]), 2);
}

#[test]
fn fail_on_warning_makes_a_warning_only_run_fail() {
    let dir = tree(&[
        (
            ".pinnace.yaml",
            "rules: {digest-pinning: warning, missing-network-policy: off, missing-default-deny: off}\n",
        ),
        ("pod.yaml", &pod("nginx:1.25")),
    ]);
    assert_eq!(rules(&check(dir.path(), &["."])), ["digest-pinning"]);
    assert_eq!(code(dir.path(), &["check", "."]), 0);
    assert_eq!(code(dir.path(), &["check", "--fail-on", "warning", "."]), 1);
    assert_eq!(code(dir.path(), &["check", "--fail-on", "note", "."]), 1);
    assert_eq!(code(dir.path(), &["check", "--fail-on", "never", "."]), 0);
}

// --- standard input ----------------------------------------------------------------------

#[test]
fn dash_reads_standard_input() {
    let dir = TempDir::new().unwrap();
    let stdin = |extra: &[&str]| {
        let output = Command::cargo_bin("pinnace")
            .unwrap()
            .current_dir(dir.path())
            .args(["check", "--format", "json", NO_NETWORK_RULES])
            .args(extra)
            .arg("-")
            .write_stdin(pod("nginx:1.25"))
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1));
        let report: Value = serde_json::from_slice(&output.stdout).unwrap();
        let finding = report["findings"][0].clone();
        assert_eq!(
            (finding["line"].as_u64(), finding["column"].as_u64()),
            (Some(7), Some(12))
        );
        finding["path"].as_str().unwrap().to_string()
    };
    assert_eq!(stdin(&[]), "<stdin>");
    assert_eq!(stdin(&["--stdin-filename", "apps/x.yaml"]), "apps/x.yaml");
}

// --- rule selection ----------------------------------------------------------------------

#[test]
fn select_and_ignore() {
    let dir = tree(&[("pod.yaml", &pod("redis:latest"))]);
    assert_eq!(
        rules(&check(dir.path(), &[NO_NETWORK_RULES, "."])),
        ["digest-pinning", "latest-tag"]
    );
    let selected = check(dir.path(), &["--select", "digest-pinning", "."]);
    assert_eq!(rules(&selected), ["digest-pinning"]);
    let ignored = check(
        dir.path(),
        &["--ignore", "digest-pinning", NO_NETWORK_RULES, "."],
    );
    assert_eq!(rules(&ignored), ["latest-tag"]);
    let all = "--ignore=digest-pinning,latest-tag,missing-network-policy,missing-default-deny";
    assert!(check(dir.path(), &[all, "."]).is_empty());
}

// --- suppression -------------------------------------------------------------------------

#[test]
fn inline_and_annotation_suppressions() {
    let manifest = "\
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
  - name: a
    image: nginx:1.25  # pinnace:ignore digest-pinning -- vendor pins it
  - name: b
    # pinnace:ignore digest-pinning -- tracked in JIRA-1
    image: nginx:1.26
  - name: c
    image: nginx:1.27
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: quiet
  annotations:
    pinnace.dev/ignore: \"digest-pinning,latest-tag\"
spec:
  template:
    spec:
      containers:
      - name: x
        image: redis:latest
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: loud}
spec:
  template:
    spec:
      containers:
      - name: x
        image: redis:latest
";
    let dir = tree(&[("pods.yaml", manifest)]);
    let found = check(dir.path(), &[NO_NETWORK_RULES, "."]);
    let at: Vec<(&str, u64)> = found.iter().map(|f| (f.0.as_str(), f.2)).collect();
    assert_eq!(
        at,
        [
            ("digest-pinning", 12),
            ("digest-pinning", 35),
            ("latest-tag", 35)
        ]
    );
}

// --- discovery ---------------------------------------------------------------------------

#[test]
fn discovery_skips_gitignored_excluded_and_helm_templates() {
    let bad = pod("nginx:1.25");
    let dir = tree(&[
        (".gitignore", "generated/\n"),
        // Not rendered with helm: this is about which files are read as YAML.
        (
            ".pinnace.yaml",
            "exclude: [\"vendor/**\"]\nhelm:\n  render: false\n",
        ),
        ("generated/pod.yaml", &bad),
        ("vendor/lib/pod.yaml", &bad),
        (
            "chart/Chart.yaml",
            "apiVersion: v2\nname: c\nversion: 0.1.0\n",
        ),
        (
            "chart/values.yaml",
            "image:\n  repository: nginx\n  tag: latest\n",
        ),
        (
            "chart/templates/deployment.yaml",
            "image: {{ .Values.image }\n  {{- if .x }}\n: : [\n",
        ),
        ("apps/pod.yaml", &bad),
    ]);
    let output = run(
        dir.path(),
        &["check", "--format", "json", NO_NETWORK_RULES, "."],
    );
    assert_eq!(output.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let paths: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    // The chart's values file is checked (its `latest` image twice); its templates are not.
    assert_eq!(
        paths,
        ["apps/pod.yaml", "chart/values.yaml", "chart/values.yaml"]
    );
    assert_eq!(report["warnings"], serde_json::json!([]));
    // apps/pod.yaml, chart/Chart.yaml and chart/values.yaml.
    assert_eq!(report["summary"]["files_checked"], 3);
}

// --- images, rules, explain --------------------------------------------------------------

#[test]
fn images_plain_lists_location_workload_container_and_image() {
    let output = run(Path::new(PROJECT), &["images", "testdata/example"]);
    assert_eq!(output.status.code(), Some(0));
    let stdout = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 10, "{stdout}");
    assert_eq!(
        lines[0],
        "testdata/example/apps/batch/cronjob.yaml:15:20\tCronJob/nightly-report\treport\tquay.io/someone/reporter:1.0\ttagged"
    );
    assert!(lines.contains(
        &"testdata/example/apps/shop/deployment.yaml:24:16\tDeployment/shop\tcache\tredis:latest\ttagged"
    ));
    assert!(lines.contains(
        &"testdata/example/apps/batch/workflow.yaml:10:14\tWorkflowTemplate/etl\textract\tregistry.example.com/data/extract@sha256:abc123\tinvalid"
    ));
}

#[test]
fn images_json_has_the_documented_fields() {
    let output = run(
        Path::new(PROJECT),
        &["images", "--format", "json", "testdata/example"],
    );
    assert_eq!(output.status.code(), Some(0));
    let rows: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(rows.len(), 10);
    for row in &rows {
        for key in [
            "path",
            "line",
            "column",
            "kind",
            "name",
            "namespace",
            "container",
            "field",
            "image",
            "normalized",
            "tag",
            "digest",
            "status",
        ] {
            assert!(row.get(key).is_some(), "{key} missing in {row:#}");
        }
    }
    let statuses: Vec<&str> = rows.iter().map(|r| r["status"].as_str().unwrap()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == "pinned").count(), 2);
    assert_eq!(statuses.iter().filter(|s| **s == "invalid").count(), 1);
    // The web app's overlay sets its image: a row at the entry, and the base's as overridden.
    assert_eq!(statuses.iter().filter(|s| **s == "tagged").count(), 6);
    assert_eq!(statuses.iter().filter(|s| **s == "overridden").count(), 1);
    let overlay = rows
        .iter()
        .find(|r| r["field"] == "kustomize images")
        .unwrap();
    assert_eq!(
        overlay["path"],
        "testdata/example/apps/web/overlays/prod/kustomization.yaml"
    );
    assert_eq!(
        (overlay["image"].as_str(), overlay["name"].as_str()),
        (Some("ghcr.io/acme/web:3.1"), Some("prod-web"))
    );
    let cache = rows.iter().find(|r| r["container"] == "cache").unwrap();
    assert_eq!(cache["path"], "testdata/example/apps/shop/deployment.yaml");
    assert_eq!(
        (cache["line"].as_u64(), cache["column"].as_u64()),
        (Some(24), Some(16))
    );
    assert_eq!(cache["kind"], "Deployment");
    assert_eq!(cache["name"], "shop");
    assert_eq!(cache["normalized"], "docker.io/library/redis");
    assert_eq!(cache["tag"], "latest");
    assert_eq!(cache["field"], "containers");
}

#[test]
fn rules_lists_every_rule_and_explain_prints_pages() {
    let dir = Path::new(PROJECT);
    let output = run(dir, &["rules"]);
    assert_eq!(output.status.code(), Some(0));
    let stdout = String::from_utf8(output.stdout).unwrap();
    let mut ids: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    ids.sort();
    let mut pages: Vec<String> = fs::read_dir(dir.join("rules"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter_map(|name| name.strip_suffix(".md").map(str::to_string))
        .collect();
    pages.sort();
    assert_eq!(ids, pages);
    for id in [
        "digest-pinning",
        "latest-tag",
        "invalid-image-reference",
        "untrusted-registry",
        "yaml-syntax",
    ] {
        assert!(ids.contains(&id), "{id}");
    }

    let explain = run(dir, &["explain", "digest-pinning"]);
    assert_eq!(explain.status.code(), Some(0));
    let page = fs::read_to_string(dir.join("rules/digest-pinning.md")).unwrap();
    assert_eq!(String::from_utf8(explain.stdout).unwrap(), page);

    let nope = run(dir, &["explain", "nope"]);
    assert_eq!(nope.status.code(), Some(2));
    assert!(stderr(&nope).contains("nope"));
    assert!(nope.stdout.is_empty());
}

// --- custom resources and lists ----------------------------------------------------------

#[test]
fn crds_and_lists_are_checked_at_the_image_line() {
    let manifest = "\
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: r}
spec:
  template:
    spec:
      containers:
      - name: app
        image: ghcr.io/acme/app:1.0
---
apiVersion: tekton.dev/v1
kind: Task
metadata: {name: t}
spec:
  steps:
  - name: build
    image: golang:1.22
---
apiVersion: serving.knative.dev/v1
kind: Service
metadata: {name: k}
spec:
  template:
    spec:
      containers:
      - image: gcr.io/knative-samples/helloworld-go:v1
---
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Pod
  metadata: {name: inlist}
  spec:
    containers:
    - name: c
      image: busybox:1.36
";
    let dir = tree(&[("crds.yaml", manifest)]);
    let found = check(dir.path(), &[NO_NETWORK_RULES, "."]);
    let at: Vec<(&str, u64, u64)> = found.iter().map(|f| (f.0.as_str(), f.2, f.3)).collect();
    assert_eq!(
        at,
        [
            ("digest-pinning", 9, 16),
            ("digest-pinning", 17, 12),
            ("digest-pinning", 26, 16),
            ("digest-pinning", 37, 14),
        ]
    );
}

// --- output ------------------------------------------------------------------------------

#[test]
fn a_reader_that_stops_early_ends_the_output_quietly() {
    // Far more output than a pipe holds, so pinnace is still writing when the reader leaves.
    let pods: String = (0..3000)
        .map(|n| pod(&format!("nginx:1.{n}")) + "---\n")
        .collect();
    let dir = tree(&[("pods.yaml", &pods)]);
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("pinnace"))
        .current_dir(dir.path())
        .args(["check", "--format", "json", "."])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_eq!(stderr(&output), "");
}
