use super::{Context, Rule, RuleMeta};
use crate::finding::{Finding, Severity};
use crate::model::ParsedImage;
use crate::yaml::Value;

/// `invalid-image-reference`: an image value that is not a valid reference. See
/// `rules/invalid-image-reference.md`.
pub struct InvalidImageReference;

static META: RuleMeta = RuleMeta {
    id: "invalid-image-reference",
    default_severity: Severity::Error,
    summary: "Image reference does not parse, or its digest is malformed",
    page: include_str!("../../rules/invalid-image-reference.md"),
    fixable: false,
    sensitive: false,
};

impl Rule for InvalidImageReference {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, context: &Context<'_>, findings: &mut Vec<Finding>) {
        let model = context.model;
        for image in &model.images {
            let ParsedImage::Invalid(error) = &image.parsed else {
                continue;
            };
            let finding = if !matches!(image.node.value, Value::Scalar(_)) {
                Finding::new(&META, image.span(), "image must be a string")
                    .label("a list or map, not an image reference")
                    .help("write the image as `registry/repository:tag@sha256:…`")
            } else if image.node.is_null() {
                Finding::new(&META, image.span(), "image is empty")
                    .label("no image here")
                    .help("write the image as `registry/repository:tag@sha256:…`")
            } else {
                Finding::new(
                    &META,
                    image.value_span(error.range.clone()),
                    format!(
                        "`{}` is not a valid image reference: {}",
                        image.text,
                        error.message()
                    ),
                )
                .label(error.message())
                .help(error.help())
            };
            findings.push(model.about(image, finding));
        }
    }
}
