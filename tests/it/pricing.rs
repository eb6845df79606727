//! Pricing behaviour, with every expected number derived by hand in the
//! comment beside it from the token counts and unit prices written in the
//! test. The test catalogs are written here, not taken from the embedded
//! data, so a price update cannot silently change what these tests mean.

use std::str::FromStr;

use rust_decimal::Decimal;
use tokenaudit::pricing::{
    corpus_cost, corpus_cost_from_documents, evaluate_gate, over_context, project, Catalog,
    CategoryProfile, CheckStatus, CorpusProfile, GateInput, PricingError, Scenario, SizeStats,
    TokenTotals,
};

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

const CATALOG: &str = r#"
source = "hand-written test catalog"
as_of = "2026-11-01"

[[model]]
id = "plain"
provider = "acme"
tokenizer = "o200k_base"
estimate = false
max_input_tokens = 1000
input = "0.15"
output = "0.6"
source = "test"
as_of = "2026-11-01"

[[model]]
id = "cached-batch"
aliases = ["cb-2026"]
provider = "acme"
tokenizer = "cl100k_base"
estimate = false
max_input_tokens = 128000
input = "3"
cached_input = "0.3"
batch_input = "1.5"
output = "15"

[[model]]
id = "tiered"
provider = "acme"
tokenizer = "gemma3"
estimate = true
tokenizer_note = "test proxy"
max_input_tokens = 1000000
input = "1.25"
cached_input = "0.125"
batch_input = "0.625"
output = 10
[[model.tiers]]
above_input_tokens = 200000
input = "2.5"
cached_input = "0.25"
batch_input = "1.25"
output = "15"

[[model]]
id = "m"
provider = "acme"
tokenizer = "o200k_base"
estimate = false
max_input_tokens = 100000
input = "2"
cached_input = "0.5"
output = "8"
batch_input = "1"
batch_output = "4"
[[model.tiers]]
above_input_tokens = 10000
input = "4"
cached_input = "1"
output = "12"
batch_input = "2"
batch_output = "6"
"#;

fn catalog() -> Catalog {
    Catalog::from_toml_str("test-catalog.toml", CATALOG).unwrap()
}

// ------------------------------------------------------------ corpus costs

#[test]
fn plain_model_costs_tokens_times_unit_price() {
    let c = catalog();
    let m = c.model("plain").unwrap();
    // 1000 + 2500 + 333 = 3833 tokens × 0.15 USD / 1e6 = 0.00057495 USD
    let cost = corpus_cost_from_documents(m, &[1000, 2500, 333], vec![]);
    assert_eq!(cost.input_tokens, 3833);
    assert_eq!(cost.input_usd_per_mtok, d("0.15"));
    assert_eq!(cost.input_cost_usd, d("0.00057495"));
    assert_eq!(cost.cached_input_cost_usd, None);
    assert_eq!(cost.batch_input_cost_usd, None);
    assert!(!cost.estimate);
}

#[test]
fn cached_and_batch_variants_use_their_own_unit_prices() {
    let c = catalog();
    let m = c.model("cb-2026").unwrap();
    // 120000 + 80000 = 200000 tokens
    // standard 200000 × 3 / 1e6 = 0.6; cached × 0.3 = 0.06; batch × 1.5 = 0.3
    let cost = corpus_cost_from_documents(m, &[120_000, 80_000], vec![]);
    assert_eq!(cost.model, "cached-batch");
    assert_eq!(cost.input_cost_usd, d("0.6"));
    assert_eq!(cost.cached_input_usd_per_mtok, Some(d("0.3")));
    assert_eq!(cost.cached_input_cost_usd, Some(d("0.06")));
    assert_eq!(cost.batch_input_usd_per_mtok, Some(d("1.5")));
    assert_eq!(cost.batch_input_cost_usd, Some(d("0.3")));
}

#[test]
fn long_context_tier_applies_per_document_above_the_threshold() {
    let c = catalog();
    let m = c.model("tiered").unwrap();
    // 200000 is AT the threshold (base); 200001 is above (tier); 50000 base.
    // base tokens 250000: 250000 × 1.25 / 1e6 = 0.3125
    // tier tokens 200001: 200001 × 2.5  / 1e6 = 0.5000025
    let cost = corpus_cost_from_documents(m, &[200_000, 200_001, 50_000], vec![]);
    assert_eq!(cost.input_tokens, 450_001);
    assert_eq!(cost.input_cost_usd, d("0.8125025"));
    // cached: 250000 × 0.125 = 0.03125 ; 200001 × 0.25 = 0.05000025
    assert_eq!(cost.cached_input_cost_usd, Some(d("0.08125025")));
    // batch: 250000 × 0.625 = 0.15625 ; 200001 × 1.25 = 0.25000125
    assert_eq!(cost.batch_input_cost_usd, Some(d("0.40625125")));
    assert_eq!(cost.long_context.len(), 1);
    assert_eq!(cost.long_context[0].above_input_tokens, 200_000);
    assert_eq!(cost.long_context[0].documents, 1);
    assert_eq!(cost.long_context[0].tokens, 200_001);
    assert!(cost.estimate);
}

#[test]
fn token_totals_merge_like_the_union_of_their_documents() {
    let thresholds = [100u64, 1000];
    let a = [50u64, 150, 5000];
    let b = [999u64, 1001, 7];
    let all: Vec<u64> = a.iter().chain(&b).copied().collect();
    let mut merged = TokenTotals::from_documents(thresholds, &a);
    merged.merge(&TokenTotals::from_documents(thresholds, &b));
    assert_eq!(merged, TokenTotals::from_documents(thresholds, &all));
    // above 1000: 5000 and 1001
    assert_eq!(merged.above[&1000].documents, 2);
    assert_eq!(merged.above[&1000].tokens, 6001);
}

#[test]
fn totals_missing_a_tier_threshold_are_an_error_not_a_wrong_price() {
    let c = catalog();
    let m = c.model("tiered").unwrap();
    let totals = TokenTotals::from_documents([], &[300_000]);
    let err = corpus_cost(m, &totals, vec![]).unwrap_err();
    assert!(matches!(
        err,
        PricingError::MissingThreshold {
            threshold: 200_000,
            ..
        }
    ));
    assert_eq!(
        c.tier_thresholds("gemma3").into_iter().collect::<Vec<_>>(),
        vec![200_000]
    );
}

#[test]
fn over_context_lists_documents_longer_than_the_window() {
    let c = catalog();
    let m = c.model("plain").unwrap(); // window 1000
    let docs = vec![("a.txt", 999u64), ("b.txt", 1000), ("c.txt", 1001)];
    assert_eq!(over_context(m, docs), vec!["c.txt"]);
}

#[test]
fn costs_serialise_in_contract_order_with_decimal_strings_and_nulls() {
    let c = catalog();
    let m = c.model("plain").unwrap();
    let cost = corpus_cost_from_documents(m, &[1000, 2500, 333], vec!["big.txt".into()]);
    let json = serde_json::to_string(&cost).unwrap();
    let expected_prefix = r#"{"model":"plain","provider":"acme","tokenizer":"o200k_base","estimate":false,"input_tokens":3833,"input_usd_per_mtok":"0.15","input_cost_usd":"0.00057495","cached_input_usd_per_mtok":null,"cached_input_cost_usd":null,"batch_input_usd_per_mtok":null,"batch_input_cost_usd":null,"over_context":["big.txt"]"#;
    assert!(json.starts_with(expected_prefix), "{json}");
    let prov = serde_json::to_value(c.provenance()).unwrap();
    assert_eq!(prov["source"], "hand-written test catalog");
    assert_eq!(prov["as_of"], "2026-11-01");
}

// ------------------------------------------------------------ bring your own prices

#[test]
fn override_file_changes_one_price_and_keeps_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("prices.toml");
    std::fs::write(
        &path,
        "source = \"ACME negotiated rates\"\nas_of = \"2026-10-01\"\n\n[[model]]\nid = \"cached-batch\"\ninput = \"2.4\"\n",
    )
    .unwrap();
    let c = catalog().with_overrides(&path).unwrap();
    let m = c.model("cached-batch").unwrap();
    assert_eq!(m.prices.input, d("2.4"));
    assert_eq!(
        m.prices.cached_input,
        Some(d("0.3")),
        "untouched field kept"
    );
    assert_eq!(m.source, "ACME negotiated rates");
    assert_eq!(m.as_of, "2026-10-01");
    // 200000 tokens × 2.4 / 1e6 = 0.48
    let cost = corpus_cost_from_documents(m, &[200_000], vec![]);
    assert_eq!(cost.input_cost_usd, d("0.48"));
    assert!(c.provenance().overrides[0].contains("prices.toml"));
    // The file's sha256, so a report names the exact prices it used.
    let sha: String = {
        use sha2::{Digest, Sha256};
        let bytes = std::fs::read(&path).unwrap();
        Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    assert!(
        c.provenance().overrides[0].ends_with(&format!("sha256 {sha}")),
        "{}",
        c.provenance().overrides[0]
    );
}

#[test]
fn override_file_adds_a_model_and_an_incomplete_one_names_file_line_field() {
    let text = "[[model]]\nid = \"in-house-llm\"\nprovider = \"us\"\ntokenizer = \"llama3\"\nestimate = false\ninput = 0.05\noutput = 0.1\n";
    let c = catalog().with_overrides_str("ours.toml", text).unwrap();
    let m = c.model("in-house-llm").unwrap();
    assert_eq!(m.prices.input, d("0.05"));
    assert_eq!(m.source, "override file ours.toml");

    let text = "\n[[model]]\nid = \"half\"\nprovider = \"us\"\nestimate = false\ninput = \"1\"\n";
    let err = catalog().with_overrides_str("ours.toml", text).unwrap_err();
    let msg = err.to_string();
    assert_eq!(err.line(), Some(3), "{msg}");
    assert!(
        msg.starts_with("ours.toml:3: field `model[0].tokenizer`"),
        "{msg}"
    );
}

#[test]
fn override_with_a_wrong_type_names_line_and_field() {
    let text = "[[model]]\nid = \"plain\"\nmax_input_tokens = \"lots\"\n";
    let err = catalog().with_overrides_str("o.toml", text).unwrap_err();
    let msg = err.to_string();
    assert_eq!(err.line(), Some(3), "{msg}");
    assert!(msg.contains("model[0].max_input_tokens"), "{msg}");
}

const LITELLM: &str = r#"{
  "sample_spec": {"input_cost_per_token": 0.0, "litellm_provider": "one of"},
  "cb-litellm-key": {
    "input_cost_per_token": 5e-06,
    "cache_read_input_token_cost": 1.25e-06,
    "input_cost_per_token_batches": 2.5e-06,
    "output_cost_per_token": 2e-05,
    "input_cost_per_token_above_128k_tokens": 1e-05,
    "input_cost_per_token_above_128k_tokens_priority": 9e-05,
    "max_input_tokens": 64000,
    "max_output_tokens": 8192
  },
  "plain": {
    "tiered_pricing": [
      {"input_cost_per_token": 3e-06, "output_cost_per_token": 1.5e-05, "range": [32000.0, 128000.0]},
      {"input_cost_per_token": 1.2e-06, "output_cost_per_token": 6e-06, "range": [0, 32000.0]}
    ]
  }
}"#;

#[test]
fn litellm_json_is_read_as_is() {
    let over = "[[model]]\nid = \"cached-batch\"\nlitellm = \"cb-litellm-key\"\n";
    let c = catalog()
        .with_overrides_str("map.toml", over)
        .unwrap()
        .with_litellm_str("prices.json", LITELLM)
        .unwrap();
    let m = c.model("cached-batch").unwrap();
    // 5e-06 USD/token = 5 USD/Mtok, exactly
    assert_eq!(m.prices.input, d("5"));
    assert_eq!(m.prices.cached_input, Some(d("1.25")));
    assert_eq!(m.prices.batch_input, Some(d("2.5")));
    assert_eq!(m.prices.output, Some(d("20")));
    assert_eq!(m.max_input_tokens, Some(64_000));
    assert_eq!(m.tiers.len(), 1, "priority variant ignored");
    assert_eq!(m.tiers[0].above_input_tokens, 128_000);
    assert_eq!(m.tiers[0].prices.input, d("10"));
    assert!(m.source.contains("prices.json"));
    // "plain" (no litellm key: looked up by id) uses tiered_pricing ranges
    let p = c.model("plain").unwrap();
    assert_eq!(p.prices.input, d("1.2"));
    assert_eq!(p.tiers[0].above_input_tokens, 32_000);
    assert_eq!(p.tiers[0].prices.input, d("3"));
    // a model absent from the file keeps its prices
    assert_eq!(c.model("tiered").unwrap().prices.input, d("1.25"));
    assert!(c.provenance().overrides[1].contains("2 models updated"));
}

#[test]
fn litellm_bad_value_names_file_line_and_field() {
    let text = "{\n  \"plain\": {\n    \"input_cost_per_token\": \"cheap\"\n  }\n}\n";
    let err = catalog().with_litellm_str("p.json", text).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.starts_with("p.json:2: field `plain.input_cost_per_token`"),
        "{msg}"
    );
    let err = catalog()
        .with_litellm_str("p.json", "{\n  \"plain\": [\n")
        .unwrap_err();
    assert!(err.to_string().starts_with("p.json:3:"), "{err}");
    // Valid JSON that prices none of the catalog's models: the wrong file.
    let err = catalog()
        .with_litellm_str(
            "p.json",
            "{\"other-model\": {\"input_cost_per_token\": 1e-06}}",
        )
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("p.json: prices none of the catalog's models"),
        "{err}"
    );
}

// ------------------------------------------------------------ scenarios

const TINY: &str = r#"
name = "tiny"
budget_usd_per_month = 9
value_hypothesis = "worth it"

[[workload]]
name = "extract"
category = "docs"
model = "m"
documents_per_month = 1000
calls_per_document = 2
extra_input_tokens_per_call = 500
output_tokens_per_call = 100
cache_hit_rate = 0.5
batch_share = 0.25

[[workload]]
name = "long"
model = "m"
requests_per_month = 10
input_tokens_per_request = 12000
output_ratio = 0.5

[[phase]]
name = "dev"
multiplier = 0.1

[[phase]]
name = "production"
"#;

fn tiny_corpus() -> CorpusProfile {
    let mut docs = CategoryProfile {
        documents: 4,
        ..Default::default()
    };
    docs.tokens.insert(
        "o200k_base".into(),
        SizeStats {
            total: 10_000,
            p50: 2_000,
            p90: 6_000,
        },
    );
    let mut corpus = CorpusProfile {
        all: docs.clone(),
        ..Default::default()
    };
    corpus.categories.insert("docs".into(), docs);
    corpus
}

#[test]
fn projection_of_a_tiny_scenario_matches_the_hand_computation() {
    let s = Scenario::from_toml_str("tiny.toml", TINY).unwrap();
    let p = project(&s, &catalog(), &tiny_corpus()).unwrap();
    assert_eq!(p.phases.len(), 2);
    let prod = &p.phases[1];
    assert_eq!(prod.phase, "production");
    let w = &prod.workloads[0];
    // mean doc 10000/4 = 2500; + 500 extra = 3000 input/call; output 100.
    // calls = 1000 × 2 = 2000.
    assert_eq!(w.calls_per_month, d("2000"));
    assert_eq!(w.input_tokens_per_call.mean, d("3000"));
    assert_eq!(w.input_tokens_per_month, 6_000_000);
    assert_eq!(w.cached_input_tokens_per_month, 3_000_000);
    assert_eq!(w.output_tokens_per_month, 200_000);
    // per call, in USD×1e6:
    //   standard = 1500×2 + 1500×0.5 + 100×8 = 4550
    //   batch    = 1500×1 + 1500×1 (no batch cached price) + 100×4 = 3400
    //   blended  = 0.75×4550 + 0.25×3400 = 4262.5  → 0.0042625 USD
    // month = 2000 × 0.0042625 = 8.525
    assert_eq!(w.cost_usd_per_month, d("8.525"));
    // p50 doc 2000 → 2500/call: standard 1250×2+1250×0.5+800 = 3925,
    //   batch 1250+1250+400 = 2900, blended 3668.75 → ×2000 = 7.3375
    assert_eq!(w.cost_usd_per_month_p50, d("7.3375"));
    // p90 doc 6000 → 6500/call: standard 6500+1625+800 = 8925,
    //   batch 3250+3250+400 = 6900, blended 8418.75 → ×2000 = 16.8375
    assert_eq!(w.cost_usd_per_month_p90, d("16.8375"));
    assert_eq!(w.long_context_tier, None);

    // fixed 12000 tokens > 10000 threshold → tier prices for the whole call:
    // 12000×4 + 6000×12 = 120000 → 0.12 USD × 10 requests = 1.2
    let l = &prod.workloads[1];
    assert_eq!(l.category, "fixed");
    assert_eq!(l.long_context_tier, Some(10_000));
    assert_eq!(l.cost_usd_per_month, d("1.2"));
    assert_eq!(l.cost_usd_per_month_p90, d("1.2"));

    // 8.525 + 1.2 = 9.725 > budget 9
    assert_eq!(prod.cost_usd_per_month, d("9.725"));
    assert_eq!(prod.within_budget, Some(false));
    // dev: 100 docs → 200 calls → 0.8525; 1 long request → 0.12
    assert_eq!(p.phases[0].workloads[0].units_per_month, 100);
    assert_eq!(p.phases[0].cost_usd_per_month, d("0.9725"));
    assert_eq!(p.phases[0].within_budget, Some(true));
    assert_eq!(p.value_hypothesis.as_deref(), Some("worth it"));

    let json = serde_json::to_value(&p).unwrap();
    assert_eq!(json["phases"][1]["cost_usd_per_month"], "9.725");
}

#[test]
fn phase_volumes_can_be_absolute_per_workload() {
    let text = TINY.replace(
        "name = \"dev\"\nmultiplier = 0.1",
        "name = \"dev\"\nmultiplier = 0.1\nvolumes = { long = 3 }",
    );
    let s = Scenario::from_toml_str("tiny.toml", &text).unwrap();
    let p = project(&s, &catalog(), &tiny_corpus()).unwrap();
    let dev = &p.phases[0];
    assert_eq!(dev.workloads[1].units_per_month, 3);
    assert_eq!(dev.workloads[1].cost_usd_per_month, d("0.36")); // 3 × 0.12
}

fn scenario_error(text: &str) -> PricingError {
    Scenario::from_toml_str("bad.toml", text).unwrap_err()
}

#[test]
fn malformed_scenario_wrong_type_names_line_and_field() {
    let text = TINY.replace(
        "documents_per_month = 1000",
        "documents_per_month = \"lots\"",
    );
    let err = scenario_error(&text);
    let line = text.lines().position(|l| l.contains("\"lots\"")).unwrap() + 1;
    assert_eq!(err.line(), Some(line), "{err}");
    let msg = err.to_string();
    assert!(
        msg.starts_with(&format!(
            "bad.toml:{line}: field `workload[0].documents_per_month`"
        )),
        "{msg}"
    );
}

#[test]
fn malformed_scenario_missing_field_names_it() {
    let text = TINY.replace("model = \"m\"\ndocuments_per_month", "documents_per_month");
    let err = scenario_error(&text);
    let msg = err.to_string();
    assert!(msg.contains("workload[0].model"), "{msg}");
    assert!(err.line().is_some(), "{msg}");
}

#[test]
fn malformed_scenario_bad_toml_line_is_located() {
    let text = TINY.replace("calls_per_document = 2", "calls_per_document = = 2");
    let line = text.lines().position(|l| l.contains("= = 2")).unwrap() + 1;
    let err = scenario_error(&text);
    assert_eq!(err.line(), Some(line), "{err}");
    assert!(
        err.to_string().starts_with(&format!("bad.toml:{line}:")),
        "{err}"
    );
}

#[test]
fn malformed_scenario_out_of_range_rate_names_line_and_field() {
    let text = TINY.replace("cache_hit_rate = 0.5", "cache_hit_rate = 1.5");
    let line = text.lines().position(|l| l.contains("1.5")).unwrap() + 1;
    let err = scenario_error(&text);
    let msg = err.to_string();
    assert!(
        msg.starts_with(&format!(
            "bad.toml:{line}: field `workload[0].cache_hit_rate`"
        )),
        "{msg}"
    );
}

#[test]
fn scenario_with_unknown_category_or_model_names_the_workload_line() {
    let s = Scenario::from_toml_str(
        "tiny.toml",
        &TINY.replace("category = \"docs\"", "category = \"contracts\""),
    )
    .unwrap();
    let err = project(&s, &catalog(), &tiny_corpus())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("workload[0].category") && err.contains("found: docs"),
        "{err}"
    );
    let s = Scenario::from_toml_str(
        "tiny.toml",
        &TINY.replacen("model = \"m\"", "model = \"nope\"", 1),
    )
    .unwrap();
    let err = project(&s, &catalog(), &tiny_corpus())
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("tiny.toml:9: field `workload[0].model`"),
        "{err}"
    );
}

#[test]
fn example_fixture_scenario_projects() {
    let s = Scenario::load(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/scenario.toml"
    ))
    .unwrap();
    assert_eq!(s.workloads.len(), 3);
    let mut corpus = CorpusProfile::default();
    for (cat, docs, total, p50, p90) in [
        ("contracts", 40u64, 360_000u64, 7_500u64, 16_000u64),
        ("transcripts", 100, 300_000, 2_400, 6_000),
        ("prompts", 200, 70_000, 250, 900),
    ] {
        let mut c = CategoryProfile {
            documents: docs,
            ..Default::default()
        };
        c.tokens
            .insert("o200k_base".into(), SizeStats { total, p50, p90 });
        corpus.categories.insert(cat.into(), c);
    }
    let p = project(&s, &Catalog::embedded(), &corpus).unwrap();
    assert_eq!(
        p.phases
            .iter()
            .map(|x| x.phase.as_str())
            .collect::<Vec<_>>(),
        ["development", "testing", "production"]
    );
    let prod = &p.phases[2];
    assert!(prod.cost_usd_per_month > Decimal::ZERO);
    assert!(prod.cost_usd_per_month_p50 <= prod.cost_usd_per_month_p90);
    assert_eq!(p.phases[1].workloads[2].units_per_month, 16_800);
    // The Claude workload is labelled an estimate, in the data and the notes.
    assert!(prod.workloads[1].estimate);
    assert!(p
        .notes
        .iter()
        .any(|n| n.contains("support-assistant") && n.contains("estimate")));
}

// ------------------------------------------------------------ gate

#[test]
fn gate_fails_over_budget_and_passes_when_it_fits() {
    let s = Scenario::from_toml_str("tiny.toml", TINY).unwrap();
    let p = project(&s, &catalog(), &tiny_corpus()).unwrap();
    // production 9.725 > 9 (the scenario's budget)
    let out = evaluate_gate(&GateInput {
        budget_usd: None,
        costs: &[],
        projection: Some(&p),
        check_context: true,
        estimate: Default::default(),
    });
    assert!(!out.passed);
    assert_eq!(out.exit_code(), 1);
    assert_eq!(out.checks.len(), 2);
    assert_eq!(out.checks[0].status, CheckStatus::Pass); // dev 0.9725
    assert_eq!(out.checks[1].status, CheckStatus::Fail);
    let line = out.summary();
    assert!(
        line.starts_with("tokenaudit check: FAIL: production projected $9.73/month"),
        "{line}"
    );
    assert!(!line.contains('\n'));
    // --budget 10 overrides: fits
    let out = evaluate_gate(&GateInput {
        budget_usd: Some(d("10")),
        costs: &[],
        projection: Some(&p),
        check_context: true,
        estimate: Default::default(),
    });
    assert!(out.passed, "{}", out.summary());
    assert_eq!(out.exit_code(), 0);
}

#[test]
fn gate_without_scenario_compares_one_pass_cost_and_context() {
    let c = catalog();
    let m = c.model("plain").unwrap();
    let docs = [("a", 900u64), ("b", 1200)];
    let over: Vec<String> = over_context(m, docs)
        .into_iter()
        .map(String::from)
        .collect();
    let cost = corpus_cost_from_documents(m, &[900, 1200], over);
    // 2100 × 0.15 / 1e6 = 0.000315 < 1 USD budget, but b is over the 1000 window
    let out = evaluate_gate(&GateInput {
        budget_usd: Some(d("1")),
        costs: std::slice::from_ref(&cost),
        projection: None,
        check_context: true,
        estimate: Default::default(),
    });
    assert!(!out.passed);
    assert_eq!(out.checks[0].kind, "budget");
    assert_eq!(out.checks[0].status, CheckStatus::Pass);
    assert_eq!(out.checks[1].kind, "context");
    assert_eq!(out.checks[1].status, CheckStatus::Fail);
    assert!(
        out.summary()
            .contains("1 document over the 1000-token input window: b"),
        "{}",
        out.summary()
    );

    // over budget: 0.0001 USD
    let fits = corpus_cost_from_documents(m, &[900], vec![]);
    let out = evaluate_gate(&GateInput {
        budget_usd: Some(d("0.0001")),
        costs: std::slice::from_ref(&fits),
        projection: None,
        check_context: true,
        estimate: Default::default(),
    });
    assert!(!out.passed, "0.000135 > 0.0001");
    let out = evaluate_gate(&GateInput {
        budget_usd: Some(d("0.000135")),
        costs: std::slice::from_ref(&fits),
        projection: None,
        check_context: true,
        estimate: Default::default(),
    });
    assert!(out.passed, "equal to the budget is within it");
}

#[test]
fn junit_xml_is_well_formed_with_a_failure_per_failed_check() {
    use quick_xml::events::Event;
    use tokenaudit::report::junit::junit_xml;
    let c = catalog();
    let m = c.model("plain").unwrap();
    let cost = corpus_cost_from_documents(m, &[1200], vec!["dir/<odd> & \"name\".txt".into()]);
    let out = evaluate_gate(&GateInput {
        budget_usd: Some(d("1")),
        costs: std::slice::from_ref(&cost),
        projection: None,
        check_context: true,
        estimate: Default::default(),
    });
    let xml = junit_xml(&out);
    let mut reader = quick_xml::Reader::from_str(&xml);
    let (mut suites, mut cases, mut failures) = (0, Vec::new(), Vec::new());
    let mut in_failure = false;
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Eof => break,
            Event::Start(e) | Event::Empty(e) => {
                let name = e.name().into_inner().to_string();
                let attr = |k: &str| {
                    e.try_get_attribute(k).unwrap().map(|a| {
                        a.normalized_value(quick_xml::XmlVersion::Explicit1_0)
                            .unwrap()
                            .into_owned()
                    })
                };
                match name.as_str() {
                    "testsuite" => {
                        suites += 1;
                        assert_eq!(attr("tests").as_deref(), Some("2"));
                        assert_eq!(attr("failures").as_deref(), Some("1"));
                    }
                    "testcase" => cases.push(attr("classname").unwrap()),
                    "failure" => {
                        failures.push(attr("message").unwrap());
                        in_failure = true;
                    }
                    _ => {}
                }
            }
            Event::Text(t) if in_failure => {
                assert!(!t.as_ref().is_empty());
                in_failure = false;
            }
            _ => {}
        }
    }
    assert_eq!(suites, 1);
    assert_eq!(
        cases,
        ["tokenaudit.check.budget", "tokenaudit.check.context"]
    );
    assert_eq!(failures.len(), 1);
    assert!(
        failures[0].contains("dir/<odd> & \"name\".txt"),
        "{}",
        failures[0]
    );
}

/// The Rust LiteLLM reader and the Python generator (`scripts/update-prices`)
/// must agree: applying the very table the catalog was generated from changes
/// nothing. Needs that table, which is not committed:
/// `TOKENAUDIT_LITELLM_JSON=/path/model_prices_and_context_window_backup.json
///  cargo test --test pricing -- --ignored`
#[test]
#[ignore = "needs TOKENAUDIT_LITELLM_JSON (the pinned LiteLLM table)"]
fn litellm_reader_agrees_with_the_generated_catalog() {
    let path = std::env::var("TOKENAUDIT_LITELLM_JSON").expect("set TOKENAUDIT_LITELLM_JSON");
    let embedded = Catalog::embedded();
    let reread = Catalog::embedded().with_litellm(&path).unwrap();
    assert!(reread.overrides[0].contains(&format!("({} models updated)", embedded.models.len())));
    for (a, b) in embedded.models.iter().zip(&reread.models) {
        assert_eq!(a.prices, b.prices, "{}", a.id);
        assert_eq!(a.tiers, b.tiers, "{}", a.id);
        assert_eq!(a.max_input_tokens, b.max_input_tokens, "{}", a.id);
        assert_eq!(a.max_output_tokens, b.max_output_tokens, "{}", a.id);
    }
}
