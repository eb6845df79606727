/*!
Extract: decide which text of a document a model would actually be sent.

For `--parse text` that is the whole document, as one input segment. Chat
transcripts (`chat`) are read into conversations whose messages the counting
stage charges by role and chat format. Documents (PDF, DOCX, ODT, HTML,
XLSX/ODS, PPTX, EML/MBOX) are turned into their text by [`document`] and
counted as one input segment. `--parse auto` (the default) chooses per file:
documents by their first bytes and extension ([`document::detect`]), then
JSON by extension and the shape of the first record ([`choose`]).
*/

pub mod chat;
pub mod document;
pub mod fields;
pub mod parquet;

use std::path::Path;

use serde::Serialize;

/// How documents are parsed, as asked on the command line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Parse {
    /// Choose per file: documents (PDF, DOCX, ODT, HTML, XLSX, ODS, PPTX,
    /// EML, MBOX) by their extracted text, JSON/JSONL chat transcripts as
    /// `chat`, the rest as `text`; standard input by its content.
    #[default]
    Auto,
    /// The whole file is model input, as its bytes decode.
    Text,
    /// Every file is JSON or JSONL chat records (a record of no known shape
    /// is malformed).
    Chat,
    /// Every file is CSV (TSV by its `.tsv` extension): each row is a
    /// document, the cells of its `--column` columns.
    Csv,
    /// Every file is JSON or JSONL records: each record is a document, its
    /// values at the `--field` paths.
    Json,
}

/// The parser that took a file (the CSV column `parse`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Parser {
    Text,
    Chat,
    /// A document's extracted text (the format is the CSV column `format`).
    Document,
    /// CSV/TSV rows, each a document (`--column`).
    Csv,
    /// JSON/JSONL records, each a document (`--field`).
    Json,
    /// Parquet rows, each a document (`--column`).
    Parquet,
}

impl Parser {
    pub fn as_str(self) -> &'static str {
        match self {
            Parser::Text => "text",
            Parser::Chat => "chat",
            Parser::Document => "document",
            Parser::Csv => "csv",
            Parser::Json => "json",
            Parser::Parquet => "parquet",
        }
    }
}

/// The parser for one file: `parse` unless it is `auto`, then by extension:
/// `.csv`/`.tsv` as `csv` when `--column` is given; `.json`, `.jsonl`,
/// `.ndjson` as `json` when `--field` is given, else as `chat` by the shape
/// of the first record. Standard input has no name to go by: it is `chat`
/// when its first record has a conversation's shape (what the same bytes
/// saved as `.jsonl` would be), else text; `--field` applies to it too.
pub fn choose(path: &Path, text: &str, parse: Parse, fields: &fields::FieldSpec) -> Parser {
    match parse {
        Parse::Text => Parser::Text,
        Parse::Chat => Parser::Chat,
        Parse::Csv => Parser::Csv,
        Parse::Json => Parser::Json,
        Parse::Auto => {
            let ext = path
                .extension()
                .and_then(|e| e.to_str())
                .map(str::to_ascii_lowercase);
            match ext.as_deref() {
                Some("csv" | "tsv" | "tab") if !fields.columns.is_empty() => Parser::Csv,
                Some("json" | "jsonl" | "ndjson") if !fields.paths.is_empty() => Parser::Json,
                Some("json" | "jsonl" | "ndjson") if chat::looks_like_chat(text) => Parser::Chat,
                None if path.as_os_str() == "-" => {
                    if !fields.paths.is_empty() {
                        Parser::Json
                    } else if chat::looks_like_chat(text) {
                        Parser::Chat
                    } else {
                        Parser::Text
                    }
                }
                _ => Parser::Text,
            }
        }
    }
}

/// Whether a file is read as Parquet rows: a `.parquet` file under `auto`
/// or `csv` when `--column` names its text. Decided before the file is
/// decoded, since Parquet is binary.
pub fn reads_parquet(path: &Path, parse: Parse, fields: &fields::FieldSpec) -> bool {
    matches!(parse, Parse::Auto | Parse::Csv)
        && !fields.columns.is_empty()
        && path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("parquet"))
}

/// Who a segment is attributed to. Plain text is all `input`; transcripts
/// distinguish system, user, assistant and tool turns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Input,
}

/// A run of text with one role.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment<'a> {
    pub role: Role,
    pub text: &'a str,
}

/// The segments of a plain-text document's text.
pub fn extract(text: &str) -> Vec<Segment<'_>> {
    vec![Segment {
        role: Role::Input,
        text,
    }]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_takes_json_chat_records_and_leaves_the_rest_as_text() {
        let chat = "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}\n";
        let other = "{\"id\":1,\"name\":\"x\"}\n";
        let none = fields::FieldSpec::default();
        let auto = |p: &str, t: &str| choose(Path::new(p), t, Parse::Auto, &none);
        assert_eq!(auto("a.jsonl", chat), Parser::Chat);
        assert_eq!(auto("a.JSON", chat), Parser::Chat);
        assert_eq!(auto("a.txt", chat), Parser::Text);
        assert_eq!(auto("a.jsonl", other), Parser::Text);
        assert_eq!(auto("a.jsonl", "not json"), Parser::Text);
        assert_eq!(
            choose(Path::new("a.txt"), "x", Parse::Chat, &none),
            Parser::Chat
        );
        assert_eq!(auto("a.csv", "a,b\n"), Parser::Text);
        // Standard input is judged by its content; a file with no
        // extension is not.
        assert_eq!(auto("-", chat), Parser::Chat);
        assert_eq!(auto("-", other), Parser::Text);
        assert_eq!(auto("-", "plain words"), Parser::Text);
        assert_eq!(auto("README", chat), Parser::Text);
    }

    #[test]
    fn auto_takes_csv_with_columns_and_json_with_fields() {
        let spec = fields::FieldSpec {
            columns: vec!["text".into()],
            role_column: None,
            paths: vec![fields::FieldPath::parse("text").unwrap()],
        };
        let chat = "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}\n";
        let auto = |p: &str, t: &str| choose(Path::new(p), t, Parse::Auto, &spec);
        assert_eq!(auto("a.CSV", "text\nx\n"), Parser::Csv);
        assert_eq!(auto("a.tsv", "text\nx\n"), Parser::Csv);
        assert_eq!(auto("a.jsonl", chat), Parser::Json);
        assert_eq!(auto("a.txt", chat), Parser::Text);
        assert_eq!(auto("-", chat), Parser::Json);
    }
}
