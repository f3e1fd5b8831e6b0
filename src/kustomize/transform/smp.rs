//! Strategic merge patches, as kubectl and kustomize apply them to Kubernetes objects: maps
//! merge key by key, `null` deletes, lists of named things merge by their merge key
//! (containers by `name`, volume mounts by `mountPath` …), other lists are replaced, and the
//! `$patch: replace|delete` directives are honoured. Like kustomize, other `$` keys
//! (`$retainKeys`, `$setElementOrder/…`) are not interpreted: they pass through as data.
//!
//! A merged list holds the patch's items first, in the patch's order (merged into the
//! original item of the same key), then the original items the patch does not mention.

use crate::yaml::{Node, Value};

const PATCH: &str = "$patch";

/// Merges `patch` into `target`. Returns `false` when the patch deletes the target itself.
pub fn merge(target: &mut Node, patch: &Node) -> bool {
    super::super::openapi::merging(target.get("kind").and_then(Node::as_str).unwrap_or(""));
    merge_at(target, patch, &[])
}

fn merge_at(target: &mut Node, patch: &Node, path: &[&str]) -> bool {
    let Some(entries) = patch.as_mapping() else {
        *target = patch.clone();
        return true;
    };
    match directive(patch) {
        Some("delete") => return false,
        Some("replace") => {
            *target = strip_directives(patch);
            return true;
        }
        _ => {}
    }
    if !matches!(target.value, Value::Mapping(_)) {
        *target = strip_directives(patch);
        return true;
    }
    for (key, value) in entries {
        let Some(name) = key.as_str() else { continue };
        if name == PATCH {
            continue;
        }
        if value.is_null() {
            target.remove(name);
            continue;
        }
        let child_path: Vec<&str> = path.iter().copied().chain(std::iter::once(name)).collect();
        match target.get_mut(name) {
            Some(existing) => match (&mut existing.value, &value.value) {
                (Value::Mapping(_), Value::Mapping(_)) => {
                    if !merge_at(existing, value, &child_path) {
                        target.remove(name);
                    }
                }
                (Value::Sequence(items), Value::Sequence(patch_items)) => {
                    merge_list(items, patch_items, &child_path);
                }
                _ => *existing = strip_directives(value),
            },
            None if directive(value) == Some("delete") => {}
            None => target.set(name, strip_directives(value)),
        }
    }
    true
}

fn merge_list(items: &mut Vec<Node>, patch_items: &[Node], path: &[&str]) {
    if patch_items
        .iter()
        .any(|item| directive(item) == Some("replace"))
    {
        *items = patch_items
            .iter()
            .filter(|item| directive(item) != Some("replace"))
            .map(strip_directives)
            .collect();
        return;
    }
    // A custom `openapi` schema's word on the list comes first.
    let key = super::super::openapi::merge_key(path)
        .unwrap_or_else(|| merge_key(path).map(str::to_string));
    let Some(key) = key.as_deref() else {
        *items = patch_items.iter().map(strip_directives).collect();
        return;
    };
    let mut originals: Vec<Option<Node>> = std::mem::take(items).into_iter().map(Some).collect();
    let key_of = |node: &Node| node.get(key).map(crate::config::to_json);
    for patch_item in patch_items {
        let wanted = key_of(patch_item);
        let found = wanted.as_ref().and_then(|wanted| {
            originals
                .iter()
                .position(|slot| slot.as_ref().and_then(key_of).as_ref() == Some(wanted))
        });
        let original = found.and_then(|index| originals[index].take());
        match (original, directive(patch_item)) {
            (_, Some("delete")) => {}
            (Some(mut original), _) => {
                if merge_at(&mut original, patch_item, path) {
                    items.push(original);
                }
            }
            (None, _) => items.push(strip_directives(patch_item)),
        }
    }
    items.extend(originals.into_iter().flatten());
}

/// The merge key of a list, by its field name and where it sits (the Kubernetes API's
/// `patchMergeKey`s for the lists manifests patch).
fn merge_key(path: &[&str]) -> Option<&'static str> {
    let field = *path.last()?;
    let in_container = path
        .iter()
        .any(|p| matches!(*p, "containers" | "initContainers" | "ephemeralContainers"));
    Some(match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "env"
        | "volumes"
        | "imagePullSecrets"
        | "volumeClaimTemplates" => "name",
        "volumeMounts" => "mountPath",
        "volumeDevices" => "devicePath",
        "ports" if in_container => "containerPort",
        "ports" => "port",
        "hostAliases" => "ip",
        "topologySpreadConstraints" => "topologyKey",
        "conditions" => "type",
        _ => return None,
    })
}

fn directive(node: &Node) -> Option<&str> {
    node.get(PATCH).and_then(Node::as_str)
}

/// The patch without its `$patch` directives, at any depth.
fn strip_directives(node: &Node) -> Node {
    let mut node = node.clone();
    strip_in_place(&mut node);
    node
}

fn strip_in_place(node: &mut Node) {
    match &mut node.value {
        Value::Mapping(entries) => {
            entries.retain(|(k, _)| k.as_str() != Some(PATCH));
            entries.iter_mut().for_each(|(_, v)| strip_in_place(v));
        }
        Value::Sequence(items) => items.iter_mut().for_each(strip_in_place),
        Value::Scalar(_) => {}
    }
}
