//! Kustomize roots in scope, checked through their builds: each finding lands in the file a
//! person edits (the overlay's `images:` entry, the base file), and the files a build reads
//! are not checked again on their own.
//!
//! A root is a kustomization that no other kustomization in scope includes; a base shared by
//! two overlays is checked through both, and a finding both builds make at the same place is
//! reported once.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::config::Settings;
use crate::discover::FoundFile;
use crate::finding::{FileReport, Finding, Note, Warning};
use crate::kustomize::{self, Build, KUSTOMIZATION_FILE_NAMES};
use crate::model::extract_build;
use crate::pipeline::settle;
use crate::registry::OnlineFacts;
use crate::rules::{Context, RULES};
use crate::source::SourceFile;

#[derive(Debug, Default)]
pub struct BuildResults {
    /// Reports for the files the builds cover, by absolute path.
    pub reports: BTreeMap<PathBuf, FileReport>,
    /// Every file a successful root build read: not to be checked on its own.
    pub covered: HashSet<PathBuf>,
    /// Roots that could not be built (their files are checked on their own instead), and
    /// entries that are not built (remote bases, Helm charts).
    pub warnings: Vec<Warning>,
    pub roots: usize,
}

/// Builds and checks every Kustomize root among `files`. `display` turns an absolute path
/// into the name output uses.
pub fn check_builds(
    files: &[FoundFile],
    settings: &Settings,
    online: Option<&OnlineFacts>,
    display: &(dyn Fn(&Path) -> String + Sync),
) -> BuildResults {
    let dirs: Vec<PathBuf> = files
        .iter()
        .filter(|f| {
            f.absolute
                .file_name()
                .is_some_and(|n| KUSTOMIZATION_FILE_NAMES.iter().any(|k| n == *k))
        })
        .filter_map(|f| f.absolute.parent().map(Path::to_path_buf))
        .collect();
    if dirs.is_empty() {
        return BuildResults::default();
    }
    let builds: Vec<(PathBuf, Result<Build, kustomize::KustomizeError>)> = dirs
        .into_par_iter()
        .map(|dir| {
            let build = kustomize::build(&dir);
            (dir, build)
        })
        .collect();
    let included = included_kustomizations(&builds);
    let mut results = BuildResults::default();
    let mut roots = Vec::new();
    for (dir, build) in &builds {
        if included.contains(dir) {
            continue;
        }
        match build {
            Ok(build) => roots.push(build),
            Err(error) => results.warnings.push(Warning {
                path: display(dir),
                message: format!(
                    "cannot build this kustomization ({}); its files are checked on their own",
                    error.message
                ),
            }),
        }
    }
    results.roots = roots.len();
    for build in &roots {
        results.covered.extend(build.files().map(PathBuf::from));
        for not_built in &build.not_built {
            let (file, span) = match build.locate(not_built.span) {
                Some(found) => found,
                None => continue,
            };
            let position = file.position(span.start);
            results.warnings.push(Warning {
                path: format!(
                    "{}:{}:{}",
                    display(Path::new(&file.name)),
                    position.line,
                    position.column
                ),
                message: format!("{} (not built)", not_built.reason),
            });
        }
    }
    let per_build: Vec<Vec<(PathBuf, SourceFile, Vec<Finding>)>> = roots
        .par_iter()
        .map(|build| check_build(build, settings, online, display))
        .collect();
    for (path, source, findings) in per_build.into_iter().flatten() {
        let report = results.reports.entry(path).or_insert_with(|| FileReport {
            source,
            findings: Vec::new(),
        });
        for finding in findings {
            let duplicate = report.findings.iter().any(|f| {
                f.rule.id == finding.rule.id
                    && f.span == finding.span
                    && f.message == finding.message
            });
            if !duplicate {
                report.findings.push(finding);
            }
        }
    }
    for report in results.reports.values_mut() {
        report
            .findings
            .sort_by(|a, b| (a.span.start, a.rule.id).cmp(&(b.span.start, b.rule.id)));
    }
    results
}

/// Folders whose kustomization another build in scope read (as a base or component).
fn included_kustomizations(
    builds: &[(PathBuf, Result<Build, kustomize::KustomizeError>)],
) -> HashSet<PathBuf> {
    let mut included = HashSet::new();
    for (dir, build) in builds {
        let Ok(build) = build else { continue };
        for file in build.files() {
            let path = Path::new(file);
            let is_kustomization = path
                .file_name()
                .is_some_and(|n| KUSTOMIZATION_FILE_NAMES.iter().any(|k| n == *k));
            if let (true, Some(parent)) = (is_kustomization, path.parent())
                && parent != dir
            {
                included.insert(parent.to_path_buf());
            }
        }
    }
    included
}

/// Runs the rules on one build and sorts the findings into the files they point at.
fn check_build(
    build: &Build,
    settings: &Settings,
    online: Option<&OnlineFacts>,
    display: &(dyn Fn(&Path) -> String + Sync),
) -> Vec<(PathBuf, SourceFile, Vec<Finding>)> {
    let model = extract_build(build, &settings.catalog);
    let context = Context {
        model: &model,
        settings,
        online,
    };
    let mut findings = Vec::new();
    for rule in RULES {
        rule.check(&context, &mut findings);
    }
    let mut by_file: BTreeMap<String, (SourceFile, Vec<Finding>)> = BTreeMap::new();
    for mut finding in findings {
        let Some((file, span)) = build.locate(finding.span) else {
            continue;
        };
        finding.span = span;
        finding.notes = finding
            .related
            .iter()
            .filter_map(|(related, message)| {
                let (file, span) = build.locate(*related)?;
                let position = file.position(span.start);
                Some(Note {
                    path: display(Path::new(&file.name)),
                    line: position.line,
                    column: position.column,
                    message: message.clone(),
                })
            })
            .collect();
        by_file
            .entry(file.name.clone())
            .or_insert_with(|| (file.clone(), Vec::new()))
            .1
            .push(finding);
    }
    by_file
        .into_iter()
        .map(|(name, (mut source, findings))| {
            let path = PathBuf::from(&name);
            let findings = settle(findings, &source, &model, settings, &path);
            source.name = display(&path);
            (path, source, findings)
        })
        .collect()
}
