//! `--policy-from REV`: the policy a pull request is judged by, read from a git revision its
//! author cannot change (the base branch). On a pull request the tree's `.pinnace.yaml` is
//! the stranger's: without this, the change that adds an unsigned image could add its own key
//! under `signatures`, widen `registries.trusted` or turn the rule off, and pass.
//!
//! The config at REV is the one found walking up from the first path, as in the tree, but in
//! REV's tree object (within the repository); it and the files its policy names (key files)
//! are read from git's object database with libgit2: no checkout, each object's size asked
//! before it is read, a symbolic link never followed. The key files are written to a private
//! temporary folder for the run, so that signatures are checked by the same code, under the
//! same bounds, as key files in the tree.

use std::path::{Component, Path, PathBuf};

use git2::{ObjectType, Repository, Tree};

use super::{CONFIG_FILE_NAMES, Config, ConfigError, parse_config};

/// Most bytes of the config at a revision: as for a config file in the tree.
const MAX_CONFIG_BYTES: usize = crate::files::MAX_FILE_BYTES as usize;

/// Most bytes of one file the policy names; its reader applies its own, smaller bound after.
const MAX_POLICY_FILE_BYTES: usize = 4 << 20;

/// Most bytes of all the files the policy names, together.
const MAX_POLICY_BYTES: usize = 16 << 20;

/// The config a revision has, where it sits, and the files its policy names.
#[derive(Debug)]
pub struct RevisionConfig {
    /// The revision as the user wrote it (`origin/main`), for messages.
    pub rev: String,
    /// The config at REV and its path in the repository; `None` when REV has none.
    pub config: Option<(Config, PathBuf)>,
    /// The repository's work tree (canonical).
    pub workdir: PathBuf,
    /// The files `signatures` names (key files), as REV has them, below the same relative
    /// paths as from the config's folder.
    pub files: tempfile::TempDir,
}

impl RevisionConfig {
    /// The work-tree folder of REV's config, where its relative paths start.
    pub fn folder(&self) -> Option<PathBuf> {
        let (_, path) = self.config.as_ref()?;
        Some(self.workdir.join(path.parent().unwrap_or(Path::new(""))))
    }

    /// `origin/main:.pinnace.yaml`, for messages.
    pub fn name(&self) -> String {
        match &self.config {
            Some((_, path)) => format!("{}:{}", self.rev, path.display()),
            None => self.rev.clone(),
        }
    }
}

/// Why reading the policy at a revision failed.
#[derive(Debug)]
pub enum RevisionError {
    /// Git could not give what was asked (no repository, no such revision, a bad object).
    Git(String),
    /// The config at REV is not valid.
    Config(Box<ConfigError>),
}

/// The config at `rev` that applies to `start` (a path in a git work tree), and the files its
/// policy names.
pub fn read_at_revision(start: &Path, rev: &str) -> Result<RevisionConfig, RevisionError> {
    let fail = |message: String| RevisionError::Git(format!("--policy-from {rev}: {message}"));
    let start = std::fs::canonicalize(start)
        .map_err(|e| fail(format!("cannot find {}: {e}", start.display())))?;
    let repo = Repository::discover(&start)
        .map_err(|e| fail(format!("not in a git repository: {}", e.message())))?;
    let workdir = repo
        .workdir()
        .ok_or_else(|| fail("the repository has no work tree".to_string()))?;
    let workdir = std::fs::canonicalize(workdir).unwrap_or_else(|_| workdir.to_path_buf());
    let tree = repo
        .revparse_single(rev)
        .and_then(|object| object.peel_to_commit())
        .and_then(|commit| commit.tree())
        .map_err(|e| fail(format!("cannot find the revision: {}", e.message())))?;
    let folder = if start.is_dir() {
        start.as_path()
    } else {
        start.parent().unwrap_or(&start)
    };
    let relative = folder
        .strip_prefix(&workdir)
        .map_err(|_| fail(format!("{} is not in the work tree", folder.display())))?;
    let files =
        tempfile::tempdir().map_err(|e| fail(format!("cannot make a temporary folder: {e}")))?;
    let mut found = None;
    'walk: for dir in relative.ancestors() {
        for name in CONFIG_FILE_NAMES {
            let path = dir.join(name);
            if let Some(bytes) = blob_at(&repo, &tree, &path, MAX_CONFIG_BYTES).map_err(&fail)? {
                found = Some((path, bytes));
                break 'walk;
            }
        }
    }
    let config = match found {
        None => None,
        Some((path, bytes)) => {
            let shown = format!("{rev}:{}", path.display());
            let text = String::from_utf8(bytes)
                .map_err(|_| fail(format!("{} is not UTF-8", path.display())))?;
            let config = parse_config(&shown, &text).map_err(RevisionError::Config)?;
            let dir = path.parent().unwrap_or(Path::new(""));
            copy_policy_files(&repo, &tree, dir, &config, files.path()).map_err(&fail)?;
            Some((config, path))
        }
    };
    Ok(RevisionConfig {
        rev: rev.to_string(),
        config,
        workdir,
        files,
    })
}

/// Writes the files `config`'s policy names (relative to `dir` in `tree`) below `out`. A file
/// REV does not have is left out: the run reports it where the file is used, as it would a
/// missing key file in the tree.
fn copy_policy_files(
    repo: &Repository,
    tree: &Tree<'_>,
    dir: &Path,
    config: &Config,
    out: &Path,
) -> Result<(), String> {
    let mut total = 0usize;
    for name in config.signatures.iter().flat_map(|entry| entry.files()) {
        // Validated when the config was read: relative, no `..`.
        let relative: PathBuf = Path::new(name)
            .components()
            .filter(|part| matches!(part, Component::Normal(_)))
            .collect();
        let Some(bytes) = blob_at(repo, tree, &dir.join(&relative), MAX_POLICY_FILE_BYTES)? else {
            continue;
        };
        total += bytes.len();
        if total > MAX_POLICY_BYTES {
            return Err(format!(
                "the files `signatures` names are larger than {} MiB together",
                MAX_POLICY_BYTES >> 20
            ));
        }
        let target = out.join(&relative);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("cannot write {name}: {e}"))?;
        }
        std::fs::write(&target, bytes).map_err(|e| format!("cannot write {name}: {e}"))?;
    }
    Ok(())
}

/// The bytes of the regular file at `path` in `tree`, at most `limit`; `None` when there is
/// nothing there. A symbolic link, a folder or a submodule there is an error: the policy is
/// what REV's objects hold, and a link would lead out of them.
fn blob_at(
    repo: &Repository,
    tree: &Tree<'_>,
    path: &Path,
    limit: usize,
) -> Result<Option<Vec<u8>>, String> {
    let entry = match tree.get_path(path) {
        Ok(entry) => entry,
        Err(error) if error.code() == git2::ErrorCode::NotFound => return Ok(None),
        Err(error) => {
            return Err(format!(
                "cannot read {}: {}",
                path.display(),
                error.message()
            ));
        }
    };
    let shown = path.display();
    // 0o100644 and 0o100755 are files; 0o120000 is a symbolic link.
    if entry.kind() != Some(ObjectType::Blob) || entry.filemode() & 0o170000 != 0o100000 {
        return Err(format!(
            "{shown} is not a regular file (a link, a folder, a submodule)"
        ));
    }
    let odb = repo
        .odb()
        .map_err(|e| format!("cannot open the object database: {}", e.message()))?;
    // The size first: the object is read only when it is within the bound.
    let (size, _) = odb
        .read_header(entry.id())
        .map_err(|e| format!("cannot read {shown}: {}", e.message()))?;
    if size > limit {
        return Err(format!("{shown} is larger than {} KiB", limit >> 10));
    }
    let blob = repo
        .find_blob(entry.id())
        .map_err(|e| format!("cannot read {shown}: {}", e.message()))?;
    Ok(Some(blob.content().to_vec()))
}
