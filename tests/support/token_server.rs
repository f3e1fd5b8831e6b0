//! A small token service (the `realm` of a registry's `Bearer` challenge) on 127.0.0.1, for
//! `Registry::start_token_auth`: it answers `GET /token?service=…&scope=…` with a JWT that
//! distribution 2.8's `auth: token:` access controller accepts.
//!
//! What distribution checks (registry/auth/token/token.go, accesscontroller.go at v2.8.2), and
//! so what the tokens carry:
//! - `iss` equal to the configured `issuer`, `aud` (a string) equal to the configured
//!   `service`, `exp`/`nbf` within 60 s of leeway of now;
//! - a header `x5c` whose first entry is the base64 (standard, padded) DER of the signing
//!   certificate, which must verify up to a certificate of `rootcertbundle` (here: a harness
//!   CA, P-256, signing an RSA-2048 leaf);
//! - an RS256 signature (PKCS#1 v1.5 over SHA-256, made by `openssl dgst -sha256 -sign`) over
//!   `base64url(header).base64url(claims)`;
//! - `access: [{type, name, actions}]` covering every action of the request (`pull` for GET and
//!   HEAD, `pull`+`push` for uploads, `delete` for DELETE); `/v2/` itself needs a valid token
//!   with any access.
//!
//! Two ways to ask, as in the distribution token spec: `GET /token?service=…&scope=…`
//! (anonymous, or `Basic` credentials), answered `{"token", "access_token", "expires_in"}`;
//! and the OAuth2 form `POST /token` (`grant_type=refresh_token` with a refresh token added by
//! `add_refresh_token`, or `grant_type=password` with `username`/`password`), answered
//! `{"access_token", "expires_in", "scope"}` only.
//!
//! Who gets what: a configured user (Basic credentials, password grant, or one of its
//! refresh tokens) gets every `pull`, `push`, `delete` and `*` asked for; wrong credentials
//! (or any other `Authorization` scheme) get `401`; an anonymous request gets `pull` when
//! anonymous pulls are allowed, and otherwise a valid token with no access at all (as Docker
//! Hub does for a private repository), which the registry then refuses.
//!
//! Every request is recorded (`requests`): method, path, scopes, service, grant type, the
//! `Authorization` scheme and Basic user name, User-Agent and the status answered. Never a
//! password or a token.
//!
//! One thread per connection, one request per connection (`Connection: close`), bounded like
//! the proxy; stopped on Drop.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::json;

use super::http::{find, is_harness_user_agent};
use super::tls_auth::openssl;

const MAX_CONNECTIONS: usize = 64;
const IO_TIMEOUT: Duration = Duration::from_secs(10);
const MAX_HEAD: usize = 64 * 1024;
/// Lifetime of an issued token.
const TOKEN_SECONDS: u64 = 300;

/// The actions a configured user may be granted ("*", which distribution reads as every
/// action, is what containers/image asks for to delete).
const USER_ACTIONS: [&str; 4] = ["pull", "push", "delete", "*"];

/// One request the token service received. Secrets are never recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRequest {
    pub method: String,
    /// The path without the query string, e.g. "/token".
    pub path: String,
    /// Every `scope` asked for, e.g. ["repository:team/app:pull"] (split on spaces too).
    pub scopes: Vec<String>,
    pub service: Option<String>,
    /// `grant_type` of a POST (e.g. "refresh_token"); None for GET.
    pub grant_type: Option<String>,
    /// The scheme of the `Authorization` header ("Basic", "Bearer", …); None when absent.
    pub auth_scheme: Option<String>,
    /// The user name of a `Basic` header (never the password).
    pub basic_user: Option<String>,
    pub user_agent: String,
    /// The status the token service answered with.
    pub status: u16,
}

impl TokenRequest {
    pub fn is_anonymous(&self) -> bool {
        self.auth_scheme.is_none()
    }
}

/// Keys and certificates: a CA (the registry's `rootcertbundle`) and the RSA leaf that signs.
struct SigningKeys {
    dir: PathBuf,
    /// base64 (standard) DER of the leaf certificate, the `x5c` entry.
    leaf_der_base64: String,
}

struct Settings {
    service: String,
    issuer: String,
    allow_anonymous_pull: bool,
    users: Vec<(String, String)>,
    /// (refresh token, user) pairs the OAuth2 POST accepts.
    refresh_tokens: Mutex<Vec<(String, String)>>,
    keys: SigningKeys,
}

pub struct TokenServer {
    addr: SocketAddr,
    settings: Arc<Settings>,
    log: Arc<Mutex<Vec<TokenRequest>>>,
    stop: Arc<AtomicBool>,
    accept_thread: Option<JoinHandle<()>>,
}

const CA_CONFIG: &str = "\
[req]
distinguished_name = dn
prompt = no
x509_extensions = v3_ca
[dn]
CN = pinnace test token CA
[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
";

const LEAF_EXTENSIONS: &str = "\
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
";

impl TokenServer {
    /// Makes the signing PKI under `dir` (which must outlive the server) and starts serving.
    pub fn start(
        dir: &Path,
        service: &str,
        issuer: &str,
        allow_anonymous_pull: bool,
        users: &[(&str, &str)],
    ) -> TokenServer {
        let keys = make_signing_keys(dir);
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind token server listener");
        let addr = listener.local_addr().unwrap();
        let settings = Arc::new(Settings {
            service: service.to_string(),
            issuer: issuer.to_string(),
            allow_anonymous_pull,
            users: users
                .iter()
                .map(|(u, p)| (u.to_string(), p.to_string()))
                .collect(),
            refresh_tokens: Mutex::new(Vec::new()),
            keys,
        });
        let log = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let accept_thread = {
            let (settings, log, stop) = (settings.clone(), log.clone(), stop.clone());
            let active = Arc::new(AtomicUsize::new(0));
            let counter = Arc::new(AtomicUsize::new(0));
            thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    if active.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
                        active.fetch_sub(1, Ordering::SeqCst);
                        continue;
                    }
                    let (settings, log, active, counter) = (
                        settings.clone(),
                        log.clone(),
                        active.clone(),
                        counter.clone(),
                    );
                    thread::spawn(move || {
                        let _ = serve(stream, &settings, &log, &counter);
                        active.fetch_sub(1, Ordering::SeqCst);
                    });
                }
            })
        };
        TokenServer {
            addr,
            settings,
            log,
            stop,
            accept_thread: Some(accept_thread),
        }
    }

    /// "127.0.0.1:PORT".
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// "http://127.0.0.1:PORT/token", the registry's `realm`.
    pub fn realm(&self) -> String {
        format!("http://{}/token", self.addr)
    }

    pub fn service(&self) -> &str {
        &self.settings.service
    }

    pub fn issuer(&self) -> &str {
        &self.settings.issuer
    }

    /// Lets `POST /token` with `grant_type=refresh_token&refresh_token=<token>` act as `user`
    /// (a docker `identitytoken`); `user` must be one of the configured users.
    pub fn add_refresh_token(&self, token: &str, user: &str) {
        assert!(
            self.settings.users.iter().any(|(u, _)| u == user),
            "{user} is not a user of this token server"
        );
        self.settings
            .refresh_tokens
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((token.to_string(), user.to_string()));
    }

    /// The CA certificate (PEM) the registry trusts for token signatures (`rootcertbundle`).
    pub fn root_cert_bundle(&self) -> PathBuf {
        self.settings.keys.dir.join("token-ca.pem")
    }

    /// Every request so far, in order of arrival, the harness's own (skopeo) included.
    pub fn requests(&self) -> Vec<TokenRequest> {
        self.log.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// `requests` without those of the harness itself (skopeo pushes and inspects).
    pub fn requests_excluding_harness(&self) -> Vec<TokenRequest> {
        self.requests()
            .into_iter()
            .filter(|r| !is_harness_user_agent(&r.user_agent))
            .collect()
    }
}

impl Drop for TokenServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(thread) = self.accept_thread.take() {
            let _ = thread.join();
        }
    }
}

fn make_signing_keys(dir: &Path) -> SigningKeys {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("token-ca.cnf"), CA_CONFIG).unwrap();
    std::fs::write(dir.join("token-leaf.ext"), LEAF_EXTENSIONS).unwrap();
    #[rustfmt::skip]
    openssl(dir, &[
        "req", "-x509", "-config", "token-ca.cnf", "-days", "7", "-newkey", "ec",
        "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", "token-ca.key", "-out", "token-ca.pem",
    ]);
    #[rustfmt::skip]
    openssl(dir, &[
        "req", "-new", "-config", "token-ca.cnf", "-subj", "/CN=pinnace test token signer",
        "-newkey", "rsa:2048", "-nodes", "-keyout", "token-signer.key", "-out", "token-signer.csr",
    ]);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let serial = format!("0x{:x}{:x}", nanos, std::process::id());
    #[rustfmt::skip]
    openssl(dir, &[
        "x509", "-req", "-in", "token-signer.csr", "-CA", "token-ca.pem", "-CAkey", "token-ca.key",
        "-set_serial", &serial, "-days", "7", "-extfile", "token-leaf.ext",
        "-out", "token-signer.pem",
    ]);
    #[rustfmt::skip]
    openssl(dir, &[
        "x509", "-in", "token-signer.pem", "-outform", "DER", "-out", "token-signer.der",
    ]);
    let der = std::fs::read(dir.join("token-signer.der")).unwrap();
    SigningKeys {
        dir: dir.to_path_buf(),
        leaf_der_base64: STANDARD.encode(der),
    }
}

fn serve(
    mut client: TcpStream,
    settings: &Settings,
    log: &Mutex<Vec<TokenRequest>>,
    counter: &AtomicUsize,
) -> std::io::Result<()> {
    client.set_read_timeout(Some(IO_TIMEOUT))?;
    client.set_write_timeout(Some(IO_TIMEOUT))?;
    let mut buf = Vec::new();
    let head_end = loop {
        if let Some(end) = find(&buf, b"\r\n\r\n") {
            break end;
        }
        if buf.len() > MAX_HEAD {
            return Ok(());
        }
        let mut chunk = [0u8; 4096];
        let n = client.read(&mut chunk)?;
        if n == 0 {
            return Ok(()); // e.g. the wake-up connect of Drop
        }
        buf.extend_from_slice(&chunk[..n]);
        if !buf[0].is_ascii_uppercase() {
            return Ok(()); // not HTTP (a TLS handshake): close at once
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap_or_default().split(' ');
    let method = request_line.next().unwrap_or_default().to_string();
    let target = request_line.next().unwrap_or_default().to_string();
    let headers: HashMap<String, String> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();

    // A POST's form body (Content-Length framing, as every OAuth2 client sends it).
    let mut body = buf[head_end + 4..].to_vec();
    let length: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    if length > MAX_HEAD {
        return Ok(());
    }
    while body.len() < length {
        let mut chunk = [0u8; 4096];
        let n = client.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }

    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let mut params = parse_query(query);
    if method == "POST" {
        params.extend(parse_query(&String::from_utf8_lossy(&body)));
    }
    let param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let scopes: Vec<String> = params
        .iter()
        .filter(|(k, _)| k == "scope")
        .flat_map(|(_, v)| v.split(' ').filter(|s| !s.is_empty()).map(String::from))
        .collect();
    let service = param("service");
    let authorization = headers.get("authorization");
    let auth_scheme = authorization.map(|a| a.split(' ').next().unwrap_or_default().to_string());
    let basic = authorization.and_then(|a| decode_basic(a));
    let grant_type = (method == "POST").then(|| param("grant_type").unwrap_or_default());

    let caller = match (method.as_str(), grant_type.as_deref()) {
        ("GET", _) => match (authorization, &basic) {
            (None, _) => Some(Caller::Anonymous),
            (Some(_), Some((user, password))) => Some(settings.login(user, password)),
            (Some(_), None) => Some(Caller::Refused),
        },
        ("POST", Some("refresh_token")) => {
            let token = param("refresh_token").unwrap_or_default();
            let user = settings
                .refresh_tokens
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .iter()
                .find(|(t, _)| *t == token)
                .map(|(_, u)| u.clone());
            Some(user.map_or(Caller::Refused, Caller::User))
        }
        ("POST", Some("password")) => {
            let user = param("username").unwrap_or_default();
            Some(settings.login(&user, &param("password").unwrap_or_default()))
        }
        _ => None,
    };
    let (status, body) = if path != "/token" {
        (404, json!({"details": "not found"}).to_string())
    } else {
        match caller {
            None => (400, json!({"error": "unsupported_grant_type"}).to_string()),
            Some(Caller::Refused) => (
                401,
                json!({"details": "incorrect username or password"}).to_string(),
            ),
            Some(caller) => {
                let (subject, access) = grant(settings, &caller, &scopes);
                let jti = counter.fetch_add(1, Ordering::SeqCst);
                match sign_token(settings, &subject, access, jti) {
                    Ok(token) if method == "POST" => (200, oauth_response(&token, &scopes)),
                    Ok(token) => (200, token_response(&token)),
                    Err(why) => (500, json!({ "details": why }).to_string()),
                }
            }
        }
    };
    log.lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(TokenRequest {
            method,
            path: path.to_string(),
            scopes,
            service,
            grant_type,
            auth_scheme,
            basic_user: basic.map(|(user, _)| user),
            user_agent: headers.get("user-agent").cloned().unwrap_or_default(),
            status,
        });

    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        _ => "Internal Server Error",
    };
    let mut response = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    if status == 401 {
        response.push_str("WWW-Authenticate: Basic realm=\"pinnace test token service\"\r\n");
    }
    response.push_str("\r\n");
    response.push_str(&body);
    client.write_all(response.as_bytes())?;
    client.flush()?;
    let _ = client.shutdown(Shutdown::Both);
    Ok(())
}

/// Who is asking, once the credentials (if any) are checked.
enum Caller {
    Anonymous,
    User(String),
    Refused,
}

impl Settings {
    fn login(&self, user: &str, password: &str) -> Caller {
        if self.users.iter().any(|(u, p)| u == user && p == password) {
            Caller::User(user.to_string())
        } else {
            Caller::Refused
        }
    }
}

/// The subject and the `access` claim to issue to `caller` (not `Refused`).
fn grant(
    settings: &Settings,
    caller: &Caller,
    scopes: &[String],
) -> (String, Vec<serde_json::Value>) {
    let (subject, allowed): (String, &[&str]) = match caller {
        Caller::Anonymous if settings.allow_anonymous_pull => (String::new(), &["pull"]),
        Caller::Anonymous | Caller::Refused => (String::new(), &[]),
        Caller::User(user) => (user.clone(), &USER_ACTIONS),
    };
    let mut access = Vec::new();
    for scope in scopes {
        let Some((kind, rest)) = scope.split_once(':') else {
            continue;
        };
        let Some((name, actions)) = rest.rsplit_once(':') else {
            continue;
        };
        if kind != "repository" {
            continue;
        }
        let granted: Vec<&str> = actions.split(',').filter(|a| allowed.contains(a)).collect();
        if !granted.is_empty() {
            access.push(json!({"type": kind, "name": name, "actions": granted}));
        }
    }
    (subject, access)
}

/// The OAuth2 answer: `access_token` only, no `token`.
fn oauth_response(token: &str, scopes: &[String]) -> String {
    json!({
        "access_token": token,
        "expires_in": TOKEN_SECONDS,
        "scope": scopes.join(" "),
    })
    .to_string()
}

fn token_response(token: &str) -> String {
    json!({
        "token": token,
        "access_token": token,
        "expires_in": TOKEN_SECONDS,
    })
    .to_string()
}

/// A JWT (RS256, `x5c` = the leaf certificate) signed by the openssl CLI.
fn sign_token(
    settings: &Settings,
    subject: &str,
    access: Vec<serde_json::Value>,
    jti: usize,
) -> Result<String, String> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let header = json!({
        "typ": "JWT",
        "alg": "RS256",
        "x5c": [settings.keys.leaf_der_base64],
    });
    let claims = json!({
        "iss": settings.issuer,
        "sub": subject,
        "aud": settings.service,
        "exp": now + TOKEN_SECONDS,
        "nbf": now - 5,
        "iat": now,
        "jti": format!("pinnace-test-{}-{jti}", std::process::id()),
        "access": access,
    });
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let mut child = Command::new("openssl")
        .args(["dgst", "-sha256", "-sign", "token-signer.key"])
        .current_dir(&settings.keys.dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run openssl: {e}"))?;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(signing_input.as_bytes())
        .map_err(|e| format!("cannot write to openssl: {e}"))?;
    let out = child
        .wait_with_output()
        .map_err(|e| format!("openssl: {e}"))?;
    if !out.status.success() || out.stdout.is_empty() {
        return Err(format!(
            "openssl dgst -sign failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(&out.stdout)
    ))
}

/// `user`, `password` of a `Basic` header.
fn decode_basic(authorization: &str) -> Option<(String, String)> {
    let (scheme, encoded) = authorization.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

/// `application/x-www-form-urlencoded` pairs, in order (keys may repeat).
fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => match bytes.get(i + 1..i + 3) {
                Some(hex) if hex.iter().all(u8::is_ascii_hexdigit) => {
                    let hex = std::str::from_utf8(hex).unwrap();
                    out.push(u8::from_str_radix(hex, 16).unwrap());
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
