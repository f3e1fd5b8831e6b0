//! What pinnace's Kustomize build does not implement is refused with its reason and line,
//! never built as if the unsupported part were not there; what it does not run (validators,
//! which cannot change a build) is said at its line.

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
fn a_builtin_transformer_pinnace_does_not_build_is_refused() {
    let (built, said) = build(&[
        ("deploy.yaml", DEPLOY),
        (
            "add.yaml",
            "apiVersion: builtin\nkind: IAMPolicyGenerator\nmetadata: {name: s}\n",
        ),
        (
            "kustomization.yaml",
            "resources: [deploy.yaml]\ntransformers: [add.yaml]\n",
        ),
    ]);
    assert!(!built, "{said}");
    assert!(
        said.contains("builtin transformer `IAMPolicyGenerator` is not supported"),
        "{said}"
    );
}

#[test]
fn validators_are_not_run_and_said_so_at_their_line() {
    let (built, said) = build(&[
        ("deploy.yaml", DEPLOY),
        (
            "kustomization.yaml",
            "resources: [deploy.yaml]\nvalidators: [check.yaml]\nnamePrefix: p-\n",
        ),
    ]);
    assert!(built, "{said}");
    assert!(said.contains("name: p-web"), "the rest is built: {said}");
    assert!(said.contains("`validators` are not run"), "{said}");
    assert!(said.contains("kustomization.yaml:2:1"), "{said}");
}
