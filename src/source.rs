//! Source files and positions inside them.
//!
//! Every finding and every future rewrite refers to a byte range of a [`SourceFile`]; line and
//! column are derived from it on demand, so the hot path only carries two integers per node.

use std::sync::Arc;

/// A half-open byte range `start..end` inside one source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span {
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Span {
        Span {
            start: start as u32,
            end: end as u32,
        }
    }

    pub fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }

    pub fn len(self) -> usize {
        (self.end - self.start) as usize
    }

    pub fn is_empty(self) -> bool {
        self.start == self.end
    }
}

/// A 1-based line and a 1-based column counted in Unicode scalar values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    pub line: u32,
    pub column: u32,
}

/// The text of one input (a file, or standard input) with its line index.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The path as the user should see it (relative to where they ran pinnace when possible).
    pub name: String,
    pub text: Arc<str>,
    line_starts: Vec<u32>,
}

impl SourceFile {
    pub fn new(name: impl Into<String>, text: impl Into<Arc<str>>) -> SourceFile {
        let text = text.into();
        let mut line_starts = Vec::with_capacity(text.len() / 32 + 1);
        line_starts.push(0);
        line_starts.extend(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i as u32 + 1));
        SourceFile {
            name: name.into(),
            text,
            line_starts,
        }
    }

    /// The line and column of a byte offset (clamped to the text).
    pub fn position(&self, offset: u32) -> Position {
        let offset = offset.min(self.text.len() as u32);
        let line_index = self.line_starts.partition_point(|&start| start <= offset) - 1;
        let line_start = self.line_starts[line_index] as usize;
        let column = self.text[line_start..offset as usize].chars().count() as u32 + 1;
        Position {
            line: line_index as u32 + 1,
            column,
        }
    }

    /// The text of a 1-based line, without its line ending.
    pub fn line_text(&self, line: u32) -> &str {
        let Some(&start) = self.line_starts.get(line as usize - 1) else {
            return "";
        };
        let end = self
            .line_starts
            .get(line as usize)
            .map_or(self.text.len(), |&next| next as usize - 1);
        self.text[start as usize..end].trim_end_matches('\r')
    }

    pub fn line_count(&self) -> u32 {
        self.line_starts.len() as u32
    }

    pub fn slice(&self, span: Span) -> &str {
        &self.text[span.range()]
    }
}

/// Several files in one space of offsets, as rustc does it: each file starts at its own base,
/// so a [`Span`] from any of them says which file it is in. Kustomize builds mix nodes from
/// many files in one tree.
#[derive(Debug, Default)]
pub struct SourceMap {
    files: Vec<(u32, SourceFile)>,
    next_base: u32,
}

impl SourceMap {
    /// Adds a file and returns its base offset.
    pub fn add(&mut self, file: SourceFile) -> u32 {
        let base = self.next_base;
        // One byte of gap keeps an empty span at a file's end from meaning the next file.
        self.next_base = base + file.text.len() as u32 + 1;
        self.files.push((base, file));
        base
    }

    /// The base offset the next file added will get.
    pub fn next_offset(&self) -> u32 {
        self.next_base
    }

    /// The file a span lies in, and the span relative to that file.
    pub fn lookup(&self, span: Span) -> Option<(&SourceFile, Span)> {
        let index = self
            .files
            .partition_point(|(base, _)| *base <= span.start)
            .checked_sub(1)?;
        let (base, file) = &self.files[index];
        Some((
            file,
            Span {
                start: span.start - base,
                end: span.end.saturating_sub(*base),
            },
        ))
    }

    pub fn files(&self) -> impl Iterator<Item = &SourceFile> {
        self.files.iter().map(|(_, file)| file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_lines_and_characters() {
        let file = SourceFile::new("f.yaml", "a: b\r\nimage: 'é:x'\n");
        assert_eq!(file.position(0), Position { line: 1, column: 1 });
        assert_eq!(file.position(6), Position { line: 2, column: 1 });
        // 'é' is two bytes but one column.
        let x = file.text.find('x').unwrap() as u32;
        assert_eq!(
            file.position(x),
            Position {
                line: 2,
                column: 11
            }
        );
        assert_eq!(file.line_text(1), "a: b");
        assert_eq!(file.line_text(2), "image: 'é:x'");
        assert_eq!(file.line_text(3), "");
    }
}
