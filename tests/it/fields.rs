//! End-to-end: CSV/TSV columns (`--column`, `--role-column`) and JSON/JSONL
//! fields (`--field`) through the real binary. Every expected figure is the
//! library's o200k_base count of a row's cells (or a record's values) joined
//! by newlines, summed over the rows.

use std::collections::HashMap;
use std::path::Path;

use crate::common::*;

/// o200k_base's count of `text`, by the library.
fn c(text: &str) -> u64 {
    static TOK: std::sync::OnceLock<tokenaudit::tokenize::SharedTokenizer> =
        std::sync::OnceLock::new();
    let tok = TOK.get_or_init(|| {
        let dir = tokenaudit::TokenizerDir::locate(None);
        tokenaudit::resolve("o200k_base", &dir, None).unwrap()
    });
    tok.counter().count(text)
}

fn audit(args: &[&str]) -> (serde_json::Value, Vec<HashMap<String, String>>) {
    let out_dir = tempfile::tempdir().unwrap();
    let csv_path = out_dir.path().join("rows.csv");
    let mut all = vec!["audit", "--json", "-", "--csv", csv_path.to_str().unwrap()];
    all.extend_from_slice(args);
    let out = run(&all);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = serde_json::from_slice(&out.stdout).unwrap();
    let mut rows = csv_rows(&csv_path);
    rows.sort_by(|a, b| a["path"].cmp(&b["path"]));
    (report, rows)
}

fn malformed(report: &serde_json::Value) -> Vec<(String, u64, String)> {
    report["fields"]["malformed"]["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let path = m["path"].as_str().unwrap();
            let name = Path::new(path).file_name().unwrap().to_str().unwrap();
            (
                name.to_string(),
                m["line"].as_u64().unwrap(),
                m["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn csv_rows_are_documents_split_by_role_and_a_broken_row_is_reported_by_line() {
    let dir = tempfile::tempdir().unwrap();
    // A quoted cell over two lines, a short row on line 5, a role in
    // capitals, multilingual cells, a TSV file beside it.
    let csv = "id,role,prompt,note\n\
               1,user,\"Résume ce contrat\nen une phrase.\",urgent\n\
               2,assistant,Le contrat dure deux ans.,\n\
               3,user\n\
               4,Model,日本語の返事です。,ok\n\
               5,system,Be brief.,x\n";
    std::fs::write(dir.path().join("log.csv"), csv).unwrap();
    let tsv = "prompt\trole\tnote\nHow are you?\thuman\t\nFine, thanks.\tgpt\tshort\n";
    std::fs::write(dir.path().join("chat.tsv"), tsv).unwrap();
    let (report, rows) = audit(&[
        dir.path().to_str().unwrap(),
        "--column",
        "prompt",
        "--column",
        "note",
        "--role-column",
        "role",
    ]);
    let input =
        c("Résume ce contrat\nen une phrase.\nurgent") + c("Be brief.\nx") + c("How are you?\n");
    let output =
        c("Le contrat dure deux ans.\n") + c("日本語の返事です。\nok") + c("Fine, thanks.\nshort");
    let f = &report["fields"];
    assert_eq!(f["records"], 7);
    assert_eq!(f["documents"], 6);
    assert_eq!(f["output_documents"], 3);
    assert_eq!(f["malformed"]["count"], 1);
    assert_eq!(
        malformed(&report),
        vec![(
            "log.csv".to_string(),
            5,
            "2 fields where the header has 4".to_string()
        )]
    );
    assert_eq!(f["input_tokens"]["o200k_base"], input);
    assert_eq!(f["output_tokens"]["o200k_base"], output);
    assert_eq!(report["totals"]["tokens"]["o200k_base"], input + output);
    assert_eq!(report["totals"]["files_counted"], 2);
    // The per-file rows: parse, records, malformed.
    let cells = |r: &HashMap<String, String>| {
        (
            r["parse"].clone(),
            r["records"].clone(),
            r["malformed"].clone(),
        )
    };
    assert_eq!(cells(&rows[0]), ("csv".into(), "2".into(), "0".into()));
    assert_eq!(cells(&rows[1]), ("csv".into(), "5".into(), "1".into()));
    assert_eq!(
        rows[0]["tokens_o200k_base"],
        (c("How are you?\n") + c("Fine, thanks.\nshort")).to_string()
    );

    // --strict: a malformed row fails the run.
    let strict = run(&[
        "audit",
        dir.path().to_str().unwrap(),
        "--column",
        "prompt",
        "--strict",
    ]);
    assert_eq!(strict.status.code(), Some(2), "{}", stderr(&strict));
    assert!(
        stderr(&strict).contains("1 CSV rows or JSON records were malformed"),
        "{}",
        stderr(&strict)
    );
}

#[test]
fn a_missing_column_skips_the_file_naming_the_columns_it_has() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.csv"), "text\nhello\n").unwrap();
    std::fs::write(dir.path().join("b.csv"), "id,body\n1,hi\n").unwrap();
    let (report, rows) = audit(&[dir.path().to_str().unwrap(), "--column", "text"]);
    assert_eq!(report["totals"]["files_counted"], 1);
    assert_eq!(report["totals"]["files_skipped"], 1);
    assert_eq!(
        report["skipped"][0]["reason"],
        "no column text (columns: id, body)"
    );
    assert_eq!(report["skipped"][0]["reason_key"], "no-column");
    assert_eq!(report["fields"]["input_tokens"]["o200k_base"], c("hello"));
    assert_eq!(rows[1]["status"], "skipped");

    // Without --column a CSV file is text, as before.
    let (report, rows) = audit(&[dir.path().to_str().unwrap()]);
    assert!(report.get("fields").is_none());
    assert_eq!(rows[0]["parse"], "text");
    assert_eq!(
        report["totals"]["tokens"]["o200k_base"],
        c("text\nhello\n") + c("id,body\n1,hi\n")
    );

    // --parse csv without a column is a usage error.
    let out = run(&["audit", dir.path().to_str().unwrap(), "--parse", "csv"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(stderr(&out).contains("--column NAME"), "{}", stderr(&out));
}

#[test]
fn json_fields_count_each_record_and_a_broken_line_is_reported_by_line() {
    let dir = tempfile::tempdir().unwrap();
    let lines = [
        r#"{"messages":[{"role":"user","content":"Wie spät ist es?"},{"role":"assistant","content":"Zehn Uhr."}],"meta":{"title":"time"}}"#,
        r#"{"messages":[{"role":"user","content":"2+2?"}],"meta":{"title":4}}"#,
        r#"{"messages": [{"role": "user", "content": "unterminated"#,
        "",
        r#"{"id":7}"#,
        r#"{"messages":[],"meta":{"title":"only a title"}}"#,
    ];
    std::fs::write(dir.path().join("log.jsonl"), lines.join("\n") + "\n").unwrap();
    // A JSON array of records, one element over two lines.
    std::fs::write(
        dir.path().join("more.json"),
        "[\n {\"messages\": [{\"content\": \"Hola\"}]},\n {\"meta\":\n  {\"title\": \"Adiós\"}}\n]\n",
    )
    .unwrap();
    let (report, rows) = audit(&[
        dir.path().to_str().unwrap(),
        "--field",
        "messages[].content",
        "--field",
        "meta.title",
    ]);
    let expected = c("Wie spät ist es?\nZehn Uhr.\ntime")
        + c("2+2?\n4")
        + c("only a title")
        + c("Hola")
        + c("Adiós");
    let f = &report["fields"];
    assert_eq!(f["records"], 7);
    assert_eq!(f["documents"], 5);
    assert_eq!(f["malformed"]["count"], 2);
    let m = malformed(&report);
    assert_eq!((m[0].0.as_str(), m[0].1), ("log.jsonl", 3));
    assert!(m[0].2.starts_with("not valid JSON"), "{m:?}");
    assert_eq!(
        m[1],
        (
            "log.jsonl".to_string(),
            5,
            "no field matched (messages[].content, meta.title)".to_string()
        )
    );
    assert_eq!(f["input_tokens"]["o200k_base"], expected);
    assert_eq!(f["output_tokens"]["o200k_base"], 0);
    assert_eq!(report["totals"]["tokens"]["o200k_base"], expected);
    assert!(report.get("transcripts").is_none());
    assert_eq!(rows[0]["parse"], "json");
    assert_eq!(rows[0]["records"], "5");
    assert_eq!(rows[0]["malformed"], "2");
    assert_eq!(rows[1]["records"], "2");
}

#[test]
fn a_large_jsonl_file_is_read_in_pieces_with_exact_line_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let line = r#"{"data":[{"text":"A short note, in English."},{"text":"Une note courte."}]}"#;
    let per_record = c("A short note, in English.\nUne note courte.");
    let n = 40_000u64;
    let broken = [7u64, 19_999, 20_000, 39_998];
    let mut text = String::new();
    for i in 1..=n {
        text.push_str(if broken.contains(&i) { "{oops" } else { line });
        text.push('\n');
    }
    assert!(text.len() > 2 * 1024 * 1024);
    std::fs::write(dir.path().join("big.jsonl"), &text).unwrap();
    for threads in ["1", "2"] {
        let (report, _) = audit(&[
            dir.path().to_str().unwrap(),
            "-j",
            threads,
            "--field",
            "data[].text",
        ]);
        let f = &report["fields"];
        let good = n - broken.len() as u64;
        assert_eq!(f["records"], n);
        assert_eq!(f["documents"], good);
        let lines: Vec<u64> = malformed(&report).iter().map(|m| m.1).collect();
        assert_eq!(lines, broken);
        assert_eq!(f["input_tokens"]["o200k_base"], good * per_record);
    }
}
