/*!
Per-file rows as the audit finishes them: a [`RowSink`] receives one row per
file seen, in path order, so that a row format (`--csv`) can be written while
the corpus is counted, with memory that does not grow with it.
*/

use std::io;

use crate::discover::Skipped;
use crate::tally::FileTally;

/// Receives one row per file seen, in path order, as batches complete.
pub trait RowSink {
    /// A counted file.
    fn counted(&mut self, file: &FileTally) -> io::Result<()>;
    /// A file seen and skipped, with its reason.
    fn skipped(&mut self, file: &Skipped) -> io::Result<()>;
}

/// A sink that drops rows, for callers that only want the report.
pub struct NoRows;

impl RowSink for NoRows {
    fn counted(&mut self, _: &FileTally) -> io::Result<()> {
        Ok(())
    }
    fn skipped(&mut self, _: &Skipped) -> io::Result<()> {
        Ok(())
    }
}
