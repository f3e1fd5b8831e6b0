//! `patches`, `patchesStrategicMerge` and `patchesJson6902`: patch text from a file or inline,
//! applied to the resources a target selector (or, for a strategic merge patch without one,
//! the patch's own kind and name) picks.

use super::super::KustomizeError;
use super::super::load::{Builder, Kustomization};
use super::super::resource::Resource;
use super::selector::Selector;
use super::{json6902, smp};
use crate::yaml::Node;

/// `patchesStrategicMerge`: files or inline documents, each naming its target.
pub fn apply_strategic_merge(
    k: &Kustomization,
    resources: &mut Vec<Resource>,
    builder: &mut Builder,
) -> Result<(), KustomizeError> {
    for entry in k.node.list("patchesStrategicMerge") {
        let text = entry.as_str().unwrap_or("");
        let documents = if text.contains('\n') || text.contains(':') {
            builder.load_inline(k, text, entry.span)?
        } else {
            builder.load_patch_file(k, text, entry.span)?
        };
        for patch in &documents {
            apply_smp(patch, None, resources)?;
        }
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
        for patch in &documents {
            if patch.as_sequence().is_some() {
                let Some(selector) = &selector else {
                    return Err(KustomizeError::at(
                        "a JSON patch needs a `target`",
                        entry.span,
                    ));
                };
                for resource in resources.iter_mut().filter(|r| selector.matches(r)) {
                    json6902::apply(&mut resource.node, patch)?;
                }
            } else {
                apply_smp(patch, selector.as_ref(), resources)?;
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

fn apply_smp(
    patch: &Node,
    selector: Option<&Selector>,
    resources: &mut Vec<Resource>,
) -> Result<(), KustomizeError> {
    let mut deleted = Vec::new();
    let mut matched = false;
    for (index, resource) in resources.iter_mut().enumerate() {
        let hit = match selector {
            Some(selector) => selector.matches(resource),
            None => targets_itself(patch, resource),
        };
        if !hit {
            continue;
        }
        matched = true;
        let mut patch = patch.clone();
        if selector.is_some() {
            // With a target, the patch's own identity does not rename what it patches.
            patch.remove("apiVersion");
            patch.remove("kind");
            if let Some(metadata) = patch.get_mut("metadata") {
                metadata.remove("name");
            }
        }
        if !smp::merge(&mut resource.node, &patch) {
            deleted.push(index);
        }
    }
    if !matched && selector.is_none() {
        let name = patch
            .at(&["metadata", "name"])
            .and_then(Node::as_str)
            .unwrap_or("?");
        let kind = patch.get("kind").and_then(Node::as_str).unwrap_or("?");
        return Err(KustomizeError::at(
            format!("the patch for {kind} `{name}` matches no resource"),
            patch.span,
        ));
    }
    for index in deleted.into_iter().rev() {
        resources.remove(index);
    }
    Ok(())
}

/// A strategic merge patch without a target patches the resource with its kind and name.
fn targets_itself(patch: &Node, resource: &Resource) -> bool {
    let kind = patch.get("kind").and_then(Node::as_str);
    let name = patch.at(&["metadata", "name"]).and_then(Node::as_str);
    let namespace = patch.at(&["metadata", "namespace"]).and_then(Node::as_str);
    kind == Some(resource.kind()) && name.is_some_and(|name| resource.was_named(name, namespace))
}
