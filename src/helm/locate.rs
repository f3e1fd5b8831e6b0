//! Where in a template a rendered line came from. Helm keeps no source map, so this is a
//! match by shape, and only where it is certain: a rendered line written literally in the
//! template is the same occurrence of that line in the template; otherwise the rendered line's
//! key (`image:`), counted among the rendered lines of its document that the template does not
//! write literally, is the same occurrence among the template's lines with that key and a
//! `{{ }}` in them. Either way the counts must agree: when the template writes such a line more
//! or fewer times than its document renders it (an `if` that left one out, a `range` that
//! wrote several), nothing says which one this is, and the finding stays in the rendered
//! stream, which says so.

use crate::source::{SourceFile, Span};

/// The span, in `template`, of the value of the line that rendered `span` of `rendered`;
/// `document_start` is where the rendered document begins. `None` when not certain.
pub fn locate(
    rendered: &SourceFile,
    document_start: u32,
    span: Span,
    template: &str,
) -> Option<Span> {
    let line = rendered.position(span.start).line;
    let text = rendered.line_text(line);
    let key = key_of(text)?;
    let first = rendered.position(document_start).line;
    let document: Vec<(u32, &str)> = document_lines(rendered, first).collect();
    let lines = template_document(template_lines(template), &document);
    let is_literal = |rendered: &str| {
        lines
            .iter()
            .any(|(_, written)| written.trim() == rendered.trim())
    };
    let (candidates, occurrence, rendered_count) = if is_literal(text) {
        let same = |other: &str| other.trim() == text.trim();
        let written: Vec<&(usize, &str)> = lines.iter().filter(|(_, w)| same(w)).collect();
        let before = document
            .iter()
            .filter(|(l, t)| *l < line && same(t))
            .count();
        let count = document.iter().filter(|(_, t)| same(t)).count();
        (written, before, count)
    } else {
        let templated = |other: &str| key_of(other) == Some(key) && !is_literal(other);
        let written: Vec<&(usize, &str)> = lines
            .iter()
            .filter(|(_, w)| key_of(w) == Some(key) && w.contains("{{"))
            .collect();
        let before = document
            .iter()
            .filter(|(l, t)| *l < line && templated(t))
            .count();
        let count = document.iter().filter(|(_, t)| templated(t)).count();
        (written, before, count)
    };
    if candidates.len() != rendered_count {
        return None;
    }
    let (start, written) = candidates.get(occurrence)?;
    Some(value_span(written, *start, key))
}

/// The lines of the template's document that rendered `document`: a template may write
/// several (helm sorts them by kind, so order says nothing), and the one whose `kind:` line
/// the rendered document has is it. All the lines when that does not tell.
fn template_document<'t>(
    lines: Vec<(usize, &'t str)>,
    document: &[(u32, &str)],
) -> Vec<(usize, &'t str)> {
    let Some(kind) = document
        .iter()
        .find(|(_, text)| key_of(text) == Some("kind") && !text.starts_with(' '))
        .map(|(_, text)| text.trim())
    else {
        return lines;
    };
    let documents: Vec<&[(usize, &str)]> =
        lines.split(|(_, text)| text.starts_with("---")).collect();
    let mut with_kind = documents
        .iter()
        .filter(|part| part.iter().any(|(_, text)| text.trim() == kind));
    match (with_kind.next(), with_kind.next()) {
        (Some(only), None) => only.to_vec(),
        _ => lines,
    }
}

/// The lines of the rendered document that starts at line `first`, up to the next `---`.
fn document_lines(rendered: &SourceFile, first: u32) -> impl Iterator<Item = (u32, &str)> {
    (first..=rendered.line_count())
        .map(|line| (line, rendered.line_text(line)))
        .enumerate()
        .take_while(|(index, (_, text))| *index == 0 || !text.starts_with("---"))
        .map(|(_, line)| line)
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
            )?;
            Some(&template[span.range()])
        };
        assert_eq!(at("envoy:v1").unwrap(), "envoy:v1");
        // The app line was not rendered: two templated lines, one rendered, so which one
        // wrote it is not certain, and no line is claimed.
        assert_eq!(at("other:2"), None);
    }

    #[test]
    fn a_literal_line_is_the_same_occurrence_of_it() {
        // `labels:` twice: the Deployment's and the pod template's.
        let template = "metadata:\n  labels:\n    {{- include \"l\" . | nindent 4 }}\nspec:\n  template:\n    metadata:\n      labels:\n        {{- include \"l\" . | nindent 8 }}\n";
        let rendered = SourceFile::new(
            "r",
            "metadata:\n  labels:\n    app: web\nspec:\n  template:\n    metadata:\n      labels:\n        app: web\n",
        );
        let second = rendered.text.rfind("labels").unwrap();
        let span = locate(&rendered, 0, Span::new(second, second + 6), template).unwrap();
        assert_eq!(span.start as usize, template.rfind("labels").unwrap());
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
