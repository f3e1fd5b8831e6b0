//! Remote resources (`https://github.com/org/repo//path?ref=v1.2`, `github.com/org/repo/path`,
//! `git@host:org/repo//path`): never fetched unless the invoker asks (`pinnace build --fetch`,
//! `pinnace check --fetch-remote`). Then the repository is cloned once with libgit2 into a
//! cache folder named by the digest of its URL and ref, checked out at that ref, and later
//! runs (offline ones too) read the checkout from there.
//!
//! Bounds: a clone stops past [`MAX_CLONE_BYTES`] or [`CLONE_TIMEOUT`]; submodules are not
//! fetched; libgit2 runs no hooks; a checkout holding a symlink is refused (a link could
//! lead a build out of it); the `.git` folder is removed once the tree is checked out.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sha2::{Digest as _, Sha256};

const MAX_CLONE_BYTES: usize = 256 * 1024 * 1024;
const CLONE_TIMEOUT: Duration = Duration::from_secs(120);
/// Written last into a finished checkout, with the commit it holds.
const COMPLETE_MARKER: &str = ".pinnace-remote-commit";

/// A git repository, the folder in it, and the ref to check out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteBase {
    pub repo: String,
    pub path: String,
    pub git_ref: Option<String>,
}

/// Reads kustomize's remote forms; `None` for an HTTP file or anything else not a git base.
pub fn parse(entry: &str) -> Option<RemoteBase> {
    let (location, query) = entry.split_once('?').unwrap_or((entry, ""));
    let git_ref = query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| matches!(*key, "ref" | "version"))
        .map(|(_, value)| value.to_string())
        .filter(|value| !value.is_empty());
    let location = if let Some(rest) = location.strip_prefix("git::") {
        rest
    } else {
        location
    };
    let (scheme, rest) = match location.split_once("://") {
        Some((scheme, rest)) => (Some(scheme), rest),
        None => (None, location),
    };
    // The repository ends at `//`, at `.git/`, or (for the big hosts) after `org/repo`.
    let (repo_part, path) = if let Some((repo, path)) = rest.split_once("//") {
        (repo.to_string(), path.to_string())
    } else if let Some(at) = rest.find(".git/") {
        (rest[..at + 4].to_string(), rest[at + 5..].to_string())
    } else if ["github.com/", "gitlab.com/", "bitbucket.org/"]
        .iter()
        .any(|host| rest.starts_with(host))
    {
        let parts: Vec<&str> = rest.splitn(4, '/').collect();
        if parts.len() < 3 {
            return None;
        }
        (
            parts[..3].join("/"),
            parts.get(3).unwrap_or(&"").to_string(),
        )
    } else if rest.ends_with(".git") || rest.starts_with("git@") {
        (rest.to_string(), String::new())
    } else {
        return None;
    };
    let repo = match scheme {
        // Never `file://` and the like: a tree must not make pinnace read elsewhere.
        Some(scheme) if !matches!(scheme, "https" | "http" | "ssh" | "git") => return None,
        Some(scheme) => format!("{scheme}://{repo_part}"),
        None if repo_part.starts_with("git@") => repo_part,
        None => format!("https://{repo_part}"),
    };
    Some(RemoteBase {
        repo,
        path: path.trim_matches('/').to_string(),
        git_ref,
    })
}

/// The folder to build for a remote entry: its checkout in the cache (fetched first when
/// `fetch` allows it). `Ok(None)`: not fetched, and not in the cache.
pub fn locate(base: &RemoteBase, fetch: bool) -> Result<Option<PathBuf>, String> {
    let checkout = cache_root()?.join(cache_key(base));
    if !checkout.join(COMPLETE_MARKER).is_file() {
        if !fetch {
            return Ok(None);
        }
        clone_into_cache(base, &checkout)?;
    }
    let dir = checkout.join(&base.path);
    let dir = super::kustomization::resolve(&dir)
        .map_err(|e| format!("`{}` is not in {}: {e}", base.path, redact(&base.repo)))?;
    if !dir.starts_with(&checkout) {
        return Err(format!(
            "`{}` leads out of {}",
            base.path,
            redact(&base.repo)
        ));
    }
    Ok(Some(dir))
}

/// `$PINNACE_CACHE_DIR`, else `$XDG_CACHE_HOME/pinnace`, else `~/.cache/pinnace`; remote
/// bases live in its `kustomize-remote/`.
pub(super) fn cache_root() -> Result<PathBuf, String> {
    let base = std::env::var_os("PINNACE_CACHE_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("XDG_CACHE_HOME").map(|d| PathBuf::from(d).join("pinnace")))
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/pinnace")))
        .ok_or("no cache folder: set PINNACE_CACHE_DIR")?;
    Ok(base.join("kustomize-remote"))
}

/// The digest of what is fetched: the repository and the ref.
fn cache_key(base: &RemoteBase) -> String {
    let digest = Sha256::digest(
        format!("{}\n{}", base.repo, base.git_ref.as_deref().unwrap_or("")).as_bytes(),
    );
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// Clones into a fresh folder beside `checkout`, checks the ref out, and moves it in place.
fn clone_into_cache(base: &RemoteBase, checkout: &Path) -> Result<(), String> {
    let parent = checkout.parent().ok_or("bad cache folder")?;
    std::fs::create_dir_all(parent)
        .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    let scratch = tempfile::tempdir_in(parent)
        .map_err(|e| format!("cannot create a folder in {}: {e}", parent.display()))?;
    let tree = scratch.path().join("tree");
    let commit = clone(base, &tree)?;
    refuse_symlinks(&tree)?;
    std::fs::remove_dir_all(tree.join(".git"))
        .map_err(|e| format!("cannot tidy the clone: {e}"))?;
    std::fs::write(tree.join(COMPLETE_MARKER), format!("{commit}\n"))
        .map_err(|e| format!("cannot write to the cache: {e}"))?;
    if checkout.exists() {
        let _ = std::fs::remove_dir_all(checkout);
    }
    std::fs::rename(&tree, checkout).map_err(|e| format!("cannot fill the cache: {e}"))?;
    Ok(())
}

fn clone(base: &RemoteBase, into: &Path) -> Result<String, String> {
    let started = Instant::now();
    let shown = redact(&base.repo);
    let mut callbacks = git2::RemoteCallbacks::new();
    callbacks.transfer_progress(|progress| {
        progress.received_bytes() < MAX_CLONE_BYTES && started.elapsed() < CLONE_TIMEOUT
    });
    let mut tried = false;
    callbacks.credentials(move |url, user, allowed| {
        // Only what the URL itself carries (`https://user:token@host/…`), once.
        if tried {
            return Err(git2::Error::from_str(
                "the credentials in the URL were refused",
            ));
        }
        tried = true;
        match userinfo(url) {
            Some((name, password))
                if allowed.contains(git2::CredentialType::USER_PASS_PLAINTEXT) =>
            {
                git2::Cred::userpass_plaintext(&name, &password)
            }
            _ if allowed.contains(git2::CredentialType::SSH_KEY) => {
                git2::Cred::ssh_key_from_agent(user.unwrap_or("git"))
            }
            _ => Err(git2::Error::from_str("no credentials")),
        }
    });
    let mut options = git2::FetchOptions::new();
    options.remote_callbacks(callbacks);
    options.download_tags(git2::AutotagOption::All);
    let repo = git2::build::RepoBuilder::new()
        .fetch_options(options)
        .bare(false)
        .clone(&base.repo, into)
        .map_err(|e| {
            if started.elapsed() >= CLONE_TIMEOUT {
                format!(
                    "cloning {shown} took longer than {}s",
                    CLONE_TIMEOUT.as_secs()
                )
            } else {
                format!("cannot clone {shown}: {}", redact(e.message()))
            }
        })?;
    let target = match &base.git_ref {
        Some(name) => {
            resolve_ref(&repo, name).ok_or_else(|| format!("{shown} has no ref `{name}`"))?
        }
        None => repo
            .head()
            .and_then(|head| head.peel(git2::ObjectType::Commit))
            .map_err(|e| format!("{shown} has no default branch: {}", e.message()))?,
    };
    repo.checkout_tree(&target, Some(git2::build::CheckoutBuilder::new().force()))
        .map_err(|e| format!("cannot check out {shown}: {}", e.message()))?;
    Ok(target.id().to_string())
}

/// A tag, a branch, or a commit id, peeled to its commit.
fn resolve_ref<'r>(repo: &'r git2::Repository, name: &str) -> Option<git2::Object<'r>> {
    [
        format!("refs/tags/{name}"),
        format!("refs/remotes/origin/{name}"),
        name.to_string(),
    ]
    .iter()
    .find_map(|spec| repo.revparse_single(spec).ok())
    .and_then(|object| object.peel(git2::ObjectType::Commit).ok())
}

/// `text` with the password of any `scheme://user:password@host` in it hidden: URLs end up
/// in messages, and a secret never does.
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (head, tail) = rest.split_at(at + 3);
        out.push_str(head);
        let authority_end = tail.find(['/', ' ', '?', '`']).unwrap_or(tail.len());
        match tail[..authority_end].rfind('@') {
            Some(user_end) => {
                let user = tail[..user_end].split(':').next().unwrap_or("");
                out.push_str(user);
                out.push_str(":***");
                rest = &tail[user_end..];
            }
            None => rest = tail,
        }
    }
    out.push_str(rest);
    out
}

/// `user:password` from `scheme://user:password@host/…`.
fn userinfo(url: &str) -> Option<(String, String)> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split('/').next()?;
    let (info, _) = authority.rsplit_once('@')?;
    let (user, password) = info.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

/// A checkout with a symlink is refused: kustomize would follow it, perhaps out of the
/// repository.
fn refuse_symlinks(tree: &Path) -> Result<(), String> {
    let mut pending = vec![tree.to_path_buf()];
    let mut seen = 0usize;
    while let Some(dir) = pending.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|e| format!("cannot read the clone: {e}"))?;
        for entry in entries.flatten() {
            seen += 1;
            if seen > 1_000_000 {
                return Err("the clone holds over a million files".into());
            }
            let kind = entry
                .file_type()
                .map_err(|e| format!("cannot read the clone: {e}"))?;
            if kind.is_symlink() {
                return Err(format!(
                    "the clone holds a symlink ({}); pinnace does not build remote bases with links",
                    entry
                        .path()
                        .strip_prefix(tree)
                        .unwrap_or(&entry.path())
                        .display()
                ));
            }
            if kind.is_dir() && entry.file_name() != ".git" {
                pending.push(entry.path());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kustomize_remote_forms() {
        let base = parse("https://github.com/org/repo//deploy/base?ref=v1.2").unwrap();
        assert_eq!(base.repo, "https://github.com/org/repo");
        assert_eq!(base.path, "deploy/base");
        assert_eq!(base.git_ref.as_deref(), Some("v1.2"));
        let base = parse("github.com/org/repo/deploy?version=main").unwrap();
        assert_eq!(
            (base.repo.as_str(), base.path.as_str()),
            ("https://github.com/org/repo", "deploy")
        );
        let base = parse("git@github.com:org/repo.git//base").unwrap();
        assert_eq!(
            (base.repo.as_str(), base.path.as_str()),
            ("git@github.com:org/repo.git", "base")
        );
        let base = parse("http://127.0.0.1:8080/bases.git/app?ref=abc").unwrap();
        assert_eq!(base.repo, "http://127.0.0.1:8080/bases.git");
        assert_eq!(base.path, "app");
        assert_eq!(parse("https://example.com/raw/deployment.yaml"), None);
        assert_eq!(parse("file:///etc/repo.git//x"), None);
    }

    #[test]
    fn credentials_come_from_the_url() {
        assert_eq!(
            userinfo("http://u:p@127.0.0.1:9/x.git"),
            Some(("u".into(), "p".into()))
        );
        assert_eq!(userinfo("https://github.com/org/repo"), None);
        assert_eq!(
            redact("cannot clone http://u:p4ss@h:1/x.git//a?ref=v1"),
            "cannot clone http://u:***@h:1/x.git//a?ref=v1"
        );
        assert_eq!(
            redact("https://github.com/org/repo"),
            "https://github.com/org/repo"
        );
    }
}
