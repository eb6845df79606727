//! `tokenaudit check`: the pre-flight gate, end to end on the real binary.

use crate::common::*;

#[test]
fn budget_too_small_fails_with_exit_1_and_fits_with_0() {
    let tight = run(&[
        "check",
        "fixtures/corpus",
        "-m",
        "gpt-5.4-mini",
        "--budget",
        "0.000001",
    ]);
    assert_eq!(tight.status.code(), Some(1), "{}", stderr(&tight));
    let line = stdout(&tight);
    assert!(line.starts_with("tokenaudit check: FAIL"), "{line}");
    assert!(line.contains("gpt-5.4-mini"), "{line}");

    let roomy = run(&[
        "check",
        "fixtures/corpus",
        "-m",
        "gpt-5.4-mini",
        "--budget",
        "1",
    ]);
    assert_eq!(roomy.status.code(), Some(0), "{}", stdout(&roomy));
    assert!(stdout(&roomy).starts_with("tokenaudit check: PASS"));
}

#[test]
fn document_over_the_context_window_fails_and_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    // An override file gives a model a 500-token window; the 657-token
    // contract exceeds it, the others fit.
    let prices = tmp.path().join("prices.toml");
    std::fs::write(
        &prices,
        r#"
[[model]]
id = "tiny-window"
provider = "example"
tokenizer = "o200k_base"
estimate = false
max_input_tokens = 500
input = 1.0
source = "test"
as_of = "2026-11-28"
"#,
    )
    .unwrap();
    let junit = tmp.path().join("check.xml");
    let out = run(&[
        "check",
        "fixtures/corpus",
        "-m",
        "tiny-window",
        "--prices",
        prices.to_str().unwrap(),
        "--max-context",
        "--junit",
        junit.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(
        stdout(&out).contains("master-services-agreement.txt"),
        "{}",
        stdout(&out)
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains("<testsuite") && xml.contains("<failure"),
        "{xml}"
    );

    let fits = run(&[
        "check",
        "fixtures/corpus/prompts",
        "-m",
        "tiny-window",
        "--prices",
        prices.to_str().unwrap(),
        "--max-context",
    ]);
    assert_eq!(
        fits.status.code(),
        Some(0),
        "{}{}",
        stdout(&fits),
        stderr(&fits)
    );
}

#[test]
fn malformed_scenario_exits_2_naming_line_and_field() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = tmp.path().join("bad.toml");
    std::fs::write(
        &scenario,
        "name = \"bad\"\n\n[[workload]]\nname = \"w\"\nmodel = \"gpt-5.4-mini\"\ndocuments_per_month = \"many\"\n",
    )
    .unwrap();
    let out = run(&[
        "check",
        "fixtures/corpus",
        "--scenario",
        scenario.to_str().unwrap(),
        "--budget",
        "100",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let msg = stderr(&out);
    assert!(msg.contains("bad.toml:6"), "{msg}");
    assert!(msg.contains("documents_per_month"), "{msg}");
}

#[test]
fn scenario_projection_against_a_budget() {
    let over = run(&[
        "check",
        "fixtures/corpus",
        "--scenario",
        "fixtures/scenario.toml",
        "--budget",
        "10",
    ]);
    assert_eq!(
        over.status.code(),
        Some(1),
        "{}{}",
        stdout(&over),
        stderr(&over)
    );
    let within = run(&[
        "check",
        "fixtures/corpus",
        "--scenario",
        "fixtures/scenario.toml",
        "--budget",
        "1000000",
    ]);
    assert_eq!(within.status.code(), Some(0), "{}", stdout(&within));
}

#[test]
fn check_without_a_model_or_a_gate_is_a_usage_error() {
    assert_eq!(
        run(&["check", "fixtures/corpus", "--budget", "1"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        run(&["check", "fixtures/corpus", "-m", "gpt-5.4"])
            .status
            .code(),
        Some(2)
    );
    let unknown = run(&[
        "check",
        "fixtures/corpus",
        "-m",
        "gpt-nine",
        "--budget",
        "1",
    ]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(stderr(&unknown).contains("gpt-nine"));
}

#[test]
fn audit_costs_follow_from_counts_and_catalog_prices() {
    let out = run(&[
        "audit",
        "fixtures/corpus",
        "-m",
        "gpt-5.4-mini",
        "--json",
        "-",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let cost = &report["costs"][0];
    let tokens = report["totals"]["tokens"]["o200k_base"].as_u64().unwrap();
    assert_eq!(cost["input_tokens"].as_u64().unwrap(), tokens);
    // cost = tokens × price / 1e6, in exact decimals (compared in integer
    // micro-units of the price).
    let price: f64 = cost["input_usd_per_mtok"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let got: f64 = cost["input_cost_usd"].as_str().unwrap().parse().unwrap();
    assert!((got - tokens as f64 * price / 1e6).abs() < 1e-12, "{got}");
    assert_eq!(
        report["provenance"]["prices"]["as_of"]
            .as_str()
            .unwrap()
            .len(),
        10
    );
}

#[test]
fn models_lists_the_catalog() {
    let out = run(&["models"]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(
        text.contains("gpt-5.4-mini") && text.contains("claude-sonnet-4-6"),
        "{text}"
    );
    let json = run(&["models", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&json)).unwrap();
    assert!(v["models"].as_array().unwrap().len() >= 40);
}
