//! Docker client configuration (`$DOCKER_CONFIG/config.json`) for tests of credential lookup:
//! plain `auths` entries and a `credHelpers` entry backed by a fake credential helper.
#![allow(dead_code)]

use std::fs;
use std::os::unix::fs::PermissionsExt;

use serde_json::json;
use tempfile::TempDir;

/// The helper name used in `credHelpers`; the executable is `docker-credential-pinnacetest`.
pub const HELPER_NAME: &str = "pinnacetest";

/// A dir with `config.json` = `{"auths": {host: {"auth": base64("user:password")}}}`.
/// Point `DOCKER_CONFIG` at the returned dir.
pub fn docker_config_with_auth(host: &str, user: &str, password: &str) -> TempDir {
    let dir = TempDir::new().expect("temp dir for docker config");
    let auth = base64(format!("{user}:{password}").as_bytes());
    let config = json!({"auths": {host: {"auth": auth}}});
    fs::write(
        dir.path().join("config.json"),
        serde_json::to_vec_pretty(&config).unwrap(),
    )
    .unwrap();
    dir
}

/// A config dir whose `config.json` says `{"credHelpers": {host: "pinnacetest"}}`, and a second
/// dir holding an executable `docker-credential-pinnacetest` (prepend it to `PATH`).
///
/// The helper follows the docker-credential-helpers protocol: `get` reads a server URL on
/// stdin and prints `{"ServerURL","Username","Secret"}` when it names `host` (with or without
/// an `http://`/`https://` scheme or a trailing `/`); otherwise it prints
/// `credentials not found in native keychain` and exits 1, as the real helpers do. `list`
/// prints `{host: user}`; `store` and `erase` succeed without doing anything. Every call is
/// appended to `calls.log` in the helper dir (`<action> <stdin>`), so a test can check that the
/// helper was asked, and for which server.
pub fn docker_config_with_helper(host: &str, user: &str, password: &str) -> (TempDir, TempDir) {
    let config_dir = TempDir::new().expect("temp dir for docker config");
    let config = json!({"credHelpers": {host: HELPER_NAME}});
    fs::write(
        config_dir.path().join("config.json"),
        serde_json::to_vec_pretty(&config).unwrap(),
    )
    .unwrap();

    let helper_dir = TempDir::new().expect("temp dir for credential helper");
    let log = helper_dir.path().join("calls.log");
    // serde_json escapes the strings; the JSON goes inside single quotes, so only `'` needs care.
    let answer = json!({"ServerURL": host, "Username": user, "Secret": password}).to_string();
    let list = json!({ host: user }).to_string();
    let script = format!(
        r#"#!/bin/sh
# Fake docker credential helper written by the pinnace test harness (tests/support).
input=$(cat)
printf '%s %s\n' "$1" "$input" >> {log}
case "$1" in
  get)
    server=${{input#http://}}
    server=${{server#https://}}
    server=${{server%/}}
    if [ "$server" = {host} ]; then
      printf '%s\n' {answer}
    else
      echo "credentials not found in native keychain"
      exit 1
    fi
    ;;
  list) printf '%s\n' {list} ;;
  store|erase) ;;
  *) echo "unknown action: $1" >&2; exit 1 ;;
esac
"#,
        log = shell_quote(&log.to_string_lossy()),
        host = shell_quote(host),
        answer = shell_quote(&answer),
        list = shell_quote(&list),
    );
    let path = helper_dir
        .path()
        .join(format!("docker-credential-{HELPER_NAME}"));
    fs::write(&path, script).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    (config_dir, helper_dir)
}

/// Single-quotes `text` for sh.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// Standard base64 with padding (the docker config `auth` field); tiny, so no crate for it.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
