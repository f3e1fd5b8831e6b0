//! `namePrefix:` and `nameSuffix:` rename every resource but CRDs, APIServices and
//! Namespaces; references to the renamed resources are fixed afterwards
//! (see `name_reference`).

use super::super::resource::Resource;
use crate::yaml::Node;

const NOT_RENAMED: &[&str] = &["CustomResourceDefinition", "APIService", "Namespace"];

pub fn apply(kustomization: &Node, resources: &mut [Resource]) {
    let prefix = kustomization
        .get("namePrefix")
        .and_then(Node::as_str)
        .unwrap_or("");
    let suffix = kustomization
        .get("nameSuffix")
        .and_then(Node::as_str)
        .unwrap_or("");
    if prefix.is_empty() && suffix.is_empty() {
        return;
    }
    let span = kustomization
        .get("namePrefix")
        .or_else(|| kustomization.get("nameSuffix"))
        .map_or_else(Default::default, |node| node.span);
    for resource in resources {
        if NOT_RENAMED.contains(&resource.kind()) {
            continue;
        }
        resource.remember_identity();
        let renamed = format!("{prefix}{}{suffix}", resource.name());
        if let Some(metadata) = resource.node.get_mut("metadata") {
            metadata.set("name", Node::scalar(renamed, span));
        }
    }
}
