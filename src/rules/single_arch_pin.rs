use super::{Context, Rule, RuleMeta};
use crate::finding::{Finding, Severity};

/// `single-arch-pin` (online): the pinned digest is one platform's manifest inside the
/// multi-platform index its tag names. See `rules/single-arch-pin.md`.
pub struct SingleArchPin;

static META: RuleMeta = RuleMeta {
    id: "single-arch-pin",
    default_severity: Severity::Warning,
    summary: "The pinned digest is one platform's manifest of a multi-arch index (online)",
    page: include_str!("../../rules/single-arch-pin.md"),
    fixable: true,
    sensitive: false,
};

impl Rule for SingleArchPin {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, context: &Context<'_>, findings: &mut Vec<Finding>) {
        let Some(facts) = context.online else { return };
        let model = context.model;
        for (image, reference) in model.references() {
            let Some((index, pinned)) = facts.tag_now(reference) else {
                continue;
            };
            if !index.is_index() || !index.children().contains(&pinned.to_string()) {
                continue;
            }
            findings.push(model.about(
                image,
                Finding::new(
                    &META,
                    image.digest_span(),
                    format!("`{}` pins one platform of the multi-arch index {}", image.text, index.digest),
                )
                .label("a per-platform manifest, not the index")
                .help(format!(
                    "pin the index instead (`{}@{}`) so every node architecture can pull it; `pinnace pin --update` does",
                    &image.text[..image.text.rfind('@').unwrap_or(image.text.len())],
                    index.digest
                ))
                ,
            ));
        }
    }
}
