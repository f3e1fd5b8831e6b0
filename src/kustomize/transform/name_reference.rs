//! At the end of a build, references by name follow the resources they name: a Deployment
//! that mounted ConfigMap `settings` mounts `prod-settings-5h2k…` once the ConfigMap is
//! prefixed and hashed, in whichever layer that happened.
//!
//! The referral is chosen as kustomize chooses it: among resources of the referenced kind
//! that once had the old name, in a namespace the referrer can see, preferring the one whose
//! outer prefixes and suffixes are the referrer's own (so each copy of a reused base keeps
//! pointing at its own copy). Two referrals that remain and differ are an error.

use super::super::KustomizeError;
use super::super::resource::{ResId, Resource};
use crate::yaml::{Node, Value};

/// Workload kinds and where their pod spec sits.
const POD_SPEC_AT: &[(&str, &str)] = &[
    ("Pod", "spec"),
    ("PodTemplate", "template/spec"),
    ("Deployment", "spec/template/spec"),
    ("ReplicaSet", "spec/template/spec"),
    ("DaemonSet", "spec/template/spec"),
    ("StatefulSet", "spec/template/spec"),
    ("Job", "spec/template/spec"),
    ("ReplicationController", "spec/template/spec"),
    ("CronJob", "spec/jobTemplate/spec/template/spec"),
];

/// Workloads whose ConfigMap and Secret references are followed.
const MOUNTING: &[&str] = &[
    "Pod",
    "PodTemplate",
    "Deployment",
    "ReplicaSet",
    "DaemonSet",
    "StatefulSet",
    "Job",
    "CronJob",
];
/// Workloads whose service account, claims and priority class are followed.
const RUNNING: &[&str] = &[
    "Pod",
    "StatefulSet",
    "Deployment",
    "ReplicationController",
    "CronJob",
    "Job",
    "DaemonSet",
];

const CONFIG_MAP_IN_POD: &[&str] = &[
    "volumes/configMap/name",
    "containers/env/valueFrom/configMapKeyRef/name",
    "initContainers/env/valueFrom/configMapKeyRef/name",
    "containers/envFrom/configMapRef/name",
    "initContainers/envFrom/configMapRef/name",
    "volumes/projected/sources/configMap/name",
];
const SECRET_IN_POD: &[&str] = &[
    "volumes/secret/secretName",
    "containers/env/valueFrom/secretKeyRef/name",
    "initContainers/env/valueFrom/secretKeyRef/name",
    "containers/envFrom/secretRef/name",
    "initContainers/envFrom/secretRef/name",
    "imagePullSecrets/name",
    "volumes/projected/sources/secret/name",
];

const RBAC: &str = "rbac.authorization.k8s.io";
const ADMISSION: &str = "admissionregistration.k8s.io";

/// A group, version and kind to select; empty parts match anything.
#[derive(Debug, Clone, Copy)]
struct Gvk {
    group: &'static str,
    version: &'static str,
    kind: &'static str,
}

impl Gvk {
    const fn kind(kind: &'static str) -> Gvk {
        Gvk {
            group: "",
            version: "",
            kind,
        }
    }
    const fn core(kind: &'static str) -> Gvk {
        Gvk {
            group: "",
            version: "v1",
            kind,
        }
    }
    const fn of(group: &'static str, kind: &'static str) -> Gvk {
        Gvk {
            group,
            version: "",
            kind,
        }
    }

    fn selects(&self, id: &ResId<'_>) -> bool {
        (self.group.is_empty() || self.group == id.group)
            && (self.version.is_empty() || self.version == id.version)
            && (self.kind.is_empty() || self.kind == id.kind)
    }
}

/// A field of `referrer` resources that names a `target` resource: a scalar, a list of
/// them, or a mapping with `name` (and `namespace`).
struct Reference {
    target: Gvk,
    referrer: Gvk,
    path: Vec<String>,
}

/// Every reference field, built once per process.
fn references() -> &'static [Reference] {
    static REFERENCES: std::sync::OnceLock<Vec<Reference>> = std::sync::OnceLock::new();
    REFERENCES.get_or_init(build_references)
}

fn build_references() -> Vec<Reference> {
    let mut all = Vec::new();
    let mut add = |target: Gvk, referrer: Gvk, path: &[&str]| {
        all.push(Reference {
            target,
            referrer,
            path: path.iter().map(|s| s.to_string()).collect(),
        });
    };
    let split = |path: &'static str| path.split('/').collect::<Vec<_>>();
    for (workload, prefix) in POD_SPEC_AT {
        let in_pod = |path: &str| split_owned(&format!("{prefix}/{path}"));
        let referrer = Gvk::kind(workload);
        if MOUNTING.contains(workload) {
            for path in CONFIG_MAP_IN_POD {
                add(Gvk::core("ConfigMap"), referrer, &borrow(&in_pod(path)));
            }
            for path in SECRET_IN_POD {
                add(Gvk::core("Secret"), referrer, &borrow(&in_pod(path)));
            }
        }
        if RUNNING.contains(workload) {
            let running = [
                (Gvk::core("ServiceAccount"), "serviceAccountName"),
                (
                    Gvk::core("PersistentVolumeClaim"),
                    "volumes/persistentVolumeClaim/claimName",
                ),
                (
                    Gvk {
                        group: "scheduling.k8s.io",
                        version: "v1",
                        kind: "PriorityClass",
                    },
                    "priorityClassName",
                ),
            ];
            for (target, path) in running {
                add(target, referrer, &borrow(&in_pod(path)));
            }
        }
    }
    for scaled in [
        "Deployment",
        "ReplicationController",
        "ReplicaSet",
        "StatefulSet",
    ] {
        add(
            Gvk::kind(scaled),
            Gvk::kind("HorizontalPodAutoscaler"),
            &split("spec/scaleTargetRef/name"),
        );
    }
    for lister in ["Role", "ClusterRole"] {
        for target in ["ConfigMap", "Secret"] {
            add(
                Gvk::core(target),
                Gvk::kind(lister),
                &split("rules/resourceNames"),
            );
        }
    }
    add(
        Gvk::core("PersistentVolume"),
        Gvk::kind("ClusterRole"),
        &split("rules/resourceNames"),
    );
    add(
        Gvk::core("ConfigMap"),
        Gvk::kind("Node"),
        &split("spec/configSource/configMap"),
    );
    let annotation = |key: &'static str| ["metadata", "annotations", key];
    add(
        Gvk::core("ConfigMap"),
        Gvk::kind("Ingress"),
        &annotation("nginx.ingress.kubernetes.io/fastcgi-params-configmap"),
    );
    add(
        Gvk::core("Secret"),
        Gvk::kind("Ingress"),
        &split("spec/tls/secretName"),
    );
    for key in [
        "ingress.kubernetes.io/auth-secret",
        "nginx.ingress.kubernetes.io/auth-secret",
        "nginx.ingress.kubernetes.io/auth-tls-secret",
    ] {
        add(Gvk::core("Secret"), Gvk::kind("Ingress"), &annotation(key));
    }
    add(
        Gvk::core("Secret"),
        Gvk::kind("ServiceAccount"),
        &split("imagePullSecrets/name"),
    );
    for key in [
        "secretName",
        "adminSecretName",
        "userSecretName",
        "secretRef",
    ] {
        add(
            Gvk::core("Secret"),
            Gvk::kind("StorageClass"),
            &["parameters", key],
        );
    }
    add(
        Gvk::core("Secret"),
        Gvk::of("serving.knative.dev", "Service"),
        &split("spec/template/spec/containers/env/valueFrom/secretKeyRef/name"),
    );
    add(
        Gvk::core("Secret"),
        Gvk::kind("PersistentVolume"),
        &split("spec/azureFile/secretName"),
    );
    let service = Gvk::core("Service");
    add(
        service,
        Gvk::of("apps", "StatefulSet"),
        &split("spec/serviceName"),
    );
    for path in [
        "spec/rules/http/paths/backend/serviceName",
        "spec/backend/serviceName",
        "spec/rules/http/paths/backend/service/name",
        "spec/defaultBackend/service/name",
    ] {
        add(service, Gvk::kind("Ingress"), &split(path));
    }
    add(
        service,
        Gvk::of("apiregistration.k8s.io", "APIService"),
        &split("spec/service/name"),
    );
    for webhook in [
        "ValidatingWebhookConfiguration",
        "MutatingWebhookConfiguration",
    ] {
        add(
            service,
            Gvk::of(ADMISSION, webhook),
            &split("webhooks/clientConfig/service"),
        );
    }
    add(
        Gvk::of(RBAC, "Role"),
        Gvk::of(RBAC, "RoleBinding"),
        &split("roleRef/name"),
    );
    for binding in ["RoleBinding", "ClusterRoleBinding"] {
        add(
            Gvk::of(RBAC, "ClusterRole"),
            Gvk::of(RBAC, binding),
            &split("roleRef/name"),
        );
        add(
            Gvk::core("ServiceAccount"),
            Gvk::of(RBAC, binding),
            &split("subjects"),
        );
    }
    add(
        Gvk::core("PersistentVolume"),
        Gvk::kind("PersistentVolumeClaim"),
        &split("spec/volumeName"),
    );
    let storage_class = Gvk {
        group: "storage.k8s.io",
        version: "v1",
        kind: "StorageClass",
    };
    for (referrer, path) in [
        ("PersistentVolume", "spec/storageClassName"),
        ("PersistentVolumeClaim", "spec/storageClassName"),
        (
            "StatefulSet",
            "spec/volumeClaimTemplates/spec/storageClassName",
        ),
    ] {
        add(storage_class, Gvk::kind(referrer), &split(path));
    }
    add(
        Gvk::of(ADMISSION, "ValidatingAdmissionPolicy"),
        Gvk::of(ADMISSION, "ValidatingAdmissionPolicyBinding"),
        &split("spec/policyName"),
    );
    all
}

fn split_owned(path: &str) -> Vec<String> {
    path.split('/').map(str::to_string).collect()
}

fn borrow(path: &[String]) -> Vec<&str> {
    path.iter().map(String::as_str).collect()
}

/// What the fix needs to know of a resource that may be referred to, taken before any
/// referrer changes.
struct Candidate {
    name: String,
    namespace: String,
    kind: String,
    cluster_scoped: bool,
    /// Effective namespaces, original and current.
    original_namespace: String,
    current_namespace: String,
    /// (group, version, kind, name) of each previous id.
    previous: Vec<(String, String, String, String)>,
    prefixes: Vec<String>,
    suffixes: Vec<String>,
}

impl Candidate {
    fn of(resource: &Resource) -> Candidate {
        let current = resource.current_id();
        Candidate {
            name: current.name.to_string(),
            namespace: current.namespace.to_string(),
            kind: current.kind.to_string(),
            cluster_scoped: current.is_cluster_scoped(),
            original_namespace: resource.original_id().effective_namespace().to_string(),
            current_namespace: current.effective_namespace().to_string(),
            previous: resource
                .previous_ids()
                .map(|id| {
                    (
                        id.group.to_string(),
                        id.version.to_string(),
                        id.kind.to_string(),
                        id.name.to_string(),
                    )
                })
                .collect(),
            prefixes: resource.prefixes.clone(),
            suffixes: resource.suffixes.clone(),
        }
    }

    fn previously_selected_by(&self, gvk: &Gvk) -> bool {
        self.previous.iter().any(|(group, version, kind, name)| {
            gvk.selects(&ResId {
                group,
                version,
                kind,
                name,
                namespace: "",
            })
        })
    }

    fn previously_named(&self, name: &str) -> bool {
        self.previous.iter().any(|(_, _, _, n)| n == name)
    }
}

/// The referrer's side of a choice.
struct Referrer {
    cluster_scoped: bool,
    namespace: String,
    prefixes: Vec<String>,
    suffixes: Vec<String>,
    /// `roleRef`'s group and kind, for a binding's `roleRef/name`.
    role_ref: Option<(String, String)>,
}

/// Updates every name reference to the resource's final name (and, in a mapping such as a
/// binding's subject, namespace).
pub fn fix_name_references(resources: &mut [Resource]) -> Result<(), KustomizeError> {
    refuse_blank_subject_namespaces(resources)?;
    if resources.iter().all(|r| r.previous.is_empty()) {
        return Ok(());
    }
    let candidates: Vec<Candidate> = resources.iter().map(Candidate::of).collect();
    for resource in resources.iter_mut() {
        let original = resource.original_id();
        let applicable: Vec<&Reference> = references()
            .iter()
            .filter(|r| r.referrer.selects(&original))
            .collect();
        if applicable.is_empty() {
            continue;
        }
        let visible = visible_from(resource, &candidates);
        let referrer = referrer_of(resource);
        for reference in applicable {
            let mut fixer = Fixer {
                reference,
                referrer: &referrer,
                candidates: &candidates,
                visible: &visible,
                error: None,
            };
            walk(&mut resource.node, &reference.path, &mut |node| {
                fixer.set(node)
            });
            if let Some(error) = fixer.error {
                return Err(error);
            }
        }
    }
    Ok(())
}

/// kustomize reads the namespaces of a RoleBinding's ServiceAccount subjects to know what it
/// can refer to, and refuses a subject whose `namespace` is there but blank.
fn refuse_blank_subject_namespaces(resources: &[Resource]) -> Result<(), KustomizeError> {
    for resource in resources.iter().filter(|r| r.kind() == "RoleBinding") {
        for subject in resource.node.list("subjects") {
            let is_account = subject.get("kind").and_then(Node::as_str) == Some("ServiceAccount");
            if let Some(namespace) = subject.get("namespace")
                && is_account
                && namespace.as_str().is_none()
            {
                return Err(KustomizeError::at(
                    format!(
                        "RoleBinding `{}` has a ServiceAccount subject with a blank namespace (kustomize: namespace is blank)",
                        resource.name()
                    ),
                    namespace.span,
                ));
            }
        }
    }
    Ok(())
}

fn referrer_of(resource: &Resource) -> Referrer {
    let current = resource.current_id();
    let role_ref = resource.node.get("roleRef").and_then(|role_ref| {
        Some((
            role_ref.get("apiGroup")?.as_str()?.to_string(),
            role_ref.get("kind")?.as_str()?.to_string(),
        ))
    });
    Referrer {
        cluster_scoped: current.is_cluster_scoped(),
        namespace: current.effective_namespace().to_string(),
        prefixes: resource.prefixes.clone(),
        suffixes: resource.suffixes.clone(),
        role_ref,
    }
}

/// The resources `referrer` can refer to: all of them from a cluster-scoped referrer;
/// otherwise cluster-scoped ones, those in its namespace, and for a RoleBinding those in the
/// namespaces of its ServiceAccount subjects.
fn visible_from(referrer: &Resource, candidates: &[Candidate]) -> Vec<usize> {
    let current = referrer.current_id();
    if current.is_cluster_scoped() {
        return (0..candidates.len()).collect();
    }
    let namespace = current.effective_namespace();
    let subject_namespaces: Vec<&str> = if current.kind == "RoleBinding" {
        referrer
            .node
            .list("subjects")
            .iter()
            .filter(|s| s.get("kind").and_then(Node::as_str) == Some("ServiceAccount"))
            .filter_map(|s| s.get("namespace").and_then(Node::as_str))
            .collect()
    } else {
        Vec::new()
    };
    (0..candidates.len())
        .filter(|&i| {
            let c = &candidates[i];
            c.cluster_scoped
                || c.current_namespace == namespace
                || subject_namespaces.contains(&c.namespace.as_str())
        })
        .collect()
}

struct Fixer<'a> {
    reference: &'a Reference,
    referrer: &'a Referrer,
    candidates: &'a [Candidate],
    visible: &'a [usize],
    error: Option<KustomizeError>,
}

impl Fixer<'_> {
    fn set(&mut self, node: &mut Node) {
        if self.error.is_some() || node.is_null() {
            return;
        }
        match &mut node.value {
            Value::Scalar(_) => self.set_scalar(node),
            Value::Mapping(_) => self.set_mapping(node),
            Value::Sequence(items) => {
                for item in items {
                    match item.value {
                        Value::Scalar(_) => self.set_scalar(item),
                        Value::Mapping(_) => self.set_mapping(item),
                        Value::Sequence(_) => {}
                    }
                }
            }
        }
    }

    fn set_scalar(&mut self, node: &mut Node) {
        let Some(old) = node.as_str().map(str::to_string) else {
            return;
        };
        let same = |a: &Candidate, b: &Candidate| a.name == b.name;
        match self.select(&old, self.visible.to_vec(), &same, node) {
            Ok(Some(index)) if self.candidates[index].name != old => {
                set_text(node, &self.candidates[index].name);
            }
            Ok(_) => {}
            Err(error) => self.error = Some(error),
        }
    }

    /// A mapping with `name` and maybe `namespace` (a binding's subject, a webhook's
    /// service): its namespace narrows the candidates, and both follow the referral.
    fn set_mapping(&mut self, node: &mut Node) {
        let Some(old) = node.get("name").and_then(Node::as_str).map(str::to_string) else {
            return;
        };
        let pool = match node.get("namespace").and_then(Node::as_str) {
            None => self.visible.to_vec(),
            Some(namespace) => {
                let by = |original: bool| -> Vec<usize> {
                    self.visible
                        .iter()
                        .copied()
                        .filter(|&i| {
                            let c = &self.candidates[i];
                            let effective = if original {
                                &c.original_namespace
                            } else {
                                &c.current_namespace
                            };
                            effective == namespace
                        })
                        .collect()
                };
                let original = by(true);
                if original.is_empty() {
                    by(false)
                } else {
                    original
                }
            }
        };
        let same = |a: &Candidate, b: &Candidate| a.name == b.name && a.namespace == b.namespace;
        let index = match self.select(&old, pool, &same, node) {
            Ok(Some(index)) => index,
            Ok(None) => return,
            Err(error) => {
                self.error = Some(error);
                return;
            }
        };
        let referral = &self.candidates[index];
        if referral.name == old && referral.namespace.is_empty() {
            return;
        }
        let span = node.span;
        node.set("name", Node::scalar(referral.name.clone(), span));
        if !referral.namespace.is_empty() {
            node.set("namespace", Node::scalar(referral.namespace.clone(), span));
        }
    }

    fn select(
        &self,
        old: &str,
        pool: Vec<usize>,
        identical: &dyn Fn(&Candidate, &Candidate) -> bool,
        node: &Node,
    ) -> Result<Option<usize>, KustomizeError> {
        let candidates = self.candidates;
        let is_role_ref = self
            .reference
            .path
            .ends_with(&["roleRef".into(), "name".into()]);
        let role_ref = self.referrer.role_ref.as_ref().filter(|_| is_role_ref);
        let mut pool: Vec<usize> = pool
            .into_iter()
            .filter(|&i| {
                let c = &candidates[i];
                c.previously_named(old)
                    && c.previously_selected_by(&self.reference.target)
                    && role_ref.is_none_or(|(group, kind)| {
                        c.previous
                            .iter()
                            .any(|(g, _, k, _)| g == group && k == kind)
                    })
                    && (self.referrer.cluster_scoped
                        || c.cluster_scoped
                        || c.kind == "ServiceAccount"
                        || c.current_namespace == self.referrer.namespace)
            })
            .collect();
        if pool.len() == 1 {
            return Ok(pool.pop());
        }
        pool.retain(|&i| self.same_affixes(&candidates[i], true));
        if pool.len() > 1 {
            pool.retain(|&i| self.same_affixes(&candidates[i], false));
        }
        match pool.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some(*one)),
            [first, rest @ ..] => {
                if rest
                    .iter()
                    .all(|&i| identical(&candidates[*first], &candidates[i]))
                {
                    return Ok(Some(*first));
                }
                let names: Vec<String> = pool
                    .iter()
                    .map(|&i| {
                        let c = &candidates[i];
                        format!("{} `{}` in `{}`", c.kind, c.name, c.current_namespace)
                    })
                    .collect();
                Err(KustomizeError::at(
                    format!(
                        "the reference to `{old}` could name any of {} (kustomize: found multiple possible referrals)",
                        names.join(", ")
                    ),
                    node.span,
                ))
            }
        }
    }

    /// kustomize's `PrefixesSuffixesEquals`: the candidate's outer prefixes and suffixes
    /// are the referrer's (with `allow_empty`, a side without any matches anything).
    fn same_affixes(&self, candidate: &Candidate, allow_empty: bool) -> bool {
        let (prefixes, suffixes) = (&self.referrer.prefixes, &self.referrer.suffixes);
        let prefix_ok = (allow_empty && (candidate.prefixes.is_empty() || prefixes.is_empty()))
            || same_ending(&candidate.prefixes, prefixes);
        let suffix_ok = (allow_empty && (candidate.suffixes.is_empty() || suffixes.is_empty()))
            || same_ending(&candidate.suffixes, suffixes);
        prefix_ok && suffix_ok
    }
}

/// Whether the shorter list is the end of the longer one (two empty lists are; one empty
/// list and another are not).
fn same_ending(a: &[String], b: &[String]) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if short.is_empty() {
        return long.is_empty();
    }
    long.ends_with(short)
}

fn set_text(node: &mut Node, text: &str) {
    if let Value::Scalar(scalar) = &mut node.value {
        scalar.text = text.to_string();
    }
}

/// Calls `visit` on every node at `path`, walking into each item of a sequence on the way.
fn walk(node: &mut Node, path: &[String], visit: &mut dyn FnMut(&mut Node)) {
    let Some((first, rest)) = path.split_first() else {
        visit(node);
        return;
    };
    match &mut node.value {
        Value::Sequence(items) => items.iter_mut().for_each(|item| walk(item, path, visit)),
        Value::Mapping(_) => {
            if let Some(child) = node.get_mut(first) {
                walk(child, rest, visit);
            }
        }
        Value::Scalar(_) => {}
    }
}
