//! `namespace:` sets the namespace of every namespaced resource, renames a core `Namespace`
//! resource, and sets it on (Cluster)RoleBinding subjects named `default`, as kustomize does
//! by default. Every resource remembers its id first, even when nothing changes: later name
//! references and patches match against it.

use super::super::fieldspec::FieldSpec;
use super::super::resource::Resource;
use crate::yaml::Node;

/// Other fields that hold the namespace of the resource itself.
const NAMESPACE_FIELDS: &[FieldSpec] = &[
    FieldSpec::of(
        "apiregistration.k8s.io",
        "APIService",
        "spec/service/namespace",
        true,
    ),
    FieldSpec::of(
        "apiextensions.k8s.io",
        "CustomResourceDefinition",
        "spec/conversion/webhook/clientConfig/service/namespace",
        false,
    ),
];

pub fn apply(kustomization: &Node, resources: &mut [Resource]) {
    let Some(value) = kustomization.get("namespace") else {
        return;
    };
    let Some(namespace) = value.as_str().filter(|n| !n.is_empty()) else {
        return;
    };
    for resource in resources {
        resource.store_previous_id();
        let kind = resource.kind().to_string();
        if kind == "Namespace" && resource.api_version() == "v1" {
            resource.set_name(namespace, value.span);
        }
        if matches!(kind.as_str(), "RoleBinding" | "ClusterRoleBinding") {
            set_default_subjects(&mut resource.node, namespace, value);
        }
        let group = resource.group().to_string();
        for spec in NAMESPACE_FIELDS
            .iter()
            .filter(|s| s.applies_to(&group, &kind))
        {
            spec.visit(&mut resource.node, value.span, &mut |node| {
                *node = Node::scalar(namespace, value.span);
            });
        }
        if resource.is_cluster_scoped() {
            continue;
        }
        if resource.node.get("metadata").is_none_or(Node::is_null) {
            resource
                .node
                .set("metadata", Node::mapping(Vec::new(), value.span));
        }
        if let Some(metadata) = resource.node.get_mut("metadata") {
            metadata.set("namespace", Node::scalar(namespace, value.span));
        }
    }
}

fn set_default_subjects(binding: &mut Node, namespace: &str, value: &Node) {
    let Some(subjects) = binding.get_mut("subjects") else {
        return;
    };
    if let crate::yaml::Value::Sequence(items) = &mut subjects.value {
        for subject in items {
            if subject.get("name").and_then(Node::as_str) == Some("default") {
                subject.set("namespace", Node::scalar(namespace, value.span));
            }
        }
    }
}

/// How a `NamespaceTransformer` config treats (Cluster)RoleBinding subjects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subjects {
    /// Those named `default` (kustomize's default).
    DefaultOnly,
    /// Every ServiceAccount subject.
    AllServiceAccounts,
    None,
}

/// A `NamespaceTransformer` config, as kustomize's plugin runs it: the namespace on every
/// namespaced resource's metadata and on the binding subjects `subjects` says, and on the
/// config's own `fieldSpecs` (these replace the built-in places the `namespace:` field has;
/// a `metadata/name` place renames only a core `Namespace`). With `unset_only`, only where
/// no namespace is set yet.
pub fn apply_config(
    value: &Node,
    specs: &[super::super::configurations::ConfigFieldSpec],
    unset_only: bool,
    subjects: Subjects,
    resources: &mut [Resource],
) {
    let Some(namespace) = value.as_str().filter(|n| !n.is_empty()) else {
        return;
    };
    let set = |node: &mut Node| {
        if !(unset_only && node.as_str().is_some_and(|v| !v.is_empty())) {
            *node = Node::scalar(namespace, value.span);
        }
    };
    for resource in resources {
        resource.store_previous_id();
        let is_binding = matches!(resource.kind(), "RoleBinding" | "ClusterRoleBinding");
        if !resource.is_cluster_scoped() {
            set_metadata_namespace(resource, namespace, value, &set);
        }
        if is_binding {
            set_subjects(&mut resource.node, subjects, &set);
        }
        for spec in specs {
            let renames = spec.path == "metadata/name";
            let skipped = spec.path == "metadata/namespace"
                || (renames && resource.api_version() != "v1")
                || (is_binding && spec.path.starts_with("subjects"));
            if skipped || !spec.applies_to(resource) {
                continue;
            }
            if renames {
                if resource.node.at(&["metadata", "name"]).is_some() {
                    resource.set_name(namespace, value.span);
                }
                continue;
            }
            spec.visit(resource, &mut |node| set(node));
        }
    }
}

fn set_metadata_namespace(
    resource: &mut Resource,
    namespace: &str,
    value: &Node,
    set: &dyn Fn(&mut Node),
) {
    if resource.node.get("metadata").is_none_or(Node::is_null) {
        resource
            .node
            .set("metadata", Node::mapping(Vec::new(), value.span));
    }
    if let Some(metadata) = resource.node.get_mut("metadata") {
        match metadata.get_mut("namespace") {
            Some(node) => set(node),
            None => metadata.set("namespace", Node::scalar(namespace, value.span)),
        }
    }
}

fn set_subjects(binding: &mut Node, subjects: Subjects, set: &dyn Fn(&mut Node)) {
    let Some(crate::yaml::Value::Sequence(items)) =
        binding.get_mut("subjects").map(|s| &mut s.value)
    else {
        return;
    };
    for subject in items {
        let text = |key| subject.get(key).and_then(Node::as_str);
        let wanted = match subjects {
            Subjects::DefaultOnly => text("name") == Some("default"),
            Subjects::AllServiceAccounts => text("kind") == Some("ServiceAccount"),
            Subjects::None => false,
        };
        if !wanted {
            continue;
        }
        if subject.get("namespace").is_none() {
            subject.set("namespace", Node::scalar("", subject.span));
        }
        if let Some(node) = subject.get_mut("namespace") {
            set(node);
        }
    }
}
