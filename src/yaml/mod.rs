//! A YAML tree in which every node remembers the exact bytes it came from.
//!
//! Rules report on [`Node::span`], and `pinnace pin` will replace exactly those bytes, so a span
//! always covers the scalar as written: quotes included, trailing comments excluded.

mod documents;

pub use documents::{Limits, LoadError, Stream, load_stream};

use crate::source::Span;

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub span: Span,
    pub value: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Scalar(Scalar),
    Sequence(Vec<Node>),
    Mapping(Vec<(Node, Node)>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Scalar {
    /// The value after unquoting and unescaping.
    pub text: String,
    pub style: ScalarStyle,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScalarStyle {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
    Folded,
}

impl Node {
    /// The scalar's text, if this node is a scalar that is not null.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar(scalar) if !scalar.is_null() => Some(&scalar.text),
            _ => None,
        }
    }

    pub fn as_scalar(&self) -> Option<&Scalar> {
        match &self.value {
            Value::Scalar(scalar) => Some(scalar),
            _ => None,
        }
    }

    pub fn as_sequence(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Sequence(items) => Some(items),
            _ => None,
        }
    }

    pub fn as_mapping(&self) -> Option<&[(Node, Node)]> {
        match &self.value {
            Value::Mapping(entries) => Some(entries),
            _ => None,
        }
    }

    /// The value under a string key of a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|(_, value)| value)
    }

    /// The key node and value node under a string key of a mapping.
    pub fn entry(&self, key: &str) -> Option<(&Node, &Node)> {
        self.as_mapping()?
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(k, v)| (k, v))
    }

    /// The items of a list under `key`; empty when there is none (or it is not a list).
    pub fn list(&self, key: &str) -> &[Node] {
        self.get(key).and_then(Node::as_sequence).unwrap_or(&[])
    }

    /// Follows a path of mapping keys.
    pub fn at(&self, path: &[&str]) -> Option<&Node> {
        path.iter().try_fold(self, |node, key| node.get(key))
    }

    pub fn is_null(&self) -> bool {
        matches!(&self.value, Value::Scalar(scalar) if scalar.is_null())
    }
}

impl Scalar {
    /// Null in the YAML 1.2 core schema: an empty plain scalar, `~` or `null`.
    pub fn is_null(&self) -> bool {
        self.style == ScalarStyle::Plain
            && matches!(self.text.as_str(), "" | "~" | "null" | "Null" | "NULL")
    }
}

impl Node {
    /// The source span of a byte range of this scalar's value, when the value is written
    /// verbatim (no escapes, no line folding); otherwise the whole node.
    pub fn value_span(&self, range: std::ops::Range<usize>) -> Span {
        self.exact_span(range).unwrap_or(self.span)
    }

    /// The source span of a byte range of this scalar's value, or `None` when the value is
    /// not written verbatim (escapes, folding, block style) and so cannot be edited in place.
    pub fn exact_span(&self, range: std::ops::Range<usize>) -> Option<Span> {
        let scalar = self.as_scalar()?;
        let opening = match scalar.style {
            ScalarStyle::Plain => 0,
            ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => 1,
            ScalarStyle::Literal | ScalarStyle::Folded => return None,
        };
        let verbatim = self.span.len() == scalar.text.len() + 2 * opening;
        if !verbatim || range.start > range.end || range.end > scalar.text.len() {
            return None;
        }
        let start = self.span.start as usize + opening;
        Some(Span::new(start + range.start, start + range.end))
    }
}

impl Node {
    /// Moves every span of the tree by `base`: files of a Kustomize build share one space of
    /// offsets (see [`crate::source::SourceMap`]).
    pub fn shift(&mut self, base: u32) {
        self.span.start += base;
        self.span.end += base;
        match &mut self.value {
            Value::Scalar(_) => {}
            Value::Sequence(items) => items.iter_mut().for_each(|item| item.shift(base)),
            Value::Mapping(entries) => entries.iter_mut().for_each(|(key, value)| {
                key.shift(base);
                value.shift(base);
            }),
        }
    }

    /// A plain scalar that no file wrote, placed at `span` (where the value came from).
    pub fn scalar(text: impl Into<String>, span: Span) -> Node {
        Node {
            span,
            value: Value::Scalar(Scalar {
                text: text.into(),
                style: ScalarStyle::Plain,
            }),
        }
    }

    pub fn mapping(entries: Vec<(Node, Node)>, span: Span) -> Node {
        Node {
            span,
            value: Value::Mapping(entries),
        }
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Node> {
        match &mut self.value {
            Value::Mapping(entries) => entries
                .iter_mut()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// Sets a mapping's key to `value`, adding the entry when it is missing.
    pub fn set(&mut self, key: &str, value: Node) {
        if let Some(existing) = self.get_mut(key) {
            *existing = value;
        } else if let Value::Mapping(entries) = &mut self.value {
            let key_node = Node::scalar(key, value.span);
            entries.push((key_node, value));
        }
    }

    pub fn remove(&mut self, key: &str) -> Option<Node> {
        match &mut self.value {
            Value::Mapping(entries) => {
                let index = entries.iter().position(|(k, _)| k.as_str() == Some(key))?;
                Some(entries.remove(index).1)
            }
            _ => None,
        }
    }
}

impl Node {
    /// Follows a path of mapping keys, mutably.
    pub fn at_mut(&mut self, path: &[&str]) -> Option<&mut Node> {
        path.iter().try_fold(self, |node, key| node.get_mut(key))
    }
}
