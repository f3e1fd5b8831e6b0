use super::{Context, Rule, RuleMeta};
use crate::finding::{Finding, Severity};
use crate::model::ParsedImage;

/// `missing-pull-secret`: an image from a registry in `registries.private` whose pod lists no
/// `imagePullSecrets`, and whose ServiceAccount, when the scope defines it, lists none either:
/// the kubelet would pull anonymously and fail. See `rules/missing-pull-secret.md`.
pub struct MissingPullSecret;

static META: RuleMeta = RuleMeta {
    id: "missing-pull-secret",
    default_severity: Severity::Error,
    summary: "Image from a private registry, but neither the pod nor its ServiceAccount has a pull secret",
    page: include_str!("../../rules/missing-pull-secret.md"),
    fixable: false,
    sensitive: false,
};

impl Rule for MissingPullSecret {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, context: &Context<'_>, findings: &mut Vec<Finding>) {
        let model = context.model;
        for image in &model.images {
            let (ParsedImage::Ref(reference), Some(workload)) = (&image.parsed, image.workload)
            else {
                continue;
            };
            if !context.settings.is_private(&reference.name()) {
                continue;
            }
            let workload = &model.workloads[workload];
            if workload.pull_secrets().next().is_some() {
                continue;
            }
            let resource = &model.resources[workload.resource];
            let namespace = context.scope.namespace_of(resource);
            let account = workload.service_account();
            let why = match context
                .scope
                .service_account_lists_secrets(namespace, account)
            {
                Some(true) => continue,
                Some(false) => format!("its ServiceAccount `{account}` lists none either"),
                None => format!("its ServiceAccount `{account}` is not defined here"),
            };
            findings.push(
                model.about(
                    image,
                    Finding::new(
                        &META,
                        image.value_span(0..reference.name_end()),
                        format!(
                            "image `{}` comes from private registry `{}`, but the pod has no \
                         `imagePullSecrets` and {why}",
                            image.text,
                            reference.registry()
                        ),
                    )
                    .label("the kubelet will pull this image without credentials")
                    .help(format!(
                        "add `imagePullSecrets: [{{name: <secret>}}]` to the pod spec, or to \
                     ServiceAccount `{account}` in namespace `{namespace}`"
                    )),
                ),
            );
        }
    }
}
