//! Finds the manifest files below the paths a user names: a parallel walk that honours
//! `.gitignore`, config `exclude`, and never parses Helm templates as YAML. Symlinks are
//! followed only while they stay in the tree (the path given, or the git repository holding
//! it): a link to `/etc` in a pull request must not make pinnace read and quote `/etc`.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ignore::{WalkBuilder, WalkState};

use crate::config::Settings;
use crate::finding::Warning;

/// A file to check.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct FoundFile {
    /// The path as the walk produced it, below the path the user gave: how output names it.
    pub display: PathBuf,
    /// The same file under the canonical form of the user's path, for config globs.
    pub absolute: PathBuf,
}

#[derive(Debug, Default)]
pub struct Discovered {
    pub files: Vec<FoundFile>,
    pub warnings: Vec<Warning>,
}

pub fn discover(roots: &[PathBuf], settings: &Settings) -> Discovered {
    let mut discovered = Discovered::default();
    for root in roots {
        match std::fs::canonicalize(root) {
            Ok(canonical) if canonical.is_file() => discovered.files.push(FoundFile {
                display: root.clone(),
                absolute: canonical,
            }),
            Ok(canonical) if canonical.is_dir() => {
                walk(root, &canonical, settings, &mut discovered)
            }
            Ok(_) => discovered.warnings.push(Warning {
                path: root.display().to_string(),
                message: "not a regular file or a folder; not read".to_string(),
            }),
            Err(error) => discovered.warnings.push(Warning {
                path: root.display().to_string(),
                message: format!("cannot read: {error}"),
            }),
        }
    }
    discovered.files.sort();
    discovered.files.dedup_by(|a, b| a.absolute == b.absolute);
    discovered
}

fn walk(root: &Path, canonical_root: &Path, settings: &Settings, discovered: &mut Discovered) {
    let absolute = |path: &Path| canonical_root.join(path.strip_prefix(root).unwrap_or(path));
    let top = tree_top(canonical_root);
    let top = top.as_path();
    let found = Mutex::new(Vec::new());
    let warnings = Mutex::new(Vec::new());
    let walker = WalkBuilder::new(root)
        .follow_links(true)
        .require_git(false)
        .filter_entry(move |entry| {
            let path = entry.path();
            let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
            !(is_dir && is_helm_templates(path)) && entry.file_name() != ".git"
        })
        .build_parallel();
    walker.run(|| {
        let found = &found;
        let warnings = &warnings;
        Box::new(move |entry| {
            match entry {
                Ok(entry) => {
                    if entry.depth() > 0
                        && entry.path_is_symlink()
                        && let Some(warning) = link_out_of_tree(entry.path(), top)
                    {
                        lock(warnings).push(warning);
                        return WalkState::Skip;
                    }
                    let is_file = entry.file_type().is_some_and(|t| t.is_file());
                    let path = entry.path();
                    if is_file && is_manifest_name(path) {
                        let absolute = absolute(path);
                        if !settings.is_excluded(&absolute) {
                            lock(found).push(FoundFile {
                                display: path.to_path_buf(),
                                absolute,
                            });
                        }
                    }
                }
                Err(error) => lock(warnings).push(walk_warning(root, &error)),
            }
            WalkState::Continue
        })
    });
    discovered.files.extend(into_inner(found));
    discovered.warnings.extend(into_inner(warnings));
}

/// The folder symlinks must stay in: the git repository holding `root`, or `root` itself.
pub fn tree_top(root: &Path) -> PathBuf {
    root.ancestors()
        .find(|dir| dir.join(".git").exists())
        .unwrap_or(root)
        .to_path_buf()
}

/// A warning when the symlink at `path` leads out of `top` (or nowhere); it is then not read.
fn link_out_of_tree(path: &Path, top: &Path) -> Option<Warning> {
    match std::fs::canonicalize(path) {
        Ok(target) if target.starts_with(top) => None,
        Ok(target) => Some(Warning {
            path: path.display().to_string(),
            message: format!(
                "symlink to {}, outside {}; not followed",
                target.display(),
                top.display()
            ),
        }),
        Err(error) => Some(Warning {
            path: path.display().to_string(),
            message: format!("symlink that cannot be followed ({error}); skipped"),
        }),
    }
}

/// A `templates/` folder beside a `Chart.yaml` holds Go templates, not YAML; so does its
/// `files/` folder, which the chart reads with `.Files.Get` (and often renders with `tpl`).
fn is_helm_templates(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|name| name == "templates" || name == "files")
        && path
            .parent()
            .is_some_and(|chart| chart.join("Chart.yaml").is_file())
}

fn is_manifest_name(path: &Path) -> bool {
    path.extension()
        .and_then(|ext| ext.to_str())
        .is_some_and(|ext| {
            ["yaml", "yml", "json"]
                .iter()
                .any(|known| ext.eq_ignore_ascii_case(known))
        })
}

fn walk_warning(root: &Path, error: &ignore::Error) -> Warning {
    // The walker wraps the error that matters in layers of context.
    let mut error = error;
    while let ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } =
        error
    {
        error = err;
    }
    if let ignore::Error::WithPath { err, .. } = error
        && matches!(**err, ignore::Error::Loop { .. })
    {
        error = err;
    }
    let path = match error {
        ignore::Error::WithPath { path, .. } => path.display().to_string(),
        ignore::Error::Loop { child, .. } => child.display().to_string(),
        _ => root.display().to_string(),
    };
    let message = match error {
        ignore::Error::Loop { ancestor, .. } => {
            format!("symlink loop back to {}, not followed", ancestor.display())
        }
        other => format!("cannot read: {other}"),
    };
    Warning { path, message }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn into_inner<T>(mutex: Mutex<T>) -> T {
    mutex
        .into_inner()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
