//! Kustomize, built in-process: a kustomization's resources, components and transformers,
//! applied in the order `kustomize build` applies them, with every node keeping the span of
//! the file (or kustomization entry) it came from.
//!
//! Supported so far: `resources` (files, folders, nested kustomizations, `kind: List`),
//! `bases`, `components`, `namespace`, `namePrefix`/`nameSuffix` with name references,
//! `commonLabels`, `labels`, `commonAnnotations`, `images`, `replicas`. Remote bases and
//! `helmCharts` are reported as not built. See `testdata/kustomize/` for what is proven
//! against `kubectl kustomize`.

mod emit;
mod fieldspec;
mod generate;
mod load;
mod order;
mod resource;
mod transform;
mod validate;

pub use emit::emit_yaml;
pub use load::{KUSTOMIZATION_FILE_NAMES, find_kustomization};
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
    /// kustomization entry that holds the patch.
    inline_patches: Vec<(u32, u32, Span)>,
}

impl Build {
    /// The file and file-local span a build span stands for: inline patch text maps to its
    /// `patches:` entry in the kustomization file.
    pub fn locate(&self, span: Span) -> Option<(&crate::source::SourceFile, Span)> {
        let span = self
            .inline_patches
            .iter()
            .find(|(start, end, _)| (*start..=*end).contains(&span.start))
            .map_or(span, |(_, _, entry)| *entry);
        self.sources.lookup(span)
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
        .filter_map(|entry| load::resolve_in(&dir, entry).ok())
        .filter(|(path, metadata)| metadata.is_dir() && find_kustomization(path).is_some())
        .map(|(path, _)| path)
        .collect()
}

/// Builds the kustomization in `dir`, as `kubectl kustomize dir` would.
pub fn build(dir: &Path) -> Result<Build, KustomizeError> {
    let mut builder = load::Builder::default();
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
    order::sort(&mut resources, builder.sort_options.as_ref());
    resources.iter_mut().for_each(Resource::finish_annotations);
    Ok(Build {
        resources,
        sources: builder.sources,
        not_built: builder.not_built,
        inline_patches: builder.inline_patches,
    })
}
