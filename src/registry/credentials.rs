//! Registry credentials, found where `docker` and `podman` keep them: `REGISTRY_AUTH_FILE`,
//! the containers `auth.json`, and `$DOCKER_CONFIG/config.json` (or `~/.docker/config.json`),
//! each with `auths`, `credHelpers` and `credsStore`.
//!
//! A [`Secret`] never prints itself, so no credential can reach output, logs or errors.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine;
use serde_json::Value;

/// A password or token. Its `Debug` and `Display` print nothing of it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    Basic {
        username: String,
        password: Secret,
    },
    /// An identity token (a refresh token for the registry's token service).
    IdentityToken(Secret),
}

/// The auth files to consult, in order.
#[derive(Debug, Clone, Default)]
pub struct CredentialStore {
    files: Vec<PathBuf>,
}

impl CredentialStore {
    /// The files docker and podman would read, from the environment.
    pub fn from_environment() -> CredentialStore {
        let env = |name| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let mut files = Vec::new();
        if let Some(file) = env("REGISTRY_AUTH_FILE") {
            files.push(file);
        }
        if let Some(runtime) = env("XDG_RUNTIME_DIR") {
            files.push(runtime.join("containers/auth.json"));
        }
        if let Some(config) =
            env("XDG_CONFIG_HOME").or_else(|| env("HOME").map(|h| h.join(".config")))
        {
            files.push(config.join("containers/auth.json"));
        }
        match env("DOCKER_CONFIG") {
            Some(dir) => files.push(dir.join("config.json")),
            None => {
                if let Some(home) = env("HOME") {
                    files.push(home.join(".docker/config.json"));
                }
            }
        }
        CredentialStore { files }
    }

    pub fn with_files(files: Vec<PathBuf>) -> CredentialStore {
        CredentialStore { files }
    }

    /// The credential for a registry host, if any file names one. Errors describe the file
    /// or helper that failed, never the secret.
    pub fn lookup(&self, host: &str) -> Result<Option<Credential>, String> {
        for file in &self.files {
            let Ok(text) = std::fs::read_to_string(file) else {
                continue;
            };
            let config: Value = serde_json::from_str(&text)
                .map_err(|e| format!("{} is not valid JSON: {e}", file.display()))?;
            if let Some(credential) = lookup_in(&config, host, file)? {
                return Ok(Some(credential));
            }
        }
        Ok(None)
    }
}

/// The keys a host may be stored under (Docker Hub has several spellings).
fn host_keys(host: &str) -> Vec<String> {
    let mut keys = vec![
        host.to_string(),
        format!("https://{host}"),
        format!("http://{host}"),
    ];
    if host == "docker.io" || host == "registry-1.docker.io" || host == "index.docker.io" {
        keys.extend(
            [
                "https://index.docker.io/v1/",
                "index.docker.io",
                "docker.io",
                "registry-1.docker.io",
            ]
            .map(String::from),
        );
    }
    keys
}

fn lookup_in(config: &Value, host: &str, file: &Path) -> Result<Option<Credential>, String> {
    let keys = host_keys(host);
    if let Some(helpers) = config.get("credHelpers").and_then(Value::as_object)
        && let Some(helper) = keys
            .iter()
            .find_map(|k| helpers.get(k))
            .and_then(Value::as_str)
    {
        return run_helper(helper, host);
    }
    if let Some(auths) = config.get("auths").and_then(Value::as_object)
        && let Some(entry) = keys.iter().find_map(|k| auths.get(k))
        && let Some(credential) = decode_auth_entry(entry, host, file)?
    {
        return Ok(Some(credential));
    }
    if let Some(store) = config.get("credsStore").and_then(Value::as_str) {
        return run_helper(store, host);
    }
    Ok(None)
}

fn decode_auth_entry(entry: &Value, host: &str, file: &Path) -> Result<Option<Credential>, String> {
    if let Some(token) = entry
        .get("identitytoken")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
    {
        return Ok(Some(Credential::IdentityToken(Secret(token.to_string()))));
    }
    if let (Some(username), Some(password)) = (
        entry.get("username").and_then(Value::as_str),
        entry.get("password").and_then(Value::as_str),
    ) {
        return Ok(Some(Credential::Basic {
            username: username.to_string(),
            password: Secret(password.to_string()),
        }));
    }
    let Some(auth) = entry
        .get("auth")
        .and_then(Value::as_str)
        .filter(|a| !a.is_empty())
    else {
        return Ok(None);
    };
    let invalid = || {
        format!(
            "the `auth` entry for {host} in {} is not base64 `user:password`",
            file.display()
        )
    };
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(auth.trim())
        .map_err(|_| invalid())?;
    let decoded = String::from_utf8(decoded).map_err(|_| invalid())?;
    let (username, password) = decoded.split_once(':').ok_or_else(invalid)?;
    Ok(Some(Credential::Basic {
        username: username.to_string(),
        password: Secret(password.to_string()),
    }))
}

/// Runs `docker-credential-NAME get` with the host on stdin, as docker does.
fn run_helper(name: &str, host: &str) -> Result<Option<Credential>, String> {
    let program = format!("docker-credential-{name}");
    let mut child = Command::new(&program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run credential helper `{program}`: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(host.as_bytes());
    }
    let output = child
        .wait_with_output()
        .map_err(|e| format!("credential helper `{program}` failed: {e}"))?;
    if !output.status.success() {
        // "credentials not found" is an ordinary answer: fall back to anonymous access.
        let stdout = String::from_utf8_lossy(&output.stdout);
        if stdout.contains("not found") || output.stdout.is_empty() {
            return Ok(None);
        }
        return Err(format!(
            "credential helper `{program}` exited with {}",
            output.status
        ));
    }
    let answer: Value = serde_json::from_slice(&output.stdout)
        .map_err(|_| format!("credential helper `{program}` did not answer with JSON"))?;
    let username = answer.get("Username").and_then(Value::as_str).unwrap_or("");
    let secret = answer.get("Secret").and_then(Value::as_str).unwrap_or("");
    Ok(match (username, secret) {
        (_, "") => None,
        ("<token>", token) => Some(Credential::IdentityToken(Secret(token.to_string()))),
        (username, password) => Some(Credential::Basic {
            username: username.to_string(),
            password: Secret(password.to_string()),
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store_with(config: &str) -> (tempfile::TempDir, CredentialStore) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config.json");
        std::fs::write(&file, config).unwrap();
        (dir, CredentialStore::with_files(vec![file]))
    }

    #[test]
    fn auths_entries_decode_basic_credentials() {
        let (_dir, store) =
            store_with(r#"{"auths": {"registry.example.com": {"auth": "dXNlcjpzM2NyM3Q="}}}"#);
        let credential = store.lookup("registry.example.com").unwrap().unwrap();
        assert_eq!(
            credential,
            Credential::Basic {
                username: "user".into(),
                password: Secret("s3cr3t".into())
            }
        );
        assert!(!format!("{credential:?}").contains("s3cr3t"));
        assert_eq!(store.lookup("other.example.com").unwrap(), None);
    }

    #[test]
    fn docker_hub_is_found_under_its_legacy_key() {
        let (_dir, store) =
            store_with(r#"{"auths": {"https://index.docker.io/v1/": {"auth": "dTpw"}}}"#);
        assert!(store.lookup("docker.io").unwrap().is_some());
    }

    #[test]
    fn a_broken_auth_entry_is_an_error_without_the_secret() {
        let (_dir, store) =
            store_with(r#"{"auths": {"r.example.com": {"auth": "!!not-base64-s3cr3t"}}}"#);
        let error = store.lookup("r.example.com").unwrap_err();
        assert!(!error.contains("s3cr3t"), "{error}");
    }
}
