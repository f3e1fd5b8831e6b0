//! Pin planning for Helm values. An image string (`image: nginx:1.25`) is pinned like a
//! manifest's; an image map gets the digest where the chart reads it: into its `digest:` key
//! when it has one with a value or an explicit empty one (`""`, `~`, `null`), otherwise after
//! its tag (`tag: 1.25@sha256:…`, which charts render as `repository:1.25@sha256:…`).

use super::plan::{EditKind, PinOptions, PinTarget, SkipReason, TargetAction, plan_pins};
use crate::config::Settings;
use crate::image_ref::ImageRef;
use crate::model::{ImageUse, Model, ParsedImage, ValuesImage, ValuesShape};
use crate::source::Span;
use crate::yaml::{Node, ScalarStyle};

/// [`plan_pins`] for a model whose last images are `values` (as
/// [`crate::model::add_values`] adds them): image maps are planned here.
pub fn plan_values_pins(
    model: &Model<'_>,
    values: &[ValuesImage<'_>],
    settings: &Settings,
    options: PinOptions,
) -> Vec<(Span, Result<PinTarget, SkipReason>)> {
    let mut plans = plan_pins(model, settings, options);
    let first = model.images.len() - values.len();
    for ((plan, image), value) in plans[first..]
        .iter_mut()
        .zip(&model.images[first..])
        .zip(values)
    {
        if let ValuesShape::Map { tag, digest, .. } = &value.shape
            && (tag.is_some() || digest.is_some())
            && !std::ptr::eq(value.node, reference_of(&value.shape))
        {
            plan.1 = plan_map(image, *tag, *digest, settings, options);
        }
    }
    plans
}

fn reference_of<'a>(shape: &ValuesShape<'a>) -> &'a Node {
    match shape {
        ValuesShape::Map { reference, .. } => reference,
        ValuesShape::String => unreachable!("only maps have a reference key"),
    }
}

fn plan_map(
    image: &ImageUse<'_>,
    tag: Option<&Node>,
    digest: Option<&Node>,
    settings: &Settings,
    options: PinOptions,
) -> Result<PinTarget, SkipReason> {
    let (reference, lookup_tag) = eligible(&image.parsed, settings, options)?;
    let lookup = format!("{}:{lookup_tag}", reference.name());
    let action = match reference.digest() {
        Some(current) => TargetAction::Update {
            current: current.clone(),
        },
        None => TargetAction::Pin,
    };
    let (node, range, prefix) = match digest.filter(|node| digest_slot(node).is_some()) {
        Some(node) => (node, digest_slot(node).unwrap_or(0..0), ""),
        None => {
            let node = tag.ok_or(SkipReason::NotEditable)?;
            let text = node.as_str().ok_or(SkipReason::NotEditable)?;
            match text.rfind('@') {
                Some(at) => (node, at + 1..text.len(), ""),
                None => (node, text.len()..text.len(), "@"),
            }
        }
    };
    let text = node.as_scalar().map_or("", |s| s.text.as_str());
    let edit_span = if node.is_null() && !node.span.is_empty() {
        node.span // `~` or `null` is replaced whole
    } else {
        node.exact_span(range.clone())
            .ok_or(SkipReason::NotEditable)?
    };
    Ok(PinTarget {
        node_span: node.span,
        edit_span,
        prefix: prefix.to_string(),
        kind: EditKind::Scalar,
        text: text.to_string(),
        value_range: range,
        lookup,
        reference: reference.clone(),
        action,
    })
}

/// The part of a `digest:` value a digest replaces: all of it when it holds a digest, is
/// quoted empty, or is `~`/`null`. `None` for a bare `digest:` (no bytes to write into: the
/// tag gets the digest instead) and for block scalars.
fn digest_slot(node: &Node) -> Option<std::ops::Range<usize>> {
    let scalar = node.as_scalar()?;
    match scalar.style {
        ScalarStyle::Literal | ScalarStyle::Folded => None,
        ScalarStyle::Plain if node.span.is_empty() => None,
        ScalarStyle::Plain if node.is_null() => Some(0..scalar.text.len()),
        _ => Some(0..scalar.text.len()),
    }
}

/// The checks every pin makes: a valid, trusted reference, not pinned already (unless
/// `--update`), with a version tag (unless `--allow-latest`). Returns the tag to resolve.
fn eligible<'r>(
    parsed: &'r ParsedImage,
    settings: &Settings,
    options: PinOptions,
) -> Result<(&'r ImageRef, &'r str), SkipReason> {
    let reference = match parsed {
        ParsedImage::Ref(reference) => reference,
        ParsedImage::Templated => return Err(SkipReason::Templated),
        ParsedImage::Invalid(_) => return Err(SkipReason::Invalid),
    };
    if !options.include_untrusted && !settings.is_trusted(&reference.name()) {
        return Err(SkipReason::Untrusted);
    }
    if reference.digest().is_some() && (!options.update || reference.tag().is_none()) {
        return Err(SkipReason::AlreadyPinned);
    }
    match reference.tag() {
        Some("latest") if !options.allow_latest => Err(SkipReason::Latest),
        None if !options.allow_latest => Err(SkipReason::Untagged),
        None => Ok((reference, "latest")),
        Some(tag) => Ok((reference, tag)),
    }
}
