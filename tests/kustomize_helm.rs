//! `helmCharts` (and the legacy `helmChartInflationGenerator`) in a Kustomize build,
//! rendered by the helm on PATH (the golden cases' expected output was made by `kubectl
//! kustomize --enable-helm`). Without helm, the chart is reported as not built, with its
//! entry. Findings in rendered output land on the template line that wrote them, where that
//! is certain.

use std::path::Path;

use pinnace::kustomize;
use pinnace::yaml::{Limits, load_stream};

fn case(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/kustomize")
        .join(name)
}

/// Documents as sorted canonical JSON.
fn documents(text: &str) -> Vec<String> {
    let mut docs: Vec<String> = load_stream(text, Limits::default())
        .documents
        .iter()
        .filter(|d| !d.is_null())
        .map(|d| canonical(&pinnace::config::to_json(d)))
        .collect();
    docs.sort();
    docs
}

/// JSON with keys sorted at every level.
fn canonical(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let fields: Vec<String> = keys
                .into_iter()
                .map(|k| {
                    format!(
                        "{}:{}",
                        serde_json::Value::from(k.as_str()),
                        canonical(&map[k])
                    )
                })
                .collect();
            format!("{{{}}}", fields.join(","))
        }
        serde_json::Value::Array(items) => {
            format!(
                "[{}]",
                items.iter().map(canonical).collect::<Vec<_>>().join(",")
            )
        }
        other => other.to_string(),
    }
}

fn options() -> kustomize::BuildOptions {
    kustomize::BuildOptions {
        helm: kustomize::runner_on_path(),
        fetch: false,
    }
}

/// The helm cases: each must build as its `expected.yaml`, or (without helm) report its
/// chart as not built.
const CASES: &[&str] = &[
    "211-helm-local-chart",
    "212-helm-legacy-inflation-generator",
    "213-helm-values-merge-replace",
];

#[test]
fn local_charts_render_as_kubectl_kustomize_enable_helm() {
    let options = options();
    for name in CASES {
        let build = kustomize::build(&case(name), &options).expect("the case builds");
        if options.helm.is_none() {
            assert!(
                !build.not_built.is_empty(),
                "{name}: without helm, not built"
            );
            assert!(build.not_built[0].reason.contains("no helm program"));
            continue;
        }
        assert!(build.not_built.is_empty(), "{name}: {:?}", build.not_built);
        let expected = std::fs::read_to_string(case(name).join("expected.yaml")).unwrap();
        let ours = kustomize::emit_yaml(&build.resources);
        assert_eq!(
            documents(&ours),
            documents(&expected),
            "{name}: pinnace build:\n{ours}"
        );
    }
}

/// Where a rendered node lands for a person: `(file name, line)`.
fn place(build: &kustomize::Build, span: pinnace::source::Span) -> (String, u32) {
    let (file, local) = build.locate(span).unwrap();
    (file.name.clone(), file.position(local.start).line)
}

/// The image node of container `index` of the build's Deployment.
fn image_span(build: &kustomize::Build, index: usize) -> pinnace::source::Span {
    let deployment = build
        .resources
        .iter()
        .find(|r| r.kind() == "Deployment")
        .unwrap();
    let containers = deployment
        .node
        .at(&["spec", "template", "spec", "containers"])
        .and_then(|c| c.as_sequence())
        .unwrap();
    containers[index].get("image").unwrap().span
}

#[test]
fn rendered_lines_land_on_the_template_line_where_certain() {
    let options = options();
    if options.helm.is_none() {
        return;
    }
    // A literal line of the template is that line; a templated one that the template writes
    // once is its line too.
    let build = kustomize::build(&case("212-helm-legacy-inflation-generator"), &options).unwrap();
    let (file, line) = place(&build, image_span(&build, 1));
    assert!(
        file.ends_with("vendor/api/templates/deployment.yaml"),
        "{file}"
    );
    assert_eq!(line, 20);
    let (file, line) = place(&build, image_span(&build, 0));
    assert!(
        file.ends_with("vendor/api/templates/deployment.yaml"),
        "{file}"
    );
    assert_eq!(line, 18);

    // An image the kustomization's `images:` retags keeps the template line it was written
    // at (the finding itself goes to the entry, see tests/check_kustomize.rs).
    let build = kustomize::build(&case("211-helm-local-chart"), &options).unwrap();
    let (file, line) = place(&build, image_span(&build, 0));
    assert!(
        file.ends_with("charts/web/templates/deployment.yaml"),
        "{file}"
    );
    assert_eq!(line, 20);
    // A flow list the template writes with `{{ }}` once: its line.
    let build = kustomize::build(&case("213-helm-values-merge-replace"), &options).unwrap();
    let deployment = build
        .resources
        .iter()
        .find(|r| r.kind() == "Deployment")
        .unwrap();
    let args = deployment
        .node
        .at(&["spec", "template", "spec", "containers"])
        .and_then(|c| c.as_sequence())
        .unwrap()[0]
        .get("args")
        .and_then(|a| a.as_sequence())
        .unwrap()[0]
        .span;
    let (file, line) = place(&build, args);
    assert!(
        file.ends_with("third_party/worker/templates/worker.yaml"),
        "{file}"
    );
    assert_eq!(line, 17);
}

/// A helmCharts overlay in a fresh tree: a chart under `helmGlobals.chartHome` whose
/// template writes `image`.
fn helm_tree(image: &str) -> tempfile::TempDir {
    let tree = tempfile::tempdir().unwrap();
    let files = [
        (
            "kustomization.yaml",
            "helmGlobals:\n  chartHome: third_party\nhelmCharts:\n- name: worker\n  releaseName: jobs\n".to_string(),
        ),
        (
            "third_party/worker/Chart.yaml",
            "apiVersion: v2\nname: worker\nversion: 0.1.0\n".to_string(),
        ),
        ("third_party/worker/values.yaml", "queue: default\n".to_string()),
        (
            "third_party/worker/templates/worker.yaml",
            format!(
                "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{{{ .Release.Name }}}}-worker\nspec:\n  template:\n    spec:\n      containers:\n      - name: worker\n        image: {image}\n        args: [\"--queue={{{{ .Values.queue }}}}\"]\n"
            ),
        ),
    ];
    for (name, text) in files {
        let path = tree.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    tree
}

fn pinnace(tree: &Path, args: &[&str]) -> (String, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_pinnace"))
        .args(["--color", "never"])
        .args(args)
        .current_dir(tree)
        .output()
        .unwrap();
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn check_reports_a_helmcharts_chart_once_at_its_template_line() {
    if options().helm.is_none() {
        return;
    }
    let tree = helm_tree("ghcr.io/acme/worker:3.2.1");
    let (out, err) = pinnace(
        tree.path(),
        &[
            "check",
            "--format",
            "concise",
            "--select",
            "digest-pinning",
            ".",
        ],
    );
    let findings: Vec<&str> = out
        .lines()
        .filter(|l| l.contains("digest-pinning"))
        .collect();
    // Built through the kustomization, and not rendered again as a chart on its own.
    assert_eq!(
        findings,
        [
            "third_party/worker/templates/worker.yaml:10:16: digest-pinning image `ghcr.io/acme/worker:3.2.1` is not pinned to a digest"
        ],
        "{out}{err}"
    );
    assert!(!err.contains("not built"), "{err}");
}

#[test]
fn images_and_pin_build_helmcharts_charts() {
    if options().helm.is_none() {
        return;
    }
    let tree = helm_tree("ghcr.io/acme/worker:3.2.1");
    let (out, err) = pinnace(tree.path(), &["images", "."]);
    assert_eq!(
        out.trim(),
        "third_party/worker/templates/worker.yaml:10:16\tDeployment/jobs-worker\tworker\tghcr.io/acme/worker:3.2.1\ttagged",
        "{err}"
    );
    assert!(!err.contains("not built"), "{err}");

    // pin renders it too: the chart's image is one to resolve, and nothing says "not built".
    // (Port 9 on loopback answers nothing, so the run fails there, offline.)
    let tree = helm_tree("127.0.0.1:9/acme/worker:3.2.1");
    std::fs::write(
        tree.path().join(".pinnace.yaml"),
        "registries:\n  insecure: [\"127.0.0.1:9\"]\n",
    )
    .unwrap();
    let (out, err) = pinnace(tree.path(), &["pin", "--dry-run", "--quiet", "."]);
    assert!(
        err.contains("127.0.0.1:9/acme/worker:3.2.1"),
        "the chart's image is resolved: {out}{err}"
    );
    assert!(
        !err.contains("not built") && !err.contains("not rendered"),
        "{err}"
    );
}

/// Helm follows the links of a `helmCharts` chart; one that leaves the kustomization's root
/// is refused (as kustomize refuses such a resource), and what it points at is never printed.
#[test]
fn a_helmcharts_chart_linking_out_of_the_root_is_refused() {
    if options().helm.is_none() {
        return;
    }
    let tree = helm_tree("{{ .Files.Get \"files/env\" | trim | quote }}");
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(
        outside.path().join("secret"),
        "registry.example/TOKEN-hunter2:1\n",
    )
    .unwrap();
    std::fs::create_dir_all(tree.path().join("third_party/worker/files")).unwrap();
    std::os::unix::fs::symlink(
        outside.path().join("secret"),
        tree.path().join("third_party/worker/files/env"),
    )
    .unwrap();
    for command in [&["build", "."][..], &["check", "."], &["images", "."]] {
        let (out, err) = pinnace(tree.path(), command);
        assert!(
            !format!("{out}{err}").contains("hunter2"),
            "{command:?}: {out}{err}"
        );
        assert!(
            format!("{out}{err}").contains("`files/env` is a symbolic link out of "),
            "{command:?}: {out}{err}"
        );
    }
}
