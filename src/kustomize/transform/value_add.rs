//! kustomize's builtin `ValueAddTransformer` (plugin `valueaddtransformer`, filter
//! `api/filters/valueadd`): one `value` — by default the name of the kustomization's folder —
//! put at each target's `fieldPath` in the resources its `selector` picks (all of them without
//! one). A missing field is created, an existing scalar replaced; with `filePathPosition` N > 0
//! the existing value is read as a file path and the value inserted as its N-th part (1 puts it
//! first, a position past the end appends it), keeping an absolute path absolute. A
//! `metadata/namespace` target sets the namespace as the `namespace:` field does. Targets may
//! also come from `targetFilePath`, a file in the kustomization's folder holding `targets:`.

use super::super::KustomizeError;
use super::super::kustomization::{Builder, Kustomization};
use super::super::resource::Resource;
use super::namespace::{self, Subjects};
use super::selector::Selector;
use crate::source::Span;
use crate::yaml::{Node, Value};

/// One target, checked as kustomize's `Config` checks it before anything is transformed.
struct Target {
    selector: Option<Selector>,
    fields: Vec<String>,
    file_path_position: usize,
    span: Span,
}

pub fn apply(
    k: &Kustomization,
    config: &Node,
    span: Span,
    resources: &mut [Resource],
    builder: &mut Builder,
) -> Result<(), KustomizeError> {
    let value = value_of(k, config)?;
    let targets = targets_of(k, config, span, builder)?;
    for target in &targets {
        for resource in resources.iter_mut() {
            if !target.selector.as_ref().is_none_or(|s| s.matches(resource)) {
                continue;
            }
            if target.fields == ["metadata", "namespace"] {
                let namespace = Node::scalar(value.as_str(), target.span);
                let one = std::slice::from_mut(resource);
                namespace::apply_config(&namespace, &[], false, Subjects::DefaultOnly, one);
            } else {
                add_value(resource, target, &value)?;
            }
        }
    }
    Ok(())
}

/// `value`, trimmed; the folder's name when it is empty or missing.
fn value_of(k: &Kustomization, config: &Node) -> Result<String, KustomizeError> {
    let value = match config.get("value") {
        None => String::new(),
        Some(node) if node.is_null() => String::new(),
        Some(node) => node
            .as_str()
            .filter(|_| crate::config::to_json(node).is_string())
            .ok_or_else(|| KustomizeError::at("`value` must be a string", node.span))?
            .trim()
            .to_string(),
    };
    if !value.is_empty() {
        return Ok(value);
    }
    // kustomize's loader root is the folder with its symlinks resolved.
    let root = k.dir.canonicalize().unwrap_or_else(|_| k.dir.clone());
    Ok(root
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| "/".to_string()))
}

fn targets_of(
    k: &Kustomization,
    config: &Node,
    span: Span,
    builder: &mut Builder,
) -> Result<Vec<Target>, KustomizeError> {
    let mut nodes: Vec<Node> = config.list("targets").to_vec();
    if let Some(path) = config.get("targetFilePath").and_then(Node::as_str) {
        for document in builder.load_patch_file(k, path, span)? {
            nodes.extend(document.list("targets").iter().cloned());
        }
    }
    if nodes.is_empty() {
        return Err(KustomizeError::at("must specify at least one target", span));
    }
    nodes.iter().map(read_target).collect()
}

fn read_target(node: &Node) -> Result<Target, KustomizeError> {
    let path = node.get("fieldPath").and_then(Node::as_str).unwrap_or("");
    if path.is_empty() {
        return Err(KustomizeError::at("fieldPath cannot be empty", node.span));
    }
    let position = match node.get("filePathPosition") {
        None => 0,
        Some(number) => match number.as_str().map(str::parse::<i64>) {
            Some(Ok(n)) if n >= 0 => usize::try_from(n).unwrap_or(usize::MAX),
            Some(Ok(n)) => {
                return Err(KustomizeError::at(
                    format!("value of FilePathPosition ({n}) cannot be negative"),
                    number.span,
                ));
            }
            _ => {
                return Err(KustomizeError::at(
                    "filePathPosition must be a number",
                    number.span,
                ));
            }
        },
    };
    Ok(Target {
        selector: node.get("selector").map(Selector::read).transpose()?,
        fields: split_field_path(path),
        file_path_position: position,
        span: node.span,
    })
}

/// `a/b\/c/d` to `a`, `b/c`, `d`: a backslash before a slash keeps it in the field name.
fn split_field_path(path: &str) -> Vec<String> {
    let mut fields: Vec<String> = Vec::new();
    for part in path.split('/') {
        match fields.last_mut() {
            Some(last) if last.ends_with('\\') => {
                last.pop();
                last.push('/');
                last.push_str(part);
            }
            _ => fields.push(part.to_string()),
        }
    }
    fields
}

/// Creates or replaces the scalar at the target's fields, as kyaml's `LookupCreate` and
/// `FieldSetter` do.
fn add_value(resource: &mut Resource, target: &Target, value: &str) -> Result<(), KustomizeError> {
    let wrong = |found: &str| {
        KustomizeError::at(
            format!(
                "wrong node kind at `{}`: expected a scalar, found {found}",
                target.fields.join("/")
            ),
            target.span,
        )
    };
    let mut node = &mut resource.node;
    for (index, field) in target.fields.iter().enumerate() {
        if field.starts_with('[') {
            return Err(KustomizeError::at(
                format!(
                    "not built: a ValueAddTransformer fieldPath through a list (`{field}`) is not supported by pinnace's Kustomize build"
                ),
                target.span,
            ));
        }
        if node.is_null() {
            *node = Node::mapping(Vec::new(), target.span);
        }
        if !matches!(node.value, Value::Mapping(_)) {
            return Err(wrong(kind_of(node)));
        }
        if node.get(field).is_none() {
            let last = index + 1 == target.fields.len();
            let empty = match last {
                true => Node::scalar("", target.span),
                false => Node::mapping(Vec::new(), target.span),
            };
            node.set(field, empty);
        }
        node = node.get_mut(field).expect("just set");
    }
    // A null (`field:`, or the field just created) reads as its text, as kyaml reads it.
    let Value::Scalar(scalar) = &node.value else {
        return Err(wrong(kind_of(node)));
    };
    let old = scalar.text.clone();
    let new = match target.file_path_position {
        0 => value.to_string(),
        position => insert_path_part(&old, position - 1, value),
    };
    *node = Node::scalar(new, target.span);
    Ok(())
}

fn kind_of(node: &Node) -> &'static str {
    match node.value {
        Value::Mapping(_) => "a mapping",
        Value::Sequence(_) => "a sequence",
        Value::Scalar(_) => "a scalar where a mapping is due",
    }
}

/// kyaml's `filesys.InsertPathPart`: `part` inserted at `position` (0-based) of `path`'s
/// parts, past the end appended, an absolute path kept absolute; joined and cleaned as Go's
/// `filepath.Join` does.
fn insert_path_part(path: &str, position: usize, part: &str) -> String {
    if part.is_empty() {
        return path.to_string();
    }
    let mut parts = path_split(path);
    let mut position = position.min(parts.len());
    if parts.first().is_some_and(String::is_empty) && position < parts.len() {
        position += 1;
    }
    parts.insert(position, part.to_string());
    path_join(&parts)
}

/// kyaml's `filesys.PathSplit`: `""` has no parts, `/a` is `["", "a"]`, `a/b` is `["a", "b"]`.
fn path_split(path: &str) -> Vec<String> {
    if path.is_empty() {
        return Vec::new();
    }
    let (dir, file) = match path.rfind('/') {
        Some(at) => (&path[..=at], &path[at + 1..]),
        None => ("", path),
    };
    if dir == "/" {
        return match file {
            "" => vec![String::new()],
            _ => vec![String::new(), file.to_string()],
        };
    }
    let dir = dir.strip_suffix('/').unwrap_or(dir);
    if dir.is_empty() {
        return vec![file.to_string()];
    }
    let mut parts = path_split(dir);
    parts.push(file.to_string());
    parts
}

/// kyaml's `filesys.PathJoin`: a first empty part makes the path absolute; the rest is joined
/// and cleaned (`.` dropped, `..` taken back, repeated slashes one), as `filepath.Join` does.
fn path_join(parts: &[String]) -> String {
    let Some(first) = parts.first() else {
        return String::new();
    };
    let absolute = first.is_empty();
    let mut cleaned: Vec<&str> = Vec::new();
    for segment in parts.iter().flat_map(|part| part.split('/')) {
        match segment {
            "" | "." => {}
            ".." if cleaned.last().is_some_and(|last| *last != "..") => {
                cleaned.pop();
            }
            ".." if absolute => {}
            other => cleaned.push(other),
        }
    }
    let joined = cleaned.join("/");
    match (absolute, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) if parts.iter().all(String::is_empty) => String::new(),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_part_goes_where_kyaml_inserts_it() {
        // The table of kyaml's InsertPathPart (filesys/util.go), positions 0-based.
        for (old, position, new) in [
            ("", 0, "PEACH"),
            ("/", 0, "/PEACH"),
            ("pie", 0, "PEACH/pie"),
            ("/pie", 0, "/PEACH/pie"),
            ("raw", 1, "raw/PEACH"),
            ("/raw", 1, "/raw/PEACH"),
            ("a/nice/warm/pie", 3, "a/nice/warm/PEACH/pie"),
            ("/a/nice/warm/pie", 3, "/a/nice/warm/PEACH/pie"),
            ("a/b", 9999, "a/b/PEACH"),
            ("a//b/./c", 1, "a/PEACH/b/c"),
        ] {
            assert_eq!(
                insert_path_part(old, position, "PEACH"),
                new,
                "{old} at {position}"
            );
        }
    }

    #[test]
    fn an_escaped_slash_stays_in_its_field() {
        assert_eq!(
            split_field_path(r"metadata/annotations/example.com\/team"),
            ["metadata", "annotations", "example.com/team"]
        );
    }
}
