//! `pinnace check`: lint manifests and report findings.

use std::path::PathBuf;

use clap::Args;

use super::check_ci::{BaselineRun, extra_reporters};
use super::narrow::narrow_paths;
use super::scope::{gather_scope, scope_roots};
use super::{CiArgs, ConfigArgs, exit, settings};
use crate::builds::{check_builds, scan_for_pin};
use crate::config::{RuleSelection, Settings};
use crate::finding::FileReport;
use crate::finding::Severity;
use crate::finding::Warning;
use crate::image_ref::ImageRef;
use crate::inputs::{DisplayNames, for_each_input, gather_inputs};
use crate::model::{ParsedImage, extract};
use crate::pipeline;
use crate::pipeline::Loaded;
use crate::registry::{OnlineFacts, RegistryClient, WantedFacts, fact_keys};
use crate::report::{Format, StatisticsReporter, Summary, Tee, reporter};
use std::collections::{BTreeMap, HashSet};

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Files or folders to check; `-` reads one YAML stream from standard input.
    #[arg(default_value = ".")]
    paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Print how many findings each rule made (most first) instead of the findings
    /// (with the `human` and `concise` formats).
    #[arg(long)]
    statistics: bool,
    /// Lowest severity that makes the exit code 1.
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    fail_on: FailOn,
    /// Run only these rules (comma-separated ids).
    #[arg(long, value_delimiter = ',', value_name = "RULES")]
    select: Option<Vec<String>>,
    /// Skip these rules (comma-separated ids).
    #[arg(long, value_delimiter = ',', value_name = "RULES")]
    ignore: Vec<String>,
    /// Also ask registries whether pinned digests are stale, unknown, single-platform or
    /// unsigned (adds the `stale-digest`, `unknown-digest`, `single-arch-pin` and
    /// `unsigned-image` rules).
    #[arg(long)]
    online: bool,
    /// Clone the remote bases Kustomize builds name (git URLs) into the cache, pinned to
    /// their ref, so this run and later offline runs build them.
    #[arg(long)]
    fetch_remote: bool,
    /// With `--online`: requests in flight at once per registry (1 to 256).
    #[arg(long, default_value_t = 8, value_name = "N", value_parser = super::parse_jobs)]
    jobs: usize,
    /// With `--online`: signature verdicts kept between runs (see `pin --cache`).
    #[command(flatten)]
    cache: super::pin::CacheArgs,
    /// The name standard input is reported under (it also selects config overrides).
    #[arg(long, default_value = "<stdin>", value_name = "NAME")]
    stdin_filename: String,
    #[command(flatten)]
    config: ConfigArgs,
    #[command(flatten)]
    ci: CiArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum FailOn {
    Error,
    Warning,
    Note,
    /// Exit 0 whatever is found (errors reading inputs or config still exit 2).
    Never,
}

impl FailOn {
    fn threshold(self) -> Option<Severity> {
        match self {
            FailOn::Error => Some(Severity::Error),
            FailOn::Warning => Some(Severity::Warning),
            FailOn::Note => Some(Severity::Note),
            FailOn::Never => None,
        }
    }
}

pub fn run(mut args: CheckArgs, color: bool) -> miette::Result<u8> {
    let selection = RuleSelection {
        select: args.select.clone(),
        ignore: args.ignore.clone(),
    };
    super::explain::validate_ids(selection.select.iter().flatten().chain(&selection.ignore))?;
    if args.statistics && !matches!(args.format, Format::Human | Format::Concise) {
        return Err(miette::miette!(
            "--statistics prints a table: use it with --format human or concise"
        ));
    }
    let mut online_problems = Vec::new();
    super::require_paths(&args.paths)?;
    let mut settings = settings(&args.config, &args.paths, selection)?;
    if args.fetch_remote {
        settings.config.kustomize.fetch_remote = Some(true);
    }
    let mut baseline = BaselineRun::new(&args.ci)?;
    let repository = scope_roots(&args.paths, &settings);
    let mut only = None;
    if let Some(narrowing) = narrow_paths(&args.paths, args.ci.changed_since.as_deref(), &settings)?
    {
        args.paths = narrowing.paths;
        only = narrowing.only;
    }
    let facts = if args.online {
        let (facts, problems) = gather_facts(&args, &settings)?;
        online_problems = problems;
        Some(facts)
    } else {
        None
    };
    let extras = extra_reporters(&args.ci)?;
    let stdout = std::io::stdout().lock();
    let out = Box::new(std::io::BufWriter::new(stdout));
    let mut reporter: Box<dyn crate::report::Reporter> = if args.statistics {
        Box::new(StatisticsReporter::new(out))
    } else {
        reporter(args.format, out, color)
    };
    if !extras.is_empty() {
        reporter = Box::new(Tee::new(std::iter::once(reporter).chain(extras).collect()));
    }
    let mut summary = Summary::default();
    let mut worst: Option<Severity> = None;
    let mut write_error = None;
    let mut inputs = gather_inputs(&args.paths, &settings);
    let names = DisplayNames::new(&inputs.files);
    // Files named alone: their findings, and those about them in other files, only.
    let only: Option<HashSet<String>> =
        only.map(|files| files.iter().map(|file| names.get(file)).collect());
    let mut builds = check_builds(&inputs.files, &settings, facts.as_ref(), &|path| {
        names.get(path)
    });
    // Charts rendered by helm: findings in their templates (or rendered streams). A chart a
    // build renders (`helmCharts`) is checked through that build, not again on its own.
    let chart_files: Vec<_> = inputs
        .files
        .iter()
        .filter(|file| !builds.covered.contains(&file.absolute))
        .cloned()
        .collect();
    let mut charts = crate::helm::check_charts(&chart_files, &settings, facts.as_ref(), &|path| {
        names.get(path)
    });
    // The findings of builds and charts that read the run's index are judged again once it
    // is complete.
    let mut scope = gather_scope(
        &inputs,
        &repository,
        &args.stdin_filename,
        &settings,
        &mut builds,
    );
    scope.extend(std::mem::take(&mut charts.index));
    builds.recheck(&scope, &settings);
    charts.recheck(&scope, &settings);
    // Patches of a root that cannot be built are not resources.
    inputs.files.retain(|file| {
        !builds.covered.contains(&file.absolute) && !builds.refused.patches.contains(&file.absolute)
    });
    let retagged: BTreeMap<String, std::path::PathBuf> = builds
        .refused
        .retagged
        .keys()
        .map(|file| (names.get(file), file.clone()))
        .collect();
    let refused = std::mem::take(&mut builds.refused);
    summary.files_checked += builds.covered.len();
    if let Some(baseline) = baseline.as_mut() {
        builds
            .covered
            .iter()
            .for_each(|path| baseline.saw(&names.get(path)));
    }
    // Build reports, by output name, go out in order between the files checked on their own.
    let mut pending: BTreeMap<String, FileReport> = builds
        .reports
        .into_values()
        .map(|report| (report.source.name.clone(), report))
        .collect();
    summary.files_checked += charts.rendered;
    let overruled = std::mem::take(&mut charts.overruled);
    for (name, report) in charts.reports {
        pending.entry(name).or_insert(report);
    }
    let mut reported_once = HashSet::new();
    let mut emit = |mut report: FileReport, summary: &mut Summary| {
        // Images a root that cannot be built retags: what this file writes does not run.
        if let Some(file) = retagged.get(&report.source.name) {
            report
                .findings
                .retain(|finding| !refused.is_retagged(file, finding));
        }
        // Values images helm rendered otherwise: the rendered finding names the key.
        if let Some(images) = overruled.get(&report.source.name) {
            report.findings.retain(|finding| {
                let image = finding.subject.as_ref().and_then(|s| s.image.as_ref());
                image.is_none_or(|image| !images.contains(image))
            });
        }
        if let Some(only) = &only
            && !only.contains(&report.source.name)
        {
            report
                .findings
                .retain(|finding| finding.notes.iter().any(|note| only.contains(&note.path)));
        }
        report.findings.retain(|finding| {
            finding
                .once_per_run
                .as_ref()
                .is_none_or(|key| reported_once.insert(key.clone()))
        });
        if let Some(baseline) = baseline.as_mut() {
            baseline.filter(&mut report);
        }
        summary.count_findings(&report);
        worst = worst.max(report.findings.iter().map(|f| f.severity).max());
        if let Err(error) = reporter.file(&report) {
            write_error.get_or_insert(error);
        }
    };
    summary.problems = for_each_input(
        &inputs,
        &args.stdin_filename,
        |input| pipeline::check(input, &settings, facts.as_ref(), Some(&scope)),
        |mut report| {
            // What a rendered chart places in a values file joins that file's own report.
            if let Some(placed) = pending.remove(&report.source.name) {
                report.findings.extend(placed.findings);
                report.findings.sort_by_key(|finding| finding.span.start);
            }
            while let Some(entry) = pending
                .first_entry()
                .filter(|e| *e.key() < report.source.name)
            {
                emit(entry.remove(), &mut summary);
            }
            summary.files_checked += 1;
            emit(report, &mut summary);
        },
    );
    for report in std::mem::take(&mut pending).into_values() {
        emit(report, &mut summary);
    }
    summary.problems.extend(builds.warnings);
    summary.problems.extend(charts.warnings);
    summary.problems.extend(online_problems);
    summary.problems.extend(settings.warnings.iter().cloned());
    summary.baselined = baseline.as_ref().map_or(0, BaselineRun::suppressed);
    super::output(reporter.finish(&summary))?;
    if let Some(error) = write_error {
        super::output(Err(error))?;
    }
    drop(reporter);
    if let Some(baseline) = baseline {
        baseline.finish()?;
    }
    let failed = matches!((args.fail_on.threshold(), worst), (Some(threshold), Some(worst)) if worst >= threshold);
    Ok(if failed {
        exit::FINDINGS
    } else if !summary.problems.is_empty() && summary.files_checked == 0 {
        exit::ERROR
    } else {
        exit::CLEAN
    })
}

/// The first pass of `--online`: every pinned reference in scope, asked of its registry. A
/// reference that could not be asked is a problem reported at the first file that names it.
fn gather_facts(
    args: &CheckArgs,
    settings: &Settings,
) -> miette::Result<(OnlineFacts, Vec<Warning>)> {
    // (reference, the file that names it, as the user sees it)
    let mut references: Vec<(ImageRef, String)> = Vec::new();
    let inputs = gather_inputs(&args.paths, settings);
    // Digests that Kustomize overlays set (`images:` entries with `digest:`) are asked too.
    let names = DisplayNames::new(&inputs.files);
    let scope = scan_for_pin(&inputs.files, settings, &|path| names.get(path));
    for (file, entries) in &scope.entries {
        references.extend(entries.iter().filter_map(|(_, built)| {
            match built.as_ref().map(|b| &b.parsed) {
                Some(ParsedImage::Ref(reference)) if reference.digest().is_some() => {
                    Some((reference.clone(), names.get(file)))
                }
                _ => None,
            }
        }));
    }
    for_each_input(
        &inputs,
        &args.stdin_filename,
        |input| {
            let name = input.name.clone();
            match (input.path.to_path_buf(), pipeline::load(input)) {
                (_, Loaded::Skipped(warning)) => Err(warning),
                (
                    path,
                    Loaded::Documents {
                        source, documents, ..
                    },
                ) => {
                    let values = crate::helm::values_of(&documents, &source.text, &path, settings);
                    let mut model = extract(&documents, &settings.catalog);
                    crate::model::add_values(&mut model, &values);
                    Ok(model
                        .images
                        .iter()
                        .filter_map(|image| match &image.parsed {
                            ParsedImage::Ref(reference) if reference.digest().is_some() => {
                                Some((reference.clone(), name.clone()))
                            }
                            _ => None,
                        })
                        .collect::<Vec<_>>())
                }
            }
        },
        |found| references.extend(found),
    );
    references
        .sort_by(|a, b| (a.1.as_str(), a.0.to_string()).cmp(&(b.1.as_str(), b.0.to_string())));
    let client = RegistryClient::new(super::pin::client_options(settings, args.jobs))
        .map_err(|e| miette::miette!("{e}"))?;
    let distinct: Vec<ImageRef> = {
        let mut all: Vec<ImageRef> = references.iter().map(|(r, _)| r.clone()).collect();
        all.sort_by_key(|r| r.to_string());
        all.dedup_by_key(|r| r.to_string());
        all
    };
    // Facts no running rule reads are not asked for (`--select unsigned-image` fetches no tag).
    let may_run = |id: &str| crate::rules::find(id).is_some_and(|rule| settings.may_run(rule));
    let wanted = WantedFacts {
        tags: may_run("stale-digest") || may_run("single-arch-pin"),
        digests: may_run("unknown-digest") || may_run("unsigned-image"),
    };
    let mut facts = OnlineFacts::gather(&distinct, &client, args.jobs.saturating_mul(4), wanted);
    let cache = args.cache.open()?;
    facts.signatures = crate::signatures::gather_for_run(
        settings,
        &distinct,
        &client,
        cache.as_ref(),
        Some(&facts.digests),
        args.jobs.saturating_mul(4),
    )
    .map_err(|e| miette::miette!("{e}"))?;
    if let Some(cache) = &cache {
        cache.save().map_err(|e| miette::miette!("{e}"))?;
    }
    let problems = facts
        .failures()
        .into_iter()
        .map(|(key, error)| Warning {
            path: first_file_naming(&references, &key).unwrap_or_else(|| key.clone()),
            message: format!("{key} not checked online: {error}"),
        })
        .collect();
    Ok((facts, problems))
}

/// The first file (in path order) naming a reference whose fact key is `key`.
fn first_file_naming(references: &[(ImageRef, String)], key: &str) -> Option<String> {
    references.iter().find_map(|(reference, file)| {
        let (tag, digest) = fact_keys(reference);
        (tag.as_deref() == Some(key) || digest.as_deref() == Some(key)).then(|| file.clone())
    })
}
