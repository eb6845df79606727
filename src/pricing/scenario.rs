/*!
Scenarios: the workloads a measured corpus will become, read from
`--scenario FILE` (TOML).

A scenario lists workloads (which corpus category they read, documents or
requests a month, model calls per document, output per call, cache-hit rate,
batch share, model), phases that scale their volumes (development, testing,
production; a multiplier, or absolute volumes per workload), a monthly budget
and a value hypothesis in the user's words. This module reads and checks the
file, naming the file, line and field of any mistake; what it costs is
[`super::projection`]'s job.

Per call, input = document size × `input_fraction` + `extra_input_tokens_per_call`,
or a fixed `input_tokens_per_request` (then no category);
output = `output_tokens_per_call` or `output_ratio` × input.
*/

use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize};

use super::{parse_toml, read_file, PricingError};

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
    pub(crate) line: Option<usize>,
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
