//! Kustomize, built in-process: a kustomization's resources, components and transformers,
//! applied in the order `kustomize build` applies them, with every node keeping the span of
//! the file (or kustomization entry) it came from.
//!
//! Supported so far: `resources` (files, folders, nested kustomizations, `kind: List`),
//! `bases`, `components`, `namespace`, `namePrefix`/`nameSuffix` with name references,
//! `commonLabels`, `labels`, `commonAnnotations`, `images`, `replicas`, patches, generators,
//! `replacements`, `vars`, `configurations`, `crds`, builtin plugin configs in `transformers` and
//! `generators`, `buildMetadata`, `helmCharts` (rendered by the invoker's helm), remote bases
//! and HTTP files (from the cache, fetched only when the invoker asks).
//! See `testdata/kustomize/` for what is proven
//! against `kubectl kustomize`.

mod build_metadata;
mod configurations;
mod crds;
mod emit;
mod field_names;
mod fieldspec;
mod generate;
mod helm_charts;
mod http_file;
mod kustomization;
mod local_config;
mod openapi;
mod order;
mod plugins;
mod remote;
mod resource;
mod transform;
mod validate;
mod vars;

pub use emit::emit_yaml;
pub use helm_charts::{HelmRunner, runner_for, runner_on_path};
pub use kustomization::{KUSTOMIZATION_FILE_NAMES, find_kustomization};
pub use resource::Resource;

use std::path::Path;

use crate::source::{SourceMap, Span};

/// The result of building one kustomization root.
#[derive(Debug)]
pub struct Build {
    pub resources: Vec<Resource>,
    /// Every file the build read; spans in `resources` point into it.
    pub sources: SourceMap,
    /// Entries pinnace does not build (remote bases, Helm charts), with where they are.
    pub not_built: Vec<NotBuilt>,
    /// Inline patches are sources of their own; a span in one belongs, for a person, to the
    /// lines of the kustomization that write the patch.
    inline_patches: Vec<InlinePatch>,
    /// Rendered `helmCharts` output; a span in it belongs to the template line that wrote
    /// it, where that is certain, else to the `helmCharts` entry.
    charts: Vec<RenderedChart>,
}

/// The output of one `helmCharts` render, as a source of the build, and the templates its
/// documents name (their `# Source:` comments), read into the build's sources too.
#[derive(Debug, Clone)]
pub struct RenderedChart {
    /// The rendered source's offsets in the build.
    pub start: u32,
    pub end: u32,
    /// Where each document starts (offset in the rendered text), and the build offset of
    /// the template that wrote it, when it is a file of the chart.
    pub documents: Vec<(u32, Option<u32>)>,
    /// The `helmCharts` entry.
    pub entry: Span,
}

impl RenderedChart {
    /// The build span, in a template, of the line that rendered `span` (`None`: not certain).
    fn in_template(&self, sources: &SourceMap, span: Span) -> Option<Span> {
        let (rendered, local) = sources.lookup(span)?;
        let index = self
            .documents
            .partition_point(|(start, _)| *start <= local.start)
            .checked_sub(1)?;
        let (document, template) = self.documents[index];
        let template = template?;
        let (file, _) = sources.lookup(Span::new(template as usize, template as usize))?;
        let found = crate::helm::locate_in_template(rendered, document, local, &file.text)?;
        Some(Span::new(
            (template + found.start) as usize,
            (template + found.end) as usize,
        ))
    }

    /// Where a build span in the rendered output lands for a person.
    fn map(&self, sources: &SourceMap, span: Span) -> Span {
        self.in_template(sources, span).unwrap_or(self.entry)
    }
}

/// Inline patch text, read as a source of its own, and where it is written.
#[derive(Debug, Clone)]
pub struct InlinePatch {
    /// The patch source's offsets in the build.
    pub start: u32,
    pub end: u32,
    /// For each line of the patch text: its offset in the text, and the build offset where
    /// the kustomization writes it (a literal block: the same line, indented). Empty when the
    /// lines cannot be told (a quoted or folded string).
    pub lines: Vec<(u32, u32)>,
    /// The `patches:` entry, where a span lands when its line cannot be told.
    pub entry: Span,
}

impl InlinePatch {
    /// A span of the patch source, in the kustomization file.
    fn map(&self, span: Span) -> Span {
        let offset = |at: u32| {
            let local = at.checked_sub(self.start)?;
            let index = self
                .lines
                .partition_point(|(text, _)| *text <= local)
                .checked_sub(1)?;
            let (text, written) = self.lines[index];
            Some(written + (local - text))
        };
        match (offset(span.start), offset(span.end)) {
            (Some(start), Some(end)) if end >= start => Span { start, end },
            _ => self.entry,
        }
    }
}

/// Where each line of inline patch `text` is written inside `range` of a kustomization's
/// text: the lines of a literal block scalar, each indented alike. `None` when no run of
/// lines there reads as the text.
pub(crate) fn inline_lines(file: &str, range: Span, text: &str) -> Option<Vec<(u32, u32)>> {
    let region = file.get(range.range())?;
    let mut file_lines = Vec::new();
    let mut offset = range.start as usize;
    for line in region.split_inclusive('\n') {
        file_lines.push((offset, line.trim_end_matches(['\n', '\r'])));
        offset += line.len();
    }
    let mut text_lines = Vec::new();
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        text_lines.push((at, line.trim_end_matches('\n')));
        at += line.len();
    }
    let first = text_lines
        .iter()
        .position(|(_, line)| !line.trim().is_empty())?;
    let wanted = text_lines[first].1;
    (first..file_lines.len()).find_map(|candidate| {
        let written = file_lines[candidate].1;
        let indent = written.strip_suffix(wanted)?;
        if !indent.bytes().all(|b| b == b' ') {
            return None;
        }
        let top = candidate - first;
        text_lines
            .iter()
            .enumerate()
            .map(|(index, (text_at, line))| {
                let (file_at, written) = *file_lines.get(top + index)?;
                let same = if line.is_empty() {
                    written.trim().is_empty()
                } else {
                    written.strip_prefix(indent) == Some(*line)
                };
                let column = indent.len().min(written.len());
                same.then_some((*text_at as u32, (file_at + column) as u32))
            })
            .collect()
    })
}

impl Build {
    /// The file and file-local span a build span stands for: inline patch text maps to its
    /// own line in the kustomization file (or to its `patches:` entry when lines cannot be
    /// told), never to the patch source, which is no file.
    pub fn locate(&self, span: Span) -> Option<(&crate::source::SourceFile, Span)> {
        if let Some(chart) = self
            .charts
            .iter()
            .find(|chart| (chart.start..chart.end).contains(&span.start))
        {
            return self.sources.lookup(chart.map(&self.sources, span));
        }
        let span = self
            .inline_patches
            .iter()
            .find(|patch| (patch.start..=patch.end).contains(&span.start))
            .map_or(span, |patch| patch.map(span));
        self.sources.lookup(span)
    }

    /// Whether a build span lies in the output of a `helmCharts` render.
    pub fn is_rendered(&self, span: Span) -> bool {
        self.charts
            .iter()
            .any(|chart| (chart.start..chart.end).contains(&span.start))
    }

    /// Every file the build read (kustomizations, resources, patches, generator inputs are
    /// read but not kept as sources).
    pub fn files(&self) -> impl Iterator<Item = &str> {
        self.sources
            .files()
            .map(|file| file.name.as_str())
            .filter(|name| !name.ends_with(INLINE_SUFFIX))
    }
}

/// How inline patch sources are named.
pub const INLINE_SUFFIX: &str = " (inline patch)";

#[derive(Debug, Clone)]
pub struct NotBuilt {
    pub span: Span,
    pub reason: String,
}

/// Why a kustomization could not be built, and where (a span in the build's sources, when
/// the problem is in a file).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct KustomizeError {
    pub message: String,
    pub span: Option<Span>,
    /// The files read so far, which `span` points into.
    pub sources: Option<std::sync::Arc<SourceMap>>,
}

impl KustomizeError {
    fn new(message: impl Into<String>) -> KustomizeError {
        KustomizeError {
            message: message.into(),
            span: None,
            sources: None,
        }
    }

    fn at(message: impl Into<String>, span: Span) -> KustomizeError {
        KustomizeError {
            message: message.into(),
            span: Some(span),
            sources: None,
        }
    }
}

/// The kustomization folders that the kustomization in `dir` names in `resources`, `bases`
/// and `components` (canonical paths). Unreadable entries are left out: the build reports them.
pub fn referenced_folders(dir: &Path) -> Vec<std::path::PathBuf> {
    let Some(file) = find_kustomization(dir) else {
        return Vec::new();
    };
    let Ok(text) = crate::files::read_text(&file) else {
        return Vec::new();
    };
    let Ok(dir) = std::fs::canonicalize(dir) else {
        return Vec::new();
    };
    let stream = crate::yaml::load_stream(&text, crate::yaml::Limits::default());
    let Some(root) = stream.documents.first() else {
        return Vec::new();
    };
    ["resources", "bases", "components"]
        .iter()
        .flat_map(|field| root.list(field))
        .filter_map(|entry| entry.as_str())
        .filter_map(|entry| kustomization::resolve_in(&dir, entry).ok())
        .filter(|(path, metadata)| metadata.is_dir() && find_kustomization(path).is_some())
        .map(|(path, _)| path)
        .collect()
}

/// What a build may use beyond the tree, as the invoker chose it (never the tree): the helm
/// program that renders `helmCharts`, and whether remote resources may be fetched into the
/// cache. The default uses neither: charts and uncached remote resources are not built.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    pub helm: Option<HelmRunner>,
    pub fetch: bool,
}

impl BuildOptions {
    /// The options the invoker's settings give: their helm program, and
    /// `kustomize.fetch_remote` (which only the invoker's side may set).
    pub fn for_settings(settings: &crate::config::Settings) -> BuildOptions {
        BuildOptions {
            helm: runner_for(settings),
            fetch: settings.config.kustomize.fetch_remote == Some(true),
        }
    }
}

/// Builds the kustomization in `dir`, as `kubectl kustomize dir` would.
pub fn build(dir: &Path, options: &BuildOptions) -> Result<Build, KustomizeError> {
    openapi::reset();
    let result = build_root(dir, options);
    openapi::reset();
    result
}

fn build_root(dir: &Path, options: &BuildOptions) -> Result<Build, KustomizeError> {
    let mut builder = kustomization::Builder::new(options.clone());
    let dir = std::fs::canonicalize(dir)
        .map_err(|e| KustomizeError::new(format!("cannot read {}: {e}", dir.display())))?;
    let mut resources = match builder.build_target(&dir) {
        Ok(resources) => resources,
        Err(mut error) => {
            error.sources = Some(std::sync::Arc::new(builder.sources));
            return Err(error);
        }
    };
    generate::add_hash_suffixes(&mut resources);
    if let Err(mut error) = transform::fix_name_references(&mut resources) {
        error.sources = Some(std::sync::Arc::new(builder.sources));
        return Err(error);
    }
    configurations::fix_name_references(&mut resources, &builder.config);
    if let Err(mut error) = vars::resolve(&builder.vars, &mut resources, &builder.config) {
        error.sources = Some(std::sync::Arc::new(builder.sources));
        return Err(error);
    }
    local_config::drop_local(&mut resources);
    builder
        .metadata
        .finish(&mut resources, &builder.sources, &builder.inline_patches);
    order::sort(&mut resources, builder.sort_options.as_ref());
    resources.iter_mut().for_each(Resource::finish_annotations);
    Ok(Build {
        resources,
        sources: builder.sources,
        not_built: builder.not_built,
        inline_patches: builder.inline_patches,
        charts: builder.charts,
    })
}
