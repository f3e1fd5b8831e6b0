//! The built-in Kustomize build against `kubectl kustomize`: each case under
//! `testdata/kustomize/` has the output kubectl printed committed beside it (`expected.yaml`),
//! and pinnace's build must produce the same resources (compared as trees), in the same order.
//!
//! Cases that use a kustomization field pinnace does not build yet are listed as pending, not
//! failed; a wrong build, or an error of any other kind, fails. `BUILT_AT_LEAST` keeps the
//! number of matching cases from going down. When `kubectl` is on PATH, each expected output
//! is also checked against a live `kubectl kustomize` run.

use std::path::{Path, PathBuf};
use std::process::Command;

use pinnace::config::to_json;
use pinnace::kustomize;
use pinnace::yaml::{Limits, load_stream};

/// Raise this as the build learns more; never lower it.
const BUILT_AT_LEAST: usize = 107;

struct Case {
    dir: PathBuf,
    root: PathBuf,
    expect_error: Option<String>,
    skip_kubectl: bool,
}

fn cases() -> Vec<Case> {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/kustomize");
    let mut cases: Vec<Case> = std::fs::read_dir(&folder)
        .unwrap()
        .filter_map(|entry| {
            let dir = entry.ok()?.path();
            let text = std::fs::read_to_string(dir.join("case.yaml")).ok()?;
            let stream = load_stream(&text, Limits::default());
            let case = stream.documents.into_iter().next()?;
            let field = |key| case.get(key).and_then(|n| n.as_str()).map(str::to_string);
            Some(Case {
                root: dir.join(field("root").unwrap_or_else(|| ".".into())),
                expect_error: field("expect_error"),
                skip_kubectl: field("skip_kubectl").as_deref() == Some("true"),
                dir,
            })
        })
        .collect();
    cases.sort_by(|a, b| a.dir.cmp(&b.dir));
    cases
}

/// Resources of a YAML stream as canonical JSON strings, sorted: a set to compare.
fn resource_set(yaml: &str) -> Vec<String> {
    let stream = load_stream(yaml, Limits::default());
    assert!(
        stream.error.is_none(),
        "unparsable output: {:?}",
        stream.error
    );
    let mut set: Vec<String> = stream
        .documents
        .iter()
        .filter(|d| !d.is_null())
        .map(|d| canonical(&to_json(d)))
        .collect();
    set.sort();
    set
}

/// The documents of a stream in order, each as `apiVersion kind namespace/name`: kubectl's
/// order, which `pinnace build` must print too.
fn resource_order(yaml: &str) -> Vec<String> {
    let stream = load_stream(yaml, Limits::default());
    stream
        .documents
        .iter()
        .filter(|d| !d.is_null())
        .map(|d| {
            let text = |path: &[&str]| {
                d.at(path)
                    .and_then(|n| n.as_str())
                    .unwrap_or("")
                    .to_string()
            };
            format!(
                "{} {} {}/{}",
                text(&["apiVersion"]),
                text(&["kind"]),
                text(&["metadata", "namespace"]),
                text(&["metadata", "name"])
            )
        })
        .collect()
}

/// JSON with object keys sorted, so key order does not matter.
fn canonical(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys
                .iter()
                .map(|k| format!("{k:?}:{}", canonical(&map[*k])))
                .collect();
            format!("{{{}}}", parts.join(","))
        }
        serde_json::Value::Array(items) => format!(
            "[{}]",
            items.iter().map(canonical).collect::<Vec<_>>().join(",")
        ),
        other => other.to_string(),
    }
}

#[test]
fn builds_match_kubectl_kustomize() {
    let cases = cases();
    assert!(cases.len() >= 40, "only {} golden cases", cases.len());
    let (mut built, mut pending, mut failures) = (Vec::new(), Vec::new(), Vec::new());
    for case in &cases {
        let name = case.dir.file_name().unwrap().to_string_lossy().to_string();
        let result = kustomize::build(&case.root, &kustomize::BuildOptions::default());
        match (&case.expect_error, result) {
            (Some(_), Err(_)) => built.push(name),
            // Remote bases and Helm charts: kubectl tries and fails offline; pinnace by design
            // never fetches, and reports them as not built instead.
            (Some(_), Ok(build)) if !build.not_built.is_empty() => built.push(name),
            (Some(expected), Ok(_)) => failures.push(format!(
                "{name}: built, but kubectl fails with `{expected}`"
            )),
            (None, Err(error))
                if error
                    .message
                    .contains("not supported by pinnace's Kustomize build yet") =>
            {
                pending.push(format!("{name}: {}", error.message));
            }
            (None, Err(error)) => failures.push(format!("{name}: {}", error.message)),
            (None, Ok(build)) if case.skip_kubectl => {
                if build.not_built.is_empty() {
                    failures.push(format!("{name}: should report what it cannot build"));
                } else {
                    built.push(name);
                }
            }
            (None, Ok(build)) => {
                let Ok(expected) = std::fs::read_to_string(case.dir.join("expected.yaml")) else {
                    failures.push(format!("{name}: no expected.yaml"));
                    continue;
                };
                let ours = kustomize::emit_yaml(&build.resources);
                if resource_set(&ours) != resource_set(&expected) {
                    failures.push(format!(
                        "{name}: differs from expected.yaml\n--- pinnace build:\n{ours}"
                    ));
                } else if resource_order(&ours) != resource_order(&expected) {
                    failures.push(format!(
                        "{name}: the resources of expected.yaml, but in another order: {:?}",
                        resource_order(&ours)
                    ));
                } else {
                    built.push(name);
                }
            }
        }
    }
    println!(
        "{} cases built like kubectl; {} pending:",
        built.len(),
        pending.len()
    );
    for line in &pending {
        println!("  pending {line}");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(
        built.len() >= BUILT_AT_LEAST,
        "only {} cases match (at least {BUILT_AT_LEAST} did before)",
        built.len()
    );
}

#[test]
fn committed_outputs_match_live_kubectl() {
    if Command::new("kubectl")
        .arg("version")
        .arg("--client")
        .output()
        .is_err()
    {
        println!("kubectl is not on PATH; the committed outputs are used as they are");
        return;
    }
    for case in cases()
        .iter()
        .filter(|c| c.expect_error.is_none() && !c.skip_kubectl)
    {
        let output = Command::new("kubectl")
            .arg("kustomize")
            .arg(&case.root)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}: kubectl failed: {}",
            case.dir.display(),
            String::from_utf8_lossy(&output.stderr)
        );
        let expected = std::fs::read_to_string(case.dir.join("expected.yaml")).unwrap();
        assert_eq!(
            resource_set(&String::from_utf8_lossy(&output.stdout)),
            resource_set(&expected),
            "{}: expected.yaml is stale; run testdata/kustomize/regenerate.sh",
            case.dir.display()
        );
    }
}
