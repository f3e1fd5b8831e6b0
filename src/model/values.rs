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
use crate::yaml::{Node, ScalarStyle};

/// The kind findings about values images name, with the key path as the name.
pub const VALUES_KIND: &str = "HelmValues";

/// One image a values file sets.
#[derive(Debug)]
pub struct ValuesImage<'a> {
    /// Dotted key path: `image`, `sidecar.image`, `sidecars[0].image`.
    pub path: String,
    /// The reference as the chart would render it.
    pub text: String,
    /// Where findings point: the digest, else the tag, else the repository (for a string,
    /// the string itself).
    pub node: &'a Node,
    pub shape: ValuesShape<'a>,
}

#[derive(Debug)]
pub enum ValuesShape<'a> {
    /// `image: repo:tag`: the scalar is the reference.
    String,
    /// An image map; the nodes of the keys it has.
    Map {
        map: &'a Node,
        reference: &'a Node,
        tag: Option<&'a Node>,
        digest: Option<&'a Node>,
    },
}

/// Every image a values document sets, in document order.
pub fn values_images(document: &Node) -> Vec<ValuesImage<'_>> {
    let global_registry = document
        .at(&["global", "imageRegistry"])
        .and_then(Node::as_str)
        .filter(|registry| !registry.is_empty());
    let mut found = Vec::new();
    walk(document, String::new(), global_registry, &mut found);
    found
}

fn walk<'a>(node: &'a Node, path: String, global: Option<&str>, found: &mut Vec<ValuesImage<'a>>) {
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

fn string_image<'a>(value: &'a Node, path: &str) -> Option<ValuesImage<'a>> {
    let scalar = value.as_scalar()?;
    let boolean =
        scalar.style == ScalarStyle::Plain && matches!(scalar.text.as_str(), "true" | "false");
    if value.is_null() || scalar.text.is_empty() || boolean {
        return None;
    }
    Some(ValuesImage {
        path: path.to_string(),
        text: scalar.text.clone(),
        node: value,
        shape: ValuesShape::String,
    })
}

fn map_image<'a>(map: &'a Node, path: &str, global: Option<&str>) -> Option<ValuesImage<'a>> {
    let reference = ["repository", "name", "image"]
        .into_iter()
        .find_map(|key| map.get(key).filter(|node| node.as_str().is_some()))?;
    let repository = reference.as_str()?;
    let present = |key| {
        map.get(key)
            .filter(|node| node.as_str().is_some_and(|t| !t.is_empty()))
    };
    let (tag, digest) = (present("tag"), present("digest"));
    let registry = map
        .get("registry")
        .map(|node| global.or(node.as_str()).unwrap_or(""));
    let mut text = match registry {
        Some(registry) if !registry.is_empty() => format!("{registry}/{repository}"),
        _ => repository.to_string(),
    };
    // A repository that already names its tag or digest keeps them.
    let complete =
        ImageRef::parse(repository).is_ok_and(|r| r.tag().is_some() || r.digest().is_some());
    if !complete {
        if let Some(tag) = tag.and_then(Node::as_str) {
            text.push(':');
            text.push_str(tag);
        }
        if let Some(digest) = digest.and_then(Node::as_str) {
            text.push('@');
            text.push_str(digest);
        }
    }
    Some(ValuesImage {
        path: path.to_string(),
        text,
        node: digest.or(tag).unwrap_or(reference),
        shape: ValuesShape::Map {
            map,
            reference,
            tag: map.get("tag"),
            digest: map.get("digest"),
        },
    })
}

impl ValuesImage<'_> {
    /// A map without a tag or digest: the chart fills them in (usually from the chart's
    /// `appVersion`), so the reference is not known from the values alone.
    pub fn left_to_chart(&self) -> bool {
        match &self.shape {
            ValuesShape::String => false,
            ValuesShape::Map { reference, .. } => {
                std::ptr::eq(self.node, *reference)
                    && ImageRef::parse(&self.text)
                        .is_ok_and(|r| r.tag().is_none() && r.digest().is_none())
            }
        }
    }
}

/// Adds the images of a values file to a model: one resource per image (kind
/// [`VALUES_KIND`], named by its key path), so findings say which value is at fault. They
/// come after the model's other images, in the order of `images`.
pub fn add_values<'a>(model: &mut Model<'a>, images: &'a [ValuesImage<'a>]) {
    for image in images {
        let index = model.resources.len();
        model.resources.push(Resource {
            node: image.node,
            api_version: "",
            kind: VALUES_KIND,
            name: Some(&image.path),
            namespace: None,
            ignored_rules: Vec::new(),
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
            field: "values",
            node: image.node,
            text: &image.text,
            parsed,
            set_by: None,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::{Limits, load_stream};

    fn found(text: &str) -> Vec<(String, String)> {
        let documents = load_stream(text, Limits::default()).documents;
        values_images(&documents[0])
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
        let images = values_images(&documents[0]);
        assert_eq!(&text[images[0].node.span.range()], "\"1.25\"");
        assert!(!images[0].left_to_chart());
        let text = "image:\n  repository: nginx\n  tag: \"\"\n";
        let documents = load_stream(text, Limits::default()).documents;
        let images = values_images(&documents[0]);
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
