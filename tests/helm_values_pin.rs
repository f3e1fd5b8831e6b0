//! `pinnace pin` on Helm values files against a real registry (Debian's docker-registry on
//! 127.0.0.1, images pushed by skopeo; see tests/support): image maps get the digest in their
//! `digest:` key or after their tag, image strings after the tag, and nothing else moves.

mod support;

use support::cli::{Repo, pinnace, text};
use support::{Registry, TestImage};

fn values_text(host: &str) -> String {
    format!(
        "# Default values for web.
image:
  registry: {host}
  repository: team/web
  tag: 1.0   # bumped by the release bot
  pullPolicy: IfNotPresent
cache:
  image:
    registry: {host}
    repository: team/cache
    tag: \"7.2\"
    digest: \"\"
worker:
  image:
    name: {host}/team/worker
    tag: '2.0'
    digest: ~
proxy:
  image:
    repository: {host}/team/proxy
    tag: 1.1
    digest:
sidecar:
  image: {host}/team/sidecar:0.9
backup:
  image: {{image: \"{host}/team/backup:3\"}}
migrations:
  image:
    repository: {host}/team/web
    tag: latest
"
    )
}

fn chart(repo: &Repo, host: &str) {
    repo.write(
        "charts/web/Chart.yaml",
        "apiVersion: v2\nname: web\nversion: 1.0.0\n",
    );
    repo.write("charts/web/values.yaml", &values_text(host));
    repo.write(
        "charts/web/templates/deployment.yaml",
        "kind: Deployment\nimage: {{ .Values.image.repository }}\n",
    );
}

#[test]
fn values_maps_and_strings_are_pinned_where_the_chart_reads_them() {
    if support::registry_tools_missing() {
        return;
    }
    let registry = Registry::start();
    let host = registry.host();
    let web = registry.push("team/web", "1.0", TestImage::MultiPlatform, "web");
    let cache = registry.push("team/cache", "7.2", TestImage::SinglePlatform, "cache");
    let worker = registry.push("team/worker", "2.0", TestImage::SinglePlatform, "worker");
    let proxy = registry.push("team/proxy", "1.1", TestImage::SinglePlatform, "proxy");
    let sidecar = registry.push("team/sidecar", "0.9", TestImage::SinglePlatform, "sidecar");
    let backup = registry.push("team/backup", "3", TestImage::SinglePlatform, "backup");
    let repo = Repo::insecure(&host);
    chart(&repo, &host);

    let output = pinnace(&repo, &["pin", "."], &[]);
    let (_, stderr) = text(&output);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("6 pinned"), "{stderr}");
    assert!(stderr.contains("skipped 1: tag `latest`"), "{stderr}");
    let after = std::fs::read_to_string(repo.path().join("charts/web/values.yaml")).unwrap();
    let expected = values_text(&host)
        .replace("tag: 1.0   #", &format!("tag: 1.0@{}   #", web.digest))
        .replace("digest: \"\"", &format!("digest: \"{}\"", cache.digest))
        .replace("digest: ~", &format!("digest: {}", worker.digest))
        .replace("tag: 1.1\n", &format!("tag: 1.1@{}\n", proxy.digest))
        .replace(
            "team/sidecar:0.9",
            &format!("team/sidecar:0.9@{}", sidecar.digest),
        )
        .replace(
            "team/backup:3\"",
            &format!("team/backup:3@{}\"", backup.digest),
        );
    assert_eq!(after, expected);

    // What pin wrote is what check wants: no digest-pinning finding is left but `latest`'s.
    let output = pinnace(&repo, &["check", "--format", "json", "."], &[]);
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let left: Vec<(&str, &str)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap(),
                f["resource"]["name"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        left,
        [
            ("digest-pinning", "migrations.image"),
            ("latest-tag", "migrations.image")
        ]
    );

    // A second run changes nothing.
    let output = pinnace(&repo, &["pin", "."], &[]);
    assert!(output.status.success(), "{}", text(&output).1);
    assert_eq!(
        std::fs::read_to_string(repo.path().join("charts/web/values.yaml")).unwrap(),
        after
    );
}

#[test]
fn update_rewrites_a_moved_digest_key_and_config_names_values_files() {
    if support::registry_tools_missing() {
        return;
    }
    let registry = Registry::start();
    let host = registry.host();
    let old = registry.push("team/cache", "7.2", TestImage::SinglePlatform, "old");
    let repo = Repo::new(&format!(
        "registries:\n  insecure: [\"{host}\"]\nhelm:\n  values: [\"deploy/*.yaml\"]\n"
    ));
    let text_with = |digest: &str| {
        format!(
            "cache:\n  image:\n    registry: {host}\n    repository: team/cache\n    tag: \"7.2\"\n    digest: \"{digest}\"\n"
        )
    };
    // Not beside a Chart.yaml: a values file only because config names it.
    repo.write("deploy/prod.yaml", &text_with(&old.digest));
    repo.write("other/prod.yaml", &text_with(""));
    let moved = registry.push("team/cache", "7.2", TestImage::SinglePlatform, "moved");
    assert_ne!(old.digest, moved.digest);

    let output = pinnace(&repo, &["pin", "--update", "."], &[]);
    assert!(output.status.success(), "{}", text(&output).1);
    assert!(text(&output).1.contains("1 updated"), "{}", text(&output).1);
    assert_eq!(
        std::fs::read_to_string(repo.path().join("deploy/prod.yaml")).unwrap(),
        text_with(&moved.digest)
    );
    // The same text elsewhere is no values file, and is left alone.
    assert_eq!(
        std::fs::read_to_string(repo.path().join("other/prod.yaml")).unwrap(),
        text_with("")
    );
}
