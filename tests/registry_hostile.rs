//! `pinnace pin` against registries that misbehave as an attacker's would: a 2xx answer that is
//! no manifest, a digest header that lies, a redirect from HTTPS to plain HTTP, a token realm
//! on `http://`, bodies without end. No real registry can be made to do these, so they are
//! played by `support::HostileServer` on 127.0.0.1; what a real registry does is tested
//! against docker-registry in pin_registry*.rs (and here, where it can show the same thing).

mod support;

use std::path::PathBuf;
use std::process::Output;
use std::time::{Duration, Instant};

use support::cli::{Repo, pinnace, text};
use support::{HostileServer, Registry, Reply, Seen, TestImage};

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const PASSWORD: &str = "h0stile-Pa55word-never-sent";

/// A small, well-formed OCI image manifest.
fn manifest_body(seed: &str) -> String {
    let config = sha256(seed);
    format!(
        r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{config}","size":{}}},"layers":[]}}"#,
        seed.len()
    )
}

fn sha256(text: &str) -> String {
    support::oci_layout::sha256_digest(text.as_bytes())
}

/// The config the invoker names with `--config` (outside the tree), as CI would pass it.
struct InvokerConfig {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

fn invoker_config(text: &str) -> InvokerConfig {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pinnace.yaml");
    std::fs::write(&path, text).unwrap();
    InvokerConfig { _dir: dir, path }
}

/// `pin --config CONFIG .` in a repository holding one manifest with `images`.
fn pin(config: &str, images: &[&str], env: &[(&str, &str)]) -> (Output, String, String) {
    let repo = Repo::new("{}\n");
    let file = repo.manifest("app.yaml", images);
    let before = std::fs::read_to_string(&file).unwrap();
    let config = invoker_config(config);
    let config_path = config.path.to_str().unwrap().to_string();
    let output = pinnace(&repo, &["pin", "--config", &config_path, "."], env);
    let after = std::fs::read_to_string(&file).unwrap();
    (output, before, after)
}

fn insecure(hosts: &[&str]) -> String {
    let quoted: Vec<String> = hosts.iter().map(|h| format!("\"{h}\"")).collect();
    format!("registries:\n  insecure: [{}]\n", quoted.join(", "))
}

fn tls_config(server: &HostileServer, insecure_hosts: &[&str]) -> String {
    let ca = server.ca_pem().unwrap().display().to_string();
    let quoted: Vec<String> = insecure_hosts.iter().map(|h| format!("\"{h}\"")).collect();
    format!(
        "registries:\n  ca_files: [\"{ca}\"]\n  insecure: [{}]\n",
        quoted.join(", ")
    )
}

/// A registry that answers every manifest request with `reply`.
fn serving(reply: Reply) -> HostileServer {
    HostileServer::start(move |_| reply.clone())
}

/// pin refused the image: non-zero exit, the file as it was, and `reason` in what it said.
fn assert_refused(output: &Output, before: &str, after: &str, reason: &str) {
    let (stdout, stderr) = text(output);
    assert_eq!(after, before, "pinned what it should have refused");
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains(reason) || stdout.contains(reason),
        "expected {reason:?} in:\n{stdout}\n{stderr}"
    );
}

#[test]
fn an_html_page_with_200_is_not_pinned() {
    let html = "<html><body>Welcome to our captive portal</body></html>";
    let server = serving(Reply::new(200, &[("Content-Type", "text/html")], html));
    let host = server.host();
    let (output, before, after) = pin(&insecure(&[&host]), &[&format!("{host}/app:1")], &[]);
    assert_refused(&output, &before, &after, "text/html instead of a manifest");
    assert!(!after.contains(&sha256(html)));
}

#[test]
fn a_json_error_with_200_and_a_manifest_media_type_is_not_pinned() {
    let error =
        r#"{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}"#;
    let server = serving(Reply::new(200, &[("Content-Type", OCI_MANIFEST)], error));
    let host = server.host();
    let (output, before, after) = pin(&insecure(&[&host]), &[&format!("{host}/app:1")], &[]);
    assert_refused(&output, &before, &after, "an error (DENIED) with HTTP 200");
}

#[test]
fn a_body_whose_media_type_is_not_its_content_type_is_not_pinned() {
    let body = manifest_body("kind-mismatch");
    let server = serving(Reply::new(200, &[("Content-Type", OCI_INDEX)], body));
    let host = server.host();
    let (output, before, after) = pin(&insecure(&[&host]), &[&format!("{host}/app:1")], &[]);
    assert_refused(&output, &before, &after, "differs from its Content-Type");
}

#[test]
fn a_sha512_digest_header_that_the_bytes_do_not_match_is_not_pinned() {
    let body = manifest_body("lying-sha512");
    let lie = format!("sha512:{}", "ab".repeat(64));
    let server = serving(Reply::new(
        200,
        &[
            ("Content-Type", OCI_MANIFEST),
            ("Docker-Content-Digest", &lie),
        ],
        body,
    ));
    let host = server.host();
    let (output, before, after) = pin(&insecure(&[&host]), &[&format!("{host}/app:1")], &[]);
    assert_refused(
        &output,
        &before,
        &after,
        "do not match its Docker-Content-Digest",
    );
}

#[test]
fn a_digest_header_on_an_answer_that_is_no_manifest_is_not_pinned() {
    // HEAD and GET both claim a digest, but the answer is a web page.
    let html = "<html>not a registry</html>";
    let claimed = sha256(html);
    let server = serving(Reply::new(
        200,
        &[
            ("Content-Type", "text/html"),
            ("Docker-Content-Digest", &claimed),
        ],
        html,
    ));
    let host = server.host();
    let (output, before, after) = pin(&insecure(&[&host]), &[&format!("{host}/app:1")], &[]);
    assert_refused(&output, &before, &after, "text/html instead of a manifest");
}

#[test]
fn a_well_formed_manifest_from_the_same_server_is_pinned() {
    // The control for the refusals above: the hostile server can serve something pinnable.
    let body = manifest_body("good");
    let digest = sha256(&body);
    let server = serving(Reply::new(
        200,
        &[
            ("Content-Type", OCI_MANIFEST),
            ("Docker-Content-Digest", &digest),
        ],
        body,
    ));
    let host = server.host();
    let image = format!("{host}/app:1");
    let (output, before, after) = pin(&insecure(&[&host]), &[&image], &[]);
    assert!(output.status.success(), "{}", text(&output).1);
    assert_eq!(after, before.replace(&image, &format!("{image}@{digest}")));
}

#[test]
fn a_redirect_from_https_to_plain_http_is_refused() {
    let body = manifest_body("downgraded");
    let digest = sha256(&body);
    let plain = serving(Reply::new(
        200,
        &[
            ("Content-Type", OCI_MANIFEST),
            ("Docker-Content-Digest", &digest),
        ],
        body,
    ));
    let target = format!("{}/v2/app/manifests/1", plain.base_url());
    let tls = HostileServer::start_tls(move |_| Reply::new(302, &[("Location", &target)], ""));
    let host = tls.host();
    let (output, before, after) = pin(&tls_config(&tls, &[]), &[&format!("{host}/app:1")], &[]);
    assert_refused(&output, &before, &after, "redirect");
    assert!(
        plain.requests().is_empty(),
        "the plain-HTTP target was contacted: {:?}",
        plain.requests()
    );
}

#[test]
fn a_redirect_loop_is_a_failure_of_that_image_only() {
    let looping = HostileServer::start(|seen: &Seen| {
        let next = format!("{}x", seen.path);
        Reply::new(307, &[("Location", &next)], "")
    });
    let good = manifest_body("next-to-a-loop");
    let digest = sha256(&good);
    let fine = serving(Reply::new(
        200,
        &[
            ("Content-Type", OCI_MANIFEST),
            ("Docker-Content-Digest", &digest),
        ],
        good,
    ));
    let (a, b) = (looping.host(), fine.host());
    let good_image = format!("{b}/ok:1");
    let (output, _, after) = pin(
        &insecure(&[&a, &b]),
        &[&format!("{a}/loop:1"), &good_image],
        &[],
    );
    let (_, stderr) = text(&output);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains("redirect"), "{stderr}");
    assert!(after.contains(&format!("{good_image}@{digest}")), "{after}");
    // GET and HEAD each follow at most 10 redirects (and a retry or two).
    assert!(
        looping.requests().len() <= 60,
        "{}",
        looping.requests().len()
    );
}

/// A run with an endless body for one image (from `hosts`, spoken to over plain HTTP) must
/// refuse it quickly, pin the other image and print its summary.
fn assert_bounded(hostile: &HostileServer, bad_image: &str, hosts: &[&str]) {
    let good = manifest_body("beside-an-endless-body");
    let digest = sha256(&good);
    let fine = serving(Reply::new(
        200,
        &[
            ("Content-Type", OCI_MANIFEST),
            ("Docker-Content-Digest", &digest),
        ],
        good,
    ));
    let fine_host = fine.host();
    let good_image = format!("{fine_host}/ok:1");
    let config = insecure(&[hosts, &[fine_host.as_str()]].concat());
    let started = Instant::now();
    let (output, _, after) = pin(&config, &[bad_image, &good_image], &[]);
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stderr.contains("larger than"), "{stderr}");
    assert!(after.contains(&format!("{good_image}@{digest}")), "{after}");
    assert!(
        stderr.contains("1 pinned") || stdout.contains("1 pinned"),
        "no summary:\n{stdout}\n{stderr}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "took {:?}",
        started.elapsed()
    );
    // Read no more than a few times the bound (buffers, retries), never gigabytes.
    assert!(
        hostile.endless_bytes_written() < 256 << 20,
        "{} bytes",
        hostile.endless_bytes_written()
    );
}

#[test]
fn an_endless_manifest_body_is_refused_and_the_run_goes_on() {
    let hostile = serving(Reply::endless(
        200,
        &[("Content-Type", OCI_MANIFEST)],
        r#"{"schemaVersion":2,"x":""#,
    ));
    let host = hostile.host();
    assert_bounded(&hostile, &format!("{host}/big:1"), &[&host]);
}

#[test]
fn an_endless_token_body_is_refused_and_the_run_goes_on() {
    let token = serving(Reply::endless(
        200,
        &[("Content-Type", "application/json")],
        r#"{"token":""#,
    ));
    let realm = format!("{}/token", token.base_url());
    let registry = HostileServer::start(move |_| {
        let challenge = format!("Bearer realm=\"{realm}\",service=\"hostile\"");
        Reply::new(401, &[("WWW-Authenticate", &challenge)], "")
    });
    let host = registry.host();
    assert_bounded(&token, &format!("{host}/app:1"), &[&host, &token.host()]);
}

#[test]
fn an_endless_error_body_is_bounded() {
    let hostile = serving(Reply::endless(
        500,
        &[("Content-Type", "application/json")],
        r#"{"errors":[{"code":"UNKNOWN","message":""#,
    ));
    let host = hostile.host();
    let started = Instant::now();
    let (output, before, after) = pin(&insecure(&[&host]), &[&format!("{host}/app:1")], &[]);
    assert_refused(&output, &before, &after, "HTTP 500");
    assert!(started.elapsed() < Duration::from_secs(60));
    assert!(hostile.endless_bytes_written() < 256 << 20);
}

/// A registry over HTTPS whose 401 sends clients to a token realm over plain HTTP, with
/// credentials for the registry in a docker config.
fn https_registry_with_plain_realm(token: &HostileServer) -> (HostileServer, tempfile::TempDir) {
    let realm = format!("{}/token", token.base_url());
    let registry = HostileServer::start_tls(move |_| {
        let challenge = format!("Bearer realm=\"{realm}\",service=\"hostile\"");
        Reply::new(401, &[("WWW-Authenticate", &challenge)], "")
    });
    let docker = support::docker_config_with_auth(&registry.host(), "pinnace", PASSWORD);
    (registry, docker)
}

#[test]
fn basic_credentials_never_go_to_a_plain_http_token_realm() {
    let token = serving(Reply::new(
        200,
        &[("Content-Type", "application/json")],
        r#"{"token":"anonymous"}"#,
    ));
    let (registry, docker) = https_registry_with_plain_realm(&token);
    let (output, _, _) = pin(
        &tls_config(&registry, &[]),
        &[&format!("{}/app:1", registry.host())],
        &[("DOCKER_CONFIG", docker.path().to_str().unwrap())],
    );
    assert!(!output.status.success());
    let seen = token.requests();
    assert!(
        seen.iter().all(|s| s.auth_scheme.is_none()),
        "credentials went to http:// in clear: {seen:?}"
    );
    let (_, stderr) = text(&output);
    assert!(!stderr.contains(PASSWORD), "{stderr}");
}

#[test]
fn a_plain_http_token_realm_listed_as_insecure_gets_the_credentials() {
    let token = serving(Reply::new(
        200,
        &[("Content-Type", "application/json")],
        r#"{"token":"t"}"#,
    ));
    let (registry, docker) = https_registry_with_plain_realm(&token);
    let _ = pin(
        &tls_config(&registry, &[&token.host()]),
        &[&format!("{}/app:1", registry.host())],
        &[("DOCKER_CONFIG", docker.path().to_str().unwrap())],
    );
    let seen = token.requests();
    assert!(
        seen.iter()
            .any(|s| s.basic_user.as_deref() == Some("pinnace")),
        "{seen:?}"
    );
}

#[test]
fn a_mirror_gets_its_own_credentials_never_those_of_the_registry_it_stands_for() {
    let mirror = HostileServer::start(|_| {
        Reply::new(401, &[("WWW-Authenticate", "Basic realm=\"mirror\"")], "")
    });
    let upstream = HostileServer::start(|_| {
        Reply::new(401, &[("WWW-Authenticate", "Basic realm=\"upstream\"")], "")
    });
    let (m, u) = (mirror.host(), upstream.host());
    let docker = support::docker_config_with_auth(&u, "upstream-user", PASSWORD);
    let config =
        format!("registries:\n  insecure: [\"{m}\", \"{u}\"]\n  mirrors: {{\"{u}\": \"{m}\"}}\n");
    let (output, _, _) = pin(
        &config,
        &[&format!("{u}/app:1")],
        &[("DOCKER_CONFIG", docker.path().to_str().unwrap())],
    );
    assert!(!output.status.success());
    assert!(!mirror.requests().is_empty(), "the mirror was not asked");
    assert!(
        mirror.requests().iter().all(|s| s.auth_scheme.is_none()),
        "{:?}",
        mirror.requests()
    );
    // The registry itself, asked after the mirror, does get its credentials.
    assert!(
        upstream
            .requests()
            .iter()
            .any(|s| s.basic_user.as_deref() == Some("upstream-user")),
        "{:?}",
        upstream.requests()
    );
}

#[test]
fn https_to_a_plain_http_port_is_a_network_failure_not_tls() {
    if support::registry_tools_missing() {
        return;
    }
    let registry = Registry::start();
    let host = registry.host();
    registry.push("app", "1", TestImage::SinglePlatform, "plain-port");
    // The host is not listed as insecure, so pinnace speaks TLS to a plain-HTTP port.
    let (output, before, after) = pin("{}\n", &[&format!("{host}/app:1")], &[]);
    assert_refused(&output, &before, &after, "cannot reach");
    let (_, stderr) = text(&output);
    assert!(!stderr.contains("TLS failure"), "{stderr}");
    assert!(stderr.contains("registries.insecure"), "{stderr}");
}

#[test]
fn a_port_that_hangs_up_on_tls_is_a_network_failure_not_tls() {
    // A hostile listener that closes every connection at once, before any TLS.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let host = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            drop(stream);
        }
    });
    let (output, before, after) = pin("{}\n", &[&format!("{host}/app:1")], &[]);
    assert_refused(&output, &before, &after, "cannot reach");
    let (_, stderr) = text(&output);
    assert!(!stderr.contains("TLS failure"), "{stderr}");
}

#[test]
fn asked_for_a_digest_a_registry_must_answer_with_that_manifest() {
    // Whatever is asked, the server answers with one well-formed manifest and its own digest.
    let body = manifest_body("some-other-manifest");
    let digest = sha256(&body);
    let server = serving(Reply::new(
        200,
        &[
            ("Content-Type", OCI_MANIFEST),
            ("Docker-Content-Digest", &digest),
        ],
        body,
    ));
    let host = server.host();
    let asked = format!("sha256:{}", "ab".repeat(32));
    let repo = Repo::new("{}\n");
    repo.manifest("app.yaml", &[&format!("{host}/app:1@{asked}")]);
    let config = invoker_config(&insecure(&[&host]));
    let config_path = config.path.to_str().unwrap().to_string();
    let output = pinnace(
        &repo,
        &[
            "check",
            "--online",
            "--config",
            &config_path,
            "--format",
            "json",
            "--ignore=missing-network-policy,missing-default-deny",
            ".",
        ],
        &[],
    );
    let (stdout, stderr) = text(&output);
    assert!(
        stdout.contains("a manifest other than the digest asked for"),
        "{stdout}\n{stderr}"
    );
}
