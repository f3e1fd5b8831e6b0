//! Diagnostics for people: the source line, a label on the exact span, help, and the rule id.

use std::fmt;
use std::io::{self, Write};
use std::sync::Arc;

use miette::{
    Diagnostic, GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceCode,
};

use super::{Reporter, Summary};
use crate::finding::{FileReport, Finding, Severity};

/// Findings further right than this on their line are shown without a snippet.
const MAX_SNIPPET_COLUMN: u32 = 4096;

pub struct HumanReporter<'a> {
    out: Box<dyn Write + 'a>,
    handler: GraphicalReportHandler,
    color: bool,
}

impl<'a> HumanReporter<'a> {
    pub fn new(out: Box<dyn Write + 'a>, color: bool) -> HumanReporter<'a> {
        let theme = if color {
            GraphicalTheme::unicode()
        } else {
            GraphicalTheme::unicode_nocolor()
        };
        let handler = GraphicalReportHandler::new_themed(theme)
            .with_links(false)
            .with_context_lines(1);
        HumanReporter {
            out,
            handler,
            color,
        }
    }
}

impl Reporter for HumanReporter<'_> {
    fn file(&mut self, report: &FileReport) -> io::Result<()> {
        if report.findings.is_empty() {
            return Ok(());
        }
        let source = NamedSource::new(&report.source.name, Arc::clone(&report.source.text));
        let mut rendered = String::new();
        for finding in &report.findings {
            // A sensitive finding's line is the secret itself, and a line thousands of columns
            // wide (minified JSON) is no snippet (miette cannot pad past 65,535 columns):
            // name the place, quote nothing.
            let wide = [finding.span.start, finding.span.end]
                .iter()
                .any(|&offset| report.source.position(offset).column > MAX_SNIPPET_COLUMN);
            let location = (finding.rule.sensitive || wide).then(|| {
                let start = report.source.position(finding.span.start);
                format!("{}:{}:{}", report.source.name, start.line, start.column)
            });
            let diagnostic = FindingDiagnostic {
                finding,
                source: &source,
                location,
            };
            self.handler
                .render_report(&mut rendered, &diagnostic)
                .map_err(io::Error::other)?;
            // Notes on lines of their own, after the help, not read as part of it.
            for note in notes(finding) {
                rendered.push_str(&format!("  note: {note}\n"));
            }
            rendered.push('\n');
        }
        self.out.write_all(rendered.as_bytes())
    }

    fn finish(&mut self, summary: &Summary) -> io::Result<()> {
        // Problems with inputs are not findings: they go to stderr, like any tool's warnings.
        for problem in &summary.problems {
            let label = if self.color {
                "\x1b[33mwarning\x1b[0m"
            } else {
                "warning"
            };
            eprintln!("{label}: {}: {}", problem.path, problem.message);
        }
        let files = plural(summary.files_checked, "file");
        if summary.findings() == 0 {
            writeln!(self.out, "No findings in {files}.")?;
        } else {
            writeln!(
                self.out,
                "Found {}, {} and {} in {files}.",
                plural(summary.errors, "error"),
                plural(summary.warnings, "warning"),
                plural(summary.notes, "note"),
            )?;
        }
        self.out.flush()
    }
}

/// Where a finding's value came from: the Helm template, the places its notes name.
fn notes(finding: &Finding) -> impl Iterator<Item = String> + '_ {
    let template = finding
        .template
        .iter()
        .map(|template| format!("rendered from the Helm template {template}"));
    let notes = finding.notes.iter().map(|note| {
        format!(
            "{}: {}:{}:{}",
            note.message, note.path, note.line, note.column
        )
    });
    template.chain(notes)
}

fn plural(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

/// A finding seen through miette's eyes.
struct FindingDiagnostic<'a> {
    finding: &'a Finding,
    source: &'a NamedSource<Arc<str>>,
    /// Set for sensitive findings, which are shown without their source.
    location: Option<String>,
}

impl fmt::Debug for FindingDiagnostic<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.finding.message)
    }
}

impl fmt::Display for FindingDiagnostic<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.location {
            // No snippet to hang the label on: it joins the message.
            Some(location) if !self.finding.label.is_empty() => {
                write!(
                    f,
                    "{location}: {} ({})",
                    self.finding.message, self.finding.label
                )
            }
            Some(location) => write!(f, "{location}: {}", self.finding.message),
            None => f.write_str(&self.finding.message),
        }
    }
}

impl std::error::Error for FindingDiagnostic<'_> {}

impl Diagnostic for FindingDiagnostic<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        Some(Box::new(self.finding.rule.id))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.finding.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
            Severity::Note => miette::Severity::Advice,
        })
    }

    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        let help = self.finding.help.as_deref()?;
        Some(Box::new(help))
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        if self.location.is_some() {
            return None;
        }
        Some(self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.location.is_some() {
            return None;
        }
        let span = self.finding.span;
        let label = (!self.finding.label.is_empty()).then(|| self.finding.label.clone());
        Some(Box::new(std::iter::once(
            LabeledSpan::new_primary_with_span(label, (span.start as usize, span.len())),
        )))
    }
}
