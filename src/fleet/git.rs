//! The git side of a migration, with git2: open or clone, branch from HEAD, commit the pinned
//! files, put everything back on failure, push with the credentials git itself would use.

use std::path::{Path, PathBuf};

use super::repos::UrlCredentials;
use git2::{
    BranchType, Cred, CredentialType, FetchOptions, Oid, PushOptions, RemoteCallbacks, Repository,
    Signature, StatusOptions,
};

/// Where a branch was started: what HEAD was and the commit it pointed at.
#[derive(Debug, Clone)]
pub struct BranchPoint {
    /// `refs/heads/…` when HEAD was on a branch, `None` when detached.
    pub head: Option<String>,
    pub base: Oid,
}

/// `Name <email>`, from `--author` or git config.
#[derive(Debug, Clone)]
pub struct Author {
    pub name: String,
    pub email: String,
}

impl std::str::FromStr for Author {
    type Err = String;

    fn from_str(text: &str) -> Result<Author, String> {
        let usage = || format!("`{text}` is not an author like `Name <email@example.com>`");
        let (name, rest) = text.split_once('<').ok_or_else(usage)?;
        let email = rest.strip_suffix('>').ok_or_else(usage)?.trim();
        let name = name.trim();
        if name.is_empty() || email.is_empty() {
            return Err(usage());
        }
        Ok(Author {
            name: name.to_string(),
            email: email.to_string(),
        })
    }
}

fn error(context: &str, e: git2::Error) -> String {
    format!("{context}: {}", e.message())
}

/// Opens the clone at `path`; a bare repository has no files to pin.
pub fn open(path: &Path) -> Result<Repository, String> {
    let repo = Repository::open(path).map_err(|e| error("cannot open repository", e))?;
    if repo.is_bare() {
        return Err("is a bare repository; give a clone with a work tree".into());
    }
    Ok(repo)
}

/// Clones `url` into `dest`, checking out its default branch; a clone already at `dest`
/// (from an earlier run) is used as it is. `url` holds no credentials (they would be written
/// into `.git/config` and the reflog): `credentials` are given to git when it asks.
pub fn clone(
    url: &str,
    dest: &Path,
    credentials: Option<&UrlCredentials>,
) -> Result<Repository, String> {
    if dest.join(".git").exists() {
        return open(dest);
    }
    let config = git2::Config::open_default().map_err(|e| error("cannot read git config", e))?;
    let mut fetch = FetchOptions::new();
    fetch.remote_callbacks(callbacks(config, credentials.cloned()));
    git2::build::RepoBuilder::new()
        .fetch_options(fetch)
        .clone(url, dest)
        .map_err(|e| error("cannot clone", e))
}

/// Refuses a work tree with changes or untracked files: a rollback could not tell them from
/// its own edits, and a commit must hold only the pins.
pub fn ensure_clean(repo: &Repository) -> Result<(), String> {
    let mut options = StatusOptions::new();
    options
        .include_untracked(true)
        .include_ignored(false)
        .exclude_submodules(true);
    let statuses = repo
        .statuses(Some(&mut options))
        .map_err(|e| error("cannot read status", e))?;
    match statuses.iter().next() {
        None => Ok(()),
        Some(entry) => Err(format!(
            "work tree has uncommitted changes or untracked files ({} paths, first `{}`); commit or stash them first",
            statuses.len(),
            entry.path().unwrap_or("?")
        )),
    }
}

pub fn branch_point(repo: &Repository) -> Result<BranchPoint, String> {
    let head = repo.head().map_err(|e| error("HEAD has no commit", e))?;
    let base = head
        .peel_to_commit()
        .map_err(|e| error("HEAD has no commit", e))?
        .id();
    let head = match head.is_branch() {
        true => Some(
            head.name()
                .map_err(|e| error("branch name", e))?
                .to_string(),
        ),
        false => None,
    };
    Ok(BranchPoint { head, base })
}

/// The signature of the commits: `--author`, else the repository's git config.
pub fn signature(repo: &Repository, author: Option<&Author>) -> Result<Signature<'static>, String> {
    match author {
        Some(author) => {
            Signature::now(&author.name, &author.email).map_err(|e| error("invalid author", e))
        }
        None => repo.signature().map_err(|e| {
            error(
                "no author (set user.name and user.email in git config, or pass --author)",
                e,
            )
        }),
    }
}

/// A branch of that name would be an earlier run's, or someone's work: never reused.
pub fn ensure_no_branch(repo: &Repository, branch: &str) -> Result<(), String> {
    match repo.find_branch(branch, BranchType::Local) {
        Ok(_) => Err(format!(
            "branch `{branch}` already exists; delete it or pass another --branch"
        )),
        Err(_) => Ok(()),
    }
}

/// Creates `branch` at the base and moves HEAD onto it; the work tree is untouched, since it
/// already matches the base.
pub fn start_branch(repo: &Repository, branch: &str, point: &BranchPoint) -> Result<(), String> {
    let base = repo
        .find_commit(point.base)
        .map_err(|e| error("cannot read HEAD", e))?;
    ensure_no_branch(repo, branch)?;
    let created = repo
        .branch(branch, &base, false)
        .map_err(|e| error("cannot create branch", e))?;
    let name = created
        .get()
        .name()
        .map_err(|e| error("branch name", e))?
        .to_string();
    repo.set_head(&name).map_err(|e| {
        let _ = repo
            .find_branch(branch, BranchType::Local)
            .and_then(|mut b| b.delete());
        error("cannot switch to the branch", e)
    })
}

/// Stages `files` (relative to the work tree) and commits them on the current branch.
pub fn commit(
    repo: &Repository,
    files: &[PathBuf],
    message: &str,
    signature: &Signature<'_>,
    point: &BranchPoint,
) -> Result<Oid, String> {
    let mut index = repo.index().map_err(|e| error("cannot read index", e))?;
    for file in files {
        index
            .add_path(file)
            .map_err(|e| error(&format!("cannot stage {}", file.display()), e))?;
    }
    index.write().map_err(|e| error("cannot write index", e))?;
    let tree = index
        .write_tree()
        .and_then(|id| repo.find_tree(id))
        .map_err(|e| error("cannot write tree", e))?;
    let parent = repo
        .find_commit(point.base)
        .map_err(|e| error("cannot read base", e))?;
    repo.commit(
        Some("HEAD"),
        signature,
        signature,
        message,
        &tree,
        &[&parent],
    )
    .map_err(|e| error("cannot commit", e))
}

/// Puts the repository back as it was at `point`: files restored to the bytes read, HEAD on
/// its original branch, the index as the base commit, the new branch deleted.
pub fn rollback(
    repo: &Repository,
    point: &BranchPoint,
    branch: &str,
    written: &[(PathBuf, Vec<u8>)],
) -> Result<(), String> {
    let mut problems = Vec::new();
    for (path, old) in written {
        if let Err(e) = std::fs::write(path, old) {
            problems.push(format!("cannot restore {}: {e}", path.display()));
        }
    }
    let head = match &point.head {
        Some(name) => repo.set_head(name),
        None => repo.set_head_detached(point.base),
    };
    if let Err(e) = head {
        problems.push(error("cannot move HEAD back", e));
    }
    if let Ok(mut created) = repo.find_branch(branch, BranchType::Local)
        && let Err(e) = created.delete()
    {
        problems.push(error("cannot delete the branch", e));
    }
    if let Err(e) = reset_index(repo, point.base) {
        problems.push(e);
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

/// The index as the base commit's tree, if it was changed (an index held by another git
/// process was never written and is left alone).
fn reset_index(repo: &Repository, base: Oid) -> Result<(), String> {
    let tree = repo
        .find_commit(base)
        .and_then(|c| c.tree())
        .map_err(|e| error("cannot read base", e))?;
    // The repository shares one index object: drop what `commit` staged in memory.
    let mut index = repo.index().map_err(|e| error("cannot read index", e))?;
    index
        .read(true)
        .map_err(|e| error("cannot read index", e))?;
    if index.write_tree().ok() == Some(tree.id()) {
        return Ok(());
    }
    index
        .read_tree(&tree)
        .and_then(|()| index.write())
        .map_err(|e| error("cannot reset index", e))
}

/// Pushes `branch` to `origin` under the same name.
pub fn push(
    repo: &Repository,
    branch: &str,
    credentials: Option<&UrlCredentials>,
) -> Result<(), String> {
    let mut remote = repo
        .find_remote("origin")
        .map_err(|e| error("no remote `origin`", e))?;
    let config = repo
        .config()
        .map_err(|e| error("cannot read git config", e))?;
    let mut rejection: Option<String> = None;
    {
        let mut callbacks = callbacks(config, credentials.cloned());
        callbacks.push_update_reference(|name, status| {
            if let Some(status) = status {
                rejection = Some(format!("{name}: {status}"));
            }
            Ok(())
        });
        let mut options = PushOptions::new();
        options.remote_callbacks(callbacks);
        let spec = format!("refs/heads/{branch}:refs/heads/{branch}");
        remote
            .push(&[spec.as_str()], Some(&mut options))
            .map_err(|e| error("push failed", e))?;
    }
    match rejection {
        Some(reason) => Err(format!("push rejected: {reason}")),
        None => Ok(()),
    }
}

/// Credentials as git finds them: those the repository's URL carried, the ssh agent for ssh
/// URLs, the configured credential helper for https, then the platform default. libgit2 asks
/// again after each refusal, so a few tries end in an error rather than a loop.
fn callbacks<'a>(config: git2::Config, from_url: Option<UrlCredentials>) -> RemoteCallbacks<'a> {
    let mut callbacks = RemoteCallbacks::new();
    let mut tries = 0;
    let mut from_url = from_url;
    callbacks.credentials(move |url, username, allowed| {
        tries += 1;
        if tries > 3 {
            return Err(git2::Error::from_str(
                "authentication failed: the remote refused the credentials git's helpers gave",
            ));
        }
        if allowed.contains(CredentialType::USER_PASS_PLAINTEXT)
            && let Some(given) = from_url.take()
        {
            return Cred::userpass_plaintext(&given.user, &given.password);
        }
        if allowed.contains(CredentialType::SSH_KEY) {
            return Cred::ssh_key_from_agent(username.unwrap_or("git"));
        }
        if allowed.contains(CredentialType::USER_PASS_PLAINTEXT)
            && let Ok(cred) = Cred::credential_helper(&config, url, username)
        {
            return Ok(cred);
        }
        if allowed.contains(CredentialType::USERNAME) {
            return Cred::username(username.unwrap_or("git"));
        }
        if allowed.contains(CredentialType::DEFAULT) {
            return Cred::default();
        }
        Err(git2::Error::from_str(
            "no credentials: set up a credential helper or an ssh agent",
        ))
    });
    callbacks
}
