//! Where in a template a rendered line came from. Helm keeps no source map, so this is a
//! match by shape: a rendered line written literally in the template is that line; otherwise
//! the rendered line's key (`image:`), counted among the rendered lines of its document that
//! the template does not write literally, is the same occurrence among the template's lines
//! with that key and a `{{ }}` in them. It holds for the usual template (one line per field,
//! `{{ }}` in values, `if` around whole lines); when the counts cannot match (a `range` loop
//! writes more lines than the template has), the finding stays in the rendered stream.

use crate::source::{SourceFile, Span};

/// The span, in `template`, of the value of the line that rendered `span` of `rendered`;
/// `document_start` is where the rendered document begins.
pub fn locate(
    rendered: &SourceFile,
    document_start: u32,
    span: Span,
    template: &str,
) -> Option<Span> {
    let line = rendered.position(span.start).line;
    let text = rendered.line_text(line);
    let key = key_of(text)?;
    let lines = template_lines(template);
    let literal = |rendered: &str| {
        lines
            .iter()
            .position(|(_, written)| written.trim() == rendered.trim())
    };
    if let Some(index) = literal(text) {
        let (start, written) = lines[index];
        return Some(value_span(written, start, key));
    }
    let first = rendered.position(document_start).line;
    let occurrence = (first..line)
        .map(|l| rendered.line_text(l))
        .filter(|other| key_of(other) == Some(key) && literal(other).is_none())
        .count();
    let (start, written) = lines
        .iter()
        .filter(|(_, written)| key_of(written) == Some(key) && written.contains("{{"))
        .nth(occurrence)?;
    Some(value_span(written, *start, key))
}

/// Each line of a template with the offset where it starts, without its line ending.
fn template_lines(template: &str) -> Vec<(usize, &str)> {
    let mut offset = 0;
    template
        .split_inclusive('\n')
        .map(|line| {
            let start = offset;
            offset += line.len();
            (start, line.trim_end_matches(['\n', '\r']))
        })
        .collect()
}

/// The mapping key a line starts with (after indentation and a list dash), if any.
fn key_of(line: &str) -> Option<&str> {
    let trimmed = line.trim_start();
    let trimmed = trimmed.strip_prefix("- ").unwrap_or(trimmed).trim_start();
    if trimmed.starts_with('#') || trimmed.starts_with("{{") {
        return None;
    }
    let (key, rest) = trimmed.split_once(':')?;
    let key = key.trim_matches(['"', '\'']);
    let plain = !key.is_empty() && !key.contains([' ', '{']);
    (plain && (rest.is_empty() || rest.starts_with(' '))).then_some(key)
}

/// The value after `key:` on a line that starts at `line_start`, or the key when the value is
/// empty.
fn value_span(line: &str, line_start: usize, key: &str) -> Span {
    let key_at = line.find(key).unwrap_or(0);
    let after = line[key_at..]
        .find(':')
        .map_or(line.len(), |i| key_at + i + 1);
    let value = line[after..].trim();
    if value.is_empty() {
        return Span::new(line_start + key_at, line_start + key_at + key.len());
    }
    let start = after + line[after..].find(value).unwrap_or(0);
    Span::new(line_start + start, line_start + start + value.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = "spec:\n  containers:\n    - name: web\n      image: {{ .Values.image }}\n    - name: metrics\n      image: \"{{ .Values.metrics }}\"\n";

    #[test]
    fn the_same_occurrence_of_the_key() {
        let rendered = SourceFile::new(
            "r",
            "---\n# Source: c/templates/d.yaml\nspec:\n  containers:\n    - name: web\n      image: a:1\n    - name: metrics\n      image: b:2\n",
        );
        let at = |needle: &str| {
            let start = rendered.text.find(needle).unwrap();
            let span = locate(
                &rendered,
                0,
                Span::new(start, start + needle.len()),
                TEMPLATE,
            )
            .unwrap();
            &TEMPLATE[span.range()]
        };
        assert_eq!(at("a:1"), "{{ .Values.image }}");
        assert_eq!(at("b:2"), "\"{{ .Values.metrics }}\"");
    }

    #[test]
    fn literal_lines_match_themselves_and_conditionals_are_skipped() {
        let template = "containers:\n{{- if .Values.app }}\n  - image: {{ .Values.app }}\n{{- end }}\n  - image: envoy:v1\n  - image: {{ .Values.other }}\n";
        let rendered = SourceFile::new(
            "r",
            "containers:\n  - image: envoy:v1\n  - image: other:2\n",
        );
        let at = |needle: &str| {
            let start = rendered.text.find(needle).unwrap();
            let span = locate(
                &rendered,
                0,
                Span::new(start, start + needle.len()),
                template,
            )
            .unwrap();
            &template[span.range()]
        };
        assert_eq!(at("envoy:v1"), "envoy:v1");
        // The app line was not rendered, so the first templated line is not this one's:
        // the count of templated lines cannot tell, and picks the first.
        assert_eq!(at("other:2"), "{{ .Values.app }}");
    }

    #[test]
    fn more_rendered_keys_than_written_is_no_match() {
        let rendered = SourceFile::new("r", "image: a\nimage: b\n");
        let start = rendered.text.find("b").unwrap();
        assert!(
            locate(
                &rendered,
                0,
                Span::new(start, start + 1),
                "image: {{ . }}\n"
            )
            .is_none()
        );
    }

    #[test]
    fn keys() {
        assert_eq!(key_of("  - image: x"), Some("image"));
        assert_eq!(key_of("  \"helm.sh/hook\": x"), Some("helm.sh/hook"));
        assert_eq!(key_of("  {{- include \"x\" . }}"), None);
        assert_eq!(key_of("  # image: x"), None);
        assert_eq!(key_of("  url: http://x"), Some("url"));
    }
}
