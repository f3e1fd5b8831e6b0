//! New `images:` entries for a kustomization whose base lies outside the paths pin may edit:
//! `- name: N / newTag: "T" / digest: D`, after the last entry or as a new `images:` list at
//! the end of the file. Verified like every rewrite: the result parses to the old document
//! plus exactly these entries.

use serde_json::{Value as Json, json};

use super::VerifyError;
use crate::config::to_json;
use crate::yaml::{Limits, Node, Value, load_stream};

/// An entry to add: the image name as the base writes it, its tag, and the digest.
pub struct NewEntry {
    pub name: String,
    pub tag: String,
    pub digest: String,
}

pub fn append_images_entries(text: &str, entries: &[NewEntry]) -> Result<String, VerifyError> {
    let unable = |why: &str| VerifyError(why.to_string());
    let stream = load_stream(text, Limits::default());
    let root = match (&stream.error, stream.documents.first()) {
        (None, Some(root)) if root.as_mapping().is_some() => root,
        _ => return Err(unable("the kustomization is not one YAML map")),
    };
    let eol = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let new_text = match root.get("images") {
        Some(images) => after_last_entry(text, images, entries, eol)
            .ok_or_else(|| unable("its `images:` is not a block list of maps"))?,
        None => {
            let mut out = text.to_string();
            if !out.is_empty() && !out.ends_with('\n') {
                out.push_str(eol);
            }
            out.push_str("images:");
            for entry in entries {
                out.push_str(eol);
                out.push_str(&entry_lines(entry, "", eol));
            }
            out.push_str(eol);
            out
        }
    };
    verify(root, &new_text, entries)?;
    Ok(new_text)
}

/// The new entries after the line that ends the last one, at its indentation.
fn after_last_entry(text: &str, images: &Node, entries: &[NewEntry], eol: &str) -> Option<String> {
    let last = images.as_sequence()?.last()?;
    let (first_key, _) = last.as_mapping()?.first()?;
    let key_start = first_key.span.start as usize;
    let line_start = text[..key_start].rfind('\n').map_or(0, |i| i + 1);
    let dash = key_start.checked_sub(2)?;
    if dash < line_start || &text[dash..key_start] != "- " {
        return None;
    }
    let indent = &text[line_start..dash];
    let after = last.span.end as usize;
    let line_end = text[after..].find('\n').map_or(text.len(), |i| after + i);
    let at = if text[..line_end].ends_with('\r') {
        line_end - 1
    } else {
        line_end
    };
    let mut out = text[..at].to_string();
    for entry in entries {
        out.push_str(eol);
        out.push_str(&entry_lines(entry, indent, eol));
    }
    out.push_str(&text[at..]);
    Some(out)
}

fn entry_lines(entry: &NewEntry, indent: &str, eol: &str) -> String {
    format!(
        "{indent}- name: {}{eol}{indent}  newTag: {}{eol}{indent}  digest: {}",
        entry.name,
        serde_json::to_string(&entry.tag).unwrap_or_default(),
        entry.digest
    )
}

fn verify(old_root: &Node, new_text: &str, entries: &[NewEntry]) -> Result<(), VerifyError> {
    let stream = load_stream(new_text, Limits::default());
    let new_root = match (&stream.error, stream.documents.first()) {
        (None, Some(root)) => root,
        _ => return Err(VerifyError("the new images: entries do not parse".into())),
    };
    let mut expected = to_json(old_root);
    let Json::Object(map) = &mut expected else {
        return Err(VerifyError("not a map".into()));
    };
    let images = map
        .entry("images")
        .or_insert_with(|| Json::Array(Vec::new()));
    let Json::Array(items) = images else {
        return Err(VerifyError("images is not a list".into()));
    };
    items.extend(
        entries
            .iter()
            .map(|e| json!({"name": e.name, "newTag": e.tag, "digest": e.digest})),
    );
    if to_json(new_root) != expected || !matches!(new_root.value, Value::Mapping(_)) {
        return Err(VerifyError(
            "adding images: entries would change more than them".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> NewEntry {
        NewEntry {
            name: "ghcr.io/acme/web".into(),
            tag: "1.0".into(),
            digest: format!("sha256:{}", "a".repeat(64)),
        }
    }

    #[test]
    fn appends_after_the_last_entry_at_its_indentation() {
        let text = "resources:\n- ../base\nimages:\n  - name: nginx\n    newTag: \"1.27\"  # keep\nnamePrefix: x-\n";
        let out = append_images_entries(text, &[entry()]).unwrap();
        let digest = "a".repeat(64);
        assert_eq!(
            out,
            format!(
                "resources:\n- ../base\nimages:\n  - name: nginx\n    newTag: \"1.27\"  # keep\n  - name: ghcr.io/acme/web\n    newTag: \"1.0\"\n    digest: sha256:{digest}\nnamePrefix: x-\n"
            )
        );
    }

    #[test]
    fn starts_an_images_list_when_there_is_none() {
        let text = "resources:\r\n- ../../elsewhere/base";
        let out = append_images_entries(text, &[entry()]).unwrap();
        assert!(out.starts_with("resources:\r\n- ../../elsewhere/base\r\nimages:\r\n- name: ghcr.io/acme/web\r\n  newTag: \"1.0\"\r\n"), "{out:?}");
        assert!(
            append_images_entries("images: [{name: a}]\n", &[entry()]).is_err(),
            "flow lists are left alone"
        );
    }
}
