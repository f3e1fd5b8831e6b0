//! `namePrefix:` and `nameSuffix:` rename every resource but CRDs, APIServices and
//! Namespaces, and remember the prefix and suffix they gave; references to the renamed
//! resources are fixed at the end of the build (see `name_reference`).

use super::super::resource::Resource;
use crate::yaml::Node;

/// (group, kind) never renamed; an empty group matches any.
const NOT_RENAMED: &[(&str, &str)] = &[
    ("", "CustomResourceDefinition"),
    ("apiregistration.k8s.io", "APIService"),
    ("", "Namespace"),
];

pub fn apply(kustomization: &Node, resources: &mut [Resource]) {
    let text = |key| kustomization.get(key).and_then(Node::as_str).unwrap_or("");
    let (prefix, suffix) = (text("namePrefix"), text("nameSuffix"));
    if prefix.is_empty() && suffix.is_empty() {
        return;
    }
    let span = kustomization
        .get("namePrefix")
        .or_else(|| kustomization.get("nameSuffix"))
        .map_or_else(Default::default, |node| node.span);
    for resource in resources {
        let original = resource.original_id();
        let skipped = NOT_RENAMED.iter().any(|(group, kind)| {
            *kind == original.kind && (group.is_empty() || *group == original.group)
        });
        if skipped {
            continue;
        }
        // kustomize runs the prefix and the suffix as two transformers, each remembering
        // the id it changed.
        for (affix, is_prefix) in [(prefix, true), (suffix, false)] {
            if affix.is_empty() {
                continue;
            }
            resource.store_previous_id();
            let renamed = if is_prefix {
                resource.prefixes.push(affix.to_string());
                format!("{affix}{}", resource.name())
            } else {
                resource.suffixes.push(affix.to_string());
                format!("{}{affix}", resource.name())
            };
            resource.set_name(&renamed, span);
        }
    }
}
