//! HTTP(S) file resources (`resources: [https://host/path/deploy.yaml]`): never fetched
//! unless the invoker asks (`pinnace build --fetch`, `pinnace check --fetch-remote`). Then
//! the file is downloaded once into the cache remote git bases use, named by the digest of
//! its URL, and later runs (offline ones too) read it from there.
//!
//! Bounds: a body past [`crate::files::MAX_FILE_BYTES`] (the limit of any tree file) is
//! refused, a request takes at most [`TIMEOUT`], follows at most [`MAX_REDIRECTS`]
//! redirects and never one from HTTPS to plain HTTP; TLS is always verified. Nothing is sent
//! but the URL (a password written in it is never shown).

use std::io::Read;
use std::path::PathBuf;
use std::time::Duration;

use sha2::{Digest as _, Sha256};

const TIMEOUT: Duration = Duration::from_secs(30);
const MAX_REDIRECTS: usize = 10;

/// Whether a resource entry is an HTTP(S) file rather than a git base.
pub fn is_http_file(entry: &str) -> bool {
    (entry.starts_with("https://") || entry.starts_with("http://"))
        && super::remote::parse(entry).is_none()
}

/// The cached copy of `url` (downloaded first when `fetch` allows it). `Ok(None)`: not
/// fetched, and not in the cache.
pub fn locate(url: &str, fetch: bool) -> Result<Option<PathBuf>, String> {
    let cached = super::remote::cache_root()?.join(cache_name(url));
    if cached.is_file() {
        return Ok(Some(cached));
    }
    if !fetch {
        return Ok(None);
    }
    let body = download(url)?;
    let parent = cached.parent().ok_or("bad cache folder")?;
    std::fs::create_dir_all(parent)
        .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    // Written beside, then moved in place: a run stopped half-way leaves no partial file.
    let mut scratch = tempfile::NamedTempFile::new_in(parent)
        .map_err(|e| format!("cannot write to the cache: {e}"))?;
    std::io::Write::write_all(&mut scratch, &body)
        .map_err(|e| format!("cannot write to the cache: {e}"))?;
    scratch
        .persist(&cached)
        .map_err(|e| format!("cannot fill the cache: {e}"))?;
    Ok(Some(cached))
}

/// The digest of the URL, as the cache names the file.
fn cache_name(url: &str) -> String {
    let digest = Sha256::digest(url.as_bytes());
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("{hex}.http")
}

fn download(url: &str) -> Result<Vec<u8>, String> {
    let shown = super::remote::redact(url);
    let client = reqwest::blocking::Client::builder()
        .timeout(TIMEOUT)
        .redirect(redirect_policy())
        .build()
        .map_err(|e| format!("cannot make an HTTP client: {e}"))?;
    let response = client.get(url).send().map_err(|e| {
        format!(
            "cannot fetch {shown}: {}",
            super::remote::redact(&e.to_string())
        )
    })?;
    if !response.status().is_success() {
        return Err(format!("{shown} answered {}", response.status()));
    }
    let limit = crate::files::MAX_FILE_BYTES;
    if response
        .content_length()
        .is_some_and(|length| length > limit)
    {
        return Err(format!("{shown} is larger than {limit} bytes"));
    }
    let mut body = Vec::new();
    response
        .take(limit + 1)
        .read_to_end(&mut body)
        .map_err(|e| {
            format!(
                "cannot read {shown}: {}",
                super::remote::redact(&e.to_string())
            )
        })?;
    if body.len() as u64 > limit {
        return Err(format!("{shown} is larger than {limit} bytes"));
    }
    Ok(body)
}

/// At most [`MAX_REDIRECTS`], and none from HTTPS to plain HTTP.
fn redirect_policy() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        if attempt.previous().len() >= MAX_REDIRECTS {
            return attempt.error(format!("more than {MAX_REDIRECTS} redirects"));
        }
        let downgrade = attempt.url().scheme() != "https"
            && attempt
                .previous()
                .iter()
                .any(|previous| previous.scheme() == "https");
        if downgrade || !matches!(attempt.url().scheme(), "http" | "https") {
            let to = attempt.url().scheme().to_string();
            return attempt.error(format!("a redirect from HTTPS to {to}"));
        }
        attempt.follow()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_files_are_not_git_bases() {
        assert!(is_http_file("https://example.com/raw/deployment.yaml"));
        assert!(is_http_file("http://127.0.0.1:8080/app.yaml"));
        assert!(!is_http_file("https://github.com/org/repo//deploy?ref=v1"));
        assert!(!is_http_file("deploy.yaml"));
        assert_ne!(
            cache_name("https://a/x.yaml"),
            cache_name("https://a/y.yaml")
        );
    }
}
