//! `pinnace migrate` over local bare repositories (as remotes, cloned by `file://` URL) against
//! a real registry (Debian's docker-registry on 127.0.0.1, images pushed by skopeo).

#[path = "migrate/git_http.rs"]
mod git_http;
mod support;

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use git2::{BranchType, IndexAddOption, Repository, Signature};
use serde_json::Value;

use git_http::{GitHttpServer, git_http_backend_missing};
use support::{Registry, TestImage};

const BRANCH: &str = "pinnace/pin-digests";

fn manifest_heads(registry: &Registry) -> usize {
    registry
        .requests_excluding_harness()
        .iter()
        .filter(|(method, path)| method == "HEAD" && path.contains("/manifests/"))
        .count()
}

/// A Deployment with one container per image, as the pin tests write them.
fn deployment(images: &[&str]) -> String {
    let mut text = String::from(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\nspec:\n  template:\n    spec:\n      containers:\n",
    );
    for (i, image) in images.iter().enumerate() {
        text.push_str(&format!(
            "      - name: c{i}\n        image: {image}  # keep this comment\n"
        ));
    }
    text
}

/// A work tree on `main` with `files` committed once.
fn init_repo(path: &Path, files: &[(&str, String)]) -> Repository {
    let mut options = git2::RepositoryInitOptions::new();
    options.initial_head("main");
    let repo = Repository::init_opts(path, &options).unwrap();
    for (name, text) in files {
        let file = path.join(name);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, text).unwrap();
    }
    {
        let mut index = repo.index().unwrap();
        index.add_all(["*"], IndexAddOption::DEFAULT, None).unwrap();
        index.write().unwrap();
        let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
        let signature = Signature::now("Seed", "seed@example.com").unwrap();
        repo.commit(Some("HEAD"), &signature, &signature, "seed", &tree, &[])
            .unwrap();
    }
    repo
}

/// A bare repository holding `files` on `main`; returns its `file://` URL.
fn bare_remote(root: &Path, name: &str, files: &[(&str, String)]) -> String {
    let seed = root.join(format!("seed-{name}"));
    init_repo(&seed, files);
    let bare = root.join(format!("{name}.git"));
    git2::build::RepoBuilder::new()
        .bare(true)
        .clone(&format!("file://{}", seed.display()), &bare)
        .unwrap();
    format!("file://{}", bare.display())
}

fn bare_path(url: &str) -> PathBuf {
    PathBuf::from(url.strip_prefix("file://").unwrap())
}

/// Runs `pinnace migrate` in `dir` with an empty home (no git config, no credentials).
fn migrate(dir: &Path, args: &[&str]) -> Output {
    let home = tempfile::tempdir().unwrap();
    migrate_with_home(dir, home.path(), &[], args)
}

/// Runs `pinnace migrate` in `dir` with `home` as HOME (its `.gitconfig` is git's config),
/// and `env` set.
fn migrate_with_home(dir: &Path, home: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    Command::cargo_bin("pinnace")
        .unwrap()
        .current_dir(dir)
        .envs(env.iter().copied())
        .env("HOME", home)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env_remove("DOCKER_CONFIG")
        .env_remove("XDG_CONFIG_HOME")
        .arg("migrate")
        .args(args)
        .output()
        .unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A folder with the run's config (the registry is plain HTTP) and the repository list.
fn run_dir(host: &str, repos: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("run.yaml"),
        format!("registries:\n  insecure: [\"{host}\"]\n"),
    )
    .unwrap();
    let mut list = String::from("# the fleet\n\n");
    for repo in repos {
        list.push_str(repo);
        list.push('\n');
    }
    std::fs::write(dir.path().join("repos.txt"), list).unwrap();
    dir
}

const COMMON: [&str; 6] = [
    "--repos",
    "repos.txt",
    "--config",
    "run.yaml",
    "--author",
    "Pin Bot <bot@example.com>",
];

fn report(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap()
}

fn repo_entry<'a>(report: &'a Value, repository: &str) -> &'a Value {
    report["repositories"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["repository"] == repository)
        .unwrap_or_else(|| panic!("{repository} not in {report:#}"))
}

/// Files that differ between two commits.
fn changed_paths(repo: &Repository, old: git2::Oid, new: git2::Oid) -> Vec<String> {
    let old = repo.find_commit(old).unwrap().tree().unwrap();
    let new = repo.find_commit(new).unwrap().tree().unwrap();
    let diff = repo
        .diff_tree_to_tree(Some(&old), Some(&new), None)
        .unwrap();
    diff.deltas()
        .map(|d| d.new_file().path().unwrap().display().to_string())
        .collect()
}

fn file_at(repo: &Repository, commit: git2::Oid, path: &str) -> String {
    let tree = repo.find_commit(commit).unwrap().tree().unwrap();
    let entry = tree.get_path(Path::new(path)).unwrap();
    let blob = repo.find_blob(entry.id()).unwrap();
    String::from_utf8(blob.content().to_vec()).unwrap()
}

#[test]
fn clones_by_url_commits_the_pins_on_a_branch_and_reports_each_repository() {
    if support::registry_tools_missing() {
        return;
    }
    let registry = Registry::start();
    let host = registry.host();
    let a = registry.push("team/a", "1", TestImage::SinglePlatform, "a");
    let b = registry.push("team/b", "1", TestImage::MultiPlatform, "b");
    let (image_a, image_b) = (format!("{host}/team/a:1"), format!("{host}/team/b:1"));
    let remotes = tempfile::tempdir().unwrap();
    let deploy = deployment(&[&image_a, &image_b]);
    let one = bare_remote(
        remotes.path(),
        "one",
        &[
            ("deploy/app.yaml", deploy.clone()),
            ("README.md", "not yaml\n".into()),
        ],
    );
    let remote_base = "resources:\n- https://github.com/acme/base//deploy?ref=v1\n";
    let two = bare_remote(
        remotes.path(),
        "two",
        &[
            ("app.yaml", deployment(&[&image_a])),
            ("remote/kustomization.yaml", remote_base.into()),
        ],
    );
    let latest = format!("{host}/team/a:latest");
    let three = bare_remote(
        remotes.path(),
        "three",
        &[("app.yaml", deployment(&[&latest]))],
    );
    let dir = run_dir(&host, &[&one, &two, &three]);

    let before = manifest_heads(&registry);
    let mut args = COMMON.to_vec();
    args.extend(["--workdir", "work", "--report", "report", "--jobs", "3"]);
    let output = migrate(dir.path(), &args);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        manifest_heads(&registry) - before,
        2,
        "one HEAD per distinct image across all repositories"
    );

    // Repository one: a branch from main with one commit touching only the image scalars.
    let clone = Repository::open(dir.path().join("work/one")).unwrap();
    let base = clone.revparse_single("origin/main").unwrap().id();
    let branch = clone.find_branch(BRANCH, BranchType::Local).unwrap();
    assert!(branch.is_head(), "HEAD is on the new branch");
    let commit = clone.find_commit(branch.get().target().unwrap()).unwrap();
    assert_eq!(commit.parent_ids().collect::<Vec<_>>(), [base]);
    assert_eq!(
        changed_paths(&clone, base, commit.id()),
        ["deploy/app.yaml"]
    );
    let expected = deploy
        .replace(&image_a, &format!("{image_a}@{}", a.digest))
        .replace(&image_b, &format!("{image_b}@{}", b.digest));
    assert_eq!(file_at(&clone, commit.id(), "deploy/app.yaml"), expected);
    assert_eq!(commit.author().email(), Ok("bot@example.com"));
    assert_eq!(commit.committer().name(), Ok("Pin Bot"));
    let message = commit.message().unwrap();
    assert!(
        message.starts_with("Pin container images to digests\n"),
        "{message}"
    );
    assert!(
        message.contains("pinnace pinned 2 images in 1 file"),
        "{message}"
    );
    assert!(
        message.contains(&format!(
            "\ndeploy/app.yaml\n- {image_a} pinned to {}\n",
            a.digest
        )),
        "{message}"
    );
    assert!(
        message.contains(&format!("- {image_b} pinned to {}", b.digest)),
        "{message}"
    );
    assert!(clone.statuses(None).unwrap().is_empty(), "work tree clean");

    // Repository three: nothing it may pin, so no branch.
    let untouched = Repository::open(dir.path().join("work/three")).unwrap();
    assert!(untouched.find_branch(BRANCH, BranchType::Local).is_err());

    let json = report(dir.path());
    assert_eq!(json["totals"]["repositories"], 3);
    assert_eq!(json["totals"]["pinned"], 2);
    assert_eq!(json["totals"]["unchanged"], 1);
    assert_eq!(json["totals"]["images_pinned"], 3);
    assert_eq!(json["distinct_images"], 2);
    let first = repo_entry(&json, &one);
    assert_eq!(first["status"], "pinned");
    assert_eq!(first["branch"], BRANCH);
    assert_eq!(first["commit"], commit.id().to_string());
    assert_eq!(first["base"], base.to_string());
    assert_eq!(first["files"][0]["file"], "deploy/app.yaml");
    assert_eq!(first["files"][0]["pinned"][1]["image"], image_b.as_str());
    assert_eq!(first["files"][0]["pinned"][1]["digest"], b.digest.as_str());
    // What pin does not build is skipped, not failed.
    let second = repo_entry(&json, &two);
    assert_eq!(second["status"], "pinned");
    assert_eq!(second["failed"], Value::Array(vec![]));
    assert_eq!(
        second["skipped"][0]["file"],
        "remote/kustomization.yaml:2:3"
    );
    let reason = second["skipped"][0]["reason"].as_str().unwrap();
    assert!(reason.contains("is not fetched"), "{reason}");
    let third = repo_entry(&json, &three);
    assert_eq!(third["status"], "unchanged");
    assert_eq!(third["commit"], Value::Null);
    assert_eq!(third["skipped"][0]["image"], latest.as_str());
    assert!(
        third["skipped"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("latest")
    );

    let md = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
    assert!(md.starts_with("# pinnace migrate\n"), "{md}");
    assert!(
        md.contains(&format!(
            "| {one} | pinned | `{}` | 2 | 0 | 0 |",
            &commit.id().to_string()[..12]
        )),
        "{md}"
    );
    assert!(
        md.contains(&format!("| {three} | unchanged |  | 0 | 1 | 0 |")),
        "{md}"
    );
    assert!(
        md.contains(&format!(
            "- pinned `deploy/app.yaml`: `{image_a}` → `{}`",
            a.digest
        )),
        "{md}"
    );
    // A second run reuses the clones and refuses the branch they already have.
    let before = manifest_heads(&registry);
    let output = migrate(dir.path(), &args);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let json = report(dir.path());
    let again = repo_entry(&json, &one);
    assert_eq!(again["status"], "failed");
    assert!(
        again["failed"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("already exists"),
        "{again}"
    );
    assert_eq!(repo_entry(&json, &three)["status"], "unchanged");
    assert_eq!(manifest_heads(&registry), before, "nothing left to resolve");
    let branch = clone.find_branch(BRANCH, BranchType::Local).unwrap();
    assert_eq!(branch.get().target(), Some(commit.id()));
}

#[test]
fn push_puts_the_branch_on_the_bare_remote() {
    if support::registry_tools_missing() {
        return;
    }
    let registry = Registry::start();
    let host = registry.host();
    registry.push("team/a", "1", TestImage::SinglePlatform, "a");
    let remotes = tempfile::tempdir().unwrap();
    let url = bare_remote(
        remotes.path(),
        "fleet",
        &[("app.yaml", deployment(&[&format!("{host}/team/a:1")]))],
    );
    let dir = run_dir(&host, &[&url]);
    let mut args = COMMON.to_vec();
    args.extend(["--workdir", "work", "--report", "report", "--push"]);
    let output = migrate(dir.path(), &args);
    assert!(output.status.success(), "{}", stderr(&output));
    let json = report(dir.path());
    let entry = repo_entry(&json, &url);
    assert_eq!(entry["pushed"], true);
    let bare = Repository::open_bare(bare_path(&url)).unwrap();
    let pushed = bare.find_branch(BRANCH, BranchType::Local).unwrap();
    assert_eq!(
        pushed.get().target().unwrap().to_string(),
        entry["commit"].as_str().unwrap()
    );
    let main = bare.find_branch("main", BranchType::Local).unwrap();
    assert_ne!(main.get().target(), pushed.get().target(), "main untouched");
    let remote_tip = pushed.get().target();

    // A fresh clone makes another commit; the remote refuses it (not a fast-forward), so the
    // clone is put back on main without the branch.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let mut args = COMMON.to_vec();
    args.extend(["--workdir", "again", "--report", "report", "--push"]);
    let output = migrate(dir.path(), &args);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let json = report(dir.path());
    let entry = repo_entry(&json, &url);
    assert_eq!(entry["status"], "failed");
    assert_eq!(entry["pushed"], false);
    let reason = entry["failed"][0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("push") && reason.ends_with("rolled back"),
        "{reason}"
    );
    let clone = Repository::open(dir.path().join("again/fleet")).unwrap();
    assert_eq!(clone.head().unwrap().name(), Ok("refs/heads/main"));
    assert!(clone.find_branch(BRANCH, BranchType::Local).is_err());
    assert!(clone.statuses(None).unwrap().is_empty(), "work tree clean");
    let bare = Repository::open_bare(bare_path(&url)).unwrap();
    let tip = bare.find_branch(BRANCH, BranchType::Local).unwrap();
    assert_eq!(
        tip.get().target(),
        remote_tip,
        "the remote branch is untouched"
    );
}

#[test]
fn shards_split_the_fleet_and_share_one_cache_file() {
    if support::registry_tools_missing() {
        return;
    }
    let registry = Registry::start();
    let host = registry.host();
    registry.push("team/a", "1", TestImage::SinglePlatform, "a");
    let image = format!("{host}/team/a:1");
    let remotes = tempfile::tempdir().unwrap();
    // The shard is a hash of the line, and the lines hold a random temporary path: with 16
    // repositories, both shards get some but once in 30,000 runs (with 6, once in 32).
    let urls: Vec<String> = (0..16)
        .map(|n| {
            bare_remote(
                remotes.path(),
                &format!("r{n}"),
                &[("app.yaml", deployment(&[&image]))],
            )
        })
        .collect();
    let lines: Vec<&str> = urls.iter().map(String::as_str).collect();
    let dir = run_dir(&host, &lines);

    let mut shards: Vec<Vec<String>> = Vec::new();
    let mut heads = Vec::new();
    for shard in ["1/2", "2/2"] {
        let before = manifest_heads(&registry);
        let mut args = COMMON.to_vec();
        args.extend(["--workdir", "work", "--report", "report"]);
        args.extend(["--shard", shard, "--cache", "cache.json"]);
        let output = migrate(dir.path(), &args);
        assert!(output.status.success(), "{}", stderr(&output));
        heads.push(manifest_heads(&registry) - before);
        let json = report(dir.path());
        assert_eq!(json["shard"], shard);
        assert!(
            json["repositories"]
                .as_array()
                .unwrap()
                .iter()
                .all(|entry| entry["status"] == "pinned")
        );
        shards.push(repositories(&json));
    }
    let mut seen = shards.concat();
    seen.sort();
    let mut all = urls.clone();
    all.sort();
    assert_eq!(seen, all, "every repository in exactly one shard");
    assert!(shards.iter().all(|s| !s.is_empty()), "{shards:?}");
    assert_eq!(
        heads,
        [1, 0],
        "the second shard reads the first one's cache"
    );

    // The same split every time; a dry run writes nothing.
    let mut args = COMMON.to_vec();
    args.extend(["--workdir", "w2", "--report", "report", "--shard", "1/2"]);
    args.push("--dry-run");
    let output = migrate(dir.path(), &args);
    assert!(output.status.success(), "{}", stderr(&output));
    let json = report(dir.path());
    assert_eq!(repositories(&json), shards[0]);
    assert_eq!(json["repositories"][0]["status"], "would-pin");
    let clone = Repository::open(json["repositories"][0]["path"].as_str().unwrap()).unwrap();
    assert!(clone.find_branch(BRANCH, BranchType::Local).is_err());
    assert!(clone.statuses(None).unwrap().is_empty());
}

/// The reason of a repository's first failure in a report.
fn first_failure(report: &Value, url: &str) -> String {
    repo_entry(report, url)["failed"][0]["reason"]
        .as_str()
        .unwrap()
        .to_string()
}

fn repositories(report: &Value) -> Vec<String> {
    report["repositories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["repository"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_failure_rolls_that_repository_back_and_the_others_go_on() {
    if support::registry_tools_missing() {
        return;
    }
    let registry = Registry::start();
    let host = registry.host();
    registry.push("team/a", "1", TestImage::SinglePlatform, "a");
    let image = format!("{host}/team/a:1");
    let root = tempfile::tempdir().unwrap();
    let files = [
        ("a.yaml", deployment(&[&image])),
        ("b/b.yaml", deployment(&[&image])),
    ];
    let locked = root.path().join("locked");
    init_repo(&locked, &files);
    let healthy = root.path().join("healthy");
    init_repo(&healthy, &files);
    for repo in [&locked, &healthy] {
        let mut config = Repository::open(repo).unwrap().config().unwrap();
        config.set_str("user.name", "Config Author").unwrap();
        config.set_str("user.email", "config@example.com").unwrap();
    }
    // Another git process holds the index: the files get written, the commit cannot be made.
    std::fs::write(locked.join(".git/index.lock"), "").unwrap();
    let dir = run_dir(
        &host,
        &[locked.to_str().unwrap(), healthy.to_str().unwrap()],
    );
    // No --author: each repository's git config names the author.
    let args = [
        "--repos",
        "repos.txt",
        "--config",
        "run.yaml",
        "--report",
        "report",
    ];
    let output = migrate(dir.path(), &args);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));

    let json = report(dir.path());
    let failed = repo_entry(&json, locked.to_str().unwrap());
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["commit"], Value::Null);
    let reason = failed["failed"][0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("index") && reason.ends_with("rolled back"),
        "{reason}"
    );
    for (name, text) in &files {
        assert_eq!(&std::fs::read_to_string(locked.join(name)).unwrap(), text);
    }
    std::fs::remove_file(locked.join(".git/index.lock")).unwrap();
    let repo = Repository::open(&locked).unwrap();
    assert_eq!(repo.head().unwrap().name(), Ok("refs/heads/main"));
    assert!(repo.find_branch(BRANCH, BranchType::Local).is_err());
    assert!(repo.statuses(None).unwrap().is_empty(), "work tree clean");

    assert_eq!(
        repo_entry(&json, healthy.to_str().unwrap())["status"],
        "pinned"
    );
    let repo = Repository::open(&healthy).unwrap();
    let branch = repo.find_branch(BRANCH, BranchType::Local).unwrap();
    assert!(branch.is_head());
    let commit = repo.find_commit(branch.get().target().unwrap()).unwrap();
    assert_eq!(commit.author().name(), Ok("Config Author"));
    assert_eq!(commit.committer().email(), Ok("config@example.com"));
}

#[test]
fn a_repository_with_changes_of_its_own_is_left_alone() {
    if support::registry_tools_missing() {
        return;
    }
    let registry = Registry::start();
    let host = registry.host();
    registry.push("team/a", "1", TestImage::SinglePlatform, "a");
    let root = tempfile::tempdir().unwrap();
    let path = root.path().join("dirty");
    let text = deployment(&[&format!("{host}/team/a:1")]);
    init_repo(&path, &[("app.yaml", text.clone())]);
    std::fs::write(path.join("notes.yaml"), "x: 1\n").unwrap();
    let dir = run_dir(&host, &[path.to_str().unwrap()]);
    let mut args = COMMON.to_vec();
    args.extend(["--report-json", "report.json", "--report-md", "summary.md"]);
    let output = migrate(dir.path(), &args);
    assert_eq!(output.status.code(), Some(1));
    let json = report(dir.path());
    let entry = repo_entry(&json, path.to_str().unwrap());
    assert_eq!(entry["status"], "failed");
    assert!(
        entry["failed"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("untracked"),
        "{entry}"
    );
    assert_eq!(
        std::fs::read_to_string(path.join("app.yaml")).unwrap(),
        text
    );
    assert_eq!(manifest_heads(&registry), 0, "nothing resolved");
    let md = std::fs::read_to_string(dir.path().join("summary.md")).unwrap();
    assert!(
        md.contains(&format!("| {} | failed |", path.display())),
        "{md}"
    );
    assert!(!dir.path().join("report.md").exists());
}

/// Every file below a folder.
fn files_below(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        if entry.file_type().unwrap().is_dir() {
            files.extend(files_below(&entry.path()));
        } else {
            files.push(entry.path());
        }
    }
    files
}

/// A home whose git config names a credential helper that answers `user` and `password`.
fn home_with_credential_helper(user: &str, password: &str) -> tempfile::TempDir {
    let home = tempfile::tempdir().unwrap();
    let helper = home.path().join("credential-helper.sh");
    std::fs::write(
        &helper,
        format!(
            "#!/bin/sh\n[ \"$1\" = get ] && printf 'username=%s\\npassword=%s\\n' '{user}' '{password}'\nexit 0\n"
        ),
    )
    .unwrap();
    std::fs::set_permissions(&helper, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    std::fs::write(
        home.path().join(".gitconfig"),
        format!("[credential]\n\thelper = {}\n", helper.display()),
    )
    .unwrap();
    home
}

#[test]
fn clone_and_push_over_http_with_the_credential_helper_git_would_use() {
    if support::registry_tools_missing() || git_http_backend_missing() {
        return;
    }
    clone_and_push_with_credentials(false);
}

#[test]
fn clone_and_push_over_https_verify_the_server_certificate() {
    if support::registry_tools_missing() || git_http_backend_missing() {
        return;
    }
    clone_and_push_with_credentials(true);
}

/// Clones and pushes through the git HTTP server (TLS or not) with the credential helper of
/// git config; then a helper with the wrong password, and (TLS) a CA that is not trusted.
fn clone_and_push_with_credentials(tls: bool) {
    const PASSWORD: &str = "git-Pa55word-never-printed";
    let registry = Registry::start();
    let host = registry.host();
    registry.push("team/a", "1", TestImage::SinglePlatform, "a");
    let remotes = tempfile::tempdir().unwrap();
    let file_url = bare_remote(
        remotes.path(),
        "fleet",
        &[("app.yaml", deployment(&[&format!("{host}/team/a:1")]))],
    );
    let pki = tempfile::tempdir().unwrap();
    let files = support::tls_auth::make_tls_files(pki.path());
    let server = if tls {
        GitHttpServer::start_tls(
            remotes.path(),
            "bot",
            PASSWORD,
            &files.server_cert,
            &files.server_key,
        )
    } else {
        GitHttpServer::start(remotes.path(), "bot", PASSWORD)
    };
    let url = server.url("fleet.git");
    assert!(url.starts_with(if tls { "https://" } else { "http://" }));
    let dir = run_dir(&host, &[&url]);
    let trusted = files.ca_pem.to_str().unwrap();
    let env = [("SSL_CERT_FILE", trusted)];

    let home = home_with_credential_helper("bot", PASSWORD);
    let mut args = COMMON.to_vec();
    args.extend(["--workdir", "work", "--report", "report", "--push"]);
    let output = migrate_with_home(dir.path(), home.path(), &env, &args);
    assert!(output.status.success(), "{}", stderr(&output));
    let json = report(dir.path());
    let entry = repo_entry(&json, &url);
    assert_eq!(entry["status"], "pinned");
    assert_eq!(entry["pushed"], true);
    let bare = Repository::open_bare(bare_path(&file_url)).unwrap();
    let pushed = bare.find_branch(BRANCH, BranchType::Local).unwrap();
    assert_eq!(
        pushed.get().target().unwrap().to_string(),
        entry["commit"].as_str().unwrap()
    );
    let requests = server.requests();
    assert!(
        requests.iter().any(|(method, path, user)| method == "POST"
            && path.ends_with("/git-receive-pack")
            && user == "bot"),
        "{requests:?}"
    );
    assert!(
        requests.iter().any(|(_, _, user)| user.is_empty()),
        "asked for credentials"
    );
    for text in [
        stderr(&output),
        std::fs::read_to_string(dir.path().join("report.json")).unwrap(),
    ] {
        assert!(!text.contains(PASSWORD));
    }

    // A helper with the wrong password: the clone fails after a few tries, nothing hangs.
    let home = home_with_credential_helper("bot", "wrong");
    let mut args = COMMON.to_vec();
    args.extend(["--workdir", "other", "--report", "report", "--push"]);
    let output = migrate_with_home(dir.path(), home.path(), &env, &args);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let json = report(dir.path());
    let reason = first_failure(&json, &url);
    assert!(
        reason.starts_with("cannot clone") && reason.contains("authentication failed"),
        "{reason}"
    );
    assert!(!stderr(&output).contains(PASSWORD));

    // Credentials written into the URL work, and are masked wherever the URL is shown.
    let with_password = url.replacen("://", &format!("://bot:{PASSWORD}@"), 1);
    std::fs::write(dir.path().join("repos.txt"), format!("{with_password}\n")).unwrap();
    let home = tempfile::tempdir().unwrap();
    let mut args = COMMON.to_vec();
    args.extend(["--workdir", "inline", "--report", "report"]);
    let output = migrate_with_home(dir.path(), home.path(), &env, &args);
    assert!(output.status.success(), "{}", stderr(&output));
    let shown = url.replacen("://", "://bot:***@", 1);
    assert_eq!(repo_entry(&report(dir.path()), &shown)["status"], "pinned");
    for text in [
        stderr(&output),
        std::fs::read_to_string(dir.path().join("report.json")).unwrap(),
        std::fs::read_to_string(dir.path().join("report.md")).unwrap(),
    ] {
        assert!(!text.contains(PASSWORD), "{text}");
    }
    // The clone keeps no copy of them: they went to git through a credential callback, not
    // into the remote's URL in .git/config or the clone's reflog.
    let git_dir = dir
        .path()
        .join("inline")
        .read_dir()
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    for file in files_below(&git_dir.join(".git")) {
        let bytes = std::fs::read(&file).unwrap();
        assert!(
            !String::from_utf8_lossy(&bytes).contains(PASSWORD),
            "{} holds the password",
            file.display()
        );
    }
    std::fs::write(dir.path().join("repos.txt"), format!("{url}\n")).unwrap();
    if !tls {
        return;
    }

    // A server whose certificate no trusted CA signed is refused before any credential is sent.
    let authorized = || {
        let requests = server.requests();
        requests
            .iter()
            .filter(|(_, _, user)| !user.is_empty())
            .count()
    };
    let before = authorized();
    let other = tempfile::tempdir().unwrap();
    let untrusted = support::tls_auth::make_tls_files(other.path());
    let env = [("SSL_CERT_FILE", untrusted.ca_pem.to_str().unwrap())];
    let home = home_with_credential_helper("bot", PASSWORD);
    let mut args = COMMON.to_vec();
    args.extend(["--workdir", "third", "--report", "report"]);
    let output = migrate_with_home(dir.path(), home.path(), &env, &args);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let json = report(dir.path());
    let reason = first_failure(&json, &url);
    assert!(
        reason.starts_with("cannot clone") && reason.contains("certificate"),
        "{reason}"
    );
    assert_eq!(authorized(), before, "no credential reached the server");
}

#[test]
fn require_signature_pins_only_digests_that_verify_and_reports_why_the_rest_was_left() {
    use support::cosign::{KeyKind, SignatureLayer, SigningKey, push_signatures};
    if support::registry_tools_missing() {
        return;
    }
    let registry = Registry::start();
    let host = registry.host();
    let release = SigningKey::generate(KeyKind::P256);
    let stranger = SigningKey::generate(KeyKind::P256);
    let push = |repo: &str, key: Option<&SigningKey>| {
        let digest = registry
            .push(repo, "1", TestImage::SinglePlatform, repo)
            .digest;
        if let Some(key) = key {
            let layer = SignatureLayer::signed(key, &registry, repo, &digest);
            push_signatures(&registry, repo, &digest, &[layer]);
        }
        (format!("{host}/{repo}:1"), digest)
    };
    let (signed, signed_digest) = push("team/signed", Some(&release));
    let (unsigned, unsigned_digest) = push("team/unsigned", None);
    let (foreign, _) = push("team/foreign", Some(&stranger));
    let policy =
        format!("signatures: [{{images: [\"{host}/team/**\"], keys: [keys/release.pub]}}]\n");
    let remotes = tempfile::tempdir().unwrap();
    let files = |images: &[&str]| {
        vec![
            (".pinnace.yaml", policy.clone()),
            ("keys/release.pub", release.public_pem()),
            ("app.yaml", deployment(images)),
        ]
    };
    let mixed = bare_remote(
        remotes.path(),
        "mixed",
        &files(&[&signed, &unsigned, &foreign]),
    );
    let same_key = bare_remote(remotes.path(), "same-key", &files(&[&signed]));
    // No config of its own: the run's `signatures`, with the key beside the run's config.
    let fallback = bare_remote(
        remotes.path(),
        "fallback",
        &[("app.yaml", deployment(&[&signed]))],
    );
    let no_policy = bare_remote(
        remotes.path(),
        "no-policy",
        &[
            (".pinnace.yaml", "rules: {latest-tag: error}\n".to_string()),
            ("app.yaml", deployment(&[&signed])),
        ],
    );
    let dir = run_dir(&host, &[&mixed, &same_key, &fallback, &no_policy]);
    std::fs::write(
        dir.path().join("run.yaml"),
        format!("registries:\n  insecure: [\"{host}\"]\n{policy}"),
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("keys")).unwrap();
    std::fs::write(dir.path().join("keys/release.pub"), release.public_pem()).unwrap();

    let mut args = COMMON.to_vec();
    args.extend([
        "--workdir",
        "work",
        "--report",
        "report",
        "--require-signature",
    ]);
    let output = migrate(dir.path(), &args);
    let log = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{log}");
    let json = report(dir.path());

    let entry = repo_entry(&json, &mixed);
    assert_eq!(entry["status"], "pinned", "{entry:#}");
    let pinned: Vec<&str> = entry["files"][0]["pinned"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["image"].as_str().unwrap())
        .collect();
    assert_eq!(pinned, [signed.as_str()]);
    assert_eq!(entry["unsigned"], 2);
    let reasons: Vec<(&str, &str)> = entry["failed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["image"].as_str().unwrap(), f["reason"].as_str().unwrap()))
        .collect();
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert_eq!(reasons[0].0, unsigned);
    assert_eq!(
        reasons[0].1,
        format!(
            "{unsigned_digest} is not pinned: no signature verifies under keys/release.pub: found no cosign signature or Sigstore bundle"
        )
    );
    assert_eq!(reasons[1].0, foreign);
    assert!(
        reasons[1].1.contains("verifies under none of the keys"),
        "{}",
        reasons[1].1
    );
    let clone = Repository::open(entry["path"].as_str().unwrap()).unwrap();
    let commit = git2::Oid::from_str(entry["commit"].as_str().unwrap()).unwrap();
    assert_eq!(
        file_at(&clone, commit, "app.yaml"),
        deployment(&[&format!("{signed}@{signed_digest}"), &unsigned, &foreign])
    );

    for url in [&same_key, &fallback] {
        let entry = repo_entry(&json, url);
        assert_eq!(entry["status"], "pinned", "{entry:#}");
        assert_eq!(entry["unsigned"], 0);
    }
    let entry = repo_entry(&json, &no_policy);
    assert_eq!(entry["status"], "failed");
    assert!(first_failure(&json, &no_policy).starts_with("--require-signature needs `signatures`"));
    assert_eq!(json["totals"]["images_unsigned"], 2);
    assert!(
        log.contains("2 images left as they were (--require-signature)"),
        "{log}"
    );
    let md = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
    assert!(
        md.contains("2 images left as they were (--require-signature)"),
        "{md}"
    );
    assert!(md.contains("found no cosign signature"), "{md}");
    // One lookup per distinct digest: the repositories trusting the same key share verdicts.
    assert_eq!(registry.signature_requests(), 3);
}
