//! A repository written to attack whoever checks it: links out of the tree, files that are
//! not files, and inputs made to crash the process. Each is a warning or an error naming the
//! problem; nothing outside the tree is read, and nothing panics.

mod common;

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;

use common::{pod, run, stderr, tree};
use serde_json::Value;

/// `check --format json ARGS` in `dir`: the report, after a normal exit (0 or 1).
fn check_json(dir: &Path, args: &[&str]) -> Value {
    let output = run(dir, &[&["check", "--format", "json"], args].concat());
    assert!(
        matches!(output.status.code(), Some(0 | 1)),
        "{}",
        stderr(&output)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn the_walk_does_not_follow_a_folder_link_out_of_the_tree() {
    let outside = tree(&[("secret.yaml", &pod("outside.example/secret:1"))]);
    let dir = tree(&[("repo/app.yaml", &pod("nginx:1.25"))]);
    symlink(outside.path(), dir.path().join("repo/etc")).unwrap();
    symlink(
        outside.path().join("secret.yaml"),
        dir.path().join("repo/linked.yaml"),
    )
    .unwrap();
    let report = check_json(dir.path(), &["repo"]);
    let text = report.to_string();
    assert!(!text.contains("outside.example"), "{report:#}");
    let warnings: Vec<&str> = report["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["message"].as_str().unwrap())
        .collect();
    assert_eq!(warnings.len(), 2, "{report:#}");
    assert!(
        warnings.iter().all(|w| w.contains("not followed")),
        "{warnings:?}"
    );
    assert!(text.contains("repo/app.yaml"), "{report:#}");
}

#[test]
fn a_link_inside_the_tree_is_followed() {
    let dir = tree(&[("repo/real/app.yaml", &pod("nginx:1.25"))]);
    symlink("real", dir.path().join("repo/linked")).unwrap();
    let report = check_json(dir.path(), &["repo/linked", common::NO_NETWORK_RULES]);
    assert_eq!(
        report["findings"].as_array().unwrap().len(),
        1,
        "{report:#}"
    );
}

#[test]
fn a_named_pipe_among_manifests_is_skipped() {
    let dir = tree(&[("repo/app.yaml", &pod("nginx:1.25"))]);
    let status = std::process::Command::new("mkfifo")
        .arg(dir.path().join("repo/pipe.yaml"))
        .status()
        .unwrap();
    assert!(status.success());
    let report = check_json(
        dir.path(),
        &["repo", "repo/pipe.yaml", common::NO_NETWORK_RULES],
    );
    assert_eq!(
        report["findings"].as_array().unwrap().len(),
        1,
        "{report:#}"
    );
    assert!(
        report.to_string().contains("not a regular file"),
        "{report:#}"
    );
}

/// A repository with a chart and a `.pinnace.yaml` naming `tools/helm`, a program that
/// leaves a mark when it runs.
fn repo_with_its_own_helm(config: &str) -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let dir = tree(&[
        ("repo/.pinnace.yaml", config),
        (
            "repo/app/Chart.yaml",
            "apiVersion: v2\nname: app\nversion: 0.1.0\n",
        ),
        ("repo/app/values.yaml", "replicas: 1\n"),
        (
            "repo/tools/helm",
            "#!/bin/sh\n/usr/bin/touch \"${0%/helm}/ran\"\n",
        ),
    ]);
    let helm = dir.path().join("repo/tools/helm");
    std::fs::set_permissions(&helm, std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

/// `check` in the repository with an empty PATH and home, and the given environment.
fn check_repo(dir: &Path, env: &[(&str, &Path)]) -> std::process::Output {
    let home = tempfile::TempDir::new().unwrap();
    let mut command = assert_cmd::Command::cargo_bin("pinnace").unwrap();
    command
        .current_dir(dir.join("repo"))
        .env("PATH", home.path())
        .env("HOME", home.path())
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("PINNACE_CONFIG")
        .args(["check", "--format", "json", "."]);
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().unwrap()
}

#[test]
fn a_found_config_cannot_make_pinnace_run_a_program() {
    let dir = repo_with_its_own_helm(
        "helm: {binary: tools/helm}\nregistries: {insecure: [evil.example], mirrors: {docker.io: evil.example}}\n",
    );
    let output = check_repo(dir.path(), &[]);
    assert!(
        matches!(output.status.code(), Some(0 | 1)),
        "{}",
        stderr(&output)
    );
    assert!(!dir.path().join("repo/tools/ran").exists());
    let stderr = stderr(&output);
    let warning: Vec<&str> = stderr.lines().filter(|l| l.contains("ignored")).collect();
    assert_eq!(warning.len(), 1, "{stderr}");
    for key in ["helm.binary", "registries.insecure", "registries.mirrors"] {
        assert!(warning[0].contains(key), "{stderr}");
    }
}

#[test]
fn a_config_the_invoker_names_may_run_helm() {
    let dir = repo_with_its_own_helm("helm: {binary: tools/helm}\n");
    let config = dir.path().join("repo/.pinnace.yaml");
    let output = check_repo(dir.path(), &[("PINNACE_CONFIG", &config)]);
    assert!(
        matches!(output.status.code(), Some(0 | 1)),
        "{}",
        stderr(&output)
    );
    assert!(
        dir.path().join("repo/tools/ran").exists(),
        "{}",
        stderr(&output)
    );
    assert!(!stderr(&output).contains("ignored"), "{}", stderr(&output));
}

#[test]
fn the_users_own_config_gives_helm_to_a_tree_whose_config_may_not() {
    let dir = repo_with_its_own_helm("helm: {binary: tools/helm}\n");
    let user = tempfile::TempDir::new().unwrap();
    let helm = dir.path().join("repo/tools/helm");
    fs::create_dir_all(user.path().join("pinnace")).unwrap();
    fs::write(
        user.path().join("pinnace/config.yaml"),
        format!("helm: {{binary: {}}}\n", helm.display()),
    )
    .unwrap();
    let output = check_repo(dir.path(), &[("XDG_CONFIG_HOME", user.path())]);
    assert!(
        matches!(output.status.code(), Some(0 | 1)),
        "{}",
        stderr(&output)
    );
    assert!(
        dir.path().join("repo/tools/ran").exists(),
        "{}",
        stderr(&output)
    );
}

/// `check` with this `.pinnace.yaml`: exit code 2, and stderr.
fn config_error(config: &str) -> String {
    let dir = tree(&[(".pinnace.yaml", config), ("app.yaml", &pod("nginx:1.25"))]);
    let output = run(dir.path(), &["check", "--color", "never", "."]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    stderr(&output)
}

#[test]
fn release_names_and_namespaces_that_helm_refuses_are_config_errors() {
    for (entry, word) in [
        ("release: \"--output-dir=/tmp/x\"", "release"),
        ("release: \"--set-file=x=/etc/passwd\"", "release"),
        ("namespace: \"--kube-context=x\"", "namespace"),
        (&format!("release: {}", "a".repeat(54)), "release"),
    ] {
        let error = config_error(&format!("helm:\n  charts:\n  - path: app\n    {entry}\n"));
        assert!(error.contains(&format!("invalid {word}")), "{error}");
        assert!(error.contains(":4:"), "{error}");
    }
}

#[test]
fn a_duplicated_key_is_a_config_error_naming_both_lines() {
    let error = config_error(
        "overrides:\n- paths: [a]\n  rules: {digest-pinning: off}\nexclude: []\noverrides:\n- paths: [b]\n- paths: [c]\n",
    );
    assert!(
        error.contains("duplicate key `overrides` (lines 1 and 5)"),
        "{error}"
    );
    let nested = config_error("helm:\n  render: false\n  render: true\n");
    assert!(nested.contains("lines 2 and 3"), "{nested}");
}

#[test]
fn a_helm_timeout_that_overflows_the_clock_is_a_config_error() {
    let error = config_error("helm: {timeout_seconds: 9223372036854775807}\n");
    assert!(error.contains("timeout_seconds"), "{error}");
}

#[test]
fn a_finding_past_column_65535_is_reported_without_a_snippet() {
    let padding = "x".repeat(70_000);
    let json = format!(
        "{{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{{\"name\":\"p\",\"annotations\":{{\"a\":\"{padding}\"}}}},\"spec\":{{\"containers\":[{{\"name\":\"c\",\"image\":\"nginx:1.25\"}}]}}}}"
    );
    let dir = tree(&[("pod.json", &json)]);
    let output = run(dir.path(), &["check", "--color", "never", "pod.json"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("pod.json:1:70"),
        "{}",
        &stdout[..stdout.len().min(2000)]
    );
    // A config error that far right is reported too.
    let config = format!("{{\"rules\": {{\"x\"{}: 1}}}}\n", " ".repeat(70_000));
    let error = config_error(&config);
    assert!(
        error.contains("rules.x"),
        "{}",
        &error[..error.len().min(2000)]
    );
}

#[test]
fn jobs_and_durations_out_of_range_are_usage_errors() {
    let dir = tree(&[("app.yaml", &pod("nginx:1.25"))]);
    for args in [
        &["check", "--online", "--jobs", "1000000", "."][..],
        &["pin", "--dry-run", "--jobs", "0", "."],
        &["migrate", "--repos", "x", "--jobs", "1000000"],
        &["migrate", "--repos", "x", "--registry-jobs", "1000000"],
        &[
            "pin",
            "--dry-run",
            "--cache-max-age",
            "213503982334602d",
            ".",
        ],
        &[
            "pin",
            "--dry-run",
            "--cache-max-age",
            "18446744073709551615s",
            ".",
        ],
    ] {
        let output = run(dir.path(), args);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            stderr(&output)
        );
    }
}

#[test]
fn a_rendered_source_comment_cannot_point_outside_the_chart() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tree(&[
        ("outside/secret.yaml", "token: hunter2-outside\n"),
        ("repo/config.yaml", "helm: {binary: tools/helm}\n"),
        (
            "repo/app/Chart.yaml",
            "apiVersion: v2\nname: app\nversion: 0.1.0\n",
        ),
        ("repo/app/values.yaml", "replicas: 1\n"),
        (
            "repo/tools/helm",
            "#!/bin/sh\nprintf -- '---\\n# Source: app/../../outside/secret.yaml\\nkind: Pod\\nmetadata:\\n  name: p\\nspec:\\n  containers:\\n    - name: c\\n      image: nginx:1.25\\n'\n",
        ),
    ]);
    let helm = dir.path().join("repo/tools/helm");
    fs::set_permissions(&helm, fs::Permissions::from_mode(0o755)).unwrap();
    let config = dir.path().join("repo/config.yaml");
    let output = check_repo(dir.path(), &[("PINNACE_CONFIG", &config)]);
    assert!(
        matches!(output.status.code(), Some(0 | 1)),
        "{}",
        stderr(&output)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("nginx:1.25"), "{stdout}");
    assert!(!stdout.contains("hunter2"), "{stdout}");
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    for finding in report["findings"].as_array().unwrap() {
        let path = finding["path"].as_str().unwrap();
        assert!(
            !path.contains("secret"),
            "reported in the outside file: {path}"
        );
    }
}
