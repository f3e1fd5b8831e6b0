//! Kustomize roots in scope, checked through their builds: each finding lands in the file a
//! person edits (the overlay's `images:` entry, the base file), and the files a build reads
//! are not checked again on their own.
//!
//! A root is a kustomization that no other kustomization in scope includes; a base shared by
//! two overlays is checked through both, and a finding both builds make at the same place is
//! reported once.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::config::{ScopeKind, Settings};
use crate::discover::FoundFile;
use crate::finding::{FileReport, Finding, Note, Subject, Warning};
use crate::image_ref::ImageRef;
use crate::kustomize::{self, Build, KUSTOMIZATION_FILE_NAMES};
use crate::model::{ParsedImage, Scope, ScopeIndex, extract_build};
use crate::pipeline::settle;
use crate::registry::OnlineFacts;
use crate::rules::{Context, RULES, recheck_reports};
use crate::source::{SourceFile, Span};
use crate::yaml::Node;

#[derive(Debug, Default)]
pub struct BuildResults {
    /// Reports for the files the builds cover, by absolute path.
    pub reports: BTreeMap<PathBuf, FileReport>,
    /// Every file a successful root build read: not to be checked on its own.
    pub covered: HashSet<PathBuf>,
    /// Roots that could not be built (their files are checked on their own instead), and
    /// entries that are not built (remote bases, Helm charts).
    pub warnings: Vec<Warning>,
    pub roots: usize,
    /// The roots built (or tried).
    pub built: HashSet<PathBuf>,
    /// The NetworkPolicies, ServiceAccounts and Secrets the builds make.
    pub index: ScopeIndex,
    /// What roots that could not be built still say about their files: the patch files they
    /// name (patches, not resources: never checked as such), and, per resource file, the
    /// names of the images their `images:` entries retag (what the file writes is not what
    /// runs, so it is not judged).
    pub refused: Refused,
}

/// See [`BuildResults::refused`].
#[derive(Debug, Default)]
pub struct Refused {
    pub patches: HashSet<PathBuf>,
    pub retagged: HashMap<PathBuf, HashSet<String>>,
}

/// How many kustomization folders a refused root is followed through.
const MAX_REFUSED_FOLDERS: usize = 64;

impl Refused {
    /// Reads what a root that does not build names: its patches, its resource files and its
    /// `images:` entries, through the kustomizations it includes.
    fn add_root(&mut self, dir: &Path) {
        let mut folders = vec![dir.to_path_buf()];
        let mut names = HashSet::new();
        let mut resources = Vec::new();
        let mut next = 0;
        while next < folders.len() && folders.len() <= MAX_REFUSED_FOLDERS {
            let folder = folders[next].clone();
            next += 1;
            let Some(root) = kustomization_of(&folder) else {
                continue;
            };
            let file = |entry: &Node| {
                let path = folder.join(entry.as_str()?);
                std::fs::canonicalize(path).ok().filter(|p| p.is_file())
            };
            let entries = |field| root.list(field).iter();
            let patch_paths = entries("patches")
                .chain(entries("patchesJson6902"))
                .filter_map(|entry| entry.get("path"))
                .chain(entries("patchesStrategicMerge"))
                .filter_map(file);
            self.patches.extend(patch_paths);
            resources.extend(
                entries("resources")
                    .chain(entries("bases"))
                    .filter_map(file),
            );
            names.extend(
                entries("images")
                    .filter_map(|entry| entry.get("name").and_then(Node::as_str))
                    .filter_map(|name| ImageRef::parse(name).ok().map(|r| r.name())),
            );
            for included in kustomize::referenced_folders(&folder) {
                if !folders.contains(&included) {
                    folders.push(included);
                }
            }
        }
        if names.is_empty() {
            return;
        }
        for resource in resources {
            self.retagged
                .entry(resource)
                .or_default()
                .extend(names.iter().cloned());
        }
    }

    /// Whether a finding is about an image a refused root retags in this file.
    pub fn is_retagged(&self, file: &Path, finding: &Finding) -> bool {
        let Some(names) = self.retagged.get(file) else {
            return false;
        };
        finding
            .subject
            .as_ref()
            .and_then(|subject| subject.image.as_deref())
            .and_then(|image| ImageRef::parse(image).ok())
            .is_some_and(|image| names.contains(&image.name()))
    }
}

/// The first document of the kustomization in `dir`.
fn kustomization_of(dir: &Path) -> Option<Node> {
    let text = crate::files::read_text(&kustomize::find_kustomization(dir)?).ok()?;
    crate::yaml::load_stream(&text, crate::yaml::Limits::default())
        .documents
        .into_iter()
        .next()
}

impl BuildResults {
    /// Judges again, against the whole run's index, the findings the builds made before it
    /// was complete; drops those the rest of the run covers.
    pub fn recheck(&mut self, run: &ScopeIndex, settings: &Settings) {
        recheck_reports(self.reports.values_mut(), run, settings);
    }
}

/// Builds and checks every Kustomize root among `files`. `display` turns an absolute path
/// into the name output uses.
pub fn check_builds(
    files: &[FoundFile],
    settings: &Settings,
    online: Option<&OnlineFacts>,
    display: &(dyn Fn(&Path) -> String + Sync),
) -> BuildResults {
    let roots = kustomize_roots(files);
    let options = kustomize::BuildOptions::for_settings(settings);
    let mut results = BuildResults {
        roots: roots.len(),
        built: roots.iter().cloned().collect(),
        ..Default::default()
    };
    // Each root is built, checked and dropped in one go, so memory holds one build per core.
    let outcomes: Vec<RootOutcome> = roots
        .par_iter()
        .map(|dir| match kustomize::build(dir, &options) {
            Ok(build) => {
                let (reports, index) = check_build(dir, &build, settings, online, display);
                RootOutcome::Built {
                    files: build.files().map(PathBuf::from).collect(),
                    not_built: not_built_warnings(&build, display),
                    reports,
                    index,
                }
            }
            Err(error) => RootOutcome::Failed(
                dir.clone(),
                Warning {
                    path: display(&kustomization_file_of(dir)),
                    message: format!(
                        "cannot build this kustomization ({}); its files are checked on their own",
                        error.message
                    ),
                },
            ),
        })
        .collect();
    let mut per_build = Vec::new();
    for outcome in outcomes {
        match outcome {
            RootOutcome::Built {
                files,
                not_built,
                reports,
                index,
            } => {
                results.index.extend(index);
                results.covered.extend(files);
                results.warnings.extend(not_built);
                per_build.push(reports);
            }
            RootOutcome::Failed(dir, warning) => {
                results.refused.add_root(&dir);
                results.warnings.push(warning);
            }
        }
    }
    for (path, source, findings) in per_build.into_iter().flatten() {
        let report = results.reports.entry(path).or_insert_with(|| FileReport {
            source,
            findings: Vec::new(),
        });
        for finding in findings {
            let duplicate = report.findings.iter().any(|f| {
                f.rule.id == finding.rule.id
                    && f.span == finding.span
                    && f.message == finding.message
            });
            if !duplicate {
                report.findings.push(finding);
            }
        }
    }
    for report in results.reports.values_mut() {
        report
            .findings
            .sort_by(|a, b| (a.span.start, a.rule.id).cmp(&(b.span.start, b.rule.id)));
    }
    results
}

/// The Kustomize roots among `files`: kustomizations no other one among them includes.
fn kustomize_roots(files: &[FoundFile]) -> Vec<PathBuf> {
    let dirs = kustomization_dirs(files);
    if dirs.is_empty() {
        return dirs;
    }
    let included = included_kustomizations(&dirs);
    dirs.into_iter()
        .filter(|dir| !included.contains(dir))
        .collect()
}

/// The NetworkPolicies, ServiceAccounts and Secrets every Kustomize root among `files` that is
/// not `built` already builds,
/// and the files those builds read (their resources are indexed through the builds, with the
/// namespace and names the builds give them). A root that does not build adds nothing: its
/// files are read on their own.
pub fn scope_of_builds(
    files: &[FoundFile],
    settings: &Settings,
    built: &HashSet<PathBuf>,
) -> (ScopeIndex, HashSet<PathBuf>) {
    let options = kustomize::BuildOptions::for_settings(settings);
    let parts: Vec<(ScopeIndex, Vec<PathBuf>)> = kustomize_roots(files)
        .par_iter()
        .filter(|dir| !built.contains(*dir))
        .filter_map(|dir| {
            let build = kustomize::build(dir, &options).ok()?;
            let model = extract_build(&build, &settings.catalog);
            let mut index = ScopeIndex::default();
            index.add(&model, settings.default_namespace());
            Some((index, build.files().map(PathBuf::from).collect()))
        })
        .collect();
    let mut index = ScopeIndex::default();
    let mut covered = HashSet::new();
    for (part, files) in parts {
        index.extend(part);
        covered.extend(files);
    }
    (index, covered)
}

/// The folders of the kustomization files among `files`.
fn kustomization_dirs(files: &[FoundFile]) -> Vec<PathBuf> {
    files
        .iter()
        .filter(|f| {
            f.absolute
                .file_name()
                .is_some_and(|n| KUSTOMIZATION_FILE_NAMES.iter().any(|k| n == *k))
        })
        .filter_map(|f| f.absolute.parent().map(Path::to_path_buf))
        .collect()
}

enum RootOutcome {
    Built {
        files: Vec<PathBuf>,
        not_built: Vec<Warning>,
        reports: Vec<(PathBuf, SourceFile, Vec<Finding>)>,
        index: ScopeIndex,
    },
    Failed(PathBuf, Warning),
}

/// Warnings for the entries a build did not build (remote bases, Helm charts), at their place.
fn not_built_warnings(build: &Build, display: &(dyn Fn(&Path) -> String + Sync)) -> Vec<Warning> {
    build
        .not_built
        .iter()
        .filter_map(|not_built| {
            let (file, span) = build.locate(not_built.span)?;
            let position = file.position(span.start);
            Some(Warning {
                path: format!(
                    "{}:{}:{}",
                    display(Path::new(&file.name)),
                    position.line,
                    position.column
                ),
                message: format!("{} (not built)", not_built.reason),
            })
        })
        .collect()
}

/// Kustomization folders that another kustomization in scope names as a resource or
/// component: they are built as part of it, not as roots. Reading the `resources`,
/// `bases` and `components` lists is enough to tell, without building anything.
fn included_kustomizations(dirs: &[PathBuf]) -> HashSet<PathBuf> {
    dirs.par_iter()
        .flat_map_iter(|dir| kustomize::referenced_folders(dir))
        .collect()
}

/// Runs the rules on one build and sorts the findings into the files they point at; also
/// returns what the build adds to the run's index. The rules see the build alone as the run:
/// their findings are judged again once the whole run is indexed ([`BuildResults::recheck`]).
fn check_build(
    root: &Path,
    build: &Build,
    settings: &Settings,
    online: Option<&OnlineFacts>,
    display: &(dyn Fn(&Path) -> String + Sync),
) -> (Vec<(PathBuf, SourceFile, Vec<Finding>)>, ScopeIndex) {
    let values = build_values(build);
    let mut model = extract_build(build, &settings.catalog);
    crate::model::add_values(&mut model, &values);
    let mut own = ScopeIndex::default();
    own.add(&model, settings.default_namespace());
    let context = Context {
        model: &model,
        settings,
        online,
        scope: Scope {
            run: &ScopeIndex::default(),
            own: &own,
            build: true,
            // A build is what one apply puts in the cluster, unless config says otherwise.
            complete: settings.scope_kind(root) != Some(ScopeKind::Partial),
            default_namespace: settings.default_namespace(),
            run_complete: false,
        },
    };
    let mut findings = Vec::new();
    for rule in RULES {
        rule.check(&context, &mut findings);
    }
    let mut by_file: BTreeMap<String, (SourceFile, Vec<Finding>)> = BTreeMap::new();
    for mut finding in findings {
        let Some((file, span)) = build.locate(finding.span) else {
            continue;
        };
        finding.span = span;
        finding.notes = finding
            .related
            .iter()
            .filter_map(|(related, message)| {
                let (file, span) = build.locate(*related)?;
                let position = file.position(span.start);
                Some(Note {
                    path: display(Path::new(&file.name)),
                    line: position.line,
                    column: position.column,
                    message: message.clone(),
                })
            })
            .collect();
        by_file
            .entry(file.name.clone())
            .or_insert_with(|| (file.clone(), Vec::new()))
            .1
            .push(finding);
    }
    let reports = by_file
        .into_iter()
        .map(|(name, (mut source, findings))| {
            let path = PathBuf::from(&name);
            let findings = settle(findings, &source, &model, settings, &path);
            source.name = display(&path);
            (path, source, findings)
        })
        .collect();
    (reports, own)
}

/// An image as a build wrote it, with the workload and container it is for.
#[derive(Debug, Clone)]
pub struct BuiltImage {
    pub text: String,
    pub parsed: ParsedImage,
    pub subject: Subject,
}

/// What `pin` needs from the Kustomize roots in scope: the `images:` entries that set images
/// (and what they set), and, in the files builds cover, which image scalars reach some build
/// unchanged (those are pinned where they are written; the others are pinned at their entry).
#[derive(Debug, Default)]
pub struct PinScope {
    /// Per kustomization file: each `images:` entry (file-local span) with the image it sets,
    /// or `None` when it sets different images in different places.
    pub entries: HashMap<PathBuf, Vec<(Span, Option<BuiltImage>)>>,
    /// Per covered file: the spans of image scalars some build uses as written.
    pub written: HashMap<PathBuf, HashSet<Span>>,
    /// Per root kustomization file: images its build takes from files outside the paths
    /// given, which pin adds as `images:` entries there.
    pub additions: HashMap<PathBuf, Vec<BuiltImage>>,
    pub covered: HashSet<PathBuf>,
    pub warnings: Vec<Warning>,
    /// Images inline patches write, at their lines in the kustomization file.
    pub inline: Vec<(PathBuf, Span, BuiltImage)>,
    /// Images `helmCharts` charts render, at their template lines (or `helmCharts` entries).
    pub rendered: Vec<(PathBuf, Span, BuiltImage)>,
}

pub fn scan_for_pin(
    files: &[FoundFile],
    settings: &Settings,
    display: &(dyn Fn(&Path) -> String + Sync),
) -> PinScope {
    let roots = kustomize_roots(files);
    let in_scope: HashSet<&Path> = files.iter().map(|f| f.absolute.as_path()).collect();
    let options = kustomize::BuildOptions::for_settings(settings);
    // Each build is scanned and dropped in one go: only what pin needs is kept.
    let scans: Vec<Result<RootScan, Warning>> = roots
        .par_iter()
        .map(|dir| {
            let build = kustomize::build(dir, &options).map_err(|error| Warning {
                path: display(&kustomization_file_of(dir)),
                message: format!(
                    "cannot build this kustomization ({}); its files are taken on their own",
                    error.message
                ),
            })?;
            let sites = image_sites(&build, settings);
            // Images a base outside the paths writes: pin cannot edit that file, so the
            // root's kustomization gets an `images:` entry for each instead.
            let mut outside: Vec<BuiltImage> = Vec::new();
            for site in &sites {
                if let ImageSite::Written(path, _, built) | ImageSite::Rendered(path, _, built) =
                    site
                    && !in_scope.contains(path.as_path())
                    && !path
                        .as_os_str()
                        .to_string_lossy()
                        .ends_with(kustomize::INLINE_SUFFIX)
                    && !outside.iter().any(|o| o.text == built.text)
                {
                    outside.push((**built).clone());
                }
            }
            Ok(RootScan {
                files: build.files().map(PathBuf::from).collect(),
                warnings: not_built_warnings(&build, display),
                sites,
                root_file: kustomize::find_kustomization(dir),
                outside,
            })
        })
        .collect();
    let mut scope = PinScope::default();
    for scan in scans {
        let RootScan {
            files,
            warnings,
            sites,
            root_file,
            outside,
        } = match scan {
            Ok(found) => found,
            Err(warning) => {
                scope.warnings.push(warning);
                continue;
            }
        };
        scope.covered.extend(files);
        scope.warnings.extend(warnings);
        if let (Some(root_file), false) = (root_file, outside.is_empty()) {
            scope
                .additions
                .entry(root_file)
                .or_default()
                .extend(outside);
        }
        for site in sites {
            match site {
                ImageSite::Written(path, span, built) => {
                    let in_kustomization = path
                        .file_name()
                        .is_some_and(|n| KUSTOMIZATION_FILE_NAMES.iter().any(|k| n == *k));
                    if in_kustomization
                        && !scope
                            .inline
                            .iter()
                            .any(|(p, s, _)| *p == path && *s == span)
                    {
                        scope.inline.push((path.clone(), span, (*built).clone()));
                    }
                    scope.written.entry(path).or_default().insert(span);
                }
                ImageSite::Rendered(path, span, built) => {
                    if !scope
                        .rendered
                        .iter()
                        .any(|(p, s, _)| *p == path && *s == span)
                    {
                        scope.rendered.push((path, span, *built));
                    }
                }
                ImageSite::SetBy(path, span, built) => {
                    let entries = scope.entries.entry(path).or_default();
                    match entries.iter_mut().find(|(s, _)| *s == span) {
                        // One entry, different images (a `newName` over several tags): no
                        // single digest fits it.
                        Some((_, slot)) => {
                            if slot.as_ref().is_some_and(|known| known.text != built.text) {
                                *slot = None;
                            }
                        }
                        None => entries.push((span, Some(*built))),
                    }
                }
            }
        }
    }
    scope
}

/// What one root's build contributes to a [`PinScope`].
struct RootScan {
    files: Vec<PathBuf>,
    warnings: Vec<Warning>,
    sites: Vec<ImageSite>,
    root_file: Option<PathBuf>,
    outside: Vec<BuiltImage>,
}

/// Where a built image comes from.
enum ImageSite {
    /// Written as is in this file, at this span.
    Written(PathBuf, Span, Box<BuiltImage>),
    /// Set by the `images:` entry at this span of this kustomization file.
    SetBy(PathBuf, Span, Box<BuiltImage>),
    /// Rendered by a `helmCharts` chart: placed on its template line, or its entry.
    Rendered(PathBuf, Span, Box<BuiltImage>),
}

/// The images that GitOps resources in a build set (a Flux `HelmRelease` listed by a
/// kustomization): checked and pinned in the files that write them.
fn build_values(build: &Build) -> Vec<crate::model::ValuesImage> {
    crate::helm::gitops_images(build.resources.iter().map(|resource| &resource.node), "")
}

fn image_sites(build: &Build, settings: &Settings) -> Vec<ImageSite> {
    let values = build_values(build);
    let mut model = extract_build(build, &settings.catalog);
    crate::model::add_values(&mut model, &values);
    model
        .images
        .iter()
        .filter_map(|image| {
            let built = Box::new(BuiltImage {
                text: image.text.to_string(),
                parsed: image.parsed.clone(),
                subject: model.subject(image),
            });
            let (file, span) = build.locate(image.set_by.unwrap_or(image.node.span))?;
            let file = PathBuf::from(&file.name);
            Some(match image.set_by {
                Some(_) => ImageSite::SetBy(file, span, built),
                None if build.is_rendered(image.node.span) => {
                    ImageSite::Rendered(file, span, built)
                }
                None => ImageSite::Written(file, span, built),
            })
        })
        .collect()
}

/// The kustomization file of a root folder, which a warning about its build names (the folder
/// itself reads as nothing when it is the current one, and an annotation needs a file).
fn kustomization_file_of(dir: &Path) -> PathBuf {
    kustomize::find_kustomization(dir).unwrap_or_else(|| dir.to_path_buf())
}
