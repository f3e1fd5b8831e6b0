//! The first pass of `check`: the NetworkPolicies, ServiceAccounts and Secrets of the whole
//! run, which the rules that reason across resources read while each file is checked.

use std::path::PathBuf;

use rayon::prelude::*;

use crate::builds::scope_of_builds;
use crate::config::Settings;
use crate::finding::Warning;
use crate::inputs::{Inputs, for_each_input, gather_inputs};
use crate::model::{ScopeIndex, extract};
use crate::narrow::repository_root;
use crate::pipeline::{self, Loaded};
use crate::rules::SCOPE_RULES;

/// Words a file must hold to define anything the index keeps: reading is cheap, parsing is
/// not, so files without them are never parsed in this pass.
const KINDS: [&[u8]; 3] = [b"NetworkPolicy", b"ServiceAccount", b"Secret"];

/// The folders whose resources a run indexes beyond the paths it checks, so that a check of a
/// few files (a pre-commit hook, `--changed-since`) still sees the policies and Secrets the
/// rest of the repository holds: the config file's folder, and, for files named on their own,
/// the repository (the folder holding `.git`) they are in. A folder named on its own is its
/// own scope: `pinnace check apps/` without a config reads nothing outside `apps/`.
pub fn scope_roots(paths: &[PathBuf], settings: &Settings) -> Vec<PathBuf> {
    let mut roots: Vec<PathBuf> = paths
        .iter()
        .filter(|path| path.is_file())
        .filter_map(|file| repository_root(file))
        .collect();
    if settings.from_file {
        roots.push(settings.root.clone());
    }
    roots.sort();
    roots.dedup();
    roots
}

/// The index of everything the inputs and the `repository` folders define, or `None` when
/// no rule would read it.
pub fn gather_scope(
    inputs: &Inputs,
    repository: &[PathBuf],
    stdin_name: &str,
    settings: &Settings,
) -> Option<ScopeIndex> {
    if !SCOPE_RULES.iter().any(|rule| settings.may_run(rule.meta())) {
        return None;
    }
    let mut files = inputs.files.clone();
    if !repository.is_empty() {
        files.extend(gather_inputs(repository, settings).files);
        files.sort_by(|a, b| a.absolute.cmp(&b.absolute));
        files.dedup_by(|a, b| a.absolute == b.absolute);
    }
    let inputs = Inputs {
        stdin: inputs.stdin,
        files,
        problems: Vec::new(),
    };
    let (mut index, covered) = scope_of_builds(&inputs.files, settings);
    let raw = Inputs {
        stdin: inputs.stdin,
        files: inputs
            .files
            .par_iter()
            .filter(|file| !covered.contains(&file.absolute))
            .cloned()
            .collect(),
        // Reported by the check itself.
        problems: Vec::new(),
    };
    for_each_input(
        &raw,
        stdin_name,
        |input| Ok::<_, Warning>(index_of(input, settings)),
        |part| {
            if let Some(part) = part {
                index.extend(part);
            }
        },
    );
    Some(index)
}

fn index_of(input: pipeline::Input<'_>, settings: &Settings) -> Option<ScopeIndex> {
    if !KINDS
        .iter()
        .any(|kind| memchr::memmem::find(&input.bytes, kind).is_some())
    {
        return None;
    }
    let Loaded::Documents { documents, .. } = pipeline::load(input) else {
        return None;
    };
    let model = extract(&documents, &settings.catalog);
    let mut index = ScopeIndex::default();
    index.add(&model, settings.default_namespace());
    Some(index)
}
