//! A resource inside a build: its tree, and what kustomize remembers about it while it builds
//! (the ids it had before transformers renamed it, the prefixes and suffixes it was given),
//! which is how patches, generators and name references find it again.

use crate::yaml::Node;

#[derive(Debug, Clone)]
pub struct Resource {
    pub node: Node,
    /// Kind, name and namespace this resource had before a transformer changed them, oldest
    /// first (kustomize's `previousKinds/Names/Namespaces` build annotations).
    pub previous: Vec<PreviousId>,
    /// Name prefixes and suffixes given to it, innermost first (empty ones are not kept).
    pub prefixes: Vec<String>,
    pub suffixes: Vec<String>,
    /// Images an `images:` entry changed, oldest first (the last one for a span wins).
    pub image_overrides: Vec<ImageOverride>,
    /// Made by a generator that wants a content-hash suffix at the end of the build.
    pub needs_hash: bool,
    /// The `vars` whose `objref` names this resource (see `vars`).
    pub ref_vars: Vec<String>,
}

/// A kind, name and namespace a resource once had (its group and version are its current
/// ones, as kustomize keeps them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviousId {
    pub kind: String,
    pub name: String,
    pub namespace: String,
}

/// A resource id as kustomize compares them: group, version, kind, name, namespace (an
/// empty namespace is none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResId<'a> {
    pub group: &'a str,
    pub version: &'a str,
    pub kind: &'a str,
    pub name: &'a str,
    pub namespace: &'a str,
}

/// What a cluster-scoped resource's namespace compares as.
const NO_NAMESPACE: &str = "\u{0}cluster";

impl ResId<'_> {
    pub fn is_cluster_scoped(&self) -> bool {
        is_cluster_scoped(self.group, self.version, self.kind)
    }

    /// The namespace as kustomize compares it: none and `default` are the same, and a
    /// cluster-scoped kind has none at all.
    pub fn effective_namespace(&self) -> &str {
        if self.is_cluster_scoped() {
            NO_NAMESPACE
        } else if self.namespace.is_empty() {
            "default"
        } else {
            self.namespace
        }
    }

    /// Same group, version, kind, name and effective namespace.
    pub fn equals(&self, other: &ResId<'_>) -> bool {
        self.group == other.group
            && self.version == other.version
            && self.kind == other.kind
            && self.name == other.name
            && self.effective_namespace() == other.effective_namespace()
    }

    /// kustomize's way of writing an id in its messages: `Kind.version.group/name.namespace`.
    pub fn describe(&self) -> String {
        let or = |text: &str, none: &str| {
            if text.is_empty() {
                none.to_string()
            } else {
                text.to_string()
            }
        };
        format!(
            "{}.{}.{}/{}.{}",
            or(self.kind, "[noKind]"),
            or(self.version, "[noVer]"),
            or(self.group, "[noGrp]"),
            or(self.name, "[noName]"),
            or(self.namespace, "[noNs]")
        )
    }
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
            prefixes: Vec::new(),
            suffixes: Vec::new(),
            image_overrides: Vec::new(),
            needs_hash: false,
            ref_vars: Vec::new(),
        }
    }

    /// kustomize writes every annotation value out as a string at the end of a build (label
    /// values it leaves as they are), so `happy: true` comes out as `"true"`.
    pub fn finish_annotations(&mut self) {
        if let Some(map) = self.node.at_mut(&["metadata", "annotations"])
            && let crate::yaml::Value::Mapping(entries) = &mut map.value
        {
            for (_, value) in entries.iter_mut() {
                let is_text = crate::config::to_json(value).is_string();
                if let crate::yaml::Value::Scalar(scalar) = &mut value.value
                    && !is_text
                    && !scalar.is_null()
                {
                    scalar.style = crate::yaml::ScalarStyle::DoubleQuoted;
                }
            }
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
            .split_once('/')
            .map_or("", |(group, _)| group)
    }

    pub fn version(&self) -> &str {
        let api_version = self.api_version();
        api_version
            .split_once('/')
            .map_or(api_version, |(_, version)| version)
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

    /// The id it has now.
    pub fn current_id(&self) -> ResId<'_> {
        ResId {
            group: self.group(),
            version: self.version(),
            kind: self.kind(),
            name: self.name(),
            namespace: self.namespace().unwrap_or(""),
        }
    }

    /// The ids it had before, oldest first.
    pub fn previous_ids(&self) -> impl Iterator<Item = ResId<'_>> + Clone {
        let (group, version) = (self.group(), self.version());
        self.previous.iter().map(move |id| ResId {
            group,
            version,
            kind: &id.kind,
            name: &id.name,
            namespace: &id.namespace,
        })
    }

    /// The id it had when it was read (its current one if it never changed).
    pub fn original_id(&self) -> ResId<'_> {
        self.previous_ids()
            .next()
            .unwrap_or_else(|| self.current_id())
    }

    /// Every id it has had, current last.
    pub fn any_ids(&self) -> impl Iterator<Item = ResId<'_>> + Clone {
        self.previous_ids()
            .chain(std::iter::once(self.current_id()))
    }

    /// Whether any id it ever had equals `id`.
    pub fn had_id(&self, id: &ResId<'_>) -> bool {
        self.any_ids().any(|own| own.equals(id))
    }

    /// Remembers the current kind, name and namespace before a transformer changes them.
    pub fn store_previous_id(&mut self) {
        let id = self.current_id();
        let namespace = if id.is_cluster_scoped() {
            String::new()
        } else {
            id.effective_namespace().to_string()
        };
        let previous = PreviousId {
            kind: id.kind.to_string(),
            name: id.name.to_string(),
            namespace,
        };
        self.previous.push(previous);
    }

    /// Whether the resource was ever called `name`.
    pub fn was_named(&self, name: &str) -> bool {
        self.name() == name || self.previous.iter().any(|id| id.name == name)
    }

    /// Cluster-scoped kinds never get a namespace.
    pub fn is_cluster_scoped(&self) -> bool {
        is_cluster_scoped(self.group(), self.version(), self.kind())
    }

    /// Sets `metadata.name`, creating `metadata` when missing.
    pub fn set_name(&mut self, name: &str, span: crate::source::Span) {
        if self.node.get("metadata").is_none_or(Node::is_null) {
            self.node.set("metadata", Node::mapping(Vec::new(), span));
        }
        if let Some(metadata) = self.node.get_mut("metadata") {
            metadata.set("name", Node::scalar(name, span));
        }
    }
}

/// The built-in kinds the Kubernetes API serves without a namespace, by API version, as
/// kustomize v5.5.0's built-in schema (Kubernetes 1.21) knows them. Anything else (custom
/// resources, a `Namespace` of some operator's group, an API version that schema predates)
/// kustomize takes to be namespaced, and so does this build.
fn is_cluster_scoped(group: &str, version: &str, kind: &str) -> bool {
    CLUSTER_SCOPED.iter().any(|(g, versions, kinds)| {
        *g == group && versions.contains(&version) && kinds.contains(&kind)
    })
}

const V1: &[&str] = &["v1"];
const V1_AND_BETA: &[&str] = &["v1", "v1beta1"];

const CLUSTER_SCOPED: &[(&str, &[&str], &[&str])] = &[
    (
        "",
        V1,
        &[
            "Namespace",
            "Node",
            "PersistentVolume",
            "ComponentStatus",
            "NodeProxyOptions",
        ],
    ),
    (
        "rbac.authorization.k8s.io",
        V1_AND_BETA,
        &["ClusterRole", "ClusterRoleBinding"],
    ),
    (
        "apiextensions.k8s.io",
        V1_AND_BETA,
        &["CustomResourceDefinition"],
    ),
    (
        "storage.k8s.io",
        V1_AND_BETA,
        &["StorageClass", "CSIDriver", "CSINode", "VolumeAttachment"],
    ),
    ("scheduling.k8s.io", V1_AND_BETA, &["PriorityClass"]),
    ("networking.k8s.io", V1_AND_BETA, &["IngressClass"]),
    ("node.k8s.io", V1_AND_BETA, &["RuntimeClass"]),
    (
        "admissionregistration.k8s.io",
        V1_AND_BETA,
        &[
            "MutatingWebhookConfiguration",
            "ValidatingWebhookConfiguration",
        ],
    ),
    ("apiregistration.k8s.io", V1_AND_BETA, &["APIService"]),
    ("policy", &["v1beta1"], &["PodSecurityPolicy"]),
    (
        "certificates.k8s.io",
        V1_AND_BETA,
        &["CertificateSigningRequest"],
    ),
    (
        "flowcontrol.apiserver.k8s.io",
        &["v1beta1"],
        &["FlowSchema", "PriorityLevelConfiguration"],
    ),
];
