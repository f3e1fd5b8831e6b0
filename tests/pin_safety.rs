//! `pin` keeps every file either as it was or fully rewritten, as its owner had it: no
//! temporary file left by a signal (or, after a `kill -9`, by the next run), no write through
//! a symlink, no silent rewrite of a read-only or hard-linked file. The digests come from a
//! `--cache` file written here, so no registry is needed.

mod common;

use std::fs;
use std::path::Path;
use std::process::Output;
use std::time::Duration;

use common::{pod, stderr, tree};

const IMAGE: &str = "registry.invalid/team/app:1.0";
const DIGEST: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";

fn write_cache(dir: &Path) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    fs::write(
        dir.join("cache.json"),
        format!(
            "{{\"version\":1,\"entries\":{{\"{IMAGE}\":{{\"digest\":\"{DIGEST}\",\"media_type\":\"application/vnd.oci.image.index.v1+json\",\"resolved_at\":{now}}}}}}}"
        ),
    )
    .unwrap();
}

/// `pin --cache cache.json repo` in `dir`.
fn pin(dir: &Path) -> Output {
    write_cache(dir);
    common::run(dir, &["pin", "--cache", "cache.json", "repo"])
}

fn temporaries(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for entry in walk(dir) {
        let name = entry.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with(".pinnace-") {
            found.push(entry.display().to_string());
        }
    }
    found
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if entry.file_type().unwrap().is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[test]
fn a_symlinked_manifest_is_reported_and_left_a_symlink() {
    let dir = tree(&[("repo/real/app.yaml", &pod(IMAGE))]);
    std::os::unix::fs::symlink("real/app.yaml", dir.path().join("repo/app.yaml")).unwrap();
    let output = pin(dir.path());
    let stderr = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("is a symlink; left alone"), "{stderr}");
    assert!(stderr.contains("changed 1 files"), "{stderr}");
    let link = dir.path().join("repo/app.yaml");
    assert!(
        fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    let real = fs::read_to_string(dir.path().join("repo/real/app.yaml")).unwrap();
    assert!(real.contains(DIGEST), "{real}");
}

#[test]
fn read_only_and_hard_linked_files_are_reported_not_counted_and_left_alone() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tree(&[
        ("repo/ro.yaml", &pod(IMAGE)),
        ("repo/linked.yaml", &pod(IMAGE)),
        ("repo/ok.yaml", &pod(IMAGE)),
    ]);
    let read_only = dir.path().join("repo/ro.yaml");
    fs::set_permissions(&read_only, fs::Permissions::from_mode(0o444)).unwrap();
    fs::hard_link(
        dir.path().join("repo/linked.yaml"),
        dir.path().join("other.yaml"),
    )
    .unwrap();
    let output = pin(dir.path());
    let stderr = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("ro.yaml is read-only; left alone"),
        "{stderr}"
    );
    assert!(stderr.contains("2 hard links"), "{stderr}");
    assert!(
        stderr.contains("1 pinned") && stderr.contains("changed 1 files"),
        "{stderr}"
    );
    assert_eq!(fs::read_to_string(&read_only).unwrap(), pod(IMAGE));
    assert_eq!(
        fs::read_to_string(dir.path().join("other.yaml")).unwrap(),
        pod(IMAGE)
    );
    assert!(
        fs::read_to_string(dir.path().join("repo/ok.yaml"))
            .unwrap()
            .contains(DIGEST)
    );
}

#[test]
fn a_temporary_file_a_killed_run_left_is_removed_by_the_next() {
    let dir = tree(&[("repo/app.yaml", &pod(IMAGE))]);
    let stale = dir.path().join("repo/.pinnace-pin-4294967295-x1y2z3.tmp");
    fs::write(&stale, "half a file").unwrap();
    let output = pin(dir.path());
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(!stale.exists());
    assert!(temporaries(dir.path()).is_empty());
}

#[test]
fn sigint_and_sigterm_leave_no_temporary_file() {
    let mut files = Vec::new();
    for i in 0..400 {
        files.push((format!("repo/d{}/app{i}.yaml", i % 20), pod(IMAGE)));
    }
    let binary = assert_cmd::cargo::cargo_bin("pinnace");
    let mut handled = 0;
    for (trial, signal) in (0..16).zip(["-TERM", "-INT"].iter().cycle()) {
        let refs: Vec<(&str, &str)> = files
            .iter()
            .map(|(p, t)| (p.as_str(), t.as_str()))
            .collect();
        let dir = tree(&refs);
        write_cache(dir.path());
        let mut child = std::process::Command::new(&binary)
            .current_dir(dir.path())
            .args(["pin", "--quiet", "--cache", "cache.json", "repo"])
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(100 + 20 * trial));
        let _ = std::process::Command::new("kill")
            .args([signal.to_string(), child.id().to_string()])
            .status();
        let status = child.wait().unwrap();
        // Before pinnace's handler is in place (a slow start), the signal ends it as usual,
        // with nothing written yet; after, the handler ends it with 128 + the signal.
        handled += usize::from(status.code().is_some_and(|code| code > 128));
        let left = temporaries(dir.path());
        assert!(left.is_empty(), "trial {trial} ({signal}): {left:?}");
    }
    assert!(
        handled >= 8,
        "only {handled} of 16 runs were stopped by pinnace's handler"
    );
}

#[test]
fn a_device_as_a_ca_file_is_left_out_with_a_warning() {
    let dir = tree(&[
        ("repo/app.yaml", &pod(IMAGE)),
        ("run.yaml", "registries: {ca_files: [/dev/zero]}\n"),
    ]);
    write_cache(dir.path());
    let output = common::run(
        dir.path(),
        &[
            "pin",
            "--config",
            "run.yaml",
            "--cache",
            "cache.json",
            "repo",
        ],
    );
    let stderr = stderr(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("/dev/zero: not a regular file"), "{stderr}");
}
