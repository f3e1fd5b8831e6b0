use super::{Context, Rule, RuleMeta};
use crate::finding::{Finding, Severity};

/// `stale-digest` (online): `tag@digest` where the tag now names other content. See
/// `rules/stale-digest.md`.
pub struct StaleDigest;

static META: RuleMeta = RuleMeta {
    id: "stale-digest",
    default_severity: Severity::Warning,
    summary: "The pinned digest is no longer what its tag names (online)",
    page: include_str!("../../rules/stale-digest.md"),
    fixable: true,
    sensitive: false,
};

impl Rule for StaleDigest {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, context: &Context<'_>, findings: &mut Vec<Finding>) {
        let Some(facts) = context.online else { return };
        let model = context.model;
        for (image, reference) in model.references() {
            let Some((now, pinned)) = facts.tag_now(reference) else {
                continue;
            };
            // A pin to one platform of the tag's index is single-arch-pin's finding.
            if now.digest == *pinned || now.children().contains(&pinned.to_string()) {
                continue;
            }
            findings.push(model.about(
                image,
                Finding::new(
                    &META,
                    image.digest_span(),
                    format!(
                        "`{}:{}` now names {}, not the pinned digest",
                        reference.name(),
                        reference.tag().unwrap_or_default(),
                        now.digest
                    ),
                )
                .label("the tag has moved since this digest was pinned")
                .help("run `pinnace pin --update` to pin what the tag names now, after reviewing the change")
                ,
            ));
        }
    }
}
