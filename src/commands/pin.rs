//! `pinnace pin`: rewrite tags to `tag@sha256:…` in place, resolving each distinct image once.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::{ConfigArgs, exit, settings};
use crate::config::{RuleSelection, Settings};
use crate::finding::Warning;
use crate::fix::{self, PinOptions, SkipReason, write_atomically};
use crate::pin_plan::{FileResult, apply_file, plan_paths};
use crate::registry::{ClientOptions, CredentialStore, RegistryClient, ResolutionCache, Resolver};
use crate::signatures::{Verifier, require_signatures, required_policies};

#[derive(Debug, Args)]
pub struct PinArgs {
    /// Files or folders whose manifests to pin.
    #[arg(default_value = ".")]
    paths: Vec<PathBuf>,
    /// Print a unified diff and write nothing; exit 1 when something would change.
    #[arg(long)]
    dry_run: bool,
    #[command(flatten)]
    choices: PinChoices,
    /// Pin only digests with a signature that verifies under config `signatures` (cosign
    /// keys); every other image is left as it was, with the reason.
    #[arg(long)]
    require_signature: bool,
    /// Requests in flight at once per registry (1 to 256).
    #[arg(long, default_value_t = 8, value_name = "N", value_parser = super::parse_jobs)]
    jobs: usize,
    #[command(flatten)]
    cache: CacheArgs,
    /// No progress bar, no summary unless something failed.
    #[arg(long, short)]
    quiet: bool,
    #[command(flatten)]
    config: ConfigArgs,
}

/// What pinning may touch: shared by `pin` and `migrate`.
#[derive(Debug, Args)]
pub struct PinChoices {
    /// Re-resolve `tag@digest` references and replace digests whose tag has moved.
    #[arg(long)]
    update: bool,
    /// Also pin `latest` and untagged references, as `name:latest@sha256:…`.
    #[arg(long)]
    allow_latest: bool,
    /// Also pin images from registries outside `registries.trusted`.
    #[arg(long)]
    include_untrusted: bool,
}

impl PinChoices {
    pub fn options(&self) -> PinOptions {
        PinOptions {
            update: self.update,
            allow_latest: self.allow_latest,
            include_untrusted: self.include_untrusted,
        }
    }
}

/// The resolution cache: shared by `pin` and `migrate`.
#[derive(Debug, Args)]
pub struct CacheArgs {
    /// Keep resolutions in this file between runs (and between the machines of a CI matrix).
    #[arg(long, value_name = "FILE")]
    cache: Option<PathBuf>,
    /// How long a cached resolution stays good: `30m`, `24h`, `7d`.
    #[arg(long, default_value = "24h", value_parser = parse_duration, value_name = "AGE")]
    pub cache_max_age: Duration,
}

impl CacheArgs {
    /// The cache `--cache` names, if any.
    pub fn open(&self) -> miette::Result<Option<ResolutionCache>> {
        self.cache
            .as_deref()
            .map(|path| {
                let (cache, warning) = ResolutionCache::open(path, self.cache_max_age)
                    .map_err(|e| miette::miette!("{e}"))?;
                if let Some(warning) = warning {
                    eprintln!("warning: {warning}");
                }
                Ok(cache)
            })
            .transpose()
    }
}

#[derive(Default)]
struct Tally {
    pinned: usize,
    updated: usize,
    unchanged: usize,
    files_changed: usize,
    skipped: BTreeMap<SkipReason, usize>,
    /// What failed and why, one line each.
    failures: Vec<String>,
}

pub fn run(args: PinArgs) -> miette::Result<u8> {
    if args.paths.iter().any(|p| p.as_os_str() == "-") {
        return Err(miette::miette!(
            "`pinnace pin` edits files in place; give paths, not `-`"
        ));
    }
    super::require_paths(&args.paths)?;
    fix::clean_up_on_signal();
    let settings = settings(&args.config, &args.paths, RuleSelection::default())?;
    let options = args.choices.options();
    let signature_policies = args
        .require_signature
        .then(|| required_policies(&settings))
        .transpose()
        .map_err(|e| miette::miette!("{e}"))?;
    let mut tally = Tally::default();
    report_scan_warnings(&settings.warnings);
    let plan = plan_paths(&args.paths, &settings, options);
    report_scan_warnings(&plan.warnings);
    tally.failures.extend(plan.failures.iter().cloned());
    let lookups = plan.lookups();
    let client = RegistryClient::new(client_options(&settings, args.jobs))
        .map_err(|e| miette::miette!("{e}"))?;
    let cache = args.cache.open()?;
    let resolver = Resolver {
        client: &client,
        cache: cache.as_ref(),
        jobs: args.jobs.saturating_mul(4),
    };
    let progress = progress_bar(lookups.len() as u64, args.quiet);
    let mut resolutions = resolver.resolve_tags(&lookups, || progress.inc(1));
    progress.finish_and_clear();
    if let Some(policies) = &signature_policies {
        let verifier = Verifier {
            policies,
            client: &client,
            cache: cache.as_ref(),
            known: None,
        };
        require_signatures(
            &mut resolutions,
            &lookups,
            &settings,
            &verifier,
            args.jobs.saturating_mul(4),
        );
    }
    if let Some(cache) = &cache {
        cache.save().map_err(|e| miette::miette!("{e}"))?;
    }

    let mut stdout = std::io::stdout().lock();
    for file in plan.into_files() {
        let mut result = apply_file(file, &resolutions);
        if let Some(new_text) = &result.new_text {
            if args.dry_run {
                let diff = fix::unified_diff(&result.name, &result.text, new_text);
                super::output(stdout.write_all(diff.as_bytes()))?;
            } else if let Err(error) =
                write_atomically(&result.path, result.text.as_bytes(), new_text.as_bytes())
            {
                // Left alone: its images are not pinned, and the file is not changed.
                tally.failures.push(format!("{}: {error}", result.name));
                result.pinned.clear();
                result.new_text = None;
            }
        }
        tally.files_changed += usize::from(result.new_text.is_some());
        tally_result(&mut tally, &result);
    }
    super::output(stdout.flush())?;
    print_summary(&tally, &args, lookups.len(), client.requests_sent());
    let changed = tally.pinned + tally.updated > 0;
    Ok(if !tally.failures.is_empty() || (args.dry_run && changed) {
        exit::FINDINGS
    } else {
        exit::CLEAN
    })
}

/// Counts one file's results the way `pin` summarises them.
fn tally_result(tally: &mut Tally, result: &FileResult) {
    for (_, reason) in &result.skipped {
        if *reason == SkipReason::AlreadyPinned {
            tally.unchanged += 1;
        } else {
            *tally.skipped.entry(*reason).or_default() += 1;
        }
    }
    tally.pinned += result.pinned.iter().filter(|p| !p.updated).count();
    tally.updated += result.pinned.iter().filter(|p| p.updated).count();
    tally.unchanged += result.current;
    for failure in &result.failures {
        tally.failures.push(failure.line(&result.name));
    }
}

/// Roots pinnace cannot build, and entries it does not build (remote bases, Helm charts).
fn report_scan_warnings(warnings: &[Warning]) {
    for warning in warnings {
        eprintln!("warning: {}: {}", warning.path, warning.message);
    }
}

pub fn client_options(settings: &Settings, jobs: usize) -> ClientOptions {
    let registries = &settings.config.registries;
    ClientOptions {
        insecure: registries.insecure.clone(),
        mirrors: registries.mirrors.clone(),
        ca_files: registries
            .ca_files
            .iter()
            .map(|f| settings.root.join(f))
            .filter(|file| usable_ca_file(file))
            .collect(),
        per_registry: jobs.max(1),
        credentials: CredentialStore::from_environment(),
        ..ClientOptions::default()
    }
}

/// Most bytes a CA file may have: a bundle of every public CA is about 200 KiB.
const MAX_CA_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// Whether a `registries.ca_files` entry is a regular file within the bound (`/dev/zero`
/// would be read until memory runs out, a FIFO forever); otherwise it is left out, with a
/// warning.
fn usable_ca_file(file: &std::path::Path) -> bool {
    match std::fs::metadata(file) {
        Ok(metadata) if metadata.is_file() && metadata.len() <= MAX_CA_FILE_BYTES => true,
        Ok(_) => {
            eprintln!(
                "warning: {}: not a regular file of at most {} MiB; not used as a CA file",
                file.display(),
                MAX_CA_FILE_BYTES >> 20
            );
            false
        }
        // Reading it reports the error as before.
        Err(_) => true,
    }
}

/// A bar on a terminal only: not in CI logs, not with `--quiet`.
fn progress_bar(length: u64, quiet: bool) -> indicatif::ProgressBar {
    let interactive = std::io::stderr().is_terminal() && std::env::var_os("CI").is_none();
    if quiet || !interactive || length == 0 {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(length);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("resolving {pos}/{len} images {wide_bar} {eta}")
    {
        bar.set_style(style);
    }
    bar
}

fn print_summary(tally: &Tally, args: &PinArgs, distinct: usize, requests: usize) {
    if args.quiet && tally.failures.is_empty() {
        return;
    }
    let skipped: usize = tally.skipped.values().sum();
    let verb = if args.dry_run {
        "would change"
    } else {
        "changed"
    };
    eprintln!(
        "{} pinned, {} updated, {} unchanged, {skipped} skipped, {} failed; {verb} {} files ({distinct} distinct images, {requests} registry requests)",
        tally.pinned,
        tally.updated,
        tally.unchanged,
        tally.failures.len(),
        tally.files_changed,
    );
    for (reason, count) in &tally.skipped {
        eprintln!("  skipped {count}: {}", reason.describe());
    }
    for failure in &tally.failures {
        eprintln!("  failed: {failure}");
    }
}

/// `90s`, `30m`, `24h`, `7d`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let (number, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let number: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration like 30m, 24h or 7d"))?;
    let seconds = match unit {
        "s" | "" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("`{text}`: use s, m, h or d")),
    };
    // Far beyond any cache's use, and far from overflowing a clock.
    const MAX_SECONDS: u64 = 100 * 365 * 86_400;
    number
        .checked_mul(seconds)
        .filter(|total| *total <= MAX_SECONDS)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("`{text}` is longer than 100 years"))
}
