use super::{Context, Rule, RuleMeta};
use crate::finding::{Finding, Severity};
use crate::model::Workload;
use crate::source::Span;

/// `missing-network-policy`: a workload whose pods no NetworkPolicy in their namespace
/// selects, so any pod in the cluster can reach them. See `rules/missing-network-policy.md`.
pub struct MissingNetworkPolicy;

static META: RuleMeta = RuleMeta {
    id: "missing-network-policy",
    default_severity: Severity::Warning,
    summary: "No NetworkPolicy in the workload's namespace selects its pods",
    page: include_str!("../../rules/missing-network-policy.md"),
    fixable: false,
    sensitive: false,
};

impl Rule for MissingNetworkPolicy {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, context: &Context<'_>, findings: &mut Vec<Finding>) {
        let model = context.model;
        let want_egress = context.settings.config.network_policies.egress;
        for workload in &model.workloads {
            let resource = &model.resources[workload.resource];
            let namespace = context.scope.namespace_of(resource);
            let selecting: Vec<_> = context
                .scope
                .policies(namespace)
                .filter(|p| p.selector.matches(&workload.labels))
                .collect();
            let ingress = selecting.iter().any(|p| p.ingress);
            let egress = selecting.iter().any(|p| p.egress);
            let open = match (ingress, egress || !want_egress) {
                (true, true) => continue,
                (false, true) => "ingress",
                (true, false) => "egress",
                (false, false) if want_egress => "ingress and egress",
                (false, false) => "ingress",
            };
            let message = if selecting.is_empty() {
                format!("no NetworkPolicy in namespace `{namespace}` selects these pods")
            } else {
                format!("no NetworkPolicy in namespace `{namespace}` selects these pods for {open}")
            };
            let label = if workload.labels.is_empty() {
                format!(
                    "these pods have no labels: only an empty `podSelector` can cover their {open}"
                )
            } else {
                format!("pods with these labels are open to all {open}")
            };
            findings.push(
                Finding::new(&META, labels_span(workload), message)
                    .label(label)
                    .help(format!(
                        "add a NetworkPolicy in namespace `{namespace}` whose `podSelector` \
                         matches these labels and allows only the traffic the pods need \
                         (a default deny with an empty `podSelector` also covers them)"
                    ))
                    .subject(resource.subject(), workload.resource),
            );
        }
    }
}

/// The pod template's `labels:` key, where a person sees what policies must select; without
/// labels, the template's `metadata:` key, or its `spec:` key when it has no metadata.
pub(super) fn labels_span(workload: &Workload<'_>) -> Span {
    let labels = workload.metadata.and_then(|m| m.entry("labels"));
    labels
        .or_else(|| workload.template.entry("metadata"))
        .or_else(|| workload.template.entry("spec"))
        .map_or(workload.pod_spec.span, |(key, _)| key.span)
}
