//! One file's rewrite: the resolved digests written into its planned targets, verified.

use super::plan::{EditKind, PinTarget, TargetAction};
use super::proof::{VerifyError, verify_edit};
use super::{Edit, apply_edits};
use crate::registry::{RegistryError, Resolutions};
use crate::source::Span;
use crate::yaml::{Limits, load_stream};

/// What happened to one target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Pinned,
    /// `--update` replaced a digest whose tag had moved.
    Updated,
    /// `--update` found the written digest still current.
    Current,
    Failed(RegistryError),
}

#[derive(Debug)]
pub struct FileRewrite {
    /// The new text, or `None` when nothing changes.
    pub new_text: Option<String>,
    /// Each target with what happened to it, in file order.
    pub outcomes: Vec<(PinTarget, Outcome)>,
}

/// Writes resolved digests into one file's targets and verifies the result against the old
/// text (parsed again here, so that callers need not keep every file's tree in memory while
/// registries answer).
pub fn rewrite_file(
    text: &str,
    targets: Vec<PinTarget>,
    resolutions: &Resolutions,
) -> Result<FileRewrite, VerifyError> {
    let mut edits: Vec<Edit> = Vec::new();
    let mut changed: Vec<(Span, String)> = Vec::new();
    let mut inserted: Vec<(Span, &'static str, String)> = Vec::new();
    let mut outcomes = Vec::with_capacity(targets.len());
    for target in targets {
        let outcome = match resolutions.get(&target.lookup) {
            None => continue,
            Some(Err(error)) => Outcome::Failed(error.clone()),
            Some(Ok(manifest)) => {
                let digest = &manifest.digest;
                let outcome = match &target.action {
                    TargetAction::Update { current } if current == digest => Outcome::Current,
                    TargetAction::Update { .. } => Outcome::Updated,
                    TargetAction::Pin => Outcome::Pinned,
                };
                // An alias repeats its anchor's scalar: edit those bytes once.
                if outcome != Outcome::Current && !edits.iter().any(|e| e.span == target.edit_span)
                {
                    edits.push(Edit {
                        span: target.edit_span,
                        replacement: target.replacement(digest),
                    });
                    match target.kind {
                        EditKind::Scalar => {
                            changed.push((target.node_span, target.new_value(digest)))
                        }
                        EditKind::InsertKey { key } => {
                            inserted.push((target.node_span, key, target.new_value(digest)))
                        }
                    }
                }
                outcome
            }
        };
        outcomes.push((target, outcome));
    }
    if edits.is_empty() {
        return Ok(FileRewrite {
            new_text: None,
            outcomes,
        });
    }
    let new_text = apply_edits(text, &edits);
    let documents = load_stream(text, Limits::default()).documents;
    verify_edit(&documents, &new_text, &changed, &inserted)?;
    Ok(FileRewrite {
        new_text: Some(new_text),
        outcomes,
    })
}
