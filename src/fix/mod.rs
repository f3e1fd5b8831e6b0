//! Turns planned edits into written files: apply, verify, diff, write atomically.
//!
//! Nothing here knows about registries or rules; `pin` hands in byte ranges and their new text.

mod append;
mod diff;
mod plan;
mod rewrite;
mod temporary;
pub use temporary::clean_up_on_signal;
mod proof;
mod values_plan;
mod write;

pub use append::{NewEntry, append_images_entries};
pub use diff::unified_diff;
pub use plan::{
    EditKind, PinOptions, PinTarget, SkipReason, TargetAction, eligible, plan_overlay_entry,
    plan_pins,
};
pub use proof::{VerifyError, verify_edit};
pub use rewrite::{FileRewrite, Outcome, rewrite_file};
pub use values_plan::plan_values_pins;
pub use write::{WriteError, write_atomically};

use crate::source::Span;

/// Replace the bytes of `span` with `replacement` (an empty span inserts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub span: Span,
    pub replacement: String,
}

/// Applies non-overlapping edits; the result differs from `text` only inside their spans.
pub fn apply_edits(text: &str, edits: &[Edit]) -> String {
    let mut sorted: Vec<&Edit> = edits.iter().collect();
    sorted.sort_by_key(|edit| (edit.span.start, edit.span.end));
    let mut out = String::with_capacity(text.len() + edits.len() * 72);
    let mut cursor = 0;
    for edit in sorted {
        let range = edit.span.range();
        debug_assert!(range.start >= cursor, "edits overlap");
        out.push_str(&text[cursor..range.start]);
        out.push_str(&edit.replacement);
        cursor = range.end;
    }
    out.push_str(&text[cursor..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_apply_in_order_and_touch_nothing_else() {
        let text = "a: x\nb: y\n";
        let edits = [
            Edit {
                span: Span::new(9, 9),
                replacement: "@z".into(),
            },
            Edit {
                span: Span::new(3, 4),
                replacement: "xx".into(),
            },
        ];
        assert_eq!(apply_edits(text, &edits), "a: xx\nb: y@z\n");
    }
}
