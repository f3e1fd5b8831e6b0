//! The fuzz targets' checks (fuzz/src/lib.rs, included here) run in the normal suite: over
//! the seeds the fuzzers start from (testdata/), and over every input a fuzzer found that
//! broke one of them. CI runs these; it never runs the fuzzers themselves (scripts/fuzz).

#[path = "../fuzz/src/lib.rs"]
#[allow(dead_code)]
mod fuzz_checks;

use std::path::{Path, PathBuf};

use fuzz_checks::{check_config, check_image_ref, check_kustomize, check_pin_plan, check_yaml};

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata")
}

/// Every YAML or JSON file below `dir`; Helm templates (not YAML) only with `templates`.
fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>, templates: bool) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            if templates || path.file_name().is_some_and(|n| n != "templates") {
                yaml_files(&path, out, templates);
            }
        } else if path
            .extension()
            .is_some_and(|e| e == "yaml" || e == "yml" || e == "json")
        {
            out.push(path);
        }
    }
}

/// A Kustomize case folder as a tree input (the `=== PATH` format of fuzz/src/lib.rs), with
/// its charts' templates, as `scripts/fuzz` packs it (a helmCharts root renders them: the
/// pin check once failed on the `images:` entry pin appends for a chart's image).
fn pack(dir: &Path) -> String {
    let mut files = Vec::new();
    yaml_files(dir, &mut files, true);
    files.sort();
    let mut tree = String::new();
    for file in files {
        let name = file
            .strip_prefix(dir)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        if name == "expected.yaml" || name == "case.yaml" {
            continue;
        }
        tree.push_str(&format!("=== {name}\n"));
        tree.push_str(&std::fs::read_to_string(&file).unwrap());
        tree.push('\n');
    }
    tree
}

fn kustomize_cases() -> Vec<PathBuf> {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(testdata().join("kustomize"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    cases
}

#[test]
fn the_seeds_pass_the_yaml_and_image_checks() {
    let mut files = Vec::new();
    yaml_files(&testdata(), &mut files, false);
    assert!(files.len() > 100, "{} seeds", files.len());
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        check_yaml(&text);
        for line in text.lines() {
            if let Some(image) = line.trim().strip_prefix("image:") {
                check_image_ref(image.trim().trim_matches(|c| c == '"' || c == '\''));
            }
        }
        if file.file_name().is_some_and(|n| n == ".pinnace.yaml") {
            check_config(&text);
        }
    }
}

#[test]
fn the_single_file_seeds_pass_the_pin_check() {
    let mut files = Vec::new();
    yaml_files(&testdata(), &mut files, false);
    for file in files
        .iter()
        .filter(|f| !f.starts_with(testdata().join("kustomize")))
    {
        let text = std::fs::read_to_string(file).unwrap();
        check_pin_plan(&format!("=== app.yaml\n{text}"));
    }
}

#[test]
fn the_seeds_pass_the_kustomize_and_pin_checks() {
    for case in kustomize_cases() {
        let tree = pack(&case);
        check_kustomize(&tree);
        check_pin_plan(&tree);
    }
}
