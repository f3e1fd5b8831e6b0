//! The pre-commit hooks of `.pre-commit-hooks.yaml`, run by the real `pre-commit` (from PyPI)
//! with `try-repo`: it clones this repository, builds pinnace with `cargo install` (language:
//! rust), and runs the hook in a sample repository.
//!
//! The build goes to target/pre-commit with an unoptimised, incremental release profile, so
//! that a second run rebuilds in seconds; the first takes a few minutes.

mod ci_support;

use std::path::Path;
use std::process::{Command, Output};

use ci_support::{PROJECT, git, kustomize_app, python_tool, text, write};

fn try_repo(sample: &Path, home: &Path, extra: &[&str]) -> Output {
    try_hook(sample, home, "pinnace-check", extra)
}

fn try_hook(sample: &Path, home: &Path, hook: &str, extra: &[&str]) -> Output {
    Command::new(python_tool("pre-commit"))
        .current_dir(sample)
        .args(["try-repo", PROJECT, hook, "--color", "never"])
        .args(extra)
        .env("PRE_COMMIT_HOME", home)
        .env(
            "CARGO_TARGET_DIR",
            Path::new(PROJECT).join("target/pre-commit"),
        )
        .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "0")
        .env("CARGO_PROFILE_RELEASE_DEBUG", "false")
        .env("CARGO_PROFILE_RELEASE_INCREMENTAL", "true")
        .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "256")
        .env("CARGO_PROFILE_RELEASE_LTO", "false")
        // try-repo commits uncommitted changes of this repository into a shadow copy.
        .env("GIT_AUTHOR_NAME", "test")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "test")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .output()
        .expect("pre-commit runs")
}

#[test]
fn the_check_hook_passes_a_clean_commit_and_fails_a_bad_one_through_its_overlay() {
    let sample = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let root = sample.path();
    git(root, &["init", "-q"]);
    kustomize_app(root, &format!("busybox:1.36@{}", ci_support::DIGEST));
    write(root, "notes/README.md", "not a manifest\n");
    git(root, &["add", "-A"]);

    // Staged files only (the default of a commit): everything is pinned.
    let clean = try_repo(root, home.path(), &[]);
    let output = text(&clean);
    assert_eq!(clean.status.code(), Some(0), "{output}");
    assert!(output.contains("pinnace check"), "{output}");
    assert!(output.contains("Passed"), "{output}");
    git(root, &["commit", "-q", "-m", "clean"]);

    // The pin hook runs only when asked for; with every image pinned it asks no registry.
    let commit_stage = try_hook(root, home.path(), "pinnace-pin", &["--all-files"]);
    let output = text(&commit_stage);
    assert!(
        output.contains("No hook with id `pinnace-pin` in stage `pre-commit`"),
        "{output}"
    );
    let pin = try_hook(
        root,
        home.path(),
        "pinnace-pin",
        &["--all-files", "--hook-stage", "manual", "--verbose"],
    );
    let output = text(&pin);
    assert_eq!(pin.status.code(), Some(0), "{output}");
    assert!(
        output.contains("0 pinned, 0 updated, 2 unchanged"),
        "{output}"
    );

    // A staged base file with an unpinned image fails, with the finding in the output; the
    // base's nginx, which the overlay pins, is not reported: the root was built.
    kustomize_app(root, "busybox:1.36");
    git(root, &["add", "app/base/deploy.yaml"]);
    let bad = try_repo(root, home.path(), &[]);
    let output = text(&bad);
    assert_eq!(bad.status.code(), Some(1), "{output}");
    assert!(output.contains("Failed"), "{output}");
    assert!(output.contains("- hook id: pinnace-check"), "{output}");
    assert!(
        output.contains("image `busybox:1.36` is not pinned to a digest"),
        "{output}"
    );
    assert!(output.contains("app/base/deploy.yaml:12:16"), "{output}");
    assert!(!output.contains("nginx:1.25"), "{output}");

    // The same with every file of the repository.
    let all = try_repo(root, home.path(), &["--all-files"]);
    let output = text(&all);
    assert_eq!(all.status.code(), Some(1), "{output}");
    assert!(output.contains("busybox:1.36"), "{output}");
    assert!(output.contains("Found 1 error"), "{output}");
}

#[test]
fn the_hooks_manifest_is_valid_and_pin_is_manual() {
    let manifest = Path::new(PROJECT).join(".pre-commit-hooks.yaml");
    let output = Command::new(python_tool("pre-commit"))
        .arg("validate-manifest")
        .arg(&manifest)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output));
    let yml = std::fs::read_to_string(manifest).unwrap();
    let pin = &yml[yml.find("- id: pinnace-pin").expect("a pin hook")..];
    assert!(pin.contains("stages: [manual]"), "{pin}");
    assert!(pin.contains("language: rust"), "{pin}");
}
