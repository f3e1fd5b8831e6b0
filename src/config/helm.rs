//! The `helm:` section of `.pinnace.yaml`: which files are values files, and how `pinnace
//! check` renders charts with the `helm` program.

use schemars::JsonSchema;
use serde::Deserialize;

/// How long one `helm template` may run, when config does not say.
pub const DEFAULT_TIMEOUT_SECONDS: u64 = 60;

#[derive(Debug, Default, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HelmConfig {
    /// Globs, relative to the config file's folder, of more values files (a `values.yaml`
    /// beside a `Chart.yaml`, and `values-*.yaml` there, are values files anyway).
    #[serde(default)]
    pub values: Vec<String>,
    /// The `helm` program `pinnace check` runs to render charts (default: `helm` on PATH).
    pub binary: Option<String>,
    /// Seconds one `helm template` may take before it is stopped (default 60).
    pub timeout_seconds: Option<u64>,
    /// Whether `pinnace check` renders charts with `helm` when it can (default true).
    pub render: Option<bool>,
    /// Release settings per chart; a chart not listed renders with its own `values.yaml` as
    /// release `release-name`.
    #[serde(default)]
    pub charts: Vec<HelmChart>,
}

/// How one chart is rendered: `helm template RELEASE PATH --namespace NS -f VALUES…`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HelmChart {
    /// The chart's folder (the one holding `Chart.yaml`), relative to the config file.
    pub path: String,
    /// The release name (default `release-name`, as `helm template` names it).
    pub release: Option<String>,
    pub namespace: Option<String>,
    /// Values files passed with `-f`, in order, relative to the config file; they are checked
    /// as values files too.
    #[serde(default)]
    pub values: Vec<String>,
}
