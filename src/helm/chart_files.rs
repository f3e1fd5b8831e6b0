//! The files `helm template` will read of a chart folder, checked before helm runs. Helm
//! follows symbolic links (files and folders) and reads what they point at, so a chart in a
//! stranger's tree with `env -> /proc/self/environ` and `{{ .Files.Get "env" }}` in a template
//! would put the runner's environment (CI tokens) into the rendered output, and from there into
//! findings and annotations. Every link must therefore stay in the confining folder (the
//! repository; for a kustomization's `helmCharts`, the kustomization's root), and every entry
//! must be a regular file or a folder: a named pipe hangs helm and a device reads without end.
//!
//! This is stricter than helm in one way: files `.helmignore` leaves out are checked too (the
//! ignore rules are the chart's own text, and a link worth refusing is refused wherever it is).

use std::fs::FileType;
use std::path::{Path, PathBuf};

/// Files and folders looked at in one chart; a chart with more is not rendered (the largest
/// public charts hold a few thousand files).
const MAX_ENTRIES: usize = 50_000;
/// Folders below the chart's own; deeper nesting (folder links repeating a path) is refused.
const MAX_DEPTH: usize = 64;

/// `Ok` when every file helm can read of `chart` is a regular file or folder inside `confine`;
/// else why not, naming the entry as a path below the chart.
pub fn check_chart_files(chart: &Path, confine: &Path) -> Result<(), String> {
    let confine = std::fs::canonicalize(confine)
        .map_err(|error| format!("cannot resolve {}: {error}", confine.display()))?;
    let real = std::fs::canonicalize(chart)
        .map_err(|error| format!("cannot resolve the chart folder: {error}"))?;
    if !real.starts_with(&confine) {
        return Err(format!(
            "the chart folder resolves outside {}",
            confine.display()
        ));
    }
    let mut walk = Walk {
        confine,
        entries: 0,
        open: vec![real.clone()],
    };
    walk.folder(&real, Path::new(""))
}

struct Walk {
    confine: PathBuf,
    entries: usize,
    /// The real folders from the chart down to the one being read: a link back to one of them
    /// is a loop.
    open: Vec<PathBuf>,
}

impl Walk {
    fn folder(&mut self, real: &Path, shown: &Path) -> Result<(), String> {
        let unlisted =
            |error: std::io::Error| format!("cannot list `{}`: {error}", shown.display());
        for entry in std::fs::read_dir(real).map_err(unlisted)? {
            let entry = entry.map_err(unlisted)?;
            self.entries += 1;
            if self.entries > MAX_ENTRIES {
                return Err(format!("the chart holds over {MAX_ENTRIES} files"));
            }
            let kind = entry.file_type().map_err(unlisted)?;
            self.entry(&entry.path(), kind, &shown.join(entry.file_name()))?;
        }
        Ok(())
    }

    /// `kind` is the entry's own type (a link's, not its target's), known from the listing.
    fn entry(&mut self, path: &Path, kind: FileType, shown: &Path) -> Result<(), String> {
        let refuse = |why: &str| Err(format!("`{}` {why}", shown.display()));
        let (real, kind) = if kind.is_symlink() {
            // A dangling link reads nothing; helm reports it itself.
            let Ok(target) = std::fs::canonicalize(path) else {
                return Ok(());
            };
            if !target.starts_with(&self.confine) {
                return refuse(&format!(
                    "is a symbolic link out of {}, which helm would follow and read",
                    self.confine.display()
                ));
            }
            let Ok(meta) = std::fs::metadata(&target) else {
                return Ok(());
            };
            (target, meta.file_type())
        } else {
            (path.to_path_buf(), kind)
        };
        if kind.is_file() {
            return Ok(());
        }
        if !kind.is_dir() {
            return refuse(
                "is not a regular file (a pipe, socket or device), which helm would read without end",
            );
        }
        if self.open.contains(&real) {
            return refuse("links back to a folder that holds it (a loop)");
        }
        if self.open.len() > MAX_DEPTH {
            return refuse(&format!("is deeper than {MAX_DEPTH} folders"));
        }
        self.open.push(real.clone());
        let result = self.folder(&real, shown);
        self.open.pop();
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn new_chart() -> (tempfile::TempDir, PathBuf) {
        let repo = tempfile::tempdir().unwrap();
        let chart = repo.path().join("chart");
        std::fs::create_dir_all(chart.join("templates")).unwrap();
        std::fs::write(chart.join("Chart.yaml"), "name: web\n").unwrap();
        (repo, chart)
    }

    #[test]
    fn a_plain_chart_and_links_inside_the_repository_pass() {
        let (repo, chart) = new_chart();
        std::fs::write(repo.path().join("shared.yaml"), "a: 1\n").unwrap();
        symlink("../../shared.yaml", chart.join("templates/shared.yaml")).unwrap();
        symlink("templates", chart.join("also")).unwrap();
        assert_eq!(check_chart_files(&chart, repo.path()), Ok(()));
    }

    #[test]
    fn a_link_out_of_the_repository_is_refused_wherever_it_is() {
        let (repo, chart) = new_chart();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "TOKEN=x\n").unwrap();
        std::fs::create_dir_all(chart.join("files/deep")).unwrap();
        symlink(outside.path().join("secret"), chart.join("files/deep/env")).unwrap();
        let error = check_chart_files(&chart, repo.path()).unwrap_err();
        let prefix = format!(
            "`files/deep/env` is a symbolic link out of {}",
            repo.path().canonicalize().unwrap().display()
        );
        assert!(error.starts_with(&prefix), "{error}");
        // Through a linked folder too.
        std::fs::remove_file(chart.join("files/deep/env")).unwrap();
        symlink(outside.path(), chart.join("files/out")).unwrap();
        let error = check_chart_files(&chart, repo.path()).unwrap_err();
        assert!(
            error.starts_with("`files/out` is a symbolic link out"),
            "{error}"
        );
    }

    #[test]
    fn a_named_pipe_is_refused() {
        let (repo, chart) = new_chart();
        let fifo = chart.join("templates/pipe.yaml");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(status.success());
        let error = check_chart_files(&chart, repo.path()).unwrap_err();
        assert!(
            error.starts_with("`templates/pipe.yaml` is not a regular file"),
            "{error}"
        );
    }

    #[test]
    fn folder_links_that_loop_or_fan_out_end() {
        let (repo, chart) = new_chart();
        std::fs::create_dir_all(chart.join("templates/a")).unwrap();
        std::fs::create_dir_all(chart.join("templates/b")).unwrap();
        symlink("../b", chart.join("templates/a/l1")).unwrap();
        symlink("../a", chart.join("templates/b/l2")).unwrap();
        let error = check_chart_files(&chart, repo.path()).unwrap_err();
        assert!(error.contains("(a loop)"), "{error}");

        // Each folder links twice to the next: 2^30 paths, refused by the entry bound.
        let (repo, chart) = new_chart();
        for level in 0..30 {
            let dir = chart.join(format!("d{level}"));
            std::fs::create_dir_all(&dir).unwrap();
            if level > 0 {
                let up = chart.join(format!("d{}", level - 1));
                symlink(&dir, up.join("x")).unwrap();
                symlink(&dir, up.join("y")).unwrap();
            }
        }
        let error = check_chart_files(&chart, repo.path()).unwrap_err();
        assert!(error.contains("over 50000 files"), "{error}");
    }
}
