//! `commonAnnotations:` on metadata and on pod and job templates.

use super::super::KustomizeError;
use super::super::fieldspec::FieldSpec;
use super::super::resource::Resource;
use super::{merge_pairs, string_pairs};
use crate::yaml::Node;

const ANNOTATIONS: &[FieldSpec] = &[
    FieldSpec::any("metadata/annotations", true),
    FieldSpec::of(
        "",
        "ReplicationController",
        "spec/template/metadata/annotations",
        true,
    ),
    FieldSpec::of("", "Deployment", "spec/template/metadata/annotations", true),
    FieldSpec::of("", "ReplicaSet", "spec/template/metadata/annotations", true),
    FieldSpec::of("", "DaemonSet", "spec/template/metadata/annotations", true),
    FieldSpec::of(
        "",
        "StatefulSet",
        "spec/template/metadata/annotations",
        true,
    ),
    FieldSpec::of("batch", "Job", "spec/template/metadata/annotations", true),
    FieldSpec::of(
        "batch",
        "CronJob",
        "spec/jobTemplate/metadata/annotations",
        true,
    ),
    FieldSpec::of(
        "batch",
        "CronJob",
        "spec/jobTemplate/spec/template/metadata/annotations",
        true,
    ),
];

pub fn apply(kustomization: &Node, resources: &mut [Resource]) -> Result<(), KustomizeError> {
    let pairs = string_pairs(kustomization.get("commonAnnotations"));
    let Some((_, _, span)) = pairs.first().cloned() else {
        return Ok(());
    };
    for resource in resources {
        let (group, kind) = (resource.group().to_string(), resource.kind().to_string());
        for spec in ANNOTATIONS
            .iter()
            .filter(|spec| spec.applies_to(&group, &kind))
        {
            spec.visit(&mut resource.node, span, &mut |node| {
                merge_pairs(node, &pairs)
            });
        }
    }
    Ok(())
}
