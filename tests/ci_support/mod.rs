//! Helpers for the tests that drive real CI tools from PyPI (pre-commit, check-jsonschema)
//! and git repositories made on the spot.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const PROJECT: &str = env!("CARGO_MANIFEST_DIR");

/// A Python tool: on PATH, or in the virtualenv `scripts/install-test-deps.sh` makes under
/// target/test-tools. Missing is a failure, not a skip: CI installs it.
pub fn python_tool(name: &str) -> PathBuf {
    let venv = Path::new(PROJECT)
        .join("target/test-tools/venv/bin")
        .join(name);
    if venv.is_file() {
        return venv;
    }
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    });
    on_path.unwrap_or_else(|| {
        panic!("`{name}` is not installed: run scripts/install-test-deps.sh (it pip-installs it)")
    })
}

/// Runs `git` in `dir` with a fixed identity and no user or system config.
pub fn git(dir: &Path, args: &[&str]) -> Output {
    let output = Command::new("git")
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "test")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "test")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .args([
            "-c",
            "init.defaultBranch=main",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .output()
        .expect("git runs");
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Writes a file below `root`, creating its folders.
pub fn write(root: &Path, file: &str, text: &str) {
    let path = root.join(file);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

pub fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

pub const DIGEST: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

/// A Kustomize base and overlay: the overlay pins nginx by digest, the base pins busybox as
/// `busybox_image` says.
pub fn kustomize_app(root: &Path, busybox_image: &str) {
    write(
        root,
        "app/base/kustomization.yaml",
        "resources:\n- deploy.yaml\n",
    );
    write(
        root,
        "app/base/deploy.yaml",
        &format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.25\n      - name: sidecar\n        image: {busybox_image}\n"
        ),
    );
    write(
        root,
        "app/overlays/prod/kustomization.yaml",
        &format!("resources:\n- ../../base\nimages:\n- name: nginx\n  digest: {DIGEST}\n"),
    );
}
