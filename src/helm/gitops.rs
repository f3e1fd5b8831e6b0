//! The GitOps controller resources that carry images outside a pod spec: Flux `HelmRelease`
//! (`spec.values`) and `Kustomization` (`spec.images`), and Argo CD `Application`
//! (`spec.source` / `spec.sources[]`: `helm.values` — YAML in a string —, `helm.valuesObject`,
//! `helm.parameters`, `kustomize.images`).

use crate::model::{ValuesImage, ValuesShape, compose, values_images};
use crate::yaml::{Node, ScalarStyle, Value};

use super::embedded::parse_embedded;

const FLUX_HELM: &str = "helm.toolkit.fluxcd.io";
const FLUX_KUSTOMIZE: &str = "kustomize.toolkit.fluxcd.io";
const ARGO: &str = "argoproj.io";

/// The images the GitOps resources among `documents` set, each owned by its resource. `text`
/// is the file the spans point into, for values held in strings (empty for a Kustomize
/// build: then findings in such values point at the string).
pub fn gitops_images<'a>(
    documents: impl IntoIterator<Item = &'a Node>,
    text: &str,
) -> Vec<ValuesImage> {
    let mut found = Vec::new();
    for document in documents {
        let first = found.len();
        let group = document
            .get("apiVersion")
            .and_then(Node::as_str)
            .and_then(|version| version.rsplit_once('/'))
            .map_or("", |(group, _)| group);
        match (group, document.get("kind").and_then(Node::as_str)) {
            (FLUX_HELM, Some("HelmRelease")) => {
                if let Some(values) = document.at(&["spec", "values"]) {
                    found.extend(values_images(values, "spec.values"));
                }
            }
            (FLUX_KUSTOMIZE, Some("Kustomization")) => {
                found.extend(images_entries(
                    document.at(&["spec", "images"]),
                    "spec.images",
                ));
            }
            (ARGO, Some("Application")) => {
                for (path, source) in argo_sources(document) {
                    found.extend(argo_source(source, &path, text));
                }
            }
            _ => {}
        }
        for image in &mut found[first..] {
            image.owner = Some(document.span);
        }
    }
    found
}

fn argo_sources(application: &Node) -> Vec<(String, &Node)> {
    let mut sources = Vec::new();
    if let Some(source) = application.at(&["spec", "source"]) {
        sources.push(("spec.source".to_string(), source));
    }
    let list = application
        .get("spec")
        .map_or(&[][..], |spec| spec.list("sources"));
    for (index, source) in list.iter().enumerate() {
        sources.push((format!("spec.sources[{index}]"), source));
    }
    sources
}

fn argo_source(source: &Node, path: &str, text: &str) -> Vec<ValuesImage> {
    let mut found = Vec::new();
    if let Some(helm) = source.get("helm") {
        if let Some(values) = helm.get("values").filter(|v| v.as_scalar().is_some()) {
            found.extend(string_values(values, &format!("{path}.helm.values"), text));
        } else if let Some(values) = helm.get("values") {
            // Argo CD also takes `values` as a map.
            found.extend(values_images(values, &format!("{path}.helm.values")));
        }
        if let Some(values) = helm.get("valuesObject") {
            found.extend(values_images(values, &format!("{path}.helm.valuesObject")));
        }
        found.extend(parameters(
            helm.list("parameters"),
            &format!("{path}.helm.parameters"),
        ));
    }
    if let Some(kustomize) = source.get("kustomize") {
        found.extend(argo_images(
            kustomize.list("images"),
            &format!("{path}.kustomize.images"),
        ));
    }
    found
}

/// Values held in a YAML string. In a literal block (`values: |`) every finding lands on its
/// own line inside the block; otherwise (folded or quoted strings) on the `values` string.
/// `pin` never edits them.
fn string_values(node: &Node, path: &str, text: &str) -> Vec<ValuesImage> {
    let Some(embedded) = parse_embedded(node, text) else {
        return Vec::new();
    };
    let mut found = values_images(&embedded.root, path);
    for image in &mut found {
        image.editable = false;
        if !embedded.exact {
            image.node.span = node.span;
            image.name_node = None;
        }
    }
    found
}

/// `parameters: [{name: image.tag, value: "1.2"}]`, Helm's `--set`: an image string under a
/// key path ending in `image`, or an image map spelled as `image.repository`, `image.tag`,
/// `image.registry`, `image.digest` (only when the repository is among them: a lone
/// `image.tag` overrides a chart default pinnace cannot see).
fn parameters(items: &[Node], path: &str) -> Vec<ValuesImage> {
    let value_of = |name: &str| {
        items
            .iter()
            .find(|item| item.get("name").and_then(Node::as_str) == Some(name))
            .and_then(|item| item.get("value"))
    };
    let mut found = Vec::new();
    for item in items {
        let (Some(name), Some(value)) =
            (item.get("name").and_then(Node::as_str), item.get("value"))
        else {
            continue;
        };
        let last = name.rsplit('.').next().unwrap_or(name);
        if (last == "image" || last.ends_with("Image")) && value.as_str().is_some() {
            found.push(ValuesImage::string(format!("{path}[{name}]"), value));
        }
        if let Some(prefix) = name.strip_suffix(".repository") {
            let part = |key: &str| value_of(&format!("{prefix}.{key}"));
            let registry = part("registry");
            found.push(compose(
                &format!("{path}[{prefix}]"),
                registry,
                value,
                part("tag"),
                part("digest"),
            ));
        }
    }
    found
}

/// Flux `spec.images`: Kustomize `images:` entries (`name`, `newName`, `newTag`, `digest`).
fn images_entries(list: Option<&Node>, path: &str) -> Vec<ValuesImage> {
    let items = list.and_then(Node::as_sequence).unwrap_or(&[]);
    items
        .iter()
        .enumerate()
        .filter_map(|(index, entry)| {
            let name = entry
                .get("newName")
                .or_else(|| entry.get("name"))
                .and_then(Node::as_str)?;
            let mut text = name.to_string();
            let tag = entry.get("newTag").filter(|t| t.as_str().is_some());
            let digest = entry.get("digest").filter(|d| d.as_str().is_some());
            if let Some(tag) = tag.and_then(Node::as_str) {
                text = format!("{text}:{tag}");
            }
            if let Some(digest) = digest.and_then(Node::as_str) {
                text = format!("{text}@{digest}");
            }
            Some(ValuesImage {
                path: format!("{path}[{index}]"),
                text,
                node: digest.or(tag).unwrap_or(entry).clone(),
                shape: ValuesShape::ImagesEntry {
                    entry: entry.clone(),
                },
                owner: None,
                editable: true,
                name_node: None,
                hint: None,
            })
        })
        .collect()
}

/// Argo CD `kustomize.images`: strings, `image:tag` or `name=image:tag`. For the second form
/// findings point at the part after `=`.
fn argo_images(items: &[Node], path: &str) -> Vec<ValuesImage> {
    items
        .iter()
        .enumerate()
        .filter_map(|(index, item)| {
            let scalar = item.as_scalar()?;
            let path = format!("{path}[{index}]");
            let Some(equals) = scalar.text.find('=') else {
                return Some(ValuesImage::string(path, item));
            };
            let image = &scalar.text[equals + 1..];
            let span = item
                .exact_span(equals + 1..scalar.text.len())
                .unwrap_or(item.span);
            Some(ValuesImage {
                path,
                text: image.to_string(),
                node: Node {
                    span,
                    value: Value::Scalar(crate::yaml::Scalar {
                        text: image.to_string(),
                        style: ScalarStyle::Plain,
                    }),
                },
                shape: ValuesShape::Renamed {
                    scalar: item.clone(),
                },
                owner: None,
                editable: span != item.span,
                name_node: None,
                hint: None,
            })
        })
        .collect()
}
