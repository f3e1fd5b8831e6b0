//! What pinnace's Kustomize build does not implement is refused with its reason and line,
//! never built as if the unsupported part were not there.

use std::path::Path;
use std::process::Command;

fn build(files: &[(&str, &str)]) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let output = Command::new(env!("CARGO_BIN_EXE_pinnace"))
        .args(["--color", "never", "build"])
        .arg(dir.path())
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")))
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

const DEPLOY: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    spec:\n      containers:\n      - {name: web, image: nginx:1.25}\n";

#[test]
fn a_transformer_config_with_places_of_its_own_is_refused() {
    let (built, said) = build(&[
        ("deploy.yaml", DEPLOY),
        (
            "tag.yaml",
            "apiVersion: builtin\nkind: ImageTagTransformer\nmetadata: {name: t}\nimageTag: {name: nginx, newTag: \"1.27\"}\nfieldSpecs:\n- kind: Deployment\n  path: spec/template/spec/containers[]/image\n",
        ),
        (
            "kustomization.yaml",
            "resources: [deploy.yaml]\ntransformers: [tag.yaml]\n",
        ),
    ]);
    assert!(!built, "{said}");
    assert!(
        said.contains("`fieldSpecs` of a ImageTagTransformer are not supported"),
        "{said}"
    );

    // Without fieldSpecs it is the kustomization's `images:` field, and builds.
    let (built, said) = build(&[
        ("deploy.yaml", DEPLOY),
        (
            "tag.yaml",
            "apiVersion: builtin\nkind: ImageTagTransformer\nmetadata: {name: t}\nimageTag: {name: nginx, newTag: \"1.27\"}\n",
        ),
        (
            "kustomization.yaml",
            "resources: [deploy.yaml]\ntransformers: [tag.yaml]\n",
        ),
    ]);
    assert!(built, "{said}");
    assert!(said.contains("image: nginx:1.27"), "{said}");
}

#[test]
fn a_configuration_that_adds_label_places_is_refused() {
    let (built, said) = build(&[
        ("deploy.yaml", DEPLOY),
        (
            "config.yaml",
            "commonLabels:\n- {kind: Deployment, path: spec/selector/matchLabels, create: true}\ntemplateLabels:\n- {kind: Widget, path: spec/template/labels, create: true}\n",
        ),
        (
            "kustomization.yaml",
            "resources: [deploy.yaml]\nconfigurations: [config.yaml]\nlabels:\n- pairs: {app: web}\n  includeTemplates: true\n",
        ),
    ]);
    assert!(!built, "{said}");
    assert!(
        said.contains("`templateLabels` in a configuration file is not supported"),
        "{said}"
    );
}
