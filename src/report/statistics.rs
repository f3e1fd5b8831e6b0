//! `--statistics`: how many findings each rule made, most first, instead of the findings
//! themselves, for a first look at a repository (as `ruff check --statistics` prints).

use std::collections::BTreeMap;
use std::io::{self, Write};

use super::{Reporter, Summary, print_problems, totals};
use crate::finding::{FileReport, Severity};

pub struct StatisticsReporter<'a> {
    out: Box<dyn Write + 'a>,
    /// Rule id → (count, the highest severity seen, the rule's summary).
    counts: BTreeMap<&'static str, (usize, Severity, &'static str)>,
}

impl<'a> StatisticsReporter<'a> {
    pub fn new(out: Box<dyn Write + 'a>) -> StatisticsReporter<'a> {
        StatisticsReporter {
            out,
            counts: BTreeMap::new(),
        }
    }
}

impl Reporter for StatisticsReporter<'_> {
    fn file(&mut self, report: &FileReport) -> io::Result<()> {
        for finding in &report.findings {
            let entry = self.counts.entry(finding.rule.id).or_insert((
                0,
                finding.severity,
                finding.rule.summary,
            ));
            entry.0 += 1;
            entry.1 = entry.1.max(finding.severity);
        }
        Ok(())
    }

    fn finish(&mut self, summary: &Summary) -> io::Result<()> {
        print_problems(summary, false);
        let mut rows: Vec<_> = self.counts.iter().collect();
        rows.sort_by(|a, b| b.1.0.cmp(&a.1.0).then(a.0.cmp(b.0)));
        let width = rows.iter().map(|(id, _)| id.len()).max().unwrap_or(0);
        let count_width = rows
            .first()
            .map_or(1, |(_, (count, _, _))| count.to_string().len());
        for (id, (count, severity, text)) in rows {
            writeln!(
                self.out,
                "{count:>count_width$}  {id:<width$}  {:<7}  {text}",
                severity.as_str()
            )?;
        }
        writeln!(self.out, "{}", totals(summary))?;
        self.out.flush()
    }
}
