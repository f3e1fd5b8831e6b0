//! Narrowing a run to some files (the ones a commit stages, or a pull request changes) while
//! still checking them the way a full run would: a file that a Kustomize build reads is
//! checked through the roots that include it, not raw.
//!
//! The roots are found among every kustomization of the repository (the folder holding
//! `.git`): a base file's overlays usually live in sibling folders, not above it.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::config::Settings;
use crate::discover::discover;
use crate::kustomize::{self, KUSTOMIZATION_FILE_NAMES};

/// What to check for some target files.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Narrowed {
    /// The kustomization files of the roots whose builds read a target (or that could not
    /// be built and hold one), sorted.
    pub roots: Vec<PathBuf>,
    /// Targets no root reads: checked on their own.
    pub uncovered: Vec<PathBuf>,
}

/// The folder holding `.git` above `path`, if any.
pub fn repository_root(path: &Path) -> Option<PathBuf> {
    let path = std::fs::canonicalize(path).ok()?;
    path.ancestors()
        .find(|dir| dir.join(".git").exists())
        .map(Path::to_path_buf)
}

/// Every manifest file below `root` as a full run would find it (ignores, config
/// `exclude`, hidden folders), canonical.
pub fn manifest_files(root: &Path, settings: &Settings) -> Vec<PathBuf> {
    discover(&[root.to_path_buf()], settings)
        .files
        .into_iter()
        .map(|file| file.absolute)
        .collect()
}

/// The roots among the kustomizations of `files` that read any of `targets` (canonical).
pub fn narrow(
    files: &[PathBuf],
    targets: &[PathBuf],
    options: &kustomize::BuildOptions,
) -> Narrowed {
    let dirs: Vec<PathBuf> = files
        .iter()
        .filter(|file| {
            file.file_name()
                .is_some_and(|name| KUSTOMIZATION_FILE_NAMES.iter().any(|k| name == *k))
        })
        .filter_map(|file| file.parent().map(Path::to_path_buf))
        .collect();
    let included: HashSet<PathBuf> = dirs
        .par_iter()
        .flat_map_iter(|dir| kustomize::referenced_folders(dir))
        .collect();
    let wanted: HashSet<&Path> = targets.iter().map(PathBuf::as_path).collect();
    // Every root is built, but only whether it reads a target is kept.
    let outcomes: Vec<(PathBuf, Option<Vec<PathBuf>>)> = dirs
        .par_iter()
        .filter(|dir| !included.contains(*dir))
        .map(|dir| {
            let read = kustomize::build(dir, options).ok().map(|build| {
                build
                    .files()
                    .map(PathBuf::from)
                    .filter(|file| wanted.contains(file.as_path()))
                    .collect()
            });
            (dir.clone(), read)
        })
        .collect();
    let mut covered: HashSet<PathBuf> = HashSet::new();
    let mut roots = Vec::new();
    for (dir, read) in outcomes {
        let selected = match read {
            Some(read) => {
                let any = !read.is_empty();
                covered.extend(read);
                any
            }
            // A root that does not build is still named, so its error is shown, when a
            // target lies in a kustomization folder it includes.
            None => {
                let folders = folders_included(&dir);
                targets
                    .iter()
                    .any(|target| folders.iter().any(|folder| target.starts_with(folder)))
            }
        };
        if selected && let Some(file) = kustomize::find_kustomization(&dir) {
            roots.push(file);
        }
    }
    roots.sort();
    let uncovered = targets
        .iter()
        .filter(|target| !covered.contains(*target))
        .cloned()
        .collect();
    Narrowed { roots, uncovered }
}

/// `dir` and every kustomization folder it includes, however deep.
fn folders_included(dir: &Path) -> Vec<PathBuf> {
    let mut seen = vec![dir.to_path_buf()];
    let mut next = 0;
    while next < seen.len() {
        for folder in kustomize::referenced_folders(&seen[next]) {
            if !seen.contains(&folder) {
                seen.push(folder);
            }
        }
        next += 1;
    }
    seen
}

/// `path` as the user would write it from the current folder (`base/x.yaml`,
/// `../overlays/prod/kustomization.yaml`), so that what a run derives from relative paths
/// is named relative too.
pub fn relative_to_cwd(path: &Path) -> PathBuf {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| std::fs::canonicalize(cwd).ok())
        .and_then(|cwd| crate::inputs::relative_path(&cwd, path))
        .filter(|relative| !relative.as_os_str().is_empty())
        .unwrap_or_else(|| path.to_path_buf())
}
