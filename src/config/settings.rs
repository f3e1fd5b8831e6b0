//! The config compiled for a run: globs built once, rule levels resolved per file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};

use super::{Config, RuleLevel, ScopeKind};
use crate::finding::Severity;
use crate::model::{Catalog, FieldPath, Locator, Target};
use crate::rules::RuleMeta;

/// `--select` and `--ignore` from the command line.
#[derive(Debug, Clone, Default)]
pub struct RuleSelection {
    /// When set, only these rules run.
    pub select: Option<Vec<String>>,
    pub ignore: Vec<String>,
}

#[derive(Debug)]
pub struct Settings {
    pub config: Config,
    /// The folder config globs are relative to: the config file's, or the current one.
    pub root: PathBuf,
    trusted: Option<GlobSet>,
    private: GlobSet,
    exclude: GlobSet,
    /// `helm.values` globs and the `values` of `helm.charts`: values files wherever they are.
    values_files: GlobSet,
    overrides: Vec<(GlobSet, BTreeMap<String, RuleLevel>)>,
    /// `network_policies.test_fixtures`: paths whose workloads the network rules leave alone.
    test_fixtures: GlobSet,
    pub catalog: Catalog,
    selection: RuleSelection,
    /// Whether a config file was found walking up (not named with `--config`): its folder is
    /// then the repository whose resources the rules that reason across resources see,
    /// whatever paths a run checks.
    pub from_file: bool,
    /// Where the files `signatures` names (key files) are read from, when not `root`.
    pub policy_files: Option<PolicyFiles>,
    /// What a run should say about its config (a policy taken from a revision, and how the
    /// tree's differs).
    pub warnings: Vec<crate::finding::Warning>,
}

/// Where the files a config's `signatures` names are, when not beside the settings' root.
#[derive(Debug)]
pub enum PolicyFiles {
    /// The folder of the config the policy came from (`migrate --config` for a repository
    /// without a config of its own).
    Folder(PathBuf),
    /// `--policy-from`: the revision's copies, in a temporary folder that lasts the run.
    Revision(tempfile::TempDir),
}

/// Rule levels for one file, after config, overrides and the command line.
pub struct FileLevels<'a> {
    settings: &'a Settings,
    overrides: Vec<usize>,
    /// The file is a test fixture: the network rules are off unless an override sets them.
    test_fixture: bool,
}

/// The rules a test fixture is not judged by: its pods never serve.
const NETWORK_RULES: [&str; 2] = ["missing-network-policy", "missing-default-deny"];

impl Settings {
    /// Compiles a config that [`super::load_config`] already validated.
    pub fn new(config: Config, root: PathBuf, selection: RuleSelection) -> Settings {
        let trusted = config
            .registries
            .trusted
            .as_ref()
            .map(|patterns| glob_set(patterns.iter().map(|p| host_glob(p))));
        let private = glob_set(config.registries.private.iter().map(|p| host_glob(p)));
        let exclude = glob_set(config.exclude.iter().cloned());
        let values_files = glob_set(
            config
                .helm
                .values
                .iter()
                .chain(config.helm.charts.iter().flat_map(|chart| &chart.values))
                .cloned(),
        );
        let overrides = config
            .overrides
            .iter()
            .map(|o| (glob_set(o.paths.iter().cloned()), o.rules.clone()))
            .collect();
        let test_fixtures = glob_set(config.network_policies.test_fixture_globs().into_iter());
        let mut catalog = Catalog::builtin();
        for location in &config.images {
            let (path, pod) = match (&location.path, &location.pod_spec) {
                (Some(path), _) => (path, false),
                (None, Some(path)) => (path, true),
                (None, None) => continue,
            };
            let Ok(path) = FieldPath::parse(path) else {
                continue;
            };
            catalog.add(Locator {
                groups: vec![location.group.clone()],
                kind: location.kind.clone(),
                target: if pod {
                    Target::PodSpec(path)
                } else {
                    Target::Image(path)
                },
            });
        }
        Settings {
            config,
            root,
            trusted,
            private,
            exclude,
            values_files,
            overrides,
            test_fixtures,
            catalog,
            selection,
            from_file: false,
            policy_files: None,
            warnings: Vec::new(),
        }
    }

    /// The folder `signatures` key files are named from: the config's, unless
    /// [`PolicyFiles`] says otherwise.
    pub fn signature_root(&self) -> &Path {
        match &self.policy_files {
            None => &self.root,
            Some(PolicyFiles::Folder(folder)) => folder,
            Some(PolicyFiles::Revision(copy)) => copy.path(),
        }
    }

    /// Whether an image name (`docker.io/library/nginx`) matches `registries.trusted`.
    /// Without a trusted list every registry is trusted.
    pub fn is_trusted(&self, name: &str) -> bool {
        self.trusted.as_ref().is_none_or(|set| set.is_match(name))
    }

    /// Whether an image name matches `registries.private`: its pods need pull credentials.
    pub fn is_private(&self, name: &str) -> bool {
        self.private.is_match(name)
    }

    /// The namespace of resources that name none.
    pub fn default_namespace(&self) -> &str {
        self.config
            .default_namespace
            .as_deref()
            .unwrap_or(crate::model::DEFAULT_NAMESPACE)
    }

    /// What config says of the scope of a path (a file, or a Kustomize root's folder): the
    /// last `overrides` entry that matches it and has a `scope` wins.
    pub fn scope_kind(&self, path: &Path) -> Option<ScopeKind> {
        let relative = path.strip_prefix(&self.root).unwrap_or(path);
        self.config
            .overrides
            .iter()
            .zip(&self.overrides)
            .rev()
            .filter(|(_, (globs, _))| globs.is_match(relative))
            .find_map(|(o, _)| o.scope)
    }

    /// Whether config `exclude` names this path (absolute, or relative to the root).
    pub fn is_excluded(&self, path: &Path) -> bool {
        let relative = path.strip_prefix(&self.root).unwrap_or(path);
        self.exclude.is_match(relative)
    }

    /// Whether config names this path (absolute, or relative to the root) as a Helm values file.
    pub fn is_named_values_file(&self, path: &Path) -> bool {
        let relative = path.strip_prefix(&self.root).unwrap_or(path);
        self.values_files.is_match(relative)
    }

    pub fn levels_for(&self, path: &Path) -> FileLevels<'_> {
        let relative = path.strip_prefix(&self.root).unwrap_or(path);
        let overrides = self
            .overrides
            .iter()
            .enumerate()
            .filter(|(_, (globs, _))| globs.is_match(relative))
            .map(|(index, _)| index)
            .collect();
        FileLevels {
            settings: self,
            overrides,
            test_fixture: self.test_fixtures.is_match(relative),
        }
    }
}

impl Settings {
    /// Whether a rule may run on some file: not turned off by the command line, by config, and
    /// by every override.
    pub fn may_run(&self, rule: &RuleMeta) -> bool {
        let everywhere = FileLevels {
            settings: self,
            overrides: Vec::new(),
            test_fixture: false,
        };
        everywhere.severity(rule).is_some()
            || self.overrides.iter().enumerate().any(|(index, _)| {
                FileLevels {
                    settings: self,
                    overrides: vec![index],
                    test_fixture: false,
                }
                .severity(rule)
                .is_some()
            })
    }
}

impl FileLevels<'_> {
    /// The severity of a rule for this file, or `None` when it is off.
    pub fn severity(&self, rule: &RuleMeta) -> Option<Severity> {
        let selection = &self.settings.selection;
        if selection.ignore.iter().any(|id| id == rule.id) {
            return None;
        }
        let selected = selection
            .select
            .as_ref()
            .map(|ids| ids.iter().any(|id| id == rule.id));
        if selected == Some(false) {
            return None;
        }
        let configured = self.settings.config.rules.get(rule.id).copied();
        let overridden = self
            .overrides
            .iter()
            .rev()
            .find_map(|&index| self.settings.overrides[index].1.get(rule.id).copied());
        if overridden.is_none() && self.test_fixture && NETWORK_RULES.contains(&rule.id) {
            return None;
        }
        match overridden.or(configured) {
            Some(level) => level.severity(),
            None => Some(rule.default_severity),
        }
    }
}

/// Patterns were validated when the config was read; `*` stops at `/` so that
/// `docker.io/library/*` does not reach into nested paths.
pub(crate) fn glob_set(patterns: impl Iterator<Item = String>) -> GlobSet {
    let mut builder = GlobSetBuilder::new();
    for pattern in patterns {
        let glob = GlobBuilder::new(&pattern)
            .literal_separator(true)
            .build()
            .or_else(|_| Glob::new(&pattern));
        if let Ok(glob) = glob {
            builder.add(glob);
        }
    }
    builder.build().unwrap_or_else(|_| GlobSet::empty())
}

/// A registry pattern as a glob on image names: a bare host (`registry.example.com`) stands
/// for everything it serves.
pub(crate) fn host_glob(pattern: &str) -> String {
    if pattern.contains('/') {
        pattern.to_string()
    } else {
        format!("{pattern}/**")
    }
}
