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
