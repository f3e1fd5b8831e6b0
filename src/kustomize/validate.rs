//! What kustomize refuses in a kustomization file before it builds anything: a file that is
//! not a mapping, an empty one, an unknown field, a `kind` or `apiVersion` it does not know,
//! a Component where a Kustomization belongs (and the reverse), and a number or boolean
//! where it reads a string (an unquoted `newTag: 1.10`).

use super::KustomizeError;
use crate::source::Span;
use crate::yaml::{Node, ScalarStyle, Value};

const KUSTOMIZATION_VERSION: &str = "kustomize.config.k8s.io/v1beta1";
const COMPONENT_VERSION: &str = "kustomize.config.k8s.io/v1alpha1";

/// Every field of a kustomization file in kustomize v5.5.0.
const FIELDS: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata",
    "openapi",
    "namePrefix",
    "nameSuffix",
    "namespace",
    "commonLabels",
    "labels",
    "commonAnnotations",
    "patchesStrategicMerge",
    "patchesJson6902",
    "patches",
    "images",
    "imageTags",
    "replacements",
    "replicas",
    "vars",
    "sortOptions",
    "resources",
    "components",
    "crds",
    "bases",
    "configMapGenerator",
    "secretGenerator",
    "helmGlobals",
    "helmCharts",
    "helmChartInflationGenerator",
    "generatorOptions",
    "configurations",
    "generators",
    "transformers",
    "validators",
    "buildMetadata",
];

/// Top-level fields kustomize reads as strings.
const STRING_FIELDS: &[&str] = &["namePrefix", "nameSuffix", "namespace"];
/// Fields of an `images` entry, all strings.
const IMAGE_FIELDS: &[&str] = &["name", "newName", "newTag", "digest"];

/// Whether a kustomization is built as a component or as a kustomization (a root, a
/// resource folder).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The folder being built, which may be either.
    Root,
    Kustomization,
    Component,
}

/// Checks `node`, the kustomization file read from `dir` as `role`. `file_span` is where the
/// file starts (for problems with the file as a whole).
pub fn check(node: &Node, role: Role, dir: &str, file_span: Span) -> Result<(), KustomizeError> {
    let entries = match &node.value {
        Value::Mapping(entries) => entries,
        Value::Sequence(_) => {
            return Err(KustomizeError::at(
                "invalid Kustomization: the file is a list, not a mapping of fields",
                node.span,
            ));
        }
        Value::Scalar(_) if node.is_null() => {
            return Err(KustomizeError::at("kustomization.yaml is empty", file_span));
        }
        Value::Scalar(_) => {
            return Err(KustomizeError::at(
                "invalid Kustomization: the file is a single value, not a mapping of fields",
                node.span,
            ));
        }
    };
    for (key, _) in entries {
        let name = key.as_str().unwrap_or("");
        if !FIELDS.iter().any(|field| field.eq_ignore_ascii_case(name)) {
            return Err(KustomizeError::at(
                format!("invalid Kustomization: unknown field `{name}`"),
                key.span,
            ));
        }
    }
    let is_empty = entries
        .iter()
        .all(|(key, _)| matches!(key.as_str(), Some("apiVersion" | "kind")));
    if is_empty {
        return Err(KustomizeError::at("kustomization.yaml is empty", node.span));
    }
    check_kind(node, role, dir)?;
    for field in STRING_FIELDS {
        if let Some(value) = node.get(field) {
            string_value(value, field)?;
        }
    }
    for field in ["commonLabels", "commonAnnotations"] {
        for (_, value) in node.get(field).and_then(Node::as_mapping).unwrap_or(&[]) {
            string_value(value, field)?;
        }
    }
    for entry in node.list("labels") {
        for (_, value) in entry.get("pairs").and_then(Node::as_mapping).unwrap_or(&[]) {
            string_value(value, "labels.pairs")?;
        }
    }
    for image in node.list("images") {
        for field in IMAGE_FIELDS {
            if let Some(value) = image.get(field) {
                string_value(value, &format!("images.{field}"))?;
            }
        }
    }
    Ok(())
}

fn check_kind(node: &Node, role: Role, dir: &str) -> Result<(), KustomizeError> {
    let text = |key| node.get(key).and_then(Node::as_str);
    let at = |key: &str| node.entry(key).map_or(node.span, |(_, value)| value.span);
    let kind = text("kind").unwrap_or("Kustomization");
    let required = match kind {
        "Kustomization" => KUSTOMIZATION_VERSION,
        "Component" => COMPONENT_VERSION,
        _ => {
            return Err(KustomizeError::at(
                format!(
                    "invalid kustomization in {dir}: kind should be Kustomization or Component"
                ),
                at("kind"),
            ));
        }
    };
    if let Some(version) = text("apiVersion")
        && version != required
    {
        return Err(KustomizeError::at(
            format!("invalid kustomization in {dir}: apiVersion for {kind} should be {required}"),
            at("apiVersion"),
        ));
    }
    match (role, kind) {
        (Role::Component, "Kustomization") => Err(KustomizeError::at(
            format!("expected kind 'Component' for path '{dir}' but got 'Kustomization'"),
            at("kind"),
        )),
        (Role::Kustomization, "Component") => Err(KustomizeError::at(
            format!(
                "expected kind != 'Component' for path '{dir}': a component belongs in `components`"
            ),
            at("kind"),
        )),
        _ => Ok(()),
    }
}

/// kustomize decodes these fields into strings: a plain scalar that YAML reads as a number
/// or boolean (`newTag: 1.10` is the number 1.1) is refused, not turned into text.
fn string_value(value: &Node, field: &str) -> Result<(), KustomizeError> {
    let Some(scalar) = value.as_scalar() else {
        return Err(KustomizeError::at(
            format!("invalid Kustomization: `{field}` must be a string"),
            value.span,
        ));
    };
    if scalar.style != ScalarStyle::Plain || scalar.is_null() {
        return Ok(());
    }
    if crate::config::to_json(value).is_string() {
        return Ok(());
    }
    Err(KustomizeError::at(
        format!(
            "invalid Kustomization: `{field}: {}` is read as a number or boolean, not a string; quote it",
            scalar.text
        ),
        value.span,
    ))
}
