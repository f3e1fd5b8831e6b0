//! `pinnace check --changed-since REV` and `pinnace check FILE...`: only what changed (or was
//! named) is checked, through the Kustomize roots that read it.

mod common;

use std::fs;
use std::path::Path;

use common::{NO_NETWORK_RULES, pod, run, stderr, tree};
use git2::{Commit, Oid, Repository, Signature};
use serde_json::Value;

const DEPLOY: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.25\n      - name: sidecar\n        image: busybox:1.36\n";

/// Stages the whole work tree (additions, changes, removals) and commits it on `branch`.
fn commit(repo: &Repository, branch: &str, parent: Option<Oid>, message: &str) -> Oid {
    let mut index = repo.index().unwrap();
    index
        .add_all(["*"], git2::IndexAddOption::DEFAULT, None)
        .unwrap();
    index.update_all(["*"], None).unwrap();
    index.write().unwrap();
    let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
    let signature = Signature::now("test", "test@example.com").unwrap();
    let parents: Vec<Commit> = parent
        .map(|id| repo.find_commit(id).unwrap())
        .into_iter()
        .collect();
    let parents: Vec<&Commit> = parents.iter().collect();
    let id = repo
        .commit(None, &signature, &signature, message, &tree, &parents)
        .unwrap();
    repo.reference(&format!("refs/heads/{branch}"), id, true, message)
        .unwrap();
    id
}

fn write(root: &Path, file: &str, text: &str) {
    let path = root.join(file);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

/// `main` has a base, an overlay and three raw pods; `feature` branched from it and changed
/// `raw/old.yaml`; `main` then changed `raw/untouched.yaml`. The work tree is on `feature`
/// with a staged new file, a staged rename, an unstaged change in the base and an untracked
/// file.
fn repository() -> tempfile::TempDir {
    let dir = tree(&[
        ("app/base/kustomization.yaml", "resources:\n- deploy.yaml\n"),
        ("app/base/deploy.yaml", DEPLOY),
        (
            "app/overlays/prod/kustomization.yaml",
            "namePrefix: prod-\nresources:\n- ../../base\nimages:\n- name: nginx\n  newTag: \"1.27\"\n",
        ),
        ("raw/old.yaml", &pod("alpine:3.18")),
        ("raw/untouched.yaml", &pod("alpine:3.19")),
        ("raw/moved.yaml", &pod("alpine:3.20")),
        ("README.md", "docs\n"),
    ]);
    let root = dir.path();
    let repo = Repository::init(root).unwrap();
    let base = commit(&repo, "main", None, "base");
    write(
        root,
        "raw/old.yaml",
        &format!("# changed\n{}", pod("alpine:3.18")),
    );
    let feature = commit(&repo, "feature", Some(base), "feature");
    // main moves on after the branch point: not part of the change.
    write(root, "raw/untouched.yaml", &pod("alpine:3.21"));
    commit(&repo, "main", Some(base), "main moves on");
    // Back to feature, checked out.
    repo.set_head("refs/heads/feature").unwrap();
    repo.checkout_head(Some(git2::build::CheckoutBuilder::new().force()))
        .unwrap();
    assert_eq!(
        fs::read_to_string(root.join("raw/untouched.yaml")).unwrap(),
        pod("alpine:3.19")
    );
    let _ = feature;
    write(root, "raw/staged.yaml", &pod("alpine:3.22"));
    fs::rename(root.join("raw/moved.yaml"), root.join("raw/renamed.yaml")).unwrap();
    let mut index = repo.index().unwrap();
    index.add_path(Path::new("raw/staged.yaml")).unwrap();
    index.remove_path(Path::new("raw/moved.yaml")).unwrap();
    index.add_path(Path::new("raw/renamed.yaml")).unwrap();
    index.write().unwrap();
    write(
        root,
        "app/base/deploy.yaml",
        &format!("# unstaged\n{DEPLOY}"),
    );
    write(root, "raw/untracked.yaml", &pod("alpine:3.23"));
    write(root, "notes.txt", "not a manifest\n");
    dir
}

/// The (path, image) of every finding of `check --format json ARGS`, sorted, and stderr.
fn found(dir: &Path, args: &[&str]) -> (Vec<(String, String)>, String, i32) {
    let output = run(
        dir,
        &[&["check", "--format", "json", NO_NETWORK_RULES], args].concat(),
    );
    let code = output.status.code().unwrap();
    assert!(matches!(code, 0 | 1), "{}", stderr(&output));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let mut found: Vec<(String, String)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["image"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    found.sort();
    found.dedup();
    (found, stderr(&output), code)
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[test]
fn committed_staged_unstaged_untracked_and_renamed_changes_count() {
    let dir = repository();
    let (found, err, code) = found(dir.path(), &["--changed-since", "main"]);
    assert_eq!(code, 1);
    assert_eq!(
        found,
        pairs(&[
            ("app/base/deploy.yaml", "busybox:1.36"),
            ("app/overlays/prod/kustomization.yaml", "nginx:1.27"),
            ("raw/old.yaml", "alpine:3.18"),
            ("raw/renamed.yaml", "alpine:3.20"),
            ("raw/staged.yaml", "alpine:3.22"),
            ("raw/untracked.yaml", "alpine:3.23"),
        ]),
        "the base is checked through its overlay (nginx as the overlay sets it); \
         raw/untouched.yaml changed on main only: {err}"
    );
    assert!(
        err.contains("5 manifest(s) changed since main")
            && err.contains("through 1 Kustomize root"),
        "{err}"
    );
}

#[test]
fn paths_limit_the_changed_files() {
    let dir = repository();
    let (found, _, _) = found(dir.path(), &["raw", "--changed-since", "main"]);
    let files: Vec<&str> = found.iter().map(|f| f.0.as_str()).collect();
    assert_eq!(
        files,
        [
            "raw/old.yaml",
            "raw/renamed.yaml",
            "raw/staged.yaml",
            "raw/untracked.yaml"
        ]
    );
}

#[test]
fn nothing_changed_is_a_clean_run() {
    let dir = repository();
    let (found, err, code) = found(dir.path(), &["--changed-since", "HEAD", "app/overlays"]);
    assert_eq!((found, code), (vec![], 0), "{err}");
    assert!(err.contains("0 manifest(s) changed since HEAD"), "{err}");
}

#[test]
fn a_bad_revision_or_no_repository_is_a_clear_error() {
    let dir = repository();
    let output = run(dir.path(), &["check", "--changed-since", "no-such-branch"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("cannot find the revision `no-such-branch`"),
        "{}",
        stderr(&output)
    );
    let plain = tree(&[("pod.yaml", &pod("alpine:3"))]);
    let output = run(plain.path(), &["check", "--changed-since", "main"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("is not in a git repository"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_named_base_file_is_checked_through_the_roots_that_read_it() {
    let dir = repository();
    // Checked raw, the base file would report nginx:1.25 at its own line.
    let (found_files, err, code) =
        found(dir.path(), &["app/base/deploy.yaml", "raw/untouched.yaml"]);
    assert_eq!(code, 1);
    assert_eq!(
        found_files,
        pairs(&[
            ("app/base/deploy.yaml", "busybox:1.36"),
            ("app/overlays/prod/kustomization.yaml", "nginx:1.27"),
            ("raw/untouched.yaml", "alpine:3.19"),
        ]),
        "{err}"
    );
    // The same from a subfolder, with the file named relative to it.
    let (from_sub, _, _) = found(&dir.path().join("app/base"), &["deploy.yaml"]);
    // (a file outside the current folder is named relative to it, as the path given is)
    assert_eq!(from_sub.len(), 2, "{from_sub:?}");
    assert_eq!(from_sub[0].0, "../overlays/prod/kustomization.yaml");
    assert_eq!(from_sub[0].1, "nginx:1.27");
    assert_eq!(
        from_sub[1],
        ("deploy.yaml".to_string(), "busybox:1.36".to_string())
    );
}

#[test]
/// Outside a git repository there is no tree to look for the roots that read a file in (the
/// current folder may be a home folder): the file is its own scope, and is judged as written.
fn without_a_repository_a_named_file_is_its_own_scope() {
    let dir = tree(&[
        ("base/kustomization.yaml", "resources:\n- deploy.yaml\n"),
        ("base/deploy.yaml", DEPLOY),
        (
            "prod/kustomization.yaml",
            "resources:\n- ../base\nimages:\n- name: nginx\n  digest: sha256:0000000000000000000000000000000000000000000000000000000000000000\n",
        ),
    ]);
    let (found, err, _) = found(dir.path(), &["base/deploy.yaml"]);
    assert_eq!(
        found,
        pairs(&[
            ("base/deploy.yaml", "busybox:1.36"),
            ("base/deploy.yaml", "nginx:1.25")
        ]),
        "the overlay in prod/ is not looked for: {err}"
    );
}

#[test]
fn a_deleted_resource_shows_the_build_it_breaks() {
    let dir = repository();
    fs::remove_file(dir.path().join("app/base/deploy.yaml")).unwrap();
    let output = run(dir.path(), &["check", "--changed-since", "main"]);
    let err = stderr(&output);
    assert!(
        err.contains("app/overlays/prod/kustomization.yaml: cannot build this kustomization"),
        "the overlay that reads the deleted file is built, and its error shown: {err}"
    );
}

#[test]
fn a_changed_config_checks_everything() {
    let dir = repository();
    write(
        dir.path(),
        ".pinnace.yaml",
        "registries:\n  trusted: [\"docker.io/**\"]\n",
    );
    let (found, err, _) = found(dir.path(), &["--changed-since", "main"]);
    assert!(
        err.contains(".pinnace.yaml changed since main: checking everything"),
        "{err}"
    );
    assert!(
        found.iter().any(|(path, _)| path == "raw/untouched.yaml"),
        "{found:?}"
    );
}

#[test]
fn changed_resources_report_their_own_findings_and_a_changed_build_all_of_its() {
    let dir = tree(&[
        ("app/kustomization.yaml", "resources:\n- a.yaml\n- b.yaml\n"),
        ("app/a.yaml", &pod("alpine:3.18")),
        ("app/b.yaml", DEPLOY),
    ]);
    let root = dir.path();
    let repo = Repository::init(root).unwrap();
    commit(&repo, "main", None, "base");
    repo.set_head("refs/heads/main").unwrap();
    // Only a.yaml changed: b.yaml's finding, in a file the change did not touch, is not its.
    write(
        root,
        "app/a.yaml",
        &format!("# changed\n{}", pod("alpine:3.18")),
    );
    let (found_a, err, _) = found(root, &["--changed-since", "main", "."]);
    assert_eq!(found_a, pairs(&[("app/a.yaml", "alpine:3.18")]), "{err}");
    // A changed kustomization can move any finding of its build: all of them.
    write(
        root,
        "app/kustomization.yaml",
        "# changed\nresources:\n- a.yaml\n- b.yaml\n",
    );
    let (found_all, err, _) = found(root, &["--changed-since", "main", "."]);
    assert_eq!(
        found_all,
        pairs(&[
            ("app/a.yaml", "alpine:3.18"),
            ("app/b.yaml", "busybox:1.36"),
            ("app/b.yaml", "nginx:1.25"),
        ]),
        "{err}"
    );
}
