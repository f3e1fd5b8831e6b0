//! Images that Helm values set: `image: repo:tag` strings and image maps
//! (`image: {registry, repository, tag, digest}`, or `name:` / `image:` for the repository),
//! anywhere in a values tree (`sidecar.image`, `controller.initImage`, lists of containers).
//!
//! A map's reference is composed the way common chart helpers compose it:
//! `registry/repository:tag@digest`, with `global.imageRegistry` or `global.image.registry`
//! (when set) standing for the registry of every map that has a `registry` key. An empty
//! repository (`repository: ""`) is the chart's default, which values do not show: not judged.
//! A string `image:` beside a `tag:` (or `imageTag:`) is composed with it, and a component
//! name beside a `hub:` (Istio's `hub/image:tag`, with `global.hub` and `global.tag` as
//! defaults) with both. Values that are no image reference (`null`, `123`, `auto`, `true`)
//! are not images. Each values file is read on its own: a parent chart's values do not reach
//! into a subchart's file.

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
    /// Whether `pin` may write into these bytes: not inside a YAML string, not a tag other
    /// images share.
    pub editable: bool,
    /// Where the image's registry and repository are written, when not in `node` (a map's
    /// `registry:` or `repository:`): findings about the name point there.
    pub name_node: Option<Node>,
    /// How to fix it by hand, when `pin` cannot (`editable` is false).
    pub hint: Option<String>,
}

impl ValuesImage {
    /// An image written as one string.
    pub fn string(path: String, node: &Node) -> ValuesImage {
        ValuesImage {
            path,
            text: node.as_str().unwrap_or_default().to_string(),
            node: node.clone(),
            shape: ValuesShape::String,
            owner: None,
            editable: true,
            name_node: None,
            hint: None,
        }
    }
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

/// The values a whole tree shares: `global.imageRegistry` (Bitnami and many others) or
/// `global.image.registry`, and Istio's `global.hub` and `global.tag`.
#[derive(Clone, Copy, Default)]
struct Globals<'a> {
    registry: Option<&'a Node>,
    hub: Option<&'a Node>,
    tag: Option<&'a Node>,
}

/// A scalar's text when it is a non-empty string.
fn text_of(node: Option<&Node>) -> Option<&str> {
    node.and_then(Node::as_str).filter(|text| !text.is_empty())
}

/// Every image a values tree sets, in document order; `prefix` starts the key paths.
pub fn values_images(root: &Node, prefix: &str) -> Vec<ValuesImage> {
    let present = |path: &[&str]| root.at(path).filter(|node| text_of(Some(node)).is_some());
    let globals = Globals {
        registry: present(&["global", "imageRegistry"])
            .or_else(|| present(&["global", "image", "registry"])),
        hub: present(&["global", "hub"]),
        tag: present(&["global", "tag"]),
    };
    let mut found = Vec::new();
    walk(root, prefix.to_string(), globals, &mut found);
    found
}

fn walk(node: &Node, path: String, globals: Globals<'_>, found: &mut Vec<ValuesImage>) {
    if let Some(items) = node.as_sequence() {
        for (index, item) in items.iter().enumerate() {
            walk(item, format!("{path}[{index}]"), globals, found);
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
            if value.as_scalar().is_some() {
                found.extend(string_image(node, value, &path, globals));
                continue;
            }
            match map_image(value, &path, globals) {
                MapImage::Image(image) => {
                    found.push(*image);
                    continue;
                }
                MapImage::ChartDefault => continue,
                MapImage::NotAnImage => {}
            }
        }
        walk(value, path, globals, found);
    }
}

/// `image`, and camelCase names ending in `Image` (`initImage`, `sidecarImage`).
fn is_image_key(key: &str) -> bool {
    key == "image" || (key.len() > 5 && key.ends_with("Image"))
}

/// Whether a scalar can be an image reference at all: not null, a boolean or a number, not a
/// word charts use as a switch (`auto`, `none`), no spaces.
fn may_be_image(value: &Node) -> bool {
    let Some(scalar) = value.as_scalar() else {
        return false;
    };
    let text = scalar.text.as_str();
    if value.is_null() || text.is_empty() || text.chars().any(char::is_whitespace) {
        return false;
    }
    let plain = scalar.style == ScalarStyle::Plain;
    let resolved_as_other = matches!(
        text,
        "true" | "false" | "True" | "False" | "TRUE" | "FALSE" | "yes" | "no" | "on" | "off"
    ) || text.parse::<f64>().is_ok();
    let switch = matches!(
        text.to_ascii_lowercase().as_str(),
        "auto" | "none" | "default" | "enabled" | "disabled" | "-" | "~"
    );
    let number = text.bytes().all(|b| b.is_ascii_digit());
    let not_a_reference = (plain && resolved_as_other) || switch || number;
    !not_a_reference
}

/// A string under an image key, composed with the `tag:` (or `imageTag:`) and `hub:` beside
/// it when it names neither tag nor digest itself. `parent` is the map that holds it.
fn string_image(
    parent: &Node,
    value: &Node,
    path: &str,
    globals: Globals<'_>,
) -> Option<ValuesImage> {
    if !may_be_image(value) {
        return None;
    }
    let written = value.as_str()?;
    let complete = is_templated(written)
        || ImageRef::parse(written).is_ok_and(|r| r.tag().is_some() || r.digest().is_some());
    let sibling = |key: &str| parent.get(key).filter(|node| text_of(Some(node)).is_some());
    let hub_written = parent.get("hub").is_some();
    // Istio: a component name (`pilot`) that `hub/` and `:tag` complete.
    let component = !written.contains('/') && (hub_written || globals.hub.is_some());
    if complete || !(component || sibling("tag").is_some() || sibling("imageTag").is_some()) {
        return Some(ValuesImage::string(path.to_string(), value));
    }
    let hub = component.then(|| sibling("hub").or(globals.hub)).flatten();
    if component && hub.is_none() {
        return None; // the chart's own hub, which values do not show
    }
    let own_tag = sibling("tag").or_else(|| sibling("imageTag"));
    let tag = own_tag.or(globals.tag.filter(|_| component))?;
    let mut text = String::new();
    if let Some(hub) = text_of(hub) {
        text.push_str(hub.trim_end_matches('/'));
        text.push('/');
    }
    text.push_str(written);
    text.push(':');
    text.push_str(text_of(Some(tag)).unwrap_or_default());
    let shared = own_tag.is_none();
    Some(ValuesImage {
        path: path.to_string(),
        text,
        node: if shared { value.clone() } else { tag.clone() },
        shape: ValuesShape::Map {
            reference: value.clone(),
            tag: own_tag.cloned(),
            digest: None,
        },
        owner: None,
        editable: !shared,
        name_node: Some(hub.unwrap_or(value).clone()),
        hint: shared.then(|| {
            "the tag is `global.tag`, which other images share: pin this one by writing \
             `tag: <tag>@sha256:…` beside this `image:`"
                .to_string()
        }),
    })
}

enum MapImage {
    Image(Box<ValuesImage>),
    /// `repository: ""`: the chart renders its own default, which values do not show.
    ChartDefault,
    NotAnImage,
}

fn map_image(map: &Node, path: &str, globals: Globals<'_>) -> MapImage {
    const NAME_KEYS: [&str; 3] = ["repository", "name", "image"];
    let reference = NAME_KEYS
        .into_iter()
        .find_map(|key| map.get(key).filter(|node| text_of(Some(node)).is_some()));
    let Some(reference) = reference else {
        let empty_name = NAME_KEYS
            .into_iter()
            .any(|key| map.get(key).is_some_and(|node| node.as_scalar().is_some()));
        return if empty_name {
            MapImage::ChartDefault
        } else {
            MapImage::NotAnImage
        };
    };
    if !may_be_image(reference) {
        return MapImage::NotAnImage;
    }
    // A global registry stands for the registry of every map that has one.
    let registry = map
        .get("registry")
        .map(|own| globals.registry.unwrap_or(own));
    MapImage::Image(Box::new(compose(
        path,
        registry,
        reference,
        map.get("tag"),
        map.get("digest"),
    )))
}

/// An image map's reference: `registry/repository:tag@digest`, with the parts it has.
pub fn compose(
    path: &str,
    registry: Option<&Node>,
    reference: &Node,
    tag: Option<&Node>,
    digest: Option<&Node>,
) -> ValuesImage {
    let repository = reference.as_str().unwrap_or("");
    let registry = registry.filter(|node| text_of(Some(node)).is_some());
    let mut text = match text_of(registry) {
        Some(host) => format!("{}/{repository}", host.trim_end_matches('/')),
        None => repository.to_string(),
    };
    // A repository that already names its tag or digest keeps them.
    let complete =
        ImageRef::parse(repository).is_ok_and(|r| r.tag().is_some() || r.digest().is_some());
    if !complete {
        if let Some(tag) = text_of(tag) {
            text.push(':');
            text.push_str(tag);
        }
        if let Some(digest) = text_of(digest) {
            text.push('@');
            text.push_str(digest);
        }
    }
    let pointed = [digest, tag]
        .into_iter()
        .flatten()
        .find(|node| text_of(Some(node)).is_some())
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
        name_node: Some(registry.unwrap_or(reference).clone()),
        hint: None,
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
            name_node: image.name_node.as_ref(),
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

    #[test]
    fn an_empty_repository_is_the_charts_default() {
        let text = "image:\n  repository: \"\"\n  tag: \"\"\nother:\n  image:\n    repository: \"\"\n    tag: \"1.2\"\n";
        assert!(found(text).is_empty());
    }

    #[test]
    fn registries_kept_elsewhere() {
        // ingress-nginx: `image.registry` beside `image.image`, an empty `repository`, and
        // `global.image.registry` over every map's registry.
        let text = "global:\n  image:\n    registry: registry.k8s.io\ncontroller:\n  image:\n    registry: docker.io\n    image: ingress-nginx/controller\n    repository: \"\"\n    tag: v1.9.4\n";
        assert_eq!(
            found(text),
            pairs(&[(
                "controller.image",
                "registry.k8s.io/ingress-nginx/controller:v1.9.4"
            )])
        );
        // Istio: `hub/image:tag`, with `global.hub` and `global.tag` as defaults.
        let text = "global:\n  hub: docker.io/istio\n  tag: 1.20.0\npilot:\n  image: pilot\n  hub: \"\"\n  tag: \"\"\nproxy:\n  image: proxyv2\n  hub: gcr.io/istio-release\n  tag: 1.20.1\ncni:\n  image: ghcr.io/acme/cni:2.0\n";
        assert_eq!(
            found(text),
            pairs(&[
                ("pilot.image", "docker.io/istio/pilot:1.20.0"),
                ("proxy.image", "gcr.io/istio-release/proxyv2:1.20.1"),
                ("cni.image", "ghcr.io/acme/cni:2.0"),
            ])
        );
        // Elastic: `image:` with `imageTag:` beside it.
        let text = "image: docker.elastic.co/elasticsearch/elasticsearch\nimageTag: 8.5.1\n";
        assert_eq!(
            found(text),
            pairs(&[(
                "image",
                "docker.elastic.co/elasticsearch/elasticsearch:8.5.1"
            )])
        );
    }

    #[test]
    fn a_hub_the_values_do_not_show_is_not_guessed() {
        assert!(found("pilot:\n  image: pilot\n  hub: \"\"\n  tag: 1.0\n").is_empty());
    }

    #[test]
    fn findings_about_the_name_point_at_the_registry() {
        let text =
            "image:\n  registry: quay.io\n  repository: acme/app\n  tag: \"1.0\"\n  digest: \"\"\n";
        let documents = load_stream(text, Limits::default()).documents;
        let images = values_images(&documents[0], "");
        let name = images[0].name_node.as_ref().unwrap();
        assert_eq!(&text[name.span.range()], "quay.io");
        assert_eq!(&text[images[0].node.span.range()], "\"1.0\"");
    }

    #[test]
    fn a_shared_global_tag_is_not_pinned_for_one_image() {
        let text = "global:\n  hub: docker.io/istio\n  tag: 1.20.0\npilot:\n  image: pilot\n";
        let documents = load_stream(text, Limits::default()).documents;
        let images = values_images(&documents[0], "");
        assert_eq!(images[0].text, "docker.io/istio/pilot:1.20.0");
        assert!(!images[0].editable);
        assert!(images[0].hint.as_deref().unwrap().contains("global.tag"));
    }

    #[test]
    fn values_that_are_no_reference() {
        let text = "a:\n  image: null\nb:\n  image: 123\nc:\n  image: auto\nd:\n  image: ~\ne:\n  image: \"\"\nf:\n  image: true\ng:\n  image: some words\nh:\n  image:\n    repository: none\n";
        assert!(found(text).is_empty(), "{:?}", found(text));
    }
}
