//! One input through the whole offline pipeline: load, extract, check, suppress.
//!
//! Knows nothing of how inputs were found or how findings will be printed.

use std::path::Path;

use crate::config::{ScopeKind, Settings};
use crate::finding::{FileReport, Finding, Warning};
use crate::model::{Model, Scope, ScopeIndex, add_values, extract};
use crate::registry::OnlineFacts;
use crate::rules::{Context, RULES, YAML_SYNTAX};
use crate::source::{SourceFile, Span};
use crate::suppress::Suppressions;
use crate::yaml::{Limits, Node, load_stream};

/// Files larger than this are skipped with a warning (see [`crate::files`]).
pub const MAX_FILE_BYTES: u64 = crate::files::MAX_FILE_BYTES;

/// An input's bytes and names.
pub struct Input<'a> {
    /// How the user sees the path.
    pub name: String,
    /// The path config globs match against (absolute, or relative to the config root).
    pub path: &'a Path,
    pub bytes: Vec<u8>,
}

/// A loaded input: its source and documents, or why it was skipped.
pub enum Loaded {
    Documents {
        source: SourceFile,
        documents: Vec<Node>,
        syntax_error: Option<Box<Finding>>,
    },
    Skipped(Warning),
}

/// Reads bytes as YAML, turning every way the input can be broken into a finding or a warning.
pub fn load(input: Input<'_>) -> Loaded {
    let Input { name, path, bytes } = input;
    let probe = &bytes[..bytes.len().min(8192)];
    if memchr::memchr(0, probe).is_some() {
        return Loaded::Skipped(Warning {
            path: name,
            message: "binary file (it holds NUL bytes), skipped".to_string(),
        });
    }
    let is_json = path
        .extension()
        .is_some_and(|ext| ext.eq_ignore_ascii_case("json"));
    if is_json && memchr::memmem::find(&bytes, b"apiVersion").is_none() {
        // Not a manifest: package.json, tsconfig.json and friends.
        return Loaded::Documents {
            source: SourceFile::new(name, ""),
            documents: Vec::new(),
            syntax_error: None,
        };
    }
    let (text, utf8_error) = match String::from_utf8(bytes) {
        Ok(text) => (text, None),
        Err(error) => {
            let offset = error.utf8_error().valid_up_to();
            (
                String::from_utf8_lossy(error.as_bytes()).into_owned(),
                Some(offset),
            )
        }
    };
    let source = SourceFile::new(name, text);
    if let Some(offset) = utf8_error {
        let finding = Finding::new(&YAML_SYNTAX, char_span(&source.text, offset), "file is not UTF-8 text")
            .label("this byte is not valid UTF-8")
            .help("Kubernetes manifests must be UTF-8; re-encode the file (for example with `iconv -t UTF-8`)");
        return Loaded::Documents {
            source,
            documents: Vec::new(),
            syntax_error: Some(Box::new(finding)),
        };
    }
    let stream = load_stream(&source.text, Limits::default());
    let syntax_error = stream.error.map(|error| {
        let finding = Finding::new(
            &YAML_SYNTAX,
            char_span(&source.text, error.offset as usize),
            format!("invalid YAML: {}", error.message),
        )
        .label("the parser stopped here")
        .help("fix the YAML at this point; documents before it were still checked");
        Box::new(finding)
    });
    Loaded::Documents {
        source,
        documents: stream.documents,
        syntax_error,
    }
}

/// The one character at `offset` (empty at the end of the text), so a label never splits a
/// multi-byte character.
fn char_span(text: &str, offset: usize) -> Span {
    let offset = offset.min(text.len());
    let width = text[offset..].chars().next().map_or(0, char::len_utf8);
    Span::new(offset, offset + width)
}

/// Runs every rule on one input. `Err` is an input that was skipped. `scope` holds the
/// NetworkPolicies, ServiceAccounts and Secrets of the whole run; the input's own come
/// first, and are all there is without it.
pub fn check(
    input: Input<'_>,
    settings: &Settings,
    online: Option<&OnlineFacts>,
    scope: Option<&ScopeIndex>,
) -> Result<FileReport, Warning> {
    check_with_index(input, settings, online, scope).map(|(report, _)| report)
}

/// [`check`], also returning what the input adds to the run's index (for a rendered Helm
/// chart, which the index pass does not see).
pub fn check_with_index(
    input: Input<'_>,
    settings: &Settings,
    online: Option<&OnlineFacts>,
    scope: Option<&ScopeIndex>,
) -> Result<(FileReport, ScopeIndex), Warning> {
    let path = input.path.to_path_buf();
    let (source, documents, syntax_error) = match load(input) {
        Loaded::Documents {
            source,
            documents,
            syntax_error,
        } => (source, documents, syntax_error),
        Loaded::Skipped(warning) => return Err(warning),
    };
    let values = crate::helm::values_of(&documents, &source.text, &path, settings);
    let mut model = extract(&documents, &settings.catalog);
    add_values(&mut model, &values);
    let mut findings: Vec<Finding> = syntax_error.into_iter().map(|f| *f).collect();
    let mut own = ScopeIndex::default();
    own.add(&model, settings.default_namespace());
    let empty = ScopeIndex::default();
    let context = Context {
        model: &model,
        settings,
        online,
        scope: Scope {
            run: scope.unwrap_or(&empty),
            own: &own,
            build: false,
            complete: settings.scope_kind(&path) == Some(ScopeKind::Complete),
            default_namespace: settings.default_namespace(),
            run_complete: scope.is_some(),
        },
    };
    for rule in RULES {
        rule.check(&context, &mut findings);
    }
    let mut findings = settle(findings, &source, &model, settings, &path);
    crate::helm::name_templates(&source, &mut findings);
    crate::helm::explain_map_fixes(&mut findings, &values);
    Ok((FileReport { source, findings }, own))
}

/// Applies severities and suppressions, and puts findings in source order.
pub fn settle(
    findings: Vec<Finding>,
    source: &SourceFile,
    model: &Model<'_>,
    settings: &Settings,
    path: &Path,
) -> Vec<Finding> {
    if findings.is_empty() {
        return findings;
    }
    let levels = settings.levels_for(path);
    let suppressions = Suppressions::scan(source);
    let mut kept: Vec<Finding> = findings
        .into_iter()
        .filter_map(|mut finding| {
            finding.severity = levels.severity(finding.rule)?;
            let line = source.position(finding.span.start).line;
            let by_annotation = finding.resource.is_some_and(|index| {
                model.resources[index]
                    .ignored_rules
                    .contains(&finding.rule.id)
            });
            (!by_annotation && !suppressions.is_suppressed(finding.rule.id, line))
                .then_some(finding)
        })
        .collect();
    kept.sort_by(|a, b| (a.span.start, a.rule.id).cmp(&(b.span.start, b.rule.id)));
    kept
}
