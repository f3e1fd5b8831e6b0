//! Reading the inputs of a run, in parallel, handing results on in a stable order.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use rayon::prelude::*;

use crate::config::Settings;
use crate::discover::{FoundFile, discover};
use crate::finding::Warning;
use crate::pipeline::{Input, MAX_FILE_BYTES};

/// How many files are in flight at once: enough to keep every core busy, few enough that the
/// sources held for output stay small on a huge repository.
const CHUNK: usize = 512;

/// A rendered stream (`helm template … | pinnace check -`) may be far larger than one file.
const MAX_STDIN_BYTES: u64 = 16 * MAX_FILE_BYTES;

/// What a run reads: standard input (for `-`) and the files found below the other paths.
pub struct Inputs {
    pub stdin: bool,
    pub files: Vec<FoundFile>,
    /// Paths that could not be walked.
    pub problems: Vec<Warning>,
}

/// Walks the paths once.
pub fn gather_inputs(paths: &[PathBuf], settings: &Settings) -> Inputs {
    let roots: Vec<PathBuf> = paths
        .iter()
        .filter(|p| p.as_os_str() != "-")
        .cloned()
        .collect();
    let discovered = if roots.is_empty() {
        Default::default()
    } else {
        discover(&roots, settings)
    };
    Inputs {
        stdin: paths.iter().any(|p| p.as_os_str() == "-"),
        files: discovered.files,
        problems: discovered.warnings,
    }
}

/// Runs `work` on every input in parallel, and `emit` on each result in path order. Returns
/// the inputs that could not be read.
pub fn for_each_input<T: Send>(
    inputs: &Inputs,
    stdin_name: &str,
    work: impl Fn(Input<'_>) -> Result<T, Warning> + Sync,
    mut emit: impl FnMut(T),
) -> Vec<Warning> {
    let mut problems = inputs.problems.clone();
    if inputs.stdin {
        match stdin_bytes() {
            Ok(bytes) if bytes.len() as u64 >= MAX_STDIN_BYTES => problems.push(Warning {
                path: stdin_name.to_string(),
                message: format!(
                    "standard input is over the {} MiB limit; not checked",
                    MAX_STDIN_BYTES >> 20
                ),
            }),
            Ok(bytes) => {
                let input = Input {
                    name: stdin_name.to_string(),
                    path: Path::new(stdin_name),
                    bytes: bytes.clone(),
                };
                match work(input) {
                    Ok(result) => emit(result),
                    Err(warning) => problems.push(warning),
                }
            }
            Err(error) => problems.push(Warning {
                path: stdin_name.to_string(),
                message: format!("cannot read standard input: {error}"),
            }),
        }
    }
    for chunk in inputs.files.chunks(CHUNK) {
        let results: Vec<Result<T, Warning>> = chunk
            .par_iter()
            .map(|file| {
                let name = display_name(&file.display);
                let bytes = read_limited(&file.display).map_err(|message| Warning {
                    path: name.clone(),
                    message,
                })?;
                work(Input {
                    name,
                    path: &file.absolute,
                    bytes,
                })
            })
            .collect();
        for result in results {
            match result {
                Ok(result) => emit(result),
                Err(warning) => problems.push(warning),
            }
        }
    }
    problems
}

/// Standard input, read once however many passes a command makes over its inputs.
fn stdin_bytes() -> Result<&'static Vec<u8>, String> {
    static STDIN: OnceLock<Result<Vec<u8>, String>> = OnceLock::new();
    STDIN
        .get_or_init(|| {
            let mut bytes = Vec::new();
            std::io::stdin()
                .lock()
                .take(MAX_STDIN_BYTES)
                .read_to_end(&mut bytes)
                .map(|_| bytes)
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// How output names a file: as the walk reached it when it did; otherwise (a base outside
/// the paths given) in the same style as the paths given: absolute when they are, else
/// relative to the current folder (with `..` where needed), so one report never mixes both.
pub struct DisplayNames {
    by_absolute: std::collections::HashMap<PathBuf, String>,
    cwd: Option<PathBuf>,
    absolute: bool,
}

impl DisplayNames {
    pub fn new(files: &[FoundFile]) -> DisplayNames {
        DisplayNames {
            by_absolute: files
                .iter()
                .map(|f| (f.absolute.clone(), display_name(&f.display)))
                .collect(),
            cwd: std::env::current_dir()
                .ok()
                .and_then(|cwd| std::fs::canonicalize(cwd).ok()),
            absolute: !files.is_empty() && files.iter().all(|f| f.display.is_absolute()),
        }
    }

    pub fn get(&self, absolute: &Path) -> String {
        if let Some(name) = self.by_absolute.get(absolute) {
            return name.clone();
        }
        let relative = self
            .cwd
            .as_ref()
            .filter(|_| !self.absolute)
            .and_then(|cwd| relative_path(cwd, absolute));
        display_name(relative.as_deref().unwrap_or(absolute))
    }
}

/// `to` as seen from `from` (both absolute): `base/x.yaml`, `../other/x.yaml`.
pub fn relative_path(from: &Path, to: &Path) -> Option<PathBuf> {
    if !to.is_absolute() {
        return None;
    }
    let from: Vec<_> = from.components().collect();
    let to: Vec<_> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    if common == 0 {
        return None;
    }
    let mut path = PathBuf::new();
    for _ in common..from.len() {
        path.push("..");
    }
    for component in &to[common..] {
        path.push(component);
    }
    Some(path)
}

/// Paths as people write them: no leading `./`, forward slashes.
pub fn display_name(path: &Path) -> String {
    let text = path.to_string_lossy();
    let text = text.strip_prefix("./").unwrap_or(&text);
    text.replace('\\', "/")
}

fn read_limited(path: &Path) -> Result<Vec<u8>, String> {
    crate::files::read_bounded(path, MAX_FILE_BYTES).map_err(|error| match error {
        crate::files::ReadError::TooLarge { size, limit } => format!(
            "file is {:.1} MiB, over the {} MiB limit for a manifest; skipped",
            size as f64 / (1024.0 * 1024.0),
            limit >> 20
        ),
        other => other.to_string(),
    })
}
