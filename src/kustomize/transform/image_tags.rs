//! `images:` retags, renames or pins the images of every container and init container,
//! wherever a `containers` or `initContainers` list sits in a resource (kustomize's rule).
//!
//! The rewritten scalar keeps the span of the image as the base wrote it, and the resource
//! records which `images:` entry changed it: that entry is where a person (or `pin`) edits.

use super::super::KustomizeError;
use super::super::resource::{ImageOverride, Resource};
use crate::yaml::{Node, Value};

struct ImageEntry<'a> {
    node: &'a Node,
    name: &'a str,
    new_name: Option<&'a str>,
    new_tag: Option<&'a str>,
    digest: Option<&'a str>,
}

/// An extra place that holds an image, from a kustomization's `configurations` file
/// (`images: [{path: spec/image, kind: Prometheus}]`).
#[derive(Debug, Clone)]
pub struct ImageFieldSpec {
    pub group: String,
    pub kind: String,
    pub path: String,
    pub create: bool,
}

impl ImageFieldSpec {
    pub fn read(node: &Node) -> ImageFieldSpec {
        let text = |key| {
            node.get(key)
                .and_then(Node::as_str)
                .unwrap_or("")
                .to_string()
        };
        ImageFieldSpec {
            group: text("group"),
            kind: text("kind"),
            path: text("path"),
            create: text("create") == "true",
        }
    }
}

pub fn apply(
    kustomization: &Node,
    resources: &mut [Resource],
    extra: &[ImageFieldSpec],
) -> Result<(), KustomizeError> {
    let mut entries = Vec::new();
    for node in kustomization.list("images") {
        let field = |key| {
            node.get(key)
                .and_then(Node::as_str)
                .filter(|v| !v.is_empty())
        };
        let Some(name) = field("name") else {
            return Err(KustomizeError::at(
                "an `images` entry needs a `name`",
                node.span,
            ));
        };
        entries.push(ImageEntry {
            node,
            name,
            new_name: field("newName"),
            new_tag: field("newTag"),
            digest: field("digest"),
        });
    }
    if entries.is_empty() {
        return Ok(());
    }
    for resource in resources {
        if resource.kind() == "CustomResourceDefinition" {
            continue;
        }
        let mut overrides = Vec::new();
        let (group, kind) = (resource.group().to_string(), resource.kind().to_string());
        for entry in &entries {
            retag(&mut resource.node, entry, &mut overrides);
            for spec in extra.iter().filter(|s| {
                (s.kind.is_empty() || s.kind == kind) && (s.group.is_empty() || s.group == group)
            }) {
                let span = entry.node.span;
                super::super::fieldspec::visit_path(
                    &mut resource.node,
                    &spec.path,
                    spec.create,
                    span,
                    &mut |image| update_image(image, entry, &mut overrides),
                );
            }
        }
        resource.image_overrides.extend(overrides);
    }
    Ok(())
}

/// Walks the whole tree for `containers` and `initContainers` lists.
fn retag(node: &mut Node, entry: &ImageEntry<'_>, overrides: &mut Vec<ImageOverride>) {
    match &mut node.value {
        Value::Mapping(pairs) => {
            for (key, value) in pairs {
                if matches!(key.as_str(), Some("containers" | "initContainers"))
                    && let Value::Sequence(containers) = &mut value.value
                {
                    for container in containers.iter_mut() {
                        if let Some(image) = container.get_mut("image") {
                            update_image(image, entry, overrides);
                        }
                    }
                }
                retag(value, entry, overrides);
            }
        }
        Value::Sequence(items) => items
            .iter_mut()
            .for_each(|item| retag(item, entry, overrides)),
        Value::Scalar(_) => {}
    }
}

fn update_image(image: &mut Node, entry: &ImageEntry<'_>, overrides: &mut Vec<ImageOverride>) {
    let Value::Scalar(scalar) = &mut image.value else {
        return;
    };
    if !matches_entry(&scalar.text, entry.name) {
        return;
    }
    let (name, tag, digest) = split(&scalar.text);
    let name = entry.new_name.unwrap_or(name);
    let (tag, digest) = match (entry.new_tag, entry.digest) {
        (Some(tag), Some(digest)) => (Some(tag), Some(digest)),
        (Some(tag), None) => (Some(tag), None),
        (None, Some(digest)) => (None, Some(digest)),
        (None, None) => (tag, digest),
    };
    let mut value = name.to_string();
    if let Some(tag) = tag {
        value.push(':');
        value.push_str(tag);
    }
    if let Some(digest) = digest {
        value.push('@');
        value.push_str(digest);
    }
    scalar.text = value;
    overrides.push(ImageOverride {
        image: image.span,
        entry: entry.node.span,
    });
}

/// Whether `image` is `name`, optionally followed by `:tag` and `@digest` (an entry's name
/// may itself carry a tag, as in `nginx:1.25`).
fn matches_entry(image: &str, name: &str) -> bool {
    let Some(rest) = image.strip_prefix(name) else {
        return false;
    };
    let (tag_part, digest) = match rest.split_once('@') {
        Some((before, digest)) => (before, Some(digest)),
        None => (rest, None),
    };
    let tag_ok = tag_part.is_empty()
        || tag_part
            .strip_prefix(':')
            .is_some_and(|t| !t.contains(['/', ':']));
    tag_ok && digest.is_none_or(|d| d.contains(':'))
}

/// An image's name, tag and digest: the tag is after the last `:` past the first `/` (so a
/// registry port is not a tag), the digest after `@`.
fn split(image: &str) -> (&str, Option<&str>, Option<&str>) {
    let (before_digest, digest) = match image.split_once('@') {
        Some((before, digest)) => (before, Some(digest)),
        None => (image, None),
    };
    let path_start = before_digest.find('/').unwrap_or(0);
    match before_digest[path_start..].rfind(':') {
        Some(colon) => {
            let colon = path_start + colon;
            (
                &before_digest[..colon],
                Some(&before_digest[colon + 1..]),
                digest,
            )
        }
        None => (before_digest, None, digest),
    }
}

#[cfg(test)]
mod tests {
    use super::{matches_entry, split};

    #[test]
    fn names_match_exactly_not_by_prefix() {
        assert!(matches_entry("nginx:1.25", "nginx"));
        assert!(matches_entry("nginx", "nginx"));
        assert!(matches_entry("nginx:1.25", "nginx:1.25"));
        assert!(!matches_entry("nginx-exporter:1", "nginx"));
        assert!(matches_entry("nginx@sha256:ab", "nginx"));
        assert!(!matches_entry("docker.io/library/nginx:1", "nginx"));
    }

    #[test]
    fn split_keeps_registry_ports_in_the_name() {
        assert_eq!(
            split("localhost:5000/a/b:2.0"),
            ("localhost:5000/a/b", Some("2.0"), None)
        );
        assert_eq!(
            split("nginx:1.25@sha256:ab"),
            ("nginx", Some("1.25"), Some("sha256:ab"))
        );
        assert_eq!(split("redis@sha256:ab"), ("redis", None, Some("sha256:ab")));
    }
}
