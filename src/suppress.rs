//! Inline suppressions: `# pinnace:ignore RULE[,RULE] -- reason`, on the line of a finding or
//! alone on the line above it.

use crate::source::SourceFile;

const MARKER: &str = "pinnace:ignore";

#[derive(Debug)]
struct Directive {
    line: u32,
    /// The comment is the whole line, so it speaks for the line below.
    own_line: bool,
    rules: Vec<String>,
}

#[derive(Debug, Default)]
pub struct Suppressions {
    directives: Vec<Directive>,
}

impl Suppressions {
    pub fn scan(source: &SourceFile) -> Suppressions {
        let text: &str = &source.text;
        let mut directives = Vec::new();
        for offset in memchr::memmem::find_iter(text.as_bytes(), MARKER) {
            let line = source.position(offset as u32).line;
            let line_text = source.line_text(line);
            let Some(directive) = parse_comment(line_text) else {
                continue;
            };
            directives.push(Directive {
                line,
                own_line: line_text.trim_start().starts_with('#'),
                rules: directive,
            });
        }
        Suppressions { directives }
    }

    pub fn is_suppressed(&self, rule: &str, line: u32) -> bool {
        self.directives.iter().any(|directive| {
            let applies =
                directive.line == line || (directive.own_line && directive.line + 1 == line);
            applies && directive.rules.iter().any(|id| id == rule || id == "all")
        })
    }
}

/// The rule ids of a `pinnace:ignore` directive in a comment on this line, if there is one.
fn parse_comment(line: &str) -> Option<Vec<String>> {
    let comment_start = comment_start(line)?;
    let comment = &line[comment_start..];
    let after = &comment[comment.find(MARKER)? + MARKER.len()..];
    let list = after.split("--").next().unwrap_or("");
    let rules: Vec<String> = list
        .split([',', ' ', '\t'])
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .map(str::to_string)
        .collect();
    (!rules.is_empty()).then_some(rules)
}

/// Where a YAML comment starts: a `#` at the line start or after a blank, outside quotes.
fn comment_start(line: &str) -> Option<usize> {
    let bytes = line.as_bytes();
    let mut quote: Option<u8> = None;
    for (i, &byte) in bytes.iter().enumerate() {
        match (quote, byte) {
            (None, b'\'' | b'"') => quote = Some(byte),
            (Some(q), b) if b == q => quote = None,
            (None, b'#') if i == 0 || bytes[i - 1] == b' ' || bytes[i - 1] == b'\t' => {
                return Some(i);
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn suppressions(text: &str) -> Suppressions {
        Suppressions::scan(&SourceFile::new("t.yaml", text))
    }

    #[test]
    fn trailing_comment_covers_its_own_line_only() {
        let s = suppressions(
            "a: 1\nimage: x  # pinnace:ignore digest-pinning -- vendor pins it\nimage: y\n",
        );
        assert!(s.is_suppressed("digest-pinning", 2));
        assert!(!s.is_suppressed("digest-pinning", 3));
        assert!(!s.is_suppressed("latest-tag", 2));
    }

    #[test]
    fn own_line_comment_covers_the_next_line() {
        let s = suppressions(
            "# pinnace:ignore latest-tag,digest-pinning -- tracked in JIRA-1\nimage: x\nimage: y\n",
        );
        assert!(s.is_suppressed("latest-tag", 2));
        assert!(s.is_suppressed("digest-pinning", 2));
        assert!(!s.is_suppressed("latest-tag", 3));
    }

    #[test]
    fn marker_inside_a_value_is_not_a_directive() {
        let s = suppressions("image: \"x # pinnace:ignore digest-pinning\"\n");
        assert!(!s.is_suppressed("digest-pinning", 1));
        let s = suppressions("# pinnace:ignore -- no rules named\nimage: x\n");
        assert!(!s.is_suppressed("digest-pinning", 2));
    }
}
