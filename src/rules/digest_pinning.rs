use super::{Context, Rule, RuleMeta};
use crate::finding::{Finding, Severity};

/// `digest-pinning`: an image without an `@sha256:` digest. See `rules/digest-pinning.md`.
pub struct DigestPinning;

static META: RuleMeta = RuleMeta {
    id: "digest-pinning",
    default_severity: Severity::Error,
    summary: "Image is not pinned to a digest",
    page: include_str!("../../rules/digest-pinning.md"),
    fixable: true,
    sensitive: false,
};

impl Rule for DigestPinning {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, context: &Context<'_>, findings: &mut Vec<Finding>) {
        let model = context.model;
        for (image, reference) in model.references() {
            if reference.digest().is_some() {
                continue;
            }
            let label = match reference.tag() {
                Some(tag) => format!("tag `{tag}` can be moved to other content at any time"),
                None => "no digest: the registry decides what runs".to_string(),
            };
            findings.push(model.about(
                image,
                Finding::new(&META, image.span(), format!("image `{}` is not pinned to a digest", image.text))
                    .label(label)
                    .help(match image.set_by {
                        // A Kustomize overlay's `images:` entry decides this image.
                        Some(_) => "run `pinnace pin` to add `digest: sha256:…` to this `images:` entry (its `newTag` stays), or write it yourself".to_string(),
                        None => format!(
                            "run `pinnace pin` to rewrite it as `{}@sha256:…`, or write the digest yourself",
                            image.text
                        ),
                    })
                    ,
            ));
        }
    }
}
