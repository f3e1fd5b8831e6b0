//! Pinning as a library: plan what to pin below some paths (asking no registry), then write
//! the resolved digests into each planned file in memory. `pinnace pin` prints and writes the
//! results; `pinnace migrate` plans many repositories, resolves their images together and
//! commits each.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::builds::{BuiltImage, PinScope, scan_for_pin};
use crate::config::Settings;
use crate::finding::Warning;
use crate::fix::{
    self, NewEntry, Outcome, PinOptions, PinTarget, SkipReason, append_images_entries,
    plan_overlay_entry, rewrite_file,
};
use crate::image_ref::ImageRef;
use crate::inputs::{DisplayNames, for_each_input, gather_inputs};
use crate::model::extract;
use crate::pipeline::{self, Loaded};
use crate::registry::{RegistryError, Resolutions};

/// A file read for pinning, with what was planned in it.
pub struct PlannedFile {
    name: String,
    path: PathBuf,
    /// The file as read (valid UTF-8: files that are not are never edited); empty when
    /// nothing in the file is to be pinned, so memory holds only what may be rewritten.
    text: String,
    targets: Vec<PinTarget>,
    skipped: Vec<(String, SkipReason)>,
    /// Images from a base outside the paths, to add as `images:` entries to this kustomization.
    additions: Vec<Addition>,
}

/// An `images:` entry to add once its digest is known.
struct Addition {
    name: String,
    tag: String,
    lookup: String,
    reference: ImageRef,
}

/// What pinning planned over a set of paths, before any registry is asked: kept whole so that
/// `migrate` can plan many repositories, resolve their images together, then apply each.
pub struct PinPlan {
    files: Vec<PlannedFile>,
    /// Files that cannot be pinned (unreadable, not parsing), one line each.
    pub failures: Vec<String>,
    /// Roots pinnace cannot build, and entries it does not build.
    pub warnings: Vec<Warning>,
}

impl PinPlan {
    /// Every `registry/repository:tag` the plan needs, each once.
    pub fn lookups(&self) -> BTreeMap<String, ImageRef> {
        let targets = self
            .files
            .iter()
            .flat_map(|file| &file.targets)
            .map(|target| (target.lookup.clone(), target.reference.clone()));
        let additions = self
            .files
            .iter()
            .flat_map(|file| &file.additions)
            .map(|a| (a.lookup.clone(), a.reference.clone()));
        targets.chain(additions).collect()
    }

    /// The planned files, to apply one by one.
    pub fn into_files(self) -> Vec<PlannedFile> {
        self.files
    }
}

/// Why an image or a file was not pinned although it was meant to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// The registry did not give a digest; the rest of the file is still edited.
    Resolve,
    /// The edit could not be made or did not verify; the file (or that part) is not edited.
    Edit,
    /// `--require-signature`: the digest has no signature that verifies, so the image is left
    /// as it was; the rest of the file is still edited.
    Unsigned,
}

#[derive(Debug, Clone)]
pub struct PinFailure {
    pub kind: FailureKind,
    /// The image, when the failure is about one.
    pub image: Option<String>,
    pub message: String,
}

/// One image written with its digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinnedImage {
    /// The image as written before.
    pub image: String,
    pub digest: String,
    /// `--update` replaced an older digest.
    pub updated: bool,
}

/// One file once the resolved digests are written into it (in memory: nothing is written).
pub struct FileResult {
    pub name: String,
    pub path: PathBuf,
    /// The text as read (empty when nothing in the file was to be pinned).
    pub text: String,
    /// The new text, `None` when nothing changes.
    pub new_text: Option<String>,
    pub pinned: Vec<PinnedImage>,
    /// `--update` found the written digest current.
    pub current: usize,
    pub skipped: Vec<(String, SkipReason)>,
    pub failures: Vec<PinFailure>,
}

impl PinFailure {
    /// The line `pin` prints after `failed:`.
    pub fn line(&self, file: &str) -> String {
        match &self.image {
            Some(image) => format!("{file}: {image}: {}", self.message),
            None => format!("{file}: {}", self.message),
        }
    }
}

/// Walks `paths` and decides what to do with each image found, asking no registry.
pub fn plan_paths(paths: &[PathBuf], settings: &Settings, options: PinOptions) -> PinPlan {
    let inputs = gather_inputs(paths, settings);
    let names = DisplayNames::new(&inputs.files);
    let scope = scan_for_pin(&inputs.files, settings, &|path| names.get(path));
    let mut failures = Vec::new();
    let mut files = Vec::new();
    let problems = for_each_input(
        &inputs,
        "-",
        |input| Ok(plan_file(input, settings, options, &scope)),
        |planned| files.push(planned),
    );
    for problem in problems {
        failures.push(format!("{}: {}", problem.path, problem.message));
    }
    let files = files
        .into_iter()
        .filter_map(|planned| planned.map_err(|failure| failures.push(failure)).ok())
        .collect();
    PinPlan {
        files,
        failures,
        warnings: scope.warnings,
    }
}

/// Writes the resolved digests into one planned file, in memory.
pub fn apply_file(file: PlannedFile, resolutions: &Resolutions) -> FileResult {
    let mut result = FileResult {
        name: file.name,
        path: file.path,
        text: file.text,
        new_text: None,
        pinned: Vec::new(),
        current: 0,
        skipped: file.skipped,
        failures: Vec::new(),
    };
    let rewrite = match rewrite_file(&result.text, file.targets, resolutions) {
        Ok(rewrite) => rewrite,
        Err(error) => {
            result.failures.push(PinFailure {
                kind: FailureKind::Edit,
                image: None,
                message: error.to_string(),
            });
            return result;
        }
    };
    // One line per failed image, in file order (an image written twice fails once).
    let mut failed_here: Vec<(String, &RegistryError)> = Vec::new();
    for (target, outcome) in &rewrite.outcomes {
        let digest = || match resolutions.get(&target.lookup) {
            Some(Ok(manifest)) => manifest.digest.to_string(),
            _ => String::new(),
        };
        match outcome {
            Outcome::Pinned | Outcome::Updated => result.pinned.push(PinnedImage {
                image: target.text.clone(),
                digest: digest(),
                updated: *outcome == Outcome::Updated,
            }),
            Outcome::Current => result.current += 1,
            Outcome::Failed(error) => {
                if !failed_here.iter().any(|(image, _)| *image == target.text) {
                    failed_here.push((target.text.clone(), error));
                }
            }
        }
    }
    for (image, error) in failed_here {
        result.failures.push(PinFailure {
            kind: failure_kind(error),
            image: Some(image),
            message: error.to_string(),
        });
    }
    result.new_text = rewrite.new_text;
    if !file.additions.is_empty() {
        add_entries(&mut result, &file.additions, resolutions);
    }
    result
}

/// How a registry error that kept an image from being pinned is counted.
fn failure_kind(error: &RegistryError) -> FailureKind {
    match error {
        RegistryError::Unsigned { .. } => FailureKind::Unsigned,
        _ => FailureKind::Resolve,
    }
}

/// Adds `images:` entries for images a build takes from a base outside the paths.
fn add_entries(result: &mut FileResult, additions: &[Addition], resolutions: &Resolutions) {
    let mut entries = Vec::new();
    for addition in additions {
        match resolutions.get(&addition.lookup) {
            Some(Ok(manifest)) => entries.push(NewEntry {
                name: addition.name.clone(),
                tag: addition.tag.clone(),
                digest: manifest.digest.to_string(),
            }),
            Some(Err(error)) => result.failures.push(PinFailure {
                kind: failure_kind(error),
                image: Some(addition.lookup.clone()),
                message: error.to_string(),
            }),
            None => {}
        }
    }
    if entries.is_empty() {
        return;
    }
    let base = result.new_text.as_deref().unwrap_or(&result.text);
    match append_images_entries(base, &entries) {
        Ok(text) => {
            result
                .pinned
                .extend(entries.into_iter().map(|entry| PinnedImage {
                    image: format!("{}:{}", entry.name, entry.tag),
                    digest: entry.digest,
                    updated: false,
                }));
            result.new_text = Some(text);
        }
        Err(error) => result.failures.push(PinFailure {
            kind: FailureKind::Edit,
            image: None,
            message: error.to_string(),
        }),
    }
}

/// Loads a file and decides what to do with each of its images. `Err` is a file that cannot
/// be pinned safely (it does not parse).
fn plan_file(
    input: pipeline::Input<'_>,
    settings: &Settings,
    options: PinOptions,
    scope: &PinScope,
) -> Result<PlannedFile, String> {
    let path = input.path.to_path_buf();
    let (source, documents, syntax_error) = match pipeline::load(input) {
        Loaded::Skipped(warning) => return Err(format!("{}: {}", warning.path, warning.message)),
        Loaded::Documents {
            source,
            documents,
            syntax_error,
        } => (source, documents, syntax_error),
    };
    if let Some(error) = syntax_error {
        let line = source.position(error.span.start).line;
        return Err(format!(
            "{}:{line}: {}; not edited",
            source.name, error.message
        ));
    }
    let values = crate::helm::values_of(&documents, &source.text, &path, settings);
    let mut model = extract(&documents, &settings.catalog);
    crate::model::add_values(&mut model, &values);
    let mut targets = Vec::new();
    let mut skipped = Vec::new();
    // In a file a Kustomize build reads, an image an overlay retags everywhere is pinned at
    // the overlay's entry, not here.
    let written = scope.written.get(&path);
    let covered = scope.covered.contains(&path);
    for ((span, decision), image) in
        fix::plan_values_pins(&model, &values, &source.text, settings, options)
            .into_iter()
            .zip(&model.images)
    {
        if covered && !written.is_some_and(|spans| spans.contains(&span)) {
            continue;
        }
        match decision {
            Ok(target) => targets.push(target),
            Err(reason) => skipped.push((image.text.to_string(), reason)),
        }
    }
    let images_entries = documents
        .first()
        .and_then(|root| root.get("images"))
        .and_then(|n| n.as_sequence());
    for (span, built) in scope.entries.get(&path).into_iter().flatten() {
        let Some(entry) =
            images_entries.and_then(|items| items.iter().find(|item| item.span == *span))
        else {
            continue;
        };
        let name = entry
            .get("name")
            .and_then(|n| n.as_str())
            .unwrap_or("?")
            .to_string();
        let Some(built) = built else {
            skipped.push((name, SkipReason::NotEditable));
            continue;
        };
        match plan_overlay_entry(
            entry,
            &source.text,
            &built.parsed,
            &built.text,
            settings,
            options,
        ) {
            Ok(target) => targets.push(target),
            Err(reason) => skipped.push((built.text.clone(), reason)),
        }
    }
    let mut additions = Vec::new();
    for built in scope.additions.get(&path).into_iter().flatten() {
        match plan_addition(built, settings, options) {
            Ok(addition) => additions.push(addition),
            Err(reason) => skipped.push((built.text.clone(), reason)),
        }
    }
    Ok(PlannedFile {
        name: source.name.clone(),
        path,
        text: if targets.is_empty() && additions.is_empty() {
            String::new()
        } else {
            source.text.to_string()
        },
        targets,
        skipped,
        additions,
    })
}

/// Whether an image a build takes from a base outside the paths gets an `images:` entry, and
/// what it asks the registry for.
fn plan_addition(
    built: &BuiltImage,
    settings: &Settings,
    options: PinOptions,
) -> Result<Addition, SkipReason> {
    // An image the base pins already needs no entry, `--update` or not.
    let options = PinOptions {
        update: false,
        ..options
    };
    let (reference, tag) = fix::eligible(&built.parsed, settings, options)?;
    Ok(Addition {
        name: built.text[..reference.name_end()].to_string(),
        tag: tag.to_string(),
        lookup: format!("{}:{tag}", reference.name()),
        reference: reference.clone(),
    })
}
