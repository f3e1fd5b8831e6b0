//! A repository written to attack whoever checks it: links out of the tree, files that are
//! not files, and inputs made to crash the process. Each is a warning or an error naming the
//! problem; nothing outside the tree is read, and nothing panics.

mod common;

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
