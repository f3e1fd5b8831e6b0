//! `crds:` files: OpenAPI definitions (a map from Go type name to `{Schema, Dependencies}`,
//! JSON or YAML) from which kustomize's legacy CRD support learns, for each type that looks
//! like a Kubernetes object (`kind`, `apiVersion`, `metadata` properties), places its
//! transformers do not know: a property marked `x-kubernetes-object-ref-kind` (with
//! `x-kubernetes-object-ref-api-version`, and the key `x-kubernetes-object-ref-name-key`,
//! default `name`) holds the name of that kind, `x-kubernetes-annotation` takes
//! `commonAnnotations`, `x-kubernetes-label-selector` takes `commonLabels`, and
//! `x-kubernetes-identity` takes `namePrefix`. `$ref`s to other definitions are followed.
//!
//! What is learned joins the kustomization's configuration, as a `configurations` file's
//! sections do (see `configurations`). The kind is the type name's last dotted part.
//! Bounds: a `$ref` chain is followed [`MAX_DEPTH`] deep at most, never through a type it is
//! already in (kustomize itself would recurse forever), and [`MAX_VISITS`] properties per
//! object type at most (past that the file is refused).

use super::KustomizeError;
use super::configurations::{ConfigFieldSpec, NameBackReference, TransformerConfig};
use super::kustomization::{Builder, Kustomization};
use crate::yaml::Node;

const MAX_DEPTH: usize = 32;
/// Properties visited per object type at most: `$ref`s that fan out (each type naming the
/// next twice) would otherwise make the walk exponential in its depth.
const MAX_VISITS: usize = 100_000;

/// The configuration the `crds:` files of a kustomization add.
pub fn load(k: &Kustomization, builder: &mut Builder) -> Result<TransformerConfig, KustomizeError> {
    let mut config = TransformerConfig::default();
    for entry in k.node.list("crds") {
        let path = entry
            .as_str()
            .ok_or_else(|| KustomizeError::at("a `crds` entry is a file path", entry.span))?;
        for document in builder.load_patch_file(k, path, entry.span)? {
            let Some(definitions) = document.as_mapping() else {
                return Err(KustomizeError::at(
                    format!(
                        "unable to parse open API definition from '{path}': not a map of type names to definitions"
                    ),
                    document.span,
                ));
            };
            for (name, definition) in definitions {
                let Some(name) = name.as_str() else { continue };
                if !looks_like_an_object(properties(definition)) {
                    continue;
                }
                let kind = name.rsplit('.').next().unwrap_or(name);
                let mut learned = TransformerConfig::default();
                let mut walk = Walk {
                    definitions,
                    kind,
                    config: &mut learned,
                    types: Vec::new(),
                    visits: 0,
                };
                walk.type_named(name, &mut Vec::new());
                if walk.visits > MAX_VISITS {
                    return Err(KustomizeError::at(
                        format!(
                            "the definitions of `{name}` in '{path}' refer to each other past pinnace's limit of {MAX_VISITS} properties"
                        ),
                        entry.span,
                    ));
                }
                config.merge(learned);
            }
        }
    }
    Ok(config)
}

/// A key of a Go-decoded map: matched without regard to case, as `encoding/json` does.
fn get<'n>(node: &'n Node, key: &str) -> Option<&'n Node> {
    node.as_mapping()?
        .iter()
        .find(|(k, _)| k.as_str().is_some_and(|k| k.eq_ignore_ascii_case(key)))
        .map(|(_, v)| v)
}

/// The properties of a definition's schema.
fn properties(definition: &Node) -> &[(Node, Node)] {
    get(definition, "Schema")
        .and_then(|schema| schema.get("properties"))
        .and_then(Node::as_mapping)
        .unwrap_or(&[])
}

fn looks_like_an_object(properties: &[(Node, Node)]) -> bool {
    ["kind", "apiVersion", "metadata"]
        .iter()
        .all(|key| properties.iter().any(|(k, _)| k.as_str() == Some(key)))
}

/// A string extension of a property (an extension that is not a string does not count, as
/// in kube-openapi's `GetString`).
fn extension<'n>(property: &'n Node, key: &str) -> Option<&'n str> {
    let value = get(property, key)?;
    crate::config::to_json(value)
        .is_string()
        .then(|| value.as_str())
        .flatten()
}

struct Walk<'d, 'c> {
    definitions: &'d [(Node, Node)],
    kind: &'d str,
    config: &'c mut TransformerConfig,
    /// The types being walked, outermost first.
    types: Vec<&'d str>,
    /// Properties visited so far (see [`MAX_VISITS`]).
    visits: usize,
}

impl<'d> Walk<'d, '_> {
    fn type_named(&mut self, name: &'d str, path: &mut Vec<&'d str>) {
        if self.types.len() >= MAX_DEPTH || self.types.contains(&name) {
            return;
        }
        let Some((_, definition)) = self
            .definitions
            .iter()
            .find(|(key, _)| key.as_str() == Some(name))
        else {
            return;
        };
        self.types.push(name);
        for (property_name, property) in properties(definition) {
            let Some(property_name) = property_name.as_str() else {
                continue;
            };
            self.visits += 1;
            if self.visits > MAX_VISITS {
                break;
            }
            path.push(property_name);
            self.property(property, path);
            if let Some(reference) = property.get("$ref").and_then(Node::as_str) {
                self.type_named(reference, path);
            }
            path.pop();
        }
        self.types.pop();
    }

    fn property(&mut self, property: &Node, path: &[&str]) {
        let spec = |path: String| ConfigFieldSpec {
            kind: self.kind.to_string(),
            span: property.span,
            ..ConfigFieldSpec::any(&path)
        };
        let here = path.join("/");
        if extension(property, "x-kubernetes-annotation").is_some() {
            self.config.common_annotations.push(spec(here.clone()));
        }
        if extension(property, "x-kubernetes-label-selector").is_some() {
            self.config.common_labels.push(spec(here.clone()));
        }
        if extension(property, "x-kubernetes-identity").is_some() {
            self.config.name_prefix.push(spec(here.clone()));
        }
        if extension(property, "x-kubernetes-object-ref-api-version").is_some()
            && let Some(kind) = extension(property, "x-kubernetes-object-ref-kind")
        {
            let key = extension(property, "x-kubernetes-object-ref-name-key").unwrap_or("name");
            let reference = NameBackReference {
                group: String::new(),
                kind: kind.to_string(),
                referrers: vec![spec(format!("{here}/{key}"))],
            };
            self.config.merge(TransformerConfig {
                name_reference: vec![reference],
                ..TransformerConfig::default()
            });
        }
    }
}
