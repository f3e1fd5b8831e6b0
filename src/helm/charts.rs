//! Charts in scope, rendered with `helm template` and checked: each finding is moved to the
//! template file and line that wrote it (see [`super::locate`]), and a finding about an image
//! the chart's own values set is left to the values file, where `pin` fixes it.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rayon::prelude::*;

use super::locate::locate;
use super::render::{Render, find_binary};
use super::stream::Sources;
use crate::config::{DEFAULT_TIMEOUT_SECONDS, Settings};
use crate::discover::FoundFile;
use crate::finding::{FileReport, Finding, Note, Warning};
use crate::image_ref::ImageRef;
use crate::model::ScopeIndex;
use crate::model::values_images;
use crate::pipeline::{self, Input};
use crate::registry::OnlineFacts;
use crate::rules::recheck_reports;
use crate::source::{SourceFile, Span};
use crate::yaml::{Limits, load_stream};

/// The release name `helm template` uses when none is given.
const DEFAULT_RELEASE: &str = "release-name";

#[derive(Debug, Default)]
pub struct ChartResults {
    /// Reports by output name: template files, and rendered streams for what could not be
    /// placed in a template.
    pub reports: BTreeMap<String, FileReport>,
    /// Charts that could not be rendered, with helm's reason.
    pub warnings: Vec<Warning>,
    /// Charts rendered.
    pub rendered: usize,
    /// The NetworkPolicies, ServiceAccounts and Secrets the rendered charts make.
    pub index: ScopeIndex,
    /// Values images helm contradicted, by values file (as output names it): the image as
    /// pinnace composed it from the values, which the chart renders otherwise (a registry the
    /// chart keeps where pinnace did not look). Their findings are left to the rendered one.
    pub overruled: BTreeMap<String, HashSet<String>>,
}

impl ChartResults {
    /// Judges again, against the whole run's index, the findings made before it was complete
    /// (a chart is checked with its own resources alone).
    pub fn recheck(&mut self, run: &ScopeIndex, settings: &Settings) {
        recheck_reports(self.reports.values_mut(), run, settings);
    }
}

/// Renders and checks every application chart among `files` (library charts render nothing;
/// subcharts render with their parent). Without a `helm` program it says so once on stderr
/// and renders nothing: values files are checked on their own anyway.
pub fn check_charts(
    files: &[FoundFile],
    settings: &Settings,
    online: Option<&OnlineFacts>,
    display: &(dyn Fn(&Path) -> String + Sync),
) -> ChartResults {
    let helm = &settings.config.helm;
    if helm.render == Some(false) {
        return ChartResults::default();
    }
    let charts: Vec<PathBuf> = files
        .iter()
        .filter(|f| f.absolute.file_name().is_some_and(|n| n == "Chart.yaml"))
        .filter_map(|f| f.absolute.parent().map(Path::to_path_buf))
        .filter(|dir| is_application_chart(dir))
        .collect();
    if charts.is_empty() {
        return ChartResults::default();
    }
    let Some(binary) = find_binary(helm.binary.as_deref(), &settings.root) else {
        eprintln!(
            "warning: {} not found, so charts are not rendered; their values files are still checked (install helm, or set helm.binary)",
            helm.binary.as_deref().unwrap_or("helm")
        );
        return ChartResults::default();
    };
    let timeout = Duration::from_secs(helm.timeout_seconds.unwrap_or(DEFAULT_TIMEOUT_SECONDS));
    let renders: Vec<Render> = charts
        .iter()
        .flat_map(|chart| renders_for(chart, &binary, timeout, settings))
        .collect();
    let outcomes: Vec<Result<Rendered, Warning>> = renders
        .par_iter()
        .map(|render| {
            let text = render.run().map_err(|message| Warning {
                path: display(&render.chart),
                message,
            })?;
            Ok(check_rendered(render, text, settings, online, display))
        })
        .collect();
    let mut results = ChartResults::default();
    for outcome in outcomes {
        match outcome {
            Ok(Rendered {
                reports,
                index,
                overruled,
            }) => {
                results.rendered += 1;
                results.index.extend(index);
                for (file, image) in overruled {
                    results
                        .overruled
                        .entry(display(&file))
                        .or_default()
                        .insert(image);
                }
                for report in reports {
                    merge(&mut results.reports, report);
                }
            }
            Err(warning) => results.warnings.push(warning),
        }
    }
    results
}

/// A chart that renders resources: not a library chart, not a subchart in its parent's
/// `charts/` folder.
fn is_application_chart(dir: &Path) -> bool {
    let subchart = dir
        .parent()
        .filter(|parent| parent.file_name().is_some_and(|n| n == "charts"))
        .and_then(Path::parent)
        .is_some_and(|parent| parent.join("Chart.yaml").is_file());
    let library = crate::files::read_text(&dir.join("Chart.yaml")).is_ok_and(|text| {
        load_stream(&text, Limits::default())
            .documents
            .first()
            .and_then(|chart| chart.get("type"))
            .and_then(|kind| kind.as_str())
            == Some("library")
    });
    !subchart && !library
}

/// One render per `helm.charts` entry for this chart, or one with the chart's defaults.
fn renders_for(chart: &Path, binary: &Path, timeout: Duration, settings: &Settings) -> Vec<Render> {
    let confine = crate::discover::tree_top(chart);
    let configured: Vec<Render> = settings
        .config
        .helm
        .charts
        .iter()
        .filter(|entry| {
            std::fs::canonicalize(settings.root.join(&entry.path)).is_ok_and(|dir| dir == chart)
        })
        .map(|entry| Render {
            binary: binary.to_path_buf(),
            release: entry.release.clone().unwrap_or(DEFAULT_RELEASE.to_string()),
            chart: chart.to_path_buf(),
            confine: confine.clone(),
            namespace: entry.namespace.clone(),
            values: entry.values.iter().map(|v| settings.root.join(v)).collect(),
            timeout,
            extra_args: Vec::new(),
        })
        .collect();
    if !configured.is_empty() {
        return configured;
    }
    vec![Render {
        binary: binary.to_path_buf(),
        release: DEFAULT_RELEASE.to_string(),
        chart: chart.to_path_buf(),
        confine,
        namespace: None,
        values: Vec::new(),
        timeout,
        extra_args: Vec::new(),
    }]
}

/// What one render yields.
struct Rendered {
    reports: Vec<FileReport>,
    index: ScopeIndex,
    /// `(values file, image as composed)` of values images helm rendered otherwise.
    overruled: Vec<(PathBuf, String)>,
}

/// Checks one rendered stream and sorts its findings into the templates that wrote them.
fn check_rendered(
    render: &Render,
    text: String,
    settings: &Settings,
    online: Option<&OnlineFacts>,
    display: &(dyn Fn(&Path) -> String + Sync),
) -> Rendered {
    let input = Input {
        name: format!(
            "{} (helm template {})",
            display(&render.chart),
            render.release
        ),
        path: &render.chart.join("templates"),
        bytes: text.into_bytes(),
    };
    // The chart's own resources are its scope for now; its findings are judged again once
    // the whole run is indexed.
    let Ok((FileReport { source, findings }, index)) =
        pipeline::check_with_index(input, settings, online, None)
    else {
        return Rendered {
            reports: Vec::new(),
            index: ScopeIndex::default(),
            overruled: Vec::new(),
        };
    };
    let values = chart_values(render);
    let set_by_values: HashSet<String> = values
        .iter()
        .filter_map(|value| image_key(&value.text))
        .collect();
    let mut overruled = Vec::new();
    let sources = Sources::scan(&source.text).unwrap_or_default();
    let mut templates: BTreeMap<PathBuf, FileReport> = BTreeMap::new();
    let mut unplaced = Vec::new();
    for mut finding in findings {
        if is_set_by_values(&finding, &set_by_values) {
            continue;
        }
        // An image some values key feeds, which pinnace composed otherwise: helm is right,
        // and the finding names the key where the chart reads it.
        let feeding = feeding_value(&finding, &values);
        if let Some(value) = feeding {
            overruled.push((value.file.clone(), value.text.clone()));
        }
        let Some(path) = finding
            .template
            .as_deref()
            .and_then(|written| template_path(&render.chart, written))
        else {
            unplaced.push(finding);
            continue;
        };
        let Some(report) = report_for(&mut templates, &path, display) else {
            unplaced.push(finding);
            continue;
        };
        let start = sources.document_start(finding.span.start);
        let template_name = report.source.name.clone();
        match locate(&source, start, finding.span, &report.source.text) {
            Some(span) => {
                if finding.rule.fixable {
                    finding.help = Some(format!(
                        "`helm template {}` renders this line as the image above: pin it in the values that feed it (`pinnace pin` pins values files), or write the digest here",
                        render.release
                    ));
                }
                if let Some(value) = feeding {
                    finding.notes.push(value.note(display));
                }
                finding.span = span;
                finding.template = Some(template_name);
                report.findings.push(finding);
            }
            None => {
                let rendered = source
                    .line_text(source.position(finding.span.start).line)
                    .trim()
                    .to_string();
                let uncertain = format!(
                    "`helm template {}` renders `{rendered}` from `{template_name}`, at a line \
                     that is not certain (helm keeps no map from its output to its templates, \
                     and an `if` or a `range` renders lines a number of times the template does \
                     not show)",
                    render.release
                );
                finding.template = Some(template_name);
                // The values key the chart reads the image from is the place to edit; without
                // one, the template as a whole is what wrote it.
                let placed = feeding.and_then(|value| {
                    let report = report_for(&mut templates, &value.file, display)?;
                    Some((report, value.span, value))
                });
                let (report, span) = match placed {
                    Some((report, span, value)) => {
                        finding.help = Some(format!(
                            "the chart reads this image from `{}`: {uncertain}; `pinnace pin` pins image values in values files",
                            value.key
                        ));
                        (report, span)
                    }
                    None => {
                        let Some(report) = templates.get_mut(&path) else {
                            continue;
                        };
                        finding.help = Some(format!(
                            "{uncertain}: change the image where the chart decides it, in its values or in this template"
                        ));
                        let span = first_line(&report.source.text);
                        (report, span)
                    }
                };
                finding.span = span;
                report.findings.push(finding);
            }
        }
    }
    let mut reports: Vec<FileReport> = templates
        .into_values()
        .filter(|report| !report.findings.is_empty())
        .collect();
    if !unplaced.is_empty() {
        reports.push(FileReport {
            source,
            findings: unplaced,
        });
    }
    Rendered {
        reports,
        index,
        overruled,
    }
}

/// The report of a template or values file of the chart, read the first time a finding lands
/// in it; `None` when it cannot be read.
fn report_for<'r>(
    reports: &'r mut BTreeMap<PathBuf, FileReport>,
    path: &Path,
    display: &(dyn Fn(&Path) -> String + Sync),
) -> Option<&'r mut FileReport> {
    if !reports.contains_key(path) {
        let text = crate::files::read_text(path).ok()?;
        let report = FileReport {
            source: SourceFile::new(display(path), text),
            findings: Vec::new(),
        };
        reports.insert(path.to_path_buf(), report);
    }
    reports.get_mut(path)
}

/// The first line of a file that is not a comment (a template's whole text wrote the finding,
/// and its first line is where an annotation can stand for it).
fn first_line(text: &str) -> Span {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_end();
        if !trimmed.trim().is_empty() && !trimmed.trim_start().starts_with('#') {
            return Span::new(offset, offset + trimmed.len());
        }
        offset += line.len();
    }
    Span::new(0, 0)
}

/// The file a `# Source:` path names: `web/templates/x.yaml` below the chart folder, a
/// subchart's `web/charts/db/templates/x.yaml` below its folder in `charts/`.
pub fn template_path(chart: &Path, written: &str) -> Option<PathBuf> {
    let (_, inside) = written.split_once('/')?;
    // The comment is the chart's own text: `# Source: app/../../../etc/passwd` must not make
    // pinnace read and quote a file outside the chart, through `..` or a symlink.
    let path = std::fs::canonicalize(chart.join(inside)).ok()?;
    let chart = std::fs::canonicalize(chart).ok()?;
    (path.starts_with(&chart) && path.is_file()).then_some(path)
}

/// An image a chart's values files set: the file, the key path, where, and the image as
/// pinnace composes it.
struct ChartValue {
    file: PathBuf,
    key: String,
    position: crate::source::Position,
    span: Span,
    text: String,
}

impl ChartValue {
    /// A note that the chart reads the image from this key.
    fn note(&self, display: &(dyn Fn(&Path) -> String + Sync)) -> Note {
        Note {
            path: display(&self.file),
            line: self.position.line,
            column: self.position.column,
            message: format!("the chart reads this image from `{}`", self.key),
        }
    }
}

/// The images the chart's values files set (its `values.yaml` and the `-f` files).
fn chart_values(render: &Render) -> Vec<ChartValue> {
    let files =
        std::iter::once(render.chart.join("values.yaml")).chain(render.values.iter().cloned());
    let mut found = Vec::new();
    for file in files {
        let Ok(text) = crate::files::read_text(&file) else {
            continue;
        };
        let source = SourceFile::new(String::new(), text);
        for document in load_stream(&source.text, Limits::default()).documents {
            found.extend(
                values_images(&document, "")
                    .into_iter()
                    .map(|image| ChartValue {
                        file: file.clone(),
                        key: image.path,
                        position: source.position(image.node.span.start),
                        span: image.node.span,
                        text: image.text,
                    }),
            );
        }
    }
    found
}

/// The values image that feeds a rendered image pinnace composed differently: the same
/// repository path at the end of the name (the registry is what charts keep elsewhere) and
/// the same tag.
fn feeding_value<'v>(finding: &Finding, values: &'v [ChartValue]) -> Option<&'v ChartValue> {
    let rendered = ImageRef::parse(finding.subject.as_ref()?.image.as_deref()?).ok()?;
    values.iter().find(|value| {
        let Ok(composed) = ImageRef::parse(&value.text) else {
            return false;
        };
        let path = composed.repository().trim_start_matches("library/");
        composed.name() != rendered.name()
            && (rendered.repository() == path
                || rendered.repository().ends_with(&format!("/{path}")))
            && composed.tag() == rendered.tag()
    })
}

fn is_set_by_values(finding: &Finding, keys: &HashSet<String>) -> bool {
    finding
        .subject
        .as_ref()
        .and_then(|subject| subject.image.as_deref())
        .and_then(image_key)
        .is_some_and(|key| keys.contains(&key))
}

fn image_key(text: &str) -> Option<String> {
    let reference = ImageRef::parse(text).ok()?;
    Some(format!(
        "{}:{}@{}",
        reference.name(),
        reference.tag().unwrap_or(""),
        reference
            .digest()
            .map(|d| d.to_string())
            .unwrap_or_default()
    ))
}

/// Adds a report to the results; two renders of one chart (two `helm.charts` entries) that
/// find the same thing at the same place report it once.
fn merge(reports: &mut BTreeMap<String, FileReport>, report: FileReport) {
    let Some(existing) = reports.get_mut(&report.source.name) else {
        reports.insert(report.source.name.clone(), report);
        return;
    };
    for finding in report.findings {
        let duplicate = existing.findings.iter().any(|f| {
            f.rule.id == finding.rule.id && f.span == finding.span && f.message == finding.message
        });
        if !duplicate {
            existing.findings.push(finding);
        }
    }
    existing
        .findings
        .sort_by(|a, b| (a.span.start, a.rule.id).cmp(&(b.span.start, b.rule.id)));
}
