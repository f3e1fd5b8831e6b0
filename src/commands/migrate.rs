//! `pinnace migrate`: pin a fleet of repositories, one branch and one commit each.
//!
//! Three phases keep "each distinct image resolved once" exact however many repositories run
//! at once: every repository is opened (or cloned) and planned, the union of their images is
//! resolved through one client and cache, then each repository is written, committed and
//! pushed, or put back as it was.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::Args;
use rayon::prelude::*;

use super::exit;
use super::pin::{CacheArgs, PinChoices, client_options};
use crate::config::{Config, RuleSelection, Settings, load_config};
use crate::fleet::git::Author;
use crate::fleet::outcome::{MigrationReport, RepoReport, Status, plural};
use crate::fleet::repos::{RepoLine, Shard, duplicates, parse_repo_list};
use crate::fleet::repository::{Job, Prepared, clone_dirs, finish, prepare};
use crate::registry::{RegistryClient, ResolutionCache, Resolver};

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
    /// Repositories worked on at once (1 to 256).
    #[arg(long, default_value_t = 4, value_name = "N", value_parser = super::parse_jobs)]
    jobs: usize,
    /// Requests in flight at once per registry (1 to 256).
    #[arg(long, default_value_t = 8, value_name = "N", value_parser = super::parse_jobs)]
    registry_jobs: usize,
    #[command(flatten)]
    cache: CacheArgs,
    #[command(flatten)]
    choices: PinChoices,
    /// Pin only digests with a signature that verifies under the repository's config
    /// `signatures` (else `--config`'s); every other image is left as it was, with the reason.
    #[arg(long)]
    require_signature: bool,
    /// Config for registry access (insecure hosts, mirrors, CA files) over the whole run, and
    /// for repositories that have no `.pinnace.yaml` of their own.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

pub fn run(args: MigrateArgs) -> miette::Result<u8> {
    crate::fix::clean_up_on_signal();
    let list = std::fs::read_to_string(&args.repos)
        .map_err(|e| miette::miette!("cannot read {}: {e}", args.repos.display()))?;
    let repos: Vec<RepoLine> = parse_repo_list(&list)
        .into_iter()
        .filter(|repo| args.shard.is_none_or(|shard| shard.takes(repo)))
        .collect();
    let (fallback, run_settings) = run_config(args.config.as_deref())?;
    let fallback_root = args.config.is_some().then(|| run_settings.root.clone());
    let job = Job {
        branch: args.branch.clone(),
        author: args.author.clone(),
        push: args.push,
        dry_run: args.dry_run,
        options: args.choices.options(),
        fallback,
        fallback_root,
        require_signature: args.require_signature,
    };
    let clone_dirs = clone_dirs(&repos, &args.workdir);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.jobs.max(1))
        .build()
        .map_err(|e| miette::miette!("cannot start threads: {e}"))?;

    let twice = duplicates(&repos);
    let mut prepared: Vec<(&RepoLine, Result<Prepared, String>)> = pool.install(|| {
        repos
            .par_iter()
            .map(|repo| match twice.get(&repo.line) {
                Some(first) => (repo, Err(format!("listed already on line {first}"))),
                None => (repo, prepare(repo, clone_dirs.get(&repo.line), &job)),
            })
            .collect()
    });

    let lookups: BTreeMap<_, _> = prepared
        .iter()
        .filter_map(|(_, p)| p.as_ref().ok())
        .flat_map(Prepared::lookups)
        .collect();
    let client = RegistryClient::new(client_options(&run_settings, args.registry_jobs))
        .map_err(|e| miette::miette!("{e}"))?;
    let cache = args.cache.open()?;
    let resolver = Resolver {
        client: &client,
        cache: cache.as_ref(),
        jobs: args.registry_jobs.saturating_mul(4),
    };
    let resolutions = resolver.resolve_tags(&lookups, || {});
    if args.require_signature {
        // Without --cache, verdicts are kept for the run only: repositories that trust the
        // same keys still ask once per digest.
        let memory = ResolutionCache::in_memory(args.cache.cache_max_age);
        let verdicts = cache.as_ref().unwrap_or(&memory);
        // One repository at a time (each asks `registry_jobs` at once): two repositories
        // asking about one digest together would both ask.
        for (_, prepared) in &mut prepared {
            if let Ok(prepared) = prepared {
                prepared.require_signatures(
                    &resolutions,
                    &client,
                    verdicts,
                    args.registry_jobs.saturating_mul(4),
                );
            }
        }
    }
    if let Some(cache) = &cache {
        cache.save().map_err(|e| miette::miette!("{e}"))?;
    }

    let finished: Vec<RepoReport> = pool.install(|| {
        prepared
            .into_par_iter()
            .map(|(line, p)| {
                let report = match p {
                    Ok(prepared) => finish(prepared, &resolutions, &job),
                    Err(reason) => RepoReport::failed(&line.text, reason),
                };
                masked(report, line)
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

/// The report with the URL's password or token (if any) masked wherever it appears.
fn masked(mut report: RepoReport, line: &RepoLine) -> RepoReport {
    report.repository = line.display.clone();
    for item in report.failed.iter_mut().chain(report.skipped.iter_mut()) {
        item.reason = line.redact(&item.reason);
    }
    report
}

/// The config of `--config` (or none): it sets registry access for the run, and is what a
/// repository without a config of its own is planned with.
fn run_config(path: Option<&Path>) -> miette::Result<(Config, Settings)> {
    let cwd = std::env::current_dir()
        .map_err(|e| miette::miette!("cannot read the current folder: {e}"))?;
    let Some(path) = path else {
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

fn print_line(repo: &RepoReport) {
    let detail = match repo.status {
        Status::Pinned | Status::WouldPin => format!(
            "{} image{} in {} file{}{}{}",
            repo.images_pinned(),
            plural(repo.images_pinned()),
            repo.files.len(),
            plural(repo.files.len()),
            repo.commit
                .as_deref()
                .map(|c| format!(" ({})", &c[..c.len().min(12)]))
                .unwrap_or_default(),
            if repo.pushed { ", pushed" } else { "" }
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
    if let Some(line) = report.unsigned_line() {
        eprintln!("{line}");
    }
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
