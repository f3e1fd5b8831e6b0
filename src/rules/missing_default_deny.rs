use std::collections::HashSet;

use super::{Context, Rule, RuleMeta};
use crate::finding::{Finding, Severity};

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
            let namespace = context.scope.namespace_of(resource);
            if !seen.insert(namespace) {
                continue;
            }
            let policies: Vec<_> = context.scope.policies(namespace).collect();
            let ingress = policies.iter().any(|p| p.denies_all_ingress);
            let egress = !want_egress || policies.iter().any(|p| p.denies_all_egress);
            let (missing, types) = match (ingress, egress) {
                (true, true) => continue,
                (false, true) => ("ingress", "[Ingress]"),
                (true, false) => ("egress", "[Egress]"),
                (false, false) => ("ingress and egress", "[Ingress, Egress]"),
            };
            let span = resource.node.at(&["metadata", "namespace"]).map_or_else(
                || super::missing_network_policy::labels_span(workload),
                |n| n.span,
            );
            findings.push(
                Finding::new(
                    &META,
                    span,
                    format!(
                        "namespace `{namespace}` has no default-deny NetworkPolicy for {missing}"
                    ),
                )
                .label(format!("this workload runs in `{namespace}`"))
                .help(format!(
                    "add a NetworkPolicy to namespace `{namespace}` with `podSelector: {{}}`, \
                     `policyTypes: {types}` and no rules, then allow what each workload needs \
                     in policies of its own"
                ))
                .subject(resource.subject(), workload.resource)
                .once_per_run(format!("{}:{namespace}", META.id)),
            );
        }
    }
}
