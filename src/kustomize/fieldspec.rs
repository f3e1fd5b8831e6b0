//! Field specs: which resources a transformer touches, and where inside them.
//!
//! A spec names an API group and kind (empty matches any) and a path such as
//! `spec/template/metadata/labels`. Along the path, a sequence is walked item by item
//! (Kustomize writes `containers[]` or just `containers`; both mean every item).

use crate::source::Span;
use crate::yaml::{Node, Value};

#[derive(Debug, Clone, Copy)]
pub struct FieldSpec {
    pub group: &'static str,
    pub kind: &'static str,
    pub path: &'static str,
    /// Create the path when it is missing (otherwise only existing fields change).
    pub create: bool,
}

impl FieldSpec {
    pub const fn any(path: &'static str, create: bool) -> FieldSpec {
        FieldSpec {
            group: "",
            kind: "",
            path,
            create,
        }
    }

    pub const fn of(
        group: &'static str,
        kind: &'static str,
        path: &'static str,
        create: bool,
    ) -> FieldSpec {
        FieldSpec {
            group,
            kind,
            path,
            create,
        }
    }

    pub fn applies_to(&self, group: &str, kind: &str) -> bool {
        (self.kind.is_empty() || self.kind == kind)
            && (self.group.is_empty() || self.group == group)
    }

    /// Calls `visit` on every node the path reaches in `root`, creating missing mappings on
    /// the way when the spec says so (with `span` as their origin).
    pub fn visit(&self, root: &mut Node, span: Span, visit: &mut dyn FnMut(&mut Node)) {
        walk(root, self.path, self.create, span, visit);
    }
}

/// Calls `visit` on every node `path` (`spec/template/image`) reaches, as [`FieldSpec::visit`]
/// does, for paths that come from a file rather than from pinnace's tables.
pub fn visit_path(
    root: &mut Node,
    path: &str,
    create: bool,
    span: Span,
    visit: &mut dyn FnMut(&mut Node),
) {
    walk(root, path, create, span, visit);
}

/// Follows `path` (the part still to walk, `a/b/c`) without allocating: this runs for every
/// resource and spec of every build.
fn walk(node: &mut Node, path: &str, create: bool, span: Span, visit: &mut dyn FnMut(&mut Node)) {
    if let Value::Sequence(items) = &mut node.value {
        for item in items {
            walk(item, path, create, span, visit);
        }
        return;
    }
    if path.is_empty() {
        visit(node);
        return;
    }
    let (first, rest) = path.split_once('/').unwrap_or((path, ""));
    // `containers[]` names a list: a missing list is never created (there is no item to put
    // the rest of the path in).
    let is_list = first.ends_with("[]");
    let first = first.trim_end_matches("[]");
    if node.get(first).is_none() {
        if !create || is_list || !matches!(node.value, Value::Mapping(_)) {
            return;
        }
        let child = if rest.is_empty() {
            Node::scalar("", span)
        } else {
            Node::mapping(Vec::new(), span)
        };
        node.set(first, child);
    }
    if let Some(child) = node.get_mut(first) {
        if child.is_null() && !rest.is_empty() {
            *child = Node::mapping(Vec::new(), span);
        }
        walk(child, rest, create, span, visit);
    }
}
