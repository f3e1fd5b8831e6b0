//! What a rule reports: [`Finding`]s, gathered per input into a [`FileReport`].

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::rules::RuleMeta;
use crate::source::{Position, SourceFile, Span};

/// How much a finding matters. Ordered so that `Note < Warning < Error`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Note,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Note => "note",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The Kubernetes object and container a finding is about.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subject {
    pub kind: String,
    pub name: Option<String>,
    pub namespace: Option<String>,
    pub container: Option<String>,
    /// The image reference as written.
    pub image: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Finding {
    pub rule: &'static RuleMeta,
    pub severity: Severity,
    /// One sentence, naming the value at fault.
    pub message: String,
    /// The exact bytes a person must edit.
    pub span: Span,
    /// A short label shown under the span.
    pub label: String,
    /// How to fix it.
    pub help: Option<String>,
    pub subject: Option<Subject>,
    /// Index of the resource (in its file) the finding is about, for annotation suppression.
    pub resource: Option<usize>,
    /// Other places that explain the finding (where a value came from), with a label each.
    /// Spans may lie in other files of a Kustomize build; reports resolve them.
    pub related: Vec<(Span, String)>,
    /// `related`, resolved to files and positions for output.
    pub notes: Vec<Note>,
    /// A finding about something larger than one file (a namespace) carries a key, and a run
    /// reports only the first finding of each key, in output order.
    pub once_per_run: Option<String>,
    /// For a finding judged before the whole run was indexed (in a Kustomize build): what the
    /// verdict depended on, to judge it again once everything is ([`crate::rules::still_stands`]).
    pub recheck: Option<Box<crate::rules::Recheck>>,
    /// In Helm output: the template that rendered the finding's document, as its `# Source:`
    /// comment names it (`chart/templates/deployment.yaml`).
    pub template: Option<String>,
}

/// A place that explains a finding, in any file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub path: String,
    pub line: u32,
    pub column: u32,
    pub message: String,
}

impl Finding {
    pub fn new(rule: &'static RuleMeta, span: Span, message: impl Into<String>) -> Finding {
        Finding {
            rule,
            severity: rule.default_severity,
            message: message.into(),
            span,
            label: String::new(),
            help: None,
            subject: None,
            resource: None,
            related: Vec::new(),
            notes: Vec::new(),
            once_per_run: None,
            recheck: None,
            template: None,
        }
    }

    pub fn label(mut self, label: impl Into<String>) -> Finding {
        self.label = label.into();
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Finding {
        self.help = Some(help.into());
        self
    }

    /// Reports this finding once per run for `key`.
    pub fn once_per_run(mut self, key: String) -> Finding {
        self.once_per_run = Some(key);
        self
    }

    pub fn subject(mut self, subject: Subject, resource: usize) -> Finding {
        self.subject = Some(subject);
        self.resource = Some(resource);
        self
    }
}

/// The resolved start and end of a finding, for formats that speak in lines and columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    pub start: Position,
    /// The position just after the last character (exclusive end).
    pub end: Position,
}

/// One input and what was found in it, in source order.
#[derive(Debug)]
pub struct FileReport {
    pub source: SourceFile,
    pub findings: Vec<Finding>,
}

impl FileReport {
    pub fn region(&self, finding: &Finding) -> Region {
        Region {
            start: self.source.position(finding.span.start),
            end: self.source.position(finding.span.end),
        }
    }
}

/// A problem with an input that is not a finding about its content: it could not be read, or
/// was skipped. Shown on stderr (and in JSON), never silently dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub path: String,
    pub message: String,
}
