use super::{Context, Rule, RuleMeta};
use crate::finding::{Finding, Severity};
use crate::model::{Resource, pull_secret_names};
use crate::yaml::Node;

/// `dangling-pull-secret`: `imagePullSecrets` (of a pod or a ServiceAccount) names a Secret
/// that the scope does not define. Only where the scope is complete: a Kustomize build, or
/// files config marks `scope: complete`. See `rules/dangling-pull-secret.md`.
pub struct DanglingPullSecret;

static META: RuleMeta = RuleMeta {
    id: "dangling-pull-secret",
    default_severity: Severity::Warning,
    summary: "`imagePullSecrets` names a Secret the scope does not define",
    page: include_str!("../../rules/dangling-pull-secret.md"),
    fixable: false,
    sensitive: false,
};

impl Rule for DanglingPullSecret {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, context: &Context<'_>, findings: &mut Vec<Finding>) {
        if !context.scope.complete {
            return;
        }
        let model = context.model;
        let pods = model.workloads.iter().map(|w| (w.resource, w.pod_spec));
        let accounts = model
            .resources
            .iter()
            .enumerate()
            .filter(|(_, r)| r.group().is_empty() && r.kind == "ServiceAccount")
            .map(|(index, r)| (index, r.node));
        for (index, holder) in pods.chain(accounts) {
            let resource = &model.resources[index];
            let namespace = context.scope.namespace_of(resource);
            for (name, node) in pull_secret_names(holder) {
                if !context.scope.defines_secret(namespace, name) {
                    findings.push(finding(resource, index, namespace, name, node));
                }
            }
        }
    }
}

fn finding(
    resource: &Resource<'_>,
    index: usize,
    namespace: &str,
    name: &str,
    node: &Node,
) -> Finding {
    Finding::new(
        &META,
        node.span,
        format!("pull secret `{name}` is not defined in namespace `{namespace}`"),
    )
    .label("no Secret, SealedSecret or ExternalSecret of this name in scope")
    .help(format!(
        "add the Secret `{name}` to namespace `{namespace}` (as a SealedSecret, an ExternalSecret \
         or a SOPS-encrypted Secret), fix the name, or mark the path `scope: partial` in \
         .pinnace.yaml when the Secret is created elsewhere"
    ))
    .subject(resource.subject(), index)
}
