//! What `pinnace check` adds for CI and hooks: narrowing a run to changed or named files, a
//! baseline to match findings against (or to write), and the extra outputs (SARIF file,
//! Markdown job summary) next to the main format.

use std::collections::{BTreeMap, HashSet};
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use super::CiArgs;
use crate::baseline::{Baseline, Matcher, PathKeys, Recorder, describe};
use crate::changed::changed_since as changed_since_rev;
use crate::config::Settings;
use crate::finding::FileReport;
use crate::report::{MarkdownSummary, Reporter, SarifReporter};
use crate::scope::{Narrowed, manifest_files, narrow, relative_to_cwd, repository_root};

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

/// The paths a run checks instead of `paths`: with `--changed-since`, the changed manifests
/// below them; otherwise each file named on its own (a pre-commit hook passes staged files)
/// is replaced by the Kustomize roots that read it, when some do. `None`: check `paths`.
pub fn narrow_paths(
    paths: &[PathBuf],
    changed_since: Option<&str>,
    settings: &Settings,
) -> miette::Result<Option<Vec<PathBuf>>> {
    let stdin: Vec<PathBuf> = paths
        .iter()
        .filter(|p| p.as_os_str() == "-")
        .cloned()
        .collect();
    let named: Vec<&PathBuf> = paths.iter().filter(|p| p.as_os_str() != "-").collect();
    if let Some(rev) = changed_since {
        let start = named.first().map_or(Path::new("."), |p| p.as_path());
        let changes = changed_since_rev(start, rev).map_err(|e| miette::miette!("{e}"))?;
        let all = manifest_files(&changes.workdir, settings);
        let under: Vec<PathBuf> = named
            .iter()
            .filter_map(|p| std::fs::canonicalize(p).ok())
            .collect();
        let changed: HashSet<&PathBuf> = changes.files.iter().collect();
        let targets: Vec<PathBuf> = all
            .iter()
            .filter(|file| changed.contains(file) && under.iter().any(|p| file.starts_with(p)))
            .cloned()
            .collect();
        let narrowed = narrow(&all, &targets);
        eprintln!(
            "pinnace: {} manifest(s) changed since {rev} (merge base {}), {} through {} Kustomize root(s)",
            targets.len(),
            changes.base,
            targets.len() - narrowed.uncovered.len(),
            narrowed.roots.len()
        );
        return Ok(Some(joined(stdin, narrowed)));
    }
    let (files, others): (Vec<&PathBuf>, Vec<&PathBuf>) =
        named.into_iter().partition(|p| p.is_file());
    if files.is_empty() {
        return Ok(None);
    }
    let mut by_root: BTreeMap<PathBuf, Vec<PathBuf>> = BTreeMap::new();
    for file in files {
        let Ok(target) = std::fs::canonicalize(file) else {
            continue;
        };
        by_root
            .entry(search_root(&target))
            .or_default()
            .push(target);
    }
    let mut out: Vec<PathBuf> = stdin
        .into_iter()
        .chain(others.into_iter().cloned())
        .collect();
    for (root, targets) in by_root {
        let narrowed = narrow(&manifest_files(&root, settings), &targets);
        out = joined(out, narrowed);
    }
    Ok(Some(out))
}

/// Where to look for the roots that may read `file`: its repository, else the current
/// folder when the file is below it, else the file's own folder.
fn search_root(file: &Path) -> PathBuf {
    if let Some(root) = repository_root(file) {
        return root;
    }
    let cwd = std::env::current_dir().and_then(std::fs::canonicalize).ok();
    match cwd {
        Some(cwd) if file.starts_with(&cwd) => cwd,
        _ => file
            .parent()
            .map_or_else(|| PathBuf::from("/"), Path::to_path_buf),
    }
}

fn joined(mut paths: Vec<PathBuf>, narrowed: Narrowed) -> Vec<PathBuf> {
    paths.extend(
        narrowed
            .roots
            .iter()
            .chain(&narrowed.uncovered)
            .map(|p| relative_to_cwd(p)),
    );
    paths
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
