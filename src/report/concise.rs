//! One line per finding, `path:line:col: rule message`, as ruff and kube-linter print them:
//! for big repositories, editors' problem matchers and `grep`.

use std::io::{self, Write};

use super::{Reporter, Summary, print_problems, totals};
use crate::finding::FileReport;

pub struct ConciseReporter<'a> {
    out: Box<dyn Write + 'a>,
}

impl<'a> ConciseReporter<'a> {
    pub fn new(out: Box<dyn Write + 'a>) -> ConciseReporter<'a> {
        ConciseReporter { out }
    }
}

impl Reporter for ConciseReporter<'_> {
    fn file(&mut self, report: &FileReport) -> io::Result<()> {
        for finding in &report.findings {
            let start = report.source.position(finding.span.start);
            writeln!(
                self.out,
                "{}:{}:{}: {} {}",
                report.source.name, start.line, start.column, finding.rule.id, finding.message
            )?;
        }
        Ok(())
    }

    fn finish(&mut self, summary: &Summary) -> io::Result<()> {
        print_problems(summary, false);
        writeln!(self.out, "{}", totals(summary))?;
        self.out.flush()
    }
}
