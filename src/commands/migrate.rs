//! `pinnace migrate`: pin a fleet of repositories, one branch and one commit each.
//!
//! Three phases keep "each distinct image resolved once" exact however many repositories run
//! at once: every repository is opened (or cloned) and planned, the union of their images is
//! resolved through one client and cache, then each repository is written, committed and
//! pushed, or put back as it was.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use git2::Repository;
use rayon::prelude::*;

use super::pin::{
    FailureKind, FileResult, PinPlan, apply_file, client_options, open_cache, plan_paths,
};
use super::{ConfigArgs, exit};
use crate::config::{CONFIG_FILE_NAMES, Config, RuleSelection, Settings, load_config};
use crate::fix::{PinOptions, SkipReason, write_atomically};
use crate::migrate::git::{self, Author, BranchPoint};
use crate::migrate::report::{
    FileChange, Item, MigrationReport, PinnedItem, RepoReport, Status, commit_message,
};
use crate::migrate::repos::{RepoLine, RepoSource, Shard, clone_name, parse_repo_list};
use crate::registry::{RegistryClient, Resolutions, Resolver};

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The repositories: one local path or git URL a line; `#` comments and blank lines allowed.
    #[arg(long, value_name = "FILE")]
    repos: PathBuf,
    /// Where git URLs are cloned (one folder each, named after the URL).
    #[arg(long, default_value = "pinnace-migrate", value_name = "DIR")]
    workdir: PathBuf,
    /// The branch each repository gets, started from its current HEAD.
    #[arg(long, default_value = "pinnace/pin-digests", value_name = "NAME")]
    branch: String,
    /// Commit author and committer, `Name <email>`; default: each repository's git config.
    #[arg(long, value_name = "NAME <EMAIL>")]
    author: Option<Author>,
    /// Write the report to PREFIX.json and PREFIX.md.
    #[arg(long, value_name = "PREFIX")]
    report: Option<PathBuf>,
    /// Write the JSON report to FILE.
    #[arg(long, value_name = "FILE")]
    report_json: Option<PathBuf>,
    /// Write the Markdown report to FILE.
    #[arg(long, value_name = "FILE")]
    report_md: Option<PathBuf>,
    /// Take only shard I of N (from 1): repositories split by a stable hash of their line.
    #[arg(long, value_name = "I/N")]
    shard: Option<Shard>,
    /// Push each new branch to `origin` with the credentials git would use.
    #[arg(long)]
    push: bool,
    /// Report what would be pinned; no branch, no commit, no file written.
    #[arg(long)]
    dry_run: bool,
    /// Repositories worked on at once.
    #[arg(long, default_value_t = 4, value_name = "N")]
    jobs: usize,
    /// Requests in flight at once per registry.
    #[arg(long, default_value_t = 8, value_name = "N")]
    registry_jobs: usize,
    /// Keep resolutions in this file between runs (and between the machines of a CI matrix).
    #[arg(long, value_name = "FILE")]
    cache: Option<PathBuf>,
    /// How long a cached resolution stays good: `30m`, `24h`, `7d`.
    #[arg(long, default_value = "24h", value_parser = super::pin::parse_duration, value_name = "AGE")]
    cache_max_age: Duration,
    /// Re-resolve `tag@digest` references and replace digests whose tag has moved.
    #[arg(long)]
    update: bool,
    /// Also pin `latest` and untagged references, as `name:latest@sha256:…`.
    #[arg(long)]
    allow_latest: bool,
    /// Also pin images from registries outside `registries.trusted`.
    #[arg(long)]
    include_untrusted: bool,
    /// Registry access (insecure hosts, mirrors, CA files) for the whole run, and the config of
    /// repositories that have no `.pinnace.yaml` of their own.
    #[command(flatten)]
    config: ConfigArgs,
}

/// A repository opened and planned, waiting for the digests.
struct Prepared {
    report: RepoReport,
    repo: Repository,
    root: PathBuf,
    point: BranchPoint,
    plan: PinPlan,
}

pub fn run(args: MigrateArgs) -> miette::Result<u8> {
    let list = std::fs::read_to_string(&args.repos)
        .map_err(|e| miette::miette!("cannot read {}: {e}", args.repos.display()))?;
    let repos: Vec<RepoLine> = parse_repo_list(&list)
        .into_iter()
        .filter(|repo| args.shard.is_none_or(|shard| shard.takes(repo)))
        .collect();
    let (fallback, run_settings) = run_config(&args.config)?;
    let options = PinOptions {
        update: args.update,
        allow_latest: args.allow_latest,
        include_untrusted: args.include_untrusted,
    };
    let clone_dirs = clone_dirs(&repos, &args.workdir);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.jobs.max(1))
        .build()
        .map_err(|e| miette::miette!("cannot start threads: {e}"))?;

    let prepared: Vec<(&RepoLine, Result<Prepared, String>)> = pool.install(|| {
        repos
            .par_iter()
            .map(|repo| {
                let dir = clone_dirs.get(&repo.line);
                (repo, prepare(repo, dir, &args.branch, &fallback, options))
            })
            .collect()
    });

    let lookups: BTreeMap<_, _> = prepared
        .iter()
        .filter_map(|(_, p)| p.as_ref().ok())
        .flat_map(|p| p.plan.lookups())
        .collect();
    let client = RegistryClient::new(client_options(&run_settings, args.registry_jobs))
        .map_err(|e| miette::miette!("{e}"))?;
    let cache = open_cache(args.cache.as_deref(), args.cache_max_age)?;
    let resolver = Resolver {
        client: &client,
        cache: cache.as_ref(),
        jobs: args.registry_jobs.saturating_mul(4),
    };
    let resolutions = resolver.resolve_tags(&lookups, || {});
    if let Some(cache) = &cache {
        cache.save().map_err(|e| miette::miette!("{e}"))?;
    }

    let finished: Vec<RepoReport> = pool.install(|| {
        prepared
            .into_par_iter()
            .map(|(line, p)| match p {
                Ok(prepared) => finish(prepared, &resolutions, &args),
                Err(reason) => RepoReport::failed(&line.text, reason),
            })
            .collect()
    });
    let mut report = MigrationReport::new(
        &args.branch,
        args.dry_run,
        args.shard.map(|s| s.to_string()),
    );
    report.distinct_images = lookups.len();
    report.registry_requests = client.requests_sent();
    for repo in finished {
        print_line(&repo);
        report.add(repo);
    }
    write_reports(&args, &report)?;
    print_totals(&report);
    let failed = report
        .repositories
        .iter()
        .any(|r| r.status == Status::Failed || !r.failed.is_empty());
    Ok(if failed { exit::FINDINGS } else { exit::CLEAN })
}

/// The config of `--config` (or none): it sets registry access for the run, and is what a
/// repository without a config of its own is planned with.
fn run_config(args: &ConfigArgs) -> miette::Result<(Config, Settings)> {
    let cwd = std::env::current_dir()
        .map_err(|e| miette::miette!("cannot read the current folder: {e}"))?;
    let Some(path) = &args.config else {
        return Ok((
            Config::default(),
            Settings::new(Config::default(), cwd, RuleSelection::default()),
        ));
    };
    let config = load_config(path).map_err(|error| miette::Report::new(*error))?;
    let root = std::fs::canonicalize(path)
        .ok()
        .and_then(|p| p.parent().map(PathBuf::from))
        .unwrap_or(cwd);
    Ok((
        config.clone(),
        Settings::new(config, root, RuleSelection::default()),
    ))
}

/// A folder under `workdir` for each URL, named after it; a name taken twice gets `-2`, `-3`.
fn clone_dirs(repos: &[RepoLine], workdir: &Path) -> HashMap<usize, PathBuf> {
    let mut taken: HashMap<String, usize> = HashMap::new();
    let mut dirs = HashMap::new();
    for repo in repos {
        if let RepoSource::Url(url) = &repo.source {
            let name = clone_name(url);
            let count = taken.entry(name.clone()).or_default();
            *count += 1;
            let name = match *count {
                1 => name,
                n => format!("{name}-{n}"),
            };
            dirs.insert(repo.line, workdir.join(name));
        }
    }
    dirs
}

/// Opens or clones a repository, checks it is clean, and plans its pins; why not, when it
/// cannot be worked on (then it is left as it was).
fn prepare(
    line: &RepoLine,
    clone_dir: Option<&PathBuf>,
    branch: &str,
    fallback: &Config,
    options: PinOptions,
) -> Result<Prepared, String> {
    let repo = match (&line.source, clone_dir) {
        (RepoSource::Url(url), Some(dir)) => {
            std::fs::create_dir_all(dir.parent().unwrap_or(dir))
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            git::clone(url, dir)
        }
        (RepoSource::Path(path), _) => git::open(path),
        (RepoSource::Url(_), None) => Err("no folder to clone into".to_string()),
    }?;
    let root = repo
        .workdir()
        .and_then(|p| std::fs::canonicalize(p).ok())
        .ok_or("repository has no work tree")?;
    git::ensure_clean(&repo)?;
    let point = git::branch_point(&repo)?;
    git::ensure_no_branch(&repo, branch)?;
    let settings = repo_settings(&root, fallback)?;
    let plan = plan_paths(std::slice::from_ref(&root), &settings, options);
    let mut report = RepoReport::new(&line.text);
    report.path = Some(root.display().to_string());
    report.base = Some(point.base.to_string());
    let prefix = format!("{}/", root.display());
    for message in plan
        .failures
        .iter()
        .chain(plan.warnings.iter().map(|w| &w.message))
    {
        report.failed.push(Item {
            file: None,
            image: None,
            reason: message.replace(&prefix, ""),
        });
    }
    Ok(Prepared {
        report,
        repo,
        root,
        point,
        plan,
    })
}

/// The repository's own `.pinnace.yaml` at its root, else the run's config; globs are
/// relative to the repository's root either way.
fn repo_settings(root: &Path, fallback: &Config) -> Result<Settings, String> {
    let own = CONFIG_FILE_NAMES
        .iter()
        .map(|name| root.join(name))
        .find(|path| path.is_file());
    let config = match own {
        Some(path) => load_config(&path).map_err(|e| format!("{}", miette::Report::new(*e)))?,
        None => fallback.clone(),
    };
    Ok(Settings::new(
        config,
        root.to_path_buf(),
        RuleSelection::default(),
    ))
}

/// Writes, commits and pushes one repository's pins, or puts it back as it was.
fn finish(prepared: Prepared, resolutions: &Resolutions, args: &MigrateArgs) -> RepoReport {
    let Prepared {
        mut report,
        repo,
        root,
        point,
        plan,
    } = prepared;
    let results: Vec<FileResult> = plan
        .into_files()
        .into_iter()
        .map(|file| apply_file(file, resolutions))
        .collect();
    let edit_failed = collect(&mut report, &results, &root);
    let changed: Vec<&FileResult> = results.iter().filter(|r| r.new_text.is_some()).collect();
    if edit_failed {
        report.status = Status::Failed;
        report.files.clear();
        return report;
    }
    if changed.is_empty() {
        report.status = Status::Unchanged;
        return report;
    }
    if args.dry_run {
        report.status = Status::WouldPin;
        return report;
    }
    match commit_pins(&repo, &root, &point, &changed, &report.files, args) {
        Ok((commit, pushed)) => {
            report.status = Status::Pinned;
            report.branch = Some(args.branch.clone());
            report.commit = Some(commit);
            report.pushed = pushed;
        }
        Err(reason) => {
            report.status = Status::Failed;
            report.files.clear();
            report.failed.push(Item {
                file: None,
                image: None,
                reason,
            });
        }
    }
    report
}

/// Fills the report from the files' results; whether an edit failed (then nothing is written).
fn collect(report: &mut RepoReport, results: &[FileResult], root: &Path) -> bool {
    let mut edit_failed = false;
    for result in results {
        let file = relative(&result.path, root);
        for (image, reason) in &result.skipped {
            if *reason == SkipReason::AlreadyPinned {
                report.already_pinned += 1;
                continue;
            }
            report.skipped.push(Item {
                file: Some(file.clone()),
                image: Some(image.clone()),
                reason: reason.describe().to_string(),
            });
        }
        for failure in &result.failures {
            edit_failed |= failure.kind == FailureKind::Edit;
            report.failed.push(Item {
                file: Some(file.clone()),
                image: failure.image.clone(),
                reason: failure.message.clone(),
            });
        }
        if result.new_text.is_some() {
            let mut pinned: Vec<PinnedItem> = Vec::new();
            for pin in &result.pinned {
                if !pinned
                    .iter()
                    .any(|p| p.image == pin.image && p.digest == pin.digest)
                {
                    pinned.push(PinnedItem {
                        image: pin.image.clone(),
                        digest: pin.digest.clone(),
                        updated: pin.updated,
                    });
                }
            }
            report.files.push(FileChange { file, pinned });
        }
    }
    edit_failed
}

fn relative(path: &Path, root: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}

/// Branch, write, commit, push; on any failure the repository is rolled back to its branch
/// point and the error returned with what the rollback could not undo.
fn commit_pins(
    repo: &Repository,
    root: &Path,
    point: &BranchPoint,
    changed: &[&FileResult],
    files: &[FileChange],
    args: &MigrateArgs,
) -> Result<(String, bool), String> {
    let signature = git::signature(repo, args.author.as_ref())?;
    git::start_branch(repo, &args.branch, point)?;
    let mut written: Vec<(PathBuf, Vec<u8>)> = Vec::new();
    let outcome = (|| {
        for result in changed {
            let new_text = result.new_text.as_deref().unwrap_or_default();
            write_atomically(&result.path, result.text.as_bytes(), new_text.as_bytes())
                .map_err(|e| e.to_string().replace(&format!("{}/", root.display()), ""))?;
            written.push((result.path.clone(), result.text.clone().into_bytes()));
        }
        let paths: Vec<PathBuf> = changed
            .iter()
            .map(|r| r.path.strip_prefix(root).unwrap_or(&r.path).to_path_buf())
            .collect();
        let commit = git::commit(repo, &paths, &commit_message(files), &signature, point)?;
        if args.push {
            git::push(repo, &args.branch)?;
        }
        Ok((commit.to_string(), args.push))
    })();
    outcome.map_err(
        |error: String| match git::rollback(repo, point, &args.branch, &written) {
            Ok(()) => format!("{error}; rolled back"),
            Err(rollback) => format!("{error}; rollback incomplete: {rollback}"),
        },
    )
}

fn print_line(repo: &RepoReport) {
    let detail = match repo.status {
        Status::Pinned | Status::WouldPin => format!(
            "{} images in {} files{}",
            repo.images_pinned(),
            repo.files.len(),
            repo.commit
                .as_deref()
                .map(|c| format!(" ({})", &c[..c.len().min(12)]))
                .unwrap_or_default()
        ),
        Status::Unchanged => "nothing to pin".to_string(),
        Status::Failed => String::new(),
    };
    eprintln!("{:<10} {} {detail}", repo.status.as_str(), repo.repository);
    for item in &repo.failed {
        let file = item
            .file
            .as_deref()
            .map(|f| format!("{f}: "))
            .unwrap_or_default();
        let image = item
            .image
            .as_deref()
            .map(|i| format!("{i}: "))
            .unwrap_or_default();
        eprintln!("  failed: {file}{image}{}", item.reason);
    }
}

fn print_totals(report: &MigrationReport) {
    let t = &report.totals;
    eprintln!(
        "{} repositories: {} {}, {} unchanged, {} failed; {} images ({} distinct, {} registry requests)",
        t.repositories,
        t.pinned,
        if report.dry_run {
            "would pin"
        } else {
            "pinned"
        },
        t.unchanged,
        t.failed,
        t.images_pinned,
        report.distinct_images,
        report.registry_requests
    );
}

fn write_reports(args: &MigrateArgs, report: &MigrationReport) -> miette::Result<()> {
    let with_ext = |prefix: &PathBuf, ext: &str| {
        let mut name = prefix.clone().into_os_string();
        name.push(ext);
        PathBuf::from(name)
    };
    let json = args
        .report_json
        .clone()
        .or_else(|| args.report.as_ref().map(|p| with_ext(p, ".json")));
    let md = args
        .report_md
        .clone()
        .or_else(|| args.report.as_ref().map(|p| with_ext(p, ".md")));
    for (path, text) in [(json, report.to_json()), (md, report.to_markdown())] {
        if let Some(path) = path {
            std::fs::write(&path, text)
                .map_err(|e| miette::miette!("cannot write {}: {e}", path.display()))?;
        }
    }
    Ok(())
}
