//! What `pinnace check` adds for CI and hooks: a baseline to match findings against (or to
//! write), and the extra outputs (SARIF file, Markdown job summary) next to the main format.

use std::io::BufWriter;
use std::path::{Path, PathBuf};

use super::CiArgs;
use crate::baseline::{Baseline, Matcher, PathKeys, Recorder, describe};
use crate::finding::FileReport;
use crate::report::{MarkdownSummary, Reporter, SarifReporter};

enum Mode {
    Apply(Matcher),
    Record(Recorder),
}

/// The baseline side of one run.
pub struct BaselineRun {
    path: PathBuf,
    mode: Mode,
}

impl BaselineRun {
    /// `None` without `--baseline`. A baseline that cannot be read is a usage error.
    pub fn new(args: &CiArgs) -> miette::Result<Option<BaselineRun>> {
        let Some(path) = &args.baseline else {
            return Ok(None);
        };
        let keys = PathKeys::new(path);
        let mode = if args.update_baseline {
            Mode::Record(Recorder::new(keys))
        } else {
            let baseline = Baseline::read(path).map_err(|e| {
                miette::miette!(
                    help = "write one with `pinnace check --baseline FILE --update-baseline`",
                    "{e}"
                )
            })?;
            Mode::Apply(Matcher::new(baseline, keys))
        };
        Ok(Some(BaselineRun {
            path: path.clone(),
            mode,
        }))
    }

    /// Takes the baselined findings out of `report` (with `--update-baseline`, all of them).
    pub fn filter(&mut self, report: &mut FileReport) {
        match &mut self.mode {
            Mode::Apply(matcher) => matcher.filter(report),
            Mode::Record(recorder) => recorder.record(report),
        }
    }

    /// Notes a file the run checked without a report of its own.
    pub fn saw(&mut self, name: &str) {
        if let Mode::Apply(matcher) = &mut self.mode {
            matcher.saw(name);
        }
    }

    /// How many findings were left out of the report.
    pub fn suppressed(&self) -> usize {
        match &self.mode {
            Mode::Apply(matcher) => matcher.suppressed,
            Mode::Record(recorder) => recorder.baseline.total(),
        }
    }

    /// Writes the baseline (with `--update-baseline`) and tells stderr what the baseline did.
    pub fn finish(self) -> miette::Result<()> {
        let shown = self.path.display();
        match self.mode {
            Mode::Record(recorder) => {
                write_atomically(&self.path, &recorder.baseline.to_json())?;
                eprintln!(
                    "pinnace: wrote {} finding(s) to the baseline {shown}",
                    recorder.baseline.total()
                );
            }
            Mode::Apply(matcher) => {
                if matcher.suppressed > 0 {
                    eprintln!(
                        "pinnace: {} finding(s) in the baseline {shown} were not reported",
                        matcher.suppressed
                    );
                }
                let stale = matcher.stale();
                if !stale.is_empty() {
                    let total: usize = stale.iter().map(|(_, count)| count).sum();
                    eprintln!(
                        "pinnace: {total} baseline finding(s) are gone (fixed?); \
                         `--update-baseline` drops them:"
                    );
                    for (key, count) in stale {
                        let times = if count > 1 {
                            format!(" (×{count})")
                        } else {
                            String::new()
                        };
                        eprintln!("  gone: {}{times}", describe(key));
                    }
                }
            }
        }
        Ok(())
    }
}

/// Replaces `path` in one step: a reviewer never sees half a baseline.
fn write_atomically(path: &Path, text: &str) -> miette::Result<()> {
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let error = |e: &dyn std::fmt::Display| {
        miette::miette!("cannot write the baseline {}: {e}", path.display())
    };
    let mut file = tempfile::NamedTempFile::new_in(folder).map_err(|e| error(&e))?;
    std::io::Write::write_all(&mut file, text.as_bytes()).map_err(|e| error(&e))?;
    file.persist(path).map_err(|e| error(&e))?;
    Ok(())
}

/// The outputs next to the main format: `--sarif-file` (replaced) and `--summary`
/// (appended). Files are opened before anything runs, so a bad path fails early.
pub fn extra_reporters(args: &CiArgs) -> miette::Result<Vec<Box<dyn Reporter + 'static>>> {
    let mut reporters: Vec<Box<dyn Reporter>> = Vec::new();
    if let Some(path) = &args.sarif_file {
        let file = std::fs::File::create(path)
            .map_err(|e| miette::miette!("cannot write the SARIF file {}: {e}", path.display()))?;
        reporters.push(Box::new(SarifReporter::new(Box::new(BufWriter::new(file)))));
    }
    if let Some(path) = &args.summary {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| miette::miette!("cannot write the summary {}: {e}", path.display()))?;
        reporters.push(Box::new(MarkdownSummary::new(Box::new(BufWriter::new(
            file,
        )))));
    }
    Ok(reporters)
}
