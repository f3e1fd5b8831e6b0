//! `commonLabels:` and `labels:`. Labels go on metadata always; with selectors (commonLabels,
//! or `includeSelectors: true`) also on the selectors and pod templates that must match them;
//! with `includeTemplates: true` on pod templates only.

use super::super::KustomizeError;
use super::super::configurations::ConfigFieldSpec;
use super::super::fieldspec::FieldSpec;
use super::super::resource::Resource;
use super::{merge_pairs, string_pairs};
use crate::source::Span;
use crate::yaml::Node;

const METADATA: &[FieldSpec] = &[FieldSpec::any("metadata/labels", true)];

/// Where a workload's pod template (and CronJob's job template) carries labels.
pub const TEMPLATES: &[FieldSpec] = &[
    FieldSpec::of(
        "",
        "ReplicationController",
        "spec/template/metadata/labels",
        true,
    ),
    FieldSpec::of("", "Deployment", "spec/template/metadata/labels", true),
    FieldSpec::of("", "ReplicaSet", "spec/template/metadata/labels", true),
    FieldSpec::of("", "DaemonSet", "spec/template/metadata/labels", true),
    FieldSpec::of("apps", "StatefulSet", "spec/template/metadata/labels", true),
    FieldSpec::of("batch", "Job", "spec/template/metadata/labels", true),
    FieldSpec::of("batch", "CronJob", "spec/jobTemplate/metadata/labels", true),
    FieldSpec::of(
        "batch",
        "CronJob",
        "spec/jobTemplate/spec/template/metadata/labels",
        true,
    ),
];

/// Selectors that must keep matching the labelled pods.
const SELECTORS: &[FieldSpec] = &[
    FieldSpec::of("", "Service", "spec/selector", true),
    FieldSpec::of("", "ReplicationController", "spec/selector", true),
    FieldSpec::of("", "Deployment", "spec/selector/matchLabels", true),
    FieldSpec::of("", "ReplicaSet", "spec/selector/matchLabels", true),
    FieldSpec::of("", "DaemonSet", "spec/selector/matchLabels", true),
    FieldSpec::of("apps", "StatefulSet", "spec/selector/matchLabels", true),
    FieldSpec::of("batch", "Job", "spec/selector/matchLabels", false),
    FieldSpec::of(
        "batch",
        "CronJob",
        "spec/jobTemplate/spec/selector/matchLabels",
        false,
    ),
    FieldSpec::of(
        "policy",
        "PodDisruptionBudget",
        "spec/selector/matchLabels",
        false,
    ),
    FieldSpec::of(
        "networking.k8s.io",
        "NetworkPolicy",
        "spec/podSelector/matchLabels",
        false,
    ),
    FieldSpec::of(
        "networking.k8s.io",
        "NetworkPolicy",
        "spec/ingress/from/podSelector/matchLabels",
        false,
    ),
    FieldSpec::of(
        "networking.k8s.io",
        "NetworkPolicy",
        "spec/egress/to/podSelector/matchLabels",
        false,
    ),
    FieldSpec::of(
        "apps",
        "StatefulSet",
        "spec/volumeClaimTemplates[]/metadata/labels",
        true,
    ),
];

/// Pod (anti-)affinity selectors of Deployments and StatefulSets, changed only where present.
const AFFINITY_SUFFIXES: &[&str] = &[
    "spec/template/spec/affinity/podAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels",
    "spec/template/spec/affinity/podAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels",
    "spec/template/spec/affinity/podAntiAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels",
    "spec/template/spec/affinity/podAntiAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels",
    "spec/template/spec/topologySpreadConstraints/labelSelector/matchLabels",
];

pub fn apply(kustomization: &Node, resources: &mut [Resource]) -> Result<(), KustomizeError> {
    let common = string_pairs(kustomization.get("commonLabels"));
    if !common.is_empty() {
        label(resources, &common, true, true);
    }
    for entry in kustomization.list("labels") {
        let pairs = string_pairs(entry.get("pairs"));
        let flag = |key| entry.get(key).and_then(Node::as_str) == Some("true");
        let selectors = flag("includeSelectors");
        label(
            resources,
            &pairs,
            selectors,
            selectors || flag("includeTemplates"),
        );
        // Places of the entry's own (`fields`), as kustomize adds them to the defaults.
        for spec in entry.list("fields").iter().map(ConfigFieldSpec::read) {
            for resource in resources.iter_mut() {
                spec.visit(resource, &mut |node| merge_pairs(node, &pairs));
            }
        }
    }
    Ok(())
}

fn label(
    resources: &mut [Resource],
    pairs: &[(String, String, Span)],
    selectors: bool,
    templates: bool,
) {
    let span = pairs
        .first()
        .map_or_else(Span::default, |(_, _, span)| *span);
    for resource in resources {
        let (group, kind) = (resource.group().to_string(), resource.kind().to_string());
        let mut specs: Vec<FieldSpec> = METADATA.to_vec();
        if templates {
            specs.extend_from_slice(TEMPLATES);
        }
        if selectors {
            specs.extend_from_slice(SELECTORS);
            for kind in ["Deployment", "StatefulSet"] {
                specs.extend(
                    AFFINITY_SUFFIXES
                        .iter()
                        .map(|path| FieldSpec::of("apps", kind, path, false)),
                );
            }
        }
        for spec in specs.iter().filter(|spec| spec.applies_to(&group, &kind)) {
            spec.visit(&mut resource.node, span, &mut |node| {
                merge_pairs(node, pairs)
            });
        }
    }
}
