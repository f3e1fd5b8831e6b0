//! kustomize reads a kustomization through Go's JSON decoder, which matches field names
//! without regard to case: `nameprefix:` is `namePrefix:`. pinnace renames such keys to
//! the spelling the build looks for.

use crate::yaml::{Node, Value};

const FIELDS: &[&str] = &[
    "apiVersion",
    "kind",
    "bases",
    "buildMetadata",
    "commonAnnotations",
    "commonLabels",
    "components",
    "configMapGenerator",
    "configurations",
    "crds",
    "generatorOptions",
    "generators",
    "helmChartInflationGenerator",
    "helmCharts",
    "helmGlobals",
    "imageTags",
    "images",
    "labels",
    "metadata",
    "namePrefix",
    "nameSuffix",
    "namespace",
    "openapi",
    "patches",
    "patchesJson6902",
    "patchesStrategicMerge",
    "replacements",
    "replicas",
    "resources",
    "secretGenerator",
    "sortOptions",
    "transformers",
    "validators",
    "vars",
];

/// Renames top-level keys that differ from a kustomization field only in case (an exact
/// spelling elsewhere in the file wins, as with Go's decoder).
pub fn canonicalize(kustomization: &mut Node) {
    let Value::Mapping(entries) = &mut kustomization.value else {
        return;
    };
    let exact: Vec<String> = entries
        .iter()
        .filter_map(|(key, _)| key.as_str().map(str::to_string))
        .collect();
    for (key, _) in entries.iter_mut() {
        let Some(text) = key.as_str() else { continue };
        if FIELDS.contains(&text) {
            continue;
        }
        let Some(field) = FIELDS.iter().find(|f| f.eq_ignore_ascii_case(text)) else {
            continue;
        };
        if exact.iter().any(|k| k == field) {
            continue;
        }
        if let Value::Scalar(scalar) = &mut key.value {
            scalar.text = (*field).to_string();
        }
    }
}
