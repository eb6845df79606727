//! `--focus`: every row of the FOCUS CSV checked against the rules of the
//! FOCUS 1.2 column files (specification/columns, tag v1.2 of FOCUS_Spec),
//! with and without a scenario, and the file loaded by Python's csv module.

use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr;

use crate::common::*;
use rust_decimal::Decimal;

/// Columns whose column file says "Allows nulls: False" (Mandatory and
/// Recommended ones), plus those the rules make non-null for a Usage row
/// that is not a correction (PricingQuantity, PricingUnit, ListUnitPrice,
/// SkuId, SkuPriceId, ConsumedQuantity, ConsumedUnit), plus those the issue
/// asks us to fill.
const NOT_NULL: &[&str] = &[
    "BilledCost",
    "BillingAccountId",
    "BillingAccountName",
    "BillingCurrency",
    "BillingPeriodEnd",
    "BillingPeriodStart",
    "ChargeCategory",
    "ChargeDescription",
    "ChargeFrequency",
    "ChargePeriodEnd",
    "ChargePeriodStart",
    "ConsumedQuantity",
    "ConsumedUnit",
    "ContractedCost",
    "ContractedUnitPrice",
    "EffectiveCost",
    "InvoiceIssuerName",
    "ListCost",
    "ListUnitPrice",
    "PricingCategory",
    "PricingQuantity",
    "PricingUnit",
    "ProviderName",
    "PublisherName",
    "ServiceCategory",
    "ServiceName",
    "ServiceSubcategory",
    "SkuId",
    "SkuMeter",
    "SkuPriceDetails",
    "SkuPriceId",
    "Tags",
    "ServiceProviderName",
    "HostProviderName",
    "x_Estimate",
    "x_Tokenizer",
    "x_Source",
];

const DECIMALS: &[&str] = &[
    "BilledCost",
    "ConsumedQuantity",
    "ContractedCost",
    "ContractedUnitPrice",
    "EffectiveCost",
    "ListCost",
    "ListUnitPrice",
    "PricingQuantity",
];

fn audit_focus(dir: &Path, extra: &[&str]) -> (Vec<BTreeMap<String, String>>, Vec<String>) {
    let out = dir.join("focus.csv");
    let mut args = vec![
        "audit",
        "fixtures/corpus",
        "-q",
        "-m",
        "gpt-5.4-mini,claude-sonnet-4-6",
        "--focus",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let o = run(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut reader = csv::Reader::from_path(&out).unwrap();
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    let rows = reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            header
                .iter()
                .cloned()
                .zip(r.iter().map(str::to_string))
                .collect()
        })
        .collect();
    (rows, header)
}

/// `YYYY-MM-DDTHH:mm:ssZ` (DateTimeFormat).
fn is_datetime(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 20
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            19 => *c == b'Z',
            _ => c.is_ascii_digit(),
        })
}

fn dec(row: &BTreeMap<String, String>, k: &str) -> Decimal {
    Decimal::from_str(&row[k]).unwrap_or_else(|e| panic!("{k} = {:?}: {e}", row[k]))
}

fn check_rows(rows: &[BTreeMap<String, String>], header: &[String]) {
    // Every column the spec and the issue ask for (listed here from the
    // spec, not from the code), once each; custom columns (x_) only after
    // the FOCUS ones.
    for column in NOT_NULL
        .iter()
        .chain(&["x_Scenario", "x_EstimateLow", "x_EstimateHigh"])
    {
        assert_eq!(
            header.iter().filter(|h| h == column).count(),
            1,
            "{column} in {header:?}"
        );
    }
    let first_custom = header.iter().position(|h| h.starts_with("x_")).unwrap();
    assert!(header[first_custom..].iter().all(|h| h.starts_with("x_")));
    assert!(!rows.is_empty());
    for (i, row) in rows.iter().enumerate() {
        let at = format!("row {} ({})", i + 2, row["ChargeDescription"]);
        for k in NOT_NULL {
            assert!(!row[*k].is_empty(), "{at}: {k} is null");
        }
        // NumericFormat: a plain decimal, no exponent, sign only if negative.
        for k in DECIMALS {
            let v = &row[*k];
            assert!(
                v.bytes().all(|b| b.is_ascii_digit() || b == b'.'),
                "{at}: {k} = {v:?} is not a plain non-negative decimal"
            );
            dec(row, k);
        }
        // Allowed values.
        assert_eq!(row["ChargeCategory"], "Usage", "{at}");
        assert_eq!(row["ChargeClass"], "", "{at}: not a correction");
        assert_eq!(row["ChargeFrequency"], "Usage-Based", "{at}");
        assert_eq!(row["ServiceCategory"], "AI and Machine Learning", "{at}");
        assert_eq!(row["ServiceSubcategory"], "Generative AI", "{at}");
        assert_eq!(row["BillingCurrency"], "USD", "{at}");
        assert_eq!(row["PricingCategory"], "Standard", "{at}");
        assert_eq!(row["ConsumedUnit"], "Tokens", "{at}");
        assert_eq!(row["PricingUnit"], "1000000 Tokens", "{at}");
        // A band only on estimates, around the central cost.
        if row["x_Estimate"] == "false" {
            assert!(
                row["x_EstimateLow"].is_empty() && row["x_EstimateHigh"].is_empty(),
                "{at}"
            );
        } else {
            let (low, high) = (dec(row, "x_EstimateLow"), dec(row, "x_EstimateHigh"));
            assert!(
                low <= dec(row, "ListCost") && dec(row, "ListCost") <= high,
                "{at}"
            );
        }
        assert!(
            [
                "Input Tokens",
                "Output Tokens",
                "Cached Input Tokens",
                "Cache Write Tokens"
            ]
            .contains(&row["SkuMeter"].as_str()),
            "{at}: meter {}",
            row["SkuMeter"]
        );
        assert_eq!(row["x_Source"], "tokenaudit", "{at}");
        assert!(["true", "false"].contains(&row["x_Estimate"].as_str()));
        // The arithmetic: PricingQuantity is tokens per million, and cost =
        // unit price × pricing quantity, exactly.
        let tokens = dec(row, "ConsumedQuantity");
        assert_eq!(tokens.fract(), Decimal::ZERO, "{at}: whole tokens");
        let quantity = dec(row, "PricingQuantity");
        assert_eq!(quantity * Decimal::from(1_000_000), tokens, "{at}");
        let list = dec(row, "ListUnitPrice");
        assert!(list >= Decimal::ZERO, "{at}");
        assert_eq!(list * quantity, dec(row, "ListCost"), "{at}: ListCost");
        assert_eq!(
            dec(row, "ContractedUnitPrice") * quantity,
            dec(row, "ContractedCost"),
            "{at}: ContractedCost"
        );
        assert_eq!(dec(row, "EffectiveCost"), dec(row, "ListCost"), "{at}");
        assert_eq!(
            dec(row, "BilledCost"),
            Decimal::ZERO,
            "{at}: not an invoice"
        );
        // Periods: UTC, start inclusive before end exclusive, the charge
        // inside its billing period.
        for k in [
            "BillingPeriodStart",
            "BillingPeriodEnd",
            "ChargePeriodStart",
            "ChargePeriodEnd",
        ] {
            assert!(is_datetime(&row[k]), "{at}: {k} = {}", row[k]);
        }
        assert!(row["ChargePeriodStart"] < row["ChargePeriodEnd"], "{at}");
        assert!(row["BillingPeriodStart"] < row["BillingPeriodEnd"], "{at}");
        assert!(
            row["BillingPeriodStart"] <= row["ChargePeriodStart"],
            "{at}"
        );
        assert!(row["ChargePeriodEnd"] <= row["BillingPeriodEnd"], "{at}");
        // KeyValueFormat: JSON objects; SkuPriceDetails keys not defined by
        // FOCUS begin with x_.
        let details: serde_json::Value = serde_json::from_str(&row["SkuPriceDetails"]).unwrap();
        let details = details.as_object().expect("SkuPriceDetails is an object");
        assert!(details.keys().all(|k| k.starts_with("x_")), "{at}");
        let tags: serde_json::Value = serde_json::from_str(&row["Tags"]).unwrap();
        assert!(
            tags["category"].is_string(),
            "{at}: Tags carry the category"
        );
        // SkuPriceId has one parent SkuId.
        assert!(row["SkuPriceId"].starts_with(&format!("{}/", row["SkuId"])));
        // The 1.3 provider names beside the 1.2 one.
        assert_eq!(row["ServiceProviderName"], row["ProviderName"], "{at}");
    }
}

#[test]
fn focus_rows_of_a_one_pass_audit_follow_the_spec_and_sum_to_the_costs() {
    let dir = tempfile::tempdir().unwrap();
    let (rows, header) = audit_focus(dir.path(), &[]);
    check_rows(&rows, &header);
    let report = serde_json::from_slice::<serde_json::Value>(
        &run(&[
            "audit",
            "fixtures/corpus",
            "-q",
            "-m",
            "gpt-5.4-mini,claude-sonnet-4-6",
            "--json",
            "-",
        ])
        .stdout,
    )
    .unwrap();
    for cost in report["costs"].as_array().unwrap() {
        let model = cost["model"].as_str().unwrap();
        let mine: Vec<_> = rows.iter().filter(|r| r["ServiceName"] == model).collect();
        assert!(!mine.is_empty(), "{model}");
        let tokens: Decimal = mine.iter().map(|r| dec(r, "ConsumedQuantity")).sum();
        assert_eq!(
            tokens,
            Decimal::from(cost["input_tokens"].as_u64().unwrap())
        );
        let sum: Decimal = mine.iter().map(|r| dec(r, "ListCost")).sum();
        let expected = Decimal::from_str(cost["input_cost_usd"].as_str().unwrap()).unwrap();
        assert_eq!(sum, expected, "{model}: rows add up to the one-pass cost");
        for r in &mine {
            // One day, the day of the audit; no scenario.
            assert_eq!(r["x_Scenario"], "");
            assert_eq!(r["SkuMeter"], "Input Tokens");
            assert_eq!(
                r["x_Estimate"],
                cost["estimate"].as_bool().unwrap().to_string()
            );
        }
    }
    // One row per (model, category) with tokens.
    let categories = report["by_category"].as_object().unwrap().len();
    assert_eq!(rows.len(), 2 * categories);
}

#[test]
fn focus_rows_of_a_scenario_cover_each_phase_month_by_meter() {
    let dir = tempfile::tempdir().unwrap();
    let (rows, header) = audit_focus(dir.path(), &["--scenario", "fixtures/scenario.toml"]);
    check_rows(&rows, &header);
    let meters: std::collections::BTreeSet<&str> =
        rows.iter().map(|r| r["SkuMeter"].as_str()).collect();
    assert!(meters.contains("Output Tokens") && meters.contains("Cached Input Tokens"));
    let monthly: Vec<_> = rows
        .iter()
        .filter(|r| !r["x_Scenario"].is_empty())
        .collect();
    assert!(!monthly.is_empty());
    for r in monthly {
        // A month: the charge period is the billing period.
        assert_eq!(r["ChargePeriodStart"], r["BillingPeriodStart"]);
        assert_eq!(r["ChargePeriodEnd"], r["BillingPeriodEnd"]);
        assert!(r["ChargePeriodStart"].ends_with("-01T00:00:00Z"));
        let tags: serde_json::Value = serde_json::from_str(&r["Tags"]).unwrap();
        assert!(tags["phase"].is_string() && tags["workload"].is_string());
    }
}

/// FinOps tools are often Python: the file must load with the standard
/// csv module, every mandatory column filled. CI has CPython 3.11; a
/// machine without python3 fails this test rather than skip it silently.
#[test]
fn focus_csv_loads_with_pythons_csv_module() {
    let dir = tempfile::tempdir().unwrap();
    let (rows, _) = audit_focus(dir.path(), &["--scenario", "fixtures/scenario.toml"]);
    let script = format!(
        r#"
import csv, json, sys
from decimal import Decimal
required = {required}
with open(sys.argv[1], newline="", encoding="utf-8") as f:
    rows = list(csv.DictReader(f))
for i, row in enumerate(rows):
    for k in required:
        assert row[k] != "", (i, k)
    assert Decimal(row["ListUnitPrice"]) * Decimal(row["PricingQuantity"]) == Decimal(row["ListCost"]), i
    json.loads(row["Tags"]); json.loads(row["SkuPriceDetails"])
print(len(rows))
"#,
        required = serde_json::to_string(NOT_NULL).unwrap()
    );
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(&script)
        .arg(dir.path().join("focus.csv"))
        .output()
        .expect("python3 runs (CI has CPython 3.11): this test needs it");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        rows.len().to_string()
    );
}
