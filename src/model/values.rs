//! Images that Helm values set: `image: repo:tag` strings and image maps
//! (`image: {registry, repository, tag, digest}`, or `name:` / `image:` for the repository),
//! anywhere in a values tree (`sidecar.image`, `controller.initImage`, lists of containers).
//!
//! A map's reference is composed the way common chart helpers compose it:
//! `registry/repository:tag@digest`, with `global.imageRegistry` (when set) standing for the
//! registry of every map that has a `registry` key. Each values file is read on its own: a
//! parent chart's values do not reach into a subchart's file.

use super::{ImageUse, Model, ParsedImage, Resource};
use crate::image_ref::{ImageRef, is_templated};
use crate::source::Span;
use crate::yaml::{Node, ScalarStyle};

/// The kind findings about values-file images name, with the key path as the name.
pub const VALUES_KIND: &str = "HelmValues";

/// One image that Helm values (or a GitOps resource) set. Nodes are copies, so values parsed
/// from a YAML string (Argo CD's `helm.values`) need not outlive the search.
#[derive(Debug, Clone)]
pub struct ValuesImage {
    /// Dotted key path: `image`, `sidecar.image`, `sidecars[0].image`, `spec.images[0]`.
    pub path: String,
    /// The reference as the chart (or Kustomize) would render it.
    pub text: String,
    /// Where findings point: the digest, else the tag, else the repository (for a string,
    /// the string itself).
    pub node: Node,
    pub shape: ValuesShape,
    /// The span of the resource that holds these values (a Flux `HelmRelease`, an Argo CD
    /// `Application`); `None` in a values file.
    pub owner: Option<Span>,
    /// Whether `pin` may write into these bytes: not inside a YAML string.
    pub editable: bool,
}

#[derive(Debug, Clone)]
pub enum ValuesShape {
    /// `image: repo:tag`: the scalar is the reference.
    String,
    /// An image map; the nodes of the keys it has.
    Map {
        reference: Node,
        tag: Option<Node>,
        digest: Option<Node>,
    },
    /// A Kustomize-style `images:` entry (`name`, `newName`, `newTag`, `digest`).
    ImagesEntry { entry: Node },
    /// Part of a string (`name=image:tag` in Argo CD's `kustomize.images`): `node` covers the
    /// image part, `scalar` is the whole string as written.
    Renamed { scalar: Node },
}

/// Every image a values tree sets, in document order; `prefix` starts the key paths.
pub fn values_images(root: &Node, prefix: &str) -> Vec<ValuesImage> {
    let global_registry = root
        .at(&["global", "imageRegistry"])
        .and_then(Node::as_str)
        .filter(|registry| !registry.is_empty());
    let mut found = Vec::new();
    walk(root, prefix.to_string(), global_registry, &mut found);
    found
}

fn walk(node: &Node, path: String, global: Option<&str>, found: &mut Vec<ValuesImage>) {
    if let Some(items) = node.as_sequence() {
        for (index, item) in items.iter().enumerate() {
            walk(item, format!("{path}[{index}]"), global, found);
        }
        return;
    }
    for (key, value) in node.as_mapping().unwrap_or(&[]) {
        let Some(name) = key.as_str() else { continue };
        let path = if path.is_empty() {
            name.to_string()
        } else {
            format!("{path}.{name}")
        };
        if is_image_key(name) {
            if let Some(image) = string_image(value, &path) {
                found.push(image);
                continue;
            }
            if let Some(image) = map_image(value, &path, global) {
                found.push(image);
                continue;
            }
        }
        walk(value, path, global, found);
    }
}

/// `image`, and camelCase names ending in `Image` (`initImage`, `sidecarImage`).
fn is_image_key(key: &str) -> bool {
    key == "image" || (key.len() > 5 && key.ends_with("Image"))
}

fn string_image(value: &Node, path: &str) -> Option<ValuesImage> {
    let scalar = value.as_scalar()?;
    let boolean =
        scalar.style == ScalarStyle::Plain && matches!(scalar.text.as_str(), "true" | "false");
    if value.is_null() || scalar.text.is_empty() || boolean {
        return None;
    }
    Some(ValuesImage {
        path: path.to_string(),
        text: scalar.text.clone(),
        node: value.clone(),
        shape: ValuesShape::String,
        owner: None,
        editable: true,
    })
}

fn map_image(map: &Node, path: &str, global: Option<&str>) -> Option<ValuesImage> {
    let reference = ["repository", "name", "image"]
        .into_iter()
        .find_map(|key| map.get(key).filter(|node| node.as_str().is_some()))?;
    let registry = map
        .get("registry")
        .map(|node| global.or(node.as_str()).unwrap_or(""));
    Some(compose(
        path,
        registry,
        reference,
        map.get("tag"),
        map.get("digest"),
    ))
}

/// An image map's reference: `registry/repository:tag@digest`, with the parts it has.
pub fn compose(
    path: &str,
    registry: Option<&str>,
    reference: &Node,
    tag: Option<&Node>,
    digest: Option<&Node>,
) -> ValuesImage {
    let repository = reference.as_str().unwrap_or("");
    fn present(node: Option<&Node>) -> Option<&str> {
        node.and_then(Node::as_str).filter(|t| !t.is_empty())
    }
    let mut text = match registry {
        Some(registry) if !registry.is_empty() => format!("{registry}/{repository}"),
        _ => repository.to_string(),
    };
    // A repository that already names its tag or digest keeps them.
    let complete =
        ImageRef::parse(repository).is_ok_and(|r| r.tag().is_some() || r.digest().is_some());
    if !complete {
        if let Some(tag) = present(tag) {
            text.push(':');
            text.push_str(tag);
        }
        if let Some(digest) = present(digest) {
            text.push('@');
            text.push_str(digest);
        }
    }
    let pointed = [digest, tag]
        .into_iter()
        .flatten()
        .find(|node| present(Some(node)).is_some())
        .unwrap_or(reference);
    ValuesImage {
        path: path.to_string(),
        text,
        node: pointed.clone(),
        shape: ValuesShape::Map {
            reference: reference.clone(),
            tag: tag.cloned(),
            digest: digest.cloned(),
        },
        owner: None,
        editable: true,
    }
}

impl ValuesImage {
    /// A map without a tag or digest: the chart fills them in (usually from the chart's
    /// `appVersion`), so the reference is not known from the values alone. Likewise an
    /// `images:` entry that only renames: the tag is the manifests'.
    pub fn left_to_chart(&self) -> bool {
        let untagged =
            || ImageRef::parse(&self.text).is_ok_and(|r| r.tag().is_none() && r.digest().is_none());
        match &self.shape {
            ValuesShape::String | ValuesShape::Renamed { .. } => false,
            ValuesShape::Map { reference, .. } => self.node.span == reference.span && untagged(),
            ValuesShape::ImagesEntry { .. } => untagged(),
        }
    }

    /// Whether findings point at the map's repository, which holds the whole reference.
    pub fn points_at_reference(&self) -> bool {
        matches!(&self.shape, ValuesShape::Map { reference, .. } if reference.span == self.node.span)
    }
}

/// Adds values images to a model, after its other images and in the order of `images`. An
/// image of a resource's values (a `HelmRelease`) belongs to that resource, with the key path
/// as its field; an image of a values file gets a resource of its own (kind [`VALUES_KIND`],
/// named by its key path), so findings say which value is at fault.
pub fn add_values<'a>(model: &mut Model<'a>, images: &'a [ValuesImage]) {
    for image in images {
        let owner = image.owner.and_then(|span| {
            model
                .resources
                .iter()
                .position(|resource| resource.node.span == span)
        });
        let index = owner.unwrap_or_else(|| {
            model.resources.push(Resource {
                node: &image.node,
                api_version: "",
                kind: VALUES_KIND,
                name: Some(&image.path),
                namespace: None,
                ignored_rules: Vec::new(),
            });
            model.resources.len() - 1
        });
        let parsed = if image.left_to_chart() || is_templated(&image.text) {
            ParsedImage::Templated
        } else {
            match ImageRef::parse(&image.text) {
                Ok(reference) => ParsedImage::Ref(reference),
                Err(error) => ParsedImage::Invalid(error),
            }
        };
        model.images.push(ImageUse {
            resource: index,
            container: None,
            field: &image.path,
            node: &image.node,
            text: &image.text,
            parsed,
            set_by: None,
            workload: None,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::{Limits, load_stream};

    fn found(text: &str) -> Vec<(String, String)> {
        let documents = load_stream(text, Limits::default()).documents;
        values_images(&documents[0], "")
            .into_iter()
            .map(|image| (image.path, image.text))
            .collect()
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn maps_and_strings_anywhere() {
        let text = "image:\n  registry: ghcr.io\n  repository: acme/shop\n  tag: 2.4.1\nsidecar:\n  image: envoy:v1\ncontainers:\n- name: x\n  image: busybox:1.36\nenabled: true\n";
        assert_eq!(
            found(text),
            pairs(&[
                ("image", "ghcr.io/acme/shop:2.4.1"),
                ("sidecar.image", "envoy:v1"),
                ("containers[0].image", "busybox:1.36"),
            ])
        );
    }

    #[test]
    fn common_spellings() {
        let text = "global:\n  imageRegistry: mirror.example.com\na:\n  image:\n    name: r.example.com/a\n    tag: \"1.0\"\nb:\n  image:\n    image: r.example.com/b:2.0\nc:\n  image:\n    registry: docker.io\n    repository: bitnami/redis\n    tag: 7.2.4\n    digest: \"sha256:0000000000000000000000000000000000000000000000000000000000000000\"\nd:\n  initImage: alpine:3.19\n";
        assert_eq!(
            found(text),
            pairs(&[
                ("a.image", "r.example.com/a:1.0"),
                ("b.image", "r.example.com/b:2.0"),
                (
                    "c.image",
                    "mirror.example.com/bitnami/redis:7.2.4@sha256:0000000000000000000000000000000000000000000000000000000000000000"
                ),
                ("d.initImage", "alpine:3.19"),
            ])
        );
    }

    #[test]
    fn findings_point_at_the_tag_or_digest() {
        let text = "image:\n  repository: nginx\n  tag: \"1.25\"\n  digest: \"\"\n";
        let documents = load_stream(text, Limits::default()).documents;
        let images = values_images(&documents[0], "");
        assert_eq!(&text[images[0].node.span.range()], "\"1.25\"");
        assert!(!images[0].left_to_chart());
        let text = "image:\n  repository: nginx\n  tag: \"\"\n";
        let documents = load_stream(text, Limits::default()).documents;
        let images = values_images(&documents[0], "");
        assert_eq!(&text[images[0].node.span.range()], "nginx");
        assert!(images[0].left_to_chart());
    }

    #[test]
    fn not_images() {
        assert!(
            found("image:\n  pullPolicy: Always\nimage2: x\nenabled: true\nsecurityImage: false\n")
                .is_empty()
        );
    }
}
