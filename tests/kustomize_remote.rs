//! Remote Kustomize bases, served by the local git smart-HTTP server the migrate tests use:
//! never fetched by default, fetched with `pinnace build --fetch` into the cache pinned to the
//! ref, and read from the cache by later offline runs.

#[allow(dead_code)]
#[path = "migrate/git_http.rs"]
mod git_http;

use std::path::Path;
use std::process::Output;

use assert_cmd::Command;
use git2::{IndexAddOption, Repository, Signature};

use git_http::{GitHttpServer, git_http_backend_missing};

const PASSWORD: &str = "s3cret-pass";

fn commit(repo: &Repository, files: &[(&str, &str)], message: &str) -> git2::Oid {
    let root = repo.workdir().unwrap().to_path_buf();
    for (name, text) in files {
        let file = root.join(name);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, text).unwrap();
    }
    let mut index = repo.index().unwrap();
    index.add_all(["*"], IndexAddOption::DEFAULT, None).unwrap();
    index.write().unwrap();
    let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
    let signature = Signature::now("Seed", "seed@example.com").unwrap();
    let parents: Vec<git2::Commit> = repo
        .head()
        .ok()
        .and_then(|h| h.peel_to_commit().ok())
        .into_iter()
        .collect();
    let parents: Vec<&git2::Commit> = parents.iter().collect();
    repo.commit(
        Some("HEAD"),
        &signature,
        &signature,
        message,
        &tree,
        &parents,
    )
    .unwrap()
}

fn deployment(tag: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\nspec:\n  template:\n    spec:\n      containers:\n      - name: api\n        image: ghcr.io/acme/api:{tag}\n"
    )
}

/// A bare `bases.git` under `root` whose tag `v1` has the api at 1.0.0 and whose `main`
/// has moved on to 2.0.0.
fn serve_bases(root: &Path) {
    let seed = root.join("seed");
    let mut options = git2::RepositoryInitOptions::new();
    options.initial_head("main");
    let repo = Repository::init_opts(&seed, &options).unwrap();
    let kustomization = "resources:\n- deployment.yaml\n";
    let first = commit(
        &repo,
        &[
            ("app/kustomization.yaml", kustomization),
            ("app/deployment.yaml", &deployment("1.0.0")),
        ],
        "v1",
    );
    repo.tag_lightweight("v1", &repo.find_object(first, None).unwrap(), false)
        .unwrap();
    commit(
        &repo,
        &[("app/deployment.yaml", &deployment("2.0.0"))],
        "v2",
    );
    git2::build::RepoBuilder::new()
        .bare(true)
        .clone(
            &format!("file://{}", seed.display()),
            &root.join("bases.git"),
        )
        .unwrap();
}

fn build(dir: &Path, cache: &Path, fetch: bool) -> Output {
    let mut command = Command::cargo_bin("pinnace").unwrap();
    command
        .arg("build")
        .arg(dir)
        .env("PINNACE_CACHE_DIR", cache)
        .env("HOME", cache)
        .env("GIT_TERMINAL_PROMPT", "0");
    if fetch {
        command.arg("--fetch");
    }
    command.output().unwrap()
}

#[test]
fn remote_base_is_fetched_only_when_asked_then_read_from_the_cache() {
    if git_http_backend_missing() {
        return;
    }
    let remotes = tempfile::tempdir().unwrap();
    serve_bases(remotes.path());
    let server = GitHttpServer::start(remotes.path(), "bot", PASSWORD);
    let url = server.url("bases.git");
    let with_login = url.replacen("://", &format!("://bot:{PASSWORD}@"), 1);
    let tree = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    std::fs::write(
        tree.path().join("kustomization.yaml"),
        format!("namePrefix: prod-\nresources:\n- {with_login}//app?ref=v1\n"),
    )
    .unwrap();

    let offline = build(tree.path(), cache.path(), false);
    assert!(offline.status.success());
    let stderr = String::from_utf8_lossy(&offline.stderr);
    assert!(stderr.contains("is not fetched"), "{stderr}");
    assert!(
        !stderr.contains(PASSWORD),
        "the password is shown: {stderr}"
    );
    assert!(!String::from_utf8_lossy(&offline.stdout).contains("Deployment"));
    assert!(server.requests().is_empty(), "offline run asked the server");

    let fetched = build(tree.path(), cache.path(), true);
    let stdout = String::from_utf8_lossy(&fetched.stdout).to_string();
    assert!(
        fetched.status.success(),
        "{}",
        String::from_utf8_lossy(&fetched.stderr)
    );
    assert!(stdout.contains("name: prod-api"), "{stdout}");
    assert!(
        stdout.contains("ghcr.io/acme/api:1.0.0"),
        "pinned to v1: {stdout}"
    );
    assert!(!server.requests().is_empty());
    assert!(!stdout.contains(PASSWORD));

    drop(server);
    let later = build(tree.path(), cache.path(), false);
    assert!(later.status.success());
    assert_eq!(
        String::from_utf8_lossy(&later.stdout),
        stdout,
        "read from the cache"
    );
}
