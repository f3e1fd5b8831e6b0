//! After renaming (prefix, suffix), references by name follow: a Deployment that mounted
//! ConfigMap `settings` mounts `prod-settings` once the ConfigMap is renamed.

use super::super::resource::Resource;
use crate::yaml::{Node, Value};

/// Where a pod spec sits in the kinds that have one.
const POD_SPECS: &[&str] = &[
    "spec",
    "spec/template/spec",
    "spec/jobTemplate/spec/template/spec",
    "template/spec",
];

/// Paths inside a pod spec that name a resource of each kind.
const CONFIG_MAP_IN_POD: &[&str] = &[
    "volumes/configMap/name",
    "volumes/projected/sources/configMap/name",
    "containers/env/valueFrom/configMapKeyRef/name",
    "initContainers/env/valueFrom/configMapKeyRef/name",
    "containers/envFrom/configMapRef/name",
    "initContainers/envFrom/configMapRef/name",
];
const SECRET_IN_POD: &[&str] = &[
    "volumes/secret/secretName",
    "volumes/projected/sources/secret/name",
    "containers/env/valueFrom/secretKeyRef/name",
    "initContainers/env/valueFrom/secretKeyRef/name",
    "containers/envFrom/secretRef/name",
    "initContainers/envFrom/secretRef/name",
    "imagePullSecrets/name",
];
const SERVICE_ACCOUNT_IN_POD: &[&str] = &["serviceAccountName", "serviceAccount"];
const CLAIM_IN_POD: &[&str] = &["volumes/persistentVolumeClaim/claimName"];
const PRIORITY_CLASS_IN_POD: &[&str] = &["priorityClassName"];

/// A field that names a resource: the kind it names, the referrer kind (empty for any), and
/// the path, split once.
struct Reference {
    kind: &'static str,
    only_in: &'static str,
    segments: Vec<String>,
}

/// Every reference field, built once per process.
fn references() -> &'static [Reference] {
    static REFERENCES: std::sync::OnceLock<Vec<Reference>> = std::sync::OnceLock::new();
    REFERENCES.get_or_init(|| {
        reference_paths()
            .into_iter()
            .map(|(kind, only_in, path)| Reference {
                kind,
                only_in,
                segments: path.split('/').map(str::to_string).collect(),
            })
            .collect()
    })
}

/// (referenced kind, referrer kind or "" for any, path).
fn reference_paths() -> Vec<(&'static str, &'static str, String)> {
    let mut specs = Vec::new();
    for prefix in POD_SPECS {
        for (kind, paths) in [
            ("ConfigMap", CONFIG_MAP_IN_POD),
            ("Secret", SECRET_IN_POD),
            ("ServiceAccount", SERVICE_ACCOUNT_IN_POD),
            ("PersistentVolumeClaim", CLAIM_IN_POD),
            ("PriorityClass", PRIORITY_CLASS_IN_POD),
        ] {
            specs.extend(
                paths
                    .iter()
                    .map(|path| (kind, "", format!("{prefix}/{path}"))),
            );
        }
    }
    for (kind, referrer, path) in [
        ("Secret", "Ingress", "spec/tls/secretName"),
        ("Secret", "ServiceAccount", "secrets/name"),
        ("Secret", "ServiceAccount", "imagePullSecrets/name"),
        (
            "Service",
            "Ingress",
            "spec/rules/http/paths/backend/service/name",
        ),
        ("Service", "Ingress", "spec/defaultBackend/service/name"),
        (
            "Service",
            "Ingress",
            "spec/rules/http/paths/backend/serviceName",
        ),
        ("Service", "StatefulSet", "spec/serviceName"),
        ("Service", "APIService", "spec/service/name"),
        (
            "PersistentVolumeClaim",
            "StatefulSet",
            "spec/volumeClaimTemplates/metadata/name",
        ),
    ] {
        specs.push((kind, referrer, path.to_string()));
    }
    specs
}

/// A resource that had other names, and what it is called now.
struct Renamed {
    kind: String,
    previous: Vec<String>,
    /// The current name and namespace.
    current: Identity,
}

/// A name and, for namespaced resources, a namespace.
type Identity = (String, Option<String>);

/// Finds the current identity of the `kind` resource once called `old`.
type Lookup<'a> = dyn Fn(&str, &str) -> Option<Identity> + 'a;

pub fn fix_name_references(resources: &mut [Resource]) {
    let renamed: Vec<Renamed> = resources
        .iter()
        .filter(|r| !r.previous.is_empty())
        .map(|r| Renamed {
            kind: r.kind().to_string(),
            previous: r.previous.iter().map(|(name, _)| name.clone()).collect(),
            current: (r.name().to_string(), r.namespace().map(str::to_string)),
        })
        .collect();
    if renamed.is_empty() {
        return;
    }
    let specs = references();
    let lookup = |kind: &str, old: &str| {
        renamed
            .iter()
            .find(|r| r.kind == kind && r.previous.iter().any(|name| name == old))
            .map(|r| r.current.clone())
    };
    for resource in resources.iter_mut() {
        let referrer = resource.kind().to_string();
        for Reference {
            kind,
            only_in,
            segments,
        } in specs
        {
            if !only_in.is_empty() && *only_in != referrer {
                continue;
            }
            visit_values(&mut resource.node, segments, &mut |value| {
                if let Some(current) = value
                    .as_str()
                    .and_then(|old| lookup(kind, old))
                    .map(|(name, _)| name)
                {
                    set_text(value, current);
                }
            });
        }
        fix_role_binding(resource, &lookup);
        fix_scale_target(resource, &lookup);
    }
}

/// `roleRef` names a Role or ClusterRole; ServiceAccount subjects follow their account's
/// name and namespace.
fn fix_role_binding(resource: &mut Resource, lookup: &Lookup<'_>) {
    if !matches!(resource.kind(), "RoleBinding" | "ClusterRoleBinding") {
        return;
    }
    if let Some(role_ref) = resource.node.get_mut("roleRef") {
        let kind = role_ref
            .get("kind")
            .and_then(Node::as_str)
            .unwrap_or("")
            .to_string();
        if let Some(name) = role_ref.get_mut("name")
            && let Some((current, _)) = name.as_str().and_then(|old| lookup(&kind, old))
        {
            set_text(name, current);
        }
    }
    let Some(Value::Sequence(subjects)) = resource.node.get_mut("subjects").map(|s| &mut s.value)
    else {
        return;
    };
    for subject in subjects {
        if subject.get("kind").and_then(Node::as_str) != Some("ServiceAccount") {
            continue;
        }
        let Some((current, namespace)) = subject
            .get("name")
            .and_then(Node::as_str)
            .and_then(|old| lookup("ServiceAccount", old))
        else {
            continue;
        };
        if let Some(name) = subject.get_mut("name") {
            set_text(name, current);
        }
        if let Some(namespace) = namespace {
            let span = subject.span;
            subject.set("namespace", Node::scalar(namespace, span));
        }
    }
}

/// A HorizontalPodAutoscaler's target follows the workload it scales.
fn fix_scale_target(resource: &mut Resource, lookup: &Lookup<'_>) {
    let Some(target) = resource.node.at_mut(&["spec", "scaleTargetRef"]) else {
        return;
    };
    let kind = target
        .get("kind")
        .and_then(Node::as_str)
        .unwrap_or("")
        .to_string();
    if let Some(name) = target.get_mut("name")
        && let Some((current, _)) = name.as_str().and_then(|old| lookup(&kind, old))
    {
        set_text(name, current);
    }
}

fn set_text(node: &mut Node, text: String) {
    if let Value::Scalar(scalar) = &mut node.value {
        scalar.text = text;
    }
}

/// Every node at `segments`, walking into each item of a sequence on the way.
fn visit_values(node: &mut Node, segments: &[String], visit: &mut dyn FnMut(&mut Node)) {
    if let Value::Sequence(items) = &mut node.value {
        items
            .iter_mut()
            .for_each(|item| visit_values(item, segments, visit));
        return;
    }
    match segments.split_first() {
        None => visit(node),
        Some((first, rest)) => {
            if let Some(child) = node.get_mut(first) {
                visit_values(child, rest, visit);
            }
        }
    }
}
