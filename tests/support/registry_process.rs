//! How one `docker-registry` process is configured, started and probed, and how its access log
//! is read. `registry.rs` holds the public `Registry` built on these.
#![allow(dead_code)]

use std::fs::{self, File};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use super::http::http_get;
use super::tls_auth::TlsFiles;

/// How long a starting registry may take to answer before the test fails with its log.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// How `wait_ready_with` tells that the registry is up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadyProbe {
    /// Plain HTTP without auth: `GET /v2/` is 200.
    Open,
    /// HTTPS: the registry logged "listening on" its address, and the port accepts.
    Tls,
    /// Plain HTTP with token auth: `GET /v2/` is 401 with a `Bearer` challenge.
    BearerChallenge,
}

/// Polls until the registry answers (plain: `GET /v2/` is 200; TLS: the port accepts), failing
/// early if the process exits (a port taken in the meantime, a config error).
pub fn wait_ready(child: &mut Child, log_dir: &Path, port: u16, tls: bool) -> Result<(), String> {
    let probe = if tls {
        ReadyProbe::Tls
    } else {
        ReadyProbe::Open
    };
    wait_ready_with(child, log_dir, port, probe)
}

/// `wait_ready` for any `ReadyProbe`.
pub fn wait_ready_with(
    child: &mut Child,
    log_dir: &Path,
    port: u16,
    probe: ReadyProbe,
) -> Result<(), String> {
    let host = format!("127.0.0.1:{port}");
    let deadline = Instant::now() + START_TIMEOUT;
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("docker-registry exited early ({status})"));
        }
        let ready = match probe {
            // std has no TLS client: the registry's own "listening on" line proves the port is
            // its own (not another process that took it first), and a connect that it serves.
            ReadyProbe::Tls => {
                let log = fs::read_to_string(log_dir.join("registry.log")).unwrap_or_default();
                log.contains(&format!("listening on {host}")) && TcpStream::connect(&host).is_ok()
            }
            ReadyProbe::Open => http_get(&host, "/v2/").is_ok_and(|r| r.status == 200),
            ReadyProbe::BearerChallenge => http_get(&host, "/v2/").is_ok_and(|r| {
                r.status == 401
                    && r.header("www-authenticate")
                        .is_some_and(|v| v.starts_with("Bearer "))
            }),
        };
        if ready {
            return Ok(());
        }
        sleep(Duration::from_millis(50));
    }
    Err(format!("no answer on {host} after {START_TIMEOUT:?}"))
}

/// The registry's stderr log and access log, for failure messages.
pub fn log_text(dir: &Path) -> String {
    let read = |name| fs::read_to_string(dir.join(name)).unwrap_or_default();
    format!(
        "--- registry.log ---\n{}--- access.log ---\n{}",
        read("registry.log"),
        read("access.log")
    )
}

/// A port that was free a moment ago (the small race is handled by `Registry`'s one retry).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().unwrap().port()
}

/// Starts `docker-registry serve DIR/config.yml`, logs into DIR.
pub fn spawn(dir: &Path) -> Child {
    let mut command = Command::new("docker-registry");
    command
        .arg("serve")
        .arg(dir.join("config.yml"))
        .current_dir(dir)
        .stdin(Stdio::null())
        // distribution writes the access log to stdout and everything else to stderr.
        .stdout(File::create(dir.join("access.log")).unwrap())
        .stderr(File::create(dir.join("registry.log")).unwrap());
    // REGISTRY_* variables override the config file; one set on the machine (podman's
    // REGISTRY_AUTH_FILE, say) must not change the test registry.
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("REGISTRY_") {
            command.env_remove(key);
        }
    }
    command
        .spawn()
        .expect("start docker-registry (install it: scripts/install-test-deps.sh)")
}

/// The registry config: storage and logs in `dir`, deletion on, TLS + htpasswd when given.
pub fn config_yaml(dir: &Path, port: u16, tls: Option<&TlsFiles>) -> String {
    let quoted = |p: PathBuf| serde_json::to_string(&p.to_string_lossy()).unwrap();
    let mut yaml = format!(
        "version: 0.1
log:
  level: info
  formatter: text
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: {storage}
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:{port}
  secret: pinnace-test-harness
",
        storage = quoted(dir.join("storage")),
    );
    if let Some(tls) = tls {
        yaml.push_str(&format!(
            "  tls:\n    certificate: {}\n    key: {}\nauth:\n  htpasswd:\n    realm: pinnace-test\n    path: {}\n",
            quoted(tls.server_cert.clone()),
            quoted(tls.server_key.clone()),
            quoted(dir.join("htpasswd")),
        ));
    }
    yaml
}

/// The `auth:` section for distribution's token access controller (to append to `config_yaml`
/// of a plain-HTTP instance): 401 with `Bearer realm=…,service=…,scope=…` without a valid token.
pub fn token_auth_yaml(
    realm: &str,
    service: &str,
    issuer: &str,
    root_cert_bundle: &Path,
) -> String {
    let quoted = |s: &str| serde_json::to_string(s).unwrap();
    format!(
        "auth:\n  token:\n    realm: {}\n    service: {}\n    issuer: {}\n    rootcertbundle: {}\n",
        quoted(realm),
        quoted(service),
        quoted(issuer),
        quoted(&root_cert_bundle.to_string_lossy()),
    )
}

/// One line of the access log, Apache combined format:
/// `127.0.0.1 - - [date] "GET /v2/ HTTP/1.1" 200 2 "referer" "user agent"`.
pub struct AccessEntry {
    pub method: String,
    pub path: String,
    pub user_agent: String,
}

impl AccessEntry {
    pub fn parse(line: &str) -> Option<AccessEntry> {
        let quoted: Vec<&str> = line.split('"').skip(1).step_by(2).collect();
        let mut request = quoted.first()?.split(' ');
        let method = request.next()?.to_string();
        let path = request.next()?.to_string();
        request.next().filter(|v| v.starts_with("HTTP/"))?;
        let user_agent = quoted.last().unwrap_or(&"").to_string();
        Some(AccessEntry {
            method,
            path,
            user_agent,
        })
    }
}

/// Parsed lines of `dir/access.log`, once the file has stopped growing.
pub fn read_access_log(dir: &Path) -> Vec<AccessEntry> {
    // The registry writes a line when a handler returns, which for large responses can be
    // a moment after the client has them: wait until the file stops growing (bounded).
    let path = dir.join("access.log");
    let mut text = fs::read_to_string(&path).unwrap_or_default();
    for _ in 0..20 {
        sleep(Duration::from_millis(25));
        let again = fs::read_to_string(&path).unwrap_or_default();
        if again == text {
            break;
        }
        text = again;
    }
    text.lines().filter_map(AccessEntry::parse).collect()
}
