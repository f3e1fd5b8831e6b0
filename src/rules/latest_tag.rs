use super::{Context, Rule, RuleMeta};
use crate::finding::{Finding, Severity};

/// `latest-tag`: an image tagged `latest`, or untagged, without a digest. See
/// `rules/latest-tag.md`.
pub struct LatestTag;

static META: RuleMeta = RuleMeta {
    id: "latest-tag",
    default_severity: Severity::Error,
    summary: "Image uses the `latest` tag or no tag, without a digest",
    page: include_str!("../../rules/latest-tag.md"),
    fixable: false,
    sensitive: false,
};

impl Rule for LatestTag {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, context: &Context<'_>, findings: &mut Vec<Finding>) {
        let model = context.model;
        for (image, reference) in model.references() {
            if reference.digest().is_some() {
                continue;
            }
            let (span, label) = match (reference.tag(), reference.tag_range()) {
                (Some("latest"), Some(range)) => (
                    image.value_span(range),
                    "`latest` is whatever was pushed last".to_string(),
                ),
                (None, _) => (image.span(), "no tag means `latest`".to_string()),
                _ => continue,
            };
            findings.push(model.about(
                image,
                Finding::new(
                    &META,
                    span,
                    format!("image `{}` runs whatever `latest` points at", image.text),
                )
                .label(label)
                .help(format!(
                    "name a version tag (for example `{}:1.2.3`), then pin it with `pinnace pin`",
                    &image.text[..reference.name_end()]
                ))
                ,
            ));
        }
    }
}
