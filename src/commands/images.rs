//! `pinnace images`: every image reference with where it is written.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use serde::Serialize;

use super::{ConfigArgs, exit, settings};
use crate::builds::{PinScope, scan_for_pin};
use crate::config::RuleSelection;
use crate::image_ref::ImageRef;
use crate::inputs::{DisplayNames, for_each_input, gather_inputs};
use crate::model::{ParsedImage, extract};
use crate::pipeline::{self, Loaded};
use crate::registry::RegistryClient;
use crate::signatures::{EntryVerdict, Verdict, Verifier, required_policies};

#[derive(Debug, Args)]
pub struct ImagesArgs {
    /// Files or folders to read; `-` reads standard input.
    #[arg(default_value = ".")]
    paths: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = ListFormat::Plain)]
    format: ListFormat,
    /// The name standard input is reported under.
    #[arg(long, default_value = "<stdin>", value_name = "NAME")]
    stdin_filename: String,
    /// Ask registries who signed each pinned digest (under config `signatures`).
    #[arg(long)]
    signatures: bool,
    /// With `--signatures`: requests in flight at once per registry.
    #[arg(long, default_value_t = 8, value_name = "N")]
    jobs: usize,
    #[command(flatten)]
    cache: super::pin::CacheArgs,
    #[command(flatten)]
    config: ConfigArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ListFormat {
    Plain,
    Json,
}

/// One image reference; the JSON output is a list of these.
#[derive(Debug, Serialize)]
struct ImageRow {
    path: String,
    line: u32,
    column: u32,
    kind: String,
    name: Option<String>,
    namespace: Option<String>,
    container: Option<String>,
    /// `containers`, `initContainers`, `ephemeralContainers`, or a custom resource's path.
    field: String,
    image: String,
    /// The normalized name, e.g. `docker.io/library/nginx`, when the reference is valid.
    normalized: Option<String>,
    tag: Option<String>,
    digest: Option<String>,
    /// `pinned`, `tagged`, `untagged` (neither tag nor digest: `latest`), `templated` or
    /// `invalid`; `overridden` for an image every Kustomize build in scope replaces through an
    /// overlay's `images:` entry.
    status: &'static str,
    /// With `--signatures`: who signed the pinned digest (the key), or what was found instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    signature: Option<String>,
}

pub fn run(args: ImagesArgs) -> miette::Result<u8> {
    super::require_paths(&args.paths)?;
    let settings = settings(&args.config, &args.paths, RuleSelection::default())?;
    let mut rows: Vec<ImageRow> = Vec::new();
    let inputs = gather_inputs(&args.paths, &settings);
    let names = DisplayNames::new(&inputs.files);
    let scope = scan_for_pin(&inputs.files, &settings, &|path| names.get(path));
    let problems = for_each_input(
        &inputs,
        &args.stdin_filename,
        |input| {
            let path = input.path.to_path_buf();
            match pipeline::load(input) {
                Loaded::Skipped(warning) => Err(warning),
                Loaded::Documents {
                    source, documents, ..
                } => {
                    let values = crate::helm::values_of(&documents, &source.text, &path, &settings);
                    let mut model = extract(&documents, &settings.catalog);
                    crate::model::add_values(&mut model, &values);
                    let covered = scope.covered.contains(&path);
                    let written = scope.written.get(&path);
                    Ok(model
                        .images
                        .iter()
                        .map(|image| {
                            let resource = &model.resources[image.resource];
                            let position = source.position(image.node.span.start);
                            let (normalized, tag, digest, mut status) = describe(&image.parsed);
                            if covered
                                && !written.is_some_and(|spans| spans.contains(&image.node.span))
                            {
                                status = "overridden";
                            }
                            ImageRow {
                                path: source.name.clone(),
                                line: position.line,
                                column: position.column,
                                kind: resource.kind.to_string(),
                                name: resource.name.map(str::to_string),
                                namespace: resource.namespace.map(str::to_string),
                                container: image.container.map(str::to_string),
                                field: image.field.to_string(),
                                image: image.text.to_string(),
                                normalized,
                                tag,
                                digest,
                                status,
                                signature: None,
                            }
                        })
                        .collect::<Vec<_>>())
                }
            }
        },
        |file_rows| rows.extend(file_rows),
    );
    rows.extend(overlay_rows(&scope, &names));
    rows.extend(built_rows(&scope.inline, &names, "kustomize patch"));
    rows.extend(built_rows(&scope.rendered, &names, "kustomize helmCharts"));
    rows.sort_by(|a, b| (&a.path, a.line, a.column).cmp(&(&b.path, b.line, b.column)));
    rows.dedup_by(|a, b| {
        (&a.path, a.line, a.column, &a.image) == (&b.path, b.line, b.column, &b.image)
    });
    if args.signatures {
        add_signatures(&mut rows, &args, &settings)?;
    }
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let written = match args.format {
        ListFormat::Json => serde_json::to_writer_pretty(&mut out, &rows)
            .map_err(std::io::Error::from)
            .and_then(|()| writeln!(out)),
        ListFormat::Plain => rows.iter().try_for_each(|row| {
            let workload = match &row.name {
                Some(name) => format!("{}/{}", row.kind, name),
                None => row.kind.clone(),
            };
            let signature = match &row.signature {
                Some(signature) => format!("\t{signature}"),
                None if args.signatures => "\t-".to_string(),
                None => String::new(),
            };
            writeln!(
                out,
                "{}:{}:{}\t{}\t{}\t{}\t{}{signature}",
                row.path,
                row.line,
                row.column,
                workload,
                row.container.as_deref().unwrap_or("-"),
                row.image,
                row.status
            )
        }),
    };
    super::output(written.and_then(|()| out.flush()))?;
    for problem in settings
        .warnings
        .iter()
        .chain(&problems)
        .chain(&scope.warnings)
    {
        eprintln!("warning: {}: {}", problem.path, problem.message);
    }
    Ok(exit::CLEAN)
}

/// Fills in who signed each pinned row's digest, asking each distinct digest once.
fn add_signatures(
    rows: &mut [ImageRow],
    args: &ImagesArgs,
    settings: &crate::config::Settings,
) -> miette::Result<()> {
    let policies = required_policies(settings)
        .map_err(|e| miette::miette!("{}", e.replace("--require-signature", "--signatures")))?;
    let client = RegistryClient::new(super::pin::client_options(settings, args.jobs))
        .map_err(|e| miette::miette!("{e}"))?;
    let cache = args.cache.open()?;
    let verifier = Verifier {
        policies: &policies,
        client: &client,
        cache: cache.as_ref(),
        known: None,
    };
    let pinned = |row: &ImageRow| {
        let reference = format!("{}@{}", row.normalized.as_ref()?, row.digest.as_ref()?);
        ImageRef::parse(&reference).ok()
    };
    let references: Vec<ImageRef> = rows.iter().filter_map(pinned).collect();
    let facts = verifier.verify_all(&references, args.jobs.saturating_mul(4));
    for row in rows.iter_mut() {
        let Some(reference) = pinned(row) else {
            continue;
        };
        let verdicts = facts.get(&reference.to_string()).map(Vec::as_slice);
        row.signature = Some(signers(verdicts.unwrap_or(&[])));
    }
    if let Some(cache) = &cache {
        cache.save().map_err(|e| miette::miette!("{e}"))?;
    }
    Ok(())
}

/// `signed by KEY` for each entry that verified, else what was found, one clause per entry.
fn signers(verdicts: &[EntryVerdict]) -> String {
    if verdicts.is_empty() {
        return "no signatures entry covers it".to_string();
    }
    let clauses: Vec<String> = verdicts
        .iter()
        .map(|v| match &v.verdict {
            Verdict::Verified { key } => format!("signed by {key}"),
            other => format!("unsigned: {}", other.describe()),
        })
        .collect();
    clauses.join("; ")
}

/// Normalized name, tag, digest and status of an image value.
fn describe(
    parsed: &ParsedImage,
) -> (Option<String>, Option<String>, Option<String>, &'static str) {
    match parsed {
        ParsedImage::Ref(r) => (
            Some(r.name()),
            r.tag().map(str::to_string),
            r.digest().map(|d| d.to_string()),
            match (r.digest(), r.tag()) {
                (Some(_), _) => "pinned",
                (None, Some(_)) => "tagged",
                (None, None) => "untagged",
            },
        ),
        ParsedImage::Templated => (None, None, None, "templated"),
        ParsedImage::Invalid(_) => (None, None, None, "invalid"),
    }
}

/// One row per image a build writes outside the files checked on their own: an inline
/// Kustomize patch's (at its line in the kustomization), a `helmCharts` chart's (at its
/// template line, or its entry).
fn built_rows(
    sites: &[(PathBuf, crate::source::Span, crate::builds::BuiltImage)],
    names: &DisplayNames,
    field: &str,
) -> Vec<ImageRow> {
    let mut rows = Vec::new();
    for (path, span, built) in sites {
        let Ok(text) = crate::files::read_text(path) else {
            continue;
        };
        let source = crate::source::SourceFile::new(names.get(path), text);
        rows.push(built_row(&source, *span, built, field));
    }
    rows
}

/// One row per Kustomize `images:` entry that sets an image in a build, at the entry.
fn overlay_rows(scope: &PinScope, names: &DisplayNames) -> Vec<ImageRow> {
    let mut rows = Vec::new();
    for (path, entries) in &scope.entries {
        let Ok(text) = crate::files::read_text(path) else {
            continue;
        };
        let source = crate::source::SourceFile::new(names.get(path), text);
        for (span, built) in entries {
            if let Some(built) = built {
                rows.push(built_row(&source, *span, built, "kustomize images"));
            }
        }
    }
    rows
}

/// The row of an image a build sets, at `span` of the kustomization file `source`.
fn built_row(
    source: &crate::source::SourceFile,
    span: crate::source::Span,
    built: &crate::builds::BuiltImage,
    field: &str,
) -> ImageRow {
    let position = source.position(span.start);
    let (normalized, tag, digest, status) = describe(&built.parsed);
    ImageRow {
        path: source.name.clone(),
        line: position.line,
        column: position.column,
        kind: built.subject.kind.clone(),
        name: built.subject.name.clone(),
        namespace: built.subject.namespace.clone(),
        container: built.subject.container.clone(),
        field: field.to_string(),
        image: built.text.clone(),
        normalized,
        tag,
        digest,
        status,
        signature: None,
    }
}
