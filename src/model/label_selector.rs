//! Kubernetes label selectors (`matchLabels` and `matchExpressions`), with the semantics the
//! API server gives them: every requirement must hold, and the empty selector selects
//! everything.

use std::collections::BTreeMap;

use crate::yaml::Node;

/// Labels of a pod template, as `key → value`.
pub type Labels = BTreeMap<String, String>;

/// An owned label selector, so that an index of policies outlives the files it was read from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSelector {
    requirements: Vec<Requirement>,
    /// A selector the API server would reject (an unknown operator, `In` without values): it
    /// selects nothing, so a broken policy never hides a workload.
    invalid: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Requirement {
    Equals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    DoesNotExist(String),
}

impl LabelSelector {
    /// Reads a selector node. An absent or null selector is the empty one: it selects every
    /// pod (what the API server makes of a NetworkPolicy without `podSelector`).
    pub fn read(node: Option<&Node>) -> LabelSelector {
        let mut selector = LabelSelector::default();
        let Some(node) = node.filter(|n| !n.is_null()) else {
            return selector;
        };
        if node.as_mapping().is_none() {
            selector.invalid = true;
            return selector;
        }
        for (key, value) in node
            .get("matchLabels")
            .and_then(Node::as_mapping)
            .unwrap_or(&[])
        {
            match (key.as_str(), value.as_str()) {
                (Some(key), Some(value)) => selector
                    .requirements
                    .push(Requirement::Equals(key.to_string(), value.to_string())),
                _ => selector.invalid = true,
            }
        }
        for expression in node.list("matchExpressions") {
            match read_expression(expression) {
                Some(requirement) => selector.requirements.push(requirement),
                None => selector.invalid = true,
            }
        }
        selector
    }

    /// Whether this selector selects every pod: no requirement at all.
    pub fn is_empty(&self) -> bool {
        !self.invalid && self.requirements.is_empty()
    }

    pub fn matches(&self, labels: &Labels) -> bool {
        !self.invalid && self.requirements.iter().all(|r| r.holds(labels))
    }
}

fn read_expression(node: &Node) -> Option<Requirement> {
    let key = node.get("key")?.as_str()?.to_string();
    let values: Option<Vec<String>> = node
        .list("values")
        .iter()
        .map(|v| v.as_str().map(str::to_string))
        .collect();
    let values = values?;
    match node.get("operator")?.as_str()? {
        "In" if !values.is_empty() => Some(Requirement::In(key, values)),
        "NotIn" if !values.is_empty() => Some(Requirement::NotIn(key, values)),
        "Exists" if values.is_empty() => Some(Requirement::Exists(key)),
        "DoesNotExist" if values.is_empty() => Some(Requirement::DoesNotExist(key)),
        _ => None,
    }
}

impl Requirement {
    fn holds(&self, labels: &Labels) -> bool {
        match self {
            Requirement::Equals(key, value) => labels.get(key) == Some(value),
            Requirement::In(key, values) => labels.get(key).is_some_and(|v| values.contains(v)),
            // As in Kubernetes: a pod without the key satisfies `NotIn`.
            Requirement::NotIn(key, values) => labels.get(key).is_none_or(|v| !values.contains(v)),
            Requirement::Exists(key) => labels.contains_key(key),
            Requirement::DoesNotExist(key) => !labels.contains_key(key),
        }
    }
}

/// The labels of a `labels:` mapping; values that are not strings are skipped (the API server
/// would reject them).
pub fn read_labels(node: Option<&Node>) -> Labels {
    node.and_then(Node::as_mapping)
        .unwrap_or(&[])
        .iter()
        .filter_map(|(k, v)| Some((k.as_str()?.to_string(), v.as_str()?.to_string())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::{Limits, load_stream};

    fn selector(yaml: &str) -> LabelSelector {
        let stream = load_stream(yaml, Limits::default());
        LabelSelector::read(stream.documents.first())
    }

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_empty_selector_selects_every_pod() {
        for yaml in ["{}", "", "null", "matchLabels: {}"] {
            let selector = selector(yaml);
            assert!(selector.is_empty(), "{yaml}");
            assert!(selector.matches(&labels(&[])), "{yaml}");
            assert!(selector.matches(&labels(&[("app", "web")])), "{yaml}");
        }
    }

    #[test]
    fn match_labels_needs_every_pair() {
        let s = selector("matchLabels: {app: web, tier: front}");
        assert!(s.matches(&labels(&[("app", "web"), ("tier", "front"), ("x", "y")])));
        assert!(!s.matches(&labels(&[("app", "web")])));
        assert!(!s.matches(&labels(&[("app", "web"), ("tier", "back")])));
        assert!(!s.is_empty());
    }

    #[test]
    fn expressions_follow_kubernetes_semantics() {
        let s = selector("matchExpressions: [{key: env, operator: In, values: [prod, stage]}]");
        assert!(s.matches(&labels(&[("env", "prod")])));
        assert!(!s.matches(&labels(&[("env", "dev")])));
        assert!(!s.matches(&labels(&[])), "In needs the key");

        let s = selector("matchExpressions: [{key: env, operator: NotIn, values: [dev]}]");
        assert!(s.matches(&labels(&[("env", "prod")])));
        assert!(s.matches(&labels(&[])), "NotIn holds without the key");
        assert!(!s.matches(&labels(&[("env", "dev")])));

        let s = selector("matchExpressions: [{key: app, operator: Exists}]");
        assert!(s.matches(&labels(&[("app", "")])));
        assert!(!s.matches(&labels(&[])));

        let s = selector("matchExpressions: [{key: canary, operator: DoesNotExist}]");
        assert!(s.matches(&labels(&[("app", "web")])));
        assert!(!s.matches(&labels(&[("canary", "true")])));
    }

    #[test]
    fn labels_and_expressions_are_anded() {
        let s = selector(
            "matchLabels: {app: web}\nmatchExpressions: [{key: env, operator: NotIn, values: [dev]}]",
        );
        assert!(s.matches(&labels(&[("app", "web"), ("env", "prod")])));
        assert!(!s.matches(&labels(&[("app", "web"), ("env", "dev")])));
        assert!(!s.matches(&labels(&[("app", "api"), ("env", "prod")])));
    }

    #[test]
    fn a_selector_the_api_server_rejects_selects_nothing() {
        for yaml in [
            "matchExpressions: [{key: a, operator: Equals, values: [b]}]",
            "matchExpressions: [{key: a, operator: In, values: []}]",
            "matchExpressions: [{key: a, operator: Exists, values: [b]}]",
            "matchExpressions: [{operator: Exists}]",
            "[app]",
        ] {
            let s = selector(yaml);
            assert!(!s.matches(&labels(&[("a", "b"), ("app", "x")])), "{yaml}");
            assert!(!s.is_empty(), "{yaml}");
        }
    }
}
