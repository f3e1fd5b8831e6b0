//! Resources annotated `config.kubernetes.io/local-config: "true"` take part in the build
//! (as sources of replacements, vars and name references) but are not part of its output.

use super::resource::Resource;
use crate::yaml::Node;

const LOCAL_CONFIG: &str = "config.kubernetes.io/local-config";

pub fn is_local(resource: &Resource) -> bool {
    resource
        .node
        .at(&["metadata", "annotations"])
        .and_then(|annotations| annotations.get(LOCAL_CONFIG))
        .and_then(Node::as_str)
        == Some("true")
}

/// Drops the local resources, at the end of the top-level build.
pub fn drop_local(resources: &mut Vec<Resource>) {
    resources.retain(|resource| !is_local(resource));
}
