//! Helpers shared by the CLI test files: fixtures in a temporary folder and runs of the
//! real binary.
#![allow(dead_code)]

use std::fs;
use std::path::Path;
use std::process::Output;

use assert_cmd::Command;
use serde_json::Value;
use tempfile::TempDir;

pub const PROJECT: &str = env!("CARGO_MANIFEST_DIR");

/// For tests about the image rules: their fixtures are pods without NetworkPolicies, which the
/// network rules would flag too (tests/rule_scope.rs and the rule pages cover those).
pub const NO_NETWORK_RULES: &str = "--ignore=missing-network-policy,missing-default-deny";

/// The same as a `.pinnace.yaml`, for tests that run pinnace through other tools.
pub const NO_NETWORK_CONFIG: &str =
    "rules: {missing-network-policy: off, missing-default-deny: off}\n";

pub fn pod(image: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec:\n  containers:\n  - name: app\n    image: {image}\n"
    )
}

pub const PINNED: &str =
    "nginx:1.25@sha256:0000000000000000000000000000000000000000000000000000000000000000";

/// A temporary folder holding the given files (parents created).
pub fn tree(files: &[(&str, &str)]) -> TempDir {
    let dir = TempDir::new().unwrap();
    for (path, text) in files {
        let path = dir.path().join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }
    dir
}

pub fn run(dir: &Path, args: &[&str]) -> Output {
    Command::cargo_bin("pinnace")
        .unwrap()
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap()
}

pub fn code(dir: &Path, args: &[&str]) -> i32 {
    run(dir, args).status.code().expect("exited normally")
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The findings of `check --format json ARGS` run in `dir`, whose exit code must be 0 or 1.
pub fn check_findings(dir: &Path, args: &[&str]) -> Vec<Value> {
    let output = run(dir, &[&["check", "--format", "json"], args].concat());
    assert!(
        matches!(output.status.code(), Some(0 | 1)),
        "{}",
        stderr(&output)
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    report["findings"].as_array().unwrap().clone()
}

/// `check --format json ARGS`: the exit code must be 0 or 1; returns the findings as
/// (rule, path, line, column).
pub fn check(dir: &Path, args: &[&str]) -> Vec<(String, String, u64, u64)> {
    check_findings(dir, args)
        .iter()
        .map(|f| {
            let text = |k: &str| f[k].as_str().unwrap().to_string();
            let num = |k: &str| f[k].as_u64().unwrap();
            (text("rule"), text("path"), num("line"), num("column"))
        })
        .collect()
}

pub fn rules(findings: &[(String, String, u64, u64)]) -> Vec<&str> {
    findings.iter().map(|f| f.0.as_str()).collect()
}
