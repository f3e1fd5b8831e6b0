//! Builtin transformer configs. Those whose `fieldSpecs` say where they act (prefix and
//! suffix, labels, annotations, namespace, replica counts) run here over exactly those
//! places, `ImageTagTransformer` over its own places after every container's,
//! `ValueAddTransformer` at its targets' field paths; the others
//! become the kustomization field they stand for and run through the kustomization's
//! transformers.

use super::super::KustomizeError;
use super::super::configurations::ConfigFieldSpec;
use super::super::generate;
use super::super::kustomization::{Builder, Kustomization};
use super::super::resource::Resource;
use super::super::transform::image_tags::{self, ImageFieldSpec};
use super::super::transform::namespace::{self, Subjects};
use super::super::transform::replicas;
use super::super::transform::value_add;
use super::super::transform::{merge_pairs, run_builtins, string_pairs};
use super::{builtin_kind, kustomization_of, sequence};
use crate::source::Span;
use crate::yaml::Node;

pub fn run(
    k: &Kustomization,
    config: &Node,
    span: Span,
    resources: &mut Vec<Resource>,
    builder: &mut Builder,
) -> Result<(), KustomizeError> {
    let field = |key: &str| config.get(key).cloned();
    let as_field = |name, value: Option<Node>| value.map(|v| vec![(name, v)]);
    let kind = builtin_kind(config, span)?;
    let fields = match kind {
        "PrefixSuffixTransformer" | "PrefixTransformer" | "SuffixTransformer" => {
            affix(config, resources);
            return Ok(());
        }
        "LabelTransformer" => {
            put_pairs(config, "labels", resources);
            return Ok(());
        }
        "AnnotationsTransformer" => {
            put_pairs(config, "annotations", resources);
            return Ok(());
        }
        "NamespaceTransformer" => return namespace(config, resources),
        "ImageTagTransformer" => {
            let Some(tag) = field("imageTag") else {
                return Ok(());
            };
            let synthesized =
                kustomization_of(k, vec![("images", sequence(vec![tag], span))], span);
            // Its own places, after the containers everywhere that the `images:` field has.
            let extra: Vec<ImageFieldSpec> = config
                .list("fieldSpecs")
                .iter()
                .map(ImageFieldSpec::read)
                .collect();
            return image_tags::apply(&synthesized.node, resources, &extra);
        }
        "ReplicaCountTransformer" => {
            let Some(replica) = config.get("replica") else {
                return Ok(());
            };
            return replicas::apply_config(replica, &field_specs(config), span, resources);
        }
        "ValueAddTransformer" => return value_add::apply(k, config, span, resources, builder),
        // kustomize v5.5.0 cannot load it as a transformers entry (only its sortOptions field
        // sorts), and says so.
        "SortOrderTransformer" => {
            return Err(KustomizeError::at(
                "unable to load builtin SortOrderTransformer.builtin.[noGrp] (kustomize sorts by the kustomization's `sortOptions` field, not by this plugin)",
                span,
            ));
        }
        // Suffixes what generators made with a hash now, as kustomize's plugin does; the build
        // suffixes them again at its end, as kustomize's does.
        "HashTransformer" => {
            generate::add_hash_suffixes(resources);
            return Ok(());
        }
        "ReplacementTransformer" => as_field("replacements", field("replacements")),
        "PatchTransformer" => Some(vec![(
            "patches",
            sequence(
                vec![patch_entry(config, &["patch", "path", "target", "options"])],
                span,
            ),
        )]),
        "PatchJson6902Transformer" => {
            let mut entry = patch_entry(config, &["path", "target"]);
            if let Some(op) = config.get("jsonOp") {
                entry.set("patch", op.clone());
            }
            Some(vec![("patchesJson6902", sequence(vec![entry], span))])
        }
        "PatchStrategicMergeTransformer" => {
            let mut items: Vec<Node> = config.list("paths").to_vec();
            items.extend(config.get("patches").cloned());
            Some(vec![("patchesStrategicMerge", sequence(items, span))])
        }
        other => {
            return Err(KustomizeError::at(
                format!(
                    "not built: builtin transformer `{other}` is not supported by pinnace's Kustomize build"
                ),
                span,
            ));
        }
    };
    let Some(fields) = fields else {
        return Ok(());
    };
    let synthesized = kustomization_of(k, fields, span);
    run_builtins(&synthesized, resources, builder, false)
}

/// A `NamespaceTransformer` config: its namespace, its own places, `unsetOnly` and
/// `setRoleBindingSubjects`, as kustomize's plugin reads them.
fn namespace(config: &Node, resources: &mut [Resource]) -> Result<(), KustomizeError> {
    let Some(value) = config.at(&["metadata", "namespace"]) else {
        return Ok(());
    };
    let subjects = match config.get("setRoleBindingSubjects") {
        None => Subjects::DefaultOnly,
        Some(mode) => match mode.as_str().unwrap_or("") {
            "" | "defaultOnly" => Subjects::DefaultOnly,
            "allServiceAccounts" => Subjects::AllServiceAccounts,
            "none" => Subjects::None,
            other => {
                return Err(KustomizeError::at(
                    format!(
                        "invalid value \"{other}\" for setRoleBindingSubjects: must be one of \"defaultOnly\", \"none\" or \"allServiceAccounts\""
                    ),
                    mode.span,
                ));
            }
        },
    };
    let unset_only = config.get("unsetOnly").and_then(Node::as_str) == Some("true");
    namespace::apply_config(value, &field_specs(config), unset_only, subjects, resources);
    Ok(())
}

/// The fields of a patch config that a `patches:` entry has too.
fn patch_entry(config: &Node, keys: &[&str]) -> Node {
    let mut entry = Node::mapping(Vec::new(), config.span);
    for key in keys {
        if let Some(value) = config.get(key) {
            entry.set(key, value.clone());
        }
    }
    entry
}

fn field_specs(config: &Node) -> Vec<ConfigFieldSpec> {
    config
        .list("fieldSpecs")
        .iter()
        .map(ConfigFieldSpec::read)
        .collect()
}

/// `prefix` and `suffix` on the fields the specs name.
fn affix(config: &Node, resources: &mut [Resource]) {
    let text = |key| config.get(key).and_then(Node::as_str).unwrap_or("");
    let specs = field_specs(config);
    super::super::configurations::affix(resources, text("prefix"), &specs, text("suffix"));
}

/// `labels` or `annotations`, merged into the mappings the specs name.
fn put_pairs(config: &Node, key: &str, resources: &mut [Resource]) {
    let pairs = string_pairs(config.get(key));
    if pairs.is_empty() {
        return;
    }
    let specs = field_specs(config);
    for resource in resources.iter_mut() {
        for spec in &specs {
            spec.visit(resource, &mut |node| merge_pairs(node, &pairs));
        }
    }
}
