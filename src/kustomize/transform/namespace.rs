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
