//! Which resources a patch `target`, or a replacement's `source`, `select` and `reject`, pick:
//! group, version, kind, name and namespace as anchored regular expressions (as kustomize
//! reads them), and label and annotation selectors.

use regex::Regex;

use super::super::KustomizeError;
use super::super::resource::Resource;
use crate::source::Span;
use crate::yaml::Node;

/// A patch `target`: group, version, kind, name and namespace (anchored regular expressions,
/// as kustomize reads them), label and annotation selectors.
pub struct Selector {
    group: Option<Regex>,
    version: Option<Regex>,
    kind: Option<Regex>,
    name: Option<Regex>,
    namespace: Option<Regex>,
    labels: Option<Vec<Requirement>>,
    annotations: Option<Vec<Requirement>>,
}

impl Selector {
    pub fn read(node: &Node) -> Result<Selector, KustomizeError> {
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

    /// kustomize's `Select`: the name and namespace may match the resource's original or
    /// its current ones (a namespace compared as kustomize does, none being `default`).
    pub fn matches(&self, resource: &Resource) -> bool {
        let (original, current) = (resource.original_id(), resource.current_id());
        let either = |re: &Option<Regex>, first: &str, second: &str| {
            re.as_ref()
                .is_none_or(|re| re.is_match(first) || re.is_match(second))
        };
        let only = |re: &Option<Regex>, text: &str| re.as_ref().is_none_or(|re| re.is_match(text));
        only(&self.group, current.group)
            && only(&self.version, current.version)
            && only(&self.kind, current.kind)
            && either(&self.name, original.name, current.name)
            && either(
                &self.namespace,
                original.effective_namespace(),
                current.effective_namespace(),
            )
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

impl Selector {
    /// How a replacement picks its source and targets: any id the resource has had (its
    /// current one or an earlier one) may match.
    pub fn matches_any_id(&self, resource: &Resource) -> bool {
        let only = |re: &Option<Regex>, text: &str| re.as_ref().is_none_or(|re| re.is_match(text));
        let id_matches = resource.any_ids().any(|id| {
            only(&self.group, id.group)
                && only(&self.version, id.version)
                && only(&self.kind, id.kind)
                && only(&self.name, id.name)
                && (only(&self.namespace, id.namespace)
                    || only(&self.namespace, id.effective_namespace()))
        });
        id_matches
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
