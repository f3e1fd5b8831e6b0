//! The `# Source: chart/templates/x.yaml` comments of a rendered stream.
//!
//! `helm template` starts every document with `---` and a `# Source:` comment naming the
//! template (subcharts as `chart/charts/sub/templates/x.yaml`). A document's span alone cannot
//! say which template wrote it, so the comments are read from the text, once per input.

use crate::finding::Finding;
use crate::source::SourceFile;

const MARKER: &[u8] = b"# Source: ";

/// The template of each document of a rendered stream, by where the document starts.
#[derive(Debug, Default)]
pub struct Sources {
    /// Byte offset where each document starts, and the template its comment names.
    documents: Vec<(u32, Option<String>)>,
}

impl Sources {
    /// Reads the comments of a stream; `None` when it has none (not Helm output).
    pub fn scan(text: &str) -> Option<Sources> {
        memchr::memmem::find(text.as_bytes(), MARKER)?;
        let mut sources = Sources {
            documents: vec![(0, None)],
        };
        let mut offset = 0;
        for line in text.split_inclusive('\n') {
            let content = line.trim_end_matches(['\n', '\r']);
            if is_document_start(content) {
                sources.documents.push((offset as u32, None));
            } else if let Some(path) = content.strip_prefix("# Source: ") {
                let current = sources.documents.last_mut().map(|(_, template)| template);
                if let Some(template @ None) = current {
                    *template = Some(path.trim().to_string());
                }
            }
            offset += line.len();
        }
        Some(sources)
    }

    /// Where each document starts, and the template its comment names.
    pub fn documents(&self) -> &[(u32, Option<String>)] {
        &self.documents
    }

    /// The template that rendered the document holding byte `offset`.
    pub fn template_at(&self, offset: u32) -> Option<&str> {
        self.document_at(offset)?.1.as_deref()
    }

    /// Where the document holding byte `offset` starts.
    pub fn document_start(&self, offset: u32) -> u32 {
        self.document_at(offset).map_or(0, |(start, _)| *start)
    }

    fn document_at(&self, offset: u32) -> Option<&(u32, Option<String>)> {
        let index = self
            .documents
            .partition_point(|(start, _)| *start <= offset)
            .checked_sub(1)?;
        self.documents.get(index)
    }
}

/// `---` alone (or followed by a space and content) at the start of a line.
fn is_document_start(line: &str) -> bool {
    line.strip_prefix("---")
        .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t']))
}

/// Gives each finding in a rendered stream the template that rendered its document, and help
/// that sends the reader to the chart: the stream itself is output, not something to edit.
pub fn name_templates(source: &SourceFile, findings: &mut [Finding]) {
    if findings.is_empty() {
        return;
    }
    let Some(sources) = Sources::scan(&source.text) else {
        return;
    };
    for finding in findings {
        let Some(template) = sources.template_at(finding.span.start) else {
            continue;
        };
        if finding.rule.fixable {
            finding.help = Some(format!(
                "this is Helm output: change the image where the chart decides it (its values, or `{template}`); `pinnace pin` pins image values in values files"
            ));
        }
        finding.template = Some(template.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STREAM: &str = "---\n# Source: web/templates/service.yaml\nkind: Service\n---\n# Source: web/charts/db/templates/sts.yaml\nkind: StatefulSet\n";

    #[test]
    fn each_document_maps_to_its_comment() {
        let sources = Sources::scan(STREAM).unwrap();
        let at = |needle: &str| sources.template_at(STREAM.find(needle).unwrap() as u32);
        assert_eq!(at("kind: Service"), Some("web/templates/service.yaml"));
        assert_eq!(
            at("kind: StatefulSet"),
            Some("web/charts/db/templates/sts.yaml")
        );
    }

    #[test]
    fn a_document_without_a_comment_has_no_template() {
        let text = "# Source: a/templates/x.yaml\nkind: A\n---\nkind: B\n";
        let sources = Sources::scan(text).unwrap();
        assert_eq!(sources.template_at(0), Some("a/templates/x.yaml"));
        assert_eq!(
            sources.template_at(text.find("kind: B").unwrap() as u32),
            None
        );
    }

    #[test]
    fn plain_streams_are_not_helm_output() {
        assert!(Sources::scan("kind: A\n---\nkind: B\n").is_none());
        assert!(!is_document_start("----"));
        assert!(is_document_start("--- # doc"));
    }
}
