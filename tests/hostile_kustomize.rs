//! Kustomizations written to break pinnace: files that resolve outside their root through a
//! symlink, files that are not regular files, component cycles and nesting deep enough to
//! exhaust a stack. Each is an error naming the problem, never a crash, a hang or a leak.

mod common;

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::time::{Duration, Instant};

use common::{run, stderr, tree};

const CONFIG_MAP: &str =
    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: secret}\ndata: {token: hunter2}\n";

/// `pinnace build DIR`, which must end within a few seconds: (exit code, stdout, stderr).
fn build(cwd: &Path, dir: &str) -> (i32, String, String) {
    let started = Instant::now();
    let output = run(cwd, &["build", dir]);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "build took too long"
    );
    let code = output
        .status
        .code()
        .expect("exited normally, not by a signal");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    (code, stdout, stderr(&output))
}

#[test]
fn a_resource_symlinked_out_of_its_root_is_refused() {
    let dir = tree(&[
        ("outside/secret.yaml", CONFIG_MAP),
        ("app/kustomization.yaml", "resources: [res.yaml]\n"),
    ]);
    symlink("../outside/secret.yaml", dir.path().join("app/res.yaml")).unwrap();
    let (code, stdout, stderr) = build(dir.path(), "app");
    assert_eq!(code, 2, "{stderr}");
    assert!(!stdout.contains("hunter2"), "{stdout}");
    assert!(stderr.contains("outside"), "{stderr}");
}

#[test]
fn a_resource_through_a_symlinked_folder_out_of_its_root_is_refused() {
    let dir = tree(&[
        ("outside/secret.yaml", CONFIG_MAP),
        ("app/kustomization.yaml", "resources: [sub/secret.yaml]\n"),
    ]);
    symlink("../outside", dir.path().join("app/sub")).unwrap();
    let (code, stdout, stderr) = build(dir.path(), "app");
    assert_eq!(code, 2, "{stderr}");
    assert!(!stdout.contains("hunter2"), "{stdout}");
}

#[test]
fn patch_and_generator_files_symlinked_out_of_their_root_are_refused() {
    for kustomization in [
        "resources: [cm.yaml]\npatches: [{path: p.yaml}]\n",
        "configMapGenerator: [{name: g, files: [p.yaml]}]\n",
        "resources: [cm.yaml]\nconfigurations: [p.yaml]\n",
    ] {
        let dir = tree(&[
            ("outside/secret.yaml", CONFIG_MAP),
            ("app/kustomization.yaml", kustomization),
            (
                "app/cm.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\n",
            ),
        ]);
        symlink("../outside/secret.yaml", dir.path().join("app/p.yaml")).unwrap();
        let (code, stdout, stderr) = build(dir.path(), "app");
        assert_eq!(code, 2, "{kustomization}: {stderr}");
        assert!(stderr.contains("outside"), "{kustomization}: {stderr}");
        assert!(!stdout.contains("hunter2"), "{stdout}");
    }
}

#[test]
fn a_kustomization_file_symlinked_out_of_its_folder_is_refused() {
    let dir = tree(&[(
        "outside/secret.yaml",
        "resources: []\nnamePrefix: hunter2-\n",
    )]);
    fs::create_dir_all(dir.path().join("app")).unwrap();
    symlink(
        "../outside/secret.yaml",
        dir.path().join("app/kustomization.yaml"),
    )
    .unwrap();
    let (code, _, stderr) = build(dir.path(), "app");
    assert_eq!(code, 2, "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");
}

#[test]
fn a_symlink_inside_its_root_is_followed() {
    let dir = tree(&[
        ("app/real/cm.yaml", CONFIG_MAP),
        ("app/kustomization.yaml", "resources: [cm.yaml]\n"),
    ]);
    symlink("real/cm.yaml", dir.path().join("app/cm.yaml")).unwrap();
    let (code, stdout, stderr) = build(dir.path(), "app");
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("name: secret"), "{stdout}");
}

fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn a_named_pipe_as_a_resource_is_refused_without_hanging() {
    let dir = tree(&[("app/kustomization.yaml", "resources: [pipe.yaml]\n")]);
    mkfifo(&dir.path().join("app/pipe.yaml"));
    let (code, _, stderr) = build(dir.path(), "app");
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("not a regular file"), "{stderr}");
    // check walks the tree too, and must not open the pipe either.
    let started = Instant::now();
    let output = run(dir.path(), &["check", "--format", "json", "app"]);
    assert!(started.elapsed() < Duration::from_secs(20));
    assert!(
        output.status.code().is_some(),
        "{}",
        common::stderr(&output)
    );
}

#[test]
fn a_device_as_a_resource_or_generator_file_is_refused() {
    for kustomization in [
        "resources: [zero.yaml]\n",
        "configMapGenerator: [{name: g, files: [zero.yaml]}]\n",
    ] {
        let dir = tree(&[("app/kustomization.yaml", kustomization)]);
        // Inside the root, so that only the file's type stands in the way.
        symlink("/dev/zero", dir.path().join("app/zero.yaml")).unwrap();
        let (code, _, stderr) = build(dir.path(), "app");
        assert_eq!(code, 2, "{kustomization}: {stderr}");
    }
}

const COMPONENT: &str = "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n";

#[test]
fn a_component_that_lists_itself_is_a_cycle() {
    for entry in ["\"\"", ".", "../self"] {
        let dir = tree(&[
            ("app/kustomization.yaml", "components: [../self]\n"),
            (
                "self/kustomization.yaml",
                &format!("{COMPONENT}components: [{entry}]\n"),
            ),
        ]);
        let (code, _, stderr) = build(dir.path(), "app");
        assert_eq!(code, 2, "{entry}: {stderr}");
        assert!(stderr.contains("cycle"), "{stderr}");
    }
}

#[test]
fn components_that_list_each_other_are_a_cycle_in_every_command() {
    let dir = tree(&[
        ("app/kustomization.yaml", "components: [../c1]\n"),
        (
            "c1/kustomization.yaml",
            &format!("{COMPONENT}components: [../c2]\n"),
        ),
        (
            "c2/kustomization.yaml",
            &format!("{COMPONENT}components: [../c1]\n"),
        ),
    ]);
    let (code, _, stderr) = build(dir.path(), "app");
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("cycle of components"), "{stderr}");
    for command in [
        &["check", "app"][..],
        &["images", "app"],
        &["pin", "--dry-run", "app"],
    ] {
        let output = run(dir.path(), command);
        let code = output.status.code();
        assert!(
            matches!(code, Some(0..=2)),
            "{command:?}: {}",
            common::stderr(&output)
        );
    }
}

#[test]
fn thousands_of_nested_kustomizations_are_an_error_not_a_crash() {
    let flat = tempfile::TempDir::new().unwrap();
    for level in 0..6000 {
        let folder = flat.path().join(format!("k{level}"));
        fs::create_dir_all(&folder).unwrap();
        fs::write(
            folder.join("kustomization.yaml"),
            format!("resources: [../k{}]\n", level + 1),
        )
        .unwrap();
    }
    fs::create_dir_all(flat.path().join("k6000")).unwrap();
    fs::write(
        flat.path().join("k6000/kustomization.yaml"),
        "resources: []\n",
    )
    .unwrap();
    let (code, _, stderr) = build(flat.path(), "k0");
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("nested"), "{stderr}");
    let output = run(flat.path(), &["check", "--format", "json", "k0"]);
    assert!(
        matches!(output.status.code(), Some(0..=2)),
        "{}",
        common::stderr(&output)
    );
}

#[test]
fn crd_definitions_that_refer_to_themselves_end() {
    // `A.spec` is an `A`, and `B` and `C` refer to each other: kustomize would recurse
    // forever; pinnace walks each type once per chain, and the reference it does find holds.
    let definitions = "x.A:\n  Schema:\n    properties:\n      apiVersion: {}\n      kind: {}\n      metadata: {}\n      spec: {$ref: x.A}\n      next: {$ref: x.B}\n      secret: {x-kubernetes-object-ref-api-version: v1, x-kubernetes-object-ref-kind: Secret}\nx.B:\n  Schema:\n    properties:\n      back: {$ref: x.C}\nx.C:\n  Schema:\n    properties:\n      back: {$ref: x.B}\n";
    let dir = tree(&[
        ("app/crds.yaml", definitions),
        (
            "app/a.yaml",
            "apiVersion: x/v1\nkind: A\nmetadata: {name: a}\nsecret: {name: s}\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: s}\n",
        ),
        (
            "app/kustomization.yaml",
            "namePrefix: p-\ncrds: [crds.yaml]\nresources: [a.yaml]\n",
        ),
    ]);
    let (code, stdout, stderr) = build(dir.path(), "app");
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("secret:\n  name: p-s"), "{stdout}");
}

#[test]
fn crd_definitions_that_fan_out_are_refused_quickly() {
    // Each type names the next twice, 30 deep: 2^30 paths.
    let mut definitions = String::from(
        "x.A:\n  Schema:\n    properties:\n      apiVersion: {}\n      kind: {}\n      metadata: {}\n      spec: {$ref: x.T0}\n",
    );
    for level in 0..30 {
        let next = level + 1;
        definitions.push_str(&format!(
            "x.T{level}:\n  Schema:\n    properties:\n      l: {{$ref: x.T{next}}}\n      r: {{$ref: x.T{next}}}\n"
        ));
    }
    let dir = tree(&[
        ("app/crds.yaml", definitions.as_str()),
        ("app/cm.yaml", CONFIG_MAP),
        (
            "app/kustomization.yaml",
            "crds: [crds.yaml]\nresources: [cm.yaml]\n",
        ),
    ]);
    let (code, _, stderr) = build(dir.path(), "app");
    assert_ne!(code, 0);
    assert!(stderr.contains("past pinnace's limit"), "{stderr}");
}
