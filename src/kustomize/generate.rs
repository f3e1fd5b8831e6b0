//! `configMapGenerator` and `secretGenerator`: ConfigMaps and Secrets made from literals,
//! files and env files, merged into or replacing a base's generated ones (`behavior`), and
//! named with a content hash at the end of the build so that a change rolls the workloads
//! that use them.

use std::collections::BTreeMap;

use base64::Engine;
use sha2::{Digest as _, Sha256};

use super::KustomizeError;
use super::kustomization::{Builder, Kustomization};
use super::resource::Resource;
use super::transform::{merge_pairs, string_node, string_pairs};
use crate::source::Span;
use crate::yaml::{Node, Value};

/// Kubernetes wraps nothing, but kustomize prints Secret data in lines of this many characters.
const BASE64_LINE: usize = 70;

pub fn run(
    k: &Kustomization,
    resources: &mut Vec<Resource>,
    builder: &mut Builder,
) -> Result<(), KustomizeError> {
    let options = k.node.get("generatorOptions");
    for (field, kind) in [
        ("configMapGenerator", "ConfigMap"),
        ("secretGenerator", "Secret"),
    ] {
        for entry in k.node.list(field) {
            generate(k, entry, kind, options, resources, builder)?;
        }
    }
    super::helm_charts::inflate(k, resources, builder)?;
    super::plugins::run_generators(k, resources, builder)
}

fn generate(
    k: &Kustomization,
    entry: &Node,
    kind: &str,
    options: Option<&Node>,
    resources: &mut Vec<Resource>,
    builder: &mut Builder,
) -> Result<(), KustomizeError> {
    let text = |key| entry.get(key).and_then(Node::as_str);
    let name =
        text("name").ok_or_else(|| KustomizeError::at("a generator needs a `name`", entry.span))?;
    let data = read_data(k, entry, builder)?;
    let mut generated = Resource::new(new_object(kind, name, text("namespace"), entry, options));
    put_data(&mut generated.node, kind, &data, false);
    generated.needs_hash = !hash_disabled(entry, options);
    absorb(
        generated,
        text("behavior").unwrap_or("create"),
        entry,
        resources,
    )
}

/// Adds a generated resource, or merges it into (or lets it replace) the one resource that
/// has or had its id, as `behavior` says.
fn absorb(
    mut generated: Resource,
    behavior: &str,
    entry: &Node,
    resources: &mut Vec<Resource>,
) -> Result<(), KustomizeError> {
    let id = generated.current_id();
    let matches: Vec<usize> = (0..resources.len())
        .filter(|&i| resources[i].had_id(&id))
        .collect();
    let (kind, name) = (id.kind.to_string(), id.name.to_string());
    let index = match (behavior, matches.as_slice()) {
        ("create" | "merge" | "replace", [_, _, ..]) => {
            return Err(KustomizeError::at(
                format!(
                    "{} resources could take the {kind} `{name}` this generator makes",
                    matches.len()
                ),
                entry.span,
            ));
        }
        ("create", []) => {
            resources.push(generated);
            return Ok(());
        }
        ("create", [_]) => {
            return Err(KustomizeError::at(
                format!(
                    "{kind} `{name}` already exists: behavior must be merge or replace to change it"
                ),
                entry.span,
            ));
        }
        ("merge" | "replace", []) => {
            return Err(KustomizeError::at(
                format!("behavior `{behavior}` needs an existing {kind} `{name}` to change"),
                entry.span,
            ));
        }
        ("merge" | "replace", [index]) => *index,
        (other, _) => {
            return Err(KustomizeError::at(
                format!("unknown behavior `{other}`"),
                entry.span,
            ));
        }
    };
    let old = &resources[index];
    if behavior == "merge" {
        // A merged object stays the base generator's (its origin, its location).
        generated.node.span = old.node.span;
        for field in ["data", "binaryData"] {
            merge_map_under(&mut generated.node, old.node.get(field), field, entry.span);
        }
    }
    take_identity(&mut generated, old, entry.span);
    resources[index] = generated;
    Ok(())
}

/// What a merged or replacing generator keeps of the resource it changes: its name and
/// namespace, its labels and annotations (under the new ones), and what the build
/// remembers of it. A hash suffix is kept only when both want one.
fn take_identity(generated: &mut Resource, old: &Resource, span: Span) {
    for field in ["labels", "annotations"] {
        let old_map = old.node.at(&["metadata", field]);
        if let Some(metadata) = generated.node.get_mut("metadata") {
            merge_map_under(metadata, old_map, field, span);
        }
    }
    generated.set_name(old.name(), span);
    if let Some(metadata) = generated.node.get_mut("metadata") {
        match old.namespace() {
            Some(namespace) => metadata.set("namespace", Node::scalar(namespace, span)),
            None => {
                metadata.remove("namespace");
            }
        }
    }
    generated.previous = old.previous.clone();
    generated.prefixes = old.prefixes.clone();
    generated.suffixes = old.suffixes.clone();
    generated.needs_hash = generated.needs_hash && old.needs_hash;
}

/// Puts the entries of `old` under `field` of `node`, below the entries already there.
fn merge_map_under(node: &mut Node, old: Option<&Node>, field: &str, span: Span) {
    let Some(old_entries) = old.and_then(Node::as_mapping) else {
        return;
    };
    let mut merged = Node::mapping(old_entries.to_vec(), span);
    if let Some(new_entries) = node.get(field).and_then(Node::as_mapping) {
        for (key, value) in new_entries {
            if let Some(key) = key.as_str() {
                merged.set(key, value.clone());
            }
        }
    }
    node.set(field, merged);
}

/// `(key, value)` pairs from `literals`, `envs` (and the old `env`) and `files`, in that order.
fn read_data(
    k: &Kustomization,
    entry: &Node,
    builder: &mut Builder,
) -> Result<Vec<(String, Vec<u8>, Span)>, KustomizeError> {
    let strings = |key| {
        entry
            .list(key)
            .iter()
            .filter_map(|n| n.as_str().map(|s| (s.to_string(), n.span)))
            .collect::<Vec<_>>()
    };
    let mut data = Vec::new();
    for (literal, span) in strings("literals") {
        let (key, value) = literal.split_once('=').ok_or_else(|| {
            KustomizeError::at(format!("literal `{literal}` is not KEY=VALUE"), span)
        })?;
        data.push((key.to_string(), unquote(value).as_bytes().to_vec(), span));
    }
    let mut env_files = strings("envs");
    if let Some(env) = entry.get("env").and_then(Node::as_str) {
        env_files.push((env.to_string(), entry.span));
    }
    for (path, span) in env_files {
        let text = String::from_utf8_lossy(&builder.read_bytes(k, &path, span)?).into_owned();
        for line in text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            if let Some((key, value)) = line.split_once('=') {
                data.push((key.to_string(), value.as_bytes().to_vec(), span));
            }
        }
    }
    for (source, span) in strings("files") {
        let (key, path) = match source.split_once('=') {
            Some((key, path)) => (key.to_string(), path.to_string()),
            None => (
                source.rsplit('/').next().unwrap_or(&source).to_string(),
                source.clone(),
            ),
        };
        data.push((key, builder.read_bytes(k, &path, span)?, span));
    }
    Ok(data)
}

/// `"v"` and `'v'` lose their quotes, as kustomize reads literals.
fn unquote(value: &str) -> &str {
    for quote in ['"', '\''] {
        if let Some(inner) = value
            .strip_prefix(quote)
            .and_then(|v| v.strip_suffix(quote))
        {
            return inner;
        }
    }
    value
}

fn new_object(
    kind: &str,
    name: &str,
    namespace: Option<&str>,
    entry: &Node,
    options: Option<&Node>,
) -> Node {
    let span = entry.span;
    let mut metadata = Node::mapping(
        vec![(Node::scalar("name", span), Node::scalar(name, span))],
        span,
    );
    if let Some(namespace) = namespace {
        metadata.set("namespace", Node::scalar(namespace, span));
    }
    for key in ["labels", "annotations"] {
        let pairs = meta_pairs(entry, options, key);
        if !pairs.is_empty() {
            let mut map = Node::mapping(Vec::new(), span);
            merge_pairs(&mut map, &pairs);
            metadata.set(key, map);
        }
    }
    let mut object = Node::mapping(
        vec![
            (Node::scalar("apiVersion", span), Node::scalar("v1", span)),
            (Node::scalar("kind", span), Node::scalar(kind, span)),
            (Node::scalar("metadata", span), metadata),
        ],
        span,
    );
    if kind == "Secret" {
        let kind_of_secret = entry.get("type").and_then(Node::as_str).unwrap_or("Opaque");
        object.set("type", Node::scalar(kind_of_secret, span));
    }
    let immutable = |node: Option<&Node>| {
        node.and_then(|o| o.get("immutable")).and_then(Node::as_str) == Some("true")
    };
    if immutable(options) || immutable(entry.get("options")) {
        object.set("immutable", Node::scalar("true", span));
    }
    object
}

/// Labels or annotations from `generatorOptions` and then the generator's own `options`.
fn meta_pairs(entry: &Node, options: Option<&Node>, key: &str) -> Vec<(String, String, Span)> {
    let mut pairs = string_pairs(options.and_then(|o| o.get(key)));
    pairs.extend(string_pairs(entry.at(&["options", key])));
    pairs
}

/// Either `generatorOptions` or the generator's `options` can turn the hash off; a `false`
/// in one does not turn it back on when the other says `true` (as kustomize does it).
fn hash_disabled(entry: &Node, options: Option<&Node>) -> bool {
    let disabled = |node: Option<&Node>| {
        node.and_then(|o| o.get("disableNameSuffixHash"))
            .and_then(Node::as_str)
            == Some("true")
    };
    disabled(options) || disabled(entry.get("options"))
}

/// Writes `data` (text into `data`, anything else base64 into `binaryData`; for Secrets all
/// base64 into `data`), merging with what is there unless `replace`.
fn put_data(object: &mut Node, kind: &str, data: &[(String, Vec<u8>, Span)], replace: bool) {
    let span = object.span;
    for field in ["data", "binaryData"] {
        if replace {
            object.remove(field);
        }
    }
    for (key, bytes, value_span) in data {
        let (field, value) = match (kind, std::str::from_utf8(bytes)) {
            ("ConfigMap", Ok(text)) => ("data", text.to_string()),
            ("ConfigMap", Err(_)) => ("binaryData", base64_wrapped(bytes)),
            _ => ("data", base64_wrapped(bytes)),
        };
        if object.get(field).is_none_or(Node::is_null) {
            object.set(field, Node::mapping(Vec::new(), span));
        }
        if let Some(map) = object.get_mut(field) {
            map.set(key, string_node(&value, *value_span));
        }
    }
}

fn base64_wrapped(bytes: &[u8]) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    if encoded.len() <= BASE64_LINE {
        return encoded;
    }
    let mut wrapped = String::with_capacity(encoded.len() + encoded.len() / BASE64_LINE + 1);
    for chunk in encoded.as_bytes().chunks(BASE64_LINE) {
        wrapped.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        wrapped.push('\n');
    }
    wrapped
}

/// Renames every generated resource to `name-<hash>` (kustomize's content hash), at the end
/// of the top-level build; references follow through the name-reference fix.
pub fn add_hash_suffixes(resources: &mut [Resource]) {
    for resource in resources.iter_mut().filter(|r| r.needs_hash) {
        let hash = content_hash(&resource.node);
        resource.store_previous_id();
        let name = format!("{}-{hash}", resource.name());
        let span = resource.node.span;
        resource.set_name(&name, span);
    }
}

/// kustomize's hash: SHA-256 of Go's JSON encoding of `{data, kind, name[, binaryData]}`
/// (Secrets: `{data, kind, name, type[, stringData]}`), first ten hex digits with some
/// letters swapped so the suffix never reads as a number.
///
/// kustomize looks `name` up as the single key `metadata/name`, which never exists, so the
/// name it hashes is always empty (and a missing field is an empty string, not null). The
/// suffix must match kustomize's byte for byte, so pinnace does the same.
fn content_hash(object: &Node) -> String {
    let kind = object.get("kind").and_then(Node::as_str).unwrap_or("");
    let empty = || serde_json::Value::String(String::new());
    let json = |key: &str| object.get(key).map_or_else(empty, crate::config::to_json);
    let mut fields = BTreeMap::new();
    fields.insert("kind", serde_json::Value::String(kind.to_string()));
    fields.insert("name", empty());
    fields.insert("data", json("data"));
    let optional = if kind == "Secret" {
        fields.insert("type", json("type"));
        "stringData"
    } else {
        "binaryData"
    };
    if matches!(
        object.get(optional).map(|n| &n.value),
        Some(Value::Mapping(_))
    ) {
        fields.insert(optional, json(optional));
    }
    let encoded = go_json(&serde_json::to_value(&fields).unwrap_or_default());
    let hex: String = Sha256::digest(encoded.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    hex[..10]
        .chars()
        .map(|c| match c {
            '0' => 'g',
            '1' => 'h',
            '3' => 'k',
            'a' => 'm',
            'e' => 't',
            other => other,
        })
        .collect()
}

/// JSON as Go's `encoding/json` writes it: keys sorted, and `<`, `>`, `&` escaped.
fn go_json(value: &serde_json::Value) -> String {
    fn sorted(value: &serde_json::Value) -> serde_json::Value {
        match value {
            serde_json::Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                serde_json::Value::Object(
                    keys.into_iter()
                        .map(|k| (k.clone(), sorted(&map[k])))
                        .collect(),
                )
            }
            serde_json::Value::Array(items) => {
                serde_json::Value::Array(items.iter().map(sorted).collect())
            }
            other => other.clone(),
        }
    }
    serde_json::to_string(&sorted(value))
        .unwrap_or_default()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}
