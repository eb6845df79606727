//! One audit, every format: the JSON, the per-file CSV, the Markdown, the
//! FOCUS CSV (and the HTML, see tests/it/html.rs) are written by one command
//! and must agree on every total: tokens per tokenizer, files, costs.

use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr;

use crate::common::*;
use rust_decimal::Decimal;
use tokenaudit::format::{format_usd, thousands};

pub struct Written {
    pub json: serde_json::Value,
    pub csv: Vec<BTreeMap<String, String>>,
    pub markdown: String,
    pub focus: Vec<BTreeMap<String, String>>,
}

fn read_csv(path: &Path) -> Vec<BTreeMap<String, String>> {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            header
                .iter()
                .cloned()
                .zip(r.iter().map(str::to_string))
                .collect()
        })
        .collect()
}

fn audit_every_format(dir: &Path) -> Written {
    let p = |name: &str| dir.join(name).to_str().unwrap().to_string();
    let o = run(&[
        "audit",
        "fixtures/corpus",
        "-q",
        "-t",
        "o200k_base,cl100k_base",
        "-m",
        "gpt-5.4-mini,claude-sonnet-4-6",
        "--scenario",
        "fixtures/scenario.toml",
        "--json",
        &p("r.json"),
        "--csv",
        &p("files.csv"),
        "--markdown",
        &p("r.md"),
        "--focus",
        &p("focus.csv"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    // No temporary file is left beside the outputs.
    let names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.starts_with('.')), "{names:?}");
    Written {
        json: json(&dir.join("r.json")),
        csv: read_csv(&dir.join("files.csv")),
        markdown: std::fs::read_to_string(dir.join("r.md")).unwrap(),
        focus: read_csv(&dir.join("focus.csv")),
    }
}

/// The Markdown table row whose first cell is `first`.
fn md_row<'a>(md: &'a str, first: &str) -> Vec<&'a str> {
    md.lines()
        .map(|l| {
            l.trim()
                .trim_matches('|')
                .split(" | ")
                .map(str::trim)
                .collect::<Vec<_>>()
        })
        .find(|cells| cells.first() == Some(&first))
        .unwrap_or_else(|| panic!("no Markdown row for {first}:\n{md}"))
}

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

#[test]
fn every_format_of_one_audit_agrees_on_every_total() {
    let dir = tempfile::tempdir().unwrap();
    let w = audit_every_format(dir.path());
    let totals = &w.json["totals"];
    let seen = totals["files_seen"].as_u64().unwrap();
    let counted = totals["files_counted"].as_u64().unwrap();

    // Files: the CSV has a row per file seen; the Markdown says so.
    assert_eq!(w.csv.len() as u64, seen);
    assert_eq!(
        w.csv.iter().filter(|r| r["status"] == "counted").count() as u64,
        counted
    );
    assert!(w.markdown.contains(&format!(
        "{} files seen: **{} counted**, {} skipped",
        thousands(seen),
        thousands(counted),
        thousands(totals["files_skipped"].as_u64().unwrap())
    )));

    // Tokens per tokenizer.
    let tokens = totals["tokens"].as_object().unwrap();
    assert_eq!(tokens.len(), 2);
    for (name, n) in tokens {
        let n = n.as_u64().unwrap();
        let per_file: u64 = w
            .csv
            .iter()
            .filter(|r| r["status"] == "counted")
            .map(|r| r[&format!("tokens_{name}")].parse::<u64>().unwrap())
            .sum();
        assert_eq!(per_file, n, "{name}: CSV");
        assert_eq!(
            md_row(&w.markdown, &format!("`{name}`"))[1],
            thousands(n),
            "{name}: Markdown"
        );
    }

    // Costs, per model: the JSON's one-pass cost, the Markdown's, and the
    // FOCUS rows of the one pass (exactly).
    for cost in w.json["costs"].as_array().unwrap() {
        let model = cost["model"].as_str().unwrap();
        let usd = dec(cost["input_cost_usd"].as_str().unwrap());
        let row = md_row(&w.markdown, &format!("`{model}`"));
        // A calibrated estimate shows its central value and its range.
        match cost.get("estimate_band").filter(|b| !b.is_null()) {
            Some(b) => {
                let (t, c) = (&b["input_tokens"], &b["input_cost_usd"]);
                let n = |k: &str| thousands(t[k].as_u64().unwrap());
                let u = |k: &str| format_usd(dec(c[k].as_str().unwrap()));
                assert_eq!(cost["input_tokens"], t["estimate"]);
                assert_eq!(usd, dec(c["estimate"].as_str().unwrap()));
                let tokens = format!(
                    "≈{} ({}–{})",
                    n("estimate"),
                    n("estimate_low"),
                    n("estimate_high")
                );
                assert_eq!(row[2], tokens, "{model}: Markdown");
                let usd_range = format!(
                    "≈{} ({}–{})",
                    u("estimate"),
                    u("estimate_low"),
                    u("estimate_high")
                );
                assert_eq!(row[4], usd_range, "{model}: Markdown");
            }
            None => {
                assert_eq!(row[2], thousands(cost["input_tokens"].as_u64().unwrap()));
                assert_eq!(row[4], format_usd(usd), "{model}: Markdown");
            }
        }
        let focus: Decimal = w
            .focus
            .iter()
            .filter(|r| r["ServiceName"] == model && r["x_Scenario"].is_empty())
            .map(|r| dec(&r["ListCost"]))
            .sum();
        assert_eq!(focus, usd, "{model}: FOCUS");
    }

    // The projection, per phase: the Markdown shows the JSON's figures; the
    // FOCUS lines price whole tokens, so they may differ from the phase's
    // cost (rounded to micro-dollars) by a micro-dollar per line.
    let phases = w.json["projection"]["phases"].as_array().unwrap();
    assert!(!phases.is_empty());
    for ph in phases {
        let name = ph["phase"].as_str().unwrap();
        let usd = dec(ph["cost_usd_per_month"].as_str().unwrap());
        let row = md_row(&w.markdown, name);
        assert_eq!(
            row[1],
            thousands(ph["input_tokens_per_month"].as_u64().unwrap())
        );
        assert_eq!(row[3], format_usd(usd), "{name}: Markdown");
        let lines: Vec<_> = w
            .focus
            .iter()
            .filter(|r| r["Tags"].contains(&format!("\"phase\":\"{name}\"")))
            .collect();
        assert!(!lines.is_empty(), "{name}: FOCUS lines");
        let focus: Decimal = lines.iter().map(|r| dec(&r["ListCost"])).sum();
        let slack = Decimal::new(lines.len() as i64, 6);
        assert!(
            (focus - usd).abs() <= slack,
            "{name}: FOCUS {focus} vs JSON {usd}"
        );
        let output: u64 = lines
            .iter()
            .filter(|r| r["SkuMeter"] == "Output Tokens")
            .map(|r| r["ConsumedQuantity"].parse::<u64>().unwrap())
            .sum();
        assert_eq!(output, ph["output_tokens_per_month"].as_u64().unwrap());
        let input: u64 = lines
            .iter()
            .filter(|r| r["SkuMeter"] != "Output Tokens")
            .map(|r| r["ConsumedQuantity"].parse::<u64>().unwrap())
            .sum();
        assert_eq!(input, ph["input_tokens_per_month"].as_u64().unwrap());
    }

    // Provenance in every format: the commit, the corpus digest, each
    // tokenizer's sha256.
    let prov = &w.json["provenance"];
    let digest = prov["corpus_digest"]["sha256"].as_str().unwrap();
    assert_eq!(digest.len(), 64);
    assert_eq!(prov["corpus_digest"]["files"].as_u64().unwrap(), seen);
    assert!(w.markdown.contains(digest));
    assert!(w.markdown.contains(prov["commit"].as_str().unwrap()));
    for t in prov["tokenizers"].as_array().unwrap() {
        assert!(w.markdown.contains(t["sha256"].as_str().unwrap()));
    }
    assert!(
        w.markdown.contains("fixtures/scenario.toml"),
        "the command line"
    );
}

#[test]
fn the_corpus_digest_follows_the_bytes_not_the_place() {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("copy");
    std::fs::create_dir_all(copy.join("a")).unwrap();
    std::fs::write(copy.join("a/one.txt"), "one two three\n").unwrap();
    std::fs::write(copy.join("two.md"), "# two\n").unwrap();
    let digest = |root: &Path| {
        let o = run(&["audit", root.to_str().unwrap(), "-q", "--json", "-"]);
        assert!(o.status.success(), "{}", stderr(&o));
        let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        r["provenance"]["corpus_digest"]["sha256"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let first = digest(&copy);
    let moved = dir.path().join("moved");
    std::fs::rename(&copy, &moved).unwrap();
    assert_eq!(digest(&moved), first, "same bytes elsewhere");
    std::fs::write(moved.join("two.md"), "# Two\n").unwrap();
    assert_ne!(digest(&moved), first, "one byte changed");
}

#[test]
fn check_writes_the_markdown_summary_with_its_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let md = dir.path().join("check.md");
    let o = run(&[
        "check",
        "fixtures/corpus",
        "-m",
        "gpt-5.4-mini",
        "--budget",
        "1",
        "--markdown",
        md.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = std::fs::read_to_string(&md).unwrap();
    assert!(text.starts_with("tokenaudit check: PASS"), "{text}");
    assert!(text.contains("| `gpt-5.4-mini` |"), "{text}");
}
