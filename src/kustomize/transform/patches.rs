//! `patches`, `patchesStrategicMerge` and `patchesJson6902`: patch text from a file or inline,
//! applied to the resources a target selector (or, for a strategic merge patch without one,
//! the patch's own kind and name) picks.

use regex::Regex;

use super::super::KustomizeError;
use super::super::load::{Builder, Kustomization};
use super::super::resource::Resource;
use super::{json6902, smp};
use crate::source::Span;
use crate::yaml::Node;

/// `patchesStrategicMerge`: files or inline documents, each naming its target.
pub fn apply_strategic_merge(
    k: &Kustomization,
    resources: &mut Vec<Resource>,
    builder: &mut Builder,
) -> Result<(), KustomizeError> {
    for entry in k
        .node
        .get("patchesStrategicMerge")
        .and_then(Node::as_sequence)
        .unwrap_or(&[])
    {
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
    for entry in k
        .node
        .get("patches")
        .and_then(Node::as_sequence)
        .unwrap_or(&[])
    {
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
    for entry in k
        .node
        .get("patchesJson6902")
        .and_then(Node::as_sequence)
        .unwrap_or(&[])
    {
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

/// A patch `target`: group, version, kind, name and namespace (anchored regular expressions,
/// as kustomize reads them), label and annotation selectors.
struct Selector {
    group: Option<Regex>,
    version: Option<Regex>,
    kind: Option<Regex>,
    name: Option<Regex>,
    namespace: Option<Regex>,
    labels: Option<Vec<Requirement>>,
    annotations: Option<Vec<Requirement>>,
}

impl Selector {
    fn read(node: &Node) -> Result<Selector, KustomizeError> {
        let text = |key| node.get(key).and_then(Node::as_str).map(str::to_string);
        let regex = |key| -> Result<Option<Regex>, KustomizeError> {
            text(key)
                .map(|pattern| {
                    Regex::new(&format!("^(?:{pattern})$")).map_err(|e| {
                        KustomizeError::at(format!("invalid `{key}` pattern: {e}"), node.span)
                    })
                })
                .transpose()
        };
        let selector = |key| -> Result<Option<Vec<Requirement>>, KustomizeError> {
            text(key).map(|s| parse_selector(&s, node.span)).transpose()
        };
        Ok(Selector {
            group: regex("group")?,
            version: regex("version")?,
            kind: regex("kind")?,
            name: regex("name")?,
            namespace: regex("namespace")?,
            labels: selector("labelSelector")?,
            annotations: selector("annotationSelector")?,
        })
    }

    fn matches(&self, resource: &Resource) -> bool {
        let api_version = resource.api_version();
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        let names = std::iter::once(resource.name())
            .chain(resource.previous.iter().map(|(n, _)| n.as_str()));
        self.group.as_ref().is_none_or(|re| re.is_match(group))
            && self.version.as_ref().is_none_or(|re| re.is_match(version))
            && self
                .kind
                .as_ref()
                .is_none_or(|re| re.is_match(resource.kind()))
            && self
                .name
                .as_ref()
                .is_none_or(|re| names.clone().any(|n| re.is_match(n)))
            && self
                .namespace
                .as_ref()
                .is_none_or(|re| re.is_match(resource.namespace().unwrap_or("")))
            && self
                .labels
                .as_ref()
                .is_none_or(|reqs| satisfied(reqs, resource.node.at(&["metadata", "labels"])))
            && self
                .annotations
                .as_ref()
                .is_none_or(|reqs| satisfied(reqs, resource.node.at(&["metadata", "annotations"])))
    }
}

/// One clause of a Kubernetes label selector.
enum Requirement {
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    Absent(String),
}

/// `app=web,tier!=db,env in (a,b),!legacy,team`.
fn parse_selector(text: &str, span: Span) -> Result<Vec<Requirement>, KustomizeError> {
    let mut clauses = Vec::new();
    let mut depth = 0;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                clauses.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    clauses.push(&text[start..]);
    clauses
        .into_iter()
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(|clause| {
            parse_clause(clause).ok_or_else(|| {
                KustomizeError::at(format!("invalid selector clause `{clause}`"), span)
            })
        })
        .collect()
}

fn parse_clause(clause: &str) -> Option<Requirement> {
    let set = |rest: &str| -> Option<Vec<String>> {
        let inner = rest.trim().strip_prefix('(')?.strip_suffix(')')?;
        Some(inner.split(',').map(|v| v.trim().to_string()).collect())
    };
    if let Some(key) = clause.strip_prefix('!') {
        return Some(Requirement::Absent(key.trim().to_string()));
    }
    if let Some((key, value)) = clause.split_once("!=") {
        return Some(Requirement::NotEquals(
            key.trim().into(),
            value.trim().into(),
        ));
    }
    if let Some((key, value)) = clause.split_once("==").or_else(|| clause.split_once('=')) {
        return Some(Requirement::Equals(key.trim().into(), value.trim().into()));
    }
    if let Some((key, rest)) = clause.split_once(" notin ") {
        return Some(Requirement::NotIn(key.trim().into(), set(rest)?));
    }
    if let Some((key, rest)) = clause.split_once(" in ") {
        return Some(Requirement::In(key.trim().into(), set(rest)?));
    }
    Some(Requirement::Exists(clause.to_string()))
}

fn satisfied(requirements: &[Requirement], labels: Option<&Node>) -> bool {
    let value = |key: &str| {
        labels
            .and_then(|l| l.get(key))
            .and_then(|v| v.as_scalar())
            .map(|s| s.text.as_str())
    };
    requirements.iter().all(|requirement| match requirement {
        Requirement::Equals(k, v) => value(k) == Some(v),
        Requirement::NotEquals(k, v) => value(k) != Some(v),
        Requirement::In(k, set) => value(k).is_some_and(|v| set.iter().any(|s| s == v)),
        Requirement::NotIn(k, set) => value(k).is_none_or(|v| !set.iter().any(|s| s == v)),
        Requirement::Exists(k) => value(k).is_some() || labels.and_then(|l| l.get(k)).is_some(),
        Requirement::Absent(k) => labels.and_then(|l| l.get(k)).is_none(),
    })
}
