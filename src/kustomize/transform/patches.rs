//! `patches`, `patchesStrategicMerge` and `patchesJson6902`: patch text from a file or inline,
//! applied to the resources a target selector (or, for a strategic merge patch without one,
//! the patch's own kind and name) picks.

use super::super::KustomizeError;
use super::super::kustomization::{Builder, Kustomization};
use super::super::resource::Resource;
use super::selector::Selector;
use super::{json6902, smp};
use crate::yaml::Node;

/// `patchesStrategicMerge`: files or inline documents, each naming its target. kustomize
/// refuses the field when every patch it names is empty.
pub fn apply_strategic_merge(
    k: &Kustomization,
    resources: &mut Vec<Resource>,
    builder: &mut Builder,
) -> Result<(), KustomizeError> {
    let Some((key, entries)) = k.node.entry("patchesStrategicMerge") else {
        return Ok(());
    };
    let mut patches = Vec::new();
    for entry in entries.as_sequence().unwrap_or(&[]) {
        let text = entry.as_str().unwrap_or("");
        if text.contains('\n') || text.contains(':') {
            patches.extend(builder.load_inline(k, text, entry.span)?);
        } else {
            patches.extend(builder.load_patch_file(k, text, entry.span)?);
        }
    }
    if patches.is_empty() {
        return Err(KustomizeError::at(
            "every patch in `patchesStrategicMerge` is empty (kustomize: patch appears to be empty)",
            key.span,
        ));
    }
    for patch in &patches {
        apply_smp(patch, None, PatchOptions::default(), resources)?;
    }
    Ok(())
}

/// `patches`: strategic merge or JSON 6902, told apart by shape (a list is a JSON patch).
pub fn apply_patches(
    k: &Kustomization,
    resources: &mut Vec<Resource>,
    builder: &mut Builder,
) -> Result<(), KustomizeError> {
    for entry in k.node.list("patches") {
        let documents = patch_documents(k, entry, builder)?;
        let selector = entry.get("target").map(Selector::read).transpose()?;
        let options = PatchOptions::read(entry.get("options"));
        let strategic = documents
            .iter()
            .filter(|d| d.as_sequence().is_none())
            .count();
        if selector.is_some() && strategic > 1 {
            return Err(KustomizeError::at(
                "a `patches` entry with a `target` may hold only one strategic merge patch",
                entry.span,
            ));
        }
        for patch in &documents {
            if patch.as_sequence().is_some() {
                let Some(selector) = &selector else {
                    return Err(KustomizeError::at(
                        "a JSON patch needs a `target`",
                        entry.span,
                    ));
                };
                for resource in resources.iter_mut().filter(|r| selector.matches(r)) {
                    resource.store_previous_id();
                    json6902::apply(&mut resource.node, patch)?;
                }
            } else {
                apply_smp(patch, selector.as_ref(), options, resources)?;
            }
        }
    }
    Ok(())
}

/// `patchesJson6902`: a target and a JSON patch, from a file or inline.
pub fn apply_json6902(
    k: &Kustomization,
    resources: &mut [Resource],
    builder: &mut Builder,
) -> Result<(), KustomizeError> {
    for entry in k.node.list("patchesJson6902") {
        let target = entry.get("target").ok_or_else(|| {
            KustomizeError::at("a `patchesJson6902` entry needs a `target`", entry.span)
        })?;
        let selector = Selector::read(target)?;
        for patch in &patch_documents(k, entry, builder)? {
            for resource in resources.iter_mut().filter(|r| selector.matches(r)) {
                json6902::apply(&mut resource.node, patch)?;
            }
        }
    }
    Ok(())
}

fn patch_documents(
    k: &Kustomization,
    entry: &Node,
    builder: &mut Builder,
) -> Result<Vec<Node>, KustomizeError> {
    match (
        entry.get("patch").and_then(Node::as_str),
        entry.get("path").and_then(Node::as_str),
    ) {
        (Some(text), None) => builder.load_inline(k, text, entry.span),
        (None, Some(path)) => builder.load_patch_file(k, path, entry.span),
        _ => Err(KustomizeError::at(
            "a patch needs exactly one of `patch` and `path`",
            entry.span,
        )),
    }
}

/// A patch's `options`: whether it may rename its target or change its kind.
#[derive(Debug, Default, Clone, Copy)]
struct PatchOptions {
    allow_name_change: bool,
    allow_kind_change: bool,
}

impl PatchOptions {
    fn read(node: Option<&Node>) -> PatchOptions {
        let flag = |key| node.and_then(|n| n.get(key)).and_then(Node::as_str) == Some("true");
        PatchOptions {
            allow_name_change: flag("allowNameChange"),
            allow_kind_change: flag("allowKindChange"),
        }
    }
}

fn apply_smp(
    patch: &Node,
    selector: Option<&Selector>,
    options: PatchOptions,
    resources: &mut Vec<Resource>,
) -> Result<(), KustomizeError> {
    let targets: Vec<usize> = match selector {
        Some(selector) => (0..resources.len())
            .filter(|&i| selector.matches(&resources[i]))
            .collect(),
        None => vec![target_of(patch, resources)?],
    };
    let mut deleted = Vec::new();
    for index in targets {
        let resource = &mut resources[index];
        let mut patch = patch.clone();
        if selector.is_some() {
            // With a target, the patch takes the group and version of what it patches.
            patch.remove("apiVersion");
        }
        if !merge_keeping_identity(resource, &patch, options) {
            deleted.push(index);
        }
    }
    for index in deleted.into_iter().rev() {
        resources.remove(index);
    }
    Ok(())
}

/// Merges `patch` into `resource`; its kind and name stay unless the patch may change them,
/// and its namespace always stays. Returns `false` when the patch deletes the resource.
fn merge_keeping_identity(resource: &mut Resource, patch: &Node, options: PatchOptions) -> bool {
    let (kind, name) = (resource.kind().to_string(), resource.name().to_string());
    let namespace = resource.namespace().map(str::to_string);
    if options.allow_name_change || options.allow_kind_change {
        resource.store_previous_id();
    }
    if !smp::merge(&mut resource.node, patch) {
        return false;
    }
    let span = resource.node.span;
    if !options.allow_kind_change {
        resource.node.set("kind", Node::scalar(kind, span));
    }
    if !options.allow_name_change {
        resource.set_name(&name, span);
    }
    if let Some(metadata) = resource.node.get_mut("metadata") {
        match namespace {
            Some(namespace) => metadata.set("namespace", Node::scalar(namespace, span)),
            None => {
                metadata.remove("namespace");
            }
        }
    }
    true
}

/// A strategic merge patch without a target patches the one resource that has (or had) its
/// group, version, kind, name and namespace.
fn target_of(patch: &Node, resources: &[Resource]) -> Result<usize, KustomizeError> {
    let probe = Resource::new(patch.clone());
    let id = probe.current_id();
    let matches: Vec<usize> = (0..resources.len())
        .filter(|&i| resources[i].had_id(&id))
        .collect();
    match matches.as_slice() {
        [one] => Ok(*one),
        [] => Err(KustomizeError::at(
            format!(
                "the patch for {} `{}` matches no resource (kustomize: no matches for Id {})",
                id.kind,
                id.name,
                id.describe()
            ),
            patch.span,
        )),
        _ => Err(KustomizeError::at(
            format!(
                "the patch for {} `{}` matches {} resources (kustomize: multiple matches for Id {})",
                id.kind,
                id.name,
                matches.len(),
                id.describe()
            ),
            patch.span,
        )),
    }
}
