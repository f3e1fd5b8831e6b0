use super::{Context, Rule, RuleMeta};
use crate::finding::{Finding, Severity};
use crate::registry::{RegistryError, fact_keys};

/// `unknown-digest` (online): the pinned digest does not exist in the registry. See
/// `rules/unknown-digest.md`.
pub struct UnknownDigest;

static META: RuleMeta = RuleMeta {
    id: "unknown-digest",
    default_severity: Severity::Error,
    summary: "The pinned digest does not exist in the registry (online)",
    page: include_str!("../../rules/unknown-digest.md"),
    fixable: false,
    sensitive: false,
};

impl Rule for UnknownDigest {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, context: &Context<'_>, findings: &mut Vec<Finding>) {
        let Some(facts) = context.online else { return };
        let model = context.model;
        for (image, reference) in model.references() {
            let Some(key) = fact_keys(reference).1 else {
                continue;
            };
            let Some(Err(RegistryError::NotFound { host, .. })) = facts.digests.get(&key) else {
                continue;
            };
            findings.push(model.about(
                image,
                Finding::new(
                    &META,
                    image.digest_span(),
                    format!("`{}` does not exist in {host}", key),
                )
                .label("no manifest with this digest")
                .help("the image was deleted or the digest mistyped; pin a digest the registry has (`pinnace pin` after restoring the tag)")
                ,
            ));
        }
    }
}
