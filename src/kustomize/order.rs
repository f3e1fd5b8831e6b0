//! The order `kustomize build` prints resources in: its legacy kind order by default (kinds a
//! cluster needs first, such as Namespaces and CRDs, at the top; webhook configurations last;
//! then by group, version, kind, namespace and name), or the order they were read in with
//! `sortOptions: {order: fifo}`.

use super::resource::{ResId, Resource};
use crate::yaml::Node;

/// Kinds printed first, in this order.
const FIRST: &[&str] = &[
    "Namespace",
    "ResourceQuota",
    "StorageClass",
    "CustomResourceDefinition",
    "ServiceAccount",
    "PodSecurityPolicy",
    "Role",
    "ClusterRole",
    "RoleBinding",
    "ClusterRoleBinding",
    "ConfigMap",
    "Secret",
    "Endpoints",
    "Service",
    "LimitRange",
    "PriorityClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "Deployment",
    "StatefulSet",
    "CronJob",
    "PodDisruptionBudget",
];

/// Kinds printed last, in this order.
const LAST: &[&str] = &[
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

/// Sorts `resources` as the root kustomization's `sortOptions` say.
pub fn sort(resources: &mut [Resource], options: Option<&Node>) {
    if options.and_then(|o| o.get("order")).and_then(Node::as_str) == Some("fifo") {
        return;
    }
    let legacy = options.and_then(|o| o.get("legacySortOptions"));
    let list = |key| -> Vec<String> {
        legacy
            .map(|l| l.list(key))
            .unwrap_or(&[])
            .iter()
            .filter_map(|n| n.as_str().map(str::to_string))
            .collect()
    };
    let (first, last) = match legacy {
        Some(_) => (list("orderFirst"), list("orderLast")),
        None => (
            FIRST.iter().map(|s| s.to_string()).collect(),
            LAST.iter().map(|s| s.to_string()).collect(),
        ),
    };
    let rank = |kind: &str| -> i64 {
        if let Some(i) = first.iter().position(|k| k == kind) {
            return i as i64 - first.len() as i64;
        }
        last.iter()
            .position(|k| k == kind)
            .map_or(0, |i| i as i64 + 1)
    };
    resources.sort_by(|a, b| {
        let (a, b) = (a.current_id(), b.current_id());
        rank(a.kind)
            .cmp(&rank(b.kind))
            .then_with(|| gvk_order(&a, &b))
            .then_with(|| id_text(&a).cmp(&id_text(&b)))
    });
}

/// Same rank: by `group_version_kind` (with `~G`, `~V`, `~K` for empty parts), except that a
/// Namespace of no group sorts after other Namespaces, as kustomize has it.
fn gvk_order(a: &ResId<'_>, b: &ResId<'_>) -> std::cmp::Ordering {
    let text = |id: &ResId<'_>| {
        format!(
            "{}_{}_{}",
            or(id.group, "~G"),
            or(id.version, "~V"),
            or(id.kind, "~K")
        )
    };
    let order = text(a).cmp(&text(b));
    let namespaces = a.kind == "Namespace" && b.kind == "Namespace";
    if namespaces && (a.group.is_empty() || b.group.is_empty()) {
        order.reverse()
    } else {
        order
    }
}

/// kustomize's sort text of an id: `Kind.version.group|namespace|name`.
fn id_text(id: &ResId<'_>) -> String {
    format!(
        "{}.{}.{}|{}|{}",
        or(id.kind, "[noKind]"),
        or(id.version, "[noVer]"),
        or(id.group, "[noGrp]"),
        or(id.namespace, "~X"),
        or(id.name, "~N")
    )
}

/// `text`, or `none` when it is empty: how kustomize writes an empty part of an id.
fn or<'a>(text: &'a str, none: &'a str) -> &'a str {
    if text.is_empty() { none } else { text }
}
