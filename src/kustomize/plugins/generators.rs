//! Builtin generator configs: `ConfigMapGenerator` and `SecretGenerator` make what a
//! `configMapGenerator:` / `secretGenerator:` entry with the same fields makes (the name and
//! namespace may sit in `metadata`). `HelmChartInflationGenerator` is the `helmCharts`
//! field's business.

use super::super::KustomizeError;
use super::super::kustomization::{Builder, Kustomization};
use super::super::resource::Resource;
use super::{builtin_kind, kustomization_of, sequence};
use crate::source::Span;
use crate::yaml::Node;

/// The fields of a generator config that a kustomization's generator entry has too.
const ARGS: &[&str] = &[
    "name",
    "namespace",
    "behavior",
    "literals",
    "files",
    "envs",
    "env",
    "options",
    "type",
];

pub fn run(
    k: &Kustomization,
    config: &Node,
    span: Span,
    resources: &mut Vec<Resource>,
    builder: &mut Builder,
) -> Result<(), KustomizeError> {
    let field = match builtin_kind(config, span)? {
        "ConfigMapGenerator" => "configMapGenerator",
        "SecretGenerator" => "secretGenerator",
        other => {
            return Err(KustomizeError::at(
                format!(
                    "not built: builtin generator `{other}` is not supported by pinnace's Kustomize build"
                ),
                span,
            ));
        }
    };
    let mut entry = Node::mapping(Vec::new(), config.span);
    for key in ARGS {
        if let Some(value) = config.get(key) {
            entry.set(key, value.clone());
        }
    }
    for key in ["name", "namespace"] {
        if entry.get(key).is_none()
            && let Some(value) = config.at(&["metadata", key])
        {
            entry.set(key, value.clone());
        }
    }
    builder.metadata.remember_generator(config);
    let synthesized = kustomization_of(k, vec![(field, sequence(vec![entry], span))], span);
    super::super::generate::run(&synthesized, resources, builder)
}
