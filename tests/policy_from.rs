//! `--policy-from REV`: a pull request is judged by the policy its base has, whatever its own
//! `.pinnace.yaml` and key files say. Real git repositories in temporary folders (made with
//! the `git` program), and for signatures the real registry with openssl-made cosign
//! signatures (tests/support/cosign.rs).

mod ci_support;
mod support;

use std::fs;
use std::path::Path;
use std::process::Output;

use assert_cmd::Command;
use ci_support::{git, write};
use serde_json::Value;
use support::cosign::{KeyKind, SignatureLayer, SigningKey, push_signatures};
use support::{Registry, TestImage};

const DIGEST: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

const BASE_CONFIG: &str = "registries: {trusted: [\"ghcr.io/acme/**\"]}\nrules: {missing-network-policy: off, missing-default-deny: off}\n";

fn pod(name: &str, image: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}}}\nspec:\n  containers:\n  - name: app\n    image: {image}\n"
    )
}

/// A repository whose `main` commit holds `base` files, checked out on `feature`, which
/// changes them as `change` says (`None` removes a file), committed.
fn pull_request(base: &[(&str, &str)], change: &[(&str, Option<&str>)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    git(root, &["init", "-q"]);
    for (file, text) in base {
        write(root, file, text);
    }
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "--allow-empty", "-m", "base"]);
    git(root, &["checkout", "-q", "-b", "feature"]);
    for (file, text) in change {
        match text {
            Some(text) => write(root, file, text),
            None => fs::remove_file(root.join(file)).unwrap(),
        }
    }
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "--allow-empty", "-m", "head"]);
    dir
}

/// Runs pinnace in `dir` with an empty home and no config named, plus `env`.
fn pinnace(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let home = tempfile::tempdir().unwrap();
    let mut command = Command::cargo_bin("pinnace").unwrap();
    command
        .current_dir(dir)
        .env("HOME", home.path())
        .env_remove("PINNACE_CONFIG")
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("DOCKER_CONFIG")
        .env_remove("REGISTRY_AUTH_FILE")
        .args(args);
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().unwrap()
}

/// The rule ids of a JSON check's findings and its problems' messages.
fn check_json(dir: &Path, args: &[&str]) -> (Option<i32>, Vec<String>, Vec<String>) {
    let mut all = vec!["check", "--format", "json"];
    all.extend(args);
    let output = pinnace(dir, &all, &[]);
    let report: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&output.stderr)));
    let rules = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{} {}",
                f["rule"].as_str().unwrap(),
                f["path"].as_str().unwrap()
            )
        })
        .collect();
    let problems = report["warnings"]
        .as_array()
        .map(|all| {
            all.iter()
                .map(|p| {
                    format!(
                        "{}: {}",
                        p["path"].as_str().unwrap(),
                        p["message"].as_str().unwrap()
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    (output.status.code(), rules, problems)
}

#[test]
fn a_pull_request_cannot_loosen_the_policy_it_is_checked_by() {
    let evil = format!("evil.example/miner@{DIGEST}");
    let repo = pull_request(
        &[
            (".pinnace.yaml", BASE_CONFIG),
            (
                "app.yaml",
                &pod("app", &format!("ghcr.io/acme/app@{DIGEST}")),
            ),
        ],
        &[
            (
                ".pinnace.yaml",
                Some(
                    "registries: {trusted: [\"**\"]}\nrules: {missing-network-policy: off, missing-default-deny: off, latest-tag: off}\nexclude: [hidden/**]\nimages: [{kind: Job2, path: spec.image}]\n",
                ),
            ),
            ("miner.yaml", Some(&pod("miner", &evil))),
            (
                "hidden/latest.yaml",
                Some(&pod("latest", "ghcr.io/acme/app")),
            ),
        ],
    );
    // Judged by its own config, the pull request passes.
    let (code, rules, _) = check_json(repo.path(), &["."]);
    assert_eq!((code, rules), (Some(0), vec![]));
    // Judged by the base's, it does not; the tree's descriptions (`images`) are still used.
    let (code, rules, problems) = check_json(repo.path(), &["--policy-from", "main", "."]);
    assert_eq!(code, Some(1));
    assert_eq!(
        rules,
        [
            "digest-pinning hidden/latest.yaml",
            "latest-tag hidden/latest.yaml",
            "untrusted-registry miner.yaml"
        ]
    );
    assert_eq!(
        problems,
        [
            ".pinnace.yaml: this run takes the policy from main:.pinnace.yaml; this file changes registries.trusted, rules, exclude, which apply once merged, and images, which this run uses as the tree has them"
        ]
    );
}

#[test]
fn an_unchanged_policy_says_nothing_and_a_removed_config_is_still_read_at_the_revision() {
    let miner = pod("miner", &format!("evil.example/miner@{DIGEST}"));
    let repo = pull_request(
        &[(".pinnace.yaml", BASE_CONFIG)],
        &[("miner.yaml", Some(&miner))],
    );
    let (code, rules, problems) = check_json(repo.path(), &["--policy-from", "main"]);
    assert_eq!(
        (code, rules),
        (Some(1), vec!["untrusted-registry miner.yaml".to_string()])
    );
    assert!(problems.is_empty(), "{problems:?}");

    // The pull request removes the config: the base's still decides.
    let repo = pull_request(
        &[(".pinnace.yaml", BASE_CONFIG)],
        &[(".pinnace.yaml", None), ("miner.yaml", Some(&miner))],
    );
    let (code, rules, problems) = check_json(repo.path(), &["--policy-from", "main", "."]);
    assert_eq!(
        (code, rules),
        (Some(1), vec!["untrusted-registry miner.yaml".to_string()])
    );
    assert_eq!(
        problems,
        [
            "main:.pinnace.yaml: this run takes its config from the revision; the tree has no config there"
        ]
    );

    // It adds a config below the base's, where the checked folder is: the base's decides.
    let repo = pull_request(
        &[(".pinnace.yaml", BASE_CONFIG)],
        &[
            (
                "apps/.pinnace.yaml",
                Some("registries: {trusted: [\"**\"]}\n"),
            ),
            ("apps/miner.yaml", Some(&miner)),
        ],
    );
    let (code, rules, problems) = check_json(repo.path(), &["--policy-from", "main", "apps"]);
    assert_eq!(
        (code, rules),
        (
            Some(1),
            vec!["untrusted-registry apps/miner.yaml".to_string()]
        )
    );
    assert_eq!(
        problems,
        [
            "apps/.pinnace.yaml: this run takes its config from main:.pinnace.yaml, not from this file: the pull request's config applies once merged"
        ]
    );
}

#[test]
fn a_revision_without_a_config_gives_the_default_policy() {
    let repo = pull_request(
        &[("app.yaml", &pod("app", "ghcr.io/acme/app:1.0"))],
        &[(
            ".pinnace.yaml",
            Some(
                "rules: {digest-pinning: off, missing-network-policy: off, missing-default-deny: off}\n",
            ),
        )],
    );
    let (code, rules, problems) = check_json(repo.path(), &["--policy-from", "main", "."]);
    assert_eq!(code, Some(1));
    assert!(
        rules.contains(&"digest-pinning app.yaml".to_string()),
        "{rules:?}"
    );
    assert!(
        rules.iter().any(|r| r.starts_with("missing-default-deny")),
        "{rules:?}"
    );
    assert_eq!(
        problems,
        [
            ".pinnace.yaml: main has no pinnace config, so this run takes the default policy; this file changes rules, which apply once merged"
        ]
    );
}

#[test]
fn what_cannot_be_read_at_the_revision_is_an_error() {
    let repo = pull_request(&[(".pinnace.yaml", BASE_CONFIG)], &[]);
    let stderr = |output: &Output| String::from_utf8_lossy(&output.stderr).into_owned();
    let output = pinnace(repo.path(), &["check", "--policy-from", "nope", "."], &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("--policy-from nope: cannot find the revision"),
        "{}",
        stderr(&output)
    );
    // A config named by the invoker is the whole config: the two do not mix.
    let output = pinnace(
        repo.path(),
        &["check", "--policy-from", "main", "."],
        &[("PINNACE_CONFIG", ".pinnace.yaml")],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("give one of them"),
        "{}",
        stderr(&output)
    );
    // Outside a git repository.
    let plain = tempfile::tempdir().unwrap();
    let output = pinnace(plain.path(), &["check", "--policy-from", "main", "."], &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("not in a git repository"),
        "{}",
        stderr(&output)
    );

    // An invalid config at the revision is reported at its line there.
    let repo = pull_request(
        &[(".pinnace.yaml", "rules: {no-such-rule: off}\n")],
        &[(".pinnace.yaml", None)],
    );
    let output = pinnace(repo.path(), &["check", "--policy-from", "main", "."], &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("main:.pinnace.yaml:1:9: unknown rule `no-such-rule`"),
        "{}",
        stderr(&output)
    );

    // A key file that is a link at the revision, or too large, is not followed or read.
    let signed = "signatures: [{images: [\"ghcr.io/acme/**\"], keys: [keys/release.pub]}]\n";
    for (setup, why) in [
        ("link", "keys/release.pub is not a regular file"),
        ("large", "keys/release.pub is larger than 4096 KiB"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        git(root, &["init", "-q"]);
        write(root, ".pinnace.yaml", signed);
        fs::create_dir(root.join("keys")).unwrap();
        if setup == "link" {
            std::os::unix::fs::symlink("/etc/passwd", root.join("keys/release.pub")).unwrap();
        } else {
            fs::write(root.join("keys/release.pub"), vec![b'k'; 5 << 20]).unwrap();
        }
        git(root, &["add", "-A"]);
        git(root, &["commit", "-q", "-m", "base"]);
        let output = pinnace(root, &["check", "--policy-from", "HEAD", "."], &[]);
        assert_eq!(output.status.code(), Some(2), "{setup}");
        assert!(
            stderr(&output).contains(why),
            "{setup}: {}",
            stderr(&output)
        );
    }
}

/// The invoker's own config (`$XDG_CONFIG_HOME/pinnace/config.yaml`) reaching the plain-HTTP
/// test registry: what a CI job gives, since `--policy-from` takes no `--config`.
fn invoker_config(host: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "pinnace/config.yaml",
        &format!("registries: {{insecure: [\"{host}\"]}}\n"),
    );
    dir
}

#[test]
fn a_key_replaced_by_the_pull_request_is_read_from_the_revision() {
    if support::registry_tools_missing() {
        return;
    }
    let registry = Registry::start();
    let host = registry.host();
    let release = SigningKey::generate(KeyKind::P256);
    let stranger = SigningKey::generate(KeyKind::P256);
    let digest = registry
        .push("team/app", "1", TestImage::SinglePlatform, "a")
        .digest;
    push_signatures(
        &registry,
        "team/app",
        &digest,
        &[SignatureLayer::signed(
            &stranger, &registry, "team/app", &digest,
        )],
    );
    let config = format!(
        "signatures: [{{images: [\"{host}/team/**\"], keys: [keys/release.pub]}}]\nrules: {{missing-network-policy: off, missing-default-deny: off}}\n"
    );
    let image = format!("{host}/team/app:1");
    // The stranger swaps the key file for their own and pins the image they signed.
    let repo = pull_request(
        &[
            (".pinnace.yaml", &config),
            ("keys/release.pub", &release.public_pem()),
        ],
        &[
            ("keys/release.pub", Some(&stranger.public_pem())),
            ("app.yaml", Some(&pod("app", &format!("{image}@{digest}")))),
            ("unpinned.yaml", Some(&pod("unpinned", &image))),
        ],
    );
    let invoker = invoker_config(&host);
    let env = [("XDG_CONFIG_HOME", invoker.path().to_str().unwrap())];
    let run = |args: &[&str]| {
        let output = pinnace(repo.path(), args, &env);
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        (output.status.code(), stdout, stderr)
    };
    let check = [
        "check",
        "--online",
        "--select=unsigned-image",
        "--format",
        "json",
        "app.yaml",
    ];
    let (code, stdout, stderr) = run(&check);
    assert_eq!(
        code,
        Some(0),
        "the tree's key passes its own signature: {stdout}{stderr}"
    );

    let mut with_base = check.to_vec();
    with_base.splice(1..1, ["--policy-from", "main"]);
    let (code, stdout, stderr) = run(&with_base);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    let message = report["findings"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("verifies under none of the keys"),
        "{message}"
    );
    assert_eq!(
        report["warnings"][0]["message"],
        "this run takes the policy from main:.pinnace.yaml; this file changes key file keys/release.pub, which apply once merged"
    );

    // pin --require-signature under the base's key leaves the stranger's image as it was.
    let before = fs::read_to_string(repo.path().join("unpinned.yaml")).unwrap();
    let (code, _, stderr) = run(&[
        "pin",
        "--require-signature",
        "--policy-from",
        "main",
        "unpinned.yaml",
    ]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{image}: {digest} is not pinned: no signature verifies under keys/release.pub"
        )),
        "{stderr}"
    );
    assert!(stderr.contains("key file keys/release.pub"), "{stderr}");
    assert_eq!(
        fs::read_to_string(repo.path().join("unpinned.yaml")).unwrap(),
        before
    );
    // Under the tree's own key, it would have been pinned.
    let (code, _, stderr) = run(&["pin", "--require-signature", "unpinned.yaml"]);
    assert_eq!(code, Some(0), "{stderr}");
}
