//! `--format json`: one document, fields documented in `docs/json-output.md`. Field names and
//! meanings are stable; new fields may be added.

use std::io::{self, Write};

use serde_json::{Value, json};

use super::{Reporter, Summary};
use crate::finding::{FileReport, Finding};

/// Writes findings as they come, one per line, so memory stays flat on huge repositories.
pub struct JsonReporter<'a> {
    out: Box<dyn Write + 'a>,
    written: usize,
}

impl<'a> JsonReporter<'a> {
    pub fn new(out: Box<dyn Write + 'a>) -> JsonReporter<'a> {
        JsonReporter { out, written: 0 }
    }

    fn start(&mut self) -> io::Result<()> {
        if self.written == 0 {
            write!(self.out, "{{\"version\": 1, \"findings\": [")?;
        }
        Ok(())
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
        "template": finding.template,
        "related": finding.notes.iter().map(|n| json!({"path": n.path, "line": n.line, "column": n.column, "message": n.message})).collect::<Vec<_>>(),
    })
}

impl Reporter for JsonReporter<'_> {
    fn file(&mut self, report: &FileReport) -> io::Result<()> {
        for finding in &report.findings {
            self.start()?;
            let separator = if self.written == 0 { "" } else { "," };
            write!(self.out, "{separator}\n  ")?;
            serde_json::to_writer(&mut self.out, &finding_json(report, finding))?;
            self.written += 1;
        }
        Ok(())
    }

    fn finish(&mut self, summary: &Summary) -> io::Result<()> {
        self.start()?;
        let closing = if self.written == 0 { "]" } else { "\n]" };
        let warnings: Vec<Value> = summary
            .problems
            .iter()
            .map(|w| json!({"path": w.path, "message": w.message}))
            .collect();
        let totals = json!({
            "files_checked": summary.files_checked,
            "errors": summary.errors,
            "warnings": summary.warnings,
            "notes": summary.notes,
        });
        writeln!(
            self.out,
            "{closing},\n\"warnings\": {},\n\"summary\": {}}}",
            Value::Array(warnings),
            totals
        )?;
        self.out.flush()
    }
}
