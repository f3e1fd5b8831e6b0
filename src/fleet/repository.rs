//! One repository's migration: opened or cloned and planned, then (once the fleet's digests
//! are known) written, committed and pushed, or put back exactly as it was.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use git2::Repository;

use super::git::{self, Author, BranchPoint};
use super::outcome::{FileChange, Item, PinnedItem, RepoReport, Status, commit_message};
use super::repos::{RepoLine, RepoSource, UrlCredentials, clone_name, split_credentials};
use crate::config::{CONFIG_FILE_NAMES, Config, PolicyFiles, RuleSelection, Settings, load_config};
use crate::fix::{PinOptions, SkipReason, write_atomically};
use crate::image_ref::ImageRef;
use crate::pin_plan::{FailureKind, FileResult, PinPlan, apply_file, plan_paths};
use crate::registry::{RegistryClient, ResolutionCache, Resolutions};
use crate::signatures::{Policies, Verifier, require_signatures, required_policies};

/// What the run asks of every repository.
pub struct Job {
    pub branch: String,
    pub author: Option<Author>,
    pub push: bool,
    pub dry_run: bool,
    pub options: PinOptions,
    /// The config of repositories without their own.
    pub fallback: Config,
    /// The folder of the file `fallback` came from (`--config`): its key files are there.
    pub fallback_root: Option<PathBuf>,
    /// `--require-signature`: pin only digests that verify under the repository's
    /// `signatures`.
    pub require_signature: bool,
}

/// A repository planned, waiting for the digests. It is opened again to be written, so that a
/// fleet of thousands does not hold thousands of repositories open meanwhile.
pub struct Prepared {
    report: RepoReport,
    root: PathBuf,
    point: BranchPoint,
    plan: PinPlan,
    /// What the repository's URL carried, for the push.
    credentials: Option<UrlCredentials>,
    /// With `--require-signature`: its settings and the policies its digests must verify
    /// under.
    signing: Option<(Settings, Policies)>,
    /// With `--require-signature`: the fleet's resolutions of its images, each digest that
    /// does not verify under its policies turned into a refusal.
    resolutions: Option<Resolutions>,
}

impl Prepared {
    /// The images this repository needs resolved.
    pub fn lookups(&self) -> BTreeMap<String, ImageRef> {
        self.plan.lookups()
    }

    /// With `--require-signature`: takes the fleet's resolutions of this repository's images
    /// and refuses each digest that does not verify under its policies. Verdicts go through
    /// `cache`, so repositories that trust the same keys ask once per digest.
    pub fn require_signatures(
        &mut self,
        fleet: &Resolutions,
        client: &RegistryClient,
        cache: &ResolutionCache,
        jobs: usize,
    ) {
        let Some((settings, policies)) = &self.signing else {
            return;
        };
        let lookups = self.plan.lookups();
        let mut own: Resolutions = lookups
            .keys()
            .filter_map(|key| Some((key.clone(), fleet.get(key)?.clone())))
            .collect();
        let verifier = Verifier {
            policies,
            client,
            cache: Some(cache),
            known: None,
        };
        require_signatures(&mut own, &lookups, settings, &verifier, jobs);
        self.resolutions = Some(own);
    }
}

/// A folder under `workdir` for each URL, named after it; a name taken twice gets `-2`, `-3`.
pub fn clone_dirs(repos: &[RepoLine], workdir: &Path) -> HashMap<usize, PathBuf> {
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
pub fn prepare(
    line: &RepoLine,
    clone_dir: Option<&PathBuf>,
    job: &Job,
) -> Result<Prepared, String> {
    let mut credentials = None;
    let repo = match (&line.source, clone_dir) {
        (RepoSource::Url(url), Some(dir)) => {
            std::fs::create_dir_all(dir.parent().unwrap_or(dir))
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            let (url, given) = split_credentials(url);
            credentials = given;
            git::clone(&url, dir, credentials.as_ref())
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
    git::ensure_no_branch(&repo, &job.branch)?;
    let settings = repo_settings(&root, job)?;
    let plan = plan_paths(std::slice::from_ref(&root), &settings, job.options);
    let policies = job
        .require_signature
        .then(|| required_policies(&settings))
        .transpose()?;
    let mut report = RepoReport::new(&line.text);
    report.path = Some(root.display().to_string());
    report.base = Some(point.base.to_string());
    // Files that cannot be pinned fail, as with `pin`; what pin does not build (remote bases,
    // Helm charts) is skipped.
    let prefix = format!("{}/", root.display());
    for message in &plan.failures {
        report.failed.push(Item {
            file: None,
            image: None,
            reason: message.replace(&prefix, ""),
        });
    }
    for warning in &plan.warnings {
        report.skipped.push(Item {
            file: Some(warning.path.replace(&prefix, "")),
            image: None,
            reason: warning.message.replace(&prefix, ""),
        });
    }
    Ok(Prepared {
        report,
        root,
        point,
        plan,
        credentials,
        signing: policies.map(|policies| (settings, policies)),
        resolutions: None,
    })
}

/// The repository's own `.pinnace.yaml` at its root, else the run's config; globs are
/// relative to the repository's root either way, and the run's key files to its folder.
fn repo_settings(root: &Path, job: &Job) -> Result<Settings, String> {
    let own = CONFIG_FILE_NAMES
        .iter()
        .map(|name| root.join(name))
        .find(|path| path.is_file());
    let config = match &own {
        Some(path) => load_config(path).map_err(|e| format!("{}", miette::Report::new(*e)))?,
        None => job.fallback.clone(),
    };
    let mut settings = Settings::new(config, root.to_path_buf(), RuleSelection::default());
    if own.is_none() {
        settings.policy_files = job.fallback_root.clone().map(PolicyFiles::Folder);
    }
    Ok(settings)
}

/// Writes, commits and pushes one repository's pins, or puts it back as it was.
pub fn finish(prepared: Prepared, resolutions: &Resolutions, job: &Job) -> RepoReport {
    let Prepared {
        mut report,
        root,
        point,
        plan,
        credentials,
        resolutions: own,
        ..
    } = prepared;
    let resolutions = own.as_ref().unwrap_or(resolutions);
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
        report.failed.push(Item {
            file: None,
            image: None,
            reason: "nothing written: an edit could not be made safely".into(),
        });
        return report;
    }
    if changed.is_empty() {
        report.status = Status::Unchanged;
        return report;
    }
    if job.dry_run {
        report.status = Status::WouldPin;
        return report;
    }
    let outcome = git::open(&root).and_then(|repo| {
        let target = Target {
            root: &root,
            point: &point,
            credentials: credentials.as_ref(),
        };
        commit_pins(&repo, &target, &changed, &report.files, job)
    });
    match outcome {
        Ok((commit, pushed)) => {
            report.status = Status::Pinned;
            report.branch = Some(job.branch.clone());
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
            report.unsigned += usize::from(failure.kind == FailureKind::Unsigned);
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

/// Where a repository's pins go: its work tree, the commit its branch starts from, and the
/// credentials its URL carried.
struct Target<'a> {
    root: &'a Path,
    point: &'a BranchPoint,
    credentials: Option<&'a UrlCredentials>,
}

/// Branch, write, commit, push; on any failure the repository is rolled back to its branch
/// point and the error returned with what the rollback could not undo.
fn commit_pins(
    repo: &Repository,
    target: &Target<'_>,
    changed: &[&FileResult],
    files: &[FileChange],
    job: &Job,
) -> Result<(String, bool), String> {
    let Target {
        root,
        point,
        credentials,
    } = *target;
    let signature = git::signature(repo, job.author.as_ref())?;
    if git::branch_point(repo)?.base != point.base {
        return Err("HEAD moved while the images were resolved; left alone (run again)".into());
    }
    git::start_branch(repo, &job.branch, point)?;
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
        if job.push {
            git::push(repo, &job.branch, credentials)?;
        }
        Ok((commit.to_string(), job.push))
    })();
    outcome.map_err(
        |error: String| match git::rollback(repo, point, &job.branch, &written) {
            Ok(()) => format!("{error}; rolled back"),
            Err(rollback) => format!("{error}; rollback incomplete: {rollback}"),
        },
    )
}
