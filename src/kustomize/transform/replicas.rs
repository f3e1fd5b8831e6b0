//! `replicas:` sets `spec.replicas` of the workloads it names.

use super::super::KustomizeError;
use super::super::resource::Resource;
use crate::yaml::Node;

const SCALABLE: &[&str] = &[
    "Deployment",
    "ReplicationController",
    "ReplicaSet",
    "StatefulSet",
];

pub fn apply(kustomization: &Node, resources: &mut [Resource]) -> Result<(), KustomizeError> {
    for entry in kustomization.list("replicas") {
        let (Some(name), Some(count)) =
            (entry.get("name").and_then(Node::as_str), entry.get("count"))
        else {
            return Err(KustomizeError::at(
                "a `replicas` entry needs `name` and `count`",
                entry.span,
            ));
        };
        let Some(count_text) = count.as_str().filter(|c| c.parse::<u64>().is_ok()) else {
            return Err(KustomizeError::at(
                "`count` must be a whole number",
                count.span,
            ));
        };
        let mut matched = false;
        for resource in resources.iter_mut() {
            if !SCALABLE.contains(&resource.kind()) || !resource.was_named(name) {
                continue;
            }
            matched = true;
            if resource.node.get("spec").is_none() {
                resource
                    .node
                    .set("spec", Node::mapping(Vec::new(), count.span));
            }
            if let Some(spec) = resource.node.get_mut("spec") {
                spec.set("replicas", Node::scalar(count_text, count.span));
            }
        }
        // Unlike `images`, kustomize refuses a `replicas` entry that matches nothing.
        if !matched {
            return Err(KustomizeError::at(
                format!(
                    "`replicas` names `{name}`, which matches no Deployment, ReplicationController, ReplicaSet or StatefulSet"
                ),
                entry.span,
            ));
        }
    }
    Ok(())
}

/// A `ReplicaCountTransformer` config, as kustomize's plugin runs it: `replica.count` at each
/// of its own `fieldSpecs` (its only places) in the resources of that kind that had
/// `replica.name`; an error when no place matches anything.
pub fn apply_config(
    replica: &Node,
    specs: &[super::super::configurations::ConfigFieldSpec],
    span: crate::source::Span,
    resources: &mut [Resource],
) -> Result<(), KustomizeError> {
    let name = replica.get("name").and_then(Node::as_str).unwrap_or("");
    let count = replica.get("count").and_then(Node::as_str).unwrap_or("0");
    if count.parse::<i64>().is_err() {
        return Err(KustomizeError::at(
            "`replica.count` must be a whole number",
            replica.span,
        ));
    }
    let count_span = replica.get("count").map_or(replica.span, |c| c.span);
    let mut found = false;
    for spec in specs {
        for resource in resources.iter_mut() {
            if !spec.applies_to(resource) || !resource.was_named(name) {
                continue;
            }
            found = true;
            spec.visit(resource, &mut |node| {
                *node = Node::scalar(count, count_span);
            });
        }
    }
    if !found {
        let kinds: Vec<&str> = specs.iter().map(|spec| spec.kind.as_str()).collect();
        return Err(KustomizeError::at(
            format!(
                "resource with name {name} does not match a config with the following GVK {kinds:?} (kustomize's ReplicaCountTransformer)"
            ),
            span,
        ));
    }
    Ok(())
}
