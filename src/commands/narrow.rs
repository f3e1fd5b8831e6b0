//! Which paths `pinnace check` reads: with `--changed-since`, the manifests changed since a
//! revision; with files named one by one (a pre-commit hook passes the staged files), those
//! files. Either way through the Kustomize roots that read them, as a full run would check
//! them.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use crate::build_roots::{Narrowed, manifest_files, narrow, relative_to_cwd, repository_root};
use crate::changed::{Changes, changed_since as changed_since_rev};
use crate::config::{CONFIG_FILE_NAMES, Settings};
use crate::kustomize::{KUSTOMIZATION_FILE_NAMES, find_kustomization};

/// What a narrowed run reads, and what it reports.
#[derive(Debug)]
pub struct Narrowing {
    /// The paths to check instead of those given.
    pub paths: Vec<PathBuf>,
    /// When only files were named, or only resources changed: those files (canonical). The
    /// run reports their findings,
    /// and those the builds that read them make about them (a finding with a note in them,
    /// such as the overlay entry that sets their image), nothing else.
    pub only: Option<Vec<PathBuf>>,
}

/// The paths a run checks instead of `paths`: with `--changed-since`, the changed manifests
/// below them; otherwise each file named on its own (a pre-commit hook passes staged files)
/// is replaced by the Kustomize roots that read it, when some do. `None`: check `paths`.
pub fn narrow_paths(
    paths: &[PathBuf],
    changed_since: Option<&str>,
    settings: &Settings,
) -> miette::Result<Option<Narrowing>> {
    let (stdin, named): (Vec<&PathBuf>, Vec<&PathBuf>) =
        paths.iter().partition(|p| p.as_os_str() == "-");
    let stdin: Vec<PathBuf> = stdin.into_iter().cloned().collect();
    match changed_since {
        Some(rev) => changed_paths(stdin, &named, rev, settings).map(Some),
        None => {
            let only_files = stdin.is_empty() && named.iter().all(|p| p.is_file());
            let only = only_files.then(|| {
                named
                    .iter()
                    .filter_map(|p| std::fs::canonicalize(p).ok())
                    .collect()
            });
            Ok(named_files(stdin, named, settings).map(|paths| Narrowing { paths, only }))
        }
    }
}

/// The manifests below `named` changed since `rev`, through their roots. When only
/// resources changed, the run reports their findings (and what builds say about them); a
/// changed kustomization can move findings into files that did not change (an `images:` entry
/// removed puts the base's line at fault), so then every finding of its roots is reported.
fn changed_paths(
    stdin: Vec<PathBuf>,
    named: &[&PathBuf],
    rev: &str,
    settings: &Settings,
) -> miette::Result<Narrowing> {
    let start = named.first().map_or(Path::new("."), |p| p.as_path());
    let changes = changed_since_rev(start, rev).map_err(|e| miette::miette!("{e}"))?;
    // New config (a registry no longer trusted, a rule turned on) can change any finding.
    if let Some(config) = changes.files.iter().find(|file| {
        file.file_name()
            .is_some_and(|name| CONFIG_FILE_NAMES.iter().any(|c| name == *c))
    }) {
        eprintln!(
            "pinnace: {} changed since {rev}: checking everything, not only the changed files",
            relative_to_cwd(config).display()
        );
        let paths = stdin
            .into_iter()
            .chain(named.iter().map(|p| (*p).clone()))
            .collect();
        return Ok(Narrowing { paths, only: None });
    }
    let all = manifest_files(&changes.workdir, settings);
    let under: Vec<PathBuf> = named
        .iter()
        .filter_map(|p| std::fs::canonicalize(p).ok())
        .collect();
    let changed: HashSet<PathBuf> = changes
        .files
        .iter()
        .cloned()
        .chain(kustomizations_of_deleted(&changes))
        .collect();
    let targets: Vec<PathBuf> = all
        .iter()
        .filter(|file| changed.contains(*file) && under.iter().any(|p| file.starts_with(p)))
        .cloned()
        .collect();
    let options = crate::kustomize::BuildOptions::for_settings(settings);
    let narrowed = narrow(&all, &targets, &options);
    eprintln!(
        "pinnace: {} manifest(s) changed since {rev} (merge base {}), {} through {} Kustomize root(s)",
        targets.len(),
        changes.base,
        targets.len() - narrowed.uncovered.len(),
        narrowed.roots.len()
    );
    let builds_changed = targets.iter().any(|file| {
        file.file_name()
            .is_some_and(|name| KUSTOMIZATION_FILE_NAMES.iter().any(|k| name == *k))
    });
    let only = (stdin.is_empty() && !builds_changed).then(|| targets.clone());
    Ok(Narrowing {
        paths: joined(stdin, narrowed),
        only,
    })
}

/// A deleted file may break the kustomization that still lists it: the nearest
/// kustomization above each deleted file counts as changed.
fn kustomizations_of_deleted(changes: &Changes) -> Vec<PathBuf> {
    changes
        .deleted
        .iter()
        .filter_map(|file| {
            file.ancestors()
                .skip(1)
                .take_while(|dir| dir.starts_with(&changes.workdir))
                .find_map(find_kustomization)
        })
        .filter_map(|file| std::fs::canonicalize(file).ok())
        .collect()
}

/// Named files replaced by the roots that read them; folders and `-` stay as they are.
fn named_files(
    stdin: Vec<PathBuf>,
    named: Vec<&PathBuf>,
    settings: &Settings,
) -> Option<Vec<PathBuf>> {
    let (files, others): (Vec<&PathBuf>, Vec<&PathBuf>) =
        named.into_iter().partition(|p| p.is_file());
    if files.is_empty() {
        return None;
    }
    let mut by_root: BTreeMap<Option<PathBuf>, Vec<PathBuf>> = BTreeMap::new();
    for file in files {
        let Ok(target) = std::fs::canonicalize(file) else {
            continue;
        };
        by_root
            .entry(search_root(&target))
            .or_default()
            .push(target);
    }
    let mut out: Vec<PathBuf> = stdin
        .into_iter()
        .chain(others.into_iter().cloned())
        .collect();
    for (root, targets) in by_root {
        let narrowed = match root {
            Some(root) => narrow(
                &manifest_files(&root, settings),
                &targets,
                &crate::kustomize::BuildOptions::for_settings(settings),
            ),
            None => Narrowed {
                roots: Vec::new(),
                uncovered: targets,
            },
        };
        out = joined(out, narrowed);
    }
    Some(out)
}

/// Where to look for the roots that may read `file`: its repository. Outside a repository a
/// file is its own scope: nothing else is read (not the current folder, which may be `$HOME`).
fn search_root(file: &Path) -> Option<PathBuf> {
    repository_root(file)
}

fn joined(mut paths: Vec<PathBuf>, narrowed: Narrowed) -> Vec<PathBuf> {
    paths.extend(
        narrowed
            .roots
            .iter()
            .chain(&narrowed.uncovered)
            .map(|p| relative_to_cwd(p)),
    );
    paths
}
