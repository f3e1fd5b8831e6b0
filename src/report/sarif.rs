//! `--format sarif`: SARIF 2.1.0, as GitHub code scanning reads it. Results carry regions
//! and line-independent partial fingerprints, so an unrelated edit does not reopen an alert.

use std::io::{self, Write};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{Reporter, Summary};
use crate::finding::{FileReport, Finding, Severity};
use crate::rules::{RuleMeta, catalog};

/// Streams results one per line between a head (tool and rules) and a tail (invocation),
/// so memory stays flat on huge repositories.
pub struct SarifReporter<'a> {
    out: Box<dyn Write + 'a>,
    written: usize,
    started: bool,
}

impl<'a> SarifReporter<'a> {
    pub fn new(out: Box<dyn Write + 'a>) -> SarifReporter<'a> {
        SarifReporter {
            out,
            written: 0,
            started: false,
        }
    }

    fn start(&mut self) -> io::Result<()> {
        if self.started {
            return Ok(());
        }
        self.started = true;
        let driver = json!({
            "name": "pinnace",
            "version": env!("CARGO_PKG_VERSION"),
            "rules": catalog().map(rule_descriptor).collect::<Vec<_>>(),
        });
        write!(
            self.out,
            "{{\"$schema\": \"https://json.schemastore.org/sarif-2.1.0.json\", \"version\": \"2.1.0\", \"runs\": [{{\n\"tool\": {{\"driver\": {driver}}},\n\"columnKind\": \"unicodeCodePoints\",\n\"results\": ["
        )
    }
}

impl Reporter for SarifReporter<'_> {
    fn file(&mut self, report: &FileReport) -> io::Result<()> {
        self.start()?;
        for finding in &report.findings {
            let separator = if self.written == 0 { "" } else { "," };
            write!(self.out, "{separator}\n  {}", result(report, finding))?;
            self.written += 1;
        }
        Ok(())
    }

    fn finish(&mut self, summary: &Summary) -> io::Result<()> {
        let notifications: Vec<Value> = summary
            .problems
            .iter()
            .map(|problem| {
                json!({
                    "level": "warning",
                    "message": {"text": format!("{}: {}", problem.path, problem.message)},
                    "locations": [{"physicalLocation": {"artifactLocation": {"uri": uri(&problem.path)}}}],
                })
            })
            .collect();
        self.start()?;
        let invocations = json!([{
            "executionSuccessful": true,
            "toolExecutionNotifications": notifications,
        }]);
        writeln!(self.out, "\n],\n\"invocations\": {invocations}\n}}]}}")?;
        self.out.flush()
    }
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "note",
    }
}

fn rule_descriptor(rule: &'static RuleMeta) -> Value {
    json!({
        "id": rule.id,
        "name": rule.id,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": section(rule.page, "What it does").unwrap_or(rule.summary)},
        "help": {"text": rule.page, "markdown": rule.page},
        "defaultConfiguration": {"level": level(rule.default_severity)},
    })
}

/// The text of a `## heading` section of a rule page.
fn section<'a>(page: &'a str, heading: &str) -> Option<&'a str> {
    let start = page.find(&format!("## {heading}\n"))? + heading.len() + 4;
    let rest = &page[start..];
    Some(rest[..rest.find("\n## ").unwrap_or(rest.len())].trim())
}

fn result(report: &FileReport, finding: &Finding) -> Value {
    let region = report.region(finding);
    // A sensitive finding's line is the secret itself: no snippet.
    let mut region_json = json!({
        "startLine": region.start.line,
        "startColumn": region.start.column,
        "endLine": region.end.line,
        "endColumn": region.end.column,
    });
    if !finding.rule.sensitive {
        region_json["snippet"] = json!({"text": report.source.line_text(region.start.line)});
    }
    let rule_index = catalog().position(|meta| meta.id == finding.rule.id);
    json!({
        "ruleId": finding.rule.id,
        "ruleIndex": rule_index,
        "level": level(finding.severity),
        "message": {"text": message(finding)},
        "locations": [{"physicalLocation": {
            "artifactLocation": {"uri": uri(&report.source.name), "uriBaseId": "%SRCROOT%"},
            "region": region_json,
        }}],
        "relatedLocations": related_locations(finding),
        "partialFingerprints": {"pinnaceFinding/v1": fingerprint(report, finding)},
    })
}

fn message(finding: &Finding) -> String {
    let mut text = finding.message.clone();
    if let Some(help) = &finding.help {
        text.push_str(&format!("\nhelp: {help}"));
    }
    if let Some(template) = &finding.template {
        text.push_str(&format!("\nrendered from the Helm template {template}"));
    }
    text
}

/// The finding's notes, and for Helm output the template that rendered it (a file without a
/// region: the rendered line is not a line of the template).
fn related_locations(finding: &Finding) -> Vec<Value> {
    let notes = finding.notes.iter().map(|note| {
        json!({
            "message": {"text": note.message},
            "physicalLocation": {
                "artifactLocation": {"uri": uri(&note.path), "uriBaseId": "%SRCROOT%"},
                "region": {"startLine": note.line, "startColumn": note.column},
            },
        })
    });
    let template = finding.template.iter().map(|template| {
        json!({
            "message": {"text": "the Helm template that rendered this document"},
            "physicalLocation": {"artifactLocation": {"uri": uri(template), "uriBaseId": "%SRCROOT%"}},
        })
    });
    notes
        .chain(template)
        .enumerate()
        .map(|(id, mut location)| {
            location["id"] = json!(id);
            location
        })
        .collect()
}

/// A hash of what the finding is about (rule, file, resource, container, image), not of
/// where it sits, so that moving lines around keeps the alert's identity.
pub fn fingerprint(report: &FileReport, finding: &Finding) -> String {
    let mut hasher = Sha256::new();
    let mut feed = |part: &str| {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    };
    feed(finding.rule.id);
    feed(&report.source.name);
    match &finding.subject {
        Some(subject) => {
            feed(&subject.kind);
            feed(subject.namespace.as_deref().unwrap_or(""));
            feed(subject.name.as_deref().unwrap_or(""));
            feed(subject.container.as_deref().unwrap_or(""));
            feed(subject.image.as_deref().unwrap_or(""));
        }
        None => feed(&finding.message),
    }
    let digest = hasher.finalize();
    digest
        .iter()
        .take(16)
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// A relative path as a URI reference: forward slashes, reserved characters escaped.
fn uri(path: &str) -> String {
    let path = path.strip_prefix("./").unwrap_or(path);
    let mut out = String::with_capacity(path.len());
    for byte in path.replace('\\', "/").bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}
