//! `configurations:` files: where kustomize's transformers look in kinds it does not know
//! (custom resources), section by section — `nameReference`, `varReference`, `namespace`,
//! `commonLabels`, `commonAnnotations`, `namePrefix`, `nameSuffix`, `images`, `replicas`.
//!
//! As in kustomize, a kustomization's configuration is its own files merged with every
//! base's and component's: it travels up the tree with the resources (the builder keeps one
//! per kustomization being built, see [`TransformerConfig::merge`]). The sections add to
//! pinnace's built-in field specs; they never take one away.

use super::KustomizeError;
use super::fieldspec::visit_path;
use super::kustomization::{Builder, Kustomization};
use super::resource::Resource;
use super::transform::{ImageFieldSpec, merge_pairs, string_node, string_pairs};
use crate::source::Span;
use crate::yaml::Node;

/// A field spec read from a file: which resources (group, version, kind; empty matches any)
/// and where in them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigFieldSpec {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub path: String,
    pub create: bool,
    pub span: Span,
}

impl ConfigFieldSpec {
    /// A spec for any resource, as the built-in tables write them.
    pub fn any(path: &str) -> ConfigFieldSpec {
        ConfigFieldSpec {
            group: String::new(),
            version: String::new(),
            kind: String::new(),
            path: path.to_string(),
            create: false,
            span: Span::default(),
        }
    }

    pub fn of_kind(kind: &str, path: &str) -> ConfigFieldSpec {
        ConfigFieldSpec {
            kind: kind.to_string(),
            ..ConfigFieldSpec::any(path)
        }
    }

    pub fn read(node: &Node) -> ConfigFieldSpec {
        let text = |key| {
            node.get(key)
                .and_then(Node::as_str)
                .unwrap_or("")
                .to_string()
        };
        ConfigFieldSpec {
            group: text("group"),
            version: text("version"),
            kind: text("kind"),
            path: text("path"),
            create: text("create") == "true",
            span: node.span,
        }
    }

    pub fn applies_to(&self, resource: &Resource) -> bool {
        let version = resource
            .api_version()
            .rsplit('/')
            .next()
            .unwrap_or_default();
        (self.kind.is_empty() || self.kind == resource.kind())
            && (self.group.is_empty() || self.group == resource.group())
            && (self.version.is_empty() || self.version == version)
    }

    /// Calls `visit` on every node the spec reaches in `resource`, if it applies there.
    pub fn visit(&self, resource: &mut Resource, visit: &mut dyn FnMut(&mut Node)) {
        if self.applies_to(resource) {
            visit_path(
                &mut resource.node,
                &self.path,
                self.create,
                self.span,
                visit,
            );
        }
    }

    fn same_place(&self, other: &ConfigFieldSpec) -> bool {
        (
            &self.group,
            &self.version,
            &self.kind,
            &self.path,
            self.create,
        ) == (
            &other.group,
            &other.version,
            &other.kind,
            &other.path,
            other.create,
        )
    }
}

/// A `nameReference` entry: fields (in other resources) that hold the name of a `kind`.
#[derive(Debug, Clone)]
pub struct NameBackReference {
    pub group: String,
    pub kind: String,
    pub referrers: Vec<ConfigFieldSpec>,
}

/// The sections of `configurations:` files, merged over a kustomization and its bases.
#[derive(Debug, Clone, Default)]
pub struct TransformerConfig {
    pub name_reference: Vec<NameBackReference>,
    pub var_reference: Vec<ConfigFieldSpec>,
    pub namespace: Vec<ConfigFieldSpec>,
    pub common_labels: Vec<ConfigFieldSpec>,
    /// Places every `labels:` entry adds its pairs to.
    pub labels: Vec<ConfigFieldSpec>,
    /// Places a `labels:` entry with `includeTemplates` (and no selectors) adds to.
    pub template_labels: Vec<ConfigFieldSpec>,
    pub common_annotations: Vec<ConfigFieldSpec>,
    pub name_prefix: Vec<ConfigFieldSpec>,
    pub name_suffix: Vec<ConfigFieldSpec>,
    pub replicas: Vec<ConfigFieldSpec>,
    pub images: Vec<ImageFieldSpec>,
}

impl TransformerConfig {
    /// Adds `other`'s specs to these, each once.
    pub fn merge(&mut self, other: TransformerConfig) {
        for (mine, theirs) in [
            (&mut self.var_reference, other.var_reference),
            (&mut self.namespace, other.namespace),
            (&mut self.common_labels, other.common_labels),
            (&mut self.labels, other.labels),
            (&mut self.template_labels, other.template_labels),
            (&mut self.common_annotations, other.common_annotations),
            (&mut self.name_prefix, other.name_prefix),
            (&mut self.name_suffix, other.name_suffix),
            (&mut self.replicas, other.replicas),
        ] {
            for spec in theirs {
                if !mine.iter().any(|known| known.same_place(&spec)) {
                    mine.push(spec);
                }
            }
        }
        for reference in other.name_reference {
            match self
                .name_reference
                .iter_mut()
                .find(|known| (&known.group, &known.kind) == (&reference.group, &reference.kind))
            {
                Some(known) => {
                    for spec in reference.referrers {
                        if !known.referrers.iter().any(|k| k.same_place(&spec)) {
                            known.referrers.push(spec);
                        }
                    }
                }
                None => self.name_reference.push(reference),
            }
        }
        for spec in other.images {
            let known = self.images.iter().any(|k| {
                (&k.group, &k.kind, &k.path, k.create)
                    == (&spec.group, &spec.kind, &spec.path, spec.create)
            });
            if !known {
                self.images.push(spec);
            }
        }
    }
}

/// Reads the `configurations:` files of a kustomization.
pub fn load(k: &Kustomization, builder: &mut Builder) -> Result<TransformerConfig, KustomizeError> {
    let mut config = TransformerConfig::default();
    for entry in k.node.list("configurations") {
        let path = entry
            .as_str()
            .ok_or_else(|| KustomizeError::at("a configuration is a file path", entry.span))?;
        for document in builder.load_patch_file(k, path, entry.span)? {
            config.merge(read(&document)?);
        }
    }
    Ok(config)
}

fn read(document: &Node) -> Result<TransformerConfig, KustomizeError> {
    let mut config = TransformerConfig::default();
    for (key, value) in document.as_mapping().unwrap_or(&[]) {
        let specs = || value.as_sequence().unwrap_or(&[]).iter();
        let field_specs = || specs().map(ConfigFieldSpec::read).collect::<Vec<_>>();
        match key.as_str().unwrap_or("") {
            "nameReference" => {
                config.name_reference = specs()
                    .map(|entry| NameBackReference {
                        group: text(entry, "group"),
                        kind: text(entry, "kind"),
                        referrers: entry
                            .list("fieldSpecs")
                            .iter()
                            .map(ConfigFieldSpec::read)
                            .collect(),
                    })
                    .collect();
            }
            "varReference" => config.var_reference = field_specs(),
            "namespace" => config.namespace = field_specs(),
            "commonLabels" => config.common_labels = field_specs(),
            "commonAnnotations" => config.common_annotations = field_specs(),
            "namePrefix" => config.name_prefix = field_specs(),
            "nameSuffix" => config.name_suffix = field_specs(),
            "replicas" => config.replicas = field_specs(),
            "images" => {
                config.images = specs().map(ImageFieldSpec::read).collect();
            }
            "labels" => config.labels = field_specs(),
            "templateLabels" => config.template_labels = field_specs(),
            other => {
                return Err(KustomizeError::at(
                    format!("`{other}` is not a section of a kustomize configuration file"),
                    key.span,
                ));
            }
        }
    }
    Ok(config)
}

fn text(node: &Node, key: &str) -> String {
    node.get(key)
        .and_then(Node::as_str)
        .unwrap_or("")
        .to_string()
}

/// The places a configuration adds for one `labels:` entry, as kustomize merges them: the
/// `labels` section always, then `commonLabels` with `includeSelectors`, else
/// `templateLabels` with `includeTemplates`.
fn label_places<'c>(entry: &Node, config: &'c TransformerConfig) -> Vec<&'c ConfigFieldSpec> {
    let flag = |key| entry.get(key).and_then(Node::as_str) == Some("true");
    let mut places: Vec<&ConfigFieldSpec> = config.labels.iter().collect();
    if flag("includeSelectors") {
        places.extend(&config.common_labels);
    } else if flag("includeTemplates") {
        places.extend(&config.template_labels);
    }
    places
}

/// Runs a kustomization's own fields over the places its configuration adds (the built-in
/// places are the transformers' own business): labels, annotations, namespace, replica
/// counts.
pub fn apply_extra(k: &Node, config: &TransformerConfig, resources: &mut [Resource]) {
    let labels = string_pairs(k.get("commonLabels"));
    let annotations = string_pairs(k.get("commonAnnotations"));
    let entries: Vec<_> = k
        .list("labels")
        .iter()
        .map(|entry| {
            (
                string_pairs(entry.get("pairs")),
                label_places(entry, config),
            )
        })
        .filter(|(pairs, places)| !pairs.is_empty() && !places.is_empty())
        .collect();
    for resource in resources.iter_mut() {
        for (pairs, places) in &entries {
            for spec in places {
                spec.visit(resource, &mut |node| merge_pairs(node, pairs));
            }
        }
        for (specs, pairs) in [
            (&config.common_labels, &labels),
            (&config.common_annotations, &annotations),
        ] {
            if pairs.is_empty() {
                continue;
            }
            for spec in specs {
                spec.visit(resource, &mut |node| merge_pairs(node, pairs));
            }
        }
        if let Some(namespace) = k.get("namespace").filter(|n| n.as_str().is_some()) {
            for spec in &config.namespace {
                spec.visit(resource, &mut |node| *node = namespace.clone());
            }
        }
        for entry in k.list("replicas") {
            let (Some(name), Some(count)) =
                (entry.get("name").and_then(Node::as_str), entry.get("count"))
            else {
                continue;
            };
            if !resource.was_named(name) {
                continue;
            }
            for spec in &config.replicas {
                spec.visit(resource, &mut |node| *node = count.clone());
            }
        }
    }
}

/// A renamed resource: group, kind, the names (and effective namespaces) it had, its name
/// now.
type Renamed = (String, String, Vec<(String, String)>, String);

/// The `nameReference` sections: after renaming, the fields they name follow the resource
/// they referred to (matched by kind and a name it once had, in the referrer's namespace
/// when several match).
pub fn fix_name_references(resources: &mut [Resource], config: &TransformerConfig) {
    if config.name_reference.is_empty() {
        return;
    }
    let renamed: Vec<Renamed> = resources
        .iter()
        .filter(|r| !r.previous.is_empty())
        .map(|r| {
            (
                r.group().to_string(),
                r.kind().to_string(),
                r.previous
                    .iter()
                    .map(|id| (id.name.clone(), id.namespace.clone()))
                    .collect(),
                r.name().to_string(),
            )
        })
        .collect();
    if renamed.is_empty() {
        return;
    }
    for referrer in resources.iter_mut() {
        let namespace = referrer.current_id().effective_namespace().to_string();
        for reference in &config.name_reference {
            let candidates: Vec<_> = renamed
                .iter()
                .filter(|(group, kind, _, _)| {
                    *kind == reference.kind
                        && (reference.group.is_empty() || *group == reference.group)
                })
                .collect();
            if candidates.is_empty() {
                continue;
            }
            let current = |old: &str| {
                let named: Vec<_> = candidates
                    .iter()
                    .filter(|(_, _, previous, _)| previous.iter().any(|(name, _)| name == old))
                    .collect();
                let same_namespace = named.iter().find(|(_, _, previous, _)| {
                    previous
                        .iter()
                        .any(|(name, ns)| name == old && ns == &namespace)
                });
                same_namespace
                    .or(named.first())
                    .map(|(_, _, _, current)| current.clone())
            };
            for spec in &reference.referrers {
                spec.visit(referrer, &mut |node| {
                    if let Some(name) = node.as_str().and_then(current) {
                        *node = string_node(&name, node.span);
                    }
                });
            }
        }
    }
}

/// `namePrefix` / `nameSuffix` where the configuration names their places: as kustomize
/// does it, a section with `metadata/name` places takes the place of the default (every
/// resource's name); places elsewhere (a CRD's `x-kubernetes-identity` field) come after
/// it. Returns whether it renamed (otherwise the prefix transformer's defaults apply).
pub fn rename(k: &Node, config: &TransformerConfig, resources: &mut [Resource]) -> bool {
    if config.name_prefix.is_empty() && config.name_suffix.is_empty() {
        return false;
    }
    let text = |key| k.get(key).and_then(Node::as_str).unwrap_or("");
    let every = [ConfigFieldSpec::any("metadata/name")];
    let specs = |specs: &[ConfigFieldSpec]| {
        if specs.iter().any(|spec| spec.path == "metadata/name") {
            specs.to_vec()
        } else {
            every.iter().chain(specs).cloned().collect()
        }
    };
    affix(
        resources,
        text("namePrefix"),
        &specs(&config.name_prefix),
        "",
    );
    affix(
        resources,
        "",
        &specs(&config.name_suffix),
        text("nameSuffix"),
    );
    true
}

/// Kinds the prefix and suffix transformers never rename.
const NOT_RENAMED: &[&str] = &["CustomResourceDefinition", "APIService", "Namespace"];

/// Adds `prefix` and `suffix` to the fields `specs` name; on `metadata/name` this renames
/// the resource, and the history of its names lets references follow.
pub fn affix(resources: &mut [Resource], prefix: &str, specs: &[ConfigFieldSpec], suffix: &str) {
    if prefix.is_empty() && suffix.is_empty() {
        return;
    }
    for resource in resources.iter_mut() {
        if NOT_RENAMED.contains(&resource.kind()) {
            continue;
        }
        for spec in specs {
            if !spec.applies_to(resource) {
                continue;
            }
            if spec.path == "metadata/name" {
                resource.store_previous_id();
                if !prefix.is_empty() {
                    resource.prefixes.push(prefix.to_string());
                }
                if !suffix.is_empty() {
                    resource.suffixes.push(suffix.to_string());
                }
            }
            spec.visit(resource, &mut |node| {
                if let Some(value) = node.as_str() {
                    *node = string_node(&format!("{prefix}{value}{suffix}"), node.span);
                }
            });
        }
    }
}
