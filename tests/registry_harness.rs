//! Tests of the registry test harness itself (tests/support), against the real
//! `docker-registry` and `skopeo`: if these pass, tests of the registry client can trust it.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use support::oci_layout::{self, sha256_digest};
use support::{
    RateLimitProxy, Registry, TestImage, docker_config_with_auth, docker_config_with_helper,
    registry_tools_missing,
};

/// One raw HTTP/1.1 request over a plain `TcpStream`, the way a test outside the harness
/// would see the wire: returns the whole response as text (head and body).
fn raw_request(host: &str, method: &str, path: &str, accept: &str) -> String {
    let mut stream = TcpStream::connect(host).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: harness-test-client\r\nAccept: {accept}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

fn status_of(response: &str) -> u16 {
    response.split(' ').nth(1).unwrap().parse().unwrap()
}

fn header_of<'a>(response: &'a str, name: &str) -> Option<&'a str> {
    let head = response.split("\r\n\r\n").next().unwrap();
    head.lines().find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

const ACCEPT_ALL: &str = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json";

#[test]
fn layouts_are_deterministic_per_seed_and_layers_are_real_tar_gz() {
    let a = oci_layout::build("1.0", TestImage::MultiPlatform, "seed-a");
    let again = oci_layout::build("1.0", TestImage::MultiPlatform, "seed-a");
    let b = oci_layout::build("1.0", TestImage::MultiPlatform, "seed-b");
    assert_eq!(a.digest, again.digest);
    assert_eq!(a.children, again.children);
    assert_ne!(a.digest, b.digest);
    assert_eq!(a.children.len(), 2);
    assert!(a.children.iter().all(|c| !b.children.contains(c)));

    // Every blob is stored under its own digest, and every layer lists as a tar.gz.
    let blobs = a.dir.path().join("blobs/sha256");
    for entry in std::fs::read_dir(&blobs).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let name = path.file_name().unwrap().to_str().unwrap();
        assert_eq!(sha256_digest(&bytes), format!("sha256:{name}"));
        if bytes.starts_with(&[0x1f, 0x8b]) {
            let out = Command::new("tar").arg("-tzf").arg(&path).output().unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(String::from_utf8_lossy(&out.stdout), "pinnace-seed.txt\n");
        }
    }
}

#[test]
fn single_platform_push_matches_inspect_raw() {
    if registry_tools_missing() {
        return;
    }
    let registry = Registry::start();
    assert!(registry.host().starts_with("127.0.0.1:"));
    assert!(registry.ca_pem_path().is_none());

    let pushed = registry.push("team/app", "1.0", TestImage::SinglePlatform, "one");
    assert!(pushed.digest.starts_with("sha256:") && pushed.digest.len() == 71);
    assert!(pushed.children.is_empty());
    let raw = registry.inspect_raw("team/app:1.0").unwrap();
    assert_eq!(sha256_digest(&raw), pushed.digest);
    let manifest: Value = serde_json::from_slice(&raw).unwrap();
    assert_eq!(manifest["mediaType"], oci_layout::MANIFEST_TYPE);

    // Same seed, same digest (even under another tag); another seed, another digest.
    let same = registry.push("team/app", "1.0-again", TestImage::SinglePlatform, "one");
    let other = registry.push("team/app", "2.0", TestImage::SinglePlatform, "two");
    assert_eq!(same.digest, pushed.digest);
    assert_ne!(other.digest, pushed.digest);
    let by_digest = registry.inspect_raw(&format!("team/app@{}", pushed.digest));
    assert_eq!(by_digest.unwrap(), raw);
}

#[test]
fn multi_platform_push_children_match_the_index() {
    if registry_tools_missing() {
        return;
    }
    let registry = Registry::start();
    let pushed = registry.push("multi", "latest", TestImage::MultiPlatform, "multi");
    let raw = registry.inspect_raw("multi:latest").unwrap();
    assert_eq!(sha256_digest(&raw), pushed.digest);

    let index: Value = serde_json::from_slice(&raw).unwrap();
    assert_eq!(index["mediaType"], oci_layout::INDEX_TYPE);
    let manifests = index["manifests"].as_array().unwrap();
    let digests: Vec<&str> = manifests
        .iter()
        .map(|m| m["digest"].as_str().unwrap())
        .collect();
    assert_eq!(digests, pushed.children);
    let arches: Vec<&str> = manifests
        .iter()
        .map(|m| m["platform"]["architecture"].as_str().unwrap())
        .collect();
    assert_eq!(arches, ["amd64", "arm64"]);
    assert!(manifests.iter().all(|m| m["platform"]["os"] == "linux"));

    // Each child was pushed too (`--all`), and is served byte for byte.
    for child in &pushed.children {
        let raw_child = registry.inspect_raw(&format!("multi@{child}")).unwrap();
        assert_eq!(&sha256_digest(&raw_child), child);
    }
}

#[test]
fn tls_auth_instance_refuses_anonymous_and_accepts_credentials() {
    if registry_tools_missing() {
        return;
    }
    let registry = Registry::start_tls_auth("alice", "s3cret p@ss");
    let ca = registry.ca_pem_path().expect("TLS instance has a CA");
    assert!(
        std::fs::read_to_string(ca)
            .unwrap()
            .contains("BEGIN CERTIFICATE")
    );

    // push and inspect_raw verify the server certificate against the CA (skopeo --cert-dir).
    let pushed = registry.push("secure/app", "1.0", TestImage::SinglePlatform, "tls");
    let raw = registry.inspect_raw("secure/app:1.0").unwrap();
    assert_eq!(sha256_digest(&raw), pushed.digest);

    let anonymous = registry
        .inspect_raw_anonymous("secure/app:1.0")
        .unwrap_err();
    assert!(
        anonymous.contains("unauthorized") || anonymous.contains("401"),
        "unexpected anonymous error: {anonymous}"
    );
    // The access log shows the refused requests.
    let requests = registry.requests();
    assert!(requests.iter().any(|(m, p)| m == "GET" && p == "/v2/"));

    // Deletion works through TLS + auth as well.
    registry.delete_manifest("secure/app", &pushed.digest);
    assert!(registry.inspect_raw("secure/app:1.0").is_err());
}

#[test]
fn delete_manifest_makes_inspect_fail() {
    if registry_tools_missing() {
        return;
    }
    let registry = Registry::start();
    let pushed = registry.push("gone", "1.0", TestImage::SinglePlatform, "gone");
    let kept = registry.push("gone", "2.0", TestImage::SinglePlatform, "kept");
    registry.delete_manifest("gone", &pushed.digest);

    let err = registry.inspect_raw("gone:1.0").unwrap_err();
    assert!(err.contains("manifest unknown"), "{err}");
    assert!(
        registry
            .inspect_raw(&format!("gone@{}", pushed.digest))
            .is_err()
    );
    assert!(registry.inspect_raw("gone:2.0").is_ok(), "{}", kept.digest);
    let deletes: Vec<_> = registry
        .requests()
        .into_iter()
        .filter(|(m, _)| m == "DELETE")
        .collect();
    assert_eq!(
        deletes,
        [(
            "DELETE".to_string(),
            format!("/v2/gone/manifests/{}", pushed.digest)
        )]
    );
}

#[test]
fn requests_lists_head_and_get_lines() {
    if registry_tools_missing() {
        return;
    }
    let registry = Registry::start();
    let pushed = registry.push("team/app", "1.0", TestImage::SinglePlatform, "log");
    let host = registry.host();

    let head = raw_request(&host, "HEAD", "/v2/team/app/manifests/1.0", ACCEPT_ALL);
    assert_eq!(status_of(&head), 200);
    assert_eq!(
        header_of(&head, "Docker-Content-Digest"),
        Some(pushed.digest.as_str())
    );
    let get = raw_request(&host, "GET", "/v2/team/app/manifests/1.0", ACCEPT_ALL);
    assert_eq!(status_of(&get), 200);

    let expected = [
        ("HEAD".to_string(), "/v2/team/app/manifests/1.0".to_string()),
        ("GET".to_string(), "/v2/team/app/manifests/1.0".to_string()),
    ];
    let all = registry.requests();
    assert!(all.ends_with(&expected), "{all:#?}");
    // The push itself is in there too (skopeo's blob and manifest uploads)...
    assert!(
        all.iter()
            .any(|(m, p)| m == "PUT" && p == "/v2/team/app/manifests/1.0")
    );
    // ...but not once the harness's own traffic is left out.
    assert_eq!(registry.requests_excluding_harness(), expected);
}

#[test]
fn rate_limit_proxy_answers_429_then_forwards() {
    if registry_tools_missing() {
        return;
    }
    let registry = Registry::start();
    let pushed = registry.push("team/app", "1.0", TestImage::SinglePlatform, "proxy");
    let proxy = RateLimitProxy::start(&registry, 2, 7);
    assert_ne!(proxy.host(), registry.host());
    let before = registry.requests().len();

    for i in 0..2 {
        let response = raw_request(&proxy.host(), "GET", "/v2/", "*/*");
        assert_eq!(status_of(&response), 429, "request {i}: {response}");
        assert_eq!(header_of(&response, "Retry-After"), Some("7"));
        assert!(response.contains("TOOMANYREQUESTS"));
    }
    let head = raw_request(
        &proxy.host(),
        "HEAD",
        "/v2/team/app/manifests/1.0",
        ACCEPT_ALL,
    );
    assert_eq!(status_of(&head), 200, "{head}");
    assert_eq!(
        header_of(&head, "Docker-Content-Digest"),
        Some(pushed.digest.as_str())
    );
    let get = raw_request(
        &proxy.host(),
        "GET",
        "/v2/team/app/manifests/1.0",
        ACCEPT_ALL,
    );
    assert_eq!(status_of(&get), 200, "{get}");
    let body = get.split_once("\r\n\r\n").unwrap().1;
    assert_eq!(sha256_digest(body.as_bytes()), pushed.digest);
    assert_eq!(proxy.requests_seen(), 4);

    // Only the two forwarded requests reached the registry.
    let reached = registry.requests()[before..].to_vec();
    let paths: Vec<&str> = reached.iter().map(|(m, _)| m.as_str()).collect();
    assert_eq!(paths, ["HEAD", "GET"]);
}

#[test]
fn rate_limit_proxy_forwards_a_whole_push() {
    if registry_tools_missing() {
        return;
    }
    // Uploads go POST -> PATCH -> PUT with Location headers: they must point back at the proxy.
    let registry = Registry::start();
    let proxy = RateLimitProxy::start(&registry, 0, 1);
    let layout = oci_layout::build("1.0", TestImage::MultiPlatform, "via-proxy");
    let source = format!("oci:{}:1.0", layout.dir.path().display());
    let dest = format!("docker://{}/through/proxy:1.0", proxy.host());
    let out = Command::new("skopeo")
        .args(["--insecure-policy", "copy", "--all", "--preserve-digests"])
        .args(["--dest-tls-verify=false", "--dest-no-creds", &source, &dest])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(proxy.requests_seen() > 5);
    let raw = registry.inspect_raw("through/proxy:1.0").unwrap();
    assert_eq!(sha256_digest(&raw), layout.digest);
}

#[test]
fn docker_config_with_auth_writes_base64_credentials() {
    let dir = docker_config_with_auth("127.0.0.1:5555", "alice", "s3cret");
    let text = std::fs::read_to_string(dir.path().join("config.json")).unwrap();
    let config: Value = serde_json::from_str(&text).unwrap();
    // base64("alice:s3cret"), as `echo -n alice:s3cret | base64` prints it.
    assert_eq!(
        config["auths"]["127.0.0.1:5555"]["auth"],
        "YWxpY2U6czNjcmV0"
    );
    assert_eq!(support::docker_config::base64(b"a"), "YQ==");
    assert_eq!(support::docker_config::base64(b"ab"), "YWI=");
    assert_eq!(support::docker_config::base64(b""), "");
}

fn run_helper(helper_dir: &std::path::Path, action: &str, stdin: &str) -> (bool, String) {
    let mut child = Command::new(helper_dir.join("docker-credential-pinnacetest"))
        .arg(action)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (out.status.success(), String::from_utf8(out.stdout).unwrap())
}

#[test]
fn credential_helper_answers_get_for_its_host_only() {
    let host = "127.0.0.1:5555";
    let (config_dir, helper_dir) = docker_config_with_helper(host, "bob", "it's \"quoted\"");
    let config: Value =
        serde_json::from_slice(&std::fs::read(config_dir.path().join("config.json")).unwrap())
            .unwrap();
    assert_eq!(config["credHelpers"][host], "pinnacetest");

    for asked in [host, "https://127.0.0.1:5555", "http://127.0.0.1:5555/"] {
        let (ok, stdout) = run_helper(helper_dir.path(), "get", asked);
        assert!(ok, "get {asked}: {stdout}");
        let answer: Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(answer["ServerURL"], host);
        assert_eq!(answer["Username"], "bob");
        assert_eq!(answer["Secret"], "it's \"quoted\"");
    }
    let (ok, stdout) = run_helper(helper_dir.path(), "get", "127.0.0.1:6666");
    assert!(!ok);
    assert_eq!(stdout.trim(), "credentials not found in native keychain");

    let calls = std::fs::read_to_string(helper_dir.path().join("calls.log")).unwrap();
    assert_eq!(calls.lines().count(), 4);
    assert!(calls.starts_with("get 127.0.0.1:5555\n"));
}

#[test]
fn skopeo_logs_in_through_the_harness_docker_configs() {
    if registry_tools_missing() {
        return;
    }
    // A real client (containers/image) reads both configs: proof they are in the real format.
    let registry = Registry::start_tls_auth("carol", "pw");
    registry.push("cfg/app", "1.0", TestImage::SinglePlatform, "cfg");
    // skopeo trusts `ca.crt` from a cert dir: make one from the public CA path.
    let cert_dir = tempfile::TempDir::new().unwrap();
    std::fs::copy(
        registry.ca_pem_path().unwrap(),
        cert_dir.path().join("ca.crt"),
    )
    .unwrap();
    let cert_dir = cert_dir.path();
    let image = format!("docker://{}/cfg/app:1.0", registry.host());
    let inspect = |authfile: &std::path::Path, path_prefix: Option<&std::path::Path>| {
        let mut path = std::env::var_os("PATH").unwrap_or_default();
        if let Some(prefix) = path_prefix {
            let mut joined = prefix.as_os_str().to_owned();
            joined.push(":");
            joined.push(&path);
            path = joined;
        }
        Command::new("skopeo")
            .args([
                "--insecure-policy",
                "inspect",
                "--raw",
                "--retry-times",
                "0",
            ])
            .arg(format!("--authfile={}", authfile.display()))
            .arg(format!("--cert-dir={}", cert_dir.display()))
            .arg(&image)
            .env("PATH", path)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };

    let auth_dir = docker_config_with_auth(&registry.host(), "carol", "pw");
    let out = inspect(&auth_dir.path().join("config.json"), None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let wrong = docker_config_with_auth(&registry.host(), "carol", "wrong");
    assert!(
        !inspect(&wrong.path().join("config.json"), None)
            .status
            .success()
    );

    let (config_dir, helper_dir) = docker_config_with_helper(&registry.host(), "carol", "pw");
    let out = inspect(
        &config_dir.path().join("config.json"),
        Some(helper_dir.path()),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let calls = std::fs::read_to_string(helper_dir.path().join("calls.log")).unwrap();
    assert!(calls.starts_with("get "), "{calls}");
}

#[test]
fn tools_are_installed_here() {
    // Off CI this only reports; with CI=true a missing tool fails here as everywhere else.
    let missing = registry_tools_missing();
    eprintln!("registry tools missing: {missing}");
}
