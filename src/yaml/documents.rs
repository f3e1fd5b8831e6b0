//! Turns a YAML stream into [`Node`] trees with byte-exact spans.
//!
//! saphyr-parser reports positions in characters and, for quoted scalars, lets the span run on
//! over trailing blanks and comments; both are corrected here so that the rest of pinnace can
//! trust a span to be exactly the bytes of the value as written.

use saphyr_parser::{Event, Parser, ScanError};

use super::{Node, Scalar, ScalarStyle, Value};
use crate::source::Span;

/// Bounds that keep hostile input from exhausting the stack or memory.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Deepest nesting of collections accepted.
    pub max_depth: usize,
    /// Most nodes that aliases may add to a file by expansion.
    pub max_alias_nodes: usize,
    /// Most bytes of scalar text that aliases may add: one large anchored scalar repeated
    /// thousands of times is few nodes but gigabytes.
    pub max_alias_bytes: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_depth: 200,
            max_alias_nodes: 100_000,
            max_alias_bytes: 16 * 1024 * 1024,
        }
    }
}

/// The documents of a stream. When the stream has an error, `documents` holds the ones that
/// were complete before it.
#[derive(Debug, Default)]
pub struct Stream {
    pub documents: Vec<Node>,
    pub error: Option<LoadError>,
}

/// Why a stream could not be read to its end, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    pub message: String,
    /// Byte offset of the problem.
    pub offset: u32,
}

pub fn load_stream(text: &str, limits: Limits) -> Stream {
    let offsets = CharOffsets::new(text);
    let mut builder = TreeBuilder {
        text,
        offsets: &offsets,
        limits,
        stack: Vec::new(),
        anchors: Vec::new(),
        alias_nodes: 0,
        alias_bytes: 0,
        documents: Vec::new(),
    };
    let error = builder.run(Parser::new_from_str(text)).err();
    Stream {
        documents: builder.documents,
        error,
    }
}

/// Maps saphyr's character indices to byte offsets.
struct CharOffsets {
    /// `None` when the text is ASCII and both are the same.
    table: Option<Vec<u32>>,
    len: u32,
}

impl CharOffsets {
    fn new(text: &str) -> CharOffsets {
        let table = (!text.is_ascii()).then(|| {
            let mut table: Vec<u32> = text.char_indices().map(|(i, _)| i as u32).collect();
            table.push(text.len() as u32);
            table
        });
        CharOffsets {
            table,
            len: text.len() as u32,
        }
    }

    fn byte(&self, char_index: usize) -> u32 {
        match &self.table {
            None => (char_index as u32).min(self.len),
            Some(table) => table.get(char_index).copied().unwrap_or(self.len),
        }
    }
}

enum Frame {
    Sequence {
        start: u32,
        anchor: usize,
        items: Vec<Node>,
    },
    Mapping {
        start: u32,
        anchor: usize,
        entries: Vec<(Node, Node)>,
        key: Option<Node>,
    },
}

struct TreeBuilder<'a> {
    text: &'a str,
    offsets: &'a CharOffsets,
    limits: Limits,
    stack: Vec<Frame>,
    /// Anchored nodes by saphyr's anchor id, with their sizes.
    anchors: Vec<Option<(Node, Size)>>,
    alias_nodes: usize,
    alias_bytes: usize,
    documents: Vec<Node>,
}

impl TreeBuilder<'_> {
    fn run(&mut self, parser: Parser<'_, saphyr_parser::StrInput<'_>>) -> Result<(), LoadError> {
        for event in parser {
            let (event, span) = event.map_err(|error| self.scan_error(&error))?;
            let start = self.offsets.byte(span.start.index());
            let end = self.offsets.byte(span.end.index());
            match event {
                Event::Scalar(text, style, anchor, tag) => {
                    let style = convert_style(style);
                    let start = if anchor != 0 || tag.is_some() {
                        self.skip_properties(start, end)
                    } else {
                        start
                    };
                    let end = self.scalar_end(start, end, style);
                    let mut text = text.into_owned();
                    if self.is_block_at_unterminated_end(style, end) {
                        // saphyr adds the line break the file does not have; kustomize's
                        // reader (go-yaml) does not, so `|` at the very end reads as `|-`.
                        text.pop();
                    }
                    let node = Node {
                        span: Span::new(start as usize, end as usize),
                        value: Value::Scalar(Scalar { text, style }),
                    };
                    self.remember_anchor(anchor, &node);
                    self.push_node(node);
                }
                Event::SequenceStart(anchor, _) => self.open(Frame::Sequence {
                    start,
                    anchor,
                    items: Vec::new(),
                })?,
                Event::MappingStart(anchor, _) => self.open(Frame::Mapping {
                    start,
                    anchor,
                    entries: Vec::new(),
                    key: None,
                })?,
                Event::SequenceEnd | Event::MappingEnd => self.close(start, end),
                Event::Alias(anchor) => {
                    let node = self.expand_alias(anchor, start)?;
                    self.push_node(node);
                }
                Event::DocumentStart(_) | Event::DocumentEnd => {}
                Event::StreamStart | Event::StreamEnd | Event::Nothing => {}
            }
        }
        Ok(())
    }

    fn scan_error(&self, error: &ScanError) -> LoadError {
        LoadError {
            message: error.info().to_string(),
            offset: self.offsets.byte(error.marker().index()),
        }
    }

    /// saphyr starts a scalar's span at its anchor or tag (`&name !!str value`); a rewrite
    /// must start at the value itself.
    fn skip_properties(&self, mut start: u32, end: u32) -> u32 {
        let bytes = self.text.as_bytes();
        let at = |i: u32| bytes.get(i as usize).copied();
        while start < end && matches!(at(start), Some(b'&' | b'!')) {
            while start < end && !matches!(at(start), Some(b' ' | b'\t' | b'\r' | b'\n')) {
                start += 1;
            }
            while start < end && matches!(at(start), Some(b' ' | b'\t' | b'\r' | b'\n')) {
                start += 1;
            }
        }
        start
    }

    /// A literal or folded scalar whose last line ends the file with no line break after it.
    fn is_block_at_unterminated_end(&self, style: ScalarStyle, end: u32) -> bool {
        matches!(style, ScalarStyle::Literal | ScalarStyle::Folded)
            && !self.text.ends_with(['\n', '\r'])
            && end as usize >= self.text.trim_end_matches([' ', '\t']).len()
    }

    /// saphyr ends a quoted scalar after any blanks and comment that follow it; find the
    /// closing quote instead.
    fn scalar_end(&self, start: u32, end: u32, style: ScalarStyle) -> u32 {
        let bytes = self.text.as_bytes();
        let quote = match style {
            ScalarStyle::SingleQuoted => b'\'',
            ScalarStyle::DoubleQuoted => b'"',
            _ => return end,
        };
        let mut i = start as usize + 1;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' if quote == b'"' => i += 2,
                b'\'' if quote == b'\'' && bytes.get(i + 1) == Some(&b'\'') => i += 2,
                byte if byte == quote => return i as u32 + 1,
                _ => i += 1,
            }
        }
        end
    }

    fn open(&mut self, frame: Frame) -> Result<(), LoadError> {
        if self.stack.len() >= self.limits.max_depth {
            let offset = match &frame {
                Frame::Sequence { start, .. } | Frame::Mapping { start, .. } => *start,
            };
            return Err(LoadError {
                message: format!(
                    "collections nest deeper than {} levels; pinnace stops here",
                    self.limits.max_depth
                ),
                offset,
            });
        }
        self.stack.push(frame);
        Ok(())
    }

    /// Ends the open collection. A flow collection ends after its `]` or `}`; saphyr places a
    /// block collection's end at the next token (often the next line), so it ends after its
    /// last child instead, and a label on it stops where its text does.
    fn close(&mut self, end_start: u32, end: u32) {
        let Some(frame) = self.stack.pop() else {
            return;
        };
        let (start, anchor, value) = match frame {
            Frame::Sequence {
                start,
                anchor,
                items,
            } => (start, anchor, Value::Sequence(items)),
            Frame::Mapping {
                start,
                anchor,
                entries,
                ..
            } => (start, anchor, Value::Mapping(merge_keys(entries))),
        };
        let last_child_end = match &value {
            Value::Sequence(items) => items.last().map(|n| n.span.end),
            Value::Mapping(entries) => entries.last().map(|(_, v)| v.span.end),
            Value::Scalar(_) => None,
        };
        let end = match last_child_end {
            Some(child_end) if end_start == end => child_end,
            _ => end,
        };
        let node = Node {
            span: Span::new(start as usize, end.max(start) as usize),
            value,
        };
        self.remember_anchor(anchor, &node);
        self.push_node(node);
    }

    fn push_node(&mut self, node: Node) {
        match self.stack.last_mut() {
            None => self.documents.push(node),
            Some(Frame::Sequence { items, .. }) => items.push(node),
            Some(Frame::Mapping { entries, key, .. }) => match key.take() {
                None => *key = Some(node),
                Some(k) => entries.push((k, node)),
            },
        }
    }

    fn remember_anchor(&mut self, anchor: usize, node: &Node) {
        if anchor == 0 {
            return;
        }
        if self.anchors.len() <= anchor {
            self.anchors.resize(anchor + 1, None);
        }
        self.anchors[anchor] = Some((node.clone(), size(node)));
    }

    /// An alias becomes a copy of its anchored node (keeping the anchor's spans, which is
    /// where an edit would belong), within a budget so an alias bomb cannot exhaust memory.
    fn expand_alias(&mut self, anchor: usize, offset: u32) -> Result<Node, LoadError> {
        let Some(Some((node, size))) = self.anchors.get(anchor) else {
            return Err(LoadError {
                message: "alias refers to an unknown anchor".to_string(),
                offset,
            });
        };
        self.alias_nodes = self.alias_nodes.saturating_add(size.nodes);
        self.alias_bytes = self.alias_bytes.saturating_add(size.bytes);
        let over = if self.alias_nodes > self.limits.max_alias_nodes {
            Some(format!("{} nodes", self.limits.max_alias_nodes))
        } else if self.alias_bytes > self.limits.max_alias_bytes {
            Some(format!("{} MiB of text", self.limits.max_alias_bytes >> 20))
        } else {
            None
        };
        if let Some(limit) = over {
            return Err(LoadError {
                message: format!(
                    "aliases expand to more than {limit} (an alias bomb?); pinnace stops here"
                ),
                offset,
            });
        }
        Ok(node.clone())
    }
}

/// Merge keys (`<<: *defaults`, `<<: [*a, *b]`), as go-yaml reads them and so as kubectl
/// and kustomize see the document: the merged mappings' entries join this one, unless it
/// has the key itself (or an earlier merged mapping had it).
fn merge_keys(entries: Vec<(Node, Node)>) -> Vec<(Node, Node)> {
    let is_merge = |key: &Node| matches!(&key.value, Value::Scalar(s) if s.text == "<<" && s.style == ScalarStyle::Plain);
    if !entries.iter().any(|(key, _)| is_merge(key)) {
        return entries;
    }
    let own: Vec<String> = entries
        .iter()
        .filter(|(key, _)| !is_merge(key))
        .filter_map(|(key, _)| key.as_str().map(str::to_string))
        .collect();
    let mut merged_keys: Vec<String> = Vec::new();
    let mut result = Vec::with_capacity(entries.len());
    for (key, value) in entries {
        if !is_merge(&key) {
            result.push((key, value));
            continue;
        }
        let sources: Vec<Node> = match value.value {
            Value::Mapping(_) => vec![value],
            Value::Sequence(items) => items,
            // Not a mapping to merge: kept as an ordinary entry.
            Value::Scalar(_) => {
                result.push((key, value));
                continue;
            }
        };
        for source in sources {
            let Value::Mapping(source_entries) = source.value else {
                continue;
            };
            for (k, v) in source_entries {
                let Some(name) = k.as_str().map(str::to_string) else {
                    continue;
                };
                if own.contains(&name) || merged_keys.contains(&name) {
                    continue;
                }
                merged_keys.push(name);
                result.push((k, v));
            }
        }
    }
    result
}

/// How much a copy of a node costs: its nodes, and the bytes of its scalars.
#[derive(Debug, Clone, Copy, Default)]
struct Size {
    nodes: usize,
    bytes: usize,
}

impl std::ops::Add for Size {
    type Output = Size;
    fn add(self, other: Size) -> Size {
        Size {
            nodes: self.nodes.saturating_add(other.nodes),
            bytes: self.bytes.saturating_add(other.bytes),
        }
    }
}

fn size(node: &Node) -> Size {
    let one = Size { nodes: 1, bytes: 0 };
    match &node.value {
        Value::Scalar(scalar) => Size {
            nodes: 1,
            bytes: scalar.text.len(),
        },
        Value::Sequence(items) => items.iter().map(size).fold(one, |a, b| a + b),
        Value::Mapping(entries) => entries
            .iter()
            .map(|(k, v)| size(k) + size(v))
            .fold(one, |a, b| a + b),
    }
}

fn convert_style(style: saphyr_parser::ScalarStyle) -> ScalarStyle {
    match style {
        saphyr_parser::ScalarStyle::Plain => ScalarStyle::Plain,
        saphyr_parser::ScalarStyle::SingleQuoted => ScalarStyle::SingleQuoted,
        saphyr_parser::ScalarStyle::DoubleQuoted => ScalarStyle::DoubleQuoted,
        saphyr_parser::ScalarStyle::Literal => ScalarStyle::Literal,
        saphyr_parser::ScalarStyle::Folded => ScalarStyle::Folded,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Stream {
        load_stream(text, Limits::default())
    }

    /// The source text of the scalar at a key path of the first document.
    fn spanned<'t>(text: &'t str, path: &[&str]) -> &'t str {
        let stream = load(text);
        assert!(stream.error.is_none(), "{:?}", stream.error);
        let node = stream.documents[0].at(path).expect("path exists");
        &text[node.span.range()]
    }

    #[test]
    fn quoted_scalars_span_their_quotes_and_not_the_comment() {
        let text = "a: 'x:1'  # note\nb: \"y\\\"z\"  # note\nc: 'it''s'\nd: plain  # note\n";
        assert_eq!(spanned(text, &["a"]), "'x:1'");
        assert_eq!(spanned(text, &["b"]), "\"y\\\"z\"");
        assert_eq!(spanned(text, &["c"]), "'it''s'");
        assert_eq!(spanned(text, &["d"]), "plain");
    }

    #[test]
    fn flow_collections_and_non_ascii_text_keep_byte_spans() {
        let text = "labels: {team: 'é'}\nc: {image: nginx:1.25, name: web}\n";
        assert_eq!(spanned(text, &["c", "image"]), "nginx:1.25");
        assert_eq!(spanned(text, &["labels", "team"]), "'é'");
    }

    #[test]
    fn bom_and_crlf_are_accepted() {
        let text = "\u{feff}kind: Pod\r\nimage: 'nginx'\r\n";
        assert_eq!(spanned(text, &["image"]), "'nginx'");
        assert_eq!(spanned(text, &["kind"]), "Pod");
    }

    #[test]
    fn every_document_of_a_stream_is_loaded() {
        let stream = load("---\na: 1\n---\nb: 2\n...\n---\nc: 3\n");
        assert_eq!(stream.documents.len(), 3);
        assert!(stream.documents[2].get("c").is_some());
    }

    #[test]
    fn documents_before_an_error_survive_it() {
        let text = "a: 1\n---\nb: [\n";
        let stream = load(text);
        assert_eq!(stream.documents.len(), 1);
        let error = stream.error.expect("an error");
        assert!(error.offset as usize >= text.find("b:").unwrap());
    }

    #[test]
    fn aliases_expand_to_their_anchor_with_its_spans() {
        let text = "base: &img nginx:1.25\nuse: *img\ntagged: !!str 'v'\n";
        let stream = load(text);
        let used = stream.documents[0].get("use").unwrap();
        assert_eq!(used.as_str(), Some("nginx:1.25"));
        assert_eq!(&text[used.span.range()], "nginx:1.25");
        assert_eq!(used.span.start as usize, text.find("nginx").unwrap());
        let tagged = stream.documents[0].get("tagged").unwrap();
        assert_eq!(&text[tagged.span.range()], "'v'");
    }

    #[test]
    fn merge_keys_join_the_mapping_and_its_own_keys_win() {
        let text = "base: &b {app: web, tier: back}\nother: &o {zone: a, app: no}\nm:\n  <<: [*b, *o]\n  tier: front\n";
        let stream = load(text);
        let m = stream.documents[0].get("m").unwrap();
        let keys: Vec<&str> = m
            .as_mapping()
            .unwrap()
            .iter()
            .filter_map(|(k, _)| k.as_str())
            .collect();
        assert_eq!(keys, ["app", "zone", "tier"]);
        assert_eq!(m.get("app").and_then(Node::as_str), Some("web"));
        assert_eq!(m.get("tier").and_then(Node::as_str), Some("front"));
    }

    #[test]
    fn a_block_scalar_ending_the_file_has_no_line_break_it_did_not_write() {
        let value = |text: &str| {
            load(text).documents[0]
                .get("k")
                .unwrap()
                .as_str()
                .unwrap()
                .to_string()
        };
        assert_eq!(value("k: |\n  a\n  b"), "a\nb");
        assert_eq!(value("k: |\n  a\n  b\n"), "a\nb\n");
        assert_eq!(value("k: >\n  a\n  b"), "a b");
    }

    #[test]
    fn quoted_and_plain_scalars_may_span_lines() {
        let text = "a: 'one\n  two\n\n  three'\nb: \"x\n  y \\\n  z\"\nc: plain\n  more\nd: [ \"p\n   q\", r\n   s ]\n";
        let doc = &load(text).documents[0];
        assert_eq!(doc.get("a").and_then(Node::as_str), Some("one two\nthree"));
        assert_eq!(doc.get("b").and_then(Node::as_str), Some("x y z"));
        assert_eq!(doc.get("c").and_then(Node::as_str), Some("plain more"));
        let d: Vec<&str> = doc.list("d").iter().filter_map(Node::as_str).collect();
        assert_eq!(d, ["p q", "r s"]);
    }

    #[test]
    fn an_alias_bomb_is_stopped() {
        let mut text = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for level in 1..10 {
            let prev = (b'a' + level - 1) as char;
            let name = (b'a' + level) as char;
            let items = vec![format!("*{prev}"); 10].join(", ");
            text.push_str(&format!("{name}: &{name} [{items}]\n"));
        }
        let stream = load(&text);
        let error = stream.error.expect("bomb refused");
        assert!(error.message.contains("alias"), "{}", error.message);
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let flow = "[".repeat(10_000);
        assert!(load(&flow).error.is_some());
        let mut block = String::new();
        for depth in 0..10_000 {
            block.push_str(&" ".repeat(depth));
            block.push_str("a:\n");
        }
        let error = load(&block).error.expect("too deep");
        assert!(error.message.contains("nest"), "{}", error.message);
    }

    #[test]
    fn aliases_that_repeat_a_large_scalar_are_stopped_by_bytes() {
        let big = "x".repeat(100_000);
        let repeat = |times: usize| {
            let mut text = format!("a: &big {big}\nlist:\n");
            text.push_str(&"- *big\n".repeat(times));
            text
        };
        assert!(load(&repeat(100)).error.is_none());
        let error = load(&repeat(30_000)).error.expect("over the byte budget");
        assert!(error.message.contains("MiB of text"), "{}", error.message);
    }
}
