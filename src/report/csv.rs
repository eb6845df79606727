/*!
`--csv`: one row per file seen, counted or skipped, written as files finish
so that memory does not grow with the corpus.
*/

use std::io::{self, Write};

use super::rows::RowSink;
use crate::discover::Skipped;
use crate::tally::FileTally;

/// Streams per-file rows to a CSV writer.
pub struct CsvRows<W: Write> {
    writer: csv::Writer<W>,
    columns: usize,
}

impl<W: Write> CsvRows<W> {
    /// Writes the header: fixed columns, then `tokens_<name>` per tokenizer.
    pub fn new(out: W, tokenizers: &[String]) -> csv::Result<Self> {
        let mut writer = csv::Writer::from_writer(out);
        let mut header: Vec<String> = [
            "path",
            "category",
            "status",
            "reason",
            "encoding",
            "bytes",
            "chars",
            "lines",
            "parse",
            "records",
            "malformed",
            "format",
            "pages",
            "extractor",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        header.extend(tokenizers.iter().map(|t| format!("tokens_{t}")));
        writer.write_record(&header)?;
        Ok(CsvRows {
            writer,
            columns: tokenizers.len(),
        })
    }

    pub fn counted(&mut self, f: &FileTally) -> csv::Result<()> {
        let mut row = vec![
            f.path.display().to_string(),
            f.category.clone(),
            "counted".to_string(),
            String::new(),
            f.encoding.to_string(),
            f.bytes.to_string(),
            f.chars.to_string(),
            f.lines.to_string(),
            f.parser.as_str().to_string(),
            f.records()
                .map_or(String::new(), |(records, _)| records.to_string()),
            f.records()
                .map_or(String::new(), |(_, malformed)| malformed.to_string()),
            f.format.to_string(),
            f.pages.map(|p| p.to_string()).unwrap_or_default(),
            f.extractor.unwrap_or_default().to_string(),
        ];
        row.extend(f.tokens.iter().map(|t| t.to_string()));
        self.writer.write_record(&row)
    }

    pub fn skipped(&mut self, s: &Skipped) -> csv::Result<()> {
        let mut row = vec![
            s.path.display().to_string(),
            s.category.clone(),
            "skipped".to_string(),
            s.reason.to_string(),
            String::new(),
            s.bytes.to_string(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            s.reason.format().unwrap_or_default().to_string(),
            s.reason.pages().map(|p| p.to_string()).unwrap_or_default(),
            String::new(),
        ];
        row.extend(std::iter::repeat_n(String::new(), self.columns));
        self.writer.write_record(&row)
    }

    /// Flushes the rows and hands the output back.
    pub fn finish(self) -> std::io::Result<W> {
        self.writer.into_inner().map_err(|e| e.into_error())
    }
}

impl<W: Write> RowSink for CsvRows<W> {
    fn counted(&mut self, file: &FileTally) -> io::Result<()> {
        CsvRows::counted(self, file).map_err(io::Error::other)
    }
    fn skipped(&mut self, file: &Skipped) -> io::Result<()> {
        CsvRows::skipped(self, file).map_err(io::Error::other)
    }
}
