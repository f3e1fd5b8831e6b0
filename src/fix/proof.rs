//! Proof that a rewrite changed only what it meant to: the new text parses to the same tree
//! as the old, except for the edited scalars, which hold exactly their new values.

use crate::source::Span;
use crate::yaml::{Limits, Node, Value, load_stream};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the rewritten file would not keep its structure ({0}); left unchanged")]
pub struct VerifyError(pub String);

/// `changed` maps the span of each edited scalar in the old text to its expected new value;
/// `inserted` names mappings (by their old span) that must have gained one `key: value` entry
/// at their end.
pub fn verify_edit(
    old: &[Node],
    new_text: &str,
    changed: &[(Span, String)],
    inserted: &[(Span, &str, String)],
) -> Result<(), VerifyError> {
    let edits = Edits { changed, inserted };
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
        .try_for_each(|(old, new)| same_tree(old, new, &edits))
}

struct Edits<'a> {
    changed: &'a [(Span, String)],
    inserted: &'a [(Span, &'a str, String)],
}

fn same_tree(old: &Node, new: &Node, edits: &Edits<'_>) -> Result<(), VerifyError> {
    match (&old.value, &new.value) {
        (Value::Scalar(a), Value::Scalar(b)) => {
            let expected = edits
                .changed
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
            .try_for_each(|(x, y)| same_tree(x, y, edits)),
        (Value::Mapping(a), Value::Mapping(b)) => {
            let added = edits.inserted.iter().find(|(span, _, _)| *span == old.span);
            let expected_len = a.len() + usize::from(added.is_some());
            if b.len() != expected_len {
                return Err(VerifyError("a map gained or lost entries".into()));
            }
            if let (Some((_, key, value)), Some((kb, vb))) = (added, b.last())
                && (kb.as_str() != Some(*key) || vb.as_str() != Some(value.as_str()))
            {
                return Err(VerifyError(format!("`{key}` was not added as planned")));
            }
            a.iter().zip(b).try_for_each(|((ka, va), (kb, vb))| {
                same_tree(ka, kb, edits)?;
                same_tree(va, vb, edits)
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
        let check = |new: &str| verify_edit(&docs(old), new, &changed, &[]);
        assert!(check("image: nginx:1.25@sha256:ab # c\nx: 1\n").is_ok());
        assert!(check("image: nginx:1.25@sha256:ab # c\nx: 2\n").is_err());
        assert!(check("image: nginx:1.25 # c\nx: 1\n").is_err());
    }

    #[test]
    fn accepts_exactly_the_planned_key() {
        let old = "images:\n- name: nginx\n  newTag: \"1.27\"\n";
        let entry = docs(old)[0].get("images").unwrap().as_sequence().unwrap()[0].span;
        let inserted = [(entry, "digest", "sha256:ab".to_string())];
        let check = |new: &str| verify_edit(&docs(old), new, &[], &inserted);
        assert!(check("images:\n- name: nginx\n  newTag: \"1.27\"\n  digest: sha256:ab\n").is_ok());
        assert!(
            check("images:\n- name: nginx\n  newTag: \"1.28\"\n  digest: sha256:ab\n").is_err()
        );
        assert!(check(old).is_err());
    }
}
