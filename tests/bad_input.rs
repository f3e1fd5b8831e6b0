//! Broken inputs: each becomes a finding or a warning naming its path, the run goes on with
//! the other files, and nothing panics (exit code 1 for findings, never 101 or a signal).

use std::fs;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use serde_json::Value;
use tempfile::TempDir;

const GOOD: &str = "\
apiVersion: v1
kind: Pod
metadata: {name: good}
spec:
  containers:
  - name: app
    image: nginx:1.25
";

/// A folder holding `good.yaml`, whose only finding is `digest-pinning` at 7:12.
fn folder_with_good_manifest() -> TempDir {
    let dir = TempDir::new().unwrap();
    fs::write(dir.path().join("good.yaml"), GOOD).unwrap();
    dir
}

fn pinnace(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("pinnace").unwrap();
    cmd.current_dir(dir);
    cmd
}

/// Runs `pinnace check --format json ARGS` in `dir`, expecting exit code 1, and parses stdout.
fn check_json(dir: &Path, args: &[&str]) -> Value {
    let output = pinnace(dir)
        .args(["check", "--format", "json"])
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "stderr: {stderr}");
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}); stderr: {stderr}"))
}

fn findings<'a>(report: &'a Value, rule: &str) -> Vec<&'a Value> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == rule)
        .collect()
}

/// The good manifest in the same folder was still checked.
fn assert_good_checked(report: &Value) {
    let good: Vec<_> = findings(report, "digest-pinning")
        .into_iter()
        .filter(|f| f["path"] == "good.yaml")
        .collect();
    assert_eq!(good.len(), 1, "good.yaml was not checked: {report:#}");
    assert_eq!(
        (good[0]["line"].as_u64(), good[0]["column"].as_u64()),
        (Some(7), Some(12))
    );
}

fn warnings_for<'a>(report: &'a Value, path: &str) -> Vec<&'a str> {
    report["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["path"] == path)
        .map(|w| w["message"].as_str().unwrap())
        .collect()
}

#[test]
fn non_utf8_file_is_a_yaml_syntax_finding_in_json() {
    let dir = folder_with_good_manifest();
    fs::write(dir.path().join("latin1.yaml"), b"kind: Pod\nx: \xff\xfe\n").unwrap();
    let report = check_json(dir.path(), &["."]);
    let syntax = findings(&report, "yaml-syntax");
    assert_eq!(syntax.len(), 1, "{report:#}");
    assert_eq!(syntax[0]["path"], "latin1.yaml");
    assert_eq!(syntax[0]["line"], 2);
    assert_eq!(syntax[0]["column"], 4);
    assert_good_checked(&report);
}

#[test]
fn non_utf8_file_is_a_yaml_syntax_finding_in_human_output() {
    let dir = folder_with_good_manifest();
    fs::write(dir.path().join("latin1.yaml"), b"kind: Pod\nx: \xff\xfe\n").unwrap();
    let output = pinnace(dir.path())
        .args(["--color", "never", "check", "."])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("yaml-syntax"), "{stdout}");
    assert!(stdout.contains("not UTF-8"), "{stdout}");
    assert!(stdout.contains("latin1.yaml:2:4"), "{stdout}");
    assert!(stdout.contains("good.yaml:7:12"), "{stdout}");
}

#[test]
fn binary_file_is_a_warning_and_other_files_are_checked() {
    let dir = folder_with_good_manifest();
    fs::write(
        dir.path().join("blob.yaml"),
        b"kind: Pod\0\0\x01\x02binary\0",
    )
    .unwrap();

    let report = check_json(dir.path(), &["."]);
    let warnings = warnings_for(&report, "blob.yaml");
    assert_eq!(warnings.len(), 1, "{report:#}");
    assert!(warnings[0].contains("binary"), "{}", warnings[0]);
    assert!(findings(&report, "yaml-syntax").is_empty(), "{report:#}");
    assert_good_checked(&report);
    assert_eq!(report["summary"]["files_checked"], 1);

    let output = pinnace(dir.path())
        .args(["--color", "never", "check", "."])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let all = format!("{stdout}{stderr}");
    assert!(
        all.lines()
            .any(|l| l.starts_with("warning: blob.yaml:") && l.contains("binary")),
        "no warning for blob.yaml:\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(stdout.contains("good.yaml:7:12"), "{stdout}");
}

#[test]
fn binary_file_warning_goes_to_stderr_in_human_format() {
    let dir = folder_with_good_manifest();
    fs::write(
        dir.path().join("blob.yaml"),
        b"kind: Pod\0\0\x01\x02binary\0",
    )
    .unwrap();
    let output = pinnace(dir.path())
        .args(["--color", "never", "check", "."])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("blob.yaml") && stderr.contains("binary"),
        "stderr: {stderr}"
    );
}

#[test]
fn file_over_the_size_limit_is_a_warning_and_other_files_are_checked() {
    let dir = folder_with_good_manifest();
    let started = Instant::now();
    let mut big = std::io::BufWriter::new(fs::File::create(dir.path().join("huge.yaml")).unwrap());
    let chunk = "a: b\n".repeat(1024 * 1024 / 5 + 1);
    let chunk = &chunk.as_bytes()[..1024 * 1024];
    for _ in 0..100 {
        big.write_all(chunk).unwrap();
    }
    big.into_inner().unwrap().sync_all().unwrap();
    assert_eq!(
        fs::metadata(dir.path().join("huge.yaml")).unwrap().len(),
        100 * 1024 * 1024
    );

    let report = check_json(dir.path(), &["."]);
    let warnings = warnings_for(&report, "huge.yaml");
    assert_eq!(warnings.len(), 1, "{report:#}");
    assert!(warnings[0].contains("100.0 MiB"), "{}", warnings[0]);
    assert!(warnings[0].contains("16 MiB limit"), "{}", warnings[0]);
    assert_good_checked(&report);
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "took {:?}",
        started.elapsed()
    );
}

/// Nesting far deeper than any manifest: a `yaml-syntax` finding with a location, and the
/// process neither overflows its stack nor panics.
fn assert_deep_nesting_is_a_finding(report: &Value, path: &str) {
    let syntax = findings(report, "yaml-syntax");
    assert_eq!(syntax.len(), 1, "{report:#}");
    assert_eq!(syntax[0]["path"], path);
    assert!(syntax[0]["line"].as_u64().unwrap() >= 1);
    assert!(syntax[0]["column"].as_u64().unwrap() >= 1);
}

#[test]
fn flow_nesting_ten_thousand_deep_is_a_finding() {
    let dir = folder_with_good_manifest();
    let text = format!("{}{}\n", "[".repeat(10_000), "]".repeat(10_000));
    fs::write(dir.path().join("flow.yaml"), text).unwrap();
    let report = check_json(dir.path(), &["."]);
    assert_deep_nesting_is_a_finding(&report, "flow.yaml");
    assert_eq!(findings(&report, "yaml-syntax")[0]["line"], 1);
    assert_good_checked(&report);
}

#[test]
fn block_sequence_nesting_ten_thousand_deep_is_a_finding() {
    let dir = folder_with_good_manifest();
    // `- - - x` nests block sequences on one line.
    fs::write(
        dir.path().join("block.yaml"),
        format!("{}x\n", "- ".repeat(10_000)),
    )
    .unwrap();
    let report = check_json(dir.path(), &["."]);
    assert_deep_nesting_is_a_finding(&report, "block.yaml");
    let message = findings(&report, "yaml-syntax")[0]["message"]
        .as_str()
        .unwrap();
    assert!(message.contains("nest deeper"), "{message}");
    assert_good_checked(&report);
}

#[test]
fn block_mapping_nesting_ten_thousand_deep_is_a_finding() {
    // `a:\n  a:\n    a: …` ten thousand levels is ~100 MB of indentation, over the file
    // size limit, so it goes through standard input, which is read whole.
    let mut text = String::with_capacity(101 * 1024 * 1024);
    for depth in 0..10_000 {
        text.push_str(&" ".repeat(2 * depth));
        text.push_str("a:\n");
    }
    text.push_str(&" ".repeat(20_000));
    text.push_str("x\n");
    let dir = TempDir::new().unwrap();
    let output = pinnace(dir.path())
        .args(["check", "--format", "json", "-"])
        .write_stdin(text)
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_deep_nesting_is_a_finding(&report, "<stdin>");
    let finding = findings(&report, "yaml-syntax")[0];
    assert!(finding["line"].as_u64().unwrap() > 1, "{finding:#}");
}

#[test]
fn alias_bomb_is_a_finding_quickly() {
    let dir = folder_with_good_manifest();
    let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];
    let mut text = format!(
        "{}: &{} [{}]\n",
        names[0],
        names[0],
        ["\"lol\""; 9].join(",")
    );
    for pair in names.windows(2) {
        let refs = vec![format!("*{}", pair[0]); 9].join(",");
        text.push_str(&format!("{}: &{} [{refs}]\n", pair[1], pair[1]));
    }
    fs::write(dir.path().join("lol.yaml"), text).unwrap();

    let started = Instant::now();
    let report = check_json(dir.path(), &["."]);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    let syntax = findings(&report, "yaml-syntax");
    assert_eq!(syntax.len(), 1, "{report:#}");
    assert_eq!(syntax[0]["path"], "lol.yaml");
    let message = syntax[0]["message"].as_str().unwrap();
    assert!(message.contains("aliases"), "{message}");
    assert!(syntax[0]["line"].as_u64().unwrap() > 1);
    assert_good_checked(&report);
}

#[test]
fn syntax_error_in_second_document_keeps_first_documents_findings() {
    let dir = TempDir::new().unwrap();
    let text = format!(
        "{GOOD}---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: two: three\nspec: {{}}\n"
    );
    fs::write(dir.path().join("multi.yaml"), text).unwrap();
    let report = check_json(dir.path(), &["multi.yaml"]);
    let pinning = findings(&report, "digest-pinning");
    assert_eq!(pinning.len(), 1, "{report:#}");
    assert_eq!(
        (pinning[0]["line"].as_u64(), pinning[0]["column"].as_u64()),
        (Some(7), Some(12))
    );
    let syntax = findings(&report, "yaml-syntax");
    assert_eq!(syntax.len(), 1, "{report:#}");
    assert_eq!(syntax[0]["path"], "multi.yaml");
    assert_eq!(syntax[0]["line"], 12, "{report:#}");
    // Findings are in source order: the first document's come first.
    let lines: Vec<u64> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["line"].as_u64().unwrap())
        .collect();
    assert!(lines.is_sorted(), "{lines:?}");
    assert!(lines[lines.len() - 1] == 12, "{lines:?}");
}

#[cfg(unix)]
fn folder_with_symlink_loop() -> TempDir {
    let dir = TempDir::new().unwrap();
    let inner = dir.path().join("dir");
    fs::create_dir(&inner).unwrap();
    fs::write(inner.join("good.yaml"), GOOD).unwrap();
    std::os::unix::fs::symlink(&inner, inner.join("loop")).unwrap();
    dir
}

#[cfg(unix)]
#[test]
fn symlink_loop_is_a_warning_and_the_run_finishes() {
    let dir = folder_with_symlink_loop();
    let report = check_json(dir.path(), &["dir"]);
    let warnings = report["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{report:#}");
    let message = warnings[0]["message"].as_str().unwrap();
    assert!(message.to_lowercase().contains("loop"), "{message}");
    let good = findings(&report, "digest-pinning");
    assert_eq!(good.len(), 1, "{report:#}");
    assert_eq!(good[0]["path"], "dir/good.yaml");
}

#[cfg(unix)]
#[test]
fn symlink_loop_warning_names_the_link() {
    let dir = folder_with_symlink_loop();
    let report = check_json(dir.path(), &["dir"]);
    let warning = &report["warnings"][0];
    assert_eq!(warning["path"], "dir/loop", "{report:#}");
    assert!(
        warning["message"]
            .as_str()
            .unwrap()
            .starts_with("symlink loop back to"),
        "{report:#}"
    );
}

#[test]
fn json_that_is_not_a_manifest_is_ignored() {
    let dir = TempDir::new().unwrap();
    fs::write(
        dir.path().join("tsconfig.json"),
        "{\n  // comments are not JSON\n  \"compilerOptions\": {\"target\": \"es2020\", /* x */ \"strict\": true,},\n}\n",
    )
    .unwrap();
    let output = pinnace(dir.path())
        .args(["check", "--format", "json", "."])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["findings"], serde_json::json!([]));
    assert_eq!(report["warnings"], serde_json::json!([]));
}

#[test]
fn json_manifest_is_checked_at_the_right_place() {
    let dir = TempDir::new().unwrap();
    let text = r#"{
  "apiVersion": "v1",
  "kind": "Pod",
  "metadata": {"name": "web"},
  "spec": {
    "containers": [
      {"name": "app", "image": "nginx:1.25"}
    ]
  }
}
"#;
    fs::write(dir.path().join("pod.json"), text).unwrap();
    fs::write(dir.path().join("tsconfig.json"), "{\n  // no\n}\n").unwrap();
    let report = check_json(dir.path(), &["."]);
    let all = report["findings"].as_array().unwrap();
    assert!(all.iter().all(|f| f["path"] == "pod.json"), "{report:#}");
    let pinning = findings(&report, "digest-pinning");
    assert_eq!(pinning.len(), 1, "{report:#}");
    let line = text.lines().nth(6).unwrap();
    // The span covers the quoted string as written.
    let column = line.find("\"nginx:1.25\"").unwrap() as u64 + 1;
    assert_eq!(pinning[0]["line"], 7);
    assert_eq!(pinning[0]["column"], column);
    assert_eq!(
        pinning[0]["end_column"],
        column + "\"nginx:1.25\"".len() as u64
    );
    assert_eq!(pinning[0]["container"], "app");
}
