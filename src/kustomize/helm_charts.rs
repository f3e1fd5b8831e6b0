//! `helmCharts:` inflated with pinnace's Helm integration: a chart already in the tree under
//! `helmGlobals.chartHome` (default `charts/`) is rendered by `helm template` with the
//! entry's release name, namespace, values file (the chart's `values.yaml` by default),
//! `valuesInline` and `additionalValuesFiles`, as kustomize's HelmChartInflationGenerator
//! does. The helm program is the one the invoker chose (config `helm.binary` or `helm` on
//! PATH, see `crate::helm`), never one the tree names. A chart that is not in the tree
//! would have to be pulled from its repository: it stays "not built", with its entry, as
//! it does when no helm program is available.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::kustomization::{Builder, Kustomization, resolve};
use super::resource::Resource;
use super::{KustomizeError, NotBuilt};
use crate::helm::Render;
use crate::source::{SourceFile, Span};
use crate::yaml::{Limits, Node, load_stream};

/// The helm program and time limit the invoker's settings chose.
#[derive(Debug, Clone)]
pub struct HelmRunner {
    pub binary: PathBuf,
    pub timeout: Duration,
}

/// The runner the invoker's settings choose: `helm.binary` (which only the invoker's side
/// may set) or `helm` on PATH, unless `helm.render: false`.
pub fn runner_for(settings: &crate::config::Settings) -> Option<HelmRunner> {
    let helm = &settings.config.helm;
    if helm.render == Some(false) {
        return None;
    }
    let binary = crate::helm::find_binary(helm.binary.as_deref(), &settings.root)?;
    let seconds = helm
        .timeout_seconds
        .unwrap_or(crate::config::DEFAULT_TIMEOUT_SECONDS);
    Some(HelmRunner {
        binary,
        timeout: Duration::from_secs(seconds),
    })
}

/// `helm` on PATH, for `pinnace build` (which reads no config).
pub fn runner_on_path() -> Option<HelmRunner> {
    let binary = crate::helm::find_binary(None, Path::new("."))?;
    Some(HelmRunner {
        binary,
        timeout: Duration::from_secs(crate::config::DEFAULT_TIMEOUT_SECONDS),
    })
}

/// The legacy `helmChartInflationGenerator` entries, as kustomize reads them: each becomes a
/// `helmCharts` entry after those written (chart name, version, repo, values file, local
/// values and how they merge, release name; kustomize drops the rest), and the last
/// `chartHome` given is `helmGlobals.chartHome` unless `helmGlobals` is written.
pub fn fold_legacy(node: &mut Node) {
    let Some(legacy) = node.get("helmChartInflationGenerator").cloned() else {
        return;
    };
    let mut charts: Vec<Node> = node.list("helmCharts").to_vec();
    let mut chart_home = None;
    for old in legacy.as_sequence().unwrap_or(&[]) {
        let mut chart = Node::mapping(Vec::new(), old.span);
        for (from, to) in [
            ("chartName", "name"),
            ("chartVersion", "version"),
            ("chartRepoUrl", "repo"),
            ("values", "valuesFile"),
            ("valuesLocal", "valuesInline"),
            ("valuesMerge", "valuesMerge"),
            ("releaseName", "releaseName"),
        ] {
            if let Some(value) = old.get(from) {
                chart.set(to, value.clone());
            }
        }
        if let Some(home) = old.get("chartHome").filter(|h| h.as_str() != Some("")) {
            chart_home = Some(home.clone());
        }
        charts.push(chart);
    }
    node.set(
        "helmCharts",
        Node {
            span: legacy.span,
            value: crate::yaml::Value::Sequence(charts),
        },
    );
    if let Some(home) = chart_home
        && node.get("helmGlobals").is_none()
    {
        let span = home.span;
        node.set(
            "helmGlobals",
            Node::mapping(vec![(Node::scalar("chartHome", span), home)], span),
        );
    }
}

/// Renders the `helmCharts` entries of a kustomization into resources.
pub fn inflate(
    k: &Kustomization,
    resources: &mut Vec<Resource>,
    builder: &mut Builder,
) -> Result<(), KustomizeError> {
    let entries = k.node.list("helmCharts");
    if entries.is_empty() {
        return Ok(());
    }
    let chart_home = k
        .node
        .at(&["helmGlobals", "chartHome"])
        .and_then(Node::as_str)
        .unwrap_or("charts");
    for entry in entries {
        inflate_one(k, entry, chart_home, resources, builder)?;
    }
    Ok(())
}

fn inflate_one(
    k: &Kustomization,
    entry: &Node,
    chart_home: &str,
    resources: &mut Vec<Resource>,
    builder: &mut Builder,
) -> Result<(), KustomizeError> {
    let text = |key| entry.get(key).and_then(Node::as_str).unwrap_or("");
    let name = text("name");
    if name.is_empty() {
        return Err(KustomizeError::at(
            "a `helmCharts` entry needs a `name`",
            entry.span,
        ));
    }
    let (repo, version) = (text("repo"), text("version"));
    // kustomize keeps a pulled chart of a given version in `chartHome/NAME-VERSION/NAME`.
    let home = if !version.is_empty() && !repo.is_empty() {
        Path::new(chart_home).join(format!("{name}-{version}"))
    } else {
        PathBuf::from(chart_home)
    };
    let chart = k.dir.join(&home).join(name);
    let Some(chart) = resolve(&chart)
        .ok()
        .filter(|c| c.join("Chart.yaml").is_file())
    else {
        if repo.is_empty() {
            return Err(KustomizeError::at(
                format!(
                    "no repo specified for pull, no chart found at `{}`",
                    home.join(name).display()
                ),
                entry.span,
            ));
        }
        builder.not_built.push(NotBuilt {
            span: entry.span,
            reason: format!(
                "Helm chart `{name}` is not in the tree (under `{chart_home}`); pulling it from `{repo}` needs the network, which pinnace's build never uses"
            ),
        });
        return Ok(());
    };
    if !chart.starts_with(&k.dir) {
        return Err(KustomizeError::at(
            format!(
                "chart `{name}` is outside {}: kustomize's load restrictor refuses it",
                k.dir.display()
            ),
            entry.span,
        ));
    }
    let Some(runner) = builder.options.helm.clone() else {
        builder.not_built.push(NotBuilt {
            span: entry.span,
            reason: format!("Helm chart `{name}` is not rendered: no helm program (install helm, or set helm.binary)"),
        });
        return Ok(());
    };
    let scratch = tempfile::tempdir().map_err(|e| {
        KustomizeError::at(
            format!("cannot make a folder for helm values: {e}"),
            entry.span,
        )
    })?;
    let render = Render {
        binary: runner.binary.clone(),
        release: Some(text("releaseName"))
            .filter(|r| !r.is_empty())
            .unwrap_or("release-name")
            .to_string(),
        chart: chart.clone(),
        confine: k.dir.clone(),
        namespace: Some(text("namespace"))
            .filter(|n| !n.is_empty())
            .map(str::to_string),
        values: values_files(k, entry, &chart, scratch.path(), builder)?,
        timeout: runner.timeout,
        extra_args: extra_args(entry),
    };
    let output = render.run().map_err(|message| {
        KustomizeError::at(format!("Helm chart `{name}`: {message}"), entry.span)
    })?;
    let source_name = format!("{} (helm template {})", chart.display(), render.release);
    let length = u32::try_from(output.len()).unwrap_or(u32::MAX);
    let stream = load_stream(&output, Limits::default());
    let documents = crate::helm::Sources::scan(&output)
        .map(|sources| sources.documents().to_vec())
        .unwrap_or_default();
    let base = builder.sources.add(SourceFile::new(source_name, output));
    // A finding in rendered output belongs, for a person, to the template line that wrote
    // it, else to the `helmCharts` entry.
    let documents = read_templates(&chart, documents, builder);
    builder.charts.push(super::RenderedChart {
        start: base,
        end: base.saturating_add(length),
        documents,
        entry: entry.span,
    });
    // The chart is the build's: its files are not checked again on their own.
    read_chart_file(&chart.join("Chart.yaml"), builder);
    if let Some(error) = stream.error {
        return Err(KustomizeError::at(
            format!(
                "Helm chart `{name}` rendered invalid YAML: {}",
                error.message
            ),
            entry.span,
        ));
    }
    let rendered = stream
        .documents
        .into_iter()
        .filter(|d| !d.is_null())
        .map(|mut document| {
            document.shift(base);
            Resource::new(document)
        });
    super::kustomization::extend_checked(resources, rendered)
}

/// The templates the rendered documents name (`# Source:`), read into the build's sources
/// (each once), with the build offset of each document's template.
fn read_templates(
    chart: &Path,
    documents: Vec<(u32, Option<String>)>,
    builder: &mut Builder,
) -> Vec<(u32, Option<u32>)> {
    let mut read: std::collections::HashMap<String, Option<u32>> = Default::default();
    documents
        .into_iter()
        .map(|(start, written)| {
            let template = written.and_then(|written| {
                *read.entry(written.clone()).or_insert_with(|| {
                    let path = crate::helm::template_path(chart, &written)?;
                    read_chart_file(&path, builder)
                })
            });
            (start, template)
        })
        .collect()
}

/// A file of the chart, read into the build's sources (bounded, as every tree file is); its
/// build offset.
fn read_chart_file(path: &Path, builder: &mut Builder) -> Option<u32> {
    let text = crate::files::read_text(path).ok()?;
    Some(
        builder
            .sources
            .add(SourceFile::new(path.display().to_string(), text)),
    )
}

/// `-f` files in kustomize's order: the values file (the chart's own by default), the
/// inline values over it, then the additional files.
fn values_files(
    k: &Kustomization,
    entry: &Node,
    chart: &Path,
    scratch: &Path,
    builder: &mut Builder,
) -> Result<Vec<PathBuf>, KustomizeError> {
    let mut files = Vec::new();
    let merge = entry
        .get("valuesMerge")
        .and_then(Node::as_str)
        .unwrap_or("");
    if !matches!(merge, "" | "override" | "merge" | "replace") {
        return Err(KustomizeError::at(
            "valuesMerge must be one of [merge override replace]",
            entry.get("valuesMerge").map_or(entry.span, |v| v.span),
        ));
    }
    let inline = entry
        .get("valuesInline")
        .filter(|v| v.as_mapping().is_some_and(|m| !m.is_empty()));
    // `replace`: the inline values instead of the values file (helm still starts from the
    // chart's own defaults).
    if !(inline.is_some() && merge == "replace") {
        match entry.get("valuesFile").and_then(Node::as_str) {
            Some(path) => files.push(in_root(k, path, entry.span, builder)?),
            None if chart.join("values.yaml").is_file() => {
                // Read into the build: the chart's values are checked through what it renders.
                read_chart_file(&chart.join("values.yaml"), builder);
                files.push(chart.join("values.yaml"));
            }
            None => {}
        }
    }
    if let Some(inline) = inline {
        // JSON is YAML, and keeps every value's type as written.
        let text = crate::config::to_json(inline).to_string();
        let path = scratch.join("values-inline.yaml");
        std::fs::write(&path, text).map_err(|e| {
            KustomizeError::at(format!("cannot write the inline values: {e}"), inline.span)
        })?;
        // `merge`: the values file wins over the inline values (helm's later `-f` wins).
        if merge == "merge" {
            files.insert(0, path);
        } else {
            files.push(path);
        }
    }
    for item in entry.list("additionalValuesFiles") {
        let path = item.as_str().unwrap_or("");
        files.push(in_root(k, path, item.span, builder)?);
    }
    Ok(files)
}

/// A file the entry names, read (so held to the kustomization's folder) and its path.
fn in_root(
    k: &Kustomization,
    path: &str,
    span: Span,
    builder: &mut Builder,
) -> Result<PathBuf, KustomizeError> {
    builder.read_bytes(k, path, span)?;
    resolve(&k.dir.join(path))
        .map_err(|e| KustomizeError::at(format!("`{path}` cannot be read: {e}"), span))
}

/// The `helm template` flags the entry's switches ask for.
fn extra_args(entry: &Node) -> Vec<OsString> {
    let flag = |key| entry.get(key).and_then(Node::as_str) == Some("true");
    let mut args: Vec<OsString> = Vec::new();
    if let Some(template) = entry.get("nameTemplate").and_then(Node::as_str) {
        args.extend(["--name-template".into(), template.into()]);
    }
    for version in entry.list("apiVersions").iter().filter_map(Node::as_str) {
        args.extend(["--api-versions".into(), version.into()]);
    }
    if let Some(version) = entry.get("kubeVersion").and_then(Node::as_str) {
        args.extend(["--kube-version".into(), version.into()]);
    }
    for (key, switch) in [
        ("includeCRDs", "--include-crds"),
        ("skipTests", "--skip-tests"),
        ("skipHooks", "--no-hooks"),
    ] {
        if flag(key) {
            args.push(switch.into());
        }
    }
    args
}
