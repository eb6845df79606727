/*!
Fields: the text columns of CSV/TSV rows and the text fields of JSON/JSONL
records, each row or record one document.

- CSV/TSV (`--parse csv`, `--column NAME`): the header names the columns;
  a row's document is its `--column` cells joined by newlines, in the order
  the columns were asked for. With `--role-column NAME`, a row whose role
  cell is `assistant`, `gpt`, `model` or `output` (any case) is output, any
  other row input. Rows are read with the `csv` crate (quoting, embedded
  newlines), one at a time: a TSV file (`.tsv`, `.tab`) by its tab delimiter.
- JSON/JSONL (`--parse json`, `--field PATH`): records are cut by
  [`chat::records`](super::chat::records) (a line of JSONL, an element of a
  top-level array, or one pretty-printed value), and a record's document is
  the values at its paths joined by newlines. A path is keys separated by
  dots, `[]` after a key (or alone) for every element of an array:
  `text`, `data[].text`, `messages[].content`. Strings count as they are,
  numbers and booleans as JSON writes them; an array at the end of a path
  gives its scalar elements; objects and `null` give nothing.

A row or record that cannot be read (a CSV row with the wrong number of
cells, a line that is not JSON, a record where no path matches) is a
[`Malformed`] entry with its line and reason; the other rows still count.
*/

use std::path::Path;

use serde_json::Value;

use super::chat::Malformed;

/// Which fields of CSV and JSON files are the text (`--column`,
/// `--role-column`, `--field`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldSpec {
    /// CSV/TSV columns whose cells are the text, in order.
    pub columns: Vec<String>,
    /// A CSV/TSV column saying whose the row is (input or output).
    pub role_column: Option<String>,
    /// JSON paths whose values are the text, in order.
    pub paths: Vec<FieldPath>,
}

/// One step of a [`FieldPath`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// An object's member.
    Key(String),
    /// Every element of an array.
    Each,
}

/// A dot path into a JSON value: `data[].text`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldPath {
    /// As written on the command line.
    pub text: String,
    pub steps: Vec<Step>,
}

impl FieldPath {
    /// Parses `a.b[].c`; `[]` alone (or leading) walks a top-level array.
    pub fn parse(text: &str) -> Result<FieldPath, String> {
        let bad = |why: &str| format!("--field {text:?}: {why} (a path looks like data[].text)");
        if text.trim().is_empty() {
            return Err(bad("empty path"));
        }
        let mut steps = Vec::new();
        for (i, part) in text.split('.').enumerate() {
            let mut key = part;
            let mut each = 0;
            while let Some(k) = key.strip_suffix("[]") {
                key = k;
                each += 1;
            }
            if key.contains('[') || key.contains(']') {
                return Err(bad("only [] (every element) is understood inside a path"));
            }
            if key.is_empty() && (each == 0 || i > 0) {
                return Err(bad("an empty key"));
            }
            if !key.is_empty() {
                steps.push(Step::Key(key.to_string()));
            }
            steps.extend(std::iter::repeat_n(Step::Each, each));
        }
        Ok(FieldPath {
            text: text.to_string(),
            steps,
        })
    }

    /// Appends the text values at this path in `value`; whether any value
    /// was found there (an empty string is a match).
    pub fn collect(&self, value: &Value, out: &mut Vec<String>) -> bool {
        collect(value, &self.steps, out)
    }
}

fn collect(value: &Value, steps: &[Step], out: &mut Vec<String>) -> bool {
    match steps.split_first() {
        None => scalar(value, out, true),
        Some((Step::Key(k), rest)) => value.get(k).is_some_and(|v| collect(v, rest, out)),
        Some((Step::Each, rest)) => match value.as_array() {
            Some(items) => items
                .iter()
                .fold(false, |found, v| collect(v, rest, out) | found),
            None => false,
        },
    }
}

/// A value at the end of a path: strings as they are, numbers and booleans
/// as JSON writes them, an array's scalars (once deep).
fn scalar(value: &Value, out: &mut Vec<String>, array_ok: bool) -> bool {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Number(n) => out.push(n.to_string()),
        Value::Bool(b) => out.push(b.to_string()),
        Value::Array(items) if array_ok => {
            return items
                .iter()
                .fold(false, |found, v| scalar(v, out, false) | found)
        }
        _ => return false,
    }
    true
}

/// A record's document: the values at `paths` joined by newlines, or why
/// there is none.
pub fn record_text(value: &Value, paths: &[FieldPath]) -> Result<String, String> {
    let mut values = Vec::new();
    let mut found = false;
    for p in paths {
        found |= p.collect(value, &mut values);
    }
    if !found {
        let names: Vec<&str> = paths.iter().map(|p| p.text.as_str()).collect();
        return Err(format!("no field matched ({})", names.join(", ")));
    }
    Ok(values.join("\n"))
}

/// Whether `path` is a CSV (`.csv`) or TSV (`.tsv`, `.tab`) file by its
/// extension, and its delimiter.
pub fn csv_delimiter(path: &Path) -> Option<u8> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    match ext.as_str() {
        "csv" => Some(b','),
        "tsv" | "tab" => Some(b'\t'),
        _ => None,
    }
}

/// Whether a role cell names the model's side of a conversation.
pub fn is_output_role(role: &str) -> bool {
    let r = role.trim();
    ["assistant", "gpt", "model", "output"]
        .iter()
        .any(|o| r.eq_ignore_ascii_case(o))
}

/// One CSV row: its document and whether it is output, or why it is not a
/// document.
#[derive(Debug, PartialEq, Eq)]
pub enum Row {
    Document {
        line: u64,
        text: String,
        output: bool,
    },
    Malformed(Malformed),
    /// Rows `lines` (1-based, end excluded) that could not be read, for
    /// one reason: a Parquet row group that failed to decode, whose row
    /// count comes from the file's untrusted footer, so it is counted at
    /// once rather than row by row.
    MalformedRun {
        lines: std::ops::Range<u64>,
        reason: String,
    },
}

/// The rows of CSV text, read one at a time.
pub struct Rows<'a> {
    reader: csv::Reader<&'a [u8]>,
    columns: Vec<usize>,
    role: Option<usize>,
    record: csv::StringRecord,
}

/// Opens CSV `text` (with `delimiter`), finding `spec`'s columns in its
/// header; the error is the skip reason (`no column NAME (columns: ...)`).
pub fn csv_rows<'a>(text: &'a str, delimiter: u8, spec: &FieldSpec) -> Result<Rows<'a>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(false)
        .from_reader(text.as_bytes());
    let header = reader
        .headers()
        .map_err(|e| format!("no CSV header: {e}"))?
        .clone();
    let find = |name: &str| -> Result<usize, String> {
        header.iter().position(|h| h.trim() == name).ok_or_else(|| {
            let have: Vec<&str> = header.iter().collect();
            format!("no column {name} (columns: {})", have.join(", "))
        })
    };
    let columns = spec
        .columns
        .iter()
        .map(|c| find(c))
        .collect::<Result<Vec<_>, _>>()?;
    let role = spec.role_column.as_deref().map(find).transpose()?;
    Ok(Rows {
        reader,
        columns,
        role,
        record: csv::StringRecord::new(),
    })
}

impl Rows<'_> {
    /// How far into the text the rows read so far reach.
    pub fn byte_offset(&self) -> usize {
        self.reader.position().byte() as usize
    }
}

impl Iterator for Rows<'_> {
    type Item = Row;

    fn next(&mut self) -> Option<Row> {
        match self.reader.read_record(&mut self.record) {
            Ok(false) => None,
            Ok(true) => {
                let line = self.record.position().map_or(0, |p| p.line());
                let cell = |i: usize| self.record.get(i).unwrap_or("");
                let text = self
                    .columns
                    .iter()
                    .map(|&i| cell(i))
                    .collect::<Vec<_>>()
                    .join("\n");
                let output = self.role.is_some_and(|i| is_output_role(cell(i)));
                Some(Row::Document { line, text, output })
            }
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                let reason = match e.kind() {
                    csv::ErrorKind::UnequalLengths {
                        expected_len, len, ..
                    } => format!("{len} fields where the header has {expected_len}"),
                    _ => format!("not a CSV row: {e}"),
                };
                Some(Row::Malformed(Malformed { line, reason }))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn path(p: &str) -> FieldPath {
        FieldPath::parse(p).unwrap()
    }

    #[test]
    fn paths_walk_keys_and_arrays() {
        let v = json!({"data": [{"text": "a"}, {"text": 2}, {"other": 1}], "t": ["x", ["y"], {"z": 1}, true]});
        assert_eq!(record_text(&v, &[path("data[].text")]).unwrap(), "a\n2");
        assert_eq!(record_text(&v, &[path("t")]).unwrap(), "x\ntrue");
        assert_eq!(
            record_text(&v, &[path("t"), path("data[].text")]).unwrap(),
            "x\ntrue\na\n2"
        );
        let err = record_text(&v, &[path("data[].missing"), path("nope")]).unwrap_err();
        assert_eq!(err, "no field matched (data[].missing, nope)");
        assert_eq!(
            record_text(&json!([{"a": "1"}, {"a": "2"}]), &[path("[].a")]).unwrap(),
            "1\n2"
        );
        assert_eq!(record_text(&json!({"a": ""}), &[path("a")]).unwrap(), "");
        for bad in ["", "a..b", "a[0]", "a.[b]"] {
            assert!(FieldPath::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn csv_rows_keep_their_line_numbers_around_a_broken_row() {
        let text =
            "id,role,text,note\n1,user,\"hello\nthere\",n\n2,assistant,hi\n3,Assistant,bye,n\n";
        let spec = FieldSpec {
            columns: vec!["text".into(), "note".into()],
            role_column: Some("role".into()),
            paths: Vec::new(),
        };
        let rows: Vec<Row> = csv_rows(text, b',', &spec).unwrap().collect();
        assert_eq!(
            rows,
            vec![
                Row::Document {
                    line: 2,
                    text: "hello\nthere\nn".into(),
                    output: false
                },
                Row::Malformed(Malformed {
                    line: 4,
                    reason: "3 fields where the header has 4".into()
                }),
                Row::Document {
                    line: 5,
                    text: "bye\nn".into(),
                    output: true
                },
            ]
        );
        let missing = FieldSpec {
            columns: vec!["body".into()],
            ..spec
        };
        let err = csv_rows(text, b',', &missing).err().unwrap();
        assert_eq!(err, "no column body (columns: id, role, text, note)");
    }
}
