//! `openapi:` — the schema kustomize's strategic merge patches use. `version` names one of
//! kustomize's built-in Kubernetes schemas (v5.5.0 has only `v1.21.2`, which is what
//! pinnace's merge keys follow); `path` names a custom schema (JSON or YAML, OpenAPI v2
//! `definitions`) whose `x-kubernetes-patch-merge-key` / `x-kubernetes-patch-strategy`
//! tell how the lists of custom kinds merge. As in kustomize, the first kustomization of a
//! build that sets a schema sets it for the whole build.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use super::KustomizeError;
use super::kustomization::{Builder, Kustomization};
use crate::yaml::Node;

/// The only schema version kustomize v5.5.0 has built in.
const BUILT_IN_VERSION: &str = "v1.21.2";
/// Bounds on walking a schema: nesting of `$ref`s and properties, and fields recorded.
const MAX_DEPTH: usize = 32;
const MAX_FIELDS: usize = 10_000;

/// For each kind a custom schema describes, the merge key of each list (by the path of
/// field names to it, `spec/template/spec/containers`); `None` where the schema says the
/// list is replaced.
#[derive(Debug, Default)]
pub struct Schema {
    lists: HashMap<(String, String), Option<String>>,
}

thread_local! {
    /// The custom schema of the build running on this thread (builds are single-threaded).
    static CUSTOM: RefCell<Option<Rc<Schema>>> = const { RefCell::new(None) };
    /// The kind of the resource a strategic merge patch is being merged into.
    static MERGING_KIND: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Clears the schema at the start and end of a build.
pub fn reset() {
    CUSTOM.with(|custom| *custom.borrow_mut() = None);
}

/// Reads `openapi:` of a kustomization.
pub fn read(k: &Kustomization, builder: &mut Builder) -> Result<(), KustomizeError> {
    let Some(field) = k.node.get("openapi") else {
        return Ok(());
    };
    let version = field.get("version");
    let path = field.get("path");
    if version.is_some() && path.is_some() {
        return Err(KustomizeError::at(
            "builtin version and custom schema provided, cannot use both",
            field.span,
        ));
    }
    if let Some(version) = version
        && version.as_str() != Some(BUILT_IN_VERSION)
    {
        return Err(KustomizeError::at(
            format!(
                "the specified OpenAPI version is not built in (kustomize v5.5.0 has {BUILT_IN_VERSION})"
            ),
            version.span,
        ));
    }
    let Some(path) = path else {
        return Ok(());
    };
    let text = path
        .as_str()
        .ok_or_else(|| KustomizeError::at("`openapi.path` is a file path", path.span))?;
    let documents = builder.load_patch_file(k, text, path.span)?;
    let schema = documents.first().map(parse).unwrap_or_default();
    CUSTOM.with(|custom| {
        let mut custom = custom.borrow_mut();
        if custom.is_none() {
            *custom = Some(Rc::new(schema));
        }
    });
    Ok(())
}

/// Notes the kind a strategic merge patch is merged into.
pub fn merging(kind: &str) {
    MERGING_KIND.with(|current| {
        let mut current = current.borrow_mut();
        current.clear();
        current.push_str(kind);
    });
}

/// The custom schema's word on the list at `path` of the kind being merged: `Some(key)` to
/// merge by key, `Some(None)` to replace, `None` when it says nothing.
pub fn merge_key(path: &[&str]) -> Option<Option<String>> {
    let schema = CUSTOM.with(|custom| custom.borrow().clone())?;
    let kind = MERGING_KIND.with(|current| current.borrow().clone());
    schema.lists.get(&(kind, path.join("/"))).cloned()
}

fn parse(document: &Node) -> Schema {
    let mut schema = Schema::default();
    let Some(definitions) = document.get("definitions").and_then(Node::as_mapping) else {
        return schema;
    };
    let by_name: HashMap<&str, &Node> = definitions
        .iter()
        .filter_map(|(name, body)| Some((name.as_str()?, body)))
        .collect();
    for body in by_name.values() {
        for gvk in body.list("x-kubernetes-group-version-kind") {
            let Some(kind) = gvk.get("kind").and_then(Node::as_str) else {
                continue;
            };
            let mut walk = Walk {
                by_name: &by_name,
                kind,
                schema: &mut schema,
            };
            walk.object(body, &mut Vec::new(), 0);
        }
    }
    schema
}

struct Walk<'a> {
    by_name: &'a HashMap<&'a str, &'a Node>,
    kind: &'a str,
    schema: &'a mut Schema,
}

impl Walk<'_> {
    /// Follows `$ref` to its definition.
    fn resolve<'n>(&self, node: &'n Node) -> Option<&'n Node>
    where
        Self: 'n,
    {
        match node.get("$ref").and_then(Node::as_str) {
            Some(reference) => {
                let name = reference.strip_prefix("#/definitions/")?;
                self.by_name.get(name).copied()
            }
            None => Some(node),
        }
    }

    fn object(&mut self, node: &Node, path: &mut Vec<String>, depth: usize) {
        if depth > MAX_DEPTH || self.schema.lists.len() >= MAX_FIELDS {
            return;
        }
        let Some(node) = self.resolve(node) else {
            return;
        };
        for (name, property) in node
            .get("properties")
            .and_then(Node::as_mapping)
            .unwrap_or(&[])
        {
            let Some(name) = name.as_str() else { continue };
            path.push(name.to_string());
            if let Some(property) = self.resolve(property) {
                if let Some(items) = property.get("items") {
                    self.list(property, path);
                    self.object(items, path, depth + 1);
                } else {
                    self.object(property, path, depth + 1);
                }
            }
            path.pop();
        }
    }

    fn list(&mut self, property: &Node, path: &[String]) {
        let text = |key| property.get(key).and_then(Node::as_str);
        let merges = text("x-kubernetes-patch-strategy").is_some_and(|s| s.contains("merge"));
        let key = text("x-kubernetes-patch-merge-key")
            .filter(|_| merges)
            .map(str::to_string);
        self.schema
            .lists
            .insert((self.kind.to_string(), path.join("/")), key);
    }
}
