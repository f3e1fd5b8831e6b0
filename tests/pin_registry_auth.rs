//! `pinnace pin` against a real registry (Debian's docker-registry on 127.0.0.1) that asks for
//! bearer tokens from a token service (the harness's `TokenServer`, issuing RS256 JWTs that
//! distribution verifies up to its `rootcertbundle`), and against one whose answers carry no
//! `Docker-Content-Digest` (`DigestStrippingProxy`), so the digest must come from the bytes.

mod support;

use std::process::Output;

use support::cli::{Repo, pinnace, text};
use support::registry::TOKEN_SERVICE;
use support::{DigestStrippingProxy, Registry, TestImage, TokenRequest};

const PASSWORD: &str = "t0ken-Pa55word-never-printed";

/// Neither the password nor its Basic encoding appears in the output.
fn assert_no_secret(output: &Output, secrets: &[&str]) {
    let (stdout, stderr) = text(output);
    for secret in secrets {
        let encoded = support::docker_config::base64(format!("pinnace:{secret}").as_bytes());
        for shown in [&stdout, &stderr] {
            assert!(
                !shown.contains(secret) && !shown.contains(&encoded),
                "a secret leaked:\n{shown}"
            );
        }
    }
}

/// The token service's requests made by pinnace (not by the harness's skopeo).
fn pinnace_token_requests(registry: &Registry) -> Vec<TokenRequest> {
    registry
        .token_server()
        .expect("a token-auth registry")
        .requests_excluding_harness()
}

/// A repository whose config lists the registry and its token service as plain-HTTP hosts
/// (both serve plain HTTP; pinnace sends nothing to an http:// realm it was not told about).
fn token_repo(registry: &Registry) -> Repo {
    let token = registry.token_server().expect("a token-auth registry");
    Repo::new(&format!(
        "registries:\n  insecure: [\"{}\", \"{}\"]\n",
        registry.host(),
        token.host()
    ))
}

/// (method, path) of manifest requests pinnace made to the registry.
fn manifest_requests(registry: &Registry) -> Vec<(String, String)> {
    registry
        .requests_excluding_harness()
        .into_iter()
        .filter(|(_, path)| path.contains("/manifests/"))
        .collect()
}

#[test]
fn anonymous_pull_uses_an_anonymous_token_for_the_repository_scope() {
    if support::registry_tools_missing() {
        return;
    }
    let registry = Registry::start_token_auth(true, &[]);
    let host = registry.host();
    let pushed = registry.push("team/app", "1.0", TestImage::MultiPlatform, "token-anon");
    // The registry itself refuses anything without a token (so pinnace must do the handshake).
    let refused = support::http_get(&host, "/v2/team/app/manifests/1.0").unwrap();
    assert_eq!(refused.status, 401);
    let challenge = refused.header("www-authenticate").unwrap();
    assert!(
        challenge.starts_with("Bearer ")
            && challenge.contains(&format!("service=\"{TOKEN_SERVICE}\""))
            && challenge.contains("scope=\"repository:team/app:pull\""),
        "{challenge}"
    );

    let repo = token_repo(&registry);
    let image = format!("{host}/team/app:1.0");
    let file = repo.manifest("app.yaml", &[&image]);
    let before = std::fs::read_to_string(&file).unwrap();
    let output = pinnace(&repo, &["pin", "."], &[]);
    let (_, stderr) = text(&output);
    assert!(output.status.success(), "{stderr}\n{}", registry.log_text());
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        before.replace(&image, &format!("{image}@{}", pushed.digest))
    );

    let requests = pinnace_token_requests(&registry);
    assert!(!requests.is_empty(), "pinnace asked for no token");
    for request in &requests {
        assert_eq!(request.method, "GET");
        assert_eq!(request.path, "/token");
        assert!(request.is_anonymous(), "{request:?}");
        assert_eq!(request.scopes, ["repository:team/app:pull"], "{request:?}");
        assert_eq!(request.service.as_deref(), Some(TOKEN_SERVICE));
        assert_eq!(request.status, 200);
    }
    // The manifest was asked for (401, then with the token) and never fetched in full.
    let manifests = manifest_requests(&registry);
    assert!(
        manifests.len() >= 2
            && manifests
                .iter()
                .all(|(m, p)| m == "HEAD" && p == "/v2/team/app/manifests/1.0"),
        "{manifests:?}"
    );
}

#[test]
fn config_json_credentials_go_to_the_token_service_as_basic_auth() {
    if support::registry_tools_missing() {
        return;
    }
    let registry = Registry::start_token_auth(false, &[("pinnace", PASSWORD)]);
    let host = registry.host();
    let pushed = registry.push("secure/app", "1", TestImage::SinglePlatform, "token-basic");
    let repo = token_repo(&registry);
    let file = repo.manifest("a.yaml", &[&format!("{host}/secure/app:1")]);
    let docker = support::docker_config_with_auth(&host, "pinnace", PASSWORD);
    let output = pinnace(
        &repo,
        &["pin", "."],
        &[("DOCKER_CONFIG", docker.path().to_str().unwrap())],
    );
    assert!(
        output.status.success(),
        "{}\n{}",
        text(&output).1,
        registry.log_text()
    );
    assert!(
        std::fs::read_to_string(&file)
            .unwrap()
            .contains(&format!("{host}/secure/app:1@{}", pushed.digest))
    );
    assert_no_secret(&output, &[PASSWORD]);

    let requests = pinnace_token_requests(&registry);
    assert!(!requests.is_empty(), "pinnace asked for no token");
    for request in &requests {
        assert_eq!(request.auth_scheme.as_deref(), Some("Basic"), "{request:?}");
        assert_eq!(request.basic_user.as_deref(), Some("pinnace"));
        assert_eq!(request.scopes, ["repository:secure/app:pull"]);
        assert_eq!(request.service.as_deref(), Some(TOKEN_SERVICE));
        assert_eq!(request.status, 200);
    }
}

#[test]
fn credentials_never_go_to_a_token_service_on_plain_http_that_is_not_listed() {
    if support::registry_tools_missing() {
        return;
    }
    let registry = Registry::start_token_auth(false, &[("pinnace", PASSWORD)]);
    let host = registry.host();
    registry.push("secure/app", "1", TestImage::SinglePlatform, "token-clear");
    // Only the registry is listed: its token service is another plain-HTTP host.
    let repo = Repo::insecure(&host);
    let file = repo.manifest("a.yaml", &[&format!("{host}/secure/app:1")]);
    let before = std::fs::read_to_string(&file).unwrap();
    let docker = support::docker_config_with_auth(&host, "pinnace", PASSWORD);
    let output = pinnace(
        &repo,
        &["pin", "."],
        &[("DOCKER_CONFIG", docker.path().to_str().unwrap())],
    );
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), before);
    assert!(stderr.contains("not in registries.insecure"), "{stderr}");
    assert!(
        pinnace_token_requests(&registry).is_empty(),
        "{:?}",
        pinnace_token_requests(&registry)
    );
    assert_no_secret(&output, &[PASSWORD]);
}

#[test]
fn without_credentials_a_private_repository_is_an_auth_failure() {
    if support::registry_tools_missing() {
        return;
    }
    // The token service hands anonymous callers a token without access (as Docker Hub does
    // for a private repository); the registry refuses it.
    let registry = Registry::start_token_auth(false, &[("pinnace", PASSWORD)]);
    let host = registry.host();
    registry.push(
        "secure/app",
        "1",
        TestImage::SinglePlatform,
        "token-private",
    );
    assert!(registry.inspect_raw_anonymous("secure/app:1").is_err());
    let repo = token_repo(&registry);
    let file = repo.manifest("a.yaml", &[&format!("{host}/secure/app:1")]);
    let before = std::fs::read_to_string(&file).unwrap();
    let output = pinnace(&repo, &["pin", "."], &[]);
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("authentication failed"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), before);
    let requests = pinnace_token_requests(&registry);
    assert!(
        !requests.is_empty() && requests.iter().all(TokenRequest::is_anonymous),
        "{requests:?}"
    );
}

#[test]
fn a_wrong_password_at_the_token_service_is_an_auth_failure_without_the_password() {
    if support::registry_tools_missing() {
        return;
    }
    let registry = Registry::start_token_auth(false, &[("pinnace", PASSWORD)]);
    let host = registry.host();
    registry.push("secure/app", "1", TestImage::SinglePlatform, "token-wrong");
    let repo = token_repo(&registry);
    let file = repo.manifest("a.yaml", &[&format!("{host}/secure/app:1")]);
    let before = std::fs::read_to_string(&file).unwrap();
    let wrong = format!("{PASSWORD}-wrong");
    let docker = support::docker_config_with_auth(&host, "pinnace", &wrong);
    let output = pinnace(
        &repo,
        &["pin", "."],
        &[("DOCKER_CONFIG", docker.path().to_str().unwrap())],
    );
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("authentication failed"), "{stderr}");
    assert_no_secret(&output, &[&wrong, PASSWORD]);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), before);

    let requests = pinnace_token_requests(&registry);
    assert!(!requests.is_empty(), "pinnace asked for no token");
    for request in &requests {
        assert_eq!(request.auth_scheme.as_deref(), Some("Basic"), "{request:?}");
        assert_eq!(request.status, 401, "{request:?}");
    }
}

#[test]
fn without_a_digest_header_the_manifest_is_fetched_and_hashed() {
    if support::registry_tools_missing() {
        return;
    }
    let registry = Registry::start();
    let multi = registry.push(
        "team/app",
        "1.0",
        TestImage::MultiPlatform,
        "no-digest-multi",
    );
    let single = registry.push(
        "team/api",
        "2.0",
        TestImage::SinglePlatform,
        "no-digest-one",
    );
    let proxy = DigestStrippingProxy::start(&registry);
    let host = proxy.host();

    // The proxy really hides the header the registry sends.
    let direct = support::http_request(
        &registry.host(),
        "HEAD",
        "/v2/team/app/manifests/1.0",
        &[("Accept", "application/vnd.oci.image.index.v1+json")],
        b"",
    )
    .unwrap();
    assert_eq!(
        direct.header("docker-content-digest"),
        Some(multi.digest.as_str())
    );
    let via_proxy = support::http_request(
        &host,
        "HEAD",
        "/v2/team/app/manifests/1.0",
        &[("Accept", "application/vnd.oci.image.index.v1+json")],
        b"",
    )
    .unwrap();
    assert_eq!(via_proxy.status, 200);
    assert_eq!(via_proxy.header("docker-content-digest"), None);

    let repo = Repo::insecure(&host);
    let app = format!("{host}/team/app:1.0");
    let api = format!("{host}/team/api:2.0");
    let file = repo.manifest("a.yaml", &[&app, &api]);
    let before = std::fs::read_to_string(&file).unwrap();
    let output = pinnace(&repo, &["pin", "."], &[]);
    let (_, stderr) = text(&output);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        before
            .replace(&app, &format!("{app}@{}", multi.digest))
            .replace(&api, &format!("{api}@{}", single.digest)),
        "the index digest for the multi-platform tag, the manifest digest for the other"
    );
    assert!(!multi.children.contains(&multi.digest));

    // Each manifest was asked for by HEAD, then (no digest in the answer) fetched by GET.
    let manifests = manifest_requests(&registry);
    for path in ["/v2/team/app/manifests/1.0", "/v2/team/api/manifests/2.0"] {
        let methods: Vec<&str> = manifests
            .iter()
            .filter(|(_, p)| p == path)
            .map(|(m, _)| m.as_str())
            .collect();
        assert_eq!(methods, ["HEAD", "GET"], "{path}: {manifests:?}");
    }
    assert!(proxy.digest_headers_stripped() >= 4);
}

/// `Authorization: Bearer <token>` on a manifest HEAD, straight to the registry.
fn head_with_token(host: &str, path: &str, token: &str) -> support::HttpResponse {
    let bearer = format!("Bearer {token}");
    support::http_request(
        host,
        "HEAD",
        path,
        &[
            ("Authorization", &bearer),
            ("Accept", "application/vnd.oci.image.manifest.v1+json"),
        ],
        b"",
    )
    .unwrap()
}

/// A token straight from a token service, anonymous.
fn anonymous_token(token_host: &str, scope: &str) -> String {
    let path = format!(
        "/token?service={TOKEN_SERVICE}&scope={}",
        scope.replace(':', "%3A").replace('/', "%2F")
    );
    let response = support::http_get(token_host, &path).unwrap();
    assert_eq!(response.status, 200, "{}", response.body_text());
    let body: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
    body["token"].as_str().unwrap().to_string()
}

/// The harness is only worth something if the registry really checks its tokens: the
/// signature, the certificate chain up to `rootcertbundle`, and the scope.
#[test]
fn the_registry_really_verifies_the_harness_tokens() {
    if support::registry_tools_missing() {
        return;
    }
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    let registry = Registry::start_token_auth(true, &[]);
    let host = registry.host();
    registry.push("team/app", "1", TestImage::SinglePlatform, "verify");
    registry.push("team/other", "1", TestImage::SinglePlatform, "verify-other");
    let server = registry.token_server().unwrap();
    let token = anonymous_token(&server.host(), "repository:team/app:pull");

    // The JWT carries what distribution 2.8 checks.
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3);
    let decode = |part: &str| -> serde_json::Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    };
    let (header, claims) = (decode(parts[0]), decode(parts[1]));
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["x5c"].as_array().unwrap().len(), 1);
    assert_eq!(claims["aud"], TOKEN_SERVICE);
    assert_eq!(claims["iss"], support::registry::TOKEN_ISSUER);
    assert_eq!(
        claims["access"],
        serde_json::json!([{"type": "repository", "name": "team/app", "actions": ["pull"]}])
    );
    for claim in ["exp", "nbf", "iat"] {
        assert!(claims[claim].is_u64(), "{claim}");
    }
    assert!(claims["jti"].is_string());

    let app = "/v2/team/app/manifests/1";
    let other = "/v2/team/other/manifests/1";
    assert_eq!(head_with_token(&host, app, &token).status, 200);

    // Another repository: insufficient scope.
    let refused = head_with_token(&host, other, &token);
    assert_eq!(refused.status, 401);
    assert!(
        refused
            .header("www-authenticate")
            .unwrap()
            .contains("insufficient_scope")
    );

    // Claims edited after signing: invalid.
    let edited = URL_SAFE_NO_PAD.encode(
        URL_SAFE_NO_PAD
            .decode(parts[1])
            .map(|c| {
                String::from_utf8(c)
                    .unwrap()
                    .replace("team/app", "team/other")
            })
            .unwrap(),
    );
    let forged = format!("{}.{edited}.{}", parts[0], parts[2]);
    let refused = head_with_token(&host, other, &forged);
    assert_eq!(refused.status, 401);
    assert!(
        refused
            .header("www-authenticate")
            .unwrap()
            .contains("invalid_token")
    );

    // Same service and issuer, but signed by a certificate of another CA: invalid.
    let elsewhere = tempfile::tempdir().unwrap();
    let rogue = support::TokenServer::start(
        elsewhere.path(),
        TOKEN_SERVICE,
        support::registry::TOKEN_ISSUER,
        true,
        &[],
    );
    let rogue_token = anonymous_token(&rogue.host(), "repository:team/app:pull");
    let refused = head_with_token(&host, app, &rogue_token);
    assert_eq!(refused.status, 401);
    assert!(
        refused
            .header("www-authenticate")
            .unwrap()
            .contains("invalid_token")
    );
}

#[test]
fn the_fetch_fallback_reuses_the_bearer_token() {
    if support::registry_tools_missing() {
        return;
    }
    let registry = Registry::start_token_auth(true, &[]);
    let pushed = registry.push("team/app", "3", TestImage::MultiPlatform, "token-no-digest");
    let proxy = DigestStrippingProxy::start(&registry);
    let host = proxy.host();
    let token = registry.token_server().unwrap().host();
    let repo = Repo::new(&format!(
        "registries:\n  insecure: [\"{host}\", \"{token}\"]\n"
    ));
    let image = format!("{host}/team/app:3");
    let file = repo.manifest("a.yaml", &[&image]);
    let output = pinnace(&repo, &["pin", "."], &[]);
    assert!(output.status.success(), "{}", text(&output).1);
    assert!(
        std::fs::read_to_string(&file)
            .unwrap()
            .contains(&format!("{image}@{}", pushed.digest))
    );
    // HEAD (401), HEAD with the token (no digest header through the proxy), GET with the same
    // token: one token request in all.
    let methods: Vec<String> = manifest_requests(&registry)
        .into_iter()
        .map(|(m, _)| m)
        .collect();
    assert_eq!(methods, ["HEAD", "HEAD", "GET"]);
    let requests = pinnace_token_requests(&registry);
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert!(requests[0].is_anonymous());
}

#[test]
fn an_identity_token_is_exchanged_by_the_oauth2_refresh_token_grant() {
    if support::registry_tools_missing() {
        return;
    }
    const REFRESH: &str = "refresh-t0ken-never-printed";
    let registry = Registry::start_token_auth(false, &[("pinnace", PASSWORD)]);
    let host = registry.host();
    let pushed = registry.push(
        "secure/app",
        "1",
        TestImage::SinglePlatform,
        "token-refresh",
    );
    let server = registry.token_server().unwrap();
    server.add_refresh_token(REFRESH, "pinnace");
    let docker_config = |token: &str| {
        let dir = tempfile::tempdir().unwrap();
        let config = serde_json::json!({"auths": {&host: {"auth": "", "identitytoken": token}}});
        std::fs::write(dir.path().join("config.json"), config.to_string()).unwrap();
        dir
    };

    let repo = token_repo(&registry);
    let file = repo.manifest("a.yaml", &[&format!("{host}/secure/app:1")]);
    let docker = docker_config(REFRESH);
    let output = pinnace(
        &repo,
        &["pin", "."],
        &[("DOCKER_CONFIG", docker.path().to_str().unwrap())],
    );
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "{stderr}");
    assert!(
        std::fs::read_to_string(&file)
            .unwrap()
            .contains(&format!("{host}/secure/app:1@{}", pushed.digest))
    );
    assert!(!stdout.contains(REFRESH) && !stderr.contains(REFRESH));
    let requests = pinnace_token_requests(&registry);
    assert!(!requests.is_empty(), "pinnace asked for no token");
    for request in &requests {
        assert_eq!(request.method, "POST", "{request:?}");
        assert_eq!(request.grant_type.as_deref(), Some("refresh_token"));
        assert_eq!(request.scopes, ["repository:secure/app:pull"]);
        assert_eq!(request.service.as_deref(), Some(TOKEN_SERVICE));
        assert_eq!(request.status, 200);
    }

    // A refresh token the service does not know: 401, an auth failure, nothing printed.
    let unknown = format!("{REFRESH}-revoked");
    let repo = token_repo(&registry);
    let file = repo.manifest("a.yaml", &[&format!("{host}/secure/app:1")]);
    let before = std::fs::read_to_string(&file).unwrap();
    let docker = docker_config(&unknown);
    let output = pinnace(
        &repo,
        &["pin", "."],
        &[("DOCKER_CONFIG", docker.path().to_str().unwrap())],
    );
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("authentication failed"), "{stderr}");
    assert!(!stdout.contains(REFRESH) && !stderr.contains(REFRESH));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), before);
    assert_eq!(
        pinnace_token_requests(&registry).last().unwrap().status,
        401
    );
}

#[test]
fn the_harness_deletes_and_inspects_through_the_token_service() {
    if support::registry_tools_missing() {
        return;
    }
    let registry = Registry::start_token_auth(false, &[]);
    let pushed = registry.push("team/gone", "1", TestImage::SinglePlatform, "token-delete");
    assert!(registry.inspect_raw_anonymous("team/gone:1").is_err());
    assert!(registry.inspect_raw("team/gone:1").is_ok());
    registry.delete_manifest("team/gone", &pushed.digest);
    assert!(registry.inspect_raw("team/gone:1").is_err());
    let own = registry.token_server().unwrap().requests();
    assert!(
        own.iter().all(
            |r| r.basic_user.as_deref() == Some(support::registry::HARNESS_TOKEN_USER)
                || r.is_anonymous()
        ),
        "{own:?}"
    );
}
