//! The builtin transformers, one file each, run in the order kustomize runs them.

mod annotations;
pub mod image_tags;
mod json6902;
mod labels;
mod name_reference;
pub mod namespace;
mod patches;
mod prefix_suffix;
mod replacements;
pub mod replicas;
mod selector;
mod smp;
pub mod value_add;

pub use image_tags::ImageFieldSpec;
pub use name_reference::fix_name_references;
pub use replacements::field_value;

use super::KustomizeError;
use super::kustomization::{Builder, Kustomization};
use super::resource::Resource;

/// Runs the transformers of one kustomization (or component) over `resources`, in
/// kustomize's order.
pub fn apply(
    kustomization: &Kustomization,
    resources: &mut Vec<Resource>,
    builder: &mut Builder,
) -> Result<(), KustomizeError> {
    // A validator is a program (kustomize has no builtin one) that may fail the build but not
    // change it: the build is what kustomize makes when the validators pass.
    if let Some((key, _)) = kustomization.node.entry("validators") {
        builder.not_built.push(super::NotBuilt {
            span: key.span,
            reason: "`validators` are not run (each is a program, and pinnace never runs one the tree names; the resources are built as kustomize builds them when the validators pass)".to_string(),
        });
    }
    let mut own = super::configurations::load(kustomization, builder)?;
    own.merge(super::crds::load(kustomization, builder)?);
    builder.config.merge(own);
    run_builtins(kustomization, resources, builder, true)?;
    builder.metadata.record_builtins(kustomization, resources);
    super::plugins::run_transformers(kustomization, resources, builder)?;
    super::vars::declare(kustomization, resources, &mut builder.vars)
}

/// The builtin transformers that a kustomization's fields configure, in kustomize's order.
/// A builtin plugin's config (`transformers:` entries) runs through here as a kustomization
/// of its own, without the places `configurations` add (`configured: false`).
pub fn run_builtins(
    kustomization: &Kustomization,
    resources: &mut Vec<Resource>,
    builder: &mut Builder,
    configured: bool,
) -> Result<(), KustomizeError> {
    let node = &kustomization.node;
    patches::apply_strategic_merge(kustomization, resources, builder)?;
    patches::apply_patches(kustomization, resources, builder)?;
    namespace::apply(node, resources);
    if !(configured && super::configurations::rename(node, &builder.config, resources)) {
        prefix_suffix::apply(node, resources);
    }
    labels::apply(node, resources)?;
    annotations::apply(node, resources)?;
    if configured {
        super::configurations::apply_extra(node, &builder.config, resources);
    }
    patches::apply_json6902(kustomization, resources, builder)?;
    replicas::apply(node, resources)?;
    let extra_images = if configured {
        builder.config.images.clone()
    } else {
        Vec::new()
    };
    image_tags::apply(node, resources, &extra_images)?;
    replacements::apply(kustomization, resources, builder)
}

/// A string scalar: quoted when plain text would read as another type (`true`, `3`), so
/// that Kubernetes (and a YAML round trip) still sees a string.
pub fn string_node(text: &str, span: crate::source::Span) -> crate::yaml::Node {
    let mut node = crate::yaml::Node::scalar(text, span);
    let plain = crate::config::to_json(&node);
    if !plain.is_string()
        && let crate::yaml::Value::Scalar(scalar) = &mut node.value
    {
        scalar.style = crate::yaml::ScalarStyle::DoubleQuoted;
    }
    node
}

/// Adds `pairs` to the mapping at `node` (a null becomes a mapping).
pub fn merge_pairs(node: &mut crate::yaml::Node, pairs: &[(String, String, crate::source::Span)]) {
    if !matches!(node.value, crate::yaml::Value::Mapping(_)) {
        *node = crate::yaml::Node::mapping(Vec::new(), node.span);
    }
    for (key, value, span) in pairs {
        node.set(key, string_node(value, *span));
    }
}

/// The string pairs of a mapping field, with the span of each value.
pub fn string_pairs(
    node: Option<&crate::yaml::Node>,
) -> Vec<(String, String, crate::source::Span)> {
    node.and_then(crate::yaml::Node::as_mapping)
        .unwrap_or(&[])
        .iter()
        .filter_map(|(k, v)| {
            let value = v.as_scalar().map(|s| s.text.clone()).unwrap_or_default();
            Some((k.as_str()?.to_string(), value, v.span))
        })
        .collect()
}
