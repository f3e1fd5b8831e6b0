//! YAML held in a YAML string (Argo CD's `helm.values: |`), parsed with spans that point into
//! the file: in a literal block every content line is a line of the file with the block's
//! indentation removed, so an offset in the string maps to one in the file.

use crate::source::Span;
use crate::yaml::{Limits, Node, ScalarStyle, Value, load_stream};

/// The first document of a string's YAML.
pub struct Embedded {
    pub root: Node,
    /// Whether spans point at the exact bytes in the file (a literal block whose lines were
    /// all found); otherwise they are only meaningful within the string.
    pub exact: bool,
}

pub fn parse_embedded(node: &Node, file: &str) -> Option<Embedded> {
    let scalar = node.as_scalar()?;
    let mut root = load_stream(&scalar.text, Limits::default())
        .documents
        .into_iter()
        .next()?;
    let lines = (scalar.style == ScalarStyle::Literal)
        .then(|| line_offsets(node.span, file, &scalar.text))
        .flatten();
    let exact = lines.is_some();
    if let Some(lines) = lines {
        let starts: Vec<usize> = std::iter::once(0)
            .chain(scalar.text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        let map = |offset: u32| {
            let offset = offset as usize;
            let line = starts.partition_point(|&start| start <= offset) - 1;
            (lines[line.min(lines.len() - 1)] + offset - starts[line]) as u32
        };
        remap(&mut root, &map);
    }
    Some(Embedded { root, exact })
}

/// The file offset where each line of a literal block's content starts, checked against the
/// file; `None` when some line is not where it should be.
fn line_offsets(span: Span, file: &str, content: &str) -> Option<Vec<usize>> {
    // The block's span starts at its content, past the first line's indentation.
    let start = span.start as usize;
    let first = file.get(..start)?.rfind('\n').map_or(0, |i| i + 1);
    let mut offsets = Vec::new();
    let mut indent = None;
    let mut at = first;
    for line in content.split('\n') {
        let end = file[at..].find('\n').map_or(file.len(), |i| at + i);
        let in_file = file[at..end].trim_end_matches('\r');
        if line.is_empty() {
            offsets.push(at + indent.unwrap_or(0).min(in_file.len()));
        } else {
            let width = *indent.get_or_insert(in_file.len().checked_sub(line.len())?);
            if in_file.get(width..)? != line {
                return None;
            }
            offsets.push(at + width);
        }
        at = (end + 1).min(file.len());
    }
    Some(offsets)
}

fn remap(node: &mut Node, map: &impl Fn(u32) -> u32) {
    node.span = Span {
        start: map(node.span.start),
        end: map(node.span.end),
    };
    match &mut node.value {
        Value::Scalar(_) => {}
        Value::Sequence(items) => items.iter_mut().for_each(|item| remap(item, map)),
        Value::Mapping(entries) => entries.iter_mut().for_each(|(key, value)| {
            remap(key, map);
            remap(value, map);
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values_node(file: &str) -> Node {
        let documents = load_stream(file, Limits::default()).documents;
        documents[0].at(&["helm", "values"]).unwrap().clone()
    }

    #[test]
    fn literal_blocks_map_to_file_bytes() {
        let file = "helm:\n  values: |\n    image:\n      repository: nginx\n\n      tag: \"1.25\"\nnext: 1\n";
        let embedded = parse_embedded(&values_node(file), file).unwrap();
        assert!(embedded.exact);
        let tag = embedded.root.at(&["image", "tag"]).unwrap();
        assert_eq!(&file[tag.span.range()], "\"1.25\"");
        let repository = embedded.root.at(&["image", "repository"]).unwrap();
        assert_eq!(&file[repository.span.range()], "nginx");
    }

    #[test]
    fn other_strings_parse_without_exact_spans() {
        let file = "helm:\n  values: \"image: nginx:1.25\"\n";
        let embedded = parse_embedded(&values_node(file), file).unwrap();
        assert!(!embedded.exact);
        assert_eq!(
            embedded.root.get("image").unwrap().as_str(),
            Some("nginx:1.25")
        );
    }
}
