//! What rules that reason across resources need to know about the rest of a run: the
//! NetworkPolicies, ServiceAccounts and Secrets of every namespace.
//!
//! The index is owned (it outlives the files it was read from), small (a few facts per
//! resource), and built in a pass before the check, so each file can still be checked, and
//! its findings printed, on its own.

use std::collections::{HashMap, HashSet};

use super::label_selector::LabelSelector;
use super::{Model, Resource, pull_secret_names};
use crate::yaml::Node;

/// The namespace of a resource that names none, when config names none either.
pub const DEFAULT_NAMESPACE: &str = "default";

/// What a NetworkPolicy does, as far as the network rules care.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyFacts {
    pub name: String,
    pub selector: LabelSelector,
    /// The policy isolates the pods it selects for ingress (`policyTypes` holds `Ingress`).
    pub ingress: bool,
    /// The policy isolates the pods it selects for egress.
    pub egress: bool,
    /// The policy selects every pod and allows no ingress: a default deny.
    pub denies_all_ingress: bool,
    /// The policy selects every pod and allows no egress.
    pub denies_all_egress: bool,
}

impl PolicyFacts {
    /// Reads a NetworkPolicy. Without `policyTypes` Kubernetes infers them: `Ingress` always,
    /// `Egress` when the policy has egress rules.
    pub fn read(node: &Node) -> PolicyFacts {
        let spec = node.get("spec");
        let rules = |key| spec.map_or(&[][..], |s| s.list(key));
        let (ingress, egress) = match spec.and_then(|s| s.get("policyTypes")) {
            Some(types) => {
                let has = |name| {
                    types
                        .as_sequence()
                        .unwrap_or(&[])
                        .iter()
                        .any(|t| t.as_str() == Some(name))
                };
                (has("Ingress"), has("Egress"))
            }
            None => (true, !rules("egress").is_empty()),
        };
        let selector = LabelSelector::read(spec.and_then(|s| s.get("podSelector")));
        let everything = selector.is_empty();
        PolicyFacts {
            name: name_of(node).unwrap_or_default().to_string(),
            denies_all_ingress: everything && ingress && rules("ingress").is_empty(),
            denies_all_egress: everything && egress && rules("egress").is_empty(),
            selector,
            ingress,
            egress,
        }
    }
}

/// The NetworkPolicies, ServiceAccounts and Secrets of a set of resources, by namespace.
#[derive(Debug, Default, Clone)]
pub struct ScopeIndex {
    policies: HashMap<String, Vec<PolicyFacts>>,
    /// `(namespace, name)` → whether it lists `imagePullSecrets`.
    service_accounts: HashMap<(String, String), bool>,
    /// `(namespace, name)` of every Secret the resources make: Secrets (SOPS-encrypted or not),
    /// SealedSecrets and ExternalSecrets.
    secrets: HashSet<(String, String)>,
}

impl ScopeIndex {
    /// Adds what a model holds; resources without a namespace are in `default_namespace`.
    pub fn add(&mut self, model: &Model<'_>, default_namespace: &str) {
        for resource in &model.resources {
            let namespace = resource.namespace.unwrap_or(default_namespace).to_string();
            match (resource.group(), resource.kind) {
                ("networking.k8s.io", "NetworkPolicy") => self
                    .policies
                    .entry(namespace)
                    .or_default()
                    .push(PolicyFacts::read(resource.node)),
                ("", "ServiceAccount") => {
                    let Some(name) = resource.name else { continue };
                    let lists_secrets = pull_secret_names(resource.node).next().is_some();
                    let entry = self
                        .service_accounts
                        .entry((namespace, name.to_string()))
                        .or_default();
                    *entry |= lists_secrets;
                }
                _ => {
                    if let Some(name) = secret_made_by(resource) {
                        self.secrets.insert((namespace, name.to_string()));
                    }
                }
            }
        }
    }

    pub fn extend(&mut self, other: ScopeIndex) {
        for (namespace, policies) in other.policies {
            self.policies.entry(namespace).or_default().extend(policies);
        }
        for (key, lists_secrets) in other.service_accounts {
            *self.service_accounts.entry(key).or_default() |= lists_secrets;
        }
        self.secrets.extend(other.secrets);
    }

    pub fn policies(&self, namespace: &str) -> &[PolicyFacts] {
        self.policies.get(namespace).map_or(&[], Vec::as_slice)
    }

    /// Whether the ServiceAccount lists pull secrets; `None` when it is not defined here.
    pub fn service_account_lists_secrets(&self, namespace: &str, name: &str) -> Option<bool> {
        self.service_accounts
            .get(&(namespace.to_string(), name.to_string()))
            .copied()
    }

    pub fn defines_secret(&self, namespace: &str, name: &str) -> bool {
        self.secrets
            .contains(&(namespace.to_string(), name.to_string()))
    }
}

/// The name of the Secret a resource puts in the cluster: a Secret's own, a SealedSecret's
/// (its template may rename it), an ExternalSecret's target (its own name by default).
fn secret_made_by<'a>(resource: &Resource<'a>) -> Option<&'a str> {
    let node = resource.node;
    let renamed = match (resource.group(), resource.kind) {
        ("", "Secret") => None,
        ("bitnami.com", "SealedSecret") => node.at(&["spec", "template", "metadata", "name"]),
        ("external-secrets.io" | "kubernetes-client.io", "ExternalSecret") => {
            node.at(&["spec", "target", "name"])
        }
        _ => return None,
    };
    renamed.and_then(Node::as_str).or(resource.name)
}

fn name_of(node: &Node) -> Option<&str> {
    node.at(&["metadata", "name"]).and_then(Node::as_str)
}

/// What a rule sees of the resources beyond the file or build it checks.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    /// Every resource of the run: raw files and Kustomize builds.
    pub run: &'a ScopeIndex,
    /// The file, Kustomize build or rendered chart being checked, whose own definitions come
    /// first.
    pub own: &'a ScopeIndex,
    /// A Kustomize build: its own resources are all a cluster gets from it, so they alone
    /// must define the Secrets its pods use.
    pub build: bool,
    /// Whether every Secret the pods use must be defined in scope (a Kustomize build, or a
    /// path config marks `scope: complete`).
    pub complete: bool,
    /// The namespace of resources that name none.
    pub default_namespace: &'a str,
    /// Whether `run` is the whole run's index already (a file checked after the index pass);
    /// a build or chart is checked before it, and its findings judged again after.
    pub run_complete: bool,
}

impl<'a> Scope<'a> {
    pub fn namespace_of(&self, resource: &Resource<'a>) -> &'a str {
        resource.namespace.unwrap_or(self.default_namespace)
    }

    /// The NetworkPolicies of a namespace, from the whole run and what is being checked.
    pub fn policies(&self, namespace: &str) -> impl Iterator<Item = &'a PolicyFacts> {
        let own = self.own.policies(namespace);
        self.run.policies(namespace).iter().chain(own)
    }

    /// Whether any NetworkPolicy is known in a namespace.
    pub fn has_policies(&self, namespace: &str) -> bool {
        self.policies(namespace).next().is_some()
    }

    /// Whether a ServiceAccount lists pull secrets, as what is being checked defines it, or
    /// else as the run does; `None` when neither defines it.
    pub fn service_account_lists_secrets(&self, namespace: &str, name: &str) -> Option<bool> {
        self.own
            .service_account_lists_secrets(namespace, name)
            .or_else(|| self.run.service_account_lists_secrets(namespace, name))
    }

    /// Whether the complete scope defines a Secret: a build's own resources for a build,
    /// the whole run otherwise.
    pub fn defines_secret(&self, namespace: &str, name: &str) -> bool {
        self.own.defines_secret(namespace, name)
            || (!self.build && self.run.defines_secret(namespace, name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::{Limits, load_stream};

    fn policy(yaml: &str) -> PolicyFacts {
        let stream = load_stream(yaml, Limits::default());
        PolicyFacts::read(&stream.documents[0])
    }

    #[test]
    fn policy_types_are_inferred_as_kubernetes_does() {
        let p = policy("spec: {podSelector: {}}");
        assert!(p.ingress && !p.egress && p.denies_all_ingress && !p.denies_all_egress);
        let p = policy("spec: {podSelector: {}, egress: [{to: [{podSelector: {}}]}]}");
        assert!(p.ingress && p.egress && p.denies_all_ingress && !p.denies_all_egress);
        let p = policy("spec: {podSelector: {}, egress: []}");
        assert!(
            !p.egress,
            "an empty egress list does not make an egress policy"
        );
        let p = policy("spec: {podSelector: {}, policyTypes: [Egress]}");
        assert!(!p.ingress && p.egress && !p.denies_all_ingress && p.denies_all_egress);
        let p = policy("spec: {podSelector: {}, policyTypes: [Ingress, Egress]}");
        assert!(p.denies_all_ingress && p.denies_all_egress);
    }

    #[test]
    fn only_an_empty_selector_without_rules_denies_everything() {
        let p = policy("spec: {podSelector: {}, ingress: [{}]}");
        assert!(
            p.ingress && !p.denies_all_ingress,
            "`ingress: [{{}}]` allows all"
        );
        let p = policy("spec: {podSelector: {matchLabels: {app: web}}}");
        assert!(p.ingress && !p.denies_all_ingress);
        let p = policy("spec: {}");
        assert!(
            p.denies_all_ingress,
            "a missing podSelector is the empty one"
        );
    }
}
