//! Pin planning for images that Helm values and GitOps resources set. An image string
//! (`image: nginx:1.25`) is pinned like a manifest's; an image map gets the digest where the
//! chart reads it: into its `digest:` key when it has one with a value or an explicit empty
//! one (`""`, `~`, `null`), otherwise after its tag (`tag: 1.25@sha256:…`, which charts render
//! as `repository:1.25@sha256:…`); a Kustomize-style `images:` entry (Flux `spec.images`) gets
//! `digest:` as an overlay's entry does. Values inside a YAML string are never edited.

use super::plan::{
    EditKind, PinOptions, PinTarget, SkipReason, TargetAction, eligible, plan_overlay_entry,
    plan_pins,
};
use crate::config::Settings;
use crate::image_ref::ImageRef;
use crate::model::{ImageUse, Model, ValuesImage, ValuesShape};
use crate::source::Span;
use crate::yaml::{Node, ScalarStyle};

/// [`plan_pins`] for a model whose last images are `values` (as
/// [`crate::model::add_values`] adds them), which are planned here. `text` is the file's.
pub fn plan_values_pins(
    model: &Model<'_>,
    values: &[ValuesImage],
    text: &str,
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
        plan.1 = plan_value(image, value, text, settings, options);
    }
    plans
}

fn plan_value(
    image: &ImageUse<'_>,
    value: &ValuesImage,
    text: &str,
    settings: &Settings,
    options: PinOptions,
) -> Result<PinTarget, SkipReason> {
    let (reference, tag) = eligible(&image.parsed, settings, options)?;
    if !value.editable {
        return Err(SkipReason::NotEditable);
    }
    let lookup = format!("{}:{tag}", reference.name());
    match &value.shape {
        ValuesShape::String => in_scalar(&value.node, reference, lookup, options),
        ValuesShape::Renamed { scalar } => in_scalar(scalar, reference, lookup, options),
        ValuesShape::Map { .. } if value.points_at_reference() => {
            in_scalar(&value.node, reference, lookup, options)
        }
        ValuesShape::Map { tag, digest, .. } => {
            in_map(tag.as_ref(), digest.as_ref(), reference, lookup)
        }
        ValuesShape::ImagesEntry { entry } => {
            plan_overlay_entry(entry, text, &image.parsed, image.text, settings, options)
        }
    }
}

/// The digest after the reference a scalar holds (or in place of its digest, to update).
fn in_scalar(
    node: &Node,
    reference: &ImageRef,
    lookup: String,
    options: PinOptions,
) -> Result<PinTarget, SkipReason> {
    let text = node.as_str().ok_or(SkipReason::NotEditable)?;
    let (range, prefix) = match (text.rfind('@'), reference.tag()) {
        (Some(at), _) => (at + 1..text.len(), ""),
        (None, None) if options.allow_latest => (text.len()..text.len(), ":latest@"),
        (None, _) => (text.len()..text.len(), "@"),
    };
    target(node, range, prefix, reference, lookup)
}

/// The digest into a map's `digest:`, or after its tag.
fn in_map(
    tag: Option<&Node>,
    digest: Option<&Node>,
    reference: &ImageRef,
    lookup: String,
) -> Result<PinTarget, SkipReason> {
    if let Some((node, range)) = digest.and_then(|node| Some((node, digest_slot(node)?))) {
        return target(node, range, "", reference, lookup);
    }
    let node = tag.ok_or(SkipReason::NotEditable)?;
    let text = node.as_str().ok_or(SkipReason::NotEditable)?;
    match text.rfind('@') {
        Some(at) => target(node, at + 1..text.len(), "", reference, lookup),
        None => target(node, text.len()..text.len(), "@", reference, lookup),
    }
}

fn target(
    node: &Node,
    range: std::ops::Range<usize>,
    prefix: &str,
    reference: &ImageRef,
    lookup: String,
) -> Result<PinTarget, SkipReason> {
    let text = node.as_scalar().map_or("", |s| s.text.as_str());
    let edit_span = if node.is_null() && !node.span.is_empty() {
        node.span // `~` or `null` is replaced whole
    } else {
        node.exact_span(range.clone())
            .ok_or(SkipReason::NotEditable)?
    };
    let action = match reference.digest() {
        Some(current) => TargetAction::Update {
            current: current.clone(),
        },
        None => TargetAction::Pin,
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
        _ => Some(0..scalar.text.len()),
    }
}
