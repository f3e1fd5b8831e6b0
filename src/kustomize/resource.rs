//! A resource inside a build: its tree and the names it had before transformers renamed it,
//! which is how references to it are found and updated.

use crate::yaml::Node;

#[derive(Debug, Clone)]
pub struct Resource {
    pub node: Node,
    /// Names and namespaces this resource had before prefix, suffix or namespace changes,
    /// oldest first.
    pub previous: Vec<(String, Option<String>)>,
    /// Images an `images:` entry changed, oldest first (the last one for a span wins).
    pub image_overrides: Vec<ImageOverride>,
    /// Made by a generator that wants a content-hash suffix at the end of the build.
    pub needs_hash: bool,
    /// The `vars` whose `objref` names this resource (see `vars`).
    pub ref_vars: Vec<String>,
}

/// An image value set by a kustomization's `images:` entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageOverride {
    /// The image scalar as the base wrote it.
    pub image: crate::source::Span,
    /// The `images:` entry (a mapping) that changed it.
    pub entry: crate::source::Span,
}

impl Resource {
    pub fn new(node: Node) -> Resource {
        Resource {
            node,
            previous: Vec::new(),
            image_overrides: Vec::new(),
            needs_hash: false,
            ref_vars: Vec::new(),
        }
    }

    pub fn kind(&self) -> &str {
        self.node.get("kind").and_then(Node::as_str).unwrap_or("")
    }

    pub fn api_version(&self) -> &str {
        self.node
            .get("apiVersion")
            .and_then(Node::as_str)
            .unwrap_or("")
    }

    pub fn group(&self) -> &str {
        self.api_version()
            .rsplit_once('/')
            .map_or("", |(group, _)| group)
    }

    pub fn name(&self) -> &str {
        self.node
            .at(&["metadata", "name"])
            .and_then(Node::as_str)
            .unwrap_or("")
    }

    pub fn namespace(&self) -> Option<&str> {
        self.node
            .at(&["metadata", "namespace"])
            .and_then(Node::as_str)
    }

    /// Remembers the current name and namespace before a transformer changes them.
    pub fn remember_identity(&mut self) {
        let identity = (
            self.name().to_string(),
            self.namespace().map(str::to_string),
        );
        if self.previous.last() != Some(&identity) {
            self.previous.push(identity);
        }
    }

    /// Whether this resource was ever called `name` (in `namespace`, when given).
    pub fn was_named(&self, name: &str, namespace: Option<&str>) -> bool {
        let current = (self.name(), self.namespace());
        std::iter::once(current)
            .chain(
                self.previous
                    .iter()
                    .map(|(n, ns)| (n.as_str(), ns.as_deref())),
            )
            .any(|(n, ns)| n == name && (namespace.is_none() || ns.is_none() || ns == namespace))
    }

    /// Cluster-scoped kinds never get a namespace.
    pub fn is_cluster_scoped(&self) -> bool {
        CLUSTER_SCOPED.contains(&self.kind())
    }
}

const CLUSTER_SCOPED: &[&str] = &[
    "Namespace",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "PersistentVolume",
    "StorageClass",
    "PriorityClass",
    "IngressClass",
    "RuntimeClass",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
    "APIService",
    "PodSecurityPolicy",
    "CSIDriver",
    "CSINode",
    "Node",
    "ClusterIssuer",
];
