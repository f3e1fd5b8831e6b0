//! `--summary FILE`: a Markdown job summary (GitHub shows `$GITHUB_STEP_SUMMARY` on the run's
//! page): the counts, a table of findings by rule and file, then each finding, folded.
//! Appended, since other steps write to the same file.

use std::collections::BTreeMap;
use std::io::{self, Write};

use super::{Reporter, Summary};
use crate::finding::{FileReport, Severity};

/// GitHub takes up to 1 MiB of summary per step; a table this long is read by no one.
const MAX_DETAIL_ROWS: usize = 200;

pub struct MarkdownSummary<'a> {
    out: Box<dyn Write + 'a>,
    /// (rule, file) -> worst severity and count.
    by_rule_and_file: BTreeMap<(&'static str, String), (Severity, usize)>,
    /// Severity, rule, `file:line:column`, message.
    details: Vec<(Severity, &'static str, String, String)>,
    total: usize,
}

impl<'a> MarkdownSummary<'a> {
    pub fn new(out: Box<dyn Write + 'a>) -> MarkdownSummary<'a> {
        MarkdownSummary {
            out,
            by_rule_and_file: BTreeMap::new(),
            details: Vec::new(),
            total: 0,
        }
    }

    fn write(&mut self, summary: &Summary) -> io::Result<()> {
        let out = &mut self.out;
        writeln!(out, "## pinnace\n")?;
        writeln!(out, "{}\n", headline(summary))?;
        if !self.by_rule_and_file.is_empty() {
            writeln!(out, "| Rule | File | Severity | Findings |")?;
            writeln!(out, "|---|---|---|---:|")?;
            for ((rule, file), (severity, count)) in &self.by_rule_and_file {
                writeln!(
                    out,
                    "| `{rule}` | {} | {} | {count} |",
                    cell(file),
                    severity_badge(*severity)
                )?;
            }
            writeln!(out, "\n<details><summary>Every finding</summary>\n")?;
            writeln!(out, "| Severity | Rule | Where | Message |")?;
            writeln!(out, "|---|---|---|---|")?;
            for (severity, rule, place, message) in &self.details {
                writeln!(
                    out,
                    "| {} | `{rule}` | {} | {} |",
                    severity_badge(*severity),
                    cell(place),
                    cell(message)
                )?;
            }
            if self.total > self.details.len() {
                writeln!(
                    out,
                    "\n…and {} more: see the annotations or the SARIF file.",
                    self.total - self.details.len()
                )?;
            }
            writeln!(out, "\n</details>\n")?;
        }
        if !summary.problems.is_empty() {
            writeln!(out, "Inputs not checked:\n")?;
            for problem in &summary.problems {
                writeln!(out, "- {}: {}", cell(&problem.path), cell(&problem.message))?;
            }
            writeln!(out)?;
        }
        out.flush()
    }
}

impl Reporter for MarkdownSummary<'_> {
    fn file(&mut self, report: &FileReport) -> io::Result<()> {
        for finding in &report.findings {
            let entry = self
                .by_rule_and_file
                .entry((finding.rule.id, report.source.name.clone()))
                .or_insert((finding.severity, 0));
            entry.0 = entry.0.max(finding.severity);
            entry.1 += 1;
            self.total += 1;
            if self.details.len() < MAX_DETAIL_ROWS {
                let start = report.region(finding).start;
                self.details.push((
                    finding.severity,
                    finding.rule.id,
                    format!("{}:{}:{}", report.source.name, start.line, start.column),
                    finding.message.clone(),
                ));
            }
        }
        Ok(())
    }

    fn finish(&mut self, summary: &Summary) -> io::Result<()> {
        self.write(summary)
    }
}

/// The one line a reader needs: how many, how bad, out of how much.
fn headline(summary: &Summary) -> String {
    let files = count(summary.files_checked, "file");
    let mut line = if summary.findings() == 0 {
        format!(":white_check_mark: No findings in {files} checked.")
    } else {
        format!(
            ":x: **{}** ({}, {}, {}) in {files} checked.",
            count(summary.findings(), "finding"),
            count(summary.errors, "error"),
            count(summary.warnings, "warning"),
            count(summary.notes, "note"),
        )
    };
    if summary.baselined > 0 {
        line.push_str(&format!(
            " {} in the baseline not shown.",
            count(summary.baselined, "finding")
        ));
    }
    line
}

fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

fn severity_badge(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => ":x: error",
        Severity::Warning => ":warning: warning",
        Severity::Note => ":information_source: note",
    }
}

/// Text made safe for one table cell: no line breaks, no column separators, no HTML.
fn cell(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace('<', "&lt;")
        .replace(['\r', '\n'], " ")
}
