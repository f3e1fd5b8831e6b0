//! `pinnace pin` and `check --online` against a real registry (Debian's docker-registry on
//! 127.0.0.1, images pushed by skopeo; see tests/support).

mod support;

use std::process::Output;

use assert_cmd::Command;

use support::cli::{Repo, pinnace, text};
use support::{RateLimitProxy, Registry, TestImage};

/// The online checks' fixtures are pods without NetworkPolicies, which these rules flag too.
const NO_NETWORK: &str = "--ignore=missing-network-policy,missing-default-deny";
const PASSWORD: &str = "s3cret-Pa55word-never-printed";

fn manifest_heads(registry: &Registry) -> usize {
    registry
        .requests_excluding_harness()
        .iter()
        .filter(|(method, path)| method == "HEAD" && path.contains("/manifests/"))
        .count()
}

#[test]
fn a_multi_arch_tag_is_pinned_to_its_index_and_nothing_else_moves() {
    if support::registry_tools_missing() {
        return;
    }
    let registry = Registry::start();
    let host = registry.host();
    let pushed = registry.push("team/app", "1.0", TestImage::MultiPlatform, "multi");
    let repo = Repo::insecure(&host);
    let image = format!("{host}/team/app:1.0");
    let file = repo.manifest("app.yaml", &[&image]);
    let before = std::fs::read_to_string(&file).unwrap();

    let output = pinnace(&repo, &["pin", "."], &[]);
    let (_, stderr) = text(&output);
    assert!(output.status.success(), "{stderr}");
    let after = std::fs::read_to_string(&file).unwrap();
    let raw = registry.inspect_raw("team/app:1.0").unwrap();
    assert_eq!(
        support::oci_layout::sha256_digest(&raw),
        pushed.digest,
        "the index digest"
    );
    assert_eq!(
        after,
        before.replace(&image, &format!("{image}@{}", pushed.digest))
    );
    assert!(stderr.contains("1 pinned"), "{stderr}");

    // A second run changes nothing and asks the registry nothing.
    let heads = manifest_heads(&registry);
    let output = pinnace(&repo, &["pin", "."], &[]);
    assert!(output.status.success());
    assert_eq!(std::fs::read_to_string(&file).unwrap(), after);
    assert_eq!(manifest_heads(&registry), heads);
}

#[test]
fn dry_run_prints_a_diff_writes_nothing_and_exits_1() {
    if support::registry_tools_missing() {
        return;
    }
    let registry = Registry::start();
    let host = registry.host();
    let pushed = registry.push("team/api", "2.0", TestImage::SinglePlatform, "api");
    let repo = Repo::insecure(&host);
    let file = repo.manifest("api.yaml", &[&format!("{host}/team/api:2.0")]);
    let before = std::fs::read_to_string(&file).unwrap();
    let output = pinnace(&repo, &["pin", "--dry-run", "."], &[]);
    let (stdout, _) = text(&output);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stdout.contains("--- a/api.yaml") && stdout.contains("+++ b/api.yaml"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "+        image: {host}/team/api:2.0@{}  # keep this comment",
            pushed.digest
        )),
        "{stdout}"
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), before);
}

#[test]
fn each_distinct_reference_is_resolved_once_and_the_cache_saves_the_rest() {
    if support::registry_tools_missing() {
        return;
    }
    let registry = Registry::start();
    let host = registry.host();
    registry.push("team/a", "1", TestImage::SinglePlatform, "a");
    registry.push("team/b", "1", TestImage::MultiPlatform, "b");
    let repo = Repo::insecure(&host);
    let (a, b) = (format!("{host}/team/a:1"), format!("{host}/team/b:1"));
    for n in 0..5 {
        repo.manifest(&format!("apps/{n}.yaml"), &[&a, &b, &a]);
    }
    let before = manifest_heads(&registry);
    let output = pinnace(&repo, &["pin", "--cache", "cache.json", "."], &[]);
    assert!(output.status.success(), "{}", text(&output).1);
    assert_eq!(
        manifest_heads(&registry) - before,
        2,
        "one HEAD per distinct reference"
    );
    assert!(text(&output).1.contains("15 pinned"), "{}", text(&output).1);

    // Put the tags back: with the cache, pinning again asks the registry nothing.
    for n in 0..5 {
        repo.manifest(&format!("apps/{n}.yaml"), &[&a, &b, &a]);
    }
    let before = registry.requests_excluding_harness().len();
    let output = pinnace(&repo, &["pin", "--cache", "cache.json", "."], &[]);
    assert!(output.status.success());
    assert_eq!(
        registry.requests_excluding_harness().len(),
        before,
        "no request with a warm cache"
    );
    assert!(
        std::fs::read_to_string(repo.path().join("apps/0.yaml"))
            .unwrap()
            .contains("@sha256:")
    );
}

#[test]
fn one_failure_leaves_that_image_and_pins_the_others() {
    if support::registry_tools_missing() {
        return;
    }
    let registry = Registry::start();
    let host = registry.host();
    let pushed = registry.push("team/ok", "1", TestImage::SinglePlatform, "ok");
    let repo = Repo::insecure(&host);
    let (ok, missing) = (
        format!("{host}/team/ok:1"),
        format!("{host}/team/missing:1"),
    );
    let file = repo.manifest("mixed.yaml", &[&ok, &missing]);
    let output = pinnace(&repo, &["pin", "."], &[]);
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let after = std::fs::read_to_string(&file).unwrap();
    assert!(after.contains(&format!("{ok}@{}", pushed.digest)));
    assert!(after.contains(&format!("image: {missing}  #")));
    assert!(
        stderr.contains("1 failed")
            && stderr.contains("team/missing")
            && stderr.contains("not found"),
        "{stderr}"
    );
}

#[test]
fn credentials_from_config_json_and_from_a_helper_over_verified_tls() {
    if support::registry_tools_missing() {
        return;
    }
    let (registry, config, image, pushed) = secure_registry("secure");
    let host = registry.host();

    // auths in config.json
    let repo = Repo::new(&config);
    let file = repo.manifest("a.yaml", &[&image]);
    let docker = support::docker_config_with_auth(&host, "pinnace", PASSWORD);
    let output = pinnace(
        &repo,
        &["pin", "."],
        &[("DOCKER_CONFIG", docker.path().to_str().unwrap())],
    );
    assert!(output.status.success(), "{}", text(&output).1);
    assert!(
        std::fs::read_to_string(&file)
            .unwrap()
            .contains(&pushed.digest)
    );
    assert_no_secret(&output);

    // credHelpers with a docker-credential-* program on PATH
    let repo = Repo::new(&config);
    let file = repo.manifest("a.yaml", &[&image]);
    let (docker, helper_dir) = support::docker_config_with_helper(&host, "pinnace", PASSWORD);
    let output = pin_with_helper(&repo, docker.path(), helper_dir.path());
    assert!(output.status.success(), "{}", text(&output).1);
    assert!(
        std::fs::read_to_string(&file)
            .unwrap()
            .contains(&pushed.digest)
    );
    assert_no_secret(&output);
}

#[test]
fn a_wrong_password_is_a_clear_auth_error_without_the_password() {
    if support::registry_tools_missing() {
        return;
    }
    let registry = Registry::start_tls_auth("pinnace", PASSWORD);
    let host = registry.host();
    registry.push("secure/app", "1", TestImage::SinglePlatform, "secure");
    let ca = registry.ca_pem_path().unwrap();
    let repo = Repo::new(&format!(
        "registries:\n  ca_files: [\"{}\"]\n",
        ca.display()
    ));
    let file = repo.manifest("a.yaml", &[&format!("{host}/secure/app:1")]);
    let before = std::fs::read_to_string(&file).unwrap();
    let wrong = format!("{PASSWORD}-wrong");
    let docker = support::docker_config_with_auth(&host, "pinnace", &wrong);
    let output = pinnace(
        &repo,
        &["pin", "."],
        &[("DOCKER_CONFIG", docker.path().to_str().unwrap())],
    );
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr.contains("authentication failed"), "{stderr}");
    assert!(!stdout.contains(&wrong) && !stderr.contains(&wrong) && !stderr.contains(PASSWORD));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), before);
}

fn assert_no_secret(output: &Output) {
    let (stdout, stderr) = text(output);
    assert!(
        !stdout.contains(PASSWORD) && !stderr.contains(PASSWORD),
        "a secret leaked"
    );
    let encoded = support::docker_config::base64(format!("pinnace:{PASSWORD}").as_bytes());
    assert!(
        !stdout.contains(&encoded) && !stderr.contains(&encoded),
        "a secret leaked"
    );
}

#[test]
fn a_self_signed_registry_is_refused_without_its_ca() {
    if support::registry_tools_missing() {
        return;
    }
    let registry = Registry::start_tls_auth("pinnace", PASSWORD);
    let host = registry.host();
    registry.push("secure/app", "1", TestImage::SinglePlatform, "secure");
    let repo = Repo::new("{}\n");
    repo.manifest("a.yaml", &[&format!("{host}/secure/app:1")]);
    let docker = support::docker_config_with_auth(&host, "pinnace", PASSWORD);
    let output = pinnace(
        &repo,
        &["pin", "."],
        &[("DOCKER_CONFIG", docker.path().to_str().unwrap())],
    );
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr.contains("TLS failure"), "{stderr}");
    assert_no_secret(&output);
}

#[test]
fn rate_limited_requests_are_retried_after_retry_after() {
    if support::registry_tools_missing() {
        return;
    }
    let registry = Registry::start();
    let pushed = registry.push("team/app", "1", TestImage::SinglePlatform, "rl");
    let proxy = RateLimitProxy::start(&registry, 2, 1);
    let repo = Repo::insecure(&proxy.host());
    let file = repo.manifest("a.yaml", &[&format!("{}/team/app:1", proxy.host())]);
    let started = std::time::Instant::now();
    let output = pinnace(&repo, &["pin", "."], &[]);
    assert!(output.status.success(), "{}", text(&output).1);
    assert!(
        std::fs::read_to_string(&file)
            .unwrap()
            .contains(&pushed.digest)
    );
    assert!(proxy.requests_seen() >= 3, "two 429s, then the answer");
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(2),
        "Retry-After was honoured"
    );
}

#[test]
fn update_replaces_a_digest_whose_tag_moved_and_online_check_reports_it() {
    if support::registry_tools_missing() {
        return;
    }
    let registry = Registry::start();
    let host = registry.host();
    let first = registry.push("team/app", "1.0", TestImage::SinglePlatform, "first");
    let repo = Repo::insecure(&host);
    let file = repo.manifest("a.yaml", &[&format!("{host}/team/app:1.0")]);
    assert!(pinnace(&repo, &["pin", "."], &[]).status.success());
    let second = registry.push("team/app", "1.0", TestImage::SinglePlatform, "second");
    assert_ne!(first.digest, second.digest);

    let output = pinnace(
        &repo,
        &["check", "--online", "--format", "json", NO_NETWORK, "."],
        &[],
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let rules: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert_eq!(rules, ["stale-digest"], "{report}");

    let plain = pinnace(&repo, &["pin", "."], &[]);
    assert!(plain.status.success());
    assert!(
        std::fs::read_to_string(&file)
            .unwrap()
            .contains(&first.digest),
        "plain pin keeps pins"
    );
    let update = pinnace(&repo, &["pin", "--update", "."], &[]);
    assert!(update.status.success(), "{}", text(&update).1);
    let after = std::fs::read_to_string(&file).unwrap();
    assert!(
        after.contains(&format!(
            "{host}/team/app:1.0@{}  # keep this comment",
            second.digest
        )),
        "{after}"
    );
    assert!(text(&update).1.contains("1 updated"), "{}", text(&update).1);
}

#[test]
fn online_check_reports_unknown_digests_and_single_arch_pins() {
    if support::registry_tools_missing() {
        return;
    }
    let registry = Registry::start();
    let host = registry.host();
    let gone = registry.push("team/gone", "1", TestImage::SinglePlatform, "gone");
    let multi = registry.push("team/multi", "1", TestImage::MultiPlatform, "multi");
    registry.delete_manifest("team/gone", &gone.digest);
    let repo = Repo::insecure(&host);
    let gone_image = format!("{host}/team/gone:1@{}", gone.digest);
    let child_image = format!("{host}/team/multi:1@{}", multi.children[0]);
    let index_image = format!("{host}/team/multi:1@{}", multi.digest);
    repo.manifest("a.yaml", &[&gone_image, &child_image, &index_image]);
    let output = pinnace(
        &repo,
        &["check", "--online", "--format", "json", NO_NETWORK, "."],
        &[],
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let found: Vec<(String, u64, u64)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
                f["column"].as_u64().unwrap(),
            )
        })
        .collect();
    let digest_column = 16 + format!("{host}/team/gone:1@").len() as u64;
    let child_column = 16 + format!("{host}/team/multi:1@").len() as u64;
    assert_eq!(
        found,
        [
            ("unknown-digest".to_string(), 10, digest_column),
            ("single-arch-pin".to_string(), 12, child_column)
        ],
        "{report}"
    );
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn docker_hub_images_resolve_through_a_configured_mirror() {
    if support::registry_tools_missing() {
        return;
    }
    let registry = Registry::start();
    let host = registry.host();
    let pushed = registry.push("library/nginx", "1.25", TestImage::MultiPlatform, "hub");
    let repo = Repo::new(&format!(
        "registries:\n  insecure: [\"{host}\"]\n  mirrors: {{docker.io: \"{host}\"}}\n"
    ));
    let file = repo.manifest("a.yaml", &["nginx:1.25", "docker.io/library/nginx:1.25"]);
    let output = pinnace(&repo, &["pin", "."], &[]);
    assert!(output.status.success(), "{}", text(&output).1);
    let after = std::fs::read_to_string(&file).unwrap();
    assert!(
        after.contains(&format!("image: nginx:1.25@{}  #", pushed.digest)),
        "{after}"
    );
    assert!(
        after.contains(&format!(
            "image: docker.io/library/nginx:1.25@{}  #",
            pushed.digest
        )),
        "{after}"
    );
}

#[test]
fn credentials_from_registry_auth_file_and_from_a_creds_store() {
    if support::registry_tools_missing() {
        return;
    }
    let (registry, config, image, pushed) = secure_registry("store");
    let host = registry.host();

    // podman's REGISTRY_AUTH_FILE (same `auths` format as docker's config.json)
    let repo = Repo::new(&config);
    let file = repo.manifest("a.yaml", &[&image]);
    let docker = support::docker_config_with_auth(&host, "pinnace", PASSWORD);
    let auth_file = docker.path().join("config.json");
    let output = pinnace(
        &repo,
        &["pin", "."],
        &[("REGISTRY_AUTH_FILE", auth_file.to_str().unwrap())],
    );
    assert!(output.status.success(), "{}", text(&output).1);
    assert!(
        std::fs::read_to_string(&file)
            .unwrap()
            .contains(&pushed.digest)
    );
    assert_no_secret(&output);

    // `credsStore`: one helper for every registry
    let repo = Repo::new(&config);
    let file = repo.manifest("a.yaml", &[&image]);
    let (docker, helper_dir) = support::docker_config_with_helper(&host, "pinnace", PASSWORD);
    let store = format!(
        "{{\"credsStore\": \"{}\"}}",
        support::docker_config::HELPER_NAME
    );
    std::fs::write(docker.path().join("config.json"), store).unwrap();
    let output = pin_with_helper(&repo, docker.path(), helper_dir.path());
    assert!(output.status.success(), "{}", text(&output).1);
    assert!(
        std::fs::read_to_string(&file)
            .unwrap()
            .contains(&pushed.digest)
    );
    let calls = std::fs::read_to_string(helper_dir.path().join("calls.log")).unwrap();
    assert!(calls.contains(&format!("get {host}")), "{calls}");
    assert_no_secret(&output);
}

/// The TLS + htpasswd registry with `secure/app:1` pushed (content from `seed`), a config that
/// trusts its CA, and the image's reference.
fn secure_registry(seed: &str) -> (Registry, String, String, support::Pushed) {
    let registry = Registry::start_tls_auth("pinnace", PASSWORD);
    let pushed = registry.push("secure/app", "1", TestImage::SinglePlatform, seed);
    let ca = registry.ca_pem_path().unwrap().to_path_buf();
    let config = format!("registries:\n  ca_files: [\"{}\"]\n", ca.display());
    let image = format!("{}/secure/app:1", registry.host());
    (registry, config, image, pushed)
}

/// A base with two images and two overlays that retag one of them.
fn kustomize_repo(host: &str) -> Repo {
    let repo = Repo::insecure(host);
    let write = |file: &str, text: String| repo.write(file, &text);
    write(
        "app/base/kustomization.yaml",
        "resources:\n- deploy.yaml\n".into(),
    );
    write(
        "app/base/deploy.yaml",
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n        image: {host}/team/web:1.0\n      - name: sidecar\n        image: {host}/team/sidecar:2.0  # shared\n"
        ),
    );
    write(
        "app/overlays/prod/kustomization.yaml",
        format!(
            "namePrefix: prod-\nresources:\n- ../../base\nimages:\n- name: {host}/team/web\n  newTag: \"1.1\"  # release 42\n"
        ),
    );
    write(
        "app/overlays/dev/kustomization.yaml",
        format!(
            "resources:\n- ../../base\nimages:\n- {{name: {host}/team/web, newTag: \"1.2\"}}\n"
        ),
    );
    repo
}

#[test]
fn kustomize_overlays_get_digest_in_their_images_entries_and_bases_where_nothing_retags() {
    if support::registry_tools_missing() {
        return;
    }
    let registry = Registry::start();
    let host = registry.host();
    let web_prod = registry.push("team/web", "1.1", TestImage::MultiPlatform, "web-1.1");
    let web_dev = registry.push("team/web", "1.2", TestImage::SinglePlatform, "web-1.2");
    let sidecar = registry.push("team/sidecar", "2.0", TestImage::SinglePlatform, "sidecar");
    registry.push("team/web", "1.0", TestImage::SinglePlatform, "web-1.0");
    let repo = kustomize_repo(&host);
    let read = |file: &str| std::fs::read_to_string(repo.path().join(file)).unwrap();
    let base_before = read("app/base/deploy.yaml");

    let output = pinnace(&repo, &["pin", "."], &[]);
    assert!(output.status.success(), "{}", text(&output).1);
    assert_eq!(
        read("app/overlays/prod/kustomization.yaml"),
        format!(
            "namePrefix: prod-\nresources:\n- ../../base\nimages:\n- name: {host}/team/web\n  newTag: \"1.1\"  # release 42\n  digest: {}\n",
            web_prod.digest
        )
    );
    assert_eq!(
        read("app/overlays/dev/kustomization.yaml"),
        format!(
            "resources:\n- ../../base\nimages:\n- {{name: {host}/team/web, newTag: \"1.2\", digest: {}}}\n",
            web_dev.digest
        )
    );
    // web:1.0 is retagged by every overlay: the base keeps it; the sidecar is pinned there.
    assert_eq!(
        read("app/base/deploy.yaml"),
        base_before.replace(
            &format!("{host}/team/sidecar:2.0"),
            &format!("{host}/team/sidecar:2.0@{}", sidecar.digest)
        )
    );

    // The builds now run pinned images, and check agrees.
    let built = Command::cargo_bin("pinnace")
        .unwrap()
        .arg("build")
        .arg(repo.path().join("app/overlays/prod"))
        .output()
        .unwrap();
    let built = String::from_utf8_lossy(&built.stdout).into_owned();
    assert!(
        built.contains(&format!("image: {host}/team/web:1.1@{}", web_prod.digest)),
        "{built}"
    );
    let check = pinnace(&repo, &["check", "--select", "digest-pinning", "."], &[]);
    assert!(check.status.success(), "{}", text(&check).0);
    // A second run changes nothing.
    let again = pinnace(&repo, &["pin", "--dry-run", "."], &[]);
    assert!(again.status.success(), "{}", text(&again).0);

    // The overlay's digest is checked online: after a re-push of its tag it is stale, at the
    // entry; `pin --update` rewrites the entry's digest.
    let moved = registry.push(
        "team/web",
        "1.1",
        TestImage::SinglePlatform,
        "web-1.1-again",
    );
    let online = pinnace(
        &repo,
        &["check", "--online", "--format", "json", NO_NETWORK, "."],
        &[],
    );
    let report: serde_json::Value = serde_json::from_slice(&online.stdout).unwrap();
    let stale: Vec<(&str, u64)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "stale-digest")
        .map(|f| (f["path"].as_str().unwrap(), f["line"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        stale,
        [("app/overlays/prod/kustomization.yaml", 5)],
        "{report}"
    );
    let update = pinnace(&repo, &["pin", "--update", "."], &[]);
    assert!(update.status.success(), "{}", text(&update).1);
    assert!(
        read("app/overlays/prod/kustomization.yaml")
            .contains(&format!("  digest: {}\n", moved.digest))
    );
}

#[test]
fn a_base_outside_the_paths_gets_an_images_entry_in_the_overlay() {
    if support::registry_tools_missing() {
        return;
    }
    let registry = Registry::start();
    let host = registry.host();
    let pushed = registry.push("team/shared", "4.2", TestImage::MultiPlatform, "shared");
    let repo = Repo::insecure(&host);
    let write = |file: &str, text: String| repo.write(file, &text);
    write(
        "vendor-base/kustomization.yaml",
        "resources:\n- deploy.yaml\n".into(),
    );
    let base = format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: shared\nspec:\n  template:\n    spec:\n      containers:\n      - name: shared\n        image: {host}/team/shared:4.2\n"
    );
    write("vendor-base/deploy.yaml", base.clone());
    let overlay = "namePrefix: prod-\nresources:\n- ../../../vendor-base\n";
    write("app/overlays/prod/kustomization.yaml", overlay.into());

    // Only `app` is in scope: the vendored base is not pinnace's to edit.
    let output = pinnace(&repo, &["pin", "app"], &[]);
    assert!(output.status.success(), "{}", text(&output).1);
    assert_eq!(
        std::fs::read_to_string(repo.path().join("vendor-base/deploy.yaml")).unwrap(),
        base
    );
    let after =
        std::fs::read_to_string(repo.path().join("app/overlays/prod/kustomization.yaml")).unwrap();
    assert_eq!(
        after,
        format!(
            "{overlay}images:\n- name: {host}/team/shared\n  newTag: \"4.2\"\n  digest: {}\n",
            pushed.digest
        )
    );
    let built = Command::cargo_bin("pinnace")
        .unwrap()
        .arg("build")
        .arg(repo.path().join("app/overlays/prod"))
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&built.stdout)
            .contains(&format!("image: {host}/team/shared:4.2@{}", pushed.digest))
    );
    let again = pinnace(&repo, &["pin", "--dry-run", "app"], &[]);
    assert!(
        again.status.success(),
        "a second run changes nothing: {}",
        text(&again).0
    );
}

/// `pinnace pin .` with a docker config folder and a credential helper's folder first on PATH.
fn pin_with_helper(repo: &Repo, docker: &std::path::Path, helper_dir: &std::path::Path) -> Output {
    let path = format!(
        "{}:{}",
        helper_dir.display(),
        std::env::var("PATH").unwrap()
    );
    pinnace(
        repo,
        &["pin", "."],
        &[("DOCKER_CONFIG", docker.to_str().unwrap()), ("PATH", &path)],
    )
}

#[test]
fn an_online_failure_is_annotated_at_the_file_that_names_the_image() {
    if support::registry_tools_missing() {
        return;
    }
    // No credentials for the TLS + htpasswd registry: asking about the pinned image fails.
    let (_registry, config, image, pushed) = secure_registry("annotated");
    let repo = Repo::new(&config);
    let pinned = format!("{image}@{}", pushed.digest);
    repo.manifest("deploy/app.yaml", &[&pinned]);
    let output = pinnace(
        &repo,
        &["check", "--online", "--format", "github", NO_NETWORK, "."],
        &[],
    );
    let (stdout, stderr) = text(&output);
    let annotations: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains("not checked online"))
        .collect();
    assert!(!annotations.is_empty(), "{stdout}\n{stderr}");
    for line in annotations {
        assert!(
            line.starts_with("::warning file=deploy/app.yaml,"),
            "an annotation without the image's file: {line}"
        );
        assert!(line.contains("secure/app"), "{line}");
    }
}

#[test]
fn a_registry_unreachable_behind_its_mirror_is_asked_once_per_run() {
    if support::registry_tools_missing() {
        return;
    }
    let registry = Registry::start();
    let host = registry.host();
    // Nothing listens on port 9: an air-gapped runner that reaches only its mirror, which
    // lacks these tags. Each miss falls back to the registry itself, whose failure (with its
    // retries) is waited out once, not once per image.
    let upstream = "127.0.0.1:9";
    let repo = Repo::new(&format!(
        "registries:\n  insecure: [\"{host}\", \"{upstream}\"]\n  mirrors: {{\"{upstream}\": \"{host}\"}}\n"
    ));
    let images: Vec<String> = (0..6)
        .map(|n| format!("{upstream}/team/app{n}:1"))
        .collect();
    let images: Vec<&str> = images.iter().map(String::as_str).collect();
    repo.manifest("a.yaml", &images);
    let output = pinnace(&repo, &["pin", "--jobs", "1", "."], &[]);
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("6 failed"), "{stderr}");
    assert!(
        stderr.contains("not found"),
        "the mirror's answer is reported: {stderr}"
    );
    // Six HEADs to the mirror, and the four tries of the first fallback.
    assert!(
        stderr.contains("(6 distinct images, 10 registry requests)"),
        "{stderr}"
    );
}
