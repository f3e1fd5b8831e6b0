//! What a release is made of, checked by the real tools: the workflows by `actionlint` and
//! `zizmor` (GitHub Actions security lints) and the GitHub workflow schema, the Dockerfile by
//! `hadolint`, the shell scripts by `shellcheck`, the crate's contents by `cargo package`, and
//! the completions and man pages that the archives ship by generating them.

mod ci_support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ci_support::{PROJECT, python_tool, text};

/// Every subcommand, as a user types it.
const SUBCOMMANDS: &[&str] = &[
    "check",
    "pin",
    "migrate",
    "images",
    "rules",
    "explain",
    "build",
    "config-schema",
    "completions",
    "man",
];

fn project(path: &str) -> PathBuf {
    Path::new(PROJECT).join(path)
}

fn workflows() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(project(".github/workflows"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "yml"))
        .collect();
    files.sort();
    assert!(files.len() >= 2, "ci.yml and release.yml: {files:?}");
    files
}

fn run(tool: &str, args: &[&std::ffi::OsStr]) -> Output {
    Command::new(python_tool(tool))
        .args(args)
        .current_dir(PROJECT)
        .output()
        .unwrap_or_else(|e| panic!("{tool} runs: {e}"))
}

/// A copy of `file` with `from` replaced by `to`, in a folder laid out like the project's.
fn broken_copy(file: &str, from: &str, to: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join(file);
    fs::create_dir_all(copy.parent().unwrap()).unwrap();
    let original = fs::read_to_string(project(file)).unwrap();
    assert!(original.contains(from), "{file} has {from:?}");
    fs::write(&copy, original.replacen(from, to, 1)).unwrap();
    (dir, copy)
}

#[test]
fn workflows_pass_actionlint_with_shellcheck() {
    let mut args: Vec<std::ffi::OsString> = vec!["-shellcheck".into()];
    args.push(python_tool("shellcheck").into());
    args.extend(workflows().into_iter().map(Into::into));
    let refs: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
    let output = run("actionlint", &refs);
    assert!(output.status.success(), "{}", text(&output));

    // It does catch a mistake: an expression on a context that does not exist.
    let (_dir, broken) = broken_copy(
        ".github/workflows/release.yml",
        "${{ github.ref_name }}",
        "${{ github.ref_nam }}",
    );
    let output = run("actionlint", &[broken.as_os_str()]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert!(text(&output).contains("ref_nam"), "{}", text(&output));
}

#[test]
fn workflows_and_the_action_pass_zizmor() {
    let mut args: Vec<PathBuf> = workflows();
    args.push(project("action.yml"));
    let mut all: Vec<&std::ffi::OsStr> = vec!["--offline".as_ref()];
    all.extend(args.iter().map(|p| p.as_os_str()));
    let output = run("zizmor", &all);
    assert!(output.status.success(), "{}", text(&output));

    // A pull request title expanded into a shell script is the classic injection it reports.
    let (dir, _) = broken_copy(
        ".github/workflows/ci.yml",
        "run: .ci/run",
        "run: echo \"${{ github.event.pull_request.title }}\"",
    );
    let output = run(
        "zizmor",
        &[
            "--offline".as_ref(),
            dir.path().join(".github/workflows").as_os_str(),
        ],
    );
    assert_ne!(output.status.code(), Some(0), "{}", text(&output));
    assert!(
        text(&output).contains("template-injection"),
        "{}",
        text(&output)
    );
}

#[test]
fn workflows_match_the_github_workflow_schema() {
    for workflow in workflows() {
        let output = run(
            "check-jsonschema",
            &[
                "--builtin-schema".as_ref(),
                "vendor.github-workflows".as_ref(),
                workflow.as_os_str(),
            ],
        );
        assert!(
            output.status.success(),
            "{}: {}",
            workflow.display(),
            text(&output)
        );
    }
}

#[test]
fn the_release_workflow_publishes_what_the_installer_reads() {
    let release = fs::read_to_string(project(".github/workflows/release.yml")).unwrap();
    for target in [
        "x86_64-unknown-linux-musl",
        "aarch64-unknown-linux-musl",
        "x86_64-apple-darwin",
        "aarch64-apple-darwin",
        "x86_64-pc-windows-msvc",
    ] {
        assert!(release.contains(&format!("target: {target},")), "{target}");
        let install = fs::read_to_string(project("action/install.sh")).unwrap();
        assert!(
            install.contains(&format!("echo {target} ;;")),
            "installer knows {target}"
        );
    }
    for needed in [
        "scripts/release-archive.sh",
        "SHA256SUMS",
        "cargo cyclonedx",
        "actions/attest-build-provenance@",
        "subject-path:",
        "subject-digest:",
        "docker push",
        "IMAGE_DIGEST",
    ] {
        assert!(release.contains(needed), "release.yml: {needed}");
    }
    // Every action is pinned to a full commit, not a movable tag.
    for line in release.lines().filter(|l| l.contains("uses: ")) {
        let reference = line.split('@').nth(1).unwrap_or("");
        assert!(
            reference.len() >= 40 && reference[..40].chars().all(|c| c.is_ascii_hexdigit()),
            "{line}"
        );
    }
}

#[test]
fn the_dockerfile_passes_hadolint_and_runs_pinnace_as_non_root_from_a_static_build() {
    let output = run("hadolint", &[project("Dockerfile").as_os_str()]);
    assert!(output.status.success(), "{}", text(&output));

    let dockerfile = fs::read_to_string(project("Dockerfile")).unwrap();
    let stages: Vec<&str> = dockerfile
        .lines()
        .filter(|l| l.starts_with("FROM "))
        .collect();
    assert_eq!(stages.len(), 2, "multi-stage: {stages:?}");
    for stage in &stages {
        assert!(
            stage.contains("@sha256:"),
            "base images pinned by digest: {stage}"
        );
    }
    assert!(stages[1].contains("distroless/static"), "{}", stages[1]);
    assert!(dockerfile.contains("--features vendored-openssl"));
    assert!(dockerfile.contains("\nUSER 65532:65532\n"));
    assert!(dockerfile.contains("\nENTRYPOINT [\"pinnace\"]\n"));

    // hadolint does fail a Dockerfile that runs as root from an unpinned base.
    let (_dir, broken) = broken_copy("Dockerfile", "USER 65532:65532", "USER root");
    let output = run("hadolint", &[broken.as_os_str()]);
    assert_ne!(output.status.code(), Some(0), "{}", text(&output));
    assert!(text(&output).contains("DL3002"), "{}", text(&output));
}

#[test]
fn shell_scripts_pass_shellcheck() {
    let scripts = [
        "action/install.sh",
        "action/run.sh",
        "scripts/release-archive.sh",
        "scripts/install-test-deps.sh",
        "scripts/test",
        "scripts/fuzz",
    ];
    let paths: Vec<PathBuf> = scripts.iter().map(|s| project(s)).collect();
    let args: Vec<&std::ffi::OsStr> = paths.iter().map(|p| p.as_os_str()).collect();
    let output = run("shellcheck", &args);
    assert!(output.status.success(), "{}", text(&output));
}

fn pinnace(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pinnace"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn completions_name_every_subcommand_in_every_shell() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let output = pinnace(&["completions", shell]);
        assert!(output.status.success(), "{shell}: {}", text(&output));
        let script = String::from_utf8(output.stdout).unwrap();
        for subcommand in SUBCOMMANDS {
            assert!(
                script.contains(subcommand),
                "{shell} completes {subcommand}"
            );
        }
        // Options of a subcommand are there too.
        assert!(script.contains("changed-since"), "{shell}: check's options");
    }
    // The bash script is valid bash.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pinnace.bash");
    fs::write(&file, pinnace(&["completions", "bash"]).stdout).unwrap();
    let status = Command::new("bash").arg("-n").arg(&file).status().unwrap();
    assert!(status.success());

    let output = pinnace(&["completions", "tcsh"]);
    assert_eq!(
        output.status.code(),
        Some(2),
        "an unknown shell is a usage error"
    );
}

#[test]
fn man_pages_exist_for_every_subcommand() {
    let page = String::from_utf8(pinnace(&["man"]).stdout).unwrap();
    assert!(page.contains(".TH pinnace 1"), "{page}");
    for subcommand in SUBCOMMANDS {
        assert!(
            page.contains(&format!("pinnace\\-{}", subcommand.replace('-', "\\-"))),
            "{subcommand}"
        );
    }

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("man");
    let output = pinnace(&["man", "--out-dir", out.to_str().unwrap()]);
    assert!(output.status.success(), "{}", text(&output));
    for subcommand in SUBCOMMANDS {
        let file = out.join(format!("pinnace-{subcommand}.1"));
        let page = fs::read_to_string(&file).unwrap_or_else(|_| panic!("{}", file.display()));
        assert!(
            page.starts_with(".ie") || page.contains(".TH"),
            "{}",
            file.display()
        );
        assert!(page.contains(".SH NAME"), "{}", file.display());
    }
    assert!(out.join("pinnace.1").is_file());
}

#[test]
fn the_crate_holds_sources_rule_pages_schema_and_licenses_only() {
    // A target folder of its own: the one of this very test run may be locked by cargo.
    let target = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO"))
        .args(["package", "--list", "--allow-dirty", "--offline"])
        .env("CARGO_TARGET_DIR", target.path())
        .current_dir(PROJECT)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output));
    let listed = String::from_utf8(output.stdout).unwrap();
    let files: Vec<&str> = listed.lines().collect();
    for wanted in [
        "Cargo.toml",
        "Cargo.lock",
        "README.md",
        "LICENSE-MIT",
        "LICENSE-APACHE",
        "src/main.rs",
        "rules/digest-pinning.md",
        "schema/pinnace.schema.json",
    ] {
        assert!(files.contains(&wanted), "{wanted} in {files:?}");
    }
    for file in &files {
        let top = file.split('/').next().unwrap();
        assert!(
            [
                "src",
                "rules",
                "schema",
                "Cargo.toml",
                "Cargo.toml.orig",
                "Cargo.lock",
                "README.md",
                "LICENSE-MIT",
                "LICENSE-APACHE",
                ".cargo_vcs_info.json",
            ]
            .contains(&top),
            "{file} does not belong in the crate"
        );
    }
    let manifest = fs::read_to_string(project("Cargo.toml")).unwrap();
    for key in [
        "description = ",
        "license = \"MIT OR Apache-2.0\"",
        "repository = ",
        "readme = ",
        "keywords = ",
        "categories = ",
        "rust-version = ",
    ] {
        assert!(manifest.contains(key), "Cargo.toml: {key}");
    }
}
