//! RFC 6902 JSON patches on YAML trees: `add`, `remove`, `replace`, `move`, `copy`, `test`,
//! with RFC 6901 pointers (`/spec/template/spec/containers/0/image`, `-` to append).

use super::super::KustomizeError;
use crate::yaml::{Node, Value};

/// Applies the operations of `patch` (a sequence of `{op, path, value, from}` maps) in order.
pub fn apply(target: &mut Node, patch: &Node) -> Result<(), KustomizeError> {
    let Some(operations) = patch.as_sequence() else {
        return Err(KustomizeError::at(
            "a JSON patch must be a list of operations",
            patch.span,
        ));
    };
    for operation in operations {
        apply_one(target, operation)?;
    }
    Ok(())
}

fn apply_one(target: &mut Node, operation: &Node) -> Result<(), KustomizeError> {
    let field = |key| operation.get(key).and_then(Node::as_str);
    let fail = |message: String| KustomizeError::at(message, operation.span);
    let op = field("op").ok_or_else(|| fail("a JSON patch operation needs `op`".into()))?;
    let path =
        pointer(field("path").ok_or_else(|| fail("a JSON patch operation needs `path`".into()))?);
    let value = || {
        operation
            .get("value")
            .cloned()
            .ok_or_else(|| fail(format!("`{op}` needs a `value`")))
    };
    match op {
        "add" => add(target, &path, value()?).map_err(fail),
        "replace" => {
            let slot = resolve(target, &path)
                .ok_or_else(|| fail(format!("`replace`: {} does not exist", show(&path))))?;
            *slot = value()?;
            Ok(())
        }
        "remove" => remove(target, &path).map(drop).map_err(fail),
        "move" | "copy" => {
            let from = pointer(field("from").ok_or_else(|| fail(format!("`{op}` needs `from`")))?);
            let moved = if op == "move" {
                remove(target, &from).map_err(&fail)?
            } else {
                resolve(target, &from)
                    .cloned()
                    .ok_or_else(|| fail(format!("`copy`: {} does not exist", show(&from))))?
            };
            add(target, &path, moved).map_err(fail)
        }
        "test" => {
            let expected = value()?;
            let actual = resolve(target, &path)
                .ok_or_else(|| fail(format!("`test`: {} does not exist", show(&path))))?;
            if crate::config::to_json(actual) != crate::config::to_json(&expected) {
                return Err(fail(format!(
                    "`test` failed: {} is not the expected value",
                    show(&path)
                )));
            }
            Ok(())
        }
        other => Err(fail(format!("unknown JSON patch operation `{other}`"))),
    }
}

/// RFC 6901: `/a/b~1c` is `["a", "b/c"]`.
fn pointer(text: &str) -> Vec<String> {
    text.split('/')
        .skip(1)
        .map(|token| token.replace("~1", "/").replace("~0", "~"))
        .collect()
}

fn show(path: &[String]) -> String {
    format!("/{}", path.join("/"))
}

fn resolve<'n>(node: &'n mut Node, path: &[String]) -> Option<&'n mut Node> {
    let mut node = node;
    for token in path {
        node = match &mut node.value {
            Value::Sequence(items) => items.get_mut(token.parse::<usize>().ok()?)?,
            Value::Mapping(entries) => entries
                .iter_mut()
                .find(|(k, _)| k.as_str() == Some(token))
                .map(|(_, v)| v)?,
            Value::Scalar(_) => return None,
        };
    }
    Some(node)
}

fn add(target: &mut Node, path: &[String], value: Node) -> Result<(), String> {
    let Some((last, parent_path)) = path.split_last() else {
        *target = value;
        return Ok(());
    };
    let parent = resolve(target, parent_path)
        .ok_or_else(|| format!("`add`: {} does not exist", show(parent_path)))?;
    match &mut parent.value {
        Value::Mapping(_) => {
            parent.set(last, value);
            Ok(())
        }
        Value::Sequence(items) if last == "-" => {
            items.push(value);
            Ok(())
        }
        Value::Sequence(items) => match last.parse::<usize>() {
            Ok(index) if index <= items.len() => {
                items.insert(index, value);
                Ok(())
            }
            _ => Err(format!(
                "`add`: index {last} is out of range in {}",
                show(parent_path)
            )),
        },
        Value::Scalar(_) => Err(format!("`add`: {} is not a map or list", show(parent_path))),
    }
}

fn remove(target: &mut Node, path: &[String]) -> Result<Node, String> {
    let (last, parent_path) = path.split_last().ok_or("`remove` needs a path")?;
    let missing = || format!("`remove`: {} does not exist", show(path));
    let parent = resolve(target, parent_path).ok_or_else(missing)?;
    match &mut parent.value {
        Value::Mapping(_) => parent.remove(last).ok_or_else(missing),
        Value::Sequence(items) => match last.parse::<usize>() {
            Ok(index) if index < items.len() => Ok(items.remove(index)),
            _ => Err(missing()),
        },
        Value::Scalar(_) => Err(missing()),
    }
}
