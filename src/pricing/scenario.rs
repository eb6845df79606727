/*!
Scenarios: what the measured corpus will cost per month once it is a
workload, phase by phase (development, testing, production): a token story
with the budget and the value hypothesis the user wrote down.

A scenario file (`--scenario FILE`, TOML) lists workloads: which corpus
category they read, how many documents or requests a month, model calls per
document, output per call, cache-hit rate, batch share and model. Phases scale
the volumes. The projection takes the *measured* document size of that
category (mean, p50, p90 for the model's tokenizer) from the audit, so the
story rests on counts, not on a guessed "tokens per page".

Per call, input = document size × `input_fraction` + `extra_input_tokens_per_call`
(or a fixed `input_tokens_per_request`); output = `output_tokens_per_call` or
`output_ratio` × input. The long-context tier is chosen per call from its
input size. The cached share of input is billed at the cached-read price, the
batch share of calls at batch prices; a cached token inside a batch call is
billed at the batch cached price, or at the batch input price when the
provider quotes none (the conservative choice). Cache writes are not modelled.

Costs are exact until the end, then rounded to micro-dollars (6 decimals),
because a mean document size is a quotient; tokens per month are rounded to
whole tokens.
*/

use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Deserializer, Serialize};

use super::catalog::{Catalog, ModelPrice};
use super::{parse_toml, per_million, read_file, PricingError};

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
}

// ---------------------------------------------------------------- scenario

/// A validated scenario file.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Scenario {
    pub path: String,
    pub name: String,
    pub budget_usd_per_month: Option<Decimal>,
    pub value_hypothesis: Option<String>,
    pub workloads: Vec<Workload>,
    pub phases: Vec<Phase>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Workload {
    pub name: String,
    pub model: String,
    /// `None`: the whole corpus (or a fixed request size).
    pub category: Option<String>,
    pub unit: Unit,
    pub per_month: u64,
    pub calls_per_unit: Decimal,
    pub input: InputSize,
    pub output: OutputSize,
    pub cache_hit_rate: Decimal,
    pub batch_share: Decimal,
    #[serde(skip)]
    line: Option<usize>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    Documents,
    Requests,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InputSize {
    /// The category's measured document size × `fraction` + `extra` per call.
    Measured { fraction: Decimal, extra: u64 },
    /// A fixed number of input tokens per request.
    Fixed(u64),
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputSize {
    Tokens(u64),
    /// A share of the call's input tokens.
    Ratio(Decimal),
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Phase {
    pub name: String,
    /// Scales every workload's volume…
    pub multiplier: Decimal,
    /// …except those given here as absolute units per month.
    pub volumes: BTreeMap<String, u64>,
    pub budget_usd_per_month: Option<Decimal>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScenarioFile {
    name: Option<String>,
    #[serde(default, deserialize_with = "decimal")]
    budget_usd_per_month: Option<Decimal>,
    value_hypothesis: Option<String>,
    workload: Vec<WorkloadFile>,
    #[serde(default)]
    phase: Vec<PhaseFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WorkloadFile {
    name: String,
    model: String,
    category: Option<String>,
    documents_per_month: Option<u64>,
    requests_per_month: Option<u64>,
    #[serde(default, deserialize_with = "decimal")]
    calls_per_document: Option<Decimal>,
    #[serde(default, deserialize_with = "decimal")]
    input_fraction: Option<Decimal>,
    extra_input_tokens_per_call: Option<u64>,
    input_tokens_per_request: Option<u64>,
    output_tokens_per_call: Option<u64>,
    #[serde(default, deserialize_with = "decimal")]
    output_ratio: Option<Decimal>,
    #[serde(default, deserialize_with = "decimal")]
    cache_hit_rate: Option<Decimal>,
    #[serde(default, deserialize_with = "decimal")]
    batch_share: Option<Decimal>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PhaseFile {
    name: String,
    #[serde(default, deserialize_with = "decimal")]
    multiplier: Option<Decimal>,
    #[serde(default)]
    volumes: BTreeMap<String, u64>,
    #[serde(default, deserialize_with = "decimal")]
    budget_usd_per_month: Option<Decimal>,
}

/// A non-negative decimal written as a number or a decimal string.
fn decimal<'de, D: Deserializer<'de>>(de: D) -> Result<Option<Decimal>, D::Error> {
    struct V;
    impl serde::de::Visitor<'_> for V {
        type Value = Decimal;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a non-negative number")
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Decimal, E> {
            Decimal::from_str(v.trim()).map_err(|_| E::custom(format!("`{v}` is not a number")))
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Decimal, E> {
            Ok(Decimal::from(v))
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Decimal, E> {
            Ok(Decimal::from(v))
        }
        fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Decimal, E> {
            Decimal::from_str(&v.to_string())
                .map_err(|_| E::custom(format!("{v} is not a finite number")))
        }
    }
    let v = de.deserialize_any(V)?;
    if v.is_sign_negative() && !v.is_zero() {
        return Err(serde::de::Error::custom(format!(
            "must not be negative ({v})"
        )));
    }
    Ok(Some(v.normalize()))
}

/// The line of `field` inside the `index`-th `[[header]]` table, or of the
/// header itself. toml's spans locate syntax and type errors; this locates
/// the checks made after parsing (a rate above 1, two volumes).
fn table_line(text: &str, header: &str, index: usize, field: Option<&str>) -> Option<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.trim_start().starts_with(header))
        .nth(index)
        .map(|(n, _)| n)?;
    if let Some(field) = field {
        for (n, line) in lines.iter().enumerate().skip(start + 1) {
            let t = line.trim_start();
            if t.starts_with('[') {
                break;
            }
            if let Some((key, _)) = t.split_once('=') {
                if key.trim().trim_matches('"') == field {
                    return Some(n + 1);
                }
            }
        }
    }
    Some(start + 1)
}

impl Scenario {
    pub fn load(path: impl AsRef<Path>) -> Result<Scenario, PricingError> {
        let path = path.as_ref();
        Scenario::from_toml_str(&path.display().to_string(), &read_file(path)?)
    }

    /// Parses and checks a scenario; `path` is used in error messages.
    pub fn from_toml_str(path: &str, text: &str) -> Result<Scenario, PricingError> {
        let file: ScenarioFile = parse_toml(path, text)?;
        let one = Decimal::ONE;
        let mut workloads = Vec::new();
        for (i, w) in file.workload.into_iter().enumerate() {
            let err = |field: &str, message: String| {
                PricingError::field(
                    path,
                    table_line(text, "[[workload]]", i, Some(field)),
                    format!("workload[{i}].{field}"),
                    message,
                )
            };
            if workloads.iter().any(|x: &Workload| x.name == w.name) {
                return Err(err(
                    "name",
                    format!("workload `{}` is defined twice", w.name),
                ));
            }
            let (unit, per_month) = match (w.documents_per_month, w.requests_per_month) {
                (Some(n), None) => (Unit::Documents, n),
                (None, Some(n)) => (Unit::Requests, n),
                (Some(_), Some(_)) => {
                    return Err(err(
                        "requests_per_month",
                        "give documents_per_month or requests_per_month, not both".into(),
                    ))
                }
                (None, None) => {
                    return Err(err(
                        "documents_per_month",
                        "missing: give documents_per_month or requests_per_month".into(),
                    ))
                }
            };
            let input = match w.input_tokens_per_request {
                Some(n) => {
                    if w.category.is_some() || w.input_fraction.is_some() {
                        return Err(err(
                            "input_tokens_per_request",
                            "a fixed request size replaces the measured category size: drop `category`/`input_fraction` or this field".into(),
                        ));
                    }
                    InputSize::Fixed(n + w.extra_input_tokens_per_call.unwrap_or(0))
                }
                None => InputSize::Measured {
                    fraction: w.input_fraction.unwrap_or(one),
                    extra: w.extra_input_tokens_per_call.unwrap_or(0),
                },
            };
            let output = match (w.output_tokens_per_call, w.output_ratio) {
                (Some(n), None) => OutputSize::Tokens(n),
                (None, Some(r)) => OutputSize::Ratio(r),
                (Some(_), Some(_)) => {
                    return Err(err(
                        "output_ratio",
                        "give output_tokens_per_call or output_ratio, not both".into(),
                    ))
                }
                (None, None) => {
                    return Err(err(
                        "output_tokens_per_call",
                        "missing: give output_tokens_per_call or output_ratio".into(),
                    ))
                }
            };
            for (field, v) in [
                ("cache_hit_rate", w.cache_hit_rate),
                ("batch_share", w.batch_share),
            ] {
                if v.is_some_and(|v| v > one) {
                    return Err(err(
                        field,
                        format!("must be between 0 and 1, got {}", v.unwrap()),
                    ));
                }
            }
            workloads.push(Workload {
                name: w.name,
                model: w.model,
                category: w.category.filter(|c| c != "*" && c != "all"),
                unit,
                per_month,
                calls_per_unit: w.calls_per_document.unwrap_or(one),
                input,
                output,
                cache_hit_rate: w.cache_hit_rate.unwrap_or_default(),
                batch_share: w.batch_share.unwrap_or_default(),
                line: table_line(text, "[[workload]]", i, Some("model")),
            });
        }
        if workloads.is_empty() {
            return Err(PricingError::field(
                path,
                None,
                "workload",
                "at least one [[workload]] is required",
            ));
        }
        let mut phases = Vec::new();
        for (i, p) in file.phase.into_iter().enumerate() {
            for name in p.volumes.keys() {
                if !workloads.iter().any(|w| &w.name == name) {
                    return Err(PricingError::field(
                        path,
                        table_line(text, "[[phase]]", i, Some("volumes")),
                        format!("phase[{i}].volumes.{name}"),
                        format!("no workload is named `{name}`"),
                    ));
                }
            }
            phases.push(Phase {
                name: p.name,
                multiplier: p.multiplier.unwrap_or(one),
                volumes: p.volumes,
                budget_usd_per_month: p.budget_usd_per_month,
            });
        }
        if phases.is_empty() {
            phases.push(Phase {
                name: "production".into(),
                multiplier: one,
                volumes: BTreeMap::new(),
                budget_usd_per_month: None,
            });
        }
        Ok(Scenario {
            path: path.to_string(),
            name: file.name.unwrap_or_else(|| path.to_string()),
            budget_usd_per_month: file.budget_usd_per_month,
            value_hypothesis: file.value_hypothesis,
            workloads,
            phases,
        })
    }
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
                let mean = Decimal::from(stats.total) / Decimal::from(profile.documents);
                let extra = Decimal::from(*extra);
                let size = |x: Decimal| x * fraction + extra;
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
