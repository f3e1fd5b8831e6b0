//! `replacements:` copy a value from one resource's field into fields of others, whole or
//! as one part of a delimited string.
//!
//! Field paths are dotted: `spec.template.spec.containers.[name=web].image`, where
//! `[key=value]` picks list items, `[a.b/c]` is a key with dots in it, a number is a list
//! index and `*` is every item.

use super::super::KustomizeError;
use super::super::kustomization::{Builder, Kustomization};
use super::super::resource::Resource;
use super::selector::Selector;
use crate::source::Span;
use crate::yaml::{Node, Value};

pub fn apply(
    k: &Kustomization,
    resources: &mut [Resource],
    builder: &mut Builder,
) -> Result<(), KustomizeError> {
    for entry in k.node.list("replacements") {
        let replacements = match entry.get("path").and_then(Node::as_str) {
            Some(path) => builder
                .load_patch_file(k, path, entry.span)?
                .into_iter()
                .flat_map(|doc| match doc.value {
                    Value::Sequence(items) => items,
                    _ => vec![doc],
                })
                .collect(),
            None => vec![entry.clone()],
        };
        for replacement in &replacements {
            replace(replacement, resources)?;
        }
    }
    Ok(())
}

fn replace(replacement: &Node, resources: &mut [Resource]) -> Result<(), KustomizeError> {
    let source = replacement
        .get("source")
        .ok_or_else(|| KustomizeError::at("a replacement needs a `source`", replacement.span))?;
    let value = source_value(source, resources)?;
    for target in replacement.list("targets") {
        let select = target.get("select").map(Selector::read).transpose()?;
        let rejects = target
            .list("reject")
            .iter()
            .map(Selector::read)
            .collect::<Result<Vec<_>, _>>()?;
        let options = target.get("options");
        let option = |key| options.and_then(|o| o.get(key)).and_then(Node::as_str);
        let create = option("create") == Some("true");
        for resource in resources.iter_mut() {
            let picked = select.as_ref().is_none_or(|s| s.matches_any_id(resource))
                && !rejects.iter().any(|r| r.matches_any_id(resource));
            if !picked {
                continue;
            }
            for path in target.list("fieldPaths") {
                let segments = parse_path(path.as_str().unwrap_or(""));
                let mut visit =
                    |slot: &mut Node| set_value(slot, &value, option("delimiter"), option("index"));
                walk(&mut resource.node, &segments, create, path.span, &mut visit);
            }
        }
    }
    Ok(())
}

/// The value a replacement copies: the source field, or one part of it.
fn source_value(source: &Node, resources: &[Resource]) -> Result<Node, KustomizeError> {
    let selector = Selector::read(source)?;
    let resource = resources
        .iter()
        .find(|r| selector.matches_any_id(r))
        .ok_or_else(|| {
            KustomizeError::at("the replacement's source matches no resource", source.span)
        })?;
    let path = source
        .get("fieldPath")
        .and_then(Node::as_str)
        .unwrap_or("metadata.name");
    let mut found = None;
    let mut copy = resource.node.clone();
    walk(
        &mut copy,
        &parse_path(path),
        false,
        source.span,
        &mut |node| {
            found.get_or_insert_with(|| node.clone());
        },
    );
    let mut value = found
        .ok_or_else(|| KustomizeError::at(format!("the source has no `{path}`"), source.span))?;
    let options = source.get("options");
    let option = |key| options.and_then(|o| o.get(key)).and_then(Node::as_str);
    if let (Some(delimiter), Some(text)) = (option("delimiter"), value.as_str().map(str::to_string))
    {
        let index: usize = option("index").and_then(|i| i.parse().ok()).unwrap_or(0);
        let part = text.split(delimiter).nth(index).unwrap_or("").to_string();
        if let Value::Scalar(scalar) = &mut value.value {
            scalar.text = part;
        }
    }
    Ok(value)
}

fn set_value(slot: &mut Node, value: &Node, delimiter: Option<&str>, index: Option<&str>) {
    let (Some(delimiter), Some(current)) = (delimiter, slot.as_str().map(str::to_string)) else {
        *slot = copied_value(slot, value);
        return;
    };
    let mut parts: Vec<String> = current.split(delimiter).map(str::to_string).collect();
    let index: usize = index.and_then(|i| i.parse().ok()).unwrap_or(0);
    let replacement = value.as_str().unwrap_or("").to_string();
    match parts.get_mut(index) {
        Some(part) => *part = replacement,
        None => parts.push(replacement),
    }
    if let Value::Scalar(scalar) = &mut slot.value {
        scalar.text = parts.join(delimiter);
    }
}

/// The value at a dotted field path (`spec.ports[0].port`, `data.KEY`), as `vars` read it:
/// an index may follow its key directly.
pub fn field_value(node: &Node, path: &str) -> Option<Node> {
    let mut dotted = String::with_capacity(path.len() + 4);
    let mut previous = '.';
    for c in path.chars() {
        if c == '[' && previous != '.' {
            dotted.push('.');
        }
        dotted.push(c);
        previous = c;
    }
    let segments: Vec<Segment> = parse_path(&dotted)
        .into_iter()
        .map(|segment| match segment {
            Segment::Key(key) => key.parse().map_or(Segment::Key(key), Segment::Index),
            other => other,
        })
        .collect();
    let mut found = None;
    let mut copy = node.clone();
    walk(&mut copy, &segments, false, node.span, &mut |value| {
        found.get_or_insert_with(|| value.clone());
    });
    found
}

/// kustomize copies only the text into a scalar target and keeps the target's type: a string
/// stays a string (`"8080"`), a number stays a number, and a field the replacement created
/// (which has no type yet) reads the text as YAML would.
fn copied_value(slot: &Node, value: &Node) -> Node {
    let (Some(target), Some(source)) = (slot.as_scalar(), value.as_scalar()) else {
        return Node {
            span: slot.span,
            ..value.clone()
        };
    };
    let text = source.text.clone();
    if target.is_null() {
        return Node::scalar(text, slot.span);
    }
    if crate::config::to_json(slot).is_string() {
        return super::string_node(&text, slot.span);
    }
    Node::scalar(text, slot.span)
}

#[derive(Debug, PartialEq)]
enum Segment {
    Key(String),
    Index(usize),
    Every,
    Matching(String, String),
}

fn parse_path(path: &str) -> Vec<Segment> {
    let mut segments = Vec::new();
    let mut rest = path;
    while !rest.is_empty() {
        let (token, next) = if let Some(inner) = rest.strip_prefix('[') {
            let end = inner.find(']').unwrap_or(inner.len());
            (
                &rest[..end + 2.min(rest.len() - end)],
                inner.get(end + 1..).unwrap_or(""),
            )
        } else {
            let end = rest.find('.').unwrap_or(rest.len());
            (&rest[..end], &rest[end..])
        };
        segments.push(segment(token));
        rest = next.strip_prefix('.').unwrap_or(next);
    }
    segments
}

fn segment(token: &str) -> Segment {
    if let Some(inner) = token.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
        return match inner.split_once('=') {
            Some((key, value)) => Segment::Matching(key.to_string(), value.to_string()),
            None => Segment::Key(inner.to_string()),
        };
    }
    match token {
        "*" => Segment::Every,
        _ => token
            .parse()
            .map_or_else(|_| Segment::Key(token.to_string()), Segment::Index),
    }
}

fn walk(
    node: &mut Node,
    segments: &[Segment],
    create: bool,
    span: Span,
    visit: &mut dyn FnMut(&mut Node),
) {
    let Some((first, rest)) = segments.split_first() else {
        visit(node);
        return;
    };
    if let Segment::Key(key) = first {
        if create && node.is_null() {
            *node = Node::mapping(Vec::new(), span);
        }
        if node.as_mapping().is_none() {
            return;
        }
        if node.get(key).is_none() {
            if !create {
                return;
            }
            let child = if rest.is_empty() {
                Node::scalar("", span)
            } else {
                Node::mapping(Vec::new(), span)
            };
            node.set(key, child);
        }
        if let Some(child) = node.get_mut(key) {
            walk(child, rest, create, span, visit);
        }
        return;
    }
    let Value::Sequence(items) = &mut node.value else {
        return;
    };
    for (position, item) in items.iter_mut().enumerate() {
        let picked = match first {
            Segment::Index(index) => position == *index,
            Segment::Every => true,
            Segment::Matching(key, value) => {
                item.get(key).and_then(Node::as_str) == Some(value.as_str())
            }
            Segment::Key(_) => false,
        };
        if picked {
            walk(item, rest, create, span, visit);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_split_on_dots_outside_brackets() {
        assert_eq!(
            parse_path("spec.containers.[name=web].env.0.value"),
            vec![
                Segment::Key("spec".into()),
                Segment::Key("containers".into()),
                Segment::Matching("name".into(), "web".into()),
                Segment::Key("env".into()),
                Segment::Index(0),
                Segment::Key("value".into()),
            ]
        );
        assert_eq!(
            parse_path("metadata.labels.[app.kubernetes.io/version]"),
            vec![
                Segment::Key("metadata".into()),
                Segment::Key("labels".into()),
                Segment::Key("app.kubernetes.io/version".into())
            ]
        );
    }
}
