//! `--format json`: one document, fields documented in `docs/json-output.md`. Field names and
//! meanings are stable; new fields may be added.

use std::io::{self, Write};

use serde_json::{Value, json};

use super::{Reporter, Summary};
use crate::finding::{FileReport, Finding};

pub struct JsonReporter<'a> {
    out: Box<dyn Write + 'a>,
    findings: Vec<Value>,
}

impl<'a> JsonReporter<'a> {
    pub fn new(out: Box<dyn Write + 'a>) -> JsonReporter<'a> {
        JsonReporter {
            out,
            findings: Vec::new(),
        }
    }
}

/// One finding as a JSON object; shared with other machine formats' tests.
pub fn finding_json(report: &FileReport, finding: &Finding) -> Value {
    let region = report.region(finding);
    let subject = finding.subject.as_ref();
    json!({
        "rule": finding.rule.id,
        "severity": finding.severity.as_str(),
        "message": finding.message,
        "path": report.source.name,
        "line": region.start.line,
        "column": region.start.column,
        "end_line": region.end.line,
        "end_column": region.end.column,
        "byte_offset": finding.span.start,
        "byte_length": finding.span.len(),
        "label": finding.label,
        "help": finding.help,
        "resource": subject.map(|s| json!({"kind": s.kind, "name": s.name, "namespace": s.namespace})),
        "container": subject.and_then(|s| s.container.clone()),
        "image": subject.and_then(|s| s.image.clone()),
    })
}

impl Reporter for JsonReporter<'_> {
    fn file(&mut self, report: &FileReport) -> io::Result<()> {
        self.findings.extend(
            report
                .findings
                .iter()
                .map(|finding| finding_json(report, finding)),
        );
        Ok(())
    }

    fn finish(&mut self, summary: &Summary) -> io::Result<()> {
        let document = json!({
            "version": 1,
            "findings": std::mem::take(&mut self.findings),
            "warnings": summary.problems.iter().map(|w| json!({"path": w.path, "message": w.message})).collect::<Vec<_>>(),
            "summary": {
                "files_checked": summary.files_checked,
                "errors": summary.errors,
                "warnings": summary.warnings,
                "notes": summary.notes,
            },
        });
        serde_json::to_writer_pretty(&mut self.out, &document)?;
        writeln!(self.out)?;
        self.out.flush()
    }
}
