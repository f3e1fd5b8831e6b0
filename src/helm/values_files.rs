//! Which files are Helm values files, and what their images look like to the rules.

use std::path::Path;

use crate::config::Settings;
use crate::finding::Finding;
use crate::model::{ValuesImage, ValuesShape, values_images};
use crate::yaml::Node;

/// `values.yaml` (or `values-prod.yaml`, `values.prod.yml` …) beside a `Chart.yaml`, or a
/// file config names (`helm.values`, `helm.charts[].values`).
pub fn is_values_file(path: &Path, settings: &Settings) -> bool {
    if settings.is_named_values_file(path) {
        return true;
    }
    let Some(name) = path.file_name().and_then(|name| name.to_str()) else {
        return false;
    };
    let Some(stem) = name
        .strip_suffix(".yaml")
        .or_else(|| name.strip_suffix(".yml"))
    else {
        return false;
    };
    let values_name =
        stem == "values" || stem.starts_with("values-") || stem.starts_with("values.");
    values_name
        && path
            .parent()
            .is_some_and(|chart| chart.join("Chart.yaml").is_file())
}

/// The images Helm values set in an input: all of a values file's, and in other files those
/// of the GitOps resources that carry values or `images:` entries (Flux `HelmRelease` and
/// `Kustomization`, Argo CD `Application`). `text` is the input's text.
pub fn values_of(
    documents: &[Node],
    text: &str,
    path: &Path,
    settings: &Settings,
) -> Vec<ValuesImage> {
    if is_values_file(path, settings) {
        return documents
            .iter()
            .flat_map(|document| values_images(document, ""))
            .collect();
    }
    super::gitops::gitops_images(documents, text)
}

/// Help for the findings `pin` can fix in an image map or entry: the digest goes into the
/// map, not after the composed reference.
pub fn explain_map_fixes(findings: &mut [Finding], images: &[ValuesImage]) {
    for finding in findings.iter_mut().filter(|f| f.rule.fixable) {
        let Some(image) = images.iter().find(|image| image.node.span == finding.span) else {
            continue;
        };
        let target = match &image.shape {
            _ if !image.editable => {
                finding.help = Some(image.hint.clone().unwrap_or_else(|| {
                    "write the digest into these values yourself (`pinnace pin` does not edit YAML held in a string)"
                        .to_string()
                }));
                continue;
            }
            ValuesShape::ImagesEntry { .. } => {
                "add `digest: sha256:…` to this `images:` entry".to_string()
            }
            ValuesShape::Map { .. } if image.points_at_reference() => continue,
            ValuesShape::Map {
                digest: Some(_), ..
            } => "fill this map's `digest:`".to_string(),
            ValuesShape::Map { tag, .. } => match tag.as_ref().and_then(Node::as_str) {
                Some(tag) => format!("write `tag: {tag}@sha256:…`"),
                None => continue,
            },
            ValuesShape::String | ValuesShape::Renamed { .. } => continue,
        };
        finding.help = Some(format!(
            "run `pinnace pin` to {target}, or write the digest yourself"
        ));
    }
}
