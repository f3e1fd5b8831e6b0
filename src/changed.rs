//! What changed since a revision, read with libgit2 (no `git` program needed): the files
//! that differ between the merge base of the revision and HEAD, and the work tree as it is
//! now — committed, staged, unstaged and untracked (not ignored) changes alike.

use std::path::{Path, PathBuf};

use git2::{Delta, DiffFindOptions, DiffOptions, Repository};

/// The changed files of a repository, with what they were compared against.
#[derive(Debug)]
pub struct Changes {
    /// The repository's work tree (canonical).
    pub workdir: PathBuf,
    /// The merge base, abbreviated, for messages.
    pub base: String,
    /// Changed files that still exist (a rename counts as its new path), canonical, sorted.
    pub files: Vec<PathBuf>,
    /// Files that are gone (deleted; not renamed), below `workdir`, sorted.
    pub deleted: Vec<PathBuf>,
}

/// The files changed since the merge base of `rev` and HEAD, in the repository that holds
/// `start`.
pub fn changed_since(start: &Path, rev: &str) -> Result<Changes, String> {
    let repo = Repository::discover(start).map_err(|e| {
        format!(
            "{} is not in a git repository: {}",
            start.display(),
            e.message()
        )
    })?;
    let workdir = repo
        .workdir()
        .ok_or("the repository has no work tree")?
        .to_path_buf();
    let workdir = std::fs::canonicalize(&workdir).unwrap_or(workdir);
    let head = repo
        .head()
        .and_then(|head| head.peel_to_commit())
        .map_err(|e| format!("cannot read HEAD: {}", e.message()))?;
    let other = repo
        .revparse_single(rev)
        .and_then(|object| object.peel_to_commit())
        .map_err(|e| format!("cannot find the revision `{rev}`: {}", e.message()))?;
    let base = repo.merge_base(head.id(), other.id()).map_err(|e| {
        format!(
            "`{rev}` and HEAD have no common ancestor here ({}); a shallow clone needs more \
             history (actions/checkout: `fetch-depth: 0`)",
            e.message()
        )
    })?;
    let tree = repo
        .find_commit(base)
        .and_then(|commit| commit.tree())
        .map_err(|e| format!("cannot read the merge base {base}: {}", e.message()))?;
    let mut options = DiffOptions::new();
    options
        .include_untracked(true)
        .recurse_untracked_dirs(true)
        .include_typechange(true);
    let mut diff = repo
        .diff_tree_to_workdir_with_index(Some(&tree), Some(&mut options))
        .map_err(|e| format!("cannot compare with {base}: {}", e.message()))?;
    diff.find_similar(Some(
        DiffFindOptions::new().renames(true).for_untracked(true),
    ))
    .map_err(|e| format!("cannot find renames: {}", e.message()))?;
    let mut files = Vec::new();
    let mut deleted = Vec::new();
    for delta in diff.deltas() {
        if delta.status() == Delta::Deleted {
            deleted.extend(delta.old_file().path().map(|path| workdir.join(path)));
        } else if let Some(path) = delta.new_file().path().map(|path| workdir.join(path))
            && path.is_file()
        {
            files.push(path);
        }
    }
    files.sort();
    files.dedup();
    deleted.sort();
    Ok(Changes {
        workdir,
        base: base.to_string()[..10].to_string(),
        files,
        deleted,
    })
}
