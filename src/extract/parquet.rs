/*!
Parquet files read by `--column`: each row is a document, the values of the
named columns joined by newlines, as for CSV (`fields`). Data teams keep
prompt logs this way.

Read with the `parquet` crate's row API (no Arrow: the row reader is all a
column of text needs, and Arrow's crates would double the build), a row
group at a time, with only the named columns projected. Values: strings as
they are; bytes as UTF-8 (lossy); numbers, booleans, dates and nested values
as the crate displays them; null as an empty cell. A row group that
cannot be decoded makes the rows not read yet malformed records, counted
as one run (numbered from 1 over the whole file) with the reader's message
(its size comes from the footer, which a damaged file can inflate); the other
row groups are still read. A file the reader cannot open (not Parquet,
truncated, a compression this build lacks) is skipped as corrupt, and a
named column the schema lacks skips the file like a CSV's.
*/

use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::{Field, Row as Record};
use parquet::schema::types::Type;
use std::sync::Arc;

use super::fields::{is_output_role, FieldSpec, Row};

/// Why a Parquet file cannot be read at all: the skip reason.
#[derive(Debug, PartialEq, Eq)]
pub enum Unreadable {
    /// The reader's message (not Parquet, truncated, unsupported).
    Corrupt(String),
    /// `no column NAME (columns: a, b)`.
    NoColumn(String),
}

/// The rows of a Parquet file, read a row group at a time.
pub struct ParquetRows {
    reader: SerializedFileReader<bytes::Bytes>,
    projection: Type,
    columns: Vec<String>,
    role: Option<String>,
    group: usize,
    /// Rows of the current group read so far, and its size.
    pending: std::vec::IntoIter<Row>,
    /// 1-based number of the next row in the file.
    next_row: u64,
    /// Rows of the current group its reader could not give (numbers, and
    /// why): yielded after `pending` as one malformed run, since their
    /// count comes from the file's untrusted footer.
    missing: Option<(std::ops::Range<u64>, String)>,
    pub row_groups: usize,
}

/// Opens `data` as Parquet and finds `spec`'s columns (top-level fields).
pub fn parquet_rows(data: bytes::Bytes, spec: &FieldSpec) -> Result<ParquetRows, Unreadable> {
    let reader = SerializedFileReader::new(data).map_err(|e| Unreadable::Corrupt(e.to_string()))?;
    let schema = reader.metadata().file_metadata().schema();
    let fields = schema.get_fields();
    let find = |name: &str| {
        fields
            .iter()
            .find(|f| f.name() == name)
            .cloned()
            .ok_or_else(|| {
                let have: Vec<&str> = fields.iter().map(|f| f.name()).collect();
                Unreadable::NoColumn(format!("no column {name} (columns: {})", have.join(", ")))
            })
    };
    let mut wanted: Vec<Arc<Type>> = Vec::new();
    for name in spec.columns.iter().chain(spec.role_column.iter()) {
        let f = find(name)?;
        if !wanted.iter().any(|w| w.name() == f.name()) {
            wanted.push(f);
        }
    }
    let projection = Type::group_type_builder(schema.name())
        .with_fields(wanted)
        .build()
        .map_err(|e| Unreadable::Corrupt(e.to_string()))?;
    let row_groups = reader.metadata().num_row_groups();
    Ok(ParquetRows {
        reader,
        projection,
        columns: spec.columns.clone(),
        role: spec.role_column.clone(),
        group: 0,
        pending: Vec::new().into_iter(),
        next_row: 1,
        missing: None,
        row_groups,
    })
}

/// A value as the text of its cell.
fn cell_text(field: &Field) -> String {
    match field {
        Field::Null => String::new(),
        Field::Str(s) => s.clone(),
        Field::Bytes(b) => String::from_utf8_lossy(b.data()).into_owned(),
        other => other.to_string(),
    }
}

impl ParquetRows {
    /// One row as a document: the named columns' cells in the order given.
    fn document(&self, record: &Record, number: u64) -> Row {
        let cell = |name: &str| {
            record
                .get_column_iter()
                .find(|(n, _)| n.as_str() == name)
                .map(|(_, f)| cell_text(f))
                .unwrap_or_default()
        };
        let text = self
            .columns
            .iter()
            .map(|c| cell(c))
            .collect::<Vec<_>>()
            .join("\n");
        let output = self
            .role
            .as_deref()
            .is_some_and(|r| is_output_role(&cell(r)));
        Row::Document {
            line: number,
            text,
            output,
        }
    }

    /// Reads row group `self.group` into `pending`: its rows, and a
    /// malformed entry for each row the reader could not give.
    fn read_group(&mut self) {
        // From the file's footer: untrusted. A negative count reads as
        // none; the capacity is capped, so a footer claiming billions of
        // rows allocates nothing it does not read.
        let expected = self
            .reader
            .metadata()
            .row_group(self.group)
            .num_rows()
            .max(0) as u64;
        let first = self.next_row;
        let mut rows = Vec::with_capacity(expected.min(4096) as usize);
        let mut failure = None;
        match self.reader.get_row_group(self.group) {
            Ok(group) => match group.get_row_iter(Some(self.projection.clone())) {
                Ok(iter) => {
                    for record in iter {
                        match record {
                            Ok(record) => {
                                let number = first + rows.len() as u64;
                                rows.push(self.document(&record, number));
                            }
                            Err(e) => {
                                failure = Some(e.to_string());
                                break;
                            }
                        }
                    }
                }
                Err(e) => failure = Some(e.to_string()),
            },
            Err(e) => failure = Some(e.to_string()),
        }
        let read = rows.len() as u64;
        if read < expected {
            let reason = failure.unwrap_or_else(|| "the row group ended early".into());
            self.missing = Some((
                first.saturating_add(read)..first.saturating_add(expected),
                format!("row group {}: {reason}", self.group + 1),
            ));
        }
        self.next_row = first.saturating_add(read.max(expected));
        self.pending = rows.into_iter();
        self.group += 1;
    }
}

impl Iterator for ParquetRows {
    type Item = Row;

    fn next(&mut self) -> Option<Row> {
        loop {
            if let Some(row) = self.pending.next() {
                return Some(row);
            }
            if let Some((lines, reason)) = self.missing.take() {
                return Some(Row::MalformedRun { lines, reason });
            }
            if self.group >= self.row_groups {
                return None;
            }
            self.read_group();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use parquet::data_type::{ByteArray, ByteArrayType, Int64Type};
    use parquet::file::properties::WriterProperties;
    use parquet::file::writer::SerializedFileWriter;
    use parquet::schema::parser::parse_message_type;

    /// A Parquet file of `(id, text, role)` rows, `per_group` rows a row
    /// group, written with the crate's own writer.
    fn file(rows: &[(i64, Option<&str>, &str)], per_group: usize) -> Vec<u8> {
        let schema = parse_message_type(
            "message log { REQUIRED INT64 id; OPTIONAL BYTE_ARRAY text (UTF8); REQUIRED BYTE_ARRAY role (UTF8); }",
        )
        .unwrap();
        let mut out = Vec::new();
        let mut w = SerializedFileWriter::new(
            &mut out,
            Arc::new(schema),
            Arc::new(WriterProperties::builder().build()),
        )
        .unwrap();
        for group in rows.chunks(per_group) {
            let mut g = w.next_row_group().unwrap();
            let mut k = 0;
            while let Some(mut col) = g.next_column().unwrap() {
                match k {
                    0 => {
                        let ids: Vec<i64> = group.iter().map(|r| r.0).collect();
                        col.typed::<Int64Type>()
                            .write_batch(&ids, None, None)
                            .unwrap();
                    }
                    1 => {
                        let values: Vec<ByteArray> = group
                            .iter()
                            .filter_map(|r| r.1)
                            .map(ByteArray::from)
                            .collect();
                        let defs: Vec<i16> =
                            group.iter().map(|r| i16::from(r.1.is_some())).collect();
                        col.typed::<ByteArrayType>()
                            .write_batch(&values, Some(&defs), None)
                            .unwrap();
                    }
                    _ => {
                        let values: Vec<ByteArray> =
                            group.iter().map(|r| ByteArray::from(r.2)).collect();
                        col.typed::<ByteArrayType>()
                            .write_batch(&values, None, None)
                            .unwrap();
                    }
                }
                col.close().unwrap();
                k += 1;
            }
            g.close().unwrap();
        }
        w.close().unwrap();
        out
    }

    fn spec(columns: &[&str], role: Option<&str>) -> FieldSpec {
        FieldSpec {
            columns: columns.iter().map(|c| c.to_string()).collect(),
            role_column: role.map(str::to_string),
            ..FieldSpec::default()
        }
    }

    #[test]
    fn rows_are_documents_of_the_named_columns_across_row_groups() {
        let data = file(
            &[
                (1, Some("Hello there"), "user"),
                (2, Some("Hi! How can I help?"), "assistant"),
                (3, None, "user"),
            ],
            2,
        );
        let rows: Vec<Row> = parquet_rows(data.into(), &spec(&["text", "id"], Some("role")))
            .unwrap()
            .collect();
        assert_eq!(
            rows,
            vec![
                Row::Document {
                    line: 1,
                    text: "Hello there\n1".into(),
                    output: false
                },
                Row::Document {
                    line: 2,
                    text: "Hi! How can I help?\n2".into(),
                    output: true
                },
                Row::Document {
                    line: 3,
                    text: "\n3".into(),
                    output: false
                },
            ]
        );
    }

    #[test]
    fn a_missing_column_or_a_file_that_is_not_parquet_cannot_be_read() {
        let data = file(&[(1, Some("a"), "user")], 10);
        let err = parquet_rows(data.into(), &spec(&["prompt"], None)).err();
        assert_eq!(
            err,
            Some(Unreadable::NoColumn(
                "no column prompt (columns: id, text, role)".into()
            ))
        );
        let err = parquet_rows(
            bytes::Bytes::from_static(b"id,text\n1,a\n"),
            &spec(&["text"], None),
        )
        .err();
        assert!(matches!(err, Some(Unreadable::Corrupt(_))), "{err:?}");
    }
}
