//! `tokenaudit calibrate` end to end: a CSV of files and the input tokens a
//! provider reported for them (here 1.4 × o200k_base for English and 1.0 ×
//! for Japanese, plus a framing of 5) gives a calibration file that fits
//! those multipliers, lists every row it could not use with its line, and
//! that `audit --calibration` then prices with.

use std::path::Path;

use crate::common::*;
use rust_decimal::Decimal;
use tokenaudit::content::ContentClass;
use tokenaudit::pricing::Calibration;
use tokenaudit::tokenize::sources::builtin;

fn o200k(text: &str) -> u64 {
    builtin::resolve("o200k_base")
        .unwrap()
        .counter()
        .count(text)
}

/// English pieces of the fixture contract and the Japanese prompt, with what
/// the "provider" reported for each; the CSV also holds a missing file and
/// a count that is not a number.
fn setup(dir: &Path) -> (u64, u64) {
    let text =
        std::fs::read_to_string("fixtures/corpus/contracts/master-services-agreement.txt").unwrap();
    let words: Vec<&str> = text.split_whitespace().collect();
    assert!(words.len() > 400, "the fixture is too short for this test");
    let docs = dir.join("docs");
    std::fs::create_dir_all(&docs).unwrap();
    let mut csv = String::from("path,input_tokens,note\n");
    let mut english = 0;
    for i in 0..4 {
        let doc = words[i * 60..i * 60 + 100 + i * 20].join(" ");
        let name = format!("docs/en{i}.txt");
        std::fs::write(dir.join(&name), &doc).unwrap();
        let n = o200k(&doc);
        english += n;
        let reported = (n as f64 * 1.4).round() as u64 + 5;
        csv.push_str(&format!("{name},{reported},english\n"));
    }
    let ja = std::fs::read_to_string("fixtures/corpus/prompts/code-review-ja.txt").unwrap();
    std::fs::write(docs.join("ja.txt"), &ja).unwrap();
    let japanese = o200k(&ja);
    csv.push_str(&format!("docs/ja.txt,{},japanese\n", japanese + 5));
    csv.push_str("docs/missing.txt,120,gone\n");
    csv.push_str("docs/en0.txt,lots,not a number\n");
    std::fs::write(dir.join("usage.csv"), csv).unwrap();
    (english, japanese)
}

#[test]
fn fits_each_class_lists_unusable_rows_and_prices_with_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let (english, _) = setup(tmp.path());
    let out = tmp.path().join("mine.toml");
    let o = run(&[
        "calibrate",
        tmp.path().join("usage.csv").to_str().unwrap(),
        "-m",
        "claude-opus-4-7",
        "--framing",
        "5",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("5 rows used, 2 left out"), "{err}");
    assert!(err.contains("usage.csv:7:"), "{err}");
    assert!(
        err.contains("usage.csv:8:") && err.contains("`lots`"),
        "{err}"
    );

    let cal = Calibration::load(&out).unwrap();
    let family = cal.family_of("claude-opus-4-7").unwrap();
    assert_eq!(family.proxy, "o200k_base");
    let prose = &family.classes[&ContentClass::LatinProse];
    let m: f64 = prose.multiplier.try_into().unwrap();
    assert!((m - 1.4).abs() < 0.01, "prose {m}");
    assert!(prose.low <= prose.multiplier && prose.multiplier <= prose.high);
    assert!(prose.sample.contains("4 files"), "{}", prose.sample);
    assert_eq!(family.classes[&ContentClass::Cjk].multiplier, Decimal::ONE);
    // Code had no rows: the embedded table's factor, saying so.
    let code = &family.classes[&ContentClass::Code];
    assert!(
        code.source.starts_with("no rows of this class"),
        "{}",
        code.source
    );
    let table = Calibration::embedded();
    let embedded = &table.family_of("claude-opus-4-7").unwrap().classes[&ContentClass::Code];
    assert_eq!(code.multiplier, embedded.multiplier);

    // The English files audited with the file: about 1.4 x o200k_base.
    std::fs::remove_file(tmp.path().join("docs/ja.txt")).unwrap();
    let report_path = tmp.path().join("r.json");
    let o = run(&[
        "audit",
        tmp.path().join("docs").to_str().unwrap(),
        "-m",
        "claude-opus-4-7",
        "--calibration",
        out.to_str().unwrap(),
        "--json",
        report_path.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let report = json(&report_path);
    let band = &report["costs"][0]["estimate_band"];
    let est = band["input_tokens"]["estimate"].as_u64().unwrap();
    let truth = english as f64 * 1.4;
    assert!(
        (est as f64 - truth).abs() / truth < 0.01,
        "{est} vs {truth}"
    );
    assert!(band["classes"][0]["method"]
        .as_str()
        .unwrap()
        .starts_with("calibration file"));
}

#[test]
fn a_csv_without_the_columns_is_an_error_naming_them() {
    let tmp = tempfile::tempdir().unwrap();
    let csv = tmp.path().join("u.csv");
    std::fs::write(&csv, "file,tokens\na.txt,3\n").unwrap();
    let o = run(&["calibrate", csv.to_str().unwrap(), "-m", "claude-opus-4-7"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("no `path` column"), "{}", stderr(&o));
}
