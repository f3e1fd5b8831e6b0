//! `.pinnace.yaml` from the command line: errors that name the file, line and key, how the
//! file is found, `--config`, and `images` entries for custom kinds.

mod common;

use std::fs;

use common::{NO_NETWORK_RULES, check, pod, rules, run, stderr, tree};

// --- config ------------------------------------------------------------------------------

/// Runs `check` with a broken config; expects exit 2 and returns stderr.
fn config_error(config: &str) -> String {
    let dir = tree(&[(".pinnace.yaml", config), ("pod.yaml", &pod("nginx:1.25"))]);
    let output = run(dir.path(), &["--color", "never", "check", "."]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(output.stdout.is_empty());
    stderr(&output)
}

#[test]
fn config_unknown_key_names_file_line_and_key() {
    let err = config_error("# trusted registries\nregistries:\n  trustd: []\n");
    assert!(err.contains(".pinnace.yaml:3:3"), "{err}");
    assert!(err.contains("trustd"), "{err}");
}

#[test]
fn config_bad_severity_names_file_line_and_value() {
    let err = config_error("rules:\n  latest-tag: loud\n");
    assert!(err.contains(".pinnace.yaml:2:15"), "{err}");
    assert!(err.contains("loud") && err.contains("latest-tag"), "{err}");
}

#[test]
fn config_unknown_rule_id_is_named() {
    let err = config_error("rules:\n  digest-pinning: error\n  no-such-rule: off\n");
    assert!(err.contains(".pinnace.yaml:3:3"), "{err}");
    assert!(err.contains("unknown rule `no-such-rule`"), "{err}");
}

#[test]
fn config_invalid_glob_is_named() {
    let err = config_error("exclude:\n  - \"vendor/[abc\"\n");
    assert!(err.contains(".pinnace.yaml:2:5"), "{err}");
    assert!(err.contains("invalid glob `vendor/[abc`"), "{err}");
}

#[test]
fn config_images_entry_with_path_and_pod_spec_is_refused() {
    let err = config_error(
        "images:\n  - kind: Thing\n    path: spec.image\n    pod_spec: spec.template.spec\n",
    );
    assert!(err.contains(".pinnace.yaml:2:"), "{err}");
    assert!(
        err.contains("exactly one of `path` and `pod_spec`"),
        "{err}"
    );
}

#[test]
fn config_is_found_walking_up_and_config_flag_overrides_it() {
    let dir = tree(&[
        (".pinnace.yaml", "rules: {digest-pinning: off}\n"),
        ("other.yaml", "rules: {latest-tag: off}\n"),
        ("a/b/c/pod.yaml", &pod("redis:latest")),
    ]);
    assert_eq!(
        rules(&check(dir.path(), &[NO_NETWORK_RULES, "a/b/c/pod.yaml"])),
        ["latest-tag"]
    );
    assert_eq!(
        rules(&check(&dir.path().join("a/b"), &[NO_NETWORK_RULES, "c"])),
        ["latest-tag"]
    );
    let overridden = check(
        dir.path(),
        &["--config", "other.yaml", NO_NETWORK_RULES, "a/b/c"],
    );
    assert_eq!(rules(&overridden), ["digest-pinning"]);
}

#[test]
fn config_images_make_a_custom_kind_checked() {
    let pipeline = "\
apiVersion: example.com/v1
kind: Pipeline
metadata: {name: pl}
spec:
  steps:
  - name: s1
    image: alpine:3.20
";
    let dir = tree(&[("pipeline.yaml", pipeline)]);
    assert!(check(dir.path(), &["."]).is_empty());
    fs::write(
        dir.path().join(".pinnace.yaml"),
        "images:\n  - group: example.com\n    kind: Pipeline\n    path: spec.steps[].image\n",
    )
    .unwrap();
    let found = check(dir.path(), &["."]);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        found[0],
        ("digest-pinning".into(), "pipeline.yaml".into(), 7, 12)
    );
}
