//! The command line: one file per subcommand, each composing the pipeline.

mod build;
mod check;
mod check_ci;
mod explain;
mod images;
mod migrate;
mod narrow;
pub(crate) mod pin;
mod scope;
mod shell_docs;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::build_roots::relative_to_cwd;
use crate::config::{
    CONFIG_ENV, Config, PolicyFiles, RevisionConfig, RevisionError, RuleSelection, Settings,
    add_invoker_settings, changed_files, described_changes, find_config_file, load_config,
    read_at_revision, restrict_to_tree, take_policy, user_config_file,
};
use crate::finding::Warning;

/// Keep the container images of a GitOps repository trustworthy.
#[derive(Debug, Parser)]
#[command(name = "pinnace", version, max_term_width = 100)]
pub struct Cli {
    /// When to colour output: `auto` colours a terminal unless NO_COLOR is set.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    color: ColorChoice,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check manifests for image pinning and trusted registries (offline).
    Check(check::CheckArgs),
    /// Rewrite image tags to `tag@sha256:…` in place, resolving digests from registries.
    Pin(pin::PinArgs),
    /// Pin many repositories: a branch and a commit each, one report, each image resolved once.
    Migrate(migrate::MigrateArgs),
    /// List every image reference with its file, line, column, workload and container.
    Images(images::ImagesArgs),
    /// List the rules.
    Rules(explain::RulesArgs),
    /// Print a rule's page: what it checks, why, examples and the fix.
    Explain(explain::ExplainArgs),
    /// Build a Kustomize folder in-process and print the result as YAML.
    Build(build::BuildArgs),
    /// Print the JSON Schema of `.pinnace.yaml`.
    ConfigSchema,
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    Completions(shell_docs::CompletionsArgs),
    /// Print the man page, or write one per command with `--out-dir`.
    Man(shell_docs::ManArgs),
}

/// Options shared by every command that reads a repository.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// Config file to use instead of the `.pinnace.yaml` found by walking up from the first
    /// path (also `PINNACE_CONFIG`). Settings that run a program or reach outside the tree
    /// (`helm.binary`, `registries.insecure`, `mirrors`, outside `ca_files` and values files)
    /// are taken only from this config or ~/.config/pinnace/config.yaml, never from a found one.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Take the policy (`signatures` and the key files they name, `registries.trusted` and
    /// `private`, `rules`, `overrides`, `exclude`, `network_policies`) from the config as it
    /// is at git revision REV, such as a pull request's base, not from the tree; a tree whose
    /// config differs gets a warning that says how.
    #[arg(long, value_name = "REV")]
    policy_from: Option<String>,
    /// Skip files and folders that match GLOB, as config `exclude` does (relative to the
    /// current folder; a glob without `/` matches a name at any depth). Repeatable.
    #[arg(long, value_name = "GLOB")]
    exclude: Vec<String>,
}

/// `pinnace check` options for adopting it in CI and hooks: baselines, changed files only,
/// and extra outputs next to the main format.
#[derive(Debug, Args)]
pub struct CiArgs {
    /// Report only findings that are not in this baseline file (see docs/baseline.md).
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,
    /// Write every finding of this run to the `--baseline` file instead, and exit 0.
    #[arg(long, requires = "baseline", conflicts_with = "changed_since")]
    update_baseline: bool,
    /// Check only files changed since the merge base of REV and HEAD (committed, staged,
    /// unstaged and untracked), and the Kustomize roots that include them.
    #[arg(long, value_name = "REV")]
    changed_since: Option<String>,
    /// Append a Markdown summary (a table of findings by rule and file) to FILE, for
    /// `$GITHUB_STEP_SUMMARY`.
    #[arg(long, value_name = "FILE")]
    summary: Option<PathBuf>,
    /// Also write SARIF to FILE, whatever `--format` prints.
    #[arg(long, value_name = "FILE")]
    sarif_file: Option<PathBuf>,
}

/// Exit codes, as documented in the README.
pub mod exit {
    use std::process::ExitCode;
    pub const CLEAN: u8 = 0;
    pub const FINDINGS: u8 = 1;
    pub const ERROR: u8 = 2;

    pub fn code(code: u8) -> ExitCode {
        ExitCode::from(code)
    }
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let color = match cli.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    };
    let result = match cli.command {
        Command::Check(args) => check::run(args, color),
        Command::Images(args) => images::run(args),
        Command::Pin(args) => pin::run(args),
        Command::Migrate(args) => migrate::run(args),
        Command::Build(args) => build::run(args),
        Command::Rules(args) => explain::list(args),
        Command::Explain(args) => explain::explain(args),
        Command::ConfigSchema => print_out(&crate::config::json_schema()).map(|()| exit::CLEAN),
        Command::Completions(args) => shell_docs::completions(args),
        Command::Man(args) => shell_docs::man(args),
    };
    match result {
        Ok(code) => exit::code(code),
        Err(report) => {
            let handler = if color {
                miette::GraphicalReportHandler::new()
            } else {
                miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
            };
            let mut text = String::new();
            let rendered = if too_wide(report.as_ref()) {
                miette::NarratableReportHandler::new().render_report(&mut text, report.as_ref())
            } else {
                handler.render_report(&mut text, report.as_ref())
            };
            if rendered.is_err() {
                text = format!("error: {report}\n");
            }
            eprint!("{text}");
            exit::code(exit::ERROR)
        }
    }
}

/// Whether a diagnostic labels a place too far right on its line for a snippet: miette's
/// graphical handler cannot pad past 65,535 columns (a minified config or kustomization).
fn too_wide(report: &dyn miette::Diagnostic) -> bool {
    const MAX_COLUMN: usize = 4096;
    let (Some(source), Some(mut labels)) = (report.source_code(), report.labels()) else {
        return false;
    };
    labels.any(|label| {
        let end = miette::SourceSpan::from((label.offset() + label.len(), 0));
        [*label.inner(), end].iter().any(|span| {
            source
                .read_span(span, 0, 0)
                .is_ok_and(|contents| contents.column() > MAX_COLUMN)
        })
    })
}

/// The settings for a run over `paths`: the config (see [`run_config`]), with the command
/// line's `--exclude` globs added to its `exclude`.
fn settings(
    config: &ConfigArgs,
    paths: &[PathBuf],
    selection: RuleSelection,
) -> miette::Result<Settings> {
    let cwd = std::env::current_dir()
        .map_err(|e| miette::miette!("cannot read the current folder: {e}"))?;
    let mut run = run_config(config, paths, &cwd)?;
    let cwd = std::fs::canonicalize(&cwd).unwrap_or(cwd);
    let canonical_root = std::fs::canonicalize(&run.root).unwrap_or_else(|_| run.root.clone());
    for glob in &config.exclude {
        globset::Glob::new(glob)
            .map_err(|e| miette::miette!("--exclude `{glob}` is not a valid glob: {e}"))?;
        run.config
            .exclude
            .extend(exclude_globs(glob, &cwd, &canonical_root));
    }
    let mut settings = Settings::new(run.config, run.root, selection);
    // A config found in the tree marks the repository the rules that reason across resources
    // see; one named with `--config` (it may sit in a temp folder) never widens what is read.
    settings.from_file = run.found_in_tree;
    settings.policy_files = run.policy_files;
    settings.warnings = run.warnings;
    Ok(settings)
}

/// The config of a run, as [`run_config`] decides it.
struct RunConfig {
    config: Config,
    /// The folder its relative paths start from.
    root: PathBuf,
    /// Whether it was found in the tree (or at `--policy-from`'s revision).
    found_in_tree: bool,
    /// With `--policy-from`: the revision's copies of the files its policy names.
    policy_files: Option<PolicyFiles>,
    warnings: Vec<Warning>,
}

impl RunConfig {
    fn new(config: Config, root: PathBuf, found_in_tree: bool) -> RunConfig {
        RunConfig {
            config,
            root,
            found_in_tree,
            policy_files: None,
            warnings: Vec::new(),
        }
    }
}

/// The config of a run. It is the invoker's when they name one (`--config`,
/// `PINNACE_CONFIG`); else the `.pinnace.yaml` found walking up from the first path, holding
/// only what a tree may set, plus the invoker-only settings of the user's own config; else the
/// user's own config; else the defaults. With `--policy-from REV`, the policy sections come
/// from the config at REV instead of the tree's (see [`take_policy_from`]).
fn run_config(
    config: &ConfigArgs,
    paths: &[PathBuf],
    cwd: &std::path::Path,
) -> miette::Result<RunConfig> {
    let named = config.config.clone().or_else(|| {
        std::env::var_os(CONFIG_ENV)
            .filter(|value| !value.is_empty())
            .map(PathBuf::from)
    });
    if let Some(path) = named {
        if config.policy_from.is_some() {
            return Err(miette::miette!(
                "--policy-from takes the policy from the config at a revision, and --config (or {CONFIG_ENV}) names the whole config: give one of them"
            ));
        }
        let (config, root) = read_config(&path, cwd)?;
        return Ok(RunConfig::new(config, root, false));
    }
    let start = paths
        .iter()
        .find(|p| p.as_os_str() != "-")
        .cloned()
        .unwrap_or_else(|| PathBuf::from("."));
    let user = user_config_file()
        .map(|path| read_config(&path, cwd))
        .transpose()?;
    let found = find_config_file(&start);
    let mut run = match &found {
        None => match user.clone() {
            None => RunConfig::new(Config::default(), cwd.to_path_buf(), false),
            Some((mut config, root)) => {
                // The user's config applies wherever they run; its own paths are its folder's.
                let invoker = config.clone();
                config.registries.ca_files.clear();
                add_invoker_settings(&mut config, &invoker, &root);
                RunConfig::new(config, cwd.to_path_buf(), false)
            }
        },
        Some(path) => {
            let (mut config, root) = read_config(path, cwd)?;
            warn_restricted(path, &restrict_to_tree(&mut config, &root));
            if let Some((invoker, invoker_root)) = &user {
                add_invoker_settings(&mut config, invoker, invoker_root);
            }
            RunConfig::new(config, root, true)
        }
    };
    if let Some(rev) = &config.policy_from {
        take_policy_from(&mut run, rev, &start, found.as_deref(), user.as_ref())?;
    }
    Ok(run)
}

/// The one warning for the invoker-only settings a config found in the tree had.
fn warn_restricted(path: &std::path::Path, removed: &[String]) {
    if !removed.is_empty() {
        eprintln!(
            "warning: {}: ignored {}: a config found in the tree being checked may not run programs or reach outside it; give these with --config, {CONFIG_ENV} or ~/.config/pinnace/config.yaml",
            path.display(),
            removed.join(", ")
        );
    }
}

/// `--policy-from REV`: the policy of `run` becomes that of the config REV has for `start`.
/// When REV's config sits where the tree's does, only its policy sections are taken (the
/// tree's descriptions stay); when it sits elsewhere (the tree's is new, moved or removed),
/// REV's config is the run's. When REV has none, the policy is the default one: that is what
/// REV enforces, and the pull request that adds the first config must not be refused for it.
/// `found` is the config found in the tree, `user` the invoker's own.
fn take_policy_from(
    run: &mut RunConfig,
    rev: &str,
    start: &std::path::Path,
    found: Option<&std::path::Path>,
    user: Option<&(Config, PathBuf)>,
) -> miette::Result<()> {
    let at_rev = read_at_revision(start, rev).map_err(|error| match error {
        RevisionError::Git(message) => miette::miette!("{message}"),
        RevisionError::Config(error) => miette::Report::new(*error),
    })?;
    let shown = |path: &std::path::Path| relative_to_cwd(path).display().to_string();
    let folder = at_rev.folder();
    let same_folder = folder
        .as_deref()
        .and_then(|folder| std::fs::canonicalize(folder).ok())
        .is_some_and(|folder| found.is_some() && folder == run.root);
    match (&at_rev.config, found) {
        (Some((base, _)), _) if !same_folder => {
            let folder = folder.unwrap_or_else(|| at_rev.workdir.clone());
            let mut config = base.clone();
            warn_restricted(
                std::path::Path::new(&at_rev.name()),
                &restrict_to_tree(&mut config, &folder),
            );
            if let Some((invoker, invoker_root)) = user {
                add_invoker_settings(&mut config, invoker, invoker_root);
            }
            let (path, message) = match found {
                Some(path) => (
                    shown(path),
                    format!(
                        "this run takes its config from {}, not from this file: the pull request's config applies once merged",
                        at_rev.name()
                    ),
                ),
                None => (
                    at_rev.name(),
                    "this run takes its config from the revision; the tree has no config there"
                        .to_string(),
                ),
            };
            run.warnings.push(Warning { path, message });
            *run = RunConfig {
                config,
                root: folder,
                found_in_tree: true,
                policy_files: None,
                warnings: std::mem::take(&mut run.warnings),
            };
        }
        (base, Some(path)) => {
            let default = Config::default();
            let base_config = base.as_ref().map_or(&default, |(config, _)| config);
            let mut differ: Vec<String> = take_policy(&mut run.config, base_config)
                .into_iter()
                .map(str::to_string)
                .collect();
            differ.extend(
                changed_files(base_config, &run.root, at_rev.files.path())
                    .into_iter()
                    .map(|file| format!("key file {file}")),
            );
            let described = described_changes(&run.config, base_config);
            if let Some(message) = policy_message(&at_rev, base.is_some(), &differ, &described) {
                run.warnings.push(Warning {
                    path: shown(path),
                    message,
                });
            }
        }
        // Neither REV nor the tree has a config: the run's is the invoker's own, or none.
        (_, None) => {}
    }
    run.policy_files = Some(PolicyFiles::Revision(at_rev.files));
    Ok(())
}

/// What to say when the tree's config differs from the policy taken from the revision.
fn policy_message(
    at_rev: &RevisionConfig,
    rev_has_config: bool,
    differ: &[String],
    described: &[&str],
) -> Option<String> {
    let list = |items: &[String]| items.join(", ");
    let policy = if rev_has_config {
        format!("this run takes the policy from {}", at_rev.name())
    } else {
        format!(
            "{} has no pinnace config, so this run takes the default policy",
            at_rev.rev
        )
    };
    let described: Vec<String> = described.iter().map(|s| s.to_string()).collect();
    match (differ.is_empty(), described.is_empty()) {
        (true, true) => None,
        (false, true) => Some(format!(
            "{policy}; this file changes {}, which apply once merged",
            list(differ)
        )),
        (true, false) => Some(format!(
            "{policy}; this file changes {}, which this run uses as the tree has them",
            list(&described)
        )),
        (false, false) => Some(format!(
            "{policy}; this file changes {}, which apply once merged, and {}, which this run uses as the tree has them",
            list(differ),
            list(&described)
        )),
    }
}

/// A `--exclude` glob, written relative to the current folder, as config `exclude` globs
/// (relative to `root`, the config's folder; absolute outside it). A glob without `/`
/// matches a file or folder name at any depth, as in `.gitignore`; a glob that matches a
/// folder excludes what is below it.
fn exclude_globs(glob: &str, cwd: &std::path::Path, root: &std::path::Path) -> Vec<String> {
    let glob = glob
        .strip_prefix("./")
        .unwrap_or(glob)
        .trim_end_matches('/');
    let anchored = if !glob.contains('/') {
        format!("**/{glob}")
    } else {
        match cwd.strip_prefix(root) {
            Ok(below) if below.as_os_str().is_empty() => glob.to_string(),
            Ok(below) => format!("{}/{glob}", globset::escape(&below.to_string_lossy())),
            Err(_) => format!("{}/{glob}", globset::escape(&cwd.to_string_lossy())),
        }
    };
    vec![format!("{anchored}/**"), anchored]
}

/// A config file and the folder its relative paths start from.
fn read_config(path: &std::path::Path, cwd: &std::path::Path) -> miette::Result<(Config, PathBuf)> {
    let config = load_config(path).map_err(|error| miette::Report::new(*error))?;
    let root = std::fs::canonicalize(path)
        .ok()
        .and_then(|p| p.parent().map(PathBuf::from))
        .unwrap_or_else(|| cwd.to_path_buf());
    Ok((config, root))
}

/// The outcome of writing output: a reader that stops early (`pinnace rules | head`) ends the
/// output quietly, as Unix tools do; any other failure is an error.
pub(crate) fn output(result: std::io::Result<()>) -> miette::Result<()> {
    match result {
        Err(error) if error.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(miette::miette!("cannot write output: {error}"))
        }
        _ => Ok(()),
    }
}

/// Writes text to standard output (see [`output`]).
pub(crate) fn print_out(text: &str) -> miette::Result<()> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    output(
        stdout
            .write_all(text.as_bytes())
            .and_then(|()| stdout.flush()),
    )
}

/// Most threads or requests a `--jobs` option may ask for: a million would build a pool of a
/// million threads.
const MAX_JOBS: usize = 256;

/// `--jobs N`: 1 to [`MAX_JOBS`].
pub(crate) fn parse_jobs(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(jobs @ 1..=MAX_JOBS) => Ok(jobs),
        _ => Err(format!("`{text}` is not a number from 1 to {MAX_JOBS}")),
    }
}

/// A usage error for a path that does not exist (`-` is standard input).
fn require_paths(paths: &[PathBuf]) -> miette::Result<()> {
    for path in paths {
        if path.as_os_str() != "-" && std::fs::symlink_metadata(path).is_err() {
            return Err(miette::miette!(
                "no such file or folder: {}",
                path.display()
            ));
        }
    }
    Ok(())
}
