//! The checks the fuzz targets run, one per target, and how one fuzz input becomes a small
//! tree of files written below `target/` (never outside it). tests/fuzz_regressions.rs
//! includes this file, so every crash found is replayed by the normal test suite.
//!
//! A tree input is a list of files, each introduced by a line `=== PATH`:
//!
//! ```text
//! === kustomization.yaml
//! resources: [app.yaml]
//! === app.yaml
//! kind: Pod
//! ```
//!
//! Text before the first header belongs to `kustomization.yaml`. Paths are cut down to safe
//! relative ones (letters, digits, `.-_/`, no `..`, at most 4 levels), at most `MAX_FILES` files.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use pinnace::config::{RuleSelection, Settings, parse_config};
use pinnace::fix::PinOptions;
use pinnace::image_ref::{Digest, ImageRef};
use pinnace::model::{Catalog, extract};
use pinnace::pin_plan::{apply_file, plan_paths};
use pinnace::registry::{Manifest, Resolutions};
use pinnace::yaml::{Limits, load_stream};

pub const MAX_FILES: usize = 16;

/// The files of a tree input, as (relative path, text).
pub fn split_tree(input: &str) -> Vec<(PathBuf, String)> {
    let mut files: Vec<(PathBuf, String)> = Vec::new();
    let mut current = (PathBuf::from("kustomization.yaml"), String::new());
    for line in input.split_inclusive('\n') {
        if let Some(name) = line.strip_prefix("=== ") {
            if !current.1.is_empty() || current.0 != Path::new("kustomization.yaml") {
                files.push(current);
            }
            current = (safe_path(name.trim()), String::new());
        } else {
            current.1.push_str(line);
        }
    }
    files.push(current);
    files.truncate(MAX_FILES);
    files
}

fn safe_path(name: &str) -> PathBuf {
    let parts: Vec<String> = name
        .split('/')
        .map(|part| {
            part.chars()
                .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
                .collect::<String>()
        })
        .filter(|part| !part.is_empty() && part != "." && part != "..")
        .take(4)
        .collect();
    if parts.is_empty() {
        return PathBuf::from("file.yaml");
    }
    parts.iter().collect()
}

/// The YAML loader, then the model extracted from what it loaded: no panic, no hang, an
/// error offset inside the text.
pub fn check_yaml(text: &str) {
    let stream = load_stream(text, Limits::default());
    if let Some(error) = &stream.error {
        assert!(
            error.offset as usize <= text.len(),
            "error offset past the end"
        );
    }
    let catalog = Catalog::builtin();
    let model = extract(&stream.documents, &catalog);
    for image in &model.images {
        let _ = format!("{image:?}");
    }
}

/// The image reference parser: no panic, the tag range is the tag, and a normalized
/// reference parses to itself.
pub fn check_image_ref(text: &str) {
    let Ok(reference) = ImageRef::parse(text) else {
        return;
    };
    let _ = (
        reference.registry(),
        reference.repository(),
        reference.name(),
    );
    if let Some(range) = reference.tag_range() {
        assert_eq!(text.get(range), reference.tag(), "tag range off the tag");
    }
    assert!(reference.name_end() <= text.len());
    let printed = reference.to_string();
    let again = ImageRef::parse(&printed).expect("a normalized reference parses");
    assert_eq!(again.to_string(), printed);
}

/// `.pinnace.yaml` loading and compiling: an error or settings, never a panic.
pub fn check_config(text: &str) {
    match parse_config(".pinnace.yaml", text) {
        Ok(config) => {
            let _ = Settings::new(config, "/nonexistent".into(), RuleSelection::default());
        }
        Err(error) => {
            let _ = error.to_string();
        }
    }
}

/// A Kustomize build of a tree input: a build or an error, never a panic or a hang.
pub fn check_kustomize(text: &str) {
    let dir = tree_dir();
    write_tree(dir.path(), &split_tree(text));
    match pinnace::kustomize::build(dir.path(), &pinnace::kustomize::BuildOptions::default()) {
        Ok(build) => {
            let _ = build.files().count();
        }
        Err(error) => {
            let _ = error.to_string();
        }
    }
}

/// The digest every image of a `check_pin_plan` run resolves to.
pub const FAKE_DIGEST: &str =
    "sha256:f0220f0220f0220f0220f0220f0220f0220f0220f0220f0220f0220f0220f022";

/// Pin's edit planner over a tree input, every image resolved to `FAKE_DIGEST`: every change
/// is the insertion of that digest (removing it gives back the file), and a second run over
/// the pinned files changes nothing.
pub fn check_pin_plan(text: &str) {
    if text.contains(&FAKE_DIGEST[7..]) {
        return; // the property could not tell its own digest from the input's
    }
    let dir = tree_dir();
    write_tree(dir.path(), &split_tree(text));
    let changed = pin_once(dir.path());
    for (path, old, new) in &changed {
        // Digests inserted where images are written; else (also) whole `images:` entries
        // appended, where a new list at the end of a file without a final newline starts one.
        let (unappended, appended) = without_appended_entries(new);
        let stripped = without_digest_edits(&unappended);
        let same = without_digest_edits(new) == *old
            || stripped == *old
            || (appended && stripped.strip_suffix('\n') == Some(old.as_str()));
        assert!(
            same,
            "{}: an edit that is not a digest insertion\nold: {old:?}\nnew: {new:?}",
            path.display()
        );
        std::fs::write(path, new).unwrap();
    }
    let again = pin_once(dir.path());
    let paths: Vec<&PathBuf> = again.iter().map(|c| &c.0).collect();
    assert!(again.is_empty(), "a second run changed {paths:?}");
}

/// `text` without the edits pin may make: `@D` after a tag, `digest: D` as a new key of an
/// `images:` entry (on its own line, or `, digest: D` in a flow map), `D` as the value of an
/// empty `digest` key, where D is `FAKE_DIGEST`.
pub fn without_digest_edits(text: &str) -> String {
    let key = format!("digest: {FAKE_DIGEST}");
    let mut out = text.replace(&format!(", {key}"), "");
    while let Some(at) = out.find(&key) {
        let line_start = out[..at].rfind('\n').unwrap_or(0);
        let before = &out[line_start..at];
        let indent_only = before
            .trim_start_matches(['\r', '\n'])
            .trim_start_matches(' ')
            .is_empty();
        if !indent_only || line_start == 0 {
            break;
        }
        let start = if out[..line_start].ends_with('\r') {
            line_start - 1
        } else {
            line_start
        };
        out.replace_range(start..at + key.len(), "");
    }
    out.replace(&format!("@{FAKE_DIGEST}"), "")
        .replace(FAKE_DIGEST, "")
}

/// `text` without the `images:` entries pin appends to a kustomization for images it cannot
/// pin where they are written (a chart's template, a base outside the paths): the lines
/// `- name: N`, `newTag: "T"`, `digest: D` with D the fake digest, and the `images:` key it
/// adds at the end of the file for them; and whether there were any.
pub fn without_appended_entries(text: &str) -> (String, bool) {
    let digest_line = format!("digest: {FAKE_DIGEST}");
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut keep = vec![true; lines.len()];
    for i in 2..lines.len() {
        let entry = lines[i - 2].trim_start().starts_with("- name: ")
            && lines[i - 1].trim_start().starts_with("newTag: ")
            && lines[i].trim() == digest_line;
        if entry {
            keep[i - 2..=i].iter_mut().for_each(|k| *k = false);
        }
    }
    let appended = keep.iter().any(|k| !k);
    let mut out: String = lines
        .iter()
        .zip(&keep)
        .filter(|(_, keep)| **keep)
        .map(|(line, _)| *line)
        .collect();
    if appended {
        for header in ["images:\r\n", "images:\n"] {
            if let Some(rest) = out.strip_suffix(header) {
                out.truncate(rest.len());
                break;
            }
        }
    }
    (out, appended)
}

/// Plans and applies over `root`; (path, old text, new text) of every file that changes.
fn pin_once(root: &Path) -> Vec<(PathBuf, String, String)> {
    let settings = Settings::new(
        Default::default(),
        root.to_path_buf(),
        RuleSelection::default(),
    );
    let options = PinOptions {
        update: false,
        allow_latest: false,
        include_untrusted: true,
    };
    let plan = plan_paths(&[root.to_path_buf()], &settings, options);
    let digest = Digest::parse(FAKE_DIGEST).unwrap();
    let resolutions: Resolutions = plan
        .lookups()
        .into_keys()
        .map(|key| {
            let manifest = Manifest {
                digest: digest.clone(),
                media_type: "application/vnd.oci.image.index.v1+json".into(),
                body: None,
            };
            (key, Ok(manifest))
        })
        .collect::<HashMap<_, _>>();
    plan.into_files()
        .into_iter()
        .map(|file| apply_file(file, &resolutions))
        .filter_map(|result| Some((result.path, result.text, result.new_text?)))
        .collect()
}

/// A fresh folder below `target/trees` of the crate being built, removed when dropped.
pub fn tree_dir() -> tempfile::TempDir {
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/trees");
    let _ = std::fs::create_dir_all(&base);
    tempfile::Builder::new()
        .prefix("tree-")
        .tempdir_in(base)
        .expect("a temporary folder below fuzz/target")
}

/// Writes the files under `dir` (a file that cannot be written, because a folder of the same
/// name exists, is left out).
pub fn write_tree(dir: &Path, files: &[(PathBuf, String)]) {
    for (path, text) in files {
        let path = dir.join(path);
        if let Some(parent) = path.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        let _ = std::fs::write(path, text);
    }
}
