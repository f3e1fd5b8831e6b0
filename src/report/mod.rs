//! Turns findings into output. Rules know nothing of formats; only this module does.

mod concise;
mod github;
mod human;
mod json;
mod sarif;
mod statistics;
mod summary;
mod tee;

use std::io::{self, Write};

use crate::finding::{FileReport, Severity, Warning};

pub use human::HumanReporter;
pub use sarif::SarifReporter;
pub use statistics::StatisticsReporter;
pub use summary::MarkdownSummary;
pub use tee::Tee;

/// The output formats of `pinnace check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Source snippets with labels and help, for people.
    Human,
    /// One JSON document with every finding (see docs/json-output.md).
    Json,
    /// GitHub Actions workflow commands, which become annotations on a pull request.
    Github,
    /// SARIF 2.1.0, for GitHub code scanning and other SARIF viewers.
    Sarif,
    /// One line per finding: `path:line:col: rule message`.
    Concise,
}

/// What a run amounts to, for the end of every report.
#[derive(Debug, Default, Clone)]
pub struct Summary {
    pub files_checked: usize,
    pub errors: usize,
    pub warnings: usize,
    pub notes: usize,
    /// Findings left out because a baseline holds them.
    pub baselined: usize,
    /// Inputs that were skipped or could not be read.
    pub problems: Vec<Warning>,
}

impl Summary {
    /// Counts a report's findings only (its file was counted elsewhere).
    pub fn count_findings(&mut self, report: &FileReport) {
        for finding in &report.findings {
            match finding.severity {
                Severity::Error => self.errors += 1,
                Severity::Warning => self.warnings += 1,
                Severity::Note => self.notes += 1,
            }
        }
    }

    pub fn findings(&self) -> usize {
        self.errors + self.warnings + self.notes
    }
}

/// Receives each input's report in a stable order, then the summary.
pub trait Reporter {
    fn file(&mut self, report: &FileReport) -> io::Result<()>;
    fn finish(&mut self, summary: &Summary) -> io::Result<()>;
}

pub fn reporter<'a>(
    format: Format,
    out: Box<dyn Write + 'a>,
    color: bool,
) -> Box<dyn Reporter + 'a> {
    match format {
        Format::Human => Box::new(HumanReporter::new(out, color)),
        Format::Json => Box::new(json::JsonReporter::new(out)),
        Format::Github => Box::new(github::GithubReporter::new(out)),
        Format::Sarif => Box::new(sarif::SarifReporter::new(out)),
        Format::Concise => Box::new(concise::ConciseReporter::new(out)),
    }
}

/// Problems with inputs, on stderr as any tool's warnings are.
pub(super) fn print_problems(summary: &Summary, color: bool) {
    for problem in &summary.problems {
        let label = if color {
            "\x1b[33mwarning\x1b[0m"
        } else {
            "warning"
        };
        eprintln!("{label}: {}: {}", problem.path, problem.message);
    }
}

/// The last line of the text formats: `Found 2 errors, 1 warning and 0 notes in 9 files.`
pub(super) fn totals(summary: &Summary) -> String {
    let plural = |count: usize, noun: &str| match count {
        1 => format!("1 {noun}"),
        _ => format!("{count} {noun}s"),
    };
    let files = plural(summary.files_checked, "file");
    if summary.findings() == 0 {
        format!("No findings in {files}.")
    } else {
        format!(
            "Found {}, {} and {} in {files}.",
            plural(summary.errors, "error"),
            plural(summary.warnings, "warning"),
            plural(summary.notes, "note"),
        )
    }
}
