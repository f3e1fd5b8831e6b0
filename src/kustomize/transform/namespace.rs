//! `namespace:` sets the namespace of every namespaced resource, renames a `Namespace`
//! resource, and sets it on (Cluster)RoleBinding subjects named `default`, as kustomize does
//! by default.

use super::super::resource::Resource;
use crate::yaml::Node;

pub fn apply(kustomization: &Node, resources: &mut [Resource]) {
    let Some(value) = kustomization.get("namespace") else {
        return;
    };
    let Some(namespace) = value.as_str() else {
        return;
    };
    for resource in resources {
        resource.remember_identity();
        let kind = resource.kind().to_string();
        if kind == "Namespace" {
            if let Some(metadata) = resource.node.get_mut("metadata") {
                metadata.set("name", Node::scalar(namespace, value.span));
            }
            continue;
        }
        if matches!(kind.as_str(), "RoleBinding" | "ClusterRoleBinding") {
            set_default_subjects(&mut resource.node, namespace, value);
        }
        if resource.is_cluster_scoped() {
            continue;
        }
        if resource.node.get("metadata").is_none() {
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
