use super::recheck::Recheck;
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
            let own = context
                .scope
                .own
                .service_account_lists_secrets(namespace, account);
            let lists = own.or_else(|| {
                context
                    .scope
                    .run
                    .service_account_lists_secrets(namespace, account)
            });
            let Some(why) = why(account, lists) else {
                continue;
            };
            let registry = reference.registry();
            let mut finding = Finding::new(
                &META,
                image.name_span(reference),
                message(image.text, registry, &why),
            )
            .label("the kubelet will pull this image without credentials")
            .help(format!(
                "add `imagePullSecrets: [{{name: <secret>}}]` to the pod spec, or to \
                 ServiceAccount `{account}` in namespace `{namespace}`"
            ));
            // A ServiceAccount the build does not define may come from elsewhere in the run.
            if own.is_none() {
                finding.recheck = Some(Box::new(Recheck::PullSecret {
                    namespace: namespace.to_string(),
                    account: account.to_string(),
                    image: image.text.to_string(),
                    registry: registry.to_string(),
                }));
            }
            findings.push(model.about(image, finding));
        }
    }
}

/// Why the pods get no credentials from their ServiceAccount, given whether it lists pull
/// secrets (`None`: not defined in scope); `None` when it does list some.
pub(super) fn why(account: &str, lists_secrets: Option<bool>) -> Option<String> {
    match lists_secrets {
        Some(true) => None,
        Some(false) => Some(format!("its ServiceAccount `{account}` lists none either")),
        None => Some(format!(
            "its ServiceAccount `{account}` is not defined here"
        )),
    }
}

pub(super) fn message(image: &str, registry: &str, why: &str) -> String {
    format!(
        "image `{image}` comes from private registry `{registry}`, but the pod has no \
         `imagePullSecrets` and {why}"
    )
}
