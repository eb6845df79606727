//! Calibrated estimates of closed models, end to end on the real binary: an
//! English contract priced for Claude Opus 4.7 is estimated above its
//! o200k_base count by the table's prose multiplier, a Japanese prompt at
//! about its o200k_base count, each with a band; `check` compares the high
//! end unless told otherwise.

use std::path::Path;

use crate::common::*;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde_json::Value;
use tokenaudit::content::ContentClass;
use tokenaudit::format::thousands;
use tokenaudit::pricing::calibration::Factor;
use tokenaudit::pricing::Calibration;

fn factor(model: &str, class: ContentClass) -> Factor {
    Calibration::embedded()
        .family_of(model)
        .unwrap_or_else(|| panic!("{model} has no calibration family"))
        .classes[&class]
        .clone()
}

/// The JSON report of `audit DIR -m MODEL`.
fn audit_json(dir: &Path, model: &str) -> Value {
    let out = dir.join("report.json");
    let corpus = dir.join("in");
    let o = run(&[
        "audit",
        corpus.to_str().unwrap(),
        "-m",
        model,
        "--json",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    json(&out)
}

/// A folder with `in/`, holding a copy of one fixture.
fn corpus_dir(fixture: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let inner = tmp.path().join("in");
    std::fs::create_dir(&inner).unwrap();
    let src = Path::new("fixtures/corpus").join(fixture);
    std::fs::copy(&src, inner.join(src.file_name().unwrap())).unwrap();
    tmp
}

fn dec(v: &Value) -> Decimal {
    v.as_str()
        .unwrap_or_else(|| panic!("{v} is not a decimal string"))
        .parse()
        .unwrap()
}

fn round(x: Decimal) -> u64 {
    x.round().to_u64().unwrap()
}

#[test]
fn english_prose_for_opus_4_7_is_estimated_above_o200k_by_the_table_multiplier() {
    let tmp = corpus_dir("contracts/master-services-agreement.txt");
    let report = audit_json(tmp.path(), "claude-opus-4-7");
    let o200k = report["totals"]["tokens"]["o200k_base"].as_u64().unwrap();
    assert!(o200k > 300, "{o200k}");
    let cost = &report["costs"][0];
    assert_eq!(cost["model"], "claude-opus-4-7");
    assert_eq!(cost["estimate"], true);
    let band = &cost["estimate_band"];
    assert_eq!(band["family"], "claude-4.7-and-later");
    assert_eq!(band["proxy_tokens"].as_u64(), Some(o200k));
    let classes = band["classes"].as_array().unwrap();
    assert_eq!(classes.len(), 1, "{classes:?}");
    assert_eq!(classes[0]["class"], "latin-prose");
    assert_eq!(classes[0]["method"], "table");

    let f = factor("claude-opus-4-7", ContentClass::LatinProse);
    let t = Decimal::from(o200k);
    let tokens = &band["input_tokens"];
    assert_eq!(tokens["estimate"].as_u64(), Some(round(t * f.multiplier)));
    assert_eq!(tokens["estimate_low"].as_u64(), Some(round(t * f.low)));
    assert_eq!(tokens["estimate_high"].as_u64(), Some(round(t * f.high)));
    assert_eq!(cost["input_tokens"], tokens["estimate"]);
    // Well above the proxy's count: the table's prose multiplier is > 1.3.
    assert!(tokens["estimate"].as_u64().unwrap() as f64 > 1.3 * o200k as f64);

    let usd = &band["input_cost_usd"];
    let price = dec(&cost["input_usd_per_mtok"]);
    assert_eq!(
        dec(&usd["estimate"]),
        (Decimal::from(round(t * f.multiplier)) * price / Decimal::from(1_000_000)).normalize()
    );
    assert!(dec(&usd["estimate_low"]) < dec(&usd["estimate"]));
    assert!(dec(&usd["estimate"]) < dec(&usd["estimate_high"]));
    assert_eq!(dec(&cost["input_cost_usd"]), dec(&usd["estimate"]));
}

#[test]
fn japanese_text_for_opus_4_7_is_estimated_at_about_its_o200k_count() {
    let tmp = corpus_dir("prompts/code-review-ja.txt");
    let report = audit_json(tmp.path(), "claude-opus-4-7");
    let o200k = report["totals"]["tokens"]["o200k_base"].as_u64().unwrap();
    let band = &report["costs"][0]["estimate_band"];
    let classes = band["classes"].as_array().unwrap();
    assert_eq!(classes.len(), 1, "{classes:?}");
    assert_eq!(classes[0]["class"], "cjk");
    let est = band["input_tokens"]["estimate"].as_u64().unwrap();
    let off = (est as f64 - o200k as f64).abs() / o200k as f64;
    assert!(off <= 0.02, "estimate {est} vs o200k_base {o200k}");
    let (lo, hi) = (
        band["input_tokens"]["estimate_low"].as_u64().unwrap(),
        band["input_tokens"]["estimate_high"].as_u64().unwrap(),
    );
    assert!(lo < o200k && o200k < hi, "{lo}..{hi} around {o200k}");
}

#[test]
fn open_models_have_no_band_and_the_table_marks_the_range() {
    let o = run(&[
        "audit",
        "fixtures/corpus",
        "-m",
        "claude-opus-4-7",
        "-m",
        "gpt-5.4",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let table = stdout(&o);
    let line = |m: &str| {
        table
            .lines()
            .find(|l| l.starts_with(m))
            .unwrap_or_else(|| panic!("no {m} row in\n{table}"))
            .to_string()
    };
    let claude = line("claude-opus-4-7");
    assert!(claude.contains('≈') && claude.contains('–'), "{claude}");
    assert!(!line("gpt-5.4 ").contains('≈'), "{table}");
    assert!(table.contains("data/calibration.toml"), "{table}");
}

#[test]
fn check_compares_the_high_end_by_default_and_says_so() {
    let tmp = corpus_dir("contracts/master-services-agreement.txt");
    let report = audit_json(tmp.path(), "claude-opus-4-7");
    let usd = &report["costs"][0]["estimate_band"]["input_cost_usd"];
    let (central, high) = (dec(&usd["estimate"]), dec(&usd["estimate_high"]));
    // A budget between the central estimate and the high end.
    let budget = ((central + high) / Decimal::from(2)).to_string();
    let corpus = tmp.path().join("in");
    let args = |extra: &[&'static str]| {
        let mut a = vec![
            "check".to_string(),
            corpus.to_str().unwrap().to_string(),
            "-m".into(),
            "claude-opus-4-7".into(),
            "--budget".into(),
            budget.clone(),
        ];
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };
    let run_owned = |a: Vec<String>| {
        let refs: Vec<&str> = a.iter().map(String::as_str).collect();
        run(&refs)
    };
    let default = run_owned(args(&[]));
    assert_eq!(default.status.code(), Some(1), "{}", stdout(&default));
    assert!(stdout(&default).contains("the high end is compared"));
    let central_run = run_owned(args(&["--estimate", "central"]));
    assert_eq!(
        central_run.status.code(),
        Some(0),
        "{}",
        stdout(&central_run)
    );
}

#[test]
fn a_calibration_file_replaces_the_table_for_its_models() {
    let tmp = corpus_dir("contracts/master-services-agreement.txt");
    let mine = tmp.path().join("mine.toml");
    // The embedded table with Claude 4.7's prose multiplier set to 2.
    let text = tokenaudit::pricing::calibration::EMBEDDED_CALIBRATION.replacen(
        "multiplier = \"1.53\"\nlow = \"1.32\"\nhigh = \"1.91\"",
        "multiplier = \"2\"\nlow = \"1.32\"\nhigh = \"2.2\"",
        1,
    );
    assert_ne!(text, tokenaudit::pricing::calibration::EMBEDDED_CALIBRATION);
    std::fs::write(&mine, text).unwrap();
    let out = tmp.path().join("r.json");
    let o = run(&[
        "audit",
        tmp.path().join("in").to_str().unwrap(),
        "-m",
        "claude-opus-4-7",
        "--calibration",
        mine.to_str().unwrap(),
        "--json",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let report = json(&out);
    let o200k = report["totals"]["tokens"]["o200k_base"].as_u64().unwrap();
    let band = &report["costs"][0]["estimate_band"];
    assert_eq!(band["input_tokens"]["estimate"].as_u64(), Some(2 * o200k));
    let method = band["classes"][0]["method"].as_str().unwrap();
    assert!(method.starts_with("calibration file"), "{method}");
}

#[test]
fn markdown_shows_the_range_and_focus_carries_each_lines_band() {
    let tmp = corpus_dir("contracts/master-services-agreement.txt");
    let (json_path, md, focus) = (
        tmp.path().join("r.json"),
        tmp.path().join("r.md"),
        tmp.path().join("r.csv"),
    );
    let o = run(&[
        "audit",
        tmp.path().join("in").to_str().unwrap(),
        "-m",
        "claude-opus-4-7,gpt-4o",
        "--json",
        json_path.to_str().unwrap(),
        "--markdown",
        md.to_str().unwrap(),
        "--focus",
        focus.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let report = json(&json_path);
    let claude = report["costs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["model"] == "claude-opus-4-7")
        .unwrap();
    let band = &claude["estimate_band"]["input_tokens"];
    let md = std::fs::read_to_string(&md).unwrap();
    let expected = format!(
        "≈{} ({}–{})",
        thousands(band["estimate"].as_u64().unwrap()),
        thousands(band["estimate_low"].as_u64().unwrap()),
        thousands(band["estimate_high"].as_u64().unwrap())
    );
    assert!(md.contains(&expected), "{expected} not in\n{md}");

    let rows = csv_rows(&focus);
    let cost_band = &claude["estimate_band"]["input_cost_usd"];
    let (mut low, mut high) = (Decimal::ZERO, Decimal::ZERO);
    let mut claude_rows = 0;
    for r in &rows {
        let cost: Decimal = r["EffectiveCost"].parse().unwrap();
        if r["ServiceName"] == "claude-opus-4-7" {
            claude_rows += 1;
            let (l, h): (Decimal, Decimal) = (
                r["x_EstimateLow"].parse().unwrap(),
                r["x_EstimateHigh"].parse().unwrap(),
            );
            assert!(l < cost && cost < h, "{r:?}");
            low += l;
            high += h;
        } else {
            // An exact count has no band.
            assert_eq!(r["x_EstimateLow"], "", "{r:?}");
            assert_eq!(r["x_EstimateHigh"], "", "{r:?}");
        }
    }
    assert!(claude_rows > 0);
    // The lines' ends add up to the model's (tokens rounded per line).
    let near = |a: Decimal, b: Decimal| (a - b).abs() <= Decimal::new(1, 4);
    assert!(near(low, dec(&cost_band["estimate_low"])), "{low}");
    assert!(near(high, dec(&cost_band["estimate_high"])), "{high}");
}

#[test]
fn a_scenario_sizes_a_calibrated_model_by_its_corrected_counts() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("r.json");
    let o = run(&[
        "audit",
        "fixtures/corpus",
        "-m",
        "claude-sonnet-4-6",
        "--scenario",
        "fixtures/scenario.toml",
        "--json",
        out.to_str().unwrap(),
        "--focus",
        tmp.path().join("f.csv").to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let report = json(&out);
    let band = &report["costs"][0]["estimate_band"];
    let ratio = Decimal::from(band["input_tokens"]["estimate"].as_u64().unwrap())
        / Decimal::from(band["proxy_tokens"].as_u64().unwrap());
    assert!(ratio > Decimal::ONE, "{ratio}");
    // support-assistant: transcripts, half of each, plus 2,000 per call.
    let transcripts = &report["by_category"]["transcripts"];
    let mean_o200k = Decimal::from(transcripts["tokens"]["o200k_base"].as_u64().unwrap())
        / Decimal::from(transcripts["files"].as_u64().unwrap());
    let expected = mean_o200k * ratio * Decimal::new(5, 1) + Decimal::from(2000);
    let phase = &report["projection"]["phases"][0];
    let w = phase["workloads"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["workload"] == "support-assistant")
        .unwrap();
    let mean = dec(&w["input_tokens_per_call"]["mean"]);
    assert!(
        (mean - expected).abs() < Decimal::new(1, 2),
        "{mean} vs {expected}"
    );
    let notes: Vec<&str> = report["projection"]["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    let said = format!("× {}", ratio.round_dp(3).normalize());
    assert!(
        notes
            .iter()
            .any(|n| n.contains("claude-sonnet-4-6") && n.contains(&said)),
        "{notes:?}"
    );
    // FOCUS: the calibrated model's projected lines carry the band's ends,
    // the exact models' none.
    let mut strict = 0;
    for r in csv_rows(&tmp.path().join("f.csv")) {
        if r["x_Scenario"].is_empty() {
            continue;
        }
        if r["ServiceName"] == "claude-sonnet-4-6" {
            let cost: Decimal = r["EffectiveCost"].parse().unwrap();
            let l: Decimal = r["x_EstimateLow"].parse().unwrap();
            let h: Decimal = r["x_EstimateHigh"].parse().unwrap();
            assert!(l <= cost && cost <= h, "{r:?}");
            strict += usize::from(l < cost && cost < h);
        } else {
            assert_eq!(r["x_EstimateLow"], "", "{r:?}");
        }
    }
    assert!(strict >= 3, "one per phase at least");
}
