/*!
Charges: the costs of a report cut into priced lines, one per (model,
category, meter, rate), each with its token quantity, its unit price and
its cost = quantity × price, exact.

This is what a billing export needs (the FOCUS CSV renders these lines) and
what the other renderers never have to recompute: a line's cost is the
product of two numbers on the line.

- Without a scenario, the lines are the one-pass input cost of the corpus
  ([`super::ModelCost`]): per model, one `Input Tokens` line per category at
  the base price, so they add up to the model's `input_cost_usd` exactly.
  When long-context tiers applied (documents over a tier's threshold are
  billed at its rate in full), the tally knows the tokens above each
  threshold for the whole corpus only, not per category: such a model gets
  one line per price band over the whole corpus (category `*`) instead.
- With a scenario, the lines are each phase's month: per workload, its
  input (uncached), cached input and output tokens per month, split into
  the standard and batch shares at their own rates, and at the long-context
  tier the mean call falls in, as [`super::project`] priced them. These
  lines price whole tokens (the projection's token figures, rounded), while
  the projection prices the exact mean: their sum differs from the phase's
  cost by at most a few micro-dollars per line (tested).

Cache writes are not modelled by the projection, so no `Cache Write Tokens`
line is written.
*/

use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;

use super::catalog::{ModelPrice, Prices};
use super::cost::ModelCost;
use super::projection::Projection;
use super::scenario::Scenario;
use super::{token_cost, Catalog};

/// What is metered: the FOCUS `SkuMeter` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Meter {
    #[serde(rename = "Input Tokens")]
    Input,
    #[serde(rename = "Output Tokens")]
    Output,
    #[serde(rename = "Cached Input Tokens")]
    CachedInput,
    #[serde(rename = "Cache Write Tokens")]
    CacheWrite,
}

impl Meter {
    pub fn name(self) -> &'static str {
        match self {
            Meter::Input => "Input Tokens",
            Meter::Output => "Output Tokens",
            Meter::CachedInput => "Cached Input Tokens",
            Meter::CacheWrite => "Cache Write Tokens",
        }
    }

    /// A short key for ids: `input`, `output`, `cached-input`, `cache-write`.
    pub fn key(self) -> &'static str {
        match self {
            Meter::Input => "input",
            Meter::Output => "output",
            Meter::CachedInput => "cached-input",
            Meter::CacheWrite => "cache-write",
        }
    }
}

/// One priced line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Charge {
    /// The scenario phase, or `None` for the one-pass cost of the corpus.
    pub phase: Option<String>,
    /// The scenario workload, or `None` for the one-pass cost.
    pub workload: Option<String>,
    pub model: String,
    pub provider: String,
    pub host: Option<String>,
    pub tokenizer: String,
    /// The count comes from a proxy tokenizer.
    pub estimate: bool,
    /// The corpus category the tokens come from; `*` for the whole corpus,
    /// `fixed` for a workload of fixed request size.
    pub category: String,
    pub meter: Meter,
    /// Which price: `standard`, `batch`, or `above N` (a long-context tier)
    /// with ` batch` appended for the batch share of a tier.
    pub rate: String,
    pub tokens: u64,
    pub usd_per_mtok: Decimal,
    /// `tokens × usd_per_mtok / 1,000,000`, exact.
    pub cost_usd: Decimal,
    /// For a calibrated estimate (see [`super::band`]): the line's cost at
    /// the low and high ends of the model's band, its tokens scaled as the
    /// whole estimate's are. `None` for exact counts and projections.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_usd_band: Option<(Decimal, Decimal)>,
}

/// Gives each projected line of a banded model (`banded`) the cost of the
/// same line (phase, workload, category, meter, rate) in the projections at
/// the low and high ends of its band; a line with no match at an end (a
/// long-context tier crossed only there) gets none.
pub fn with_projected_band(
    lines: &mut [Charge],
    low: &[Charge],
    high: &[Charge],
    banded: impl Fn(&str) -> bool,
) {
    let key = |c: &Charge| {
        (
            c.phase.clone(),
            c.workload.clone(),
            c.model.clone(),
            c.category.clone(),
            c.meter,
            c.rate.clone(),
        )
    };
    let find = |set: &[Charge], l: &Charge| {
        let k = key(l);
        set.iter().find(|c| key(c) == k).map(|c| c.cost_usd)
    };
    for l in lines.iter_mut().filter(|l| banded(&l.model)) {
        if let (Some(lo), Some(hi)) = (find(low, l), find(high, l)) {
            l.cost_usd_band = Some((lo, hi));
        }
    }
}

/// Gives each line of `lines` the cost at the ends of `band`: its tokens
/// times each end's ratio to the central tokens, at the line's price.
pub fn with_band(lines: &mut [Charge], band: &super::band::Band<u64>) {
    if band.estimate == 0 {
        return;
    }
    let central = Decimal::from(band.estimate);
    let end = |tokens: u64, at: u64, price: Decimal| {
        let t = (Decimal::from(tokens) * Decimal::from(at) / central)
            .round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero);
        token_cost(t, price)
    };
    for l in lines {
        l.cost_usd_band = Some((
            end(l.tokens, band.estimate_low, l.usd_per_mtok),
            end(l.tokens, band.estimate_high, l.usd_per_mtok),
        ));
    }
}

fn line(
    model: &ModelPrice,
    scope: (Option<&str>, Option<&str>),
    category: &str,
    meter: Meter,
    rate: String,
    tokens: u64,
    usd_per_mtok: Decimal,
) -> Charge {
    Charge {
        phase: scope.0.map(str::to_string),
        workload: scope.1.map(str::to_string),
        model: model.id.clone(),
        provider: model.provider.clone(),
        host: model.host.clone(),
        tokenizer: model.tokenizer.clone(),
        estimate: model.estimate,
        category: category.to_string(),
        meter,
        rate,
        tokens,
        usd_per_mtok,
        cost_usd: token_cost(Decimal::from(tokens), usd_per_mtok),
        cost_usd_band: None,
    }
}

/// The one-pass lines of one model: `categories` are (category, tokens of
/// the model's tokenizer), summing to `cost.input_tokens`.
pub fn corpus_charges(
    model: &ModelPrice,
    cost: &ModelCost,
    categories: &[(String, u64)],
) -> Vec<Charge> {
    let scope = (None, None);
    if cost.long_context.is_empty() {
        return categories
            .iter()
            .filter(|(_, tokens)| *tokens > 0)
            .map(|(c, tokens)| {
                line(
                    model,
                    scope,
                    c,
                    Meter::Input,
                    "standard".into(),
                    *tokens,
                    cost.input_usd_per_mtok,
                )
            })
            .collect();
    }
    let tiered: u64 = cost.long_context.iter().map(|t| t.tokens).sum();
    let mut lines = vec![line(
        model,
        scope,
        "*",
        Meter::Input,
        "standard".into(),
        cost.input_tokens - tiered,
        cost.input_usd_per_mtok,
    )];
    for t in &cost.long_context {
        lines.push(line(
            model,
            scope,
            "*",
            Meter::Input,
            format!("above {}", t.above_input_tokens),
            t.tokens,
            t.input_usd_per_mtok,
        ));
    }
    lines.retain(|l| l.tokens > 0);
    lines
}

fn share(tokens: u64, fraction: Decimal) -> u64 {
    use rust_decimal::prelude::ToPrimitive;
    (Decimal::from(tokens) * fraction)
        .round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero)
        .to_u64()
        .unwrap_or(0)
        .min(tokens)
}

/// The lines of every phase of a projection.
pub fn projection_charges(
    projection: &Projection,
    scenario: &Scenario,
    catalog: &Catalog,
) -> Vec<Charge> {
    let mut lines = Vec::new();
    for phase in &projection.phases {
        for wp in &phase.workloads {
            let (Some(w), Ok(model)) = (
                scenario.workloads.iter().find(|w| w.name == wp.workload),
                catalog.model(&wp.model),
            ) else {
                continue;
            };
            let tier = wp
                .long_context_tier
                .and_then(|above| model.tiers.iter().find(|t| t.above_input_tokens == above));
            let p: &Prices = tier.map(|t| &t.prices).unwrap_or(&model.prices);
            let band = tier.map(|t| format!("above {}", t.above_input_tokens));
            let scope = (Some(phase.phase.as_str()), Some(wp.workload.as_str()));
            let cached = wp.cached_input_tokens_per_month;
            let quantities = [
                (Meter::Input, wp.input_tokens_per_month - cached),
                (Meter::CachedInput, cached),
                (Meter::Output, wp.output_tokens_per_month),
            ];
            let out = p.output.unwrap_or_default();
            let standard = |m: Meter| match m {
                Meter::Input => p.input,
                Meter::CachedInput => p.cached_input.unwrap_or(p.input),
                _ => out,
            };
            let batch_share = match p.batch_input {
                Some(_) => w.batch_share,
                None => Decimal::ZERO,
            };
            for (meter, tokens) in quantities {
                let batched = share(tokens, batch_share);
                let rate = |kind: &str| match &band {
                    Some(b) if kind == "batch" => format!("{b} batch"),
                    Some(b) => b.clone(),
                    None => kind.to_string(),
                };
                lines.push(line(
                    model,
                    scope,
                    &wp.category,
                    meter,
                    rate("standard"),
                    tokens - batched,
                    standard(meter),
                ));
                if let Some(bi) = p.batch_input {
                    let price = match meter {
                        Meter::Input => bi,
                        Meter::CachedInput => p.batch_cached_input.unwrap_or(bi),
                        _ => p.batch_output.unwrap_or(out),
                    };
                    lines.push(line(
                        model,
                        scope,
                        &wp.category,
                        meter,
                        rate("batch"),
                        batched,
                        price,
                    ));
                }
            }
        }
    }
    lines.retain(|l| l.tokens > 0);
    lines
}
