/*!
Projection: a scenario's monthly tokens and cost per workload and phase, from
the *measured* document sizes of the audited corpus: a token story with the
budget and value hypothesis the user wrote down, for the report's
`projection` section.

Sizes come from the audit ([`CorpusProfile`]: per category, the documents
and, per tokenizer, total, p50 and p90 tokens), so the story rests on counts,
not on a guessed "tokens per page". The mean gives the projection; p50 and p90
give the range (the month as if every document were that size).

The long-context tier is chosen per call from its input size. The cached share
of input is billed at the cached-read price, the batch share of calls at batch
prices; a cached token inside a batch call is billed at the batch cached price,
or at the batch input price when the provider quotes none (the conservative
choice). Cache writes are not modelled.

Costs stay exact until the end, then are rounded to micro-dollars (6
decimals), because a mean document size is a quotient; tokens per month are
rounded to whole tokens.
*/

use std::collections::BTreeMap;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use super::catalog::{Catalog, ModelPrice};
use super::scenario::{InputSize, OutputSize, Scenario, Unit, Workload};
use super::{per_million, PricingError};

// ---------------------------------------------------------------- input
/// One category's measured sizes: what the tally knows.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoryProfile {
    pub documents: u64,
    /// Per tokenizer name.
    pub tokens: BTreeMap<String, SizeStats>,
}

/// Token counts of one category for one tokenizer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SizeStats {
    /// Sum over the category's documents (the mean is `total / documents`).
    pub total: u64,
    pub p50: u64,
    pub p90: u64,
}

/// The measured corpus, as the projection needs it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CorpusProfile {
    /// The whole corpus (for workloads with no category).
    pub all: CategoryProfile,
    pub categories: BTreeMap<String, CategoryProfile>,
    /// Per closed model with a calibration family: its calibrated tokens
    /// over its proxy's on this corpus (the whole corpus's class mix).
    /// Measured request sizes are multiplied by it; fixed ones are taken to
    /// be in the model's own tokens already.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub corrections: BTreeMap<String, Decimal>,
}

// ---------------------------------------------------------------- output

/// Input tokens per call at the mean, median and 90th-percentile document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SizeRange {
    pub mean: Decimal,
    pub p50: Decimal,
    pub p90: Decimal,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WorkloadProjection {
    pub workload: String,
    pub model: String,
    pub provider: String,
    pub tokenizer: String,
    pub estimate: bool,
    /// The category measured, `*` for the whole corpus, `fixed` for a fixed
    /// request size.
    pub category: String,
    pub unit: Unit,
    pub units_per_month: u64,
    pub calls_per_month: Decimal,
    pub input_tokens_per_call: SizeRange,
    pub output_tokens_per_call: Decimal,
    pub input_tokens_per_month: u64,
    pub cached_input_tokens_per_month: u64,
    pub output_tokens_per_month: u64,
    pub cost_usd_per_month: Decimal,
    /// The same month if every document were the median / p90 size.
    pub cost_usd_per_month_p50: Decimal,
    pub cost_usd_per_month_p90: Decimal,
    /// The long-context threshold the mean call exceeds, if any.
    pub long_context_tier: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PhaseProjection {
    pub phase: String,
    /// The budget this phase is held to (its own, else the scenario's).
    pub budget_usd_per_month: Option<Decimal>,
    pub input_tokens_per_month: u64,
    pub output_tokens_per_month: u64,
    pub cost_usd_per_month: Decimal,
    pub cost_usd_per_month_p50: Decimal,
    pub cost_usd_per_month_p90: Decimal,
    pub within_budget: Option<bool>,
    pub workloads: Vec<WorkloadProjection>,
}

/// The report's `projection` section.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Projection {
    pub scenario: String,
    pub file: String,
    pub value_hypothesis: Option<String>,
    pub budget_usd_per_month: Option<Decimal>,
    pub phases: Vec<PhaseProjection>,
    /// Assumptions the numbers rest on (estimates, missing batch prices…).
    pub notes: Vec<String>,
}

fn round_usd(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(6, RoundingStrategy::MidpointAwayFromZero)
        .normalize()
}

fn round_tokens(d: Decimal) -> u64 {
    use rust_decimal::prelude::ToPrimitive;
    d.round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero)
        .to_u64()
        .unwrap_or(u64::MAX)
}

/// USD for one call of `input` and `output` tokens, exact.
fn call_cost(model: &ModelPrice, w: &Workload, input: Decimal, output: Decimal) -> Decimal {
    let p = model
        .tier_for_size(input)
        .map(|t| &t.prices)
        .unwrap_or(&model.prices);
    let one = Decimal::ONE;
    let h = w.cache_hit_rate;
    let out_rate = p.output.unwrap_or_default();
    let cached_rate = p.cached_input.unwrap_or(p.input);
    let standard = (one - h) * input * p.input + h * input * cached_rate + output * out_rate;
    let batch = match p.batch_input {
        Some(bi) => {
            (one - h) * input * bi
                + h * input * p.batch_cached_input.unwrap_or(bi)
                + output * p.batch_output.unwrap_or(out_rate)
        }
        None => standard,
    };
    ((one - w.batch_share) * standard + w.batch_share * batch) / per_million()
}

/// Projects `scenario` onto the measured `corpus` with `catalog`'s prices.
pub fn project(
    scenario: &Scenario,
    catalog: &Catalog,
    corpus: &CorpusProfile,
) -> Result<Projection, PricingError> {
    let mut notes = Vec::new();
    // Per workload: model, per-call sizes (mean, p50, p90) and output per call.
    struct Resolved<'a> {
        model: &'a ModelPrice,
        category: String,
        sizes: [Decimal; 3],
        outputs: [Decimal; 3],
    }
    let mut resolved = Vec::new();
    for w in &scenario.workloads {
        let err = |field: &str, message: String| {
            let index = scenario
                .workloads
                .iter()
                .position(|x| x.name == w.name)
                .unwrap_or(0);
            PricingError::field(
                &scenario.path,
                w.line,
                format!("workload[{index}].{field}"),
                message,
            )
        };
        let model = catalog
            .model(&w.model)
            .map_err(|e| err("model", e.to_string()))?;
        let (category, sizes) = match &w.input {
            InputSize::Fixed(n) => ("fixed".to_string(), [Decimal::from(*n); 3]),
            InputSize::Measured { fraction, extra } => {
                let (label, profile) =
                    match &w.category {
                        None => ("*".to_string(), &corpus.all),
                        Some(c) => {
                            (
                                c.clone(),
                                corpus.categories.get(c).ok_or_else(|| {
                                    let known: Vec<&str> =
                                        corpus.categories.keys().map(String::as_str).collect();
                                    err(
                                        "category",
                                        format!(
                                    "category `{c}` is not in the audited corpus (found: {})",
                                    if known.is_empty() { "none".into() } else { known.join(", ") }
                                ),
                                    )
                                })?,
                            )
                        }
                    };
                let stats = profile.tokens.get(&model.tokenizer).ok_or_else(|| {
                    err(
                        "model",
                        format!(
                            "`{}` is priced by tokenizer `{}`, which the audit did not count; add it with --tokenizer",
                            model.id, model.tokenizer
                        ),
                    )
                })?;
                if profile.documents == 0 {
                    return Err(err(
                        "category",
                        format!("category `{label}` has no counted documents"),
                    ));
                }
                let correction = corpus.corrections.get(&model.id).copied();
                if let Some(r) = correction {
                    notes.push(format!(
                        "{}: `{}`'s measured sizes are its {} counts × {} (the calibration table over this corpus's content classes)",
                        w.name,
                        model.id,
                        model.tokenizer,
                        r.round_dp(3).normalize()
                    ));
                }
                let correction = correction.unwrap_or(Decimal::ONE);
                let mean = Decimal::from(stats.total) / Decimal::from(profile.documents);
                let extra = Decimal::from(*extra);
                let size = |x: Decimal| x * correction * fraction + extra;
                (
                    label,
                    [
                        size(mean),
                        size(Decimal::from(stats.p50)),
                        size(Decimal::from(stats.p90)),
                    ],
                )
            }
        };
        let outputs = sizes.map(|s| match &w.output {
            OutputSize::Tokens(n) => Decimal::from(*n),
            OutputSize::Ratio(r) => s * r,
        });
        if model.estimate {
            notes.push(format!(
                "{}: `{}` is an estimate: {}",
                w.name,
                model.id,
                model.tokenizer_note.as_deref().unwrap_or("proxy tokenizer")
            ));
        }
        if w.batch_share > Decimal::ZERO && model.prices.batch_input.is_none() {
            notes.push(format!(
                "{}: `{}` has no batch price; the batch share is priced at standard rates",
                w.name, model.id
            ));
        }
        if w.cache_hit_rate > Decimal::ZERO && model.prices.cached_input.is_none() {
            notes.push(format!(
                "{}: `{}` has no cached-input price; cache hits are priced as input",
                w.name, model.id
            ));
        }
        if let Some(max) = model.max_input_tokens {
            if sizes[2] > Decimal::from(max) {
                notes.push(format!(
                    "{}: the p90 call ({} tokens) exceeds `{}`'s {max}-token input window",
                    w.name,
                    round_tokens(sizes[2]),
                    model.id
                ));
            }
        }
        resolved.push(Resolved {
            model,
            category,
            sizes,
            outputs,
        });
    }

    let mut phases = Vec::new();
    for phase in &scenario.phases {
        let budget = phase.budget_usd_per_month.or(scenario.budget_usd_per_month);
        let mut workloads = Vec::new();
        for (w, r) in scenario.workloads.iter().zip(&resolved) {
            let units = match phase.volumes.get(&w.name) {
                Some(n) => *n,
                None => round_tokens(Decimal::from(w.per_month) * phase.multiplier),
            };
            let calls = Decimal::from(units) * w.calls_per_unit;
            let [mean, p50, p90] = r.sizes;
            let cost =
                |i: usize| round_usd(calls * call_cost(r.model, w, r.sizes[i], r.outputs[i]));
            workloads.push(WorkloadProjection {
                workload: w.name.clone(),
                model: r.model.id.clone(),
                provider: r.model.provider.clone(),
                tokenizer: r.model.tokenizer.clone(),
                estimate: r.model.estimate,
                category: r.category.clone(),
                unit: w.unit,
                units_per_month: units,
                calls_per_month: calls.normalize(),
                input_tokens_per_call: SizeRange {
                    mean: mean.round_dp(2).normalize(),
                    p50: p50.round_dp(2).normalize(),
                    p90: p90.round_dp(2).normalize(),
                },
                output_tokens_per_call: r.outputs[0].round_dp(2).normalize(),
                input_tokens_per_month: round_tokens(calls * mean),
                cached_input_tokens_per_month: round_tokens(calls * mean * w.cache_hit_rate),
                output_tokens_per_month: round_tokens(calls * r.outputs[0]),
                cost_usd_per_month: cost(0),
                cost_usd_per_month_p50: cost(1),
                cost_usd_per_month_p90: cost(2),
                long_context_tier: r.model.tier_for_size(mean).map(|t| t.above_input_tokens),
            });
        }
        let sum = |f: fn(&WorkloadProjection) -> Decimal| {
            workloads.iter().map(f).sum::<Decimal>().normalize()
        };
        let cost = sum(|w| w.cost_usd_per_month);
        phases.push(PhaseProjection {
            phase: phase.name.clone(),
            budget_usd_per_month: budget,
            input_tokens_per_month: workloads.iter().map(|w| w.input_tokens_per_month).sum(),
            output_tokens_per_month: workloads.iter().map(|w| w.output_tokens_per_month).sum(),
            cost_usd_per_month: cost,
            cost_usd_per_month_p50: sum(|w| w.cost_usd_per_month_p50),
            cost_usd_per_month_p90: sum(|w| w.cost_usd_per_month_p90),
            within_budget: budget.map(|b| cost <= b),
            workloads,
        });
    }
    notes.dedup();
    Ok(Projection {
        scenario: scenario.name.clone(),
        file: scenario.path.clone(),
        value_hypothesis: scenario.value_hypothesis.clone(),
        budget_usd_per_month: scenario.budget_usd_per_month,
        phases,
        notes,
    })
}
