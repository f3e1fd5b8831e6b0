//! Proof that a rewrite changed only what it meant to: the new text parses to the same tree
//! as the old, except for the edited scalars, which hold exactly their new values.

use crate::source::Span;
use crate::yaml::{Limits, Node, Value, load_stream};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the rewritten file would not keep its structure ({0}); left unchanged")]
pub struct VerifyError(pub String);

/// `changed` maps the span of each edited scalar in the old text to its expected new value.
pub fn verify_edit(
    old: &[Node],
    new_text: &str,
    changed: &[(Span, String)],
) -> Result<(), VerifyError> {
    let stream = load_stream(new_text, Limits::default());
    if let Some(error) = stream.error {
        return Err(VerifyError(format!(
            "it no longer parses: {}",
            error.message
        )));
    }
    if stream.documents.len() != old.len() {
        return Err(VerifyError("the number of documents changed".into()));
    }
    old.iter()
        .zip(&stream.documents)
        .try_for_each(|(old, new)| same_tree(old, new, changed))
}

fn same_tree(old: &Node, new: &Node, changed: &[(Span, String)]) -> Result<(), VerifyError> {
    match (&old.value, &new.value) {
        (Value::Scalar(a), Value::Scalar(b)) => {
            let expected = changed
                .iter()
                .find(|(span, _)| *span == old.span)
                .map_or(a.text.as_str(), |(_, value)| value.as_str());
            if b.text != expected || a.style != b.style {
                return Err(VerifyError(format!("`{}` became `{}`", a.text, b.text)));
            }
            Ok(())
        }
        (Value::Sequence(a), Value::Sequence(b)) if a.len() == b.len() => a
            .iter()
            .zip(b)
            .try_for_each(|(x, y)| same_tree(x, y, changed)),
        (Value::Mapping(a), Value::Mapping(b)) if a.len() == b.len() => {
            a.iter().zip(b).try_for_each(|((ka, va), (kb, vb))| {
                same_tree(ka, kb, changed)?;
                same_tree(va, vb, changed)
            })
        }
        _ => Err(VerifyError("a collection changed shape".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn docs(text: &str) -> Vec<Node> {
        load_stream(text, Limits::default()).documents
    }

    #[test]
    fn accepts_exactly_the_planned_change() {
        let old = "image: nginx:1.25 # c\nx: 1\n";
        let span = docs(old)[0].get("image").unwrap().span;
        let changed = [(span, "nginx:1.25@sha256:ab".to_string())];
        assert!(
            verify_edit(
                &docs(old),
                "image: nginx:1.25@sha256:ab # c\nx: 1\n",
                &changed
            )
            .is_ok()
        );
        assert!(
            verify_edit(
                &docs(old),
                "image: nginx:1.25@sha256:ab # c\nx: 2\n",
                &changed
            )
            .is_err()
        );
        assert!(verify_edit(&docs(old), "image: nginx:1.25 # c\nx: 1\n", &changed).is_err());
    }
}
