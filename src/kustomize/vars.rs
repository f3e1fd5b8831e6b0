//! `vars` (deprecated by kustomize, still common): `$(NAME)` in the fields kustomize's
//! `varReference` lists (container args, commands, env values, some annotations …, plus
//! what `configurations` add) becomes the value of a field of another resource.
//!
//! As kustomize does it: a kustomization's vars are tied to the resource their `objref`
//! names once its own transformers have run (by any name it has had), they travel up to the
//! overlay with the resources, a second var of the same name anywhere is an error, and the
//! values are read at the very end, after hash suffixes and name references, so `$(SVC)`
//! is the final name. A `$(NAME)` no var defines stays as written.

use super::KustomizeError;
use super::configurations::{ConfigFieldSpec, TransformerConfig};
use super::kustomization::Kustomization;
use super::resource::Resource;
use super::transform::{field_value, string_node};
use crate::source::Span;
use crate::yaml::{Node, ScalarStyle, Value};

/// A declared var.
#[derive(Debug, Clone)]
pub struct Var {
    pub name: String,
    group: String,
    version: String,
    kind: String,
    object: String,
    namespace: Option<String>,
    field_path: String,
    span: Span,
}

/// Reads a kustomization's `vars` and ties each to the resource it names; `declared` holds
/// every var seen so far in the build (a name may be declared once).
pub fn declare(
    k: &Kustomization,
    resources: &mut [Resource],
    declared: &mut Vec<Var>,
) -> Result<(), KustomizeError> {
    for entry in k.node.list("vars") {
        let var = read(entry)?;
        if declared.iter().any(|known| known.name == var.name) {
            return Err(KustomizeError::at(
                format!(
                    "var `{}` already encountered (kustomize refuses a var declared twice)",
                    var.name
                ),
                var.span,
            ));
        }
        let matched: Vec<usize> = resources
            .iter()
            .enumerate()
            .filter(|(_, r)| var.names(r))
            .map(|(index, _)| index)
            .collect();
        if matched.len() > 1 {
            return Err(KustomizeError::at(
                format!(
                    "found {} resources for var `{}` (unable to disambiguate)",
                    matched.len(),
                    var.name
                ),
                var.span,
            ));
        }
        if let Some(index) = matched.first() {
            resources[*index].ref_vars.push(var.name.clone());
        }
        declared.push(var);
    }
    Ok(())
}

fn read(entry: &Node) -> Result<Var, KustomizeError> {
    let text = |node: Option<&Node>, key: &str| {
        node.and_then(|n| n.get(key))
            .and_then(Node::as_str)
            .unwrap_or("")
            .to_string()
    };
    let name = text(Some(entry), "name");
    if name.is_empty() {
        return Err(KustomizeError::at("a var needs a `name`", entry.span));
    }
    let objref = entry.get("objref");
    let (mut group, mut version) = (text(objref, "group"), text(objref, "version"));
    let api_version = text(objref, "apiVersion");
    if !api_version.is_empty() {
        match api_version.split_once('/') {
            Some((g, v)) => (group, version) = (g.to_string(), v.to_string()),
            None => version = api_version,
        }
    }
    let namespace = Some(text(objref, "namespace")).filter(|n| !n.is_empty());
    let field_path = Some(text(entry.get("fieldref"), "fieldpath"))
        .filter(|p| !p.is_empty())
        .or_else(|| Some(text(entry.get("fieldref"), "fieldPath")).filter(|p| !p.is_empty()))
        .unwrap_or_else(|| "metadata.name".to_string());
    Ok(Var {
        name,
        group,
        version,
        kind: text(objref, "kind"),
        object: text(objref, "name"),
        namespace,
        field_path,
        span: entry.span,
    })
}

impl Var {
    /// Whether `resource` is (or once was) the object this var refers to. Without a
    /// namespace in the objref, any namespace matches (kustomize's `GvknEquals`).
    fn names(&self, resource: &Resource) -> bool {
        resource.any_ids().any(|id| {
            id.kind == self.kind
                && id.group == self.group
                && (self.version.is_empty() || self.version == id.version)
                && id.name == self.object
                && self.namespace.as_deref().is_none_or(|namespace| {
                    let wanted = if namespace.is_empty() {
                        "default"
                    } else {
                        namespace
                    };
                    id.effective_namespace() == wanted
                })
        })
    }
}

/// The var references kustomize looks at by default: in pod specs (args, command, env
/// values, mount paths, NFS servers), Service ports, Ingress hosts and TLS, and labels and
/// annotations of every resource.
fn default_specs() -> Vec<ConfigFieldSpec> {
    let mut specs = Vec::new();
    let pod_spec_at = [
        ("CronJob", "spec/jobTemplate/spec/template/spec"),
        ("DaemonSet", "spec/template/spec"),
        ("Deployment", "spec/template/spec"),
        ("Job", "spec/template/spec"),
        ("Pod", "spec"),
        ("ReplicaSet", "spec/template/spec"),
        ("StatefulSet", "spec/template/spec"),
    ];
    for (kind, pod) in pod_spec_at {
        for containers in ["containers", "initContainers"] {
            for field in ["args", "command", "env/value", "volumeMounts/mountPath"] {
                specs.push(ConfigFieldSpec::of_kind(
                    kind,
                    &format!("{pod}/{containers}/{field}"),
                ));
            }
        }
    }
    // kustomize's own table puts the NFS server of these kinds at these (partly odd) paths.
    for (kind, path) in [
        (
            "CronJob",
            "spec/jobTemplate/spec/template/volumes/nfs/server",
        ),
        ("DaemonSet", "spec/template/spec/volumes/nfs/server"),
        ("Deployment", "spec/template/spec/volumes/nfs/server"),
        ("Job", "spec/template/spec/volumes/nfs/server"),
        ("Pod", "spec/volumes/nfs/server"),
        ("ReplicaSet", "spec/template/spec/volumes/nfs/server"),
        ("StatefulSet", "spec/volumeClaimTemplates/spec/nfs/server"),
        ("PersistentVolume", "spec/nfs/server"),
        ("Deployment", "spec/template/metadata/annotations"),
        ("Ingress", "spec/rules/host"),
        ("Ingress", "spec/tls/hosts"),
        ("Ingress", "spec/tls/secretName"),
        ("Service", "spec/ports/port"),
        ("Service", "spec/ports/targetPort"),
    ] {
        specs.push(ConfigFieldSpec::of_kind(kind, path));
    }
    specs.push(ConfigFieldSpec::any("metadata/labels"));
    specs.push(ConfigFieldSpec::any("metadata/annotations"));
    specs
}

/// Replaces `$(NAME)` in every var reference field with the var's value, at the end of the
/// build.
pub fn resolve(
    declared: &[Var],
    resources: &mut [Resource],
    config: &TransformerConfig,
) -> Result<(), KustomizeError> {
    if declared.is_empty() {
        return Ok(());
    }
    let mut values = Vec::new();
    for var in declared {
        let holder = resources
            .iter()
            .find(|r| r.ref_vars.contains(&var.name))
            .ok_or_else(|| {
                KustomizeError::at(
                    format!(
                        "var `{}` cannot be mapped to a field in the set of known resources",
                        var.name
                    ),
                    var.span,
                )
            })?;
        let value = field_value(&holder.node, &var.field_path).ok_or_else(|| {
            KustomizeError::at(
                format!(
                    "field `{}` of var `{}` is not found in its resource",
                    var.field_path, var.name
                ),
                var.span,
            )
        })?;
        values.push((var.name.clone(), value));
    }
    let mut specs = default_specs();
    specs.extend(config.var_reference.iter().cloned());
    for resource in resources.iter_mut() {
        for spec in &specs {
            spec.visit(resource, &mut |node| substitute(node, &values));
        }
    }
    Ok(())
}

/// A scalar is replaced; in a mapping, each string value. Only strings are looked at.
fn substitute(node: &mut Node, values: &[(String, Node)]) {
    if let Value::Mapping(entries) = &mut node.value {
        for (_, value) in entries.iter_mut() {
            if is_string(value) {
                expand(value, values);
            }
        }
    } else if is_string(node) {
        expand(node, values);
    }
}

fn is_string(node: &Node) -> bool {
    match &node.value {
        Value::Scalar(scalar) if scalar.style != ScalarStyle::Plain => true,
        Value::Scalar(_) => crate::config::to_json(node).is_string(),
        _ => false,
    }
}

/// `$(NAME)` with a known NAME becomes its value: the whole scalar takes the value's type
/// when it is nothing but the reference; inside other text the value's text is spliced in.
/// `$$` is a literal `$`.
fn expand(node: &mut Node, values: &[(String, Node)]) {
    let Some(text) = node.as_str().map(str::to_string) else {
        return;
    };
    if !text.contains('$') {
        return;
    }
    let lookup = |name: &str| values.iter().find(|(n, _)| n == name).map(|(_, v)| v);
    if let Some(name) = text.strip_prefix("$(").and_then(|t| t.strip_suffix(')'))
        && !name.contains(')')
        && let Some(value) = lookup(name)
    {
        *node = typed_copy(value, node.span);
        return;
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(inner) = after.strip_prefix('(')
            && let Some(end) = inner.find(')')
        {
            let name = &inner[..end];
            match lookup(name) {
                Some(value) => out.push_str(&value_text(value)),
                None => {
                    out.push_str("$(");
                    out.push_str(name);
                    out.push(')');
                }
            }
            rest = &inner[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    *node = string_node(&out, node.span);
}

/// A var's value where it stands alone: scalars keep their type; a string that reads as
/// another type is quoted so it stays a string.
fn typed_copy(value: &Node, span: Span) -> Node {
    match &value.value {
        Value::Scalar(_) if is_string(value) => string_node(value.as_str().unwrap_or(""), span),
        _ => Node {
            span,
            ..value.clone()
        },
    }
}

fn value_text(value: &Node) -> String {
    match &value.value {
        Value::Scalar(scalar) => scalar.text.clone(),
        _ => crate::config::to_json(value).to_string(),
    }
}
