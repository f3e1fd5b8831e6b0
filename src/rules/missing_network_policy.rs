use super::recheck::Recheck;
use super::{Context, Rule, RuleMeta};
use crate::finding::{Finding, Severity};
use crate::model::{Labels, PolicyFacts, Resource, Workload};
use crate::source::Span;

/// `missing-network-policy`: a workload whose pods no NetworkPolicy in their namespace
/// selects, so any pod in the cluster can reach them. See `rules/missing-network-policy.md`.
///
/// Only where the namespace has policies that leave the workload out: a namespace with no
/// policy at all is one finding, `missing-default-deny`, not one per workload. Pods that never
/// serve (hooks, pods that run to completion) are not judged.
pub struct MissingNetworkPolicy;

static META: RuleMeta = RuleMeta {
    id: "missing-network-policy",
    default_severity: Severity::Warning,
    summary: "No NetworkPolicy in the workload's namespace selects its pods",
    page: include_str!("../../rules/missing-network-policy.md"),
    fixable: false,
    sensitive: false,
};

/// What pods are left open to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Open {
    traffic: &'static str,
    /// Some policy selects the pods, only not for that traffic.
    selected: bool,
}

impl Rule for MissingNetworkPolicy {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, context: &Context<'_>, findings: &mut Vec<Finding>) {
        let model = context.model;
        let want_egress = context.settings.config.network_policies.egress;
        for workload in &model.workloads {
            let resource = &model.resources[workload.resource];
            if !serves(resource, workload, want_egress) {
                continue;
            }
            let namespace = context.scope.namespace_of(resource);
            // Judged again once the run is indexed, when it is not yet (see `still_stands`).
            if context.scope.run_complete && !context.scope.has_policies(namespace) {
                continue;
            }
            let policies = context.scope.policies(namespace);
            let Some(open) = judge(policies, &workload.labels, want_egress) else {
                continue;
            };
            let mut finding = Finding::new(&META, labels_span(workload), String::new())
                .subject(resource.subject(), workload.resource);
            restate(&mut finding, namespace, &workload.labels, open);
            finding.recheck = Some(Box::new(Recheck::NetworkPolicy {
                namespace: namespace.to_string(),
                labels: workload.labels.clone(),
            }));
            findings.push(finding);
        }
    }
}

/// Whether the network rules judge a workload's pods: not a Helm or Argo CD hook (tests,
/// install and sync Jobs), and, unless egress is required, not pods that run to completion
/// (Jobs, CronJobs, `restartPolicy: Never` pods), which take no traffic.
pub(super) fn serves(resource: &Resource<'_>, workload: &Workload<'_>, want_egress: bool) -> bool {
    !resource.is_hook() && (want_egress || !workload.runs_to_completion())
}

/// What pods with these labels are open to, given a namespace's policies; `None` when the
/// policies cover them (for ingress, and for egress when config asks for it).
pub(super) fn judge<'p>(
    policies: impl Iterator<Item = &'p PolicyFacts>,
    labels: &Labels,
    want_egress: bool,
) -> Option<Open> {
    let (mut selected, mut ingress, mut egress) = (false, false, false);
    for policy in policies.filter(|p| p.selector.matches(labels)) {
        selected = true;
        ingress |= policy.ingress;
        egress |= policy.egress;
    }
    let traffic = match (ingress, egress || !want_egress) {
        (true, true) => return None,
        (false, true) => "ingress",
        (true, false) => "egress",
        (false, false) if want_egress => "ingress and egress",
        (false, false) => "ingress",
    };
    Some(Open { traffic, selected })
}

/// The message, label and help of a finding about pods left open.
pub(super) fn restate(finding: &mut Finding, namespace: &str, labels: &Labels, open: Open) {
    let traffic = open.traffic;
    finding.message = if open.selected {
        format!("no NetworkPolicy in namespace `{namespace}` selects these pods for {traffic}")
    } else {
        format!("no NetworkPolicy in namespace `{namespace}` selects these pods")
    };
    finding.label = if labels.is_empty() {
        format!("these pods have no labels: only an empty `podSelector` can cover their {traffic}")
    } else {
        format!("pods with these labels are open to all {traffic}")
    };
    finding.help = Some(format!(
        "add a NetworkPolicy in namespace `{namespace}` whose `podSelector` matches these \
         labels and allows only the traffic the pods need (a default deny with an empty \
         `podSelector` also covers them)"
    ));
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
