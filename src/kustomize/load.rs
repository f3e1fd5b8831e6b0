//! Reading kustomizations and their resources from disk, with kustomize's load restrictor
//! (a resource file must lie in or below its kustomization's folder) and cycle detection.

use std::path::{Path, PathBuf};

use super::resource::Resource;
use super::validate::Role;
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
    /// Offsets of inline patch text in `sources`, with the kustomization entry it came from.
    pub inline_patches: Vec<(u32, u32, Span)>,
    /// Canonical folders of the kustomizations being built, outermost first.
    stack: Vec<PathBuf>,
    /// The `configurations` of the kustomization being built, with its bases' (see
    /// `configurations`).
    pub config: super::configurations::TransformerConfig,
    /// Every var declared so far (see `vars`).
    pub vars: Vec<super::vars::Var>,
    /// What `buildMetadata` asks to record (see `build_metadata`).
    pub metadata: super::build_metadata::Tracker,
    /// The root kustomization's `sortOptions`.
    pub sort_options: Option<Node>,
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
        // A base starts from no configuration; what it collects joins its parent's.
        let parent_config = std::mem::take(&mut self.config);
        let result = self.build_in(&canonical);
        let own_config = std::mem::replace(&mut self.config, parent_config);
        self.config.merge(own_config);
        self.stack.pop();
        result
    }

    fn build_in(&mut self, dir: &Path) -> Result<Vec<Resource>, KustomizeError> {
        let is_root = self.stack.len() == 1;
        let role = if is_root {
            Role::Root
        } else {
            Role::Kustomization
        };
        let kustomization = self.load_kustomization(dir, role)?;
        if is_root {
            self.sort_options = kustomization.node.get("sortOptions").cloned();
        }
        let mut resources = Vec::new();
        self.add_resources(&kustomization, &mut resources)?;
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
        let component = self.load_kustomization(&canonical, Role::Component)?;
        self.add_resources(&component, resources)?;
        super::generate::run(&component, resources, self)?;
        for (path, span) in component.strings("components") {
            self.apply_component(&canonical.join(&path), span, resources)?;
        }
        transform::apply(&component, resources, self)
    }

    fn load_kustomization(
        &mut self,
        dir: &Path,
        role: Role,
    ) -> Result<Kustomization, KustomizeError> {
        let file = find_kustomization(dir).ok_or_else(|| {
            KustomizeError::new(format!(
                "{} has no kustomization.yaml, kustomization.yml or Kustomization",
                dir.display()
            ))
        })?;
        let start = self.sources.next_offset();
        let mut documents = self.load_file(&file)?;
        let file_span = Span::new(start as usize, start as usize);
        let mut node = documents
            .drain(..)
            .next()
            .unwrap_or_else(|| Node::scalar("", file_span));
        super::field_names::canonicalize(&mut node);
        super::validate::check(&node, role, &dir.display().to_string(), file_span)?;
        self.metadata.read_top(&node, dir);
        // `helmCharts` are inflated by `helm_charts`; the legacy field is not.
        for (field, what) in [("helmChartInflationGenerator", "Helm charts")] {
            if let Some(value) = node.get(field) {
                self.not_built.push(NotBuilt {
                    span: value.span,
                    reason: format!("{what} are not rendered by pinnace's Kustomize build"),
                });
            }
        }
        let kustomization = Kustomization {
            dir: dir.to_path_buf(),
            node,
        };
        // Before its resources are built, as kustomize sets the schema (the first one wins).
        super::openapi::read(&kustomization, self)?;
        Ok(kustomization)
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
                let Some(dir) = self.remote_checkout(&entry, span)? else {
                    continue;
                };
                let built = self.build_target(&dir).map_err(|mut error| {
                    error.span = error.span.or(Some(span));
                    error
                })?;
                for resource in built {
                    append(resource, resources)?;
                }
                continue;
            }
            let path = kustomization.dir.join(&entry);
            let (canonical, metadata) = resolve_with_metadata(&path).map_err(|e| {
                KustomizeError::at(format!("resource `{entry}` cannot be read: {e}"), span)
            })?;
            if metadata.is_dir() {
                let built = self.build_target(&canonical).map_err(|mut error| {
                    error.span = error.span.or(Some(span));
                    error
                })?;
                for resource in built {
                    append(resource, resources)?;
                }
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
                add_document(document, resources)?;
            }
        }
        Ok(())
    }

    /// The cached checkout of a remote base (see `remote`), or `None` (recorded as not
    /// built) when it was not fetched.
    fn remote_checkout(
        &mut self,
        entry: &str,
        span: Span,
    ) -> Result<Option<PathBuf>, KustomizeError> {
        let shown = super::remote::redact(entry);
        let Some(base) = super::remote::parse(entry) else {
            self.not_built.push(NotBuilt {
                span,
                reason: format!("remote resource `{shown}` is never fetched"),
            });
            return Ok(None);
        };
        match super::remote::locate(&base) {
            Ok(Some(dir)) => Ok(Some(dir)),
            Ok(None) => {
                self.not_built.push(NotBuilt {
                    span,
                    reason: format!(
                        "remote resource `{shown}` is not fetched (run `pinnace build --fetch` or `pinnace check --fetch-remote` to fetch it once into the cache)"
                    ),
                });
                Ok(None)
            }
            Err(message) => Err(KustomizeError::at(
                format!("remote resource `{shown}`: {message}"),
                span,
            )),
        }
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
        let base = self.sources.add(SourceFile::new(name, text.to_string()));
        let end = base.saturating_add(u32::try_from(text.len()).unwrap_or(u32::MAX));
        self.inline_patches.push((base, end, span));
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

/// Adds a resource, refused (as kustomize refuses it) when one with the same current id is
/// already there: a base reached twice through a diamond of overlays, say.
pub fn append(resource: Resource, resources: &mut Vec<Resource>) -> Result<(), KustomizeError> {
    let id = resource.current_id();
    if resources.iter().any(|r| r.current_id().equals(&id)) {
        return Err(KustomizeError::at(
            format!(
                "{} `{}` is added twice (kustomize: may not add resource with an already registered id: {})",
                id.kind,
                id.name,
                id.describe()
            ),
            resource.node.span,
        ));
    }
    resources.push(resource);
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
fn add_document(document: Node, resources: &mut Vec<Resource>) -> Result<(), KustomizeError> {
    if document.get("kind").and_then(Node::as_str) == Some("List") {
        for item in document.list("items") {
            append(Resource::read(item.clone()), resources)?;
        }
        return Ok(());
    }
    append(Resource::read(document), resources)
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
