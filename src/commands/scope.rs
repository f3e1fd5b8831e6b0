//! The first pass of `check`: the NetworkPolicies, ServiceAccounts and Secrets of the whole
//! run, which the rules that reason across resources read while each file is checked.

use std::path::PathBuf;

use rayon::prelude::*;

use crate::build_roots::repository_root;
use crate::builds::{BuildResults, scope_of_builds};
use crate::config::Settings;
use crate::finding::Warning;
use crate::inputs::{Inputs, for_each_input, gather_inputs};
use crate::model::{ScopeIndex, extract};
use crate::pipeline;
use crate::rules::SCOPE_RULES;
use crate::yaml::{Limits, load_stream};

/// Words a file must hold to define anything the index keeps: reading is cheap, parsing is
/// not, so files without them are never parsed in this pass.
const KINDS: [&[u8]; 3] = [b"NetworkPolicy", b"ServiceAccount", b"Secret"];

/// The folders whose resources a run indexes beyond the paths it checks, so that a check of a
/// few files (a pre-commit hook, `--changed-since`) still sees the policies and Secrets the
/// rest of the repository holds: the folder of the `.pinnace.yaml` found walking up, and, for
/// files named on their own, the repository (the folder holding `.git`) they are in. A folder
/// named on its own is its own scope: `pinnace check apps/` without a config reads nothing
/// outside `apps/`; a file outside a repository is its own scope; and a config named with
/// `--config` names settings, never what is read (`from_file` is false for it).
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

/// The index of everything the inputs and the `repository` folders define: what the checked
/// `builds` made, what the other Kustomize roots build, and the files no build reads. Empty
/// when no rule would read it.
pub fn gather_scope(
    inputs: &Inputs,
    repository: &[PathBuf],
    stdin_name: &str,
    settings: &Settings,
    builds: &mut BuildResults,
) -> ScopeIndex {
    if !SCOPE_RULES.iter().any(|rule| settings.may_run(rule.meta())) {
        return ScopeIndex::default();
    }
    let mut index = std::mem::take(&mut builds.index);
    let mut covered = builds.covered.clone();
    let mut files = inputs.files.clone();
    // The repository's other Kustomize roots, which the check does not build.
    if !repository.is_empty() {
        files.extend(gather_inputs(repository, settings).files);
        files.sort_by(|a, b| a.absolute.cmp(&b.absolute));
        files.dedup_by(|a, b| a.absolute == b.absolute);
        let (others, read) = scope_of_builds(&files, settings, &builds.built);
        index.extend(others);
        covered.extend(read);
    }
    let raw = Inputs {
        stdin: inputs.stdin,
        files: files
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
    index
}

fn index_of(input: pipeline::Input<'_>, settings: &Settings) -> Option<ScopeIndex> {
    if !mentions_a_kind(&input.bytes) {
        return None;
    }
    let text = std::str::from_utf8(&input.bytes).ok()?;
    let mut index = ScopeIndex::default();
    // Only the documents that mention a kind are parsed: in a stream of a Deployment, a
    // Service, a ConfigMap and a NetworkPolicy, the policy alone.
    for document in documents_of(text).filter(|d| mentions_a_kind(d.as_bytes())) {
        let stream = load_stream(document, Limits::default());
        let model = extract(&stream.documents, &settings.catalog);
        index.add(&model, settings.default_namespace());
    }
    Some(index)
}

fn mentions_a_kind(bytes: &[u8]) -> bool {
    KINDS
        .iter()
        .any(|kind| memchr::memmem::find(bytes, kind).is_some())
}

/// The documents of a YAML stream, split at the `---` lines that start each one. Good enough
/// to choose what to parse: a `---` at the start of a line inside a document is not valid
/// YAML, whose nested content is indented.
fn documents_of(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let end = rest
            .match_indices("\n---")
            .map(|(at, _)| at + 1)
            .find(|&at| {
                let after = &rest.as_bytes()[at + 3..];
                after.first().is_none_or(|b| b.is_ascii_whitespace())
            })
            .unwrap_or(rest.len());
        let (document, next) = rest.split_at(end);
        rest = next.get(3..).unwrap_or("");
        Some(document)
    })
}

#[cfg(test)]
mod tests {
    use super::documents_of;

    #[test]
    fn streams_split_at_document_markers_only() {
        let text = "a: 1\n---\nb: 2\n--- # c\nc: |\n  ---\n---x: 3\n---";
        let documents: Vec<&str> = documents_of(text).collect();
        assert_eq!(
            documents,
            ["a: 1\n", "\nb: 2\n", " # c\nc: |\n  ---\n---x: 3\n"]
        );
        assert_eq!(documents_of("").count(), 0);
        // A marker that opens the stream stays with its document, which parses as it is.
        assert_eq!(
            documents_of("---\nkind: A\n").collect::<Vec<_>>(),
            ["---\nkind: A\n"]
        );
    }
}
