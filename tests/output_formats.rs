//! The output formats of `pinnace check`: SARIF (validated against the OASIS schema), GitHub
//! workflow commands, JSON and human output (snapshots), and colour.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;
use tempfile::TempDir;

const PROJECT: &str = env!("CARGO_MANIFEST_DIR");

/// For fixtures about other rules: a pod without NetworkPolicies is flagged by these too.
const NO_NETWORK_RULES: &str = "--ignore=missing-network-policy,missing-default-deny";

fn pinnace(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("pinnace").unwrap();
    cmd.current_dir(dir).env_remove("NO_COLOR");
    cmd
}

/// `pinnace ARGS` run from the project folder; stdout, with exit code 1 (findings) expected.
fn run_example(args: &[&str]) -> String {
    let output = pinnace(Path::new(PROJECT)).args(args).output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(1),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn sarif(dir: &Path, path: &str) -> Value {
    let output = pinnace(dir)
        .args(["check", "--format", "sarif", path])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    serde_json::from_slice(&output.stdout).unwrap()
}

fn results(log: &Value) -> &Vec<Value> {
    log["runs"][0]["results"].as_array().unwrap()
}

// --- SARIF -------------------------------------------------------------------------------

#[test]
fn sarif_validates_against_the_sarif_2_1_0_schema() {
    let schema_path = Path::new(PROJECT).join("testdata/schemas/sarif-schema-2.1.0.json");
    let schema: Value = serde_json::from_str(&fs::read_to_string(schema_path).unwrap()).unwrap();
    // `offline()`: any reference outside the schema fails instead of being fetched.
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft7)
        .offline()
        .build(&schema)
        .expect("the SARIF schema compiles offline");

    let log = sarif(Path::new(PROJECT), "testdata/example");
    let errors: Vec<String> = validator
        .iter_errors(&log)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "SARIF is invalid:\n{}",
        errors.join("\n")
    );
    assert_eq!(log["version"], "2.1.0");
    assert_eq!(results(&log).len(), 10);

    // Sanity: the validator does reject a broken log.
    let mut broken = log.clone();
    broken["runs"][0]["results"][0]["level"] = Value::from("loud");
    assert!(!validator.is_valid(&broken));
}

#[test]
fn sarif_results_have_rule_level_region_and_fingerprints() {
    let log = sarif(Path::new(PROJECT), "testdata/example");
    let rules: Vec<&str> = log["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    for result in results(&log) {
        let rule = result["ruleId"].as_str().expect("ruleId");
        assert!(rules.contains(&rule), "{rule} is not in tool.driver.rules");
        let index = result["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index], rule);
        assert!(
            ["error", "warning", "note"].contains(&result["level"].as_str().unwrap()),
            "{result:#}"
        );
        let location = &result["locations"][0]["physicalLocation"];
        let uri = location["artifactLocation"]["uri"].as_str().unwrap();
        assert!(uri.starts_with("testdata/example/"), "{uri}");
        let region = &location["region"];
        for key in ["startLine", "startColumn", "endLine", "endColumn"] {
            assert!(region[key].as_u64().unwrap() >= 1, "{key} in {result:#}");
        }
        let fingerprints = result["partialFingerprints"].as_object().unwrap();
        assert!(!fingerprints.is_empty(), "{result:#}");
        assert!(
            fingerprints
                .values()
                .all(|v| !v.as_str().unwrap().is_empty())
        );
    }
    // The downgraded finding under platform/ is a warning, the rest errors.
    let levels: Vec<(&str, &str)> = results(&log)
        .iter()
        .map(|r| {
            (
                r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                    .as_str()
                    .unwrap(),
                r["level"].as_str().unwrap(),
            )
        })
        .filter(|(_, level)| *level == "warning")
        .collect();
    // So is the network rules' finding: `monitoring` has no NetworkPolicy, which the
    // default-deny finding says once.
    assert_eq!(
        levels,
        [("testdata/example/platform/monitoring.yaml", "warning"); 2]
    );
}

/// Fingerprint per (rule, message) of each result, with the start line.
fn fingerprints(log: &Value) -> BTreeMap<(String, String), (String, u64)> {
    results(log)
        .iter()
        .map(|r| {
            let region = &r["locations"][0]["physicalLocation"]["region"];
            (
                (
                    r["ruleId"].as_str().unwrap().to_string(),
                    r["message"]["text"].as_str().unwrap().to_string(),
                ),
                (
                    r["partialFingerprints"]["pinnaceFinding/v1"]
                        .as_str()
                        .unwrap()
                        .to_string(),
                    region["startLine"].as_u64().unwrap(),
                ),
            )
        })
        .collect()
}

#[test]
fn sarif_fingerprints_survive_blank_lines_above_the_finding() {
    let dir = TempDir::new().unwrap();
    let manifest = "\
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop}
spec:
  containers:
  - name: app
    image: nginx:latest
  - name: sidecar
    image: quay.io/acme/proxy:2.0
";
    fs::write(dir.path().join("pod.yaml"), manifest).unwrap();
    // One finding per rule: the network rules would add findings about the namespace.
    let sarif = |dir, path| {
        let output = pinnace(dir)
            .args(["check", "--format", "sarif", NO_NETWORK_RULES, path])
            .output()
            .unwrap();
        serde_json::from_slice::<Value>(&output.stdout).unwrap()
    };
    let before = fingerprints(&sarif(dir.path(), "pod.yaml"));
    assert_eq!(before.len(), 3, "{before:?}");

    fs::write(dir.path().join("pod.yaml"), format!("\n\n\n{manifest}")).unwrap();
    let after = fingerprints(&sarif(dir.path(), "pod.yaml"));
    assert_eq!(after.len(), before.len());
    for (key, (fingerprint, line)) in &before {
        let (moved_fingerprint, moved_line) = &after[key];
        assert_eq!(moved_line, &(line + 3), "{key:?} did not move");
        assert_eq!(
            moved_fingerprint, fingerprint,
            "{key:?} changed fingerprint"
        );
    }
    // Distinct findings keep distinct identities.
    let mut distinct: Vec<&String> = before.values().map(|(f, _)| f).collect();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), before.len());
}

// --- GitHub ------------------------------------------------------------------------------

/// A parsed `::command key=value,…::message` line.
struct Annotation {
    command: String,
    properties: BTreeMap<String, String>,
    message: String,
}

fn parse_annotation(line: &str) -> Annotation {
    let rest = line.strip_prefix("::").unwrap_or_else(|| panic!("{line}"));
    let (head, message) = rest.split_once("::").unwrap_or_else(|| panic!("{line}"));
    let (command, properties) = head.split_once(' ').unwrap_or_else(|| panic!("{line}"));
    let properties = properties
        .split(',')
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or_else(|| panic!("{line}"));
            (key.to_string(), value.to_string())
        })
        .collect();
    Annotation {
        command: command.to_string(),
        properties,
        message: message.to_string(),
    }
}

#[test]
fn github_lines_are_workflow_commands_with_full_positions() {
    let stdout = run_example(&["check", "--format", "github", "testdata/example"]);
    let annotations: Vec<Annotation> = stdout.lines().map(parse_annotation).collect();
    assert_eq!(annotations.len(), 10, "{stdout}");
    for (line, a) in stdout.lines().zip(&annotations) {
        let keys: Vec<&str> = a.properties.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            ["col", "endColumn", "endLine", "file", "line", "title"],
            "{line}"
        );
        // Written in this order, as the runner documents them.
        let order = [
            "file=",
            ",line=",
            ",col=",
            ",endLine=",
            ",endColumn=",
            ",title=",
        ];
        let positions: Vec<usize> = order.iter().map(|k| line.find(k).unwrap()).collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{line}");
        for key in ["line", "col", "endLine", "endColumn"] {
            assert!(a.properties[key].parse::<u32>().unwrap() >= 1, "{line}");
        }
        assert!(
            a.properties["file"].starts_with("testdata/example/"),
            "{line}"
        );
        assert!(a.properties["title"].starts_with("pinnace%3A "), "{line}");
        assert!(!a.message.contains('\n'), "{line}");
    }
    let first = &annotations[0];
    assert_eq!(first.command, "error");
    assert_eq!(
        first.properties["file"],
        "testdata/example/apps/batch/cronjob.yaml"
    );
    assert_eq!(
        (
            first.properties["line"].as_str(),
            first.properties["col"].as_str()
        ),
        ("15", "20")
    );
    assert_eq!(
        (
            first.properties["endLine"].as_str(),
            first.properties["endColumn"].as_str()
        ),
        ("15", "48")
    );
    assert_eq!(first.properties["title"], "pinnace%3A digest-pinning");
}

#[test]
fn github_downgraded_finding_is_a_warning_command() {
    let stdout = run_example(&["check", "--format", "github", "testdata/example"]);
    let warnings: Vec<Annotation> = stdout
        .lines()
        .map(parse_annotation)
        .filter(|a| a.command == "warning")
        .filter(|a| a.properties["title"] == "pinnace%3A digest-pinning")
        .collect();
    assert_eq!(warnings.len(), 1, "{stdout}");
    assert_eq!(
        warnings[0].properties["file"],
        "testdata/example/platform/monitoring.yaml"
    );
    // The untrusted registry in the same file keeps its error level.
    assert!(stdout.lines().any(|l| {
        l.starts_with("::error file=testdata/example/platform/monitoring.yaml,")
            && l.contains("untrusted-registry")
    }));
}

#[test]
fn github_escapes_newlines_percent_and_property_separators() {
    let dir = TempDir::new().unwrap();
    fs::write(
        dir.path().join("odd,name:1.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    image: \"nginx:50%\"\n",
    )
    .unwrap();
    let output = pinnace(dir.path())
        .args(["check", "--format", "github", NO_NETWORK_RULES, "."])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    let line = stdout.lines().next().unwrap();
    let a = parse_annotation(line);
    assert_eq!(a.properties["file"], "odd%2Cname%3A1.yaml", "{line}");
    assert_eq!(a.properties["title"], "pinnace%3A invalid-image-reference");
    // The message's `%` and the newline before its help are escaped.
    assert!(a.message.contains("`nginx:50%25`"), "{line}");
    assert!(a.message.contains("%0Ahelp: "), "{line}");
    assert!(
        !a.message
            .replace("%25", "")
            .replace("%0A", "")
            .contains('%'),
        "{line}"
    );
}

// --- JSON --------------------------------------------------------------------------------

#[test]
fn json_output_of_the_example() {
    let stdout = run_example(&["check", "--format", "json", "testdata/example"]);
    let report: Value = serde_json::from_str(&stdout).unwrap();
    for finding in report["findings"].as_array().unwrap() {
        let path = finding["path"].as_str().unwrap();
        assert!(
            path.starts_with("testdata/example/") && !path.contains('\\'),
            "{path}"
        );
    }
    let summary: Vec<(&str, &str, u64)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap(),
                f["path"]
                    .as_str()
                    .unwrap()
                    .trim_start_matches("testdata/example/"),
                f["line"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("digest-pinning", "apps/batch/cronjob.yaml", 15),
            ("untrusted-registry", "apps/batch/cronjob.yaml", 15),
            ("invalid-image-reference", "apps/batch/workflow.yaml", 10),
            ("digest-pinning", "apps/shop/deployment.yaml", 20),
            ("digest-pinning", "apps/shop/deployment.yaml", 24),
            ("latest-tag", "apps/shop/deployment.yaml", 24),
            (
                "digest-pinning",
                "apps/web/overlays/prod/kustomization.yaml",
                6
            ),
            ("missing-default-deny", "platform/monitoring.yaml", 5),
            ("digest-pinning", "platform/monitoring.yaml", 10),
            ("untrusted-registry", "platform/monitoring.yaml", 10),
        ]
    );
    assert_eq!(report["summary"]["files_checked"], 9);
    insta::assert_json_snapshot!("example_json", report);
}

// --- Human -------------------------------------------------------------------------------

#[test]
fn human_output_of_the_example() {
    let stdout = run_example(&["--color", "never", "check", "testdata/example"]);
    assert!(!stdout.contains('\x1b'));
    assert!(stdout.ends_with("Found 8 errors, 2 warnings and 0 notes in 9 files.\n"));
    insta::assert_snapshot!("example_human", stdout);
}

#[test]
fn color_auto_without_a_terminal_has_no_escapes() {
    // stdout is a pipe here, and NO_COLOR is removed from the environment.
    let stdout = run_example(&["--color", "auto", "check", "testdata/example"]);
    assert!(!stdout.contains('\x1b'), "{stdout}");
    let default = run_example(&["check", "testdata/example"]);
    assert!(!default.contains('\x1b'));
    assert_eq!(stdout, default);
}

#[test]
fn color_always_has_escapes() {
    let stdout = run_example(&["--color", "always", "check", "testdata/example"]);
    assert!(stdout.contains("\x1b["), "{stdout}");
    let plain = run_example(&["--color", "never", "check", "testdata/example"]);
    assert_ne!(stdout, plain);
}
