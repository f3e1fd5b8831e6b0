//! The HTTP side: manifest requests with the auth handshake, retries and per-host limits.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use base64::Engine;
use reqwest::Method;
use reqwest::blocking::{Client, Response};
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use sha2::{Digest as _, Sha256};

use super::auth::{Challenge, parse_challenge};
use super::credentials::{Credential, CredentialStore};
use super::limiter::HostLimiter;
use super::verify;
use super::{MANIFEST_MEDIA_TYPES, Manifest, RegistryError};
use crate::image_ref::Digest;

/// How to reach registries; built from `registries:` in the config and the command line.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Hosts spoken to over plain HTTP.
    pub insecure: Vec<String>,
    /// Registry host to the mirror host that answers for it.
    pub mirrors: BTreeMap<String, String>,
    /// Extra CA certificates (PEM) trusted on top of the system's.
    pub ca_files: Vec<PathBuf>,
    /// Requests in flight at once per registry host.
    pub per_registry: usize,
    pub timeout: Duration,
    /// Tries per request when the registry answers 429 or 5xx or the connection fails.
    pub max_attempts: u32,
    /// The longest pause between tries, whatever `Retry-After` asks.
    pub max_retry_wait: Duration,
    pub credentials: CredentialStore,
}

impl Default for ClientOptions {
    fn default() -> ClientOptions {
        ClientOptions {
            insecure: Vec::new(),
            mirrors: BTreeMap::new(),
            ca_files: Vec::new(),
            per_registry: 8,
            timeout: Duration::from_secs(30),
            max_attempts: 4,
            max_retry_wait: Duration::from_secs(30),
            credentials: CredentialStore::default(),
        }
    }
}

pub struct RegistryClient {
    http: Client,
    options: ClientOptions,
    /// `Authorization` header values by `host scope`, reused across requests.
    authorizations: Mutex<HashMap<String, String>>,
    limiter: HostLimiter,
    requests: AtomicUsize,
    /// Registries that could not be reached when a mirror's answer sent pinnace to them: not
    /// asked again in this run (an air-gapped CI reaches only its mirror, and each of its
    /// misses would otherwise wait out every retry).
    unreachable: Mutex<HashSet<String>>,
}

impl RegistryClient {
    pub fn new(options: ClientOptions) -> Result<RegistryClient, String> {
        let mut certificates = Vec::new();
        for file in &options.ca_files {
            let pem = std::fs::read(file)
                .map_err(|e| format!("cannot read CA file {}: {e}", file.display()))?;
            let found = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| format!("CA file {} holds no PEM certificate: {e}", file.display()))?;
            certificates.extend(found);
        }
        let http = Client::builder()
            .timeout(options.timeout)
            .redirect(redirect_policy(options.insecure.clone()))
            .user_agent(concat!("pinnace/", env!("CARGO_PKG_VERSION")))
            .tls_certs_merge(certificates)
            .build()
            .map_err(|e| format!("cannot set up HTTPS: {e}"))?;
        Ok(RegistryClient {
            http,
            limiter: HostLimiter::new(options.per_registry),
            options,
            authorizations: Mutex::new(HashMap::new()),
            requests: AtomicUsize::new(0),
            unreachable: Mutex::new(HashSet::new()),
        })
    }

    /// HTTP requests sent so far (auth and retries included).
    pub fn requests_sent(&self) -> usize {
        self.requests.load(Ordering::Relaxed)
    }

    /// The digest of what `reference` (a tag or digest) names, by `HEAD`; falls back to `GET`
    /// and hashing when the registry sends no digest header.
    pub fn resolve(
        &self,
        registry: &str,
        repository: &str,
        reference: &str,
    ) -> Result<Manifest, RegistryError> {
        self.via_endpoints(registry, |host| {
            self.resolve_from(host, repository, reference)
                .and_then(|manifest| is_what_was_asked(host, reference, manifest))
        })
    }

    fn resolve_from(
        &self,
        host: &str,
        repository: &str,
        reference: &str,
    ) -> Result<Manifest, RegistryError> {
        let response = self.request(Method::HEAD, host, repository, reference)?;
        let media_type = content_type(&response);
        // A HEAD answer is believed only when it names a manifest and a digest pinnace
        // can pin; anything else is fetched, and the GET checks say what is wrong.
        let digest = content_digest(&response)
            .and_then(|d| Digest::parse(d).ok())
            .filter(|d| d.algorithm() == "sha256");
        match digest {
            Some(digest) if verify::is_manifest_media_type(&media_type) => Ok(Manifest {
                digest,
                media_type,
                body: None,
            }),
            _ => self.fetch_from(host, repository, reference),
        }
    }

    /// The manifest `reference` names, with its body.
    pub fn fetch(
        &self,
        registry: &str,
        repository: &str,
        reference: &str,
    ) -> Result<Manifest, RegistryError> {
        self.via_endpoints(registry, |host| {
            self.fetch_from(host, repository, reference)
                .and_then(|manifest| is_what_was_asked(host, reference, manifest))
        })
    }

    fn fetch_from(
        &self,
        host: &str,
        repository: &str,
        reference: &str,
    ) -> Result<Manifest, RegistryError> {
        let mut response = self.request(Method::GET, host, repository, reference)?;
        let media_type = content_type(&response);
        let claimed = content_digest(&response).map(str::to_string);
        let declared = response.content_length();
        let body = verify::read_bounded(
            &mut response,
            declared,
            verify::MAX_MANIFEST_BYTES,
            "a manifest",
        )
        .map_err(|what| protocol(host, &what))?;
        verify::check_manifest(&media_type, &body).map_err(|what| protocol(host, &what))?;
        if let Some(claimed) = &claimed {
            verify::check_claimed_digest(claimed, &body).map_err(|what| protocol(host, &what))?;
        }
        let hex = verify::hex(&Sha256::digest(&body));
        let digest =
            Digest::parse(&format!("sha256:{hex}")).map_err(|_| protocol(host, "a digest"))?;
        Ok(Manifest {
            digest,
            media_type,
            body: Some(body),
        })
    }

    /// Tries the mirror (if any) before the registry itself; the digest is the same.
    pub(super) fn via_endpoints<T>(
        &self,
        registry: &str,
        mut attempt: impl FnMut(&str) -> Result<T, RegistryError>,
    ) -> Result<T, RegistryError> {
        // Like containerd, fall back to the registry when the mirror cannot answer.
        let Some(mirror) = self.options.mirrors.get(registry) else {
            return attempt(api_host(registry));
        };
        let from_mirror = match attempt(mirror) {
            Ok(found) => return Ok(found),
            Err(error) => error,
        };
        let upstream = api_host(registry);
        if self.lock_unreachable().contains(upstream) {
            return Err(from_mirror);
        }
        match attempt(upstream) {
            Ok(found) => Ok(found),
            // The registry itself cannot be reached: the mirror's answer says more.
            Err(RegistryError::Network { .. } | RegistryError::Tls { .. }) => Err(from_mirror),
            Err(error) => Err(error),
        }
    }

    /// Whether `host` is the API host of a registry that has a mirror: pinnace asks it only
    /// when the mirror could not answer.
    fn behind_mirror(&self, host: &str) -> bool {
        self.options
            .mirrors
            .keys()
            .any(|registry| api_host(registry) == host)
    }

    fn lock_unreachable(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.unreachable.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn request(
        &self,
        method: Method,
        host: &str,
        repository: &str,
        reference: &str,
    ) -> Result<Response, RegistryError> {
        self.request_at(method, host, repository, "manifests", reference)
    }

    /// A request for `/v2/<repository>/<endpoint>/<reference>` (`manifests`, `blobs`), with
    /// the auth handshake, retries and the per-host limit.
    pub(super) fn request_at(
        &self,
        method: Method,
        host: &str,
        repository: &str,
        endpoint: &str,
        reference: &str,
    ) -> Result<Response, RegistryError> {
        let scheme = if self.is_insecure(host) {
            "http"
        } else {
            "https"
        };
        let url = format!("{scheme}://{host}/v2/{repository}/{endpoint}/{reference}");
        let scope = format!("repository:{repository}:pull");
        let key = format!("{host} {scope}");
        let _permit = self.limiter.acquire(host);
        // Asked again while another request found it unreachable (see `via_endpoints`).
        if self
            .unreachable
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(host)
        {
            return Err(RegistryError::Network {
                host: host.to_string(),
                detail: "not reached earlier in this run".to_string(),
            });
        }
        let mut attempt = 0;
        let mut challenged = false;
        loop {
            attempt += 1;
            let mut request = self
                .http
                .request(method.clone(), &url)
                .header(ACCEPT, MANIFEST_MEDIA_TYPES.join(", "));
            if let Some(authorization) = self.lock_authorizations().get(&key) {
                request = request.header(AUTHORIZATION, authorization);
            }
            self.requests.fetch_add(1, Ordering::Relaxed);
            let response = match request.send() {
                Ok(response) => response,
                Err(error) => {
                    let error = transport_error(host, &error);
                    if matches!(error, RegistryError::Network { .. })
                        && attempt < self.options.max_attempts
                    {
                        std::thread::sleep(backoff(attempt));
                        continue;
                    }
                    // Marked while the permit is held, so the next request waiting for it
                    // sees the mark.
                    if matches!(
                        error,
                        RegistryError::Network { .. } | RegistryError::Tls { .. }
                    ) && self.behind_mirror(host)
                    {
                        self.lock_unreachable().insert(host.to_string());
                    }
                    return Err(error);
                }
            };
            let status = response.status().as_u16();
            match status {
                200..=299 => return Ok(response),
                401 if !challenged => {
                    challenged = true;
                    attempt -= 1;
                    let authorization = self.answer_challenge(host, &scope, &response)?;
                    self.lock_authorizations()
                        .insert(key.clone(), authorization);
                }
                401 | 403 => {
                    return Err(RegistryError::Auth {
                        host: host.to_string(),
                        detail: format!(
                            "HTTP {status}{} for {repository}; check the credentials for {host} in your docker or podman config",
                            registry_says(response)
                        ),
                    });
                }
                404 => {
                    return Err(RegistryError::NotFound {
                        host: host.to_string(),
                        reference: format!("{repository}:{reference}")
                            .replace(":sha256:", "@sha256:"),
                    });
                }
                429 | 500..=599 if attempt < self.options.max_attempts => {
                    let wait = retry_after(&response).unwrap_or_else(|| backoff(attempt));
                    std::thread::sleep(wait.min(self.options.max_retry_wait));
                }
                429 => {
                    return Err(RegistryError::RateLimited {
                        host: host.to_string(),
                    });
                }
                other => {
                    let says = registry_says(response);
                    return Err(protocol(host, &format!("HTTP {other}{says}")));
                }
            }
        }
    }

    fn lock_authorizations(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        self.authorizations
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// The `Authorization` value that answers a 401's challenge.
    fn answer_challenge(
        &self,
        host: &str,
        scope: &str,
        response: &Response,
    ) -> Result<String, RegistryError> {
        let auth_error = |detail: String| RegistryError::Auth {
            host: host.to_string(),
            detail,
        };
        let challenge = response
            .headers()
            .get(WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_challenge)
            .ok_or_else(|| auth_error("HTTP 401 without a challenge pinnace understands".into()))?;
        let credential = self.options.credentials.lookup(host).map_err(auth_error)?;
        match (challenge, credential) {
            (Challenge::Basic, Some(Credential::Basic { username, password })) => {
                Ok(basic(&username, password.expose()))
            }
            (Challenge::Basic, _) => Err(auth_error(format!(
                "{host} requires a username and password, and none was found for it in the docker or podman config"
            ))),
            (
                Challenge::Bearer {
                    realm,
                    service,
                    scope: asked,
                },
                credential,
            ) => {
                let scope = asked.unwrap_or_else(|| scope.to_string());
                self.check_realm(host, &realm)?;
                self.bearer_token(
                    host,
                    &realm,
                    service.as_deref(),
                    &scope,
                    credential.as_ref(),
                )
                .map(|token| format!("Bearer {token}"))
            }
        }
    }

    /// A token realm must be HTTPS, or plain HTTP on a host listed in `registries.insecure`:
    /// pinnace speaks plain HTTP to no host the invoker did not list.
    fn check_realm(&self, host: &str, realm: &str) -> Result<(), RegistryError> {
        let refused = |why: String| RegistryError::Auth {
            host: host.to_string(),
            detail: format!("its token service {why}; pinnace sent it nothing"),
        };
        let url = reqwest::Url::parse(realm).map_err(|_| refused("is not at a URL".to_string()))?;
        match url.scheme() {
            "https" => Ok(()),
            "http" if self.is_insecure(&authority(&url)) => Ok(()),
            "http" => Err(refused(format!(
                "is at plain http://{}, which is not in registries.insecure",
                authority(&url)
            ))),
            other => Err(refused(format!("is at a {} URL", verify::printable(other)))),
        }
    }

    fn is_insecure(&self, host: &str) -> bool {
        self.options.insecure.iter().any(|h| h == host)
    }

    /// A token from the registry's token service, anonymous when there is no credential.
    fn bearer_token(
        &self,
        host: &str,
        realm: &str,
        service: Option<&str>,
        scope: &str,
        credential: Option<&Credential>,
    ) -> Result<String, RegistryError> {
        let mut query = vec![("scope", scope)];
        if let Some(service) = service {
            query.push(("service", service));
        }
        let request = match credential {
            Some(Credential::IdentityToken(token)) => {
                let mut form = query.clone();
                form.extend([
                    ("grant_type", "refresh_token"),
                    ("client_id", "pinnace"),
                    ("refresh_token", token.expose()),
                ]);
                self.http.post(realm).form(&form)
            }
            Some(Credential::Basic { username, password }) => self
                .http
                .get(realm)
                .query(&query)
                .header(AUTHORIZATION, basic(username, password.expose())),
            None => self.http.get(realm).query(&query),
        };
        self.requests.fetch_add(1, Ordering::Relaxed);
        let mut response = request.send().map_err(|e| transport_error(host, &e))?;
        let status = response.status();
        if status == 401 || status == 403 {
            return Err(RegistryError::Auth {
                host: host.to_string(),
                detail: format!(
                    "its token service refused the credentials (HTTP {})",
                    status.as_u16()
                ),
            });
        }
        if !status.is_success() {
            return Err(protocol(
                host,
                &format!("HTTP {} from its token service", status.as_u16()),
            ));
        }
        let declared = response.content_length();
        let body = verify::read_bounded(
            &mut response,
            declared,
            verify::MAX_TOKEN_BYTES,
            "a token response",
        )
        .map_err(|what| protocol(host, &what))?;
        let body: serde_json::Value = serde_json::from_slice(&body)
            .map_err(|_| protocol(host, "a token response that is not JSON"))?;
        body.get("token")
            .or_else(|| body.get("access_token"))
            .and_then(|t| t.as_str())
            .map(str::to_string)
            .ok_or_else(|| protocol(host, "a token response without a token"))
    }
}

/// Asked by sha256 digest, a registry must answer with that manifest and no other.
fn is_what_was_asked(
    host: &str,
    reference: &str,
    manifest: Manifest,
) -> Result<Manifest, RegistryError> {
    if reference.starts_with("sha256:") && manifest.digest.to_string() != reference {
        return Err(protocol(host, "a manifest other than the digest asked for"));
    }
    Ok(manifest)
}

/// Redirects followed per request, as Go's client (and so docker) bounds them.
const MAX_REDIRECTS: usize = 10;

/// Follows at most `MAX_REDIRECTS` redirects, and none to plain HTTP on a host that is not
/// listed as insecure (an HTTPS registry must not hand pinnace to a cleartext answer).
fn redirect_policy(insecure: Vec<String>) -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(move |attempt| {
        if attempt.previous().len() >= MAX_REDIRECTS {
            return attempt.error(format!("more than {MAX_REDIRECTS} redirects"));
        }
        let target = authority(attempt.url());
        match attempt.url().scheme() {
            "https" => attempt.follow(),
            "http" if insecure.contains(&target) => attempt.follow(),
            scheme => {
                let why = format!(
                    "a redirect to {scheme}://{target}, which is not in registries.insecure"
                );
                attempt.error(why)
            }
        }
    })
}

/// `host` or `host:port`, as hosts are written in `registries.insecure`.
fn authority(url: &reqwest::Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    }
}

/// The registry's own error code from an error body (read within a bound), as " (CODE)".
fn registry_says(mut response: Response) -> String {
    let declared = response.content_length();
    verify::read_bounded(&mut response, declared, verify::MAX_ERROR_BYTES, "")
        .ok()
        .and_then(|body| verify::error_body_code(&body))
        .map(|code| format!(" ({code})"))
        .unwrap_or_default()
}

/// Docker Hub's API lives on another host than its image names.
fn api_host(registry: &str) -> &str {
    if registry == "docker.io" {
        "registry-1.docker.io"
    } else {
        registry
    }
}

fn basic(username: &str, password: &str) -> String {
    let encoded =
        base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
    format!("Basic {encoded}")
}

/// A response's media type, without parameters.
pub(super) fn content_type(response: &Response) -> String {
    response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or(v).trim().to_string())
        .unwrap_or_default()
}

/// The digest the registry claims for a manifest (`Docker-Content-Digest`).
fn content_digest(response: &Response) -> Option<&str> {
    response
        .headers()
        .get("docker-content-digest")
        .and_then(|v| v.to_str().ok())
}

fn retry_after(response: &Response) -> Option<Duration> {
    let seconds: u64 = response
        .headers()
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(seconds))
}

fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(250 << attempt.min(6))
}

fn protocol(host: &str, what: &str) -> RegistryError {
    RegistryError::Protocol {
        host: host.to_string(),
        detail: format!("sent {what}").replace("sent HTTP", "HTTP"),
    }
}

fn network(host: &str, error: &reqwest::Error) -> RegistryError {
    RegistryError::Network {
        host: host.to_string(),
        detail: error_chain(error),
    }
}

/// Sorts a failed request: a refused redirect is the registry's doing; a peer that answers
/// TLS with something else (a plain-HTTP port) or hangs up is network trouble; a certificate
/// or a TLS alert is TLS trouble.
fn transport_error(host: &str, error: &reqwest::Error) -> RegistryError {
    let chain = error_chain(error);
    let lower = chain.to_ascii_lowercase();
    let not_tls = [
        "invalidcontenttype",
        "corrupt message",
        "eof",
        "connection reset",
    ];
    if error.is_redirect() {
        protocol(host, &verify::printable(&chain))
    } else if error.is_timeout() {
        RegistryError::Network {
            host: host.to_string(),
            detail: "timed out".to_string(),
        }
    } else if not_tls.iter().any(|sign| lower.contains(sign)) {
        RegistryError::Network {
            host: host.to_string(),
            detail: format!(
                "{chain} (it did not answer in TLS; if it serves plain HTTP, list it in registries.insecure)"
            ),
        }
    } else if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake")
    {
        RegistryError::Tls {
            host: host.to_string(),
            detail: format!(
                "{chain} (add the registry's CA to registries.ca_files, or list the host in registries.insecure if it speaks plain HTTP)"
            ),
        }
    } else {
        network(host, error)
    }
}

/// The error and its causes, without the URL (which is in the host already).
fn error_chain(error: &reqwest::Error) -> String {
    let mut parts = Vec::new();
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(error);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !parts.contains(&text) {
            parts.push(text);
        }
        source = cause.source();
    }
    if parts.is_empty() {
        parts.push(error.without_url_ref().to_string());
    }
    parts.join(": ")
}

trait WithoutUrl {
    fn without_url_ref(&self) -> String;
}

impl WithoutUrl for reqwest::Error {
    fn without_url_ref(&self) -> String {
        let text = self.to_string();
        match self.url() {
            Some(url) => text
                .replace(&format!(" ({url})"), "")
                .replace(url.as_str(), ""),
            None => text,
        }
    }
}
