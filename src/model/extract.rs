//! Finds resources in YAML documents and the images their catalog paths lead to.

use super::catalog::{Catalog, FieldPath, Segment, Target};
use super::{IGNORE_ANNOTATION, ImageUse, Model, ParsedImage, Resource, Workload, read_labels};
use crate::image_ref::{ImageRef, is_templated};
use crate::yaml::Node;

/// Container lists of a PodSpec, in the order Kubernetes starts them.
const POD_CONTAINER_FIELDS: [&str; 3] = ["initContainers", "containers", "ephemeralContainers"];

pub fn extract<'a>(documents: &'a [Node], catalog: &'a Catalog) -> Model<'a> {
    let mut model = Model::default();
    for document in documents {
        match document.get("kind").and_then(Node::as_str) {
            Some("List") => {
                for item in document.list("items") {
                    add_resource(&mut model, item, catalog);
                }
            }
            Some(_) => add_resource(&mut model, document, catalog),
            // A document without `kind` (values files, CI config, …) is not a resource.
            None => {}
        }
    }
    model
}

/// The model of a Kustomize build: its resources, with each image an overlay's `images:`
/// entry set marked as such.
pub fn extract_build<'a>(build: &'a crate::kustomize::Build, catalog: &'a Catalog) -> Model<'a> {
    let mut model = Model::default();
    for resource in &build.resources {
        let first_image = model.images.len();
        add_resource(&mut model, &resource.node, catalog);
        for image in &mut model.images[first_image..] {
            image.set_by = resource
                .image_overrides
                .iter()
                .rev()
                .find(|o| o.image == image.node.span)
                .map(|o| o.entry);
        }
    }
    model
}

fn add_resource<'a>(model: &mut Model<'a>, node: &'a Node, catalog: &'a Catalog) {
    let Some(resource) = read_resource(node) else {
        return;
    };
    let index = model.resources.len();
    let group = node
        .get("apiVersion")
        .and_then(Node::as_str)
        .and_then(|v| v.rsplit_once('/'))
        .map_or("", |(group, _)| group);
    for target in catalog.for_kind(group, resource.kind) {
        match target {
            Target::PodSpec(path) => {
                for (template, pod_spec) in pod_templates(node, path) {
                    let workload = (resource.kind != "PodTemplate").then(|| {
                        let metadata = template.and_then(|t| t.get("metadata"));
                        model.workloads.push(Workload {
                            resource: index,
                            template: template.unwrap_or(pod_spec),
                            pod_spec,
                            metadata,
                            labels: read_labels(metadata.and_then(|m| m.get("labels"))),
                        });
                        model.workloads.len() - 1
                    });
                    add_pod_spec_images(model, index, workload, pod_spec);
                }
            }
            Target::Image(path) => {
                for (image, container) in follow(node, path, None) {
                    let image = match group {
                        "tekton.dev" => tekton_param_default(node, image).unwrap_or(image),
                        _ => image,
                    };
                    model
                        .images
                        .push(image_use(index, container, path.as_str(), image));
                }
            }
        }
    }
    model.resources.push(resource);
}

/// How deep the search for a Tekton param goes: params sit a few levels down (`spec.params`,
/// `spec.tasks[].taskSpec.params`).
const MAX_PARAM_DEPTH: usize = 8;

/// Tekton `image: $(params.builder)`: the `default` of the param the resource declares, the
/// image every run gets unless it passes another. `None` when the value is not a lone param,
/// or the resource declares no such param with a string default, or several that differ.
fn tekton_param_default<'a>(resource: &'a Node, image: &'a Node) -> Option<&'a Node> {
    let text = image.as_str()?;
    let inner = text.strip_prefix("$(params")?.strip_suffix(')')?;
    let name = inner.strip_prefix('.').or_else(|| {
        inner
            .strip_prefix("[\"")
            .and_then(|n| n.strip_suffix("\"]"))
            .or_else(|| inner.strip_prefix("['").and_then(|n| n.strip_suffix("']")))
    })?;
    let mut defaults = Vec::new();
    param_defaults(resource, name, MAX_PARAM_DEPTH, &mut defaults);
    let first = *defaults.first()?;
    let same = defaults.iter().all(|d| d.as_str() == first.as_str());
    (same && first.as_str().is_some_and(|t| !t.is_empty())).then_some(first)
}

fn param_defaults<'a>(node: &'a Node, name: &str, depth: usize, found: &mut Vec<&'a Node>) {
    if depth == 0 {
        return;
    }
    if let Some(items) = node.as_sequence() {
        for item in items {
            param_defaults(item, name, depth - 1, found);
        }
        return;
    }
    for (key, value) in node.as_mapping().unwrap_or(&[]) {
        if key.as_str() == Some("params") {
            found.extend(
                value
                    .as_sequence()
                    .unwrap_or(&[])
                    .iter()
                    .filter(|param| param.get("name").and_then(Node::as_str) == Some(name))
                    .filter_map(|param| param.get("default"))
                    .filter(|default| default.as_scalar().is_some()),
            );
        }
        param_defaults(value, name, depth - 1, found);
    }
}

fn read_resource(node: &Node) -> Option<Resource<'_>> {
    let kind = node.get("kind")?.as_str()?;
    let metadata = node.get("metadata");
    let field = |key| metadata.and_then(|m| m.get(key)).and_then(Node::as_str);
    let ignored_rules = metadata
        .and_then(|m| m.at(&["annotations", IGNORE_ANNOTATION]))
        .and_then(Node::as_str)
        .map(|list| {
            list.split(',')
                .map(str::trim)
                .filter(|id| !id.is_empty())
                .collect()
        })
        .unwrap_or_default();
    Some(Resource {
        node,
        api_version: node.get("apiVersion").and_then(Node::as_str).unwrap_or(""),
        kind,
        name: field("name"),
        namespace: field("namespace"),
        ignored_rules,
    })
}

/// Every pod spec a catalog path reaches, with the template that holds it: a pod spec path
/// ends in `spec`, and its template (the resource itself for a Pod) has the `metadata` with
/// the pod labels. A configured path that does not end in `spec` has no template.
fn pod_templates<'a>(node: &'a Node, path: &FieldPath) -> Vec<(Option<&'a Node>, &'a Node)> {
    match path.segments().split_last() {
        Some((Segment::Key(last), template)) if last == "spec" => {
            let mut templates = Vec::new();
            walk(node, template, None, &mut templates);
            templates
                .into_iter()
                .filter_map(|(template, _)| Some((Some(template), template.get("spec")?)))
                .collect()
        }
        _ => follow(node, path, None)
            .into_iter()
            .map(|(pod_spec, _)| (None, pod_spec))
            .collect(),
    }
}

fn add_pod_spec_images<'a>(
    model: &mut Model<'a>,
    resource: usize,
    workload: Option<usize>,
    pod_spec: &'a Node,
) {
    for field in POD_CONTAINER_FIELDS {
        let containers = pod_spec.list(field);
        for container in containers {
            if let Some(image) = container.get("image") {
                let name = container.get("name").and_then(Node::as_str);
                let mut image = image_use(resource, name, field, image);
                image.workload = workload;
                model.images.push(image);
            }
        }
    }
}

fn image_use<'a>(
    resource: usize,
    container: Option<&'a str>,
    field: &'a str,
    node: &'a Node,
) -> ImageUse<'a> {
    let text = node.as_scalar().map_or("", |scalar| scalar.text.as_str());
    let parsed = if is_templated(text) {
        ParsedImage::Templated
    } else {
        match ImageRef::parse(text) {
            Ok(image) => ParsedImage::Ref(image),
            Err(error) => ParsedImage::Invalid(error),
        }
    };
    ImageUse {
        resource,
        container,
        field,
        node,
        text,
        parsed,
        set_by: None,
        workload: None,
        name_node: None,
    }
}

/// Every node a path reaches, each with the `name` of the closest mapping on the way (the
/// container, step or template it belongs to).
fn follow<'a>(
    root: &'a Node,
    path: &FieldPath,
    name: Option<&'a str>,
) -> Vec<(&'a Node, Option<&'a str>)> {
    let mut reached = Vec::new();
    walk(root, path.segments(), name, &mut reached);
    reached
}

fn walk<'a>(
    node: &'a Node,
    segments: &[Segment],
    name: Option<&'a str>,
    reached: &mut Vec<(&'a Node, Option<&'a str>)>,
) {
    let name = node.get("name").and_then(Node::as_str).or(name);
    let Some((segment, rest)) = segments.split_first() else {
        reached.push((node, name));
        return;
    };
    match segment {
        Segment::Key(key) => {
            if let Some(child) = node.get(key) {
                walk(child, rest, name, reached);
            }
        }
        Segment::EachItem => {
            for item in node.as_sequence().unwrap_or(&[]) {
                walk(item, rest, name, reached);
            }
        }
    }
}
