//! A real registry (Debian's `docker-registry`, CNCF distribution 2.8) on 127.0.0.1 for one test.
//!
//! Each instance has its own temp dir (config, storage, certificates, logs) and a free port;
//! it is killed and its dir removed on Drop. Images are pushed with skopeo from OCI layouts the
//! harness builds (`oci_layout.rs`), so no test depends on the internet or a daemon.
#![allow(dead_code)]

use std::fs;
use std::path::Path;
use std::process::Child;

use tempfile::TempDir;

use super::http::{http_request, is_harness_user_agent};
use super::oci_layout::{self, TestImage, sha256_digest};
use super::registry_process::{
    AccessEntry, ReadyProbe, config_yaml, free_port, log_text, read_access_log, spawn,
    token_auth_yaml, wait_ready_with,
};
use super::tls_auth::{TlsFiles, make_tls_files, write_htpasswd};
use super::token_server::TokenServer;
use super::tools::{skopeo, skopeo_ok};

pub struct Registry {
    child: Child,
    port: u16,
    tls: Option<TlsFiles>,
    creds: Option<(String, String)>,
    /// The token service of a `start_token_auth` instance.
    token: Option<TokenServer>,
    /// Last field: removed after `Drop::drop` has killed the process that writes into it.
    dir: TempDir,
}

/// What `Registry::push` pushed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    /// "sha256:…" of what the tag names (the index for `MultiPlatform`); equal to the sha256 of
    /// `skopeo inspect --raw`, which `push` checks.
    pub digest: String,
    /// Per-platform manifest digests, linux/amd64 then linux/arm64 (empty for `SinglePlatform`).
    pub children: Vec<String>,
}

impl Registry {
    /// Plain HTTP on 127.0.0.1:<free port>, filesystem storage in a temp dir, manifest deletion
    /// enabled, access log captured (see `requests`).
    pub fn start() -> Registry {
        Self::launch(Auth::None)
    }

    /// HTTPS (server certificate signed by a harness-made CA, SAN 127.0.0.1 and localhost) with
    /// htpasswd (bcrypt) basic auth for one user. Requests without credentials get 401.
    pub fn start_tls_auth(user: &str, password: &str) -> Registry {
        Self::launch(Auth::Htpasswd(user, password))
    }

    /// Plain HTTP with distribution's token auth: every request without a valid bearer token
    /// gets 401 `Bearer realm="http://127.0.0.1:<token port>/token",service=…,scope=…`, and the
    /// harness's `TokenServer` (see token_server.rs) issues the tokens. `users` get pull, push
    /// and delete with Basic auth at the token service; anonymous requests get pull when
    /// `allow_anonymous_pull`, and otherwise a token without access (then the registry says 401).
    ///
    /// The harness's own skopeo calls log in as the first of `users`, or, when there is none, as
    /// an extra user of its own (`credentials` tells which).
    pub fn start_token_auth(allow_anonymous_pull: bool, users: &[(&str, &str)]) -> Registry {
        Self::launch(Auth::Token {
            allow_anonymous_pull,
            users,
        })
    }

    /// The token service of a `start_token_auth` instance; None otherwise.
    pub fn token_server(&self) -> Option<&TokenServer> {
        self.token.as_ref()
    }

    /// "127.0.0.1:PORT".
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The CA certificate (PEM) to trust for the TLS instance; None for plain HTTP.
    pub fn ca_pem_path(&self) -> Option<&Path> {
        self.tls.as_ref().map(|t| t.ca_pem.as_path())
    }

    /// The user and password the harness pushes with: those of the TLS instance, or (token auth)
    /// the first user or the harness's own; None for plain HTTP without auth.
    pub fn credentials(&self) -> Option<(&str, &str)> {
        self.creds.as_ref().map(|(u, p)| (u.as_str(), p.as_str()))
    }

    /// One single-platform image `team/<name>:1` per name (seeded by it); their digests.
    pub fn push_team_images(&self, names: &[&str]) -> Vec<String> {
        names
            .iter()
            .map(|name| {
                let repo = format!("team/{name}");
                self.push(&repo, "1", TestImage::SinglePlatform, name)
                    .digest
            })
            .collect()
    }

    /// Builds an OCI layout for `image` from `seed` and pushes it with `skopeo copy --all
    /// --preserve-digests` to `host/repo:tag`; panics unless the registry then serves exactly
    /// the bytes whose digest the layout predicted.
    pub fn push(&self, repo: &str, tag: &str, image: TestImage, seed: &str) -> Pushed {
        let layout = oci_layout::build(tag, image, seed);
        let source = format!("oci:{}:{tag}", layout.dir.path().display());
        let dest = format!("docker://{}/{repo}:{tag}", self.host());
        let mut args = vec!["copy", "--all", "--preserve-digests", "--retry-times", "2"];
        let auth = self.skopeo_auth("--dest-", true);
        args.extend(auth.iter().map(String::as_str));
        args.extend([source.as_str(), dest.as_str()]);
        skopeo_ok(&args);

        let raw = self
            .inspect_raw(&format!("{repo}:{tag}"))
            .unwrap_or_else(|e| panic!("pushed {dest} but cannot inspect it: {e}"));
        assert_eq!(
            sha256_digest(&raw),
            layout.digest,
            "the registry serves other bytes for {dest} than were pushed:\n{}",
            String::from_utf8_lossy(&raw)
        );
        Pushed {
            digest: layout.digest,
            children: layout.children,
        }
    }

    /// `skopeo inspect --raw` of `repo:tag` or `repo@digest`, with this instance's credentials
    /// and CA: the manifest bytes exactly as served, or skopeo's error text.
    pub fn inspect_raw(&self, reference: &str) -> Result<Vec<u8>, String> {
        self.inspect_raw_with(reference, true)
    }

    /// Like `inspect_raw`, but anonymous (no credentials at all).
    pub fn inspect_raw_anonymous(&self, reference: &str) -> Result<Vec<u8>, String> {
        self.inspect_raw_with(reference, false)
    }

    fn inspect_raw_with(&self, reference: &str, with_creds: bool) -> Result<Vec<u8>, String> {
        let image = format!("docker://{}/{reference}", self.host());
        let mut args = vec!["inspect", "--raw", "--retry-times", "0"];
        let auth = self.skopeo_auth("--", with_creds);
        args.extend(auth.iter().map(String::as_str));
        args.push(&image);
        let out = skopeo(&args);
        match out.status.success() {
            true => Ok(out.stdout),
            false => Err(String::from_utf8_lossy(&out.stderr).into_owned()),
        }
    }

    /// skopeo flags (`prefix` is "--" or "--dest-") for TLS and credentials: the instance's CA
    /// via a cert dir for HTTPS, `--tls-verify=false` (which allows plain HTTP) otherwise, and
    /// an empty auth file so no credentials on the machine are ever used.
    fn skopeo_auth(&self, prefix: &str, with_creds: bool) -> Vec<String> {
        let mut args = vec![format!(
            "--authfile={}",
            self.dir.path().join("empty-auth.json").display()
        )];
        match &self.tls {
            Some(tls) => args.push(format!("{prefix}cert-dir={}", tls.cert_dir.display())),
            None => args.push(format!("{prefix}tls-verify=false")),
        }
        match (&self.creds, with_creds) {
            (Some((user, password)), true) => args.push(format!("{prefix}creds={user}:{password}")),
            _ => args.push(format!("{prefix}no-creds")),
        }
        args
    }

    /// Deletes the manifest `digest` of `repo` (and with it every tag naming it); panics unless
    /// the registry accepts. Plain HTTP sends exactly one `DELETE /v2/<repo>/manifests/<digest>`;
    /// the TLS and token instances go through `skopeo delete`, which also GETs the manifest first.
    pub fn delete_manifest(&self, repo: &str, digest: &str) {
        if self.tls.is_some() || self.token.is_some() {
            let image = format!("docker://{}/{repo}@{digest}", self.host());
            let mut args = vec!["delete", "--retry-times", "0"];
            let auth = self.skopeo_auth("--", true);
            args.extend(auth.iter().map(String::as_str));
            args.push(&image);
            skopeo_ok(&args);
            return;
        }
        let path = format!("/v2/{repo}/manifests/{digest}");
        let response = http_request(&self.host(), "DELETE", &path, &[], b"")
            .unwrap_or_else(|e| panic!("DELETE {path}: {e}"));
        assert_eq!(
            response.status,
            202,
            "DELETE {path} was refused: {}",
            response.body_text()
        );
    }

    /// Every request the registry logged so far, as (method, path) with any query string, in
    /// order, e.g. ("HEAD", "/v2/team/app/manifests/1.0"). Includes the harness's own traffic
    /// (readiness probe, skopeo pushes); see `requests_excluding_harness`.
    pub fn requests(&self) -> Vec<(String, String)> {
        self.access_log()
            .into_iter()
            .map(|entry| (entry.method, entry.path))
            .collect()
    }

    /// `requests` without those made by the harness itself: its HTTP helper and skopeo
    /// (containers/image), told apart by their User-Agent.
    pub fn requests_excluding_harness(&self) -> Vec<(String, String)> {
        self.access_log()
            .into_iter()
            .filter(|e| !is_harness_user_agent(&e.user_agent))
            .map(|entry| (entry.method, entry.path))
            .collect()
    }

    /// How many `.sig` requests (cosign signature lookups) pinnace made, harness requests aside.
    pub fn signature_requests(&self) -> usize {
        self.requests_excluding_harness()
            .iter()
            .filter(|(_, path)| path.contains(".sig"))
            .count()
    }

    /// The registry's stderr log and access log, for failure messages.
    pub fn log_text(&self) -> String {
        log_text(self.dir.path())
    }

    fn access_log(&self) -> Vec<AccessEntry> {
        read_access_log(self.dir.path())
    }

    fn launch(auth: Auth) -> Registry {
        let dir = TempDir::new().expect("temp dir for registry");
        fs::write(dir.path().join("empty-auth.json"), "{}").unwrap();
        let (mut tls, mut creds, mut token) = (None, None, None);
        match auth {
            Auth::None => {}
            Auth::Htpasswd(user, password) => {
                write_htpasswd(&dir.path().join("htpasswd"), user, password);
                tls = Some(make_tls_files(&dir.path().join("tls")));
                creds = Some((user.to_string(), password.to_string()));
            }
            Auth::Token {
                allow_anonymous_pull,
                users,
            } => {
                let mut all: Vec<(&str, &str)> = users.to_vec();
                let own = format!("pw-{}", std::process::id());
                if all.is_empty() {
                    all.push((HARNESS_TOKEN_USER, &own));
                }
                creds = Some((all[0].0.to_string(), all[0].1.to_string()));
                token = Some(TokenServer::start(
                    &dir.path().join("token"),
                    TOKEN_SERVICE,
                    TOKEN_ISSUER,
                    allow_anonymous_pull,
                    &all,
                ));
            }
        }
        let probe = match (&tls, &token) {
            (Some(_), _) => ReadyProbe::Tls,
            (None, Some(_)) => ReadyProbe::BearerChallenge,
            (None, None) => ReadyProbe::Open,
        };
        // The free port can be taken between our probe and the registry's bind: retry once.
        let mut failure = String::new();
        for _attempt in 0..2 {
            let port = free_port();
            let mut config = config_yaml(dir.path(), port, tls.as_ref());
            if let Some(token) = &token {
                config.push_str(&token_auth_yaml(
                    &token.realm(),
                    token.service(),
                    token.issuer(),
                    &token.root_cert_bundle(),
                ));
            }
            fs::write(dir.path().join("config.yml"), config).unwrap();
            let mut child = spawn(dir.path());
            match wait_ready_with(&mut child, dir.path(), port, probe) {
                Ok(()) => {
                    return Registry {
                        child,
                        port,
                        tls,
                        creds,
                        token,
                        dir,
                    };
                }
                Err(why) => failure = format!("{why}\n{}", log_text(dir.path())),
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("docker-registry did not come up:\n{failure}");
    }
}

/// The `service` (token audience) and `issuer` of `start_token_auth` instances.
pub const TOKEN_SERVICE: &str = "pinnace-test-registry";
pub const TOKEN_ISSUER: &str = "pinnace-test-token-issuer";
/// The harness's own token-service user when `start_token_auth` is given no users.
pub const HARNESS_TOKEN_USER: &str = "pinnace-harness";

enum Auth<'a> {
    None,
    Htpasswd(&'a str, &'a str),
    Token {
        allow_anonymous_pull: bool,
        users: &'a [(&'a str, &'a str)],
    },
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
