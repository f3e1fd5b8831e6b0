//! `pinnace check`: lint manifests and report findings.

use std::path::PathBuf;

use clap::Args;

use super::inputs::for_each_input;
use super::{ConfigArgs, exit, settings};
use crate::config::RuleSelection;
use crate::finding::Severity;
use crate::pipeline;
use crate::report::{Format, Summary, reporter};

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Files or folders to check; `-` reads one YAML stream from standard input.
    #[arg(default_value = ".")]
    paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Lowest severity that makes the exit code 1.
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    fail_on: FailOn,
    /// Run only these rules (comma-separated ids).
    #[arg(long, value_delimiter = ',', value_name = "RULES")]
    select: Option<Vec<String>>,
    /// Skip these rules (comma-separated ids).
    #[arg(long, value_delimiter = ',', value_name = "RULES")]
    ignore: Vec<String>,
    /// The name standard input is reported under (it also selects config overrides).
    #[arg(long, default_value = "<stdin>", value_name = "NAME")]
    stdin_filename: String,
    #[command(flatten)]
    config: ConfigArgs,
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

pub fn run(args: CheckArgs, color: bool) -> miette::Result<u8> {
    let selection = RuleSelection {
        select: args.select.clone(),
        ignore: args.ignore.clone(),
    };
    super::rules::validate_ids(selection.select.iter().flatten().chain(&selection.ignore))?;
    super::require_paths(&args.paths)?;
    let settings = settings(&args.config, &args.paths, selection)?;
    let stdout = std::io::stdout().lock();
    let mut reporter = reporter(
        args.format,
        Box::new(std::io::BufWriter::new(stdout)),
        color,
    );
    let mut summary = Summary::default();
    let mut worst: Option<Severity> = None;
    let mut write_error = None;
    summary.problems = for_each_input(
        &args.paths,
        &args.stdin_filename,
        &settings,
        |input| pipeline::check(input, &settings),
        |report| {
            summary.count(&report);
            worst = worst.max(report.findings.iter().map(|f| f.severity).max());
            if let Err(error) = reporter.file(&report) {
                write_error.get_or_insert(error);
            }
        },
    );
    reporter
        .finish(&summary)
        .map_err(|e| miette::miette!("cannot write output: {e}"))?;
    if let Some(error) = write_error {
        return Err(miette::miette!("cannot write output: {error}"));
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
