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

/// The images a values file sets; none when `path` is not a values file.
pub fn values_of<'a>(
    documents: &'a [Node],
    path: &Path,
    settings: &Settings,
) -> Vec<ValuesImage<'a>> {
    if !is_values_file(path, settings) {
        return Vec::new();
    }
    documents.iter().flat_map(values_images).collect()
}

/// Help for the findings `pin` can fix in an image map: the digest goes into the map, not
/// after the composed reference.
pub fn explain_map_fixes(findings: &mut [Finding], images: &[ValuesImage<'_>]) {
    for finding in findings.iter_mut().filter(|f| f.rule.fixable) {
        let Some(image) = images.iter().find(|image| image.node.span == finding.span) else {
            continue;
        };
        if let ValuesShape::Map { tag, digest, .. } = &image.shape {
            let target = match (digest, tag.and_then(Node::as_str)) {
                (Some(_), _) => "fill this map's `digest:`".to_string(),
                (None, Some(tag)) => format!("write `tag: {tag}@sha256:…`"),
                (None, None) => continue,
            };
            finding.help = Some(format!(
                "run `pinnace pin` to {target}, or write the digest yourself"
            ));
        }
    }
}
