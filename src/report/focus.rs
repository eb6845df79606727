/*!
`--focus FILE`: the audit's costs as a FOCUS 1.2 CSV (the FinOps Open Cost and
Usage Specification), so FinOps tools load them beside their cloud bills.

One row per priced line of the report ([`Charge`]: model, category, meter,
rate). The rules followed are those of the specification's column files
(one Markdown file per column under `specification/columns` at tag v1.2
of the FOCUS_Spec repository):

- every Mandatory column is present, and non-null where its "Allows nulls"
  is False (BilledCost, BillingAccountId, BillingCurrency, BillingPeriodStart
  and End, ChargeCategory, ChargePeriodStart and End, ContractedCost,
  EffectiveCost, InvoiceIssuerName, ListCost, ProviderName, PublisherName,
  ServiceCategory, ServiceName); ChargeClass is null, as it "MUST be null when
  the row does not represent a correction"; a null is an empty field
  (NullHandling: no placeholder values);
- ChargeCategory `Usage`, ChargeFrequency `Usage-Based`, ServiceCategory
  `AI and Machine Learning` with ServiceSubcategory `Generative AI` (its
  allowed values);
- PricingUnit `1000000 Tokens`: the catalog quotes USD per million tokens,
  and UnitFormat allows "<quantity> <plural-units>" with a whole-number
  quantity ("1000 Tokens" is its own example); PricingQuantity = tokens /
  1,000,000, and "the product of ListUnitPrice and PricingQuantity MUST match
  the ListCost": both are exact decimals here, and so is the product;
- ConsumedQuantity is the tokens themselves, ConsumedUnit `Tokens`;
- date/times are UTC `YYYY-MM-DDTHH:mm:ssZ` (DateTimeFormat); a charge period
  is an inclusive start and an exclusive end: the audit's day for the cost of
  sending the corpus once, the month of the audit for a scenario's projection;
  the billing period is that month;
- numbers are plain decimals (NumericFormat: no exponent, no separators);
- SkuPriceDetails and Tags are JSON objects (KeyValueFormat), the price
  details' keys prefixed `x_` as the spec requires for keys it does not define.

This is a projection, not an invoice: BilledCost is 0 and EffectiveCost,
ListCost and ContractedCost are the projected cost at catalog prices (the
user's price file, if given, being the contract). The FOCUS 1.3 names
ServiceProviderName and HostProviderName are written beside the 1.2
ProviderName so tools of either generation read the file; custom columns
(`x_Estimate`, `x_EstimateLow`, `x_EstimateHigh`, `x_Tokenizer`, `x_Source`,
`x_Scenario`) come after all FOCUS columns, as ColumnHandling asks. A
calibrated estimate's costs are its central value; `x_EstimateLow` and
`x_EstimateHigh` give the line's cost (USD) at the ends of its band (for a
scenario's line, the same line of the projection at each end), null for
exact counts.
*/

use rust_decimal::Decimal;
use serde_json::json;

use super::Report;
use crate::pricing::Charge;

/// The header, in order: FOCUS 1.2 columns (alphabetical, as the spec lists
/// them), the 1.3 provider names, then the custom `x_` columns.
pub const COLUMNS: &[&str] = &[
    "BilledCost",
    "BillingAccountId",
    "BillingAccountName",
    "BillingCurrency",
    "BillingPeriodEnd",
    "BillingPeriodStart",
    "ChargeCategory",
    "ChargeClass",
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
    "x_EstimateLow",
    "x_EstimateHigh",
    "x_Tokenizer",
    "x_Source",
    "x_Scenario",
];

/// Prices are quoted per this many tokens.
pub const PRICING_UNIT: &str = "1000000 Tokens";

/// Why a FOCUS file could not be written.
#[derive(Debug, thiserror::Error)]
pub enum FocusError {
    #[error("the report has no start time to date the charges: {0}")]
    Date(String),
    #[error(transparent)]
    Csv(#[from] csv::Error),
}

/// A period `[start, end)` as FOCUS date/times.
struct Period {
    start: String,
    end: String,
}

fn stamp(d: jiff::civil::Date) -> String {
    format!("{d}T00:00:00Z")
}

/// The audit's day and month, in UTC.
fn periods(started_utc: &str) -> Result<(Period, Period), FocusError> {
    let at: jiff::Timestamp = started_utc
        .parse()
        .map_err(|e: jiff::Error| FocusError::Date(format!("{started_utc:?}: {e}")))?;
    let day = at.to_zoned(jiff::tz::TimeZone::UTC).date();
    let next_day = day
        .tomorrow()
        .map_err(|e| FocusError::Date(e.to_string()))?;
    let month = day.first_of_month();
    let next_month = day
        .last_of_month()
        .tomorrow()
        .map_err(|e| FocusError::Date(e.to_string()))?;
    Ok((
        Period {
            start: stamp(day),
            end: stamp(next_day),
        },
        Period {
            start: stamp(month),
            end: stamp(next_month),
        },
    ))
}

fn decimal(d: Decimal) -> String {
    d.normalize().to_string()
}

pub fn render(report: &Report) -> Result<String, FocusError> {
    let (day, month) = periods(&report.run.started_utc)?;
    let scenario = report.projection.as_ref().map(|p| p.scenario.as_str());
    let price_source = report
        .provenance
        .prices
        .as_ref()
        .map(|p| (p.source.as_str(), p.as_of.as_str()));
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(COLUMNS)?;
    for c in &report.charges {
        w.write_record(row(c, &day, &month, scenario, price_source))?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| csv::Error::from(e.into_error()))?;
    Ok(String::from_utf8(bytes).expect("the CSV is written from strings"))
}

fn row(
    c: &Charge,
    day: &Period,
    month: &Period,
    scenario: Option<&str>,
    price_source: Option<(&str, &str)>,
) -> Vec<String> {
    let period = if c.phase.is_some() { month } else { day };
    let quantity = Decimal::from(c.tokens) / Decimal::from(1_000_000u64);
    let cost = decimal(c.cost_usd);
    let price = decimal(c.usd_per_mtok);
    // The provider the model is bought from: the host for models served by
    // another company (Llama through a cloud), else the model's maker.
    let seller = c.host.clone().unwrap_or_else(|| c.provider.clone());
    let sku = format!("{}/{}/{}", c.provider, c.model, c.meter.key());
    let what = match (&c.phase, &c.workload) {
        (Some(phase), Some(workload)) => format!("{workload}, {phase} phase, one month"),
        _ => "one pass of the audited corpus".to_string(),
    };
    let mut tags = json!({ "category": c.category });
    if let Some(p) = &c.phase {
        tags["phase"] = json!(p);
    }
    if let Some(wl) = &c.workload {
        tags["workload"] = json!(wl);
    }
    let mut details = json!({
        "x_Rate": c.rate,
        "x_UsdPerMillionTokens": price,
    });
    if let Some((source, as_of)) = price_source {
        details["x_PriceSource"] = json!(source);
        details["x_PriceAsOf"] = json!(as_of);
    }
    let (low, high) = match c.cost_usd_band {
        Some((l, h)) => (decimal(l), decimal(h)),
        None => (String::new(), String::new()),
    };
    let fields: [(&str, String); 41] = [
        ("BilledCost", "0".into()),
        ("BillingAccountId", "tokenaudit-projection".into()),
        (
            "BillingAccountName",
            "tokenaudit projection (not an invoice)".into(),
        ),
        ("BillingCurrency", "USD".into()),
        ("BillingPeriodEnd", month.end.clone()),
        ("BillingPeriodStart", month.start.clone()),
        ("ChargeCategory", "Usage".into()),
        ("ChargeClass", String::new()),
        (
            "ChargeDescription",
            format!(
                "{} {} at the {} rate, category {}: {}{}",
                c.model,
                c.meter.name(),
                c.rate,
                c.category,
                what,
                if c.estimate {
                    " (estimate: proxy tokenizer)"
                } else {
                    ""
                }
            ),
        ),
        ("ChargeFrequency", "Usage-Based".into()),
        ("ChargePeriodEnd", period.end.clone()),
        ("ChargePeriodStart", period.start.clone()),
        ("ConsumedQuantity", c.tokens.to_string()),
        ("ConsumedUnit", "Tokens".into()),
        ("ContractedCost", cost.clone()),
        ("ContractedUnitPrice", price.clone()),
        ("EffectiveCost", cost.clone()),
        ("InvoiceIssuerName", seller.clone()),
        ("ListCost", cost),
        ("ListUnitPrice", price),
        ("PricingCategory", "Standard".into()),
        ("PricingQuantity", decimal(quantity)),
        ("PricingUnit", PRICING_UNIT.into()),
        ("ProviderName", seller.clone()),
        ("PublisherName", c.provider.clone()),
        ("ServiceCategory", "AI and Machine Learning".into()),
        ("ServiceName", c.model.clone()),
        ("ServiceSubcategory", "Generative AI".into()),
        ("SkuId", sku.clone()),
        ("SkuMeter", c.meter.name().into()),
        ("SkuPriceDetails", details.to_string()),
        ("SkuPriceId", format!("{sku}/{}", c.rate.replace(' ', "-"))),
        ("Tags", tags.to_string()),
        ("ServiceProviderName", seller.clone()),
        ("HostProviderName", seller),
        ("x_Estimate", c.estimate.to_string()),
        ("x_EstimateLow", low),
        ("x_EstimateHigh", high),
        ("x_Tokenizer", c.tokenizer.clone()),
        ("x_Source", "tokenaudit".into()),
        (
            "x_Scenario",
            match c.phase {
                Some(_) => scenario.unwrap_or_default().to_string(),
                None => String::new(),
            },
        ),
    ];
    debug_assert!(fields.iter().zip(COLUMNS).all(|((k, _), c)| k == c));
    fields.into_iter().map(|(_, v)| v).collect()
}
