//! `.pinnace.yaml`: what the user asks of pinnace, read with spans so that a mistake is
//! reported at its line like any other finding.

mod base_policy;
mod helm_settings;
mod parse;
mod revision;
mod settings;
mod signature_entries;
mod trust;

pub use base_policy::{changed_files, described_changes, take_policy};
pub use helm_settings::{
    DEFAULT_TIMEOUT_SECONDS, HelmChart, HelmConfig, MAX_TIMEOUT_SECONDS, check_namespace,
    check_release_name,
};
pub use parse::{
    CONFIG_FILE_NAMES, ConfigError, find_config_file, load_config, parse_config, to_json,
};
pub use revision::{RevisionConfig, RevisionError, read_at_revision};
pub use settings::{PolicyFiles, RuleSelection, Settings};
pub(crate) use settings::{glob_set, host_glob};
pub use signature_entries::{KeylessIdentity, SignatureEntry, identity_regex, outside_reason};
pub use trust::{CONFIG_ENV, add_invoker_settings, restrict_to_tree, user_config_file};

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

use crate::finding::Severity;

/// The whole config file.
#[derive(Debug, Default, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "pinnace configuration (.pinnace.yaml)")]
pub struct Config {
    /// Which registries images may come from, and how to reach them.
    #[serde(default)]
    pub registries: Registries,
    /// Severity of each rule by id: `error`, `warning`, `note` or `off`.
    #[serde(default)]
    #[schemars(schema_with = "rule_levels_schema")]
    pub rules: BTreeMap<String, RuleLevel>,
    /// Globs, relative to the config file's folder, of paths pinnace never reads.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Rule severities for some paths only; later entries win.
    #[serde(default)]
    pub overrides: Vec<Override>,
    /// Extra places that hold images, for custom resources.
    #[serde(default)]
    pub images: Vec<ImageLocation>,
    /// Helm values files, and how charts are rendered.
    #[serde(default)]
    pub helm: HelmConfig,
    /// How Kustomize builds treat what lies outside the tree.
    #[serde(default)]
    pub kustomize: KustomizeConfig,
    /// The namespace of resources that name none and that no Kustomize `namespace:` sets
    /// (`default` when absent). Workloads and NetworkPolicies only match within a namespace.
    pub default_namespace: Option<String>,
    /// What the network policy rules ask for.
    #[serde(default)]
    pub network_policies: NetworkPolicies,
    /// Images that must be signed, and the keys that sign them (checked with `--online`).
    #[serde(default)]
    pub signatures: Vec<SignatureEntry>,
}

#[derive(Debug, Default, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KustomizeConfig {
    /// Clone remote bases (git URLs) into the cache, pinned to their ref, as
    /// `check --fetch-remote` does. Honoured only from the invoker's config (`--config`,
    /// `PINNACE_CONFIG`, the user's config), never from one found in the tree.
    pub fetch_remote: Option<bool>,
}

#[derive(Debug, Default, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NetworkPolicies {
    /// Also require egress isolation: `missing-default-deny` wants a policy that denies all
    /// egress too, and `missing-network-policy` a policy that selects each pod for egress.
    #[serde(default)]
    pub egress: bool,
    /// Globs, relative to the config file's folder, of test fixtures: workloads that test runs
    /// deploy (Tekton catalog `tests/`, Argo CD `test/e2e/`), which never serve, so the
    /// network rules do not judge them. Default `["**/tests/**", "**/e2e/**", "**/fixtures/**"]`;
    /// `[]` judges every workload. An `overrides` entry that sets a network rule for a path still applies there.
    pub test_fixtures: Option<Vec<String>>,
}

/// Where test fixtures live when config does not say. `test/` alone is left out: it is as often
/// an environment (`overlays/test`) as a test suite.
pub const DEFAULT_TEST_FIXTURES: [&str; 3] = ["**/tests/**", "**/e2e/**", "**/fixtures/**"];

impl NetworkPolicies {
    /// The test fixture globs in force.
    pub fn test_fixture_globs(&self) -> Vec<String> {
        match &self.test_fixtures {
            Some(globs) => globs.clone(),
            None => DEFAULT_TEST_FIXTURES
                .iter()
                .map(|g| g.to_string())
                .collect(),
        }
    }
}

#[derive(Debug, Default, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Registries {
    /// Globs on the normalized image name (`docker.io/library/*`, `ghcr.io/acme/**`); a bare
    /// host (`registry.example.com`) trusts everything it serves. When absent, every registry
    /// is trusted and `untrusted-registry` reports nothing.
    pub trusted: Option<Vec<String>>,
    /// Registries whose images need pull credentials.
    #[serde(default)]
    pub private: Vec<String>,
    /// Hosts spoken to over plain HTTP.
    #[serde(default)]
    pub insecure: Vec<String>,
    /// Registry host to mirror host, e.g. `docker.io: mirror.example.com`.
    #[serde(default)]
    pub mirrors: BTreeMap<String, String>,
    /// Extra CA certificate files (PEM), relative to the config file.
    #[serde(default)]
    pub ca_files: Vec<String>,
}

/// A rule's severity, or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RuleLevel {
    Error,
    Warning,
    Note,
    Off,
}

impl RuleLevel {
    pub fn severity(self) -> Option<Severity> {
        match self {
            RuleLevel::Error => Some(Severity::Error),
            RuleLevel::Warning => Some(Severity::Warning),
            RuleLevel::Note => Some(Severity::Note),
            RuleLevel::Off => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Override {
    /// Globs relative to the config file's folder.
    pub paths: Vec<String>,
    #[serde(default)]
    #[schemars(schema_with = "rule_levels_schema")]
    pub rules: BTreeMap<String, RuleLevel>,
    /// `complete`: these files define every Secret their pods use, so `dangling-pull-secret`
    /// checks them; `partial`: they do not (a Kustomize root is complete unless its folder is
    /// marked `partial`).
    pub scope: Option<ScopeKind>,
}

/// Whether a set of files is all a cluster gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ScopeKind {
    Complete,
    Partial,
}

/// Where a custom resource holds images: give `path` to an image string
/// (`spec.steps[].image`) or `pod_spec` to a Kubernetes PodSpec (`spec.template.spec`).
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ImageLocation {
    /// API group, e.g. `example.com`; empty for the core group.
    #[serde(default)]
    pub group: String,
    pub kind: String,
    pub path: Option<String>,
    pub pod_spec: Option<String>,
}

/// A map from rule id to level, with the ids listed so that editors can complete them.
fn rule_levels_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let ids: Vec<&str> = crate::rules::catalog().map(|rule| rule.id).collect();
    let level = generator.subschema_for::<RuleLevel>();
    schemars::json_schema!({
        "type": "object",
        "propertyNames": {"enum": ids},
        "additionalProperties": level,
    })
}

/// The JSON Schema of the config file, for editors.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(Config);
    serde_json::to_string_pretty(&schema).expect("a schema serializes") + "\n"
}
