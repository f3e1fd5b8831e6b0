use super::{Context, Rule, RuleMeta};
use crate::finding::{Finding, Severity};

/// `untrusted-registry`: an image whose normalized name matches no `registries.trusted`
/// pattern. See `rules/untrusted-registry.md`.
pub struct UntrustedRegistry;

static META: RuleMeta = RuleMeta {
    id: "untrusted-registry",
    default_severity: Severity::Error,
    summary: "Image comes from a registry or repository outside `registries.trusted`",
    page: include_str!("../../rules/untrusted-registry.md"),
    fixable: false,
    sensitive: false,
};

impl Rule for UntrustedRegistry {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, context: &Context<'_>, findings: &mut Vec<Finding>) {
        let model = context.model;
        for (image, reference) in model.references() {
            let name = reference.name();
            if context.settings.is_trusted(&name) {
                continue;
            }
            findings.push(model.about(
                image,
                Finding::new(
                    &META,
                    image.name_span(reference),
                    format!("image `{}` comes from an untrusted registry", image.text),
                )
                .label(format!("`{name}` matches no pattern in `registries.trusted`"))
                .help("use an image from a trusted registry, or add a pattern for it to `registries.trusted` in .pinnace.yaml")
                ,
            ));
        }
    }
}
