//! `buildMetadata:` of the top kustomization (a base's own is ignored, as in kustomize):
//! `originAnnotations` writes where each resource came from (`config.kubernetes.io/origin`:
//! its file, or the generator that made it), `transformerAnnotations` lists the transformers
//! that ran over it (`alpha.config.kubernetes.io/transformations`), and `managedByLabel`
//! labels it `app.kubernetes.io/managed-by` with kustomize's version.

use std::path::{Component, Path, PathBuf};

use super::kustomization::{KUSTOMIZATION_FILE_NAMES, Kustomization, find_kustomization};
use super::resource::Resource;
use super::transform::{merge_pairs, string_node};
use crate::source::{SourceMap, Span};
use crate::yaml::Node;

const ORIGIN: &str = "config.kubernetes.io/origin";
const TRANSFORMATIONS: &str = "alpha.config.kubernetes.io/transformations";
const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
/// The value `kubectl kustomize` (v5.5.0 embedded in kubectl, which pinnace's build
/// reproduces) writes: kubectl's kustomize knows no release version of its own.
const KUSTOMIZE_VERSION: &str = "kustomize-(devel)";

/// What the build records, and the generator configs that made resources.
#[derive(Debug, Default)]
pub struct Tracker {
    /// Read from the first kustomization loaded (the top one).
    read: bool,
    origin: bool,
    transformations: bool,
    managed_by: bool,
    /// The top kustomization's folder, which recorded paths are relative to.
    root: PathBuf,
    /// Plugin generator configs (their span) with `apiVersion`, `kind` and name.
    generators: Vec<(Span, [String; 3])>,
}

/// A plugin or builtin transformer (or generator) and the file that configured it.
pub struct ConfiguredBy<'a> {
    pub file: &'a Path,
    pub api_version: &'a str,
    pub kind: &'a str,
    pub name: Option<&'a str>,
}

impl Tracker {
    /// Reads `buildMetadata` from the first kustomization the build loads.
    pub fn read_top(&mut self, kustomization: &Node, dir: &Path) {
        if self.read {
            return;
        }
        self.read = true;
        self.root = dir.to_path_buf();
        for item in kustomization.list("buildMetadata") {
            match item.as_str() {
                Some("originAnnotations") => self.origin = true,
                Some("transformerAnnotations") => self.transformations = true,
                Some("managedByLabel") => self.managed_by = true,
                _ => {}
            }
        }
    }

    pub fn remember_generator(&mut self, config: &Node) {
        if !self.origin {
            return;
        }
        let text = |path: &[&str]| {
            config
                .at(path)
                .and_then(Node::as_str)
                .unwrap_or("")
                .to_string()
        };
        self.generators.push((
            config.span,
            [
                text(&["apiVersion"]),
                text(&["kind"]),
                text(&["metadata", "name"]),
            ],
        ));
    }

    /// Records that the builtin transformers `k`'s fields configure ran over `resources`.
    pub fn record_builtins(&self, k: &Kustomization, resources: &mut [Resource]) {
        if !self.transformations {
            return;
        }
        let Some(file) = find_kustomization(&k.dir) else {
            return;
        };
        let node = &k.node;
        let count = |field: &str| node.list(field).len();
        let present = |field: &str| usize::from(node.get(field).is_some_and(|v| !v.is_null()));
        let runs = [
            (
                "PatchStrategicMergeTransformer",
                count("patchesStrategicMerge"),
            ),
            ("PatchTransformer", count("patches")),
            ("NamespaceTransformer", present("namespace")),
            ("PrefixTransformer", present("namePrefix")),
            ("SuffixTransformer", present("nameSuffix")),
            (
                "LabelTransformer",
                present("commonLabels") + count("labels"),
            ),
            ("AnnotationsTransformer", present("commonAnnotations")),
            ("PatchJson6902Transformer", count("patchesJson6902")),
            ("ReplicaCountTransformer", count("replicas")),
            ("ImageTagTransformer", count("images")),
            (
                "ReplacementTransformer",
                usize::from(count("replacements") > 0),
            ),
        ];
        for (kind, times) in runs {
            for _ in 0..times {
                let by = ConfiguredBy {
                    file: &file,
                    api_version: "builtin",
                    kind,
                    name: None,
                };
                self.record(&by, resources);
            }
        }
    }

    /// Records that a transformer ran over `resources`.
    pub fn record(&self, by: &ConfiguredBy<'_>, resources: &mut [Resource]) {
        if !self.transformations {
            return;
        }
        let entry = format!("- {}", self.origin_text(by).replace('\n', "\n  "));
        let entry = entry.trim_end().to_string() + "\n";
        for resource in resources {
            let mut text = annotation(resource, TRANSFORMATIONS).unwrap_or_default();
            text.push_str(&entry);
            set_annotation(resource, TRANSFORMATIONS, &text);
        }
    }

    fn origin_text(&self, by: &ConfiguredBy<'_>) -> String {
        let mut text = format!(
            "configuredIn: {}\nconfiguredBy:\n  apiVersion: {}\n  kind: {}\n",
            relative(&self.root, by.file),
            by.api_version,
            by.kind
        );
        if let Some(name) = by.name.filter(|n| !n.is_empty()) {
            text.push_str(&format!("  name: {name}\n"));
        }
        text
    }

    /// At the end of the build: origins, and the managed-by label.
    pub fn finish(
        &self,
        resources: &mut [Resource],
        sources: &SourceMap,
        inline: &[super::InlinePatch],
    ) {
        for resource in resources.iter_mut() {
            if self.origin
                && let Some(origin) = self.origin_of(resource, sources, inline)
            {
                set_annotation(resource, ORIGIN, &origin);
            }
            if self.managed_by {
                let span = resource.node.span;
                if let Some(metadata) = resource.node.get_mut("metadata") {
                    let mut labels = metadata
                        .get("labels")
                        .cloned()
                        .unwrap_or_else(|| Node::mapping(Vec::new(), span));
                    merge_pairs(
                        &mut labels,
                        &[(MANAGED_BY.to_string(), KUSTOMIZE_VERSION.to_string(), span)],
                    );
                    metadata.set("labels", labels);
                }
            }
        }
    }

    /// A resource's file, or the generator (and the file configuring it) that made it.
    fn origin_of(
        &self,
        resource: &Resource,
        sources: &SourceMap,
        inline: &[super::InlinePatch],
    ) -> Option<String> {
        let span = resource.node.span;
        let file = file_of(span, sources, inline)?;
        let file = file.as_path();
        if let Some((_, [api_version, kind, name])) =
            self.generators.iter().find(|(s, _)| *s == span)
        {
            return Some(self.origin_text(&ConfiguredBy {
                file,
                api_version,
                kind,
                name: Some(name),
            }));
        }
        let is_kustomization = file
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| KUSTOMIZATION_FILE_NAMES.contains(&n));
        if is_kustomization {
            let kind = if resource.kind() == "Secret" {
                "SecretGenerator"
            } else {
                "ConfigMapGenerator"
            };
            return Some(self.origin_text(&ConfiguredBy {
                file,
                api_version: "builtin",
                kind,
                name: None,
            }));
        }
        Some(format!("path: {}\n", relative(&self.root, file)))
    }
}

/// The file a span lies in; inline text counts as its kustomization's.
pub fn file_of(span: Span, sources: &SourceMap, inline: &[super::InlinePatch]) -> Option<PathBuf> {
    let located = inline
        .iter()
        .find(|patch| (patch.start..=patch.end).contains(&span.start))
        .map_or(span, |patch| patch.entry);
    let (file, _) = sources.lookup(located)?;
    Some(PathBuf::from(&file.name))
}

fn annotation(resource: &Resource, key: &str) -> Option<String> {
    resource
        .node
        .at(&["metadata", "annotations"])
        .and_then(|a| a.get(key))
        .and_then(Node::as_str)
        .map(str::to_string)
}

fn set_annotation(resource: &mut Resource, key: &str, value: &str) {
    let span = resource.node.span;
    if resource.node.get("metadata").is_none() {
        resource
            .node
            .set("metadata", Node::mapping(Vec::new(), span));
    }
    let Some(metadata) = resource.node.get_mut("metadata") else {
        return;
    };
    if metadata.get("annotations").is_none_or(Node::is_null) {
        metadata.set("annotations", Node::mapping(Vec::new(), span));
    }
    if let Some(annotations) = metadata.get_mut("annotations") {
        annotations.set(key, string_node(value, span));
    }
}

/// `file` relative to the folder `from` (`../base/kustomization.yaml`).
fn relative(from: &Path, file: &Path) -> String {
    let from: Vec<Component> = from.components().collect();
    let to: Vec<Component> = file.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> =
        std::iter::repeat_n("..".to_string(), from.len() - common).collect();
    parts.extend(
        to[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    parts.join("/")
}
