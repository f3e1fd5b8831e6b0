//! Which image values `pin` may rewrite, and how: the digest goes right after the tag, so
//! `nginx:1.25` becomes `nginx:1.25@sha256:…` and nothing else in the scalar moves.

use crate::config::Settings;
use crate::image_ref::{Digest, ImageRef};
use crate::model::{ImageUse, Model, ParsedImage};
use crate::source::Span;
use crate::yaml::Node;

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
    pub prefix: String,
    /// Whether the digest goes into the image scalar, or into a new key of a mapping.
    pub kind: EditKind,
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
        if let EditKind::InsertKey { .. } = self.kind {
            return digest.to_string();
        }
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

/// Where a digest is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EditKind {
    /// Into (part of) the scalar at `node_span`.
    Scalar,
    /// As a new `key: <digest>` entry of the mapping at `node_span` (a Kustomize `images:`
    /// entry gets `digest:`); `prefix` holds the line break, indentation and key.
    InsertKey { key: &'static str },
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
    let (reference, tag) = eligible(&image.parsed, settings, options)?;
    let text = image.text;
    // An untagged image pinned with `--allow-latest` says what the digest was resolved from.
    let prefix = if reference.tag().is_none() {
        ":latest@"
    } else {
        "@"
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
        prefix: prefix.to_string(),
        kind: EditKind::Scalar,
        text: text.to_string(),
        value_range: range,
        lookup: format!("{}:{tag}", reference.name()),
        reference: reference.clone(),
        action,
    })
}

/// A Kustomize `images:` entry that set an image in a build (`built`, as the build wrote it):
/// pinning gives the entry a `digest:` (kustomize keeps `newTag` beside it and writes
/// `name:tag@digest`), or with `--update` rewrites the `digest:` it has. `text` is the
/// kustomization file's text, for indentation and line endings.
pub fn plan_overlay_entry(
    entry: &Node,
    text: &str,
    built: &ParsedImage,
    built_text: &str,
    settings: &Settings,
    options: PinOptions,
) -> Result<PinTarget, SkipReason> {
    let (reference, tag) = eligible(built, settings, options)?;
    let base = PinTarget {
        node_span: entry.span,
        edit_span: entry.span,
        prefix: String::new(),
        kind: EditKind::Scalar,
        text: built_text.to_string(),
        value_range: 0..0,
        lookup: format!("{}:{tag}", reference.name()),
        reference: reference.clone(),
        action: TargetAction::Pin,
    };
    if let Some(current) = reference.digest() {
        // --update: the entry's own `digest:` value is what changes.
        let digest = entry.get("digest").ok_or(SkipReason::NotEditable)?;
        let length = digest.as_str().ok_or(SkipReason::NotEditable)?.len();
        return Ok(PinTarget {
            node_span: digest.span,
            edit_span: digest
                .exact_span(0..length)
                .ok_or(SkipReason::NotEditable)?,
            value_range: 0..length,
            text: digest.as_str().unwrap_or_default().to_string(),
            action: TargetAction::Update {
                current: current.clone(),
            },
            ..base
        });
    }
    let entries = entry.as_mapping().ok_or(SkipReason::NotEditable)?;
    let ((first_key, _), (_, last_value)) = (
        entries.first().ok_or(SkipReason::NotEditable)?,
        entries.last().ok_or(SkipReason::NotEditable)?,
    );
    let bytes = text.as_bytes();
    let (at, prefix) = if bytes.get(entry.span.end as usize - 1) == Some(&b'}') {
        (entry.span.end as usize - 1, ", digest: ".to_string())
    } else {
        // After the last value's line, so a comment on that line stays where it is.
        let after = last_value.span.end as usize;
        let line_end = text[after..].find('\n').map_or(text.len(), |i| after + i);
        let crlf = line_end > 0 && bytes.get(line_end - 1) == Some(&b'\r');
        let at = if crlf { line_end - 1 } else { line_end };
        let line_start = text[..first_key.span.start as usize]
            .rfind('\n')
            .map_or(0, |i| i + 1);
        let indent = " ".repeat(first_key.span.start as usize - line_start);
        let eol = if crlf { "\r\n" } else { "\n" };
        (at, format!("{eol}{indent}digest: "))
    };
    Ok(PinTarget {
        edit_span: Span::new(at, at),
        prefix,
        kind: EditKind::InsertKey { key: "digest" },
        ..base
    })
}

/// The checks every pin makes: a valid, trusted reference, not pinned already (unless
/// `--update`), with a version tag (unless `--allow-latest`). Returns the tag to resolve.
pub fn eligible<'r>(
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
