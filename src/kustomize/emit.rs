//! YAML output for `pinnace build`: block style, two-space indents, documents separated by
//! `---`, scalars quoted only when plain text would change their meaning.

use super::resource::Resource;
use crate::yaml::{Node, ScalarStyle, Value};

pub fn emit_yaml(resources: &[Resource]) -> String {
    let mut out = String::new();
    for (index, resource) in resources.iter().enumerate() {
        if index > 0 {
            out.push_str("---\n");
        }
        emit_block(&resource.node, 0, &mut out);
    }
    out
}

fn emit_block(node: &Node, indent: usize, out: &mut String) {
    match &node.value {
        Value::Mapping(entries) if !entries.is_empty() => {
            for (key, value) in entries {
                out.push_str(&" ".repeat(indent));
                out.push_str(&scalar_text(key));
                out.push(':');
                emit_value(value, indent, out);
            }
        }
        Value::Sequence(items) if !items.is_empty() => {
            for item in items {
                let mut nested = String::new();
                emit_block(item, indent + 2, &mut nested);
                out.push_str(&" ".repeat(indent));
                out.push_str("- ");
                out.push_str(&nested[indent + 2..]);
            }
        }
        _ => {
            out.push_str(&" ".repeat(indent));
            out.push_str(&inline(node));
            out.push('\n');
        }
    }
}

/// The part after `key:`.
fn emit_value(value: &Node, indent: usize, out: &mut String) {
    match &value.value {
        Value::Mapping(entries) if !entries.is_empty() => {
            out.push('\n');
            emit_block(value, indent + 2, out);
        }
        Value::Sequence(items) if !items.is_empty() => {
            out.push('\n');
            emit_block(value, indent, out);
        }
        Value::Scalar(scalar)
            if scalar.text.contains('\n') && !scalar.text.starts_with([' ', '\n']) =>
        {
            let chomp = if scalar.text.ends_with("\n\n") {
                "+"
            } else if scalar.text.ends_with('\n') {
                ""
            } else {
                "-"
            };
            out.push_str(&format!(" |{chomp}\n"));
            for line in scalar.text.trim_end_matches('\n').split('\n') {
                if !line.is_empty() {
                    out.push_str(&" ".repeat(indent + 2));
                    out.push_str(line);
                }
                out.push('\n');
            }
            for _ in 1..scalar.text.len() - scalar.text.trim_end_matches('\n').len() {
                out.push('\n');
            }
        }
        _ => {
            out.push(' ');
            out.push_str(&inline(value));
            out.push('\n');
        }
    }
}

fn inline(node: &Node) -> String {
    match &node.value {
        Value::Mapping(_) => "{}".to_string(),
        Value::Sequence(_) => "[]".to_string(),
        Value::Scalar(_) => scalar_text(node),
    }
}

fn scalar_text(node: &Node) -> String {
    let Some(scalar) = node.as_scalar() else {
        return String::new();
    };
    let text = &scalar.text;
    if scalar.is_null() {
        return "null".to_string();
    }
    let keep_plain = scalar.style == ScalarStyle::Plain && is_safe_plain(text);
    if keep_plain {
        text.clone()
    } else {
        serde_json::to_string(text).unwrap_or_default()
    }
}

/// Words YAML 1.1 reads as booleans, which kubectl quotes so that older readers still see
/// a string.
const YAML_11_BOOLEANS: &[&str] = &[
    "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "on", "On", "ON", "off", "Off",
    "OFF",
];

/// Text that reads back as the same plain scalar.
fn is_safe_plain(text: &str) -> bool {
    !text.is_empty()
        && !YAML_11_BOOLEANS.contains(&text)
        && !text.starts_with(|c: char| "-?:,[]{}#&*!|>'\"%@` ".contains(c))
        && !text.ends_with([' ', ':'])
        && !text.contains(": ")
        && !text.contains(" #")
        && !text.contains(['\n', '\t', '\r'])
}
