//! End-to-end: Parquet files read by `--column` through the real binary,
//! written here with the `parquet` crate's own writer. Expected figures are
//! o200k_base counts (tiktoken-rs) of each row's cells joined by newlines.

use std::sync::Arc;

use parquet::data_type::{ByteArray, ByteArrayType};
use parquet::file::properties::WriterProperties;
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;

use crate::common::*;

/// A Parquet file of `(prompt, role)` rows, `per_group` rows a row group,
/// uncompressed (so that a test can damage one group's pages).
fn write(rows: &[(&str, &str)], per_group: usize) -> Vec<u8> {
    let schema = parse_message_type(
        "message log { REQUIRED BYTE_ARRAY prompt (UTF8); REQUIRED BYTE_ARRAY role (UTF8); }",
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
            let values: Vec<ByteArray> = group
                .iter()
                .map(|r| ByteArray::from(if k == 0 { r.0 } else { r.1 }))
                .collect();
            col.typed::<ByteArrayType>()
                .write_batch(&values, None, None)
                .unwrap();
            col.close().unwrap();
            k += 1;
        }
        g.close().unwrap();
    }
    w.close().unwrap();
    out
}

const ROWS: [(&str, &str); 5] = [
    ("Summarise the contract in one line.", "user"),
    (
        "A two-year lease of the warehouse at 4 Dock Road.",
        "assistant",
    ),
    ("Qual é o prazo de aviso?", "user"),
    ("Três meses.", "assistant"),
    ("列出所有当事方。", "user"),
];

#[test]
fn each_row_is_a_document_and_the_role_column_splits_input_from_output() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("log.parquet"), write(&ROWS, 2)).unwrap();
    let out_dir = tempfile::tempdir().unwrap();
    let csv_path = out_dir.path().join("files.csv");
    let out = run(&[
        "audit",
        dir.path().to_str().unwrap(),
        "--column",
        "prompt",
        "--role-column",
        "role",
        "--json",
        "-",
        "--csv",
        csv_path.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let f = &report["fields"];
    assert_eq!(f["records"], 5);
    assert_eq!(f["documents"], 5);
    assert_eq!(f["output_documents"], 2);
    assert_eq!(f["malformed"]["count"], 0);
    let input: u64 = [0, 2, 4].iter().map(|&i| o200k(ROWS[i].0)).sum();
    let output: u64 = [1, 3].iter().map(|&i| o200k(ROWS[i].0)).sum();
    assert_eq!(f["input_tokens"]["o200k_base"], input);
    assert_eq!(f["output_tokens"]["o200k_base"], output);
    assert_eq!(report["totals"]["tokens"]["o200k_base"], input + output);
    let rows = csv_rows(&csv_path);
    assert_eq!(rows[0]["parse"], "parquet");
    assert_eq!(rows[0]["format"], "parquet");
    assert_eq!(rows[0]["records"], "5");

    // Without --column a Parquet file is binary, skipped as before.
    let plain = run(&["audit", dir.path().to_str().unwrap(), "--json", "-"]);
    let report: serde_json::Value = serde_json::from_slice(&plain.stdout).unwrap();
    assert_eq!(report["skipped"][0]["reason_key"], "binary");
}

#[test]
fn a_damaged_row_group_is_malformed_as_one_run_and_bad_files_are_skipped_with_reasons() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = write(&ROWS, 2);
    // Overwrite the page header of the second row group's first column with
    // bytes that are not a Thrift page header.
    let meta = SerializedFileReader::new(bytes::Bytes::from(bytes.clone())).unwrap();
    let at = meta.metadata().row_group(1).column(0).data_page_offset() as usize;
    bytes[at..at + 8].copy_from_slice(&[0xff; 8]);
    std::fs::write(dir.path().join("damaged.parquet"), &bytes).unwrap();
    std::fs::write(dir.path().join("fake.parquet"), "prompt,role\nhi,user\n").unwrap();
    std::fs::write(dir.path().join("other.parquet"), write(&ROWS[..1], 1)).unwrap();
    let out = run(&[
        "audit",
        dir.path().to_str().unwrap(),
        "--column",
        "prompt",
        "--json",
        "-",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let f = &report["fields"];
    // damaged: rows 1, 2 and 5 read, 3 and 4 (the second group) malformed;
    // other: its one row.
    assert_eq!(f["records"], 6);
    assert_eq!(f["documents"], 4);
    assert_eq!(f["malformed"]["count"], 2);
    // Listed once, as the run of rows the group held.
    let records = f["malformed"]["records"].as_array().unwrap();
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0]["line"], 3);
    let reason = records[0]["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("rows 3-4 (2 rows): row group 2: "),
        "{reason}"
    );
    let counted: u64 = [0, 1, 4, 0].iter().map(|&i| o200k(ROWS[i].0)).sum();
    assert_eq!(f["input_tokens"]["o200k_base"], counted);
    let skipped = &report["skipped"];
    assert_eq!(skipped.as_array().unwrap().len(), 1);
    assert!(skipped[0]["path"]
        .as_str()
        .unwrap()
        .ends_with("fake.parquet"));
    assert_eq!(skipped[0]["reason_key"], "corrupt");
    // Totals reconcile: every file counted or skipped.
    assert_eq!(report["totals"]["files_seen"], 3);
    assert_eq!(report["totals"]["files_counted"], 2);

    // A column the schema lacks skips the file, naming the columns.
    let out = run(&[
        "audit",
        dir.path().join("other.parquet").to_str().unwrap(),
        "--column",
        "text",
        "--json",
        "-",
    ]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        report["skipped"][0]["reason"],
        "no column text (columns: prompt, role)"
    );
    // --strict: malformed rows exit 2.
    let strict = run(&[
        "audit",
        dir.path().join("damaged.parquet").to_str().unwrap(),
        "--column",
        "prompt",
        "--strict",
    ]);
    assert_eq!(strict.status.code(), Some(2), "{}", stderr(&strict));
}
