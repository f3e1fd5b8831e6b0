//! Which image values `pin` may rewrite, and how: the digest goes right after the tag, so
//! `nginx:1.25` becomes `nginx:1.25@sha256:…` and nothing else in the scalar moves.

use crate::config::Settings;
use crate::image_ref::{Digest, ImageRef};
use crate::model::{ImageUse, Model, ParsedImage};
use crate::source::Span;

#[derive(Debug, Clone, Copy, Default)]
pub struct PinOptions {
    /// Re-resolve `tag@digest` references and replace a digest whose tag moved.
    pub update: bool,
    /// Pin `latest` and untagged references as `name:latest@sha256:…`.
    pub allow_latest: bool,
    /// Pin images from registries outside `registries.trusted`.
    pub include_untrusted: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetAction {
    /// Add a digest after the tag.
    Pin,
    /// Compare the written digest with the tag's and replace it when they differ.
    Update { current: Digest },
}

/// One image value to resolve and, if the registry answers, rewrite.
#[derive(Debug, Clone)]
pub struct PinTarget {
    /// The whole scalar, for verification and messages.
    pub node_span: Span,
    /// The bytes the new digest text replaces (empty when inserting).
    pub edit_span: Span,
    /// Written before the digest: `@` when inserting, `:latest@` for an untagged reference
    /// pinned with `--allow-latest`, empty when replacing a digest.
    pub prefix: &'static str,
    /// The image as written.
    pub text: String,
    /// The part of `text` that `edit_span` covers.
    pub value_range: std::ops::Range<usize>,
    /// What to ask the registry for: `registry/repository:tag`.
    pub lookup: String,
    pub reference: ImageRef,
    pub action: TargetAction,
}

impl PinTarget {
    /// The scalar's value once `digest` is written into it.
    pub fn new_value(&self, digest: &Digest) -> String {
        let range = &self.value_range;
        format!(
            "{}{}{digest}{}",
            &self.text[..range.start],
            self.prefix,
            &self.text[range.end..]
        )
    }

    /// The text that replaces `edit_span`.
    pub fn replacement(&self, digest: &Digest) -> String {
        format!("{}{digest}", self.prefix)
    }
}

/// Why an image is left as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SkipReason {
    AlreadyPinned,
    Latest,
    Untagged,
    Untrusted,
    Templated,
    Invalid,
    /// Written with escapes or as a block scalar: no exact bytes to edit.
    NotEditable,
}

impl SkipReason {
    pub fn describe(self) -> &'static str {
        match self {
            SkipReason::AlreadyPinned => "already pinned",
            SkipReason::Latest => "tag `latest` (name a version, or pass --allow-latest)",
            SkipReason::Untagged => "no tag (name a version, or pass --allow-latest)",
            SkipReason::Untrusted => {
                "registry not in registries.trusted (pass --include-untrusted)"
            }
            SkipReason::Templated => "template placeholder, not an image yet",
            SkipReason::Invalid => "not a valid image reference",
            SkipReason::NotEditable => "written with escapes or as a block scalar; edit it by hand",
        }
    }
}

/// A decision for every image of a model, in model order.
pub fn plan_pins(
    model: &Model<'_>,
    settings: &Settings,
    options: PinOptions,
) -> Vec<(Span, Result<PinTarget, SkipReason>)> {
    model
        .images
        .iter()
        .map(|image| (image.node.span, plan_one(image, settings, options)))
        .collect()
}

fn plan_one(
    image: &ImageUse<'_>,
    settings: &Settings,
    options: PinOptions,
) -> Result<PinTarget, SkipReason> {
    let reference = match &image.parsed {
        ParsedImage::Ref(reference) => reference,
        ParsedImage::Templated => return Err(SkipReason::Templated),
        ParsedImage::Invalid(_) => return Err(SkipReason::Invalid),
    };
    if !options.include_untrusted && !settings.is_trusted(&reference.name()) {
        return Err(SkipReason::Untrusted);
    }
    let text = image.text;
    if reference.digest().is_some() && (!options.update || reference.tag().is_none()) {
        return Err(SkipReason::AlreadyPinned);
    }
    let (tag, prefix) = match reference.tag() {
        Some("latest") if !options.allow_latest => return Err(SkipReason::Latest),
        None if !options.allow_latest => return Err(SkipReason::Untagged),
        None => ("latest", ":latest@"),
        Some(tag) => (tag, "@"),
    };
    let (range, prefix, action) = match reference.digest() {
        Some(current) => {
            let at = text.rfind('@').ok_or(SkipReason::Invalid)?;
            (
                at + 1..text.len(),
                "",
                TargetAction::Update {
                    current: current.clone(),
                },
            )
        }
        None => (text.len()..text.len(), prefix, TargetAction::Pin),
    };
    let edit_span = image
        .node
        .exact_span(range.clone())
        .ok_or(SkipReason::NotEditable)?;
    Ok(PinTarget {
        node_span: image.node.span,
        edit_span,
        prefix,
        text: text.to_string(),
        value_range: range,
        lookup: format!("{}:{tag}", reference.name()),
        reference: reference.clone(),
        action,
    })
}
