//! The model rules read: Kubernetes resources and the images their pods would run.
//!
//! Everything here borrows from the YAML tree, so a rule can point at the exact node it
//! judges without copying text around.

mod catalog;
mod extract;
mod label_selector;
mod scope_index;
mod values;

pub use catalog::{Catalog, FieldPath, FieldPathError, Locator, Target};
pub use extract::{extract, extract_build};
pub use label_selector::{LabelSelector, Labels, read_labels};
pub use scope_index::{DEFAULT_NAMESPACE, PolicyFacts, Scope, ScopeIndex};
pub use values::{VALUES_KIND, ValuesImage, ValuesShape, add_values, compose, values_images};

use crate::finding::{Finding, Subject};
use crate::image_ref::{ImageRef, ImageRefError};
use crate::source::Span;
use crate::yaml::Node;

/// Annotation that lists rules to skip for one resource.
pub const IGNORE_ANNOTATION: &str = "pinnace.dev/ignore";

/// Annotations that make a resource a hook (Helm's tests and install hooks, Argo CD's sync
/// hooks): pods that run around a release and never serve.
const HOOK_ANNOTATIONS: [&str; 2] = ["helm.sh/hook", "argocd.argoproj.io/hook"];

#[derive(Debug)]
pub struct Resource<'a> {
    pub node: &'a Node,
    pub api_version: &'a str,
    pub kind: &'a str,
    pub name: Option<&'a str>,
    pub namespace: Option<&'a str>,
    /// Rules named by the `pinnace.dev/ignore` annotation.
    pub ignored_rules: Vec<&'a str>,
}

impl Resource<'_> {
    /// The subject of a finding about the whole resource.
    pub fn subject(&self) -> Subject {
        Subject {
            kind: self.kind.to_string(),
            name: self.name.map(str::to_string),
            namespace: self.namespace.map(str::to_string),
            container: None,
            image: None,
        }
    }

    /// Whether the resource is a Helm or Argo CD hook (`helm.sh/hook: test`, a pre-install
    /// Job, a `PostSync` Job).
    pub fn is_hook(&self) -> bool {
        let annotations = self.node.at(&["metadata", "annotations"]);
        HOOK_ANNOTATIONS
            .iter()
            .any(|key| annotations.and_then(|a| a.get(key)).is_some())
    }

    /// The API group: `apps` for `apps/v1`, empty for the core `v1`.
    pub fn group(&self) -> &str {
        self.api_version
            .rsplit_once('/')
            .map_or("", |(group, _)| group)
    }
}

/// An image value as it stands in the file.
#[derive(Debug, Clone)]
pub enum ParsedImage {
    Ref(ImageRef),
    /// Holds a template placeholder (`{{ }}`, `${VAR}`): not an image until rendered.
    Templated,
    Invalid(ImageRefError),
}

/// One place in a resource where an image is named.
#[derive(Debug)]
pub struct ImageUse<'a> {
    /// Index into [`Model::resources`].
    pub resource: usize,
    pub container: Option<&'a str>,
    /// Where in the pod the image sits: `containers`, `initContainers`, `ephemeralContainers`,
    /// or the catalog path of a custom resource.
    pub field: &'a str,
    /// The scalar that holds the image (null or a collection when the manifest is wrong).
    pub node: &'a Node,
    /// The image as written, after unquoting (after Kustomize transformers, for a build).
    pub text: &'a str,
    pub parsed: ParsedImage,
    /// The Kustomize `images:` entry that set this value, when one did: that entry is where a
    /// person edits, and findings point at it.
    pub set_by: Option<Span>,
    /// Index into [`Model::workloads`] when the image sits in a pod spec that runs.
    pub workload: Option<usize>,
    /// Where the registry and repository are written when not in `node` (a Helm values
    /// map's `registry:` or `repository:`).
    pub name_node: Option<&'a Node>,
}

impl ImageUse<'_> {
    /// Where a finding about the whole image points.
    pub fn span(&self) -> Span {
        self.set_by.unwrap_or(self.node.span)
    }

    /// Where a finding about part of the image (a byte range of its text) points.
    pub fn value_span(&self, range: std::ops::Range<usize>) -> Span {
        self.set_by.unwrap_or_else(|| self.node.value_span(range))
    }

    /// Where a finding about the image's name (its registry or repository) points.
    pub fn name_span(&self, reference: &ImageRef) -> Span {
        match (self.set_by, self.name_node) {
            (None, Some(name)) => name.span,
            _ => self.value_span(0..reference.name_end()),
        }
    }

    /// The span of the digest after `@`, where online findings point; the whole value when
    /// there is no digest or the value is not written verbatim.
    pub fn digest_span(&self) -> Span {
        let start = self.text.rfind('@').map_or(0, |at| at + 1);
        self.value_span(start..self.text.len())
    }
}

/// A pod template that runs pods: the pod spec of a Pod, Deployment, Job, CronJob, Rollout …
/// (a `PodTemplate` resource runs nothing and is not one).
#[derive(Debug)]
pub struct Workload<'a> {
    /// Index into [`Model::resources`].
    pub resource: usize,
    /// The pod template: `spec.template` of a Deployment, the resource itself for a Pod.
    pub template: &'a Node,
    pub pod_spec: &'a Node,
    /// The pod template's `metadata`, when written.
    pub metadata: Option<&'a Node>,
    /// The pod template's labels, which network policies select on.
    pub labels: Labels,
}

impl Workload<'_> {
    /// Names of the Secrets the pod spec lists under `imagePullSecrets`, with their nodes.
    pub fn pull_secrets(&self) -> impl Iterator<Item = (&str, &Node)> {
        pull_secret_names(self.pod_spec)
    }

    /// Whether the pods run to completion and are not restarted (`restartPolicy: Never` or
    /// `OnFailure`, as every Job's are): they do work and exit, they do not serve.
    pub fn runs_to_completion(&self) -> bool {
        matches!(
            self.pod_spec.get("restartPolicy").and_then(Node::as_str),
            Some("Never" | "OnFailure")
        )
    }

    /// The ServiceAccount the pods run as: `serviceAccountName`, the deprecated
    /// `serviceAccount`, or `default`.
    pub fn service_account(&self) -> &str {
        ["serviceAccountName", "serviceAccount"]
            .iter()
            .find_map(|key| self.pod_spec.get(key).and_then(Node::as_str))
            .filter(|name| !name.is_empty())
            .unwrap_or("default")
    }
}

/// The `imagePullSecrets[].name` entries of a pod spec or ServiceAccount.
pub fn pull_secret_names(node: &Node) -> impl Iterator<Item = (&str, &Node)> {
    node.list("imagePullSecrets").iter().filter_map(|entry| {
        let name = entry.get("name")?;
        Some((name.as_str().filter(|n| !n.is_empty())?, name))
    })
}

#[derive(Debug, Default)]
pub struct Model<'a> {
    pub resources: Vec<Resource<'a>>,
    pub images: Vec<ImageUse<'a>>,
    pub workloads: Vec<Workload<'a>>,
}

impl<'a> Model<'a> {
    /// The images that parse as references, each with its reference: what most image rules
    /// judge (a templated or invalid value is another rule's business).
    pub fn references(&self) -> impl Iterator<Item = (&ImageUse<'a>, &ImageRef)> {
        self.images.iter().filter_map(|image| match &image.parsed {
            ParsedImage::Ref(reference) => Some((image, reference)),
            _ => None,
        })
    }

    /// A finding about an image: its subject, its resource, and, for an image an overlay
    /// set, where the base wrote it.
    pub fn about(&self, image: &ImageUse<'_>, finding: Finding) -> Finding {
        let mut finding = finding.subject(self.subject(image), image.resource);
        if image.set_by.is_some() {
            finding.related.push((
                image.node.span,
                "the image as the base writes it".to_string(),
            ));
        }
        finding
    }

    /// The subject of a finding about an image.
    pub fn subject(&self, image: &ImageUse<'_>) -> Subject {
        let resource = &self.resources[image.resource];
        Subject {
            kind: resource.kind.to_string(),
            name: resource.name.map(str::to_string),
            namespace: resource.namespace.map(str::to_string),
            container: image.container.map(str::to_string),
            image: Some(image.text.to_string()),
        }
    }
}
