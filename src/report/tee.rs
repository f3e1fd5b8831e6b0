//! One run, several outputs: annotations on stdout, SARIF in a file and a job summary, from
//! the same findings.

use std::io;

use super::{Reporter, Summary};
use crate::finding::FileReport;

pub struct Tee<'a> {
    reporters: Vec<Box<dyn Reporter + 'a>>,
}

impl<'a> Tee<'a> {
    pub fn new(reporters: Vec<Box<dyn Reporter + 'a>>) -> Tee<'a> {
        Tee { reporters }
    }
}

impl Reporter for Tee<'_> {
    fn file(&mut self, report: &FileReport) -> io::Result<()> {
        // Every output gets every report, even after one of them failed to write.
        let mut first_error = None;
        for reporter in &mut self.reporters {
            if let Err(error) = reporter.file(report) {
                first_error.get_or_insert(error);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    fn finish(&mut self, summary: &Summary) -> io::Result<()> {
        let mut first_error = None;
        for reporter in &mut self.reporters {
            if let Err(error) = reporter.finish(summary) {
                first_error.get_or_insert(error);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}
