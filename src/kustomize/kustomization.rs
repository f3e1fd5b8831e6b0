//! Reading kustomizations and their resources from disk, with kustomize's load restrictor
//! (a resource file must lie in or below its kustomization's folder, symlinks resolved),
//! cycle detection (of kustomizations and of components) and a bound on nesting.

use std::path::{Path, PathBuf};

use super::resource::Resource;
use super::validate::Role;
use super::{KustomizeError, NotBuilt, transform};
use crate::source::{SourceFile, SourceMap, Span};
use crate::yaml::{Limits, Node, load_stream};

/// Deepest nesting of kustomizations and components one build follows. Real repositories
/// nest a handful; a repository written to exhaust the stack nests thousands.
pub const MAX_NESTING: usize = 64;

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
    /// Rendered `helmCharts` output in `sources` (see `helm_charts`).
    pub charts: Vec<super::RenderedChart>,
    /// Canonical folders of the kustomizations and components being built, outermost first.
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
    /// What the invoker lets the build use beyond the tree.
    pub options: super::BuildOptions,
}

impl Builder {
    pub fn new(options: super::BuildOptions) -> Builder {
        Builder {
            options,
            ..Default::default()
        }
    }

    /// Builds a kustomization (not a component) into its resources.
    pub fn build_target(&mut self, dir: &Path) -> Result<Vec<Resource>, KustomizeError> {
        let canonical = resolve(dir)
            .map_err(|e| KustomizeError::new(format!("cannot read {}: {e}", dir.display())))?;
        self.enter(&canonical, "kustomizations")?;
        // A base starts from no configuration; what it collects joins its parent's.
        let parent_config = std::mem::take(&mut self.config);
        let result = self.build_in(&canonical);
        let own_config = std::mem::replace(&mut self.config, parent_config);
        self.config.merge(own_config);
        self.stack.pop();
        result
    }

    /// Refuses a folder already being built (kustomize: "cycle detected") and nesting past
    /// [`MAX_NESTING`]; otherwise pushes it.
    fn enter(&mut self, canonical: &Path, what: &str) -> Result<(), KustomizeError> {
        if self.stack.iter().any(|dir| dir == canonical) {
            let chain: Vec<String> = self.stack.iter().map(|p| p.display().to_string()).collect();
            return Err(KustomizeError::new(format!(
                "cycle of {what}: {} -> {} (kustomize: cycle detected: candidate root '{}' contains visited root)",
                chain.join(" -> "),
                canonical.display(),
                canonical.display(),
            )));
        }
        if self.stack.len() >= MAX_NESTING {
            return Err(KustomizeError::new(format!(
                "{} is nested {} kustomizations deep, past pinnace's limit of {MAX_NESTING}",
                canonical.display(),
                self.stack.len() + 1
            )));
        }
        self.stack.push(canonical.to_path_buf());
        Ok(())
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
            self.apply_component(dir, &path, span, &mut resources)?;
        }
        transform::apply(&kustomization, &mut resources, self)?;
        Ok(resources)
    }

    /// A component adds its resources to the parent's, then runs its transformers on all of
    /// them.
    fn apply_component(
        &mut self,
        parent: &Path,
        entry: &str,
        span: Span,
        resources: &mut Vec<Resource>,
    ) -> Result<(), KustomizeError> {
        let canonical = resolve_in(parent, entry)
            .map_err(|e| KustomizeError::at(format!("cannot read component `{entry}`: {e}"), span))?
            .0;
        self.enter(&canonical, "components").map_err(|mut error| {
            error.span = Some(span);
            error
        })?;
        let result = self.apply_component_in(&canonical, resources);
        self.stack.pop();
        result
    }

    fn apply_component_in(
        &mut self,
        canonical: &Path,
        resources: &mut Vec<Resource>,
    ) -> Result<(), KustomizeError> {
        let component = self.load_kustomization(canonical, Role::Component)?;
        self.add_resources(&component, resources)?;
        super::generate::run(&component, resources, self)?;
        for (path, span) in component.strings("components") {
            self.apply_component(canonical, &path, span, resources)?;
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
        // Like kustomize, a kustomization file that resolves outside its folder is none.
        let name = file.file_name().map(|n| n.to_string_lossy().into_owned());
        let inside = name
            .and_then(|name| resolve_in(dir, &name).ok())
            .is_some_and(|(real, _)| real.starts_with(dir));
        if !inside {
            return Err(KustomizeError::new(format!(
                "{} is a symlink out of {}: kustomize finds no kustomization there",
                file.display(),
                dir.display()
            )));
        }
        let start = self.sources.next_offset();
        let mut documents = self.load_file(&file)?;
        let file_span = Span::new(start as usize, start as usize);
        let mut node = documents
            .drain(..)
            .next()
            .unwrap_or_else(|| Node::scalar("", file_span));
        super::field_names::canonicalize(&mut node);
        super::validate::check(&node, role, &dir.display().to_string(), file_span)?;
        let mut node = last_key_wins(node);
        self.metadata.read_top(&node, dir);
        super::helm_charts::fold_legacy(&mut node);
        let kustomization = Kustomization {
            dir: dir.to_path_buf(),
            node,
        };
        // Before its resources are built, as kustomize sets the schema (the first one wins).
        super::openapi::read(&kustomization, self)?;
        Ok(kustomization)
    }

    /// Builds a folder a `resources` entry names (a base, a remote checkout) and appends what
    /// it makes; its errors without a place of their own stand at the entry.
    fn add_folder(
        &mut self,
        dir: &Path,
        span: Span,
        resources: &mut Vec<Resource>,
        seen: &mut IdSet,
    ) -> Result<(), KustomizeError> {
        let built = self.build_target(dir).map_err(|mut error| {
            error.span = error.span.or(Some(span));
            error
        })?;
        for resource in built {
            append(resource, resources, seen)?;
        }
        Ok(())
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
        let mut seen: IdSet = resources.iter().map(id_key).collect();
        for (entry, span) in entries {
            if super::http_file::is_http_file(&entry) {
                if let Some(documents) = self.http_file(&entry, span)? {
                    add_documents(documents, resources, &mut seen)?;
                }
                continue;
            }
            if is_remote(&entry) {
                let Some(dir) = self.remote_checkout(&entry, span)? else {
                    continue;
                };
                self.add_folder(&dir, span, resources, &mut seen)?;
                continue;
            }
            let (canonical, metadata) = resolve_in(&kustomization.dir, &entry).map_err(|e| {
                KustomizeError::at(format!("resource `{entry}` cannot be read: {e}"), span)
            })?;
            if metadata.is_dir() {
                self.add_folder(&canonical, span, resources, &mut seen)?;
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
            add_documents(self.load_file(&canonical)?, resources, &mut seen)?;
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
        match super::remote::locate(&base, self.options.fetch) {
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

    /// The documents of an HTTP(S) file resource, read from the cache (see `http_file`), or
    /// `None` (recorded as not built) when it was not fetched. Its source is named by its URL.
    fn http_file(&mut self, url: &str, span: Span) -> Result<Option<Vec<Node>>, KustomizeError> {
        let shown = super::remote::redact(url);
        let path = match super::http_file::locate(url, self.options.fetch) {
            Ok(Some(path)) => path,
            Ok(None) => {
                self.not_built.push(NotBuilt {
                    span,
                    reason: format!(
                        "remote file `{shown}` is not fetched (run `pinnace build --fetch` or `pinnace check --fetch-remote` to fetch it once into the cache)"
                    ),
                });
                return Ok(None);
            }
            Err(message) => {
                return Err(KustomizeError::at(
                    format!("remote file `{shown}`: {message}"),
                    span,
                ));
            }
        };
        let text = crate::files::read_text(&path)
            .map_err(|e| KustomizeError::at(format!("remote file `{shown}`: {e}"), span))?;
        self.load_text(shown, text).map(Some)
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
        let end = base.saturating_add(u32::try_from(text.len()).unwrap_or(u32::MAX));
        self.inline_patches.push(super::InlinePatch {
            start: base,
            end,
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
        crate::files::read_bounded(&file, crate::files::MAX_FILE_BYTES)
            .map_err(|e| KustomizeError::at(format!("`{path}`: {e}"), span))
    }

    /// Reads a YAML file into the build's source map.
    pub fn load_file(&mut self, path: &Path) -> Result<Vec<Node>, KustomizeError> {
        let text = crate::files::read_text(path)
            .map_err(|e| KustomizeError::new(format!("{}: {e}", path.display())))?;
        self.load_text(path.display().to_string(), text)
    }

    /// Reads YAML text into the build's source map, under `name`.
    fn load_text(&mut self, name: String, text: String) -> Result<Vec<Node>, KustomizeError> {
        let stream = load_stream(&text, Limits::default());
        let base = self.sources.add(SourceFile::new(name, text));
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

/// The current ids of a list of resources, as kustomize compares them (group, version, kind,
/// name, effective namespace).
type IdSet = std::collections::HashSet<[String; 5]>;

fn id_key(resource: &Resource) -> [String; 5] {
    let id = resource.current_id();
    [
        id.group.to_string(),
        id.version.to_string(),
        id.kind.to_string(),
        id.name.to_string(),
        id.effective_namespace().to_string(),
    ]
}

/// Adds resources made elsewhere in a build (a rendered Helm chart), each refused as
/// [`append`] refuses it.
pub fn extend_checked(
    resources: &mut Vec<Resource>,
    new: impl IntoIterator<Item = Resource>,
) -> Result<(), KustomizeError> {
    let mut seen: IdSet = resources.iter().map(id_key).collect();
    for resource in new {
        append(resource, resources, &mut seen)?;
    }
    Ok(())
}

/// Adds a resource, refused (as kustomize refuses it) when one with the same current id is
/// already there (`seen` holds the ids of `resources`): a base reached twice through a
/// diamond of overlays, say.
fn append(
    resource: Resource,
    resources: &mut Vec<Resource>,
    seen: &mut IdSet,
) -> Result<(), KustomizeError> {
    if !seen.insert(id_key(&resource)) {
        let id = resource.current_id();
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
    let (file, _) = resolve_in(&k.dir, path)
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

/// A folder, canonical (symlinks resolved): the start of a build, or a folder a build names.
pub fn resolve(path: &Path) -> std::io::Result<PathBuf> {
    std::fs::canonicalize(path)
}

/// An entry of the kustomization in the canonical folder `dir`, resolved as kustomize
/// resolves it: `.` and `..` by their names (Go's `filepath.Join` cleans the path), then
/// symlinks, so that `res.yaml -> ../outside/secret` is seen to lie outside. With its
/// metadata, saving a system call to ask if it is a folder.
pub fn resolve_in(dir: &Path, entry: &str) -> std::io::Result<(PathBuf, std::fs::Metadata)> {
    let normal = lexical(&dir.join(entry));
    // `dir` is canonical and so is every folder above it: only the components past the part
    // `normal` shares with it can be symlinks. Asking about those alone spares a `realpath`
    // (a system call per component) for every resource of every build.
    let shared = dir
        .components()
        .zip(normal.components())
        .take_while(|(a, b)| a == b)
        .count();
    let mut current: PathBuf = normal.components().take(shared).collect();
    let mut metadata = None;
    for component in normal.components().skip(shared) {
        current.push(component);
        let here = std::fs::symlink_metadata(&current)?;
        if here.file_type().is_symlink() {
            let real = std::fs::canonicalize(&normal)?;
            let metadata = std::fs::metadata(&real)?;
            return Ok((real, metadata));
        }
        metadata = Some(here);
    }
    let metadata = match metadata {
        Some(metadata) => metadata,
        None => std::fs::metadata(&normal)?,
    };
    Ok((normal, metadata))
}

/// `path` with `.` and `..` resolved by their names.
fn lexical(path: &Path) -> PathBuf {
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
    normal
}

/// A document is a resource, or a list of them: any kind named `…List` with `items` (a
/// `PodList` as well as a `List`). As kustomize does, a list's items go after the file's
/// other documents.
fn add_documents(
    documents: Vec<Node>,
    resources: &mut Vec<Resource>,
    seen: &mut IdSet,
) -> Result<(), KustomizeError> {
    let mut queue: std::collections::VecDeque<Node> = documents.into();
    while let Some(document) = queue.pop_front() {
        let is_list = document
            .get("kind")
            .and_then(Node::as_str)
            .is_some_and(|kind| kind.ends_with("List"));
        match document.get("items") {
            Some(items) if is_list => match &items.value {
                crate::yaml::Value::Sequence(items) => queue.extend(items.iter().cloned()),
                _ if items.is_null() => {}
                _ => {
                    return Err(KustomizeError::at(
                        "the `items` of a list must be a list of resources",
                        items.span,
                    ));
                }
            },
            _ => append(Resource::new(document), resources, seen)?,
        }
    }
    Ok(())
}

/// A mapping that repeats a key keeps its last value, as kustomize reads a kustomization
/// (through JSON).
fn last_key_wins(mut node: Node) -> Node {
    match &mut node.value {
        crate::yaml::Value::Mapping(entries) => {
            let taken = std::mem::take(entries);
            let mut kept: Vec<(Node, Node)> = Vec::with_capacity(taken.len());
            for (key, value) in taken {
                let value = last_key_wins(value);
                match kept
                    .iter_mut()
                    .find(|(k, _)| k.as_str().is_some() && k.as_str() == key.as_str())
                {
                    Some(slot) => slot.1 = value,
                    None => kept.push((key, value)),
                }
            }
            *entries = kept;
        }
        crate::yaml::Value::Sequence(items) => {
            let taken = std::mem::take(items);
            *items = taken.into_iter().map(last_key_wins).collect();
        }
        crate::yaml::Value::Scalar(_) => {}
    }
    node
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
