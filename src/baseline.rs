//! Baselines: today's findings written to a file, so that a repository can adopt pinnace
//! before it is clean and fail only on what is new.
//!
//! A finding is recorded by what it is about (rule, file, resource, container, image), never
//! by line or column, so an unrelated edit above it keeps it matched. Entries that share a
//! fingerprint are counted, so a second identical finding is still new. The format is
//! documented in docs/baseline.md.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::finding::{FileReport, Finding, Subject};

/// The version of the file format.
pub const VERSION: u32 = 1;

/// What identifies a finding across edits.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Fingerprint {
    pub file: String,
    pub rule: String,
    pub resource: Option<String>,
    pub container: Option<String>,
    pub image: Option<String>,
    /// Only for findings about no resource (a YAML syntax error): the message.
    pub message: Option<String>,
}

impl Fingerprint {
    pub fn of(file: &str, finding: &Finding) -> Fingerprint {
        let subject = finding.subject.as_ref();
        Fingerprint {
            file: file.to_string(),
            rule: finding.rule.id.to_string(),
            resource: subject.map(resource_name),
            container: subject.and_then(|s| s.container.clone()),
            image: subject.and_then(|s| s.image.clone()),
            message: subject.is_none().then(|| finding.message.clone()),
        }
    }
}

/// `Kind/namespace/name`, or `Kind/name` without a namespace.
fn resource_name(subject: &Subject) -> String {
    let mut name = subject.kind.clone();
    for part in [&subject.namespace, &subject.name].into_iter().flatten() {
        name.push('/');
        name.push_str(part);
    }
    name
}

/// One line of the file: a fingerprint and how many findings have it.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    file: String,
    rule: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    resource: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    container: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    image: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    message: Option<String>,
    count: usize,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct BaselineFile {
    version: u32,
    findings: Vec<Entry>,
}

/// Fingerprints with their counts, in a stable order.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Baseline {
    pub entries: BTreeMap<Fingerprint, usize>,
}

impl Baseline {
    pub fn read(path: &Path) -> Result<Baseline, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the baseline {}: {e}", path.display()))?;
        let file: BaselineFile = serde_json::from_str(&text)
            .map_err(|e| format!("{} is not a pinnace baseline: {e}", path.display()))?;
        if file.version != VERSION {
            return Err(format!(
                "{} is a version {} baseline; this pinnace reads version {VERSION}",
                path.display(),
                file.version
            ));
        }
        let mut baseline = Baseline::default();
        for entry in file.findings {
            let key = Fingerprint {
                file: entry.file,
                rule: entry.rule,
                resource: entry.resource,
                container: entry.container,
                image: entry.image,
                message: entry.message,
            };
            *baseline.entries.entry(key).or_default() += entry.count;
        }
        Ok(baseline)
    }

    /// The file's text: sorted entries, one field a line, ending in a newline.
    pub fn to_json(&self) -> String {
        let findings = self
            .entries
            .iter()
            .map(|(key, count)| Entry {
                file: key.file.clone(),
                rule: key.rule.clone(),
                resource: key.resource.clone(),
                container: key.container.clone(),
                image: key.image.clone(),
                message: key.message.clone(),
                count: *count,
            })
            .collect();
        let file = BaselineFile {
            version: VERSION,
            findings,
        };
        let mut text = serde_json::to_string_pretty(&file).expect("a baseline serializes");
        text.push('\n');
        text
    }

    pub fn add(&mut self, key: Fingerprint) {
        *self.entries.entry(key).or_default() += 1;
    }

    pub fn total(&self) -> usize {
        self.entries.values().sum()
    }
}

/// How a baseline file names files: relative to the folder that holds it, with forward
/// slashes, so the file means the same from any working folder.
pub struct PathKeys {
    folder: Option<PathBuf>,
    cwd: Option<PathBuf>,
}

impl PathKeys {
    pub fn new(baseline: &Path) -> PathKeys {
        let parent = match baseline.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        PathKeys {
            folder: std::fs::canonicalize(parent).ok(),
            cwd: std::env::current_dir().ok(),
        }
    }

    /// The key of a file that output names `name` (relative to the working folder or absolute).
    pub fn key(&self, name: &str) -> String {
        let (Some(folder), Some(cwd)) = (&self.folder, &self.cwd) else {
            return name.to_string();
        };
        let Ok(absolute) = std::fs::canonicalize(cwd.join(name)) else {
            return name.to_string();
        };
        match absolute.strip_prefix(folder) {
            Ok(relative) => relative.to_string_lossy().replace('\\', "/"),
            Err(_) => absolute.to_string_lossy().replace('\\', "/"),
        }
    }
}

/// A run against a baseline: findings it holds are taken out of the reports (each entry as
/// many times as its count), and what was never matched is stale.
pub struct Matcher {
    remaining: Baseline,
    keys: PathKeys,
    /// Files the run looked at (baseline keys): only their entries can be called stale.
    seen: BTreeSet<String>,
    pub suppressed: usize,
}

impl Matcher {
    pub fn new(baseline: Baseline, keys: PathKeys) -> Matcher {
        Matcher {
            remaining: baseline,
            keys,
            seen: BTreeSet::new(),
            suppressed: 0,
        }
    }

    /// Removes the findings the baseline holds from `report`.
    pub fn filter(&mut self, report: &mut FileReport) {
        let file = self.keys.key(&report.source.name);
        report.findings.retain(|finding| {
            let key = Fingerprint::of(&file, finding);
            match self.remaining.entries.get_mut(&key) {
                Some(count) if *count > 0 => {
                    *count -= 1;
                    self.suppressed += 1;
                    false
                }
                _ => true,
            }
        });
        self.seen.insert(file);
    }

    /// Notes that the run checked the file output names `name`, even without a report.
    pub fn saw(&mut self, name: &str) {
        self.seen.insert(self.keys.key(name));
    }

    /// Entries of files the run checked that matched no finding: fixed since the baseline
    /// was written (or changed beyond recognition).
    pub fn stale(&self) -> Vec<(&Fingerprint, usize)> {
        self.remaining
            .entries
            .iter()
            .filter(|(key, count)| **count > 0 && self.seen.contains(&key.file))
            .map(|(key, count)| (key, *count))
            .collect()
    }
}

/// A run that writes a baseline: every finding is recorded.
pub struct Recorder {
    pub baseline: Baseline,
    keys: PathKeys,
}

impl Recorder {
    pub fn new(keys: PathKeys) -> Recorder {
        Recorder {
            baseline: Baseline::default(),
            keys,
        }
    }

    /// Records every finding of `report` and takes them out of it: they are the baseline now.
    pub fn record(&mut self, report: &mut FileReport) {
        let file = self.keys.key(&report.source.name);
        for finding in report.findings.drain(..) {
            self.baseline.add(Fingerprint::of(&file, &finding));
        }
    }
}

/// One stale entry, as stderr shows it.
pub fn describe(key: &Fingerprint) -> String {
    let mut text = format!("{}: {}", key.file, key.rule);
    for part in [&key.resource, &key.container, &key.image, &key.message]
        .into_iter()
        .flatten()
    {
        text.push_str(", ");
        text.push_str(part);
    }
    text
}
