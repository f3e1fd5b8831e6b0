//! One `pinnace check` run, three outputs: `--format github` annotations on stdout, SARIF in
//! `--sarif-file`, and a Markdown job summary appended to `--summary`.

mod common;

use std::fs;
use std::path::Path;

use common::{NO_NETWORK_RULES, PROJECT, pod, run, stderr, tree};
use serde_json::Value;

fn example_run(dir: &Path) -> (String, String, Value, i32) {
    let summary = dir.join("summary.md");
    fs::write(&summary, "## an earlier step\n\n").unwrap();
    let sarif = dir.join("out.sarif");
    let output = run(
        Path::new(PROJECT),
        &[
            "check",
            "testdata/example",
            "--format",
            "github",
            "--summary",
            summary.to_str().unwrap(),
            "--sarif-file",
            sarif.to_str().unwrap(),
        ],
    );
    let log: Value = serde_json::from_str(&fs::read_to_string(sarif).unwrap()).unwrap();
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        fs::read_to_string(summary).unwrap(),
        log,
        output.status.code().unwrap(),
    )
}

#[test]
fn annotations_sarif_and_summary_come_from_one_run() {
    let dir = tempfile::tempdir().unwrap();
    let (stdout, summary, log, code) = example_run(dir.path());
    assert_eq!(code, 1);
    let annotations = stdout.lines().filter(|l| l.starts_with("::")).count();
    assert_eq!(annotations, 10, "{stdout}");
    assert_eq!(log["version"], "2.1.0");
    assert_eq!(log["runs"][0]["results"].as_array().unwrap().len(), 10);
    assert!(
        summary.starts_with("## an earlier step\n\n## pinnace\n"),
        "appended: {summary}"
    );
    assert!(
        summary.contains(":x: **10 findings** (8 errors, 2 warnings, 0 notes) in 9 files checked."),
        "{summary}"
    );
    assert!(
        summary.contains("| Rule | File | Severity | Findings |"),
        "{summary}"
    );
    assert!(
        summary.contains(
            "| `digest-pinning` | testdata/example/apps/shop/deployment.yaml | :x: error | 2 |"
        ),
        "{summary}"
    );
    assert!(
        summary.contains("| `digest-pinning` | testdata/example/platform/monitoring.yaml | :warning: warning | 1 |"),
        "{summary}"
    );
    assert!(
        summary.contains(
            "| :x: error | `latest-tag` | testdata/example/apps/shop/deployment.yaml:24:23 |"
        ),
        "{summary}"
    );
}

#[test]
fn a_clean_run_says_so_and_counts_the_baseline() {
    let dir = tree(&[("pod.yaml", &pod("alpine:3"))]);
    let root = dir.path();
    run(
        root,
        &[
            "check",
            NO_NETWORK_RULES,
            "--baseline",
            "b.json",
            "--update-baseline",
        ],
    );
    let output = run(
        root,
        &[
            "check",
            NO_NETWORK_RULES,
            "pod.yaml",
            "--baseline",
            "b.json",
            "--summary",
            "summary.md",
            "--sarif-file",
            "out.sarif",
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let summary = fs::read_to_string(root.join("summary.md")).unwrap();
    assert!(
        summary.contains(
            ":white_check_mark: No findings in 1 file checked. 1 finding in the baseline not shown."
        ),
        "{summary}"
    );
    assert!(!summary.contains("| Rule |"), "{summary}");
    let log: Value =
        serde_json::from_str(&fs::read_to_string(root.join("out.sarif")).unwrap()).unwrap();
    assert_eq!(log["runs"][0]["results"].as_array().unwrap().len(), 0);
}

#[test]
fn markdown_in_messages_cannot_break_the_table() {
    let dir = tree(&[(
        "pod.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: a\n    image: \"nginx|<b>:1\"\n",
    )]);
    let output = run(dir.path(), &["check", "--summary", "s.md"]);
    assert_eq!(output.status.code(), Some(1));
    let summary = fs::read_to_string(dir.path().join("s.md")).unwrap();
    let row = summary
        .lines()
        .find(|l| l.contains("invalid-image-reference") && l.contains("pod.yaml:"))
        .unwrap_or_else(|| panic!("{summary}"));
    assert!(row.contains("nginx\\|&lt;b>:1"), "{row}");
    assert_eq!(row.matches(" | ").count(), 3, "four cells: {row}");
}

#[test]
fn an_unwritable_output_fails_before_checking() {
    let dir = tree(&[("pod.yaml", &pod("alpine:3"))]);
    let output = run(
        dir.path(),
        &["check", "--sarif-file", "no/such/folder/out.sarif"],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("cannot write the SARIF file no/such/folder/out.sarif"),
        "{}",
        stderr(&output)
    );
    assert!(output.stdout.is_empty());
}
