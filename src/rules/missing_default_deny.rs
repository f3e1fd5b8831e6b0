use std::collections::HashSet;

use super::recheck::Recheck;
use super::{Context, Rule, RuleMeta};
use crate::finding::{Finding, Severity};
use crate::model::PolicyFacts;

/// `missing-default-deny`: a namespace that runs workloads but has no NetworkPolicy that
/// selects every pod and allows no ingress (and, when config asks, no egress). See
/// `rules/missing-default-deny.md`.
///
/// The finding is about a namespace, not a file: it is reported once per run, at the first
/// workload of the namespace in output order.
pub struct MissingDefaultDeny;

static META: RuleMeta = RuleMeta {
    id: "missing-default-deny",
    default_severity: Severity::Warning,
    summary: "A namespace with workloads has no default-deny NetworkPolicy",
    page: include_str!("../../rules/missing-default-deny.md"),
    fixable: false,
    sensitive: false,
};

/// What a namespace's policies leave undenied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Missing {
    traffic: &'static str,
    /// The `policyTypes` a default deny would list.
    types: &'static str,
}

impl Rule for MissingDefaultDeny {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, context: &Context<'_>, findings: &mut Vec<Finding>) {
        let model = context.model;
        let want_egress = context.settings.config.network_policies.egress;
        let mut seen = HashSet::new();
        for workload in &model.workloads {
            let resource = &model.resources[workload.resource];
            if !super::missing_network_policy::serves(resource, workload, want_egress) {
                continue;
            }
            let namespace = context.scope.namespace_of(resource);
            if !seen.insert(namespace) {
                continue;
            }
            let Some(missing) = judge(context.scope.policies(namespace), want_egress) else {
                continue;
            };
            let span = resource.node.at(&["metadata", "namespace"]).map_or_else(
                || super::missing_network_policy::labels_span(workload),
                |n| n.span,
            );
            let mut finding = Finding::new(&META, span, String::new())
                .label(format!("this workload runs in `{namespace}`"))
                .subject(resource.subject(), workload.resource)
                .once_per_run(format!("{}:{namespace}", META.id));
            restate(&mut finding, namespace, missing);
            finding.recheck = Some(Box::new(Recheck::DefaultDeny {
                namespace: namespace.to_string(),
            }));
            findings.push(finding);
        }
    }
}

/// What a namespace's policies leave undenied; `None` when they deny all ingress (and all
/// egress, when config asks for it).
pub(super) fn judge<'p>(
    policies: impl Iterator<Item = &'p PolicyFacts>,
    want_egress: bool,
) -> Option<Missing> {
    let (mut ingress, mut egress) = (false, !want_egress);
    for policy in policies {
        ingress |= policy.denies_all_ingress;
        egress |= policy.denies_all_egress;
    }
    let (traffic, types) = match (ingress, egress) {
        (true, true) => return None,
        (false, true) => ("ingress", "[Ingress]"),
        (true, false) => ("egress", "[Egress]"),
        (false, false) => ("ingress and egress", "[Ingress, Egress]"),
    };
    Some(Missing { traffic, types })
}

/// The message and help of a finding about a namespace without a default deny.
pub(super) fn restate(finding: &mut Finding, namespace: &str, missing: Missing) {
    let Missing { traffic, types } = missing;
    finding.message =
        format!("namespace `{namespace}` has no default-deny NetworkPolicy for {traffic}");
    finding.help = Some(format!(
        "add a NetworkPolicy to namespace `{namespace}` with `podSelector: {{}}`, \
         `policyTypes: {types}` and no rules, then allow what each workload needs in policies \
         of its own"
    ));
}
