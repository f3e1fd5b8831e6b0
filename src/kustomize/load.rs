//! Reading kustomizations and their resources from disk, with kustomize's load restrictor
//! (a resource file must lie in or below its kustomization's folder) and cycle detection.

use std::path::{Path, PathBuf};

use super::resource::Resource;
use super::{KustomizeError, NotBuilt, transform};
use crate::source::{SourceFile, SourceMap, Span};
use crate::yaml::{Limits, Node, load_stream};

pub const KUSTOMIZATION_FILE_NAMES: [&str; 3] =
    ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// The kustomization file of a folder, if it has one.
pub fn find_kustomization(dir: &Path) -> Option<PathBuf> {
    KUSTOMIZATION_FILE_NAMES
        .iter()
        .map(|name| dir.join(name))
        .find(|path| path.is_file())
}

/// A loaded kustomization file.
pub struct Kustomization {
    pub dir: PathBuf,
    pub node: Node,
}

impl Kustomization {
    /// The string items of a list field, with their spans.
    pub fn strings(&self, field: &str) -> Vec<(String, Span)> {
        self.node
            .list(field)
            .iter()
            .filter_map(|item| item.as_str().map(|text| (text.to_string(), item.span)))
            .collect()
    }
}

#[derive(Default)]
pub struct Builder {
    pub sources: SourceMap,
    pub not_built: Vec<NotBuilt>,
    /// Inline patch text in `sources`, with where it is written in its kustomization.
    pub inline_patches: Vec<super::InlinePatch>,
    /// Canonical folders of the kustomizations being built, outermost first.
    stack: Vec<PathBuf>,
}

impl Builder {
    /// Builds a kustomization (not a component) into its resources.
    pub fn build_target(&mut self, dir: &Path) -> Result<Vec<Resource>, KustomizeError> {
        let canonical = resolve(dir)
            .map_err(|e| KustomizeError::new(format!("cannot read {}: {e}", dir.display())))?;
        if self.stack.contains(&canonical) {
            let chain: Vec<String> = self.stack.iter().map(|p| p.display().to_string()).collect();
            return Err(KustomizeError::new(format!(
                "cycle of kustomizations: {} -> {}",
                chain.join(" -> "),
                canonical.display()
            )));
        }
        self.stack.push(canonical.clone());
        let result = self.build_in(&canonical);
        self.stack.pop();
        result
    }

    fn build_in(&mut self, dir: &Path) -> Result<Vec<Resource>, KustomizeError> {
        let kustomization = self.load_kustomization(dir)?;
        let mut resources = Vec::new();
        self.add_resources(&kustomization, &mut resources)?;
        refuse_duplicates(&resources, dir)?;
        super::generate::run(&kustomization, &mut resources, self)?;
        for (path, span) in kustomization.strings("components") {
            self.apply_component(&dir.join(&path), span, &mut resources)?;
        }
        transform::apply(&kustomization, &mut resources, self)?;
        Ok(resources)
    }

    /// A component adds its resources to the parent's, then runs its transformers on all of
    /// them.
    fn apply_component(
        &mut self,
        dir: &Path,
        span: Span,
        resources: &mut Vec<Resource>,
    ) -> Result<(), KustomizeError> {
        let canonical = resolve(dir).map_err(|e| {
            KustomizeError::at(
                format!("cannot read component {}: {e}", dir.display()),
                span,
            )
        })?;
        let component = self.load_kustomization(&canonical)?;
        self.add_resources(&component, resources)?;
        for (path, span) in component.strings("components") {
            self.apply_component(&canonical.join(&path), span, resources)?;
        }
        transform::apply(&component, resources, self)
    }

    fn load_kustomization(&mut self, dir: &Path) -> Result<Kustomization, KustomizeError> {
        let file = find_kustomization(dir).ok_or_else(|| {
            KustomizeError::new(format!(
                "{} has no kustomization.yaml, kustomization.yml or Kustomization",
                dir.display()
            ))
        })?;
        let mut documents = self.load_file(&file)?;
        let node = documents
            .drain(..)
            .next()
            .unwrap_or_else(|| Node::mapping(Vec::new(), Span::default()));
        for (field, what) in [
            ("helmCharts", "Helm charts"),
            ("helmChartInflationGenerator", "Helm charts"),
        ] {
            if let Some(value) = node.get(field) {
                self.not_built.push(NotBuilt {
                    span: value.span,
                    reason: format!("{what} are not rendered by pinnace's Kustomize build"),
                });
            }
        }
        Ok(Kustomization {
            dir: dir.to_path_buf(),
            node,
        })
    }

    fn add_resources(
        &mut self,
        kustomization: &Kustomization,
        resources: &mut Vec<Resource>,
    ) -> Result<(), KustomizeError> {
        let entries = kustomization
            .strings("resources")
            .into_iter()
            .chain(kustomization.strings("bases"));
        for (entry, span) in entries {
            if is_remote(&entry) {
                self.not_built.push(NotBuilt {
                    span,
                    reason: format!("remote resource `{entry}` is never fetched"),
                });
                continue;
            }
            let path = kustomization.dir.join(&entry);
            let (canonical, metadata) = resolve_with_metadata(&path).map_err(|e| {
                KustomizeError::at(format!("resource `{entry}` cannot be read: {e}"), span)
            })?;
            if metadata.is_dir() {
                resources.extend(self.build_target(&canonical).map_err(|mut error| {
                    error.span = error.span.or(Some(span));
                    error
                })?);
                continue;
            }
            if !canonical.starts_with(&kustomization.dir) {
                return Err(KustomizeError::at(
                    format!(
                        "resource `{entry}` is outside {}: kustomize's load restrictor refuses files outside the kustomization's folder",
                        kustomization.dir.display()
                    ),
                    span,
                ));
            }
            for document in self.load_file(&canonical)? {
                add_document(document, resources);
            }
        }
        Ok(())
    }

    /// Patch text written inline in a kustomization, read as its own source.
    pub fn load_inline(
        &mut self,
        k: &Kustomization,
        text: &str,
        span: Span,
    ) -> Result<Vec<Node>, KustomizeError> {
        let stream = load_stream(text, Limits::default());
        let name = format!("{}{}", k.dir.display(), super::INLINE_SUFFIX);
        let written = self.sources.lookup(span).and_then(|(file, local)| {
            let file_base = span.start - local.start;
            let lines = super::inline_lines(&file.text, local, text)?;
            Some(lines.into_iter().map(|(t, f)| (t, f + file_base)).collect())
        });
        let base = self.sources.add(SourceFile::new(name, text.to_string()));
        self.inline_patches.push(super::InlinePatch {
            start: base,
            end: base + text.len() as u32,
            lines: written.unwrap_or_default(),
            entry: span,
        });
        if let Some(error) = stream.error {
            return Err(KustomizeError::at(
                format!("invalid inline patch: {}", error.message),
                span,
            ));
        }
        let mut documents = stream.documents;
        documents.iter_mut().for_each(|d| d.shift(base));
        Ok(documents.into_iter().filter(|d| !d.is_null()).collect())
    }

    /// A patch file, which like any file must lie in or below the kustomization's folder.
    pub fn load_patch_file(
        &mut self,
        k: &Kustomization,
        path: &str,
        span: Span,
    ) -> Result<Vec<Node>, KustomizeError> {
        let file = file_in_root(k, path, span)?;
        self.load_file(&file)
    }

    /// The bytes of a file a generator names, under the same load restrictor.
    pub fn read_bytes(
        &mut self,
        k: &Kustomization,
        path: &str,
        span: Span,
    ) -> Result<Vec<u8>, KustomizeError> {
        let file = file_in_root(k, path, span)?;
        std::fs::read(&file)
            .map_err(|e| KustomizeError::at(format!("`{path}` cannot be read: {e}"), span))
    }

    /// Reads a YAML file into the build's source map.
    pub fn load_file(&mut self, path: &Path) -> Result<Vec<Node>, KustomizeError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| KustomizeError::new(format!("cannot read {}: {e}", path.display())))?;
        let stream = load_stream(&text, Limits::default());
        let base = self
            .sources
            .add(SourceFile::new(path.display().to_string(), text));
        if let Some(error) = stream.error {
            let span = Span::new(
                (base + error.offset) as usize,
                (base + error.offset) as usize,
            );
            return Err(KustomizeError::at(
                format!("invalid YAML: {}", error.message),
                span,
            ));
        }
        let mut documents = stream.documents;
        for document in &mut documents {
            document.shift(base);
        }
        Ok(documents.into_iter().filter(|d| !d.is_null()).collect())
    }
}

/// Kustomize refuses two resources with the same group, kind, namespace and name (a base
/// reached twice through a diamond of overlays, say).
fn refuse_duplicates(resources: &[Resource], dir: &Path) -> Result<(), KustomizeError> {
    let mut seen = std::collections::HashSet::new();
    for resource in resources {
        let id = (
            resource.group(),
            resource.kind(),
            resource.namespace(),
            resource.name(),
        );
        if !seen.insert(id) {
            return Err(KustomizeError::at(
                format!(
                    "{} `{}` is added twice while building {} (kustomize: already registered id)",
                    resource.kind(),
                    resource.name(),
                    dir.display()
                ),
                resource.node.span,
            ));
        }
    }
    Ok(())
}

/// A file a kustomization names, refused (as kustomize's load restrictor refuses it) when it
/// lies outside the kustomization's folder.
fn file_in_root(k: &Kustomization, path: &str, span: Span) -> Result<PathBuf, KustomizeError> {
    let file = resolve(&k.dir.join(path))
        .map_err(|e| KustomizeError::at(format!("`{path}` cannot be read: {e}"), span))?;
    if !file.starts_with(&k.dir) {
        return Err(KustomizeError::at(
            format!(
                "`{path}` is outside {}: kustomize's load restrictor refuses it",
                k.dir.display()
            ),
            span,
        ));
    }
    Ok(file)
}

/// `path` with `.` and `..` resolved by their names, if it exists. The tree is walked from a
/// canonical top folder without resolving symlinks at every step: `realpath` costs a system
/// call per path component, for every resource of every build.
pub fn resolve(path: &Path) -> std::io::Result<PathBuf> {
    resolve_with_metadata(path).map(|(path, _)| path)
}

/// [`resolve`], with the file's metadata (saving a second system call to ask if it is a folder).
pub fn resolve_with_metadata(path: &Path) -> std::io::Result<(PathBuf, std::fs::Metadata)> {
    let mut normal = PathBuf::new();
    for component in path.components() {
        match component {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                normal.pop();
            }
            other => normal.push(other),
        }
    }
    let metadata = std::fs::metadata(&normal)?;
    Ok((normal, metadata))
}

/// A document is a resource, or a `kind: List` of them.
fn add_document(document: Node, resources: &mut Vec<Resource>) {
    if document.get("kind").and_then(Node::as_str) == Some("List") {
        if let Some(items) = document.get("items").and_then(Node::as_sequence) {
            resources.extend(items.iter().cloned().map(Resource::new));
        }
        return;
    }
    resources.push(Resource::new(document));
}

/// Git and HTTP resources, in the forms kustomize accepts.
fn is_remote(entry: &str) -> bool {
    entry.contains("://")
        || entry.starts_with("github.com/")
        || entry.starts_with("gitlab.com/")
        || entry.starts_with("bitbucket.org/")
        || entry.starts_with("git@")
        || entry.contains("?ref=")
}
