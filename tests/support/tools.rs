//! The external programs the harness drives, and the skip-or-fail check for their absence.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output, Stdio};

/// Programs the registry harness needs on PATH (`scripts/install-test-deps.sh` installs them).
/// `openssl` is only used by `Registry::start_tls_auth`, but it is checked too, so a test never
/// gets halfway before failing on it.
pub const REQUIRED_TOOLS: [&str; 3] = ["docker-registry", "skopeo", "openssl"];

/// Whether an executable `name` is on PATH (what `command -v` answers).
pub fn on_path(name: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|dir| is_executable(&dir.join(name)))
    })
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Call first in every test that needs a real registry:
/// `if registry_tools_missing() { return; }`.
///
/// Off CI it prints which tools are missing and returns true, so the test passes as skipped.
/// With `CI=true` (as `.ci/run` runs) it panics instead: CI must never skip silently.
pub fn registry_tools_missing() -> bool {
    let missing: Vec<&str> = REQUIRED_TOOLS
        .into_iter()
        .filter(|tool| !on_path(tool))
        .collect();
    if missing.is_empty() {
        return false;
    }
    skip_or_fail(&format!(
        "registry tests need {} on PATH; run scripts/install-test-deps.sh",
        missing.join(", ")
    ))
}

/// A test's missing tool: off CI, a note and `true` (the test passes as skipped); with
/// `CI=true` a panic, since CI must never skip silently.
pub fn skip_or_fail(why: &str) -> bool {
    let in_ci = std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1");
    if in_ci {
        panic!("{why} (CI=true, so this fails instead of skipping)");
    }
    eprintln!("SKIPPED: {why}");
    true
}

/// Runs `skopeo --insecure-policy ARGS` and returns its output, whatever the exit status.
/// `--insecure-policy` makes skopeo independent of the machine's /etc/containers/policy.json;
/// each caller passes `--authfile`/`--creds` so no credentials from the machine leak in.
pub fn skopeo(args: &[&str]) -> Output {
    Command::new("skopeo")
        .arg("--insecure-policy")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run skopeo (install it: scripts/install-test-deps.sh)")
}

/// Panics with skopeo's stderr unless it succeeded; returns stdout.
pub fn skopeo_ok(args: &[&str]) -> Vec<u8> {
    let out = skopeo(args);
    assert!(
        out.status.success(),
        "skopeo {args:?} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}
