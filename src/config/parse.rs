//! Finding and reading `.pinnace.yaml`, with errors that point at the offending key.

use std::path::{Path, PathBuf};

use miette::{Diagnostic, NamedSource, SourceSpan};
use serde_json::Value as Json;

use super::Config;
use crate::model::FieldPath;
use crate::source::{SourceFile, Span};
use crate::yaml::{Limits, Node, ScalarStyle, Value, load_stream};

pub const CONFIG_FILE_NAMES: [&str; 2] = [".pinnace.yaml", ".pinnace.yml"];

#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    #[diagnostic(code(pinnace::config))]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{location}: {message}")]
    #[diagnostic(code(pinnace::config))]
    Invalid {
        /// `path:line:column`, so the message names the place even without a snippet.
        location: String,
        message: String,
        #[source_code]
        source_code: NamedSource<String>,
        #[label("{label}")]
        span: SourceSpan,
        label: String,
        #[help]
        help: Option<String>,
    },
}

/// The config file that applies to `start`: the first one found walking up from it.
pub fn find_config_file(start: &Path) -> Option<PathBuf> {
    let start = std::fs::canonicalize(start).ok()?;
    let folder = if start.is_dir() {
        start.as_path()
    } else {
        start.parent()?
    };
    folder.ancestors().find_map(|dir| {
        CONFIG_FILE_NAMES
            .iter()
            .map(|name| dir.join(name))
            .find(|candidate| candidate.is_file())
    })
}

pub fn load_config(path: &Path) -> Result<Config, Box<ConfigError>> {
    let text = crate::files::read_text(path).map_err(|error| {
        let source = match error {
            crate::files::ReadError::Io(source) => source,
            other => std::io::Error::other(other.to_string()),
        };
        Box::new(ConfigError::Io {
            path: path.display().to_string(),
            source,
        })
    })?;
    parse_config(&display_path(path), &text)
}

/// The path relative to the current folder when it is below it, as people typed it.
fn display_path(path: &Path) -> String {
    let relative = std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf));
    relative.as_deref().unwrap_or(path).display().to_string()
}

/// Parses config text; `name` is how errors refer to the file.
pub fn parse_config(name: &str, text: &str) -> Result<Config, Box<ConfigError>> {
    let source = SourceFile::new(name, text);
    let invalid = |span: Span, message: String, label: &str, help: Option<String>| {
        let start = source.position(span.start);
        Box::new(ConfigError::Invalid {
            location: format!("{name}:{}:{}", start.line, start.column),
            message,
            source_code: NamedSource::new(name, text.to_string()),
            span: (span.start as usize, span.len()).into(),
            label: label.to_string(),
            help,
        })
    };
    let stream = load_stream(text, Limits::default());
    if let Some(error) = stream.error {
        let span = Span::new(error.offset as usize, error.offset as usize);
        return Err(invalid(
            span,
            format!("not valid YAML: {}", error.message),
            "here",
            None,
        ));
    }
    let Some(root) = stream.documents.first().filter(|root| !root.is_null()) else {
        return Ok(Config::default());
    };
    if let Some((first, second, key)) = duplicate_key(root) {
        let line = |span: Span| source.position(span.start).line;
        return Err(invalid(
            second,
            format!(
                "duplicate key `{key}` (lines {} and {})",
                line(first),
                line(second)
            ),
            "written again here",
            Some("a key may appear once in a mapping; merge the two".to_string()),
        ));
    }
    let json = to_json(root);
    let config: Config = serde_path_to_error::deserialize(json).map_err(|error| {
        let (span, key) = locate(root, error.path());
        let inner = error.inner().to_string();
        let label = if inner.starts_with("unknown field") {
            "unknown key"
        } else {
            "this value"
        };
        let message = format!("{inner} (at `{key}`)");
        invalid(span, message, label, Some(schema_help()))
    })?;
    validate(&config, root)
        .map_err(|(span, message, help)| invalid(span, message, "here", Some(help)))?;
    Ok(config)
}

/// The first key written twice in one mapping, anywhere in the config: both spans and the key.
/// (JSON objects keep one of them, and the spans of the other would point at the wrong item.)
fn duplicate_key(node: &Node) -> Option<(Span, Span, String)> {
    match &node.value {
        Value::Mapping(entries) => {
            let mut seen = std::collections::HashMap::new();
            for (key, _) in entries {
                let text = key.as_scalar().map_or("", |s| s.text.as_str());
                if let Some(first) = seen.insert(text, key.span) {
                    return Some((first, key.span, text.to_string()));
                }
            }
            entries.iter().find_map(|(_, value)| duplicate_key(value))
        }
        Value::Sequence(items) => items.iter().find_map(duplicate_key),
        Value::Scalar(_) => None,
    }
}

fn schema_help() -> String {
    "the JSON Schema `schema/pinnace.schema.json` lists every key and value".to_string()
}

/// Checks what serde cannot: rule ids, globs and image paths.
fn validate(config: &Config, root: &Node) -> Result<(), (Span, String, String)> {
    check_rule_ids(root.get("rules"))?;
    for (index, entry) in root.list("overrides").iter().enumerate() {
        check_rule_ids(entry.get("rules"))?;
        check_globs(entry.get("paths"), &config.overrides[index].paths)?;
    }
    check_globs(
        root.at(&["registries", "trusted"]),
        config.registries.trusted.as_deref().unwrap_or(&[]),
    )?;
    check_globs(root.get("exclude"), &config.exclude)?;
    if let Some(globs) = &config.network_policies.test_fixtures {
        check_globs(root.at(&["network_policies", "test_fixtures"]), globs)?;
    }
    check_globs(root.at(&["helm", "values"]), &config.helm.values)?;
    super::signature_entries::validate(&config.signatures, root.list("signatures"))?;
    check_helm_charts(root.at(&["helm", "charts"]), config)?;
    if let Some(seconds) = config.helm.timeout_seconds
        && seconds > super::MAX_TIMEOUT_SECONDS
    {
        let node = root.at(&["helm", "timeout_seconds"]);
        return Err((
            node.map_or(root.span, |n| n.span),
            format!(
                "helm.timeout_seconds {seconds} is over the limit of {} (a day)",
                super::MAX_TIMEOUT_SECONDS
            ),
            "give the seconds one `helm template` may take".to_string(),
        ));
    }
    let entries = root.list("images");
    for (entry, location) in entries.iter().zip(&config.images) {
        let span = entry.span;
        let path = match (&location.path, &location.pod_spec) {
            (Some(path), None) | (None, Some(path)) => path,
            _ => {
                return Err((
                    span,
                    "an `images` entry needs exactly one of `path` and `pod_spec`".to_string(),
                    "write `path: spec.steps[].image` or `pod_spec: spec.template.spec`"
                        .to_string(),
                ));
            }
        };
        if let Err(error) = FieldPath::parse(path) {
            let node = entry
                .get("path")
                .or_else(|| entry.get("pod_spec"))
                .unwrap_or(entry);
            return Err((
                node.span,
                error.to_string(),
                "keys joined by `.`, with `[]` for every item of a list".to_string(),
            ));
        }
    }
    Ok(())
}

/// Release names and namespaces as helm validates them, so that none reaches `helm
/// template` as an option (`--output-dir=/dir`).
fn check_helm_charts(node: Option<&Node>, config: &Config) -> Result<(), (Span, String, String)> {
    let items = node.and_then(Node::as_sequence).unwrap_or(&[]);
    for (item, chart) in items.iter().zip(&config.helm.charts) {
        let span_of = |key: &str| item.get(key).map_or(item.span, |value| value.span);
        if let Some(release) = &chart.release
            && let Err(why) = super::helm_settings::check_release_name(release)
        {
            return Err((
                span_of("release"),
                format!("invalid release name `{release}`: {why}"),
                "helm accepts lowercase letters, digits, `-` and `.`, at most 53 characters"
                    .to_string(),
            ));
        }
        if let Some(namespace) = &chart.namespace
            && let Err(why) = super::helm_settings::check_namespace(namespace)
        {
            return Err((
                span_of("namespace"),
                format!("invalid namespace `{namespace}`: {why}"),
                "a namespace is a DNS-1123 label: lowercase letters, digits and `-`, at most 63 characters"
                    .to_string(),
            ));
        }
    }
    Ok(())
}

fn check_rule_ids(rules: Option<&Node>) -> Result<(), (Span, String, String)> {
    for (key, _) in rules.and_then(Node::as_mapping).unwrap_or(&[]) {
        let id = key.as_str().unwrap_or("");
        if crate::rules::find(id).is_none() {
            let known: Vec<&str> = crate::rules::catalog().map(|meta| meta.id).collect();
            return Err((
                key.span,
                format!("unknown rule `{id}`"),
                format!("known rules: {}", known.join(", ")),
            ));
        }
    }
    Ok(())
}

fn check_globs(node: Option<&Node>, globs: &[String]) -> Result<(), (Span, String, String)> {
    let items = node.and_then(Node::as_sequence).unwrap_or(&[]);
    for (item, glob) in items.iter().zip(globs) {
        if let Err(error) = globset::Glob::new(glob) {
            return Err((
                item.span,
                format!("invalid glob `{glob}`: {}", error.kind()),
                "globs use `*`, `**`, `?`, `[…]` and `{a,b}`".to_string(),
            ));
        }
    }
    Ok(())
}

/// The span and dotted name of the node a deserialization error path leads to.
fn locate(root: &Node, path: &serde_path_to_error::Path) -> (Span, String) {
    let mut node = root;
    let mut span = root.span;
    for segment in path.iter() {
        match segment {
            serde_path_to_error::Segment::Map { key } => match node.entry(key) {
                Some((key_node, value)) => {
                    span = key_node.span;
                    node = value;
                }
                None => break,
            },
            serde_path_to_error::Segment::Seq { index } => {
                match node.as_sequence().and_then(|items| items.get(*index)) {
                    Some(item) => {
                        span = item.span;
                        node = item;
                    }
                    None => break,
                }
            }
            _ => break,
        }
    }
    // Point at the value when the key itself is fine (a wrong type or variant).
    if !node.span.is_empty() && span != node.span && node.as_scalar().is_some() {
        span = node.span;
    }
    (span, path.to_string())
}

/// YAML to JSON under the YAML 1.2 core schema, so serde sees numbers and booleans as such.
pub fn to_json(node: &Node) -> Json {
    match &node.value {
        Value::Scalar(scalar) if scalar.style != ScalarStyle::Plain => {
            Json::String(scalar.text.clone())
        }
        Value::Scalar(scalar) => plain_scalar(&scalar.text),
        Value::Sequence(items) => Json::Array(items.iter().map(to_json).collect()),
        Value::Mapping(entries) => Json::Object(
            entries
                .iter()
                .map(|(key, value)| {
                    (
                        key.as_scalar().map_or_else(String::new, |s| s.text.clone()),
                        to_json(value),
                    )
                })
                .collect(),
        ),
    }
}

fn plain_scalar(text: &str) -> Json {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => Json::Null,
        "true" | "True" | "TRUE" => Json::Bool(true),
        "false" | "False" | "FALSE" => Json::Bool(false),
        _ => text
            .parse::<i64>()
            .map(Json::from)
            .ok()
            .or_else(|| {
                text.parse::<f64>()
                    .ok()
                    .and_then(serde_json::Number::from_f64)
                    .map(Json::Number)
            })
            .unwrap_or_else(|| Json::String(text.to_string())),
    }
}
