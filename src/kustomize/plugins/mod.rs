//! `transformers:` and `generators:` entries: configs of kustomize's builtin plugins
//! (`apiVersion: builtin`, kind `PrefixSuffixTransformer`, `LabelTransformer`,
//! `ConfigMapGenerator` …), given inline, as files, or as kustomizations whose resources are
//! such configs. They run after the kustomization's own transformers (or generators), in
//! the order listed.
//!
//! Anything else would make kustomize run a program (an exec, container or Go plugin, or a
//! KRM function); pinnace never runs a program named by the tree, so such an entry is an
//! error that says the root is not built, and why.

mod generators;
mod transformers;

use super::KustomizeError;
use super::kustomization::{Builder, Kustomization, resolve_in};
use crate::source::Span;
use crate::yaml::{Node, Value};

/// Runs the `transformers:` entries of a kustomization.
pub fn run_transformers(
    k: &Kustomization,
    resources: &mut Vec<super::resource::Resource>,
    builder: &mut Builder,
) -> Result<(), KustomizeError> {
    for (config, span) in configs(k, "transformers", builder)? {
        transformers::run(k, &config, span, resources, builder)?;
        let file =
            super::build_metadata::file_of(config.span, &builder.sources, &builder.inline_patches)
                .unwrap_or_default();
        let text = |path: &[&str]| config.at(path).and_then(Node::as_str).unwrap_or("");
        let by = super::build_metadata::ConfiguredBy {
            file: &file,
            api_version: text(&["apiVersion"]),
            kind: text(&["kind"]),
            name: Some(text(&["metadata", "name"])),
        };
        builder.metadata.record(&by, resources);
    }
    Ok(())
}

/// Runs the `generators:` entries of a kustomization.
pub fn run_generators(
    k: &Kustomization,
    resources: &mut Vec<super::resource::Resource>,
    builder: &mut Builder,
) -> Result<(), KustomizeError> {
    for (config, span) in configs(k, "generators", builder)? {
        generators::run(k, &config, span, resources, builder)?;
    }
    Ok(())
}

/// The plugin configs a field lists, each with the span of its entry.
fn configs(
    k: &Kustomization,
    field: &str,
    builder: &mut Builder,
) -> Result<Vec<(Node, Span)>, KustomizeError> {
    let mut configs = Vec::new();
    for entry in k.node.list(field) {
        let text = entry.as_str().ok_or_else(|| {
            KustomizeError::at(
                format!("a `{field}` entry is a path or an inline plugin config"),
                entry.span,
            )
        })?;
        let documents = if is_inline(text) {
            builder.load_inline(k, text, entry.span)?
        } else {
            load_path(k, text, entry.span, builder)?
        };
        for document in documents {
            expand_list(document, &mut |config| configs.push((config, entry.span)));
        }
    }
    Ok(configs)
}

/// kustomize reads an entry as YAML first: a mapping is an inline config, anything else a
/// path.
fn is_inline(text: &str) -> bool {
    let stream = crate::yaml::load_stream(text, crate::yaml::Limits::default());
    stream.error.is_none()
        && stream
            .documents
            .first()
            .is_some_and(|d| matches!(d.value, Value::Mapping(_)))
}

/// A file of configs, or a folder whose kustomization builds into configs (built on its
/// own: its configurations and vars do not join this build's).
fn load_path(
    k: &Kustomization,
    path: &str,
    span: Span,
    builder: &mut Builder,
) -> Result<Vec<Node>, KustomizeError> {
    let Some(joined) = resolve_in(&k.dir, path)
        .ok()
        .filter(|(_, metadata)| metadata.is_dir())
        .map(|(dir, _)| dir)
    else {
        return builder.load_patch_file(k, path, span);
    };
    let config = std::mem::take(&mut builder.config);
    let vars = std::mem::take(&mut builder.vars);
    let built = builder.build_target(&joined);
    builder.config = config;
    builder.vars = vars;
    let resources = built.map_err(|mut error| {
        error.span = error.span.or(Some(span));
        error
    })?;
    Ok(resources.into_iter().map(|r| r.node).collect())
}

fn expand_list(document: Node, add: &mut dyn FnMut(Node)) {
    if document.get("kind").and_then(Node::as_str) == Some("List")
        && let Some(items) = document.get("items").and_then(Node::as_sequence)
    {
        items.iter().cloned().for_each(add);
        return;
    }
    add(document);
}

/// The builtin kind of a config, or the error that refuses an external plugin.
fn builtin_kind(config: &Node, span: Span) -> Result<&str, KustomizeError> {
    let api_version = config
        .get("apiVersion")
        .and_then(Node::as_str)
        .unwrap_or("");
    let kind = config.get("kind").and_then(Node::as_str).unwrap_or("");
    if api_version == "builtin" {
        return Ok(kind);
    }
    Err(KustomizeError::at(
        format!(
            "not built: `{kind}` ({api_version}) is an external kustomize plugin (exec, container, \
             Go plugin or KRM function); pinnace never runs a program named by the tree"
        ),
        span,
    ))
}

/// A kustomization of one field (`{field: value}`) in `k`'s folder, through which a
/// builtin plugin's config runs the transformer or generator the field configures.
fn kustomization_of(k: &Kustomization, fields: Vec<(&str, Node)>, span: Span) -> Kustomization {
    Kustomization {
        dir: k.dir.clone(),
        node: Node::mapping(
            fields
                .into_iter()
                .map(|(key, value)| (Node::scalar(key, span), value))
                .collect(),
            span,
        ),
    }
}

fn sequence(items: Vec<Node>, span: Span) -> Node {
    Node {
        span,
        value: Value::Sequence(items),
    }
}
