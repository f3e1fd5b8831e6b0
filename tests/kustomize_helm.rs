//! `helmCharts` in a Kustomize build, rendered by the helm on PATH (the golden case's
//! expected output was made by `kubectl kustomize --enable-helm`). Without helm, the chart
//! is reported as not built, with its entry.

use std::path::Path;

use pinnace::kustomize;
use pinnace::yaml::{Limits, load_stream};

fn case() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/kustomize/211-helm-local-chart")
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

#[test]
fn local_chart_renders_as_kubectl_kustomize_enable_helm() {
    let runner = kustomize::runner_on_path();
    let has_helm = runner.is_some();
    kustomize::set_helm(runner);
    let build = kustomize::build(&case()).expect("the case builds");
    if !has_helm {
        assert_eq!(
            build.not_built.len(),
            1,
            "without helm the chart is not built"
        );
        assert!(build.not_built[0].reason.contains("no helm program"));
        return;
    }
    assert!(build.not_built.is_empty(), "{:?}", build.not_built);
    let expected = std::fs::read_to_string(case().join("expected.yaml")).unwrap();
    let ours = kustomize::emit_yaml(&build.resources);
    assert_eq!(
        documents(&ours),
        documents(&expected),
        "pinnace build:\n{ours}"
    );
    // A finding in the rendered output is placed at the `helmCharts` entry.
    let deployment = build
        .resources
        .iter()
        .find(|r| r.kind() == "Deployment")
        .unwrap();
    let (file, _) = build.locate(deployment.node.span).unwrap();
    assert!(file.name.ends_with("kustomization.yaml"), "{}", file.name);
}
