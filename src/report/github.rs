//! `--format github`: workflow commands that GitHub Actions turns into annotations on the
//! changed lines of a pull request.

use std::io::{self, Write};

use super::{Reporter, Summary};
use crate::finding::{FileReport, Severity};

pub struct GithubReporter<'a> {
    out: Box<dyn Write + 'a>,
}

impl<'a> GithubReporter<'a> {
    pub fn new(out: Box<dyn Write + 'a>) -> GithubReporter<'a> {
        GithubReporter { out }
    }
}

impl Reporter for GithubReporter<'_> {
    fn file(&mut self, report: &FileReport) -> io::Result<()> {
        for finding in &report.findings {
            let region = report.region(finding);
            let command = match finding.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
                Severity::Note => "notice",
            };
            let mut message = finding.message.clone();
            if let Some(help) = &finding.help {
                message.push_str("\nhelp: ");
                message.push_str(help);
            }
            if let Some(template) = &finding.template {
                message.push_str(&format!(
                    "\nnote: rendered from the Helm template {template}"
                ));
            }
            for note in &finding.notes {
                message.push_str(&format!(
                    "\nnote: {}: {}:{}:{}",
                    note.message, note.path, note.line, note.column
                ));
            }
            writeln!(
                self.out,
                "::{command} file={},line={},col={},endLine={},endColumn={},title={}::{}",
                escape_property(&report.source.name),
                region.start.line,
                region.start.column,
                region.end.line,
                region.end.column,
                escape_property(&format!("pinnace: {}", finding.rule.id)),
                escape_data(&message),
            )?;
        }
        Ok(())
    }

    fn finish(&mut self, summary: &Summary) -> io::Result<()> {
        for problem in &summary.problems {
            writeln!(
                self.out,
                "::warning file={},title=pinnace::{}",
                escape_property(&problem.path),
                escape_data(&problem.message)
            )?;
        }
        self.out.flush()
    }
}

/// The escaping the Actions runner undoes in a command's message.
fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Properties also reserve `:` and `,`.
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_follow_the_runner() {
        assert_eq!(escape_data("50%\nnext"), "50%25%0Anext");
        assert_eq!(escape_property("a:b,c"), "a%3Ab%2Cc");
    }
}
