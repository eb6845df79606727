/*!
The HTML page's model: the [`Report`] read into the rows, figures and charts
that `templates/report.html` lays out, each value already formatted for
reading. Each chart is built from the same rows as the table beside it.
*/

use std::collections::BTreeMap;

use askama::Template;
use serde_json::Value;

use super::charts::{self, Bar};
use crate::format::{format_usd, human_bytes, thousands};
use crate::report::view::{self, tokens_of};
use crate::report::Report;

/// Skipped files listed by name; the JSON and CSV list them all.
const SKIPPED_LISTED: usize = 200;
/// Documents named per model in the context-window section.
const OVERFLOWS_LISTED: usize = 20;
/// Categories shown as columns of the tokenizer comparison.
const COMPARED_CATEGORIES: usize = 8;
/// What other tokenizers are compared with, when it was counted.
const REFERENCE: &str = "o200k_base";

#[derive(Template)]
#[template(path = "report.html")]
pub struct Page {
    pub title: String,
    pub started: String,
    pub summary: Vec<(String, String)>,
    pub tokenizers: Vec<TokenizerRow>,
    pub tokenizers_chart: String,
    pub costs: Vec<CostRow>,
    pub costs_chart: String,
    pub any_estimate: bool,
    /// Some cost is a calibrated estimate with a band.
    pub any_band: bool,
    /// What `--count-api` sent, per provider: a summary line, the fitted
    /// multipliers, the warnings.
    pub count_api: Vec<CountApiView>,
    pub projection: Option<ProjectionView>,
    pub categories: Attribution,
    pub extensions: Attribution,
    /// Files read as each format, when any document was read: the
    /// header, then a row per format (see `view::formats`).
    pub formats: Option<(Vec<String>, Vec<Vec<String>>)>,
    pub formats_note: &'static str,
    pub folders: Attribution,
    /// Tokens by detected language (`--lang`): `files` are pieces of text.
    pub languages: Option<Attribution>,
    /// What detected them.
    pub languages_by: String,
    /// `--category` rules made the categories differ from the top folders.
    pub categories_are_folders: bool,
    pub distribution: Option<DistributionView>,
    pub largest: Vec<(String, String)>,
    pub overflows: Vec<OverflowRow>,
    pub overflows_chart: String,
    pub comparison: Option<Comparison>,
    pub transcripts: Option<TranscriptsView>,
    pub skipped_reasons: Vec<(String, String)>,
    pub skipped: Vec<SkippedRow>,
    pub skipped_more: u64,
    pub provenance: Vec<(String, String)>,
    pub provenance_tokenizers: Vec<[String; 4]>,
}

pub struct CountApiView {
    pub summary: String,
    pub fitted: Vec<String>,
    pub warnings: Vec<String>,
}

pub struct TokenizerRow {
    pub name: String,
    pub tokens: String,
    pub per_kb: String,
    pub chars_per_token: String,
    pub p50: String,
    pub p90: String,
    pub p99: String,
}

pub struct CostRow {
    pub model: String,
    pub tokenizer: String,
    pub estimate: bool,
    pub tokens: String,
    pub price: String,
    pub cost: String,
    pub cached: String,
    pub batch: String,
}

pub struct ProjectionView {
    pub scenario: String,
    pub phases: Vec<PhaseRow>,
    pub chart: String,
    pub workloads_phase: String,
    pub workloads: Vec<WorkloadRow>,
    pub value_hypothesis: Option<String>,
    pub notes: Vec<String>,
}

pub struct PhaseRow {
    pub phase: String,
    pub input: String,
    pub output: String,
    pub cost: String,
    pub range: String,
    pub budget: String,
    pub verdict: String,
    pub over: bool,
}

pub struct WorkloadRow {
    pub workload: String,
    pub model: String,
    pub estimate: bool,
    pub category: String,
    pub calls: String,
    pub input_per_call: String,
    pub output_per_call: String,
    pub cost: String,
}

pub struct Attribution {
    pub rows: Vec<AttributionRow>,
    pub chart: String,
    pub tokenizer: String,
    pub hidden: usize,
}

pub struct AttributionRow {
    pub name: String,
    pub files: String,
    pub bytes: String,
    pub tokens: String,
    pub share: String,
}

pub struct DistributionView {
    pub tokenizer: String,
    pub documents: String,
    pub p50: String,
    pub p90: String,
    pub p99: String,
    pub max: String,
    pub chart: String,
    pub buckets: Vec<(String, String)>,
}

pub struct OverflowRow {
    pub model: String,
    pub window: String,
    pub count: String,
    pub documents: Vec<String>,
    pub more: usize,
}

pub struct Comparison {
    pub reference: String,
    pub columns: Vec<String>,
    /// Tokenizer, then its tokens relative to the reference: the whole
    /// corpus, then each compared category.
    pub rows: Vec<(String, Vec<String>)>,
    pub chart: String,
    /// The same ratios by the dominant script of each piece of text.
    pub scripts: Option<RatioMatrix>,
    /// And by the detected language of each piece (`--lang`).
    pub languages: Option<RatioMatrix>,
    /// What detected the languages, and how many pieces reliably.
    pub languages_note: String,
}

/// Each tokenizer's tokens relative to the reference's, per group (a
/// script, a language): a shaded matrix and its table.
pub struct RatioMatrix {
    pub columns: Vec<String>,
    /// Per column: its bytes, and the reference's tokens.
    pub bytes: Vec<String>,
    pub reference_tokens: Vec<String>,
    /// Tokenizer, then its ratio in each column.
    pub rows: Vec<(String, Vec<String>)>,
    pub chart: String,
}

pub struct TranscriptsView {
    pub conversations: String,
    pub messages: String,
    pub malformed: String,
    /// Tokenizer, input, output, replayed input, of which cached.
    pub rows: Vec<[String; 5]>,
    pub chart: String,
    pub tokenizer: String,
    /// File, line, reason of each malformed record listed.
    pub malformed_records: Vec<[String; 3]>,
    pub malformed_more: u64,
    /// Per priced model: whether its tokens are an estimate, and the cells
    /// of [`view::TRANSCRIPT_COST_HEADER`].
    pub costs: Vec<(bool, [String; 9])>,
    pub costs_header: [&'static str; 9],
    pub costs_note: &'static str,
    /// The images' estimated tokens, when there are images.
    pub images: Option<String>,
}

pub struct SkippedRow {
    pub path: String,
    pub reason: String,
    pub bytes: String,
}

fn ratio(part: u64, whole: u64) -> String {
    if whole == 0 {
        "-".into()
    } else {
        format!("{:.3}", part as f64 / whole as f64)
    }
}

fn compact(v: f64) -> String {
    let a = v.abs();
    if a >= 1e9 {
        format!("{:.1}B", v / 1e9)
    } else if a >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if a >= 1e3 {
        format!("{:.1}k", v / 1e3)
    } else {
        format!("{v:.0}")
    }
}

fn dollars(v: f64) -> String {
    if v == 0.0 {
        "$0".into()
    } else if v.abs() >= 1000.0 {
        format!("${}", compact(v))
    } else if v.abs() >= 1.0 {
        format!("${v:.2}")
    } else {
        format!("${v:.4}")
    }
}

fn to_f64(d: rust_decimal::Decimal) -> f64 {
    use rust_decimal::prelude::ToPrimitive;
    d.to_f64().unwrap_or(0.0)
}

fn attribution(
    groups: &BTreeMap<String, crate::report::GroupReport>,
    names: &[&str],
    total: u64,
) -> Result<Attribution, String> {
    let rows = view::top(groups, names, view::TOP);
    let hidden = rows.last().map_or(0, |r| r.groups.saturating_sub(1));
    let chart = charts::bars(
        &rows
            .iter()
            .map(|r| Bar {
                label: r.name.clone(),
                value: r.tokens.first().copied().unwrap_or(0) as f64,
                alert: false,
            })
            .collect::<Vec<_>>(),
        &format!("tokens ({})", names.first().unwrap_or(&"")),
        &compact,
        &[],
    )?;
    Ok(Attribution {
        rows: rows
            .iter()
            .map(|r| {
                let t = r.tokens.first().copied().unwrap_or(0);
                AttributionRow {
                    name: r.name.clone(),
                    files: thousands(r.files),
                    bytes: human_bytes(r.bytes),
                    tokens: thousands(t),
                    share: view::percent(t, total),
                }
            })
            .collect(),
        chart,
        tokenizer: names.first().unwrap_or(&"").to_string(),
        hidden,
    })
}

impl Page {
    pub fn from_report(r: &Report) -> Result<Page, String> {
        Page::compared_with(r, None)
    }

    /// The page with its tokenizer comparison relative to `reference`
    /// (`compare --baseline`) when that was counted.
    pub fn compared_with(r: &Report, reference: Option<&str>) -> Result<Page, String> {
        let names = r.tokenizer_names();
        let t = &r.totals;
        let first_total = t.per_tokenizer.first().map_or(0, |p| p.tokens);
        let q = |name: &str, k: &str| {
            r.distribution
                .get(name)
                .and_then(|d| d.get(k))
                .and_then(Value::as_u64)
        };
        let tokenizers: Vec<TokenizerRow> = t
            .per_tokenizer
            .iter()
            .map(|p| TokenizerRow {
                name: p.tokenizer.clone(),
                tokens: thousands(p.tokens),
                per_kb: format!("{:.1}", p.tokens_per_kb),
                chars_per_token: format!("{:.2}", p.chars_per_token),
                p50: q(&p.tokenizer, "p50").map(thousands).unwrap_or_default(),
                p90: q(&p.tokenizer, "p90").map(thousands).unwrap_or_default(),
                p99: q(&p.tokenizer, "p99").map(thousands).unwrap_or_default(),
            })
            .collect();
        let tokenizers_chart = charts::bars(
            &t.per_tokenizer
                .iter()
                .map(|p| Bar {
                    label: p.tokenizer.clone(),
                    value: p.tokens as f64,
                    alert: false,
                })
                .collect::<Vec<_>>(),
            "tokens",
            &compact,
            &[],
        )?;

        let costs: Vec<CostRow> = r
            .costs
            .iter()
            .map(|c| CostRow {
                model: c.model.clone(),
                tokenizer: c.tokenizer.clone(),
                estimate: c.estimate,
                tokens: view::tokens_banded(c),
                price: c.input_usd_per_mtok.normalize().to_string(),
                cost: view::cost_banded(c),
                cached: c
                    .cached_input_cost_usd
                    .map(format_usd)
                    .unwrap_or_else(|| "-".into()),
                batch: c
                    .batch_input_cost_usd
                    .map(format_usd)
                    .unwrap_or_else(|| "-".into()),
            })
            .collect();
        let costs_chart = if r.costs.is_empty() {
            String::new()
        } else {
            charts::bars(
                &r.costs
                    .iter()
                    .map(|c| Bar {
                        label: if c.estimate {
                            format!("{} (estimate)", c.model)
                        } else {
                            c.model.clone()
                        },
                        value: to_f64(c.input_cost_usd),
                        alert: false,
                    })
                    .collect::<Vec<_>>(),
                "USD, the corpus sent once as input",
                &dollars,
                &[],
            )?
        };

        let overflows: Vec<OverflowRow> = r
            .costs
            .iter()
            .map(|c| OverflowRow {
                model: c.model.clone(),
                window: c
                    .max_input_tokens
                    .map(thousands)
                    .unwrap_or_else(|| "unknown".into()),
                count: thousands(c.over_context.len() as u64),
                documents: c
                    .over_context
                    .iter()
                    .take(OVERFLOWS_LISTED)
                    .cloned()
                    .collect(),
                more: c.over_context.len().saturating_sub(OVERFLOWS_LISTED),
            })
            .collect();
        // No chart of zeros: the table says it, and a sentence.
        let overflows_chart = if r.costs.iter().all(|c| c.over_context.is_empty()) {
            String::new()
        } else {
            charts::bars(
                &r.costs
                    .iter()
                    .map(|c| Bar {
                        label: c.model.clone(),
                        value: c.over_context.len() as f64,
                        alert: !c.over_context.is_empty(),
                    })
                    .collect::<Vec<_>>(),
                "documents longer than the model's input window",
                &|v| format!("{v:.0}"),
                &[],
            )?
        };

        let projection = match &r.projection {
            None => None,
            Some(p) => {
                let phases: Vec<PhaseRow> = p
                    .phases
                    .iter()
                    .map(|ph| PhaseRow {
                        phase: ph.phase.clone(),
                        input: thousands(ph.input_tokens_per_month),
                        output: thousands(ph.output_tokens_per_month),
                        cost: format_usd(ph.cost_usd_per_month),
                        range: format!(
                            "{} – {}",
                            format_usd(ph.cost_usd_per_month_p50),
                            format_usd(ph.cost_usd_per_month_p90)
                        ),
                        budget: ph
                            .budget_usd_per_month
                            .map(format_usd)
                            .unwrap_or_else(|| "-".into()),
                        verdict: match ph.within_budget {
                            Some(true) => "within budget".into(),
                            Some(false) => "over budget".into(),
                            None => String::new(),
                        },
                        over: ph.within_budget == Some(false),
                    })
                    .collect();
                // Each phase's cost against its own budget: one bar per
                // phase, the budget written into the label (the phases'
                // budgets differ, so one reference line would mislead).
                let chart = charts::bars(
                    &p.phases
                        .iter()
                        .map(|ph| Bar {
                            label: match ph.budget_usd_per_month {
                                Some(b) => format!("{} (budget {})", ph.phase, dollars(to_f64(b))),
                                None => ph.phase.clone(),
                            },
                            value: to_f64(ph.cost_usd_per_month),
                            alert: ph.within_budget == Some(false),
                        })
                        .collect::<Vec<_>>(),
                    "USD per month (projected)",
                    &dollars,
                    &p.budget_usd_per_month
                        .map(|b| (to_f64(b), format!("scenario budget {}", dollars(to_f64(b)))))
                        .into_iter()
                        .collect::<Vec<_>>(),
                )?;
                let last = p.phases.last();
                Some(ProjectionView {
                    scenario: p.scenario.clone(),
                    phases,
                    chart,
                    workloads_phase: last.map(|l| l.phase.clone()).unwrap_or_default(),
                    workloads: last
                        .map(|l| {
                            l.workloads
                                .iter()
                                .map(|w| WorkloadRow {
                                    workload: w.workload.clone(),
                                    model: w.model.clone(),
                                    estimate: w.estimate,
                                    category: w.category.clone(),
                                    calls: w.calls_per_month.round().to_string(),
                                    input_per_call: w
                                        .input_tokens_per_call
                                        .mean
                                        .round()
                                        .to_string(),
                                    output_per_call: w.output_tokens_per_call.round().to_string(),
                                    cost: format_usd(w.cost_usd_per_month),
                                })
                                .collect()
                        })
                        .unwrap_or_default(),
                    value_hypothesis: p
                        .value_hypothesis
                        .as_ref()
                        .map(|v| v.split_whitespace().collect::<Vec<_>>().join(" ")),
                    notes: p.notes.clone(),
                })
            }
        };

        let distribution = match names
            .first()
            .and_then(|n| r.distribution.get(*n).map(|d| (n, d)))
        {
            None => None,
            Some((name, d)) => {
                let get = |k: &str| d.get(k).and_then(Value::as_u64).unwrap_or(0);
                let buckets: Vec<(u64, u64)> = d
                    .get("buckets")
                    .and_then(Value::as_array)
                    .map(|bs| {
                        bs.iter()
                            .filter_map(|b| Some((b.get(0)?.as_u64()?, b.get(1)?.as_u64()?)))
                            .collect()
                    })
                    .unwrap_or_default();
                if buckets.is_empty() {
                    None
                } else {
                    let bins = coarse_bins(&buckets);
                    let chart = charts::histogram(
                        &bins,
                        &[
                            ("p50", get("p50")),
                            ("p90", get("p90")),
                            ("p99", get("p99")),
                        ],
                    )?;
                    Some(DistributionView {
                        tokenizer: name.to_string(),
                        documents: thousands(get("documents")),
                        p50: thousands(get("p50")),
                        p90: thousands(get("p90")),
                        p99: thousands(get("p99")),
                        max: thousands(get("max")),
                        chart,
                        buckets: bins
                            .iter()
                            .map(|(from, to, n)| {
                                (
                                    format!("{} – {}", thousands(*from), thousands(to - 1)),
                                    thousands(*n),
                                )
                            })
                            .collect(),
                    })
                }
            }
        };

        let comparison = comparison(r, &names, reference)?;
        let transcripts = transcripts(r, &names)?;

        let mut by_reason: BTreeMap<&str, u64> = BTreeMap::new();
        for s in &r.skipped {
            *by_reason.entry(s.reason_key).or_default() += 1;
        }

        let p = &r.provenance;
        let mut provenance = vec![
            (
                "tool".to_string(),
                format!("{} {}, commit {}", p.tool, p.version, p.commit),
            ),
            ("command line".into(), r.run.command_line.join(" ")),
            ("started (UTC)".into(), r.run.started_utc.clone()),
            ("roots".into(), p.roots.join(", ")),
            ("parse".into(), p.parse.clone()),
        ];
        if let Some(d) = &p.corpus_digest {
            provenance.push((
                "corpus digest".into(),
                format!("sha256 {} over {} files", d.sha256, thousands(d.files)),
            ));
            provenance.push(("digest rule".into(), d.rule.to_string()));
        }
        if let Some(prices) = &p.prices {
            provenance.push((
                "prices".into(),
                format!("{}, as of {}", prices.source, prices.as_of),
            ));
            for o in &prices.overrides {
                provenance.push(("price override".into(), o.clone()));
            }
        }

        Ok(Page {
            title: format!("Token audit: {}", p.roots.join(", ")),
            started: r.run.started_utc.clone(),
            summary: vec![
                ("files seen".into(), thousands(t.files_seen)),
                ("files counted".into(), thousands(t.files_counted)),
                ("files skipped".into(), thousands(t.files_skipped)),
                ("bytes counted".into(), human_bytes(t.bytes_counted)),
                (
                    format!("tokens ({})", names.first().unwrap_or(&"")),
                    thousands(first_total),
                ),
            ],
            tokenizers,
            tokenizers_chart,
            any_band: r.costs.iter().any(|c| c.estimate_band.is_some()),
            count_api: r
                .count_api
                .iter()
                .map(|a| CountApiView {
                    summary: format!(
                        "Count API ({}): {} documents ({}) sent to {}, {} requests, {} answers from the cache.",
                        a.provider.name(),
                        thousands(a.documents_sent),
                        human_bytes(a.bytes_sent),
                        a.endpoint,
                        thousands(a.requests),
                        thousands(a.cached_answers)
                    ),
                    fitted: a
                        .models
                        .iter()
                        .flat_map(|m| {
                            m.fitted.iter().map(move |f| {
                                format!(
                                    "{} {}: fitted {} ({}–{}) on {} documents",
                                    m.model, f.class, f.multiplier, f.low, f.high, f.documents
                                )
                            })
                        })
                        .collect(),
                    warnings: a.warnings.clone(),
                })
                .collect(),
            any_estimate: r.costs.iter().any(|c| c.estimate)
                || r.projection.as_ref().is_some_and(|p| {
                    p.phases
                        .iter()
                        .any(|ph| ph.workloads.iter().any(|w| w.estimate))
                }),
            costs,
            costs_chart,
            projection,
            categories: attribution(&r.by_category, &names, first_total)?,
            extensions: attribution(&r.by_extension, &names, first_total)?,
            formats: view::formats(r, &names),
            formats_note: view::FORMATS_NOTE,
            folders: attribution(&r.by_folder, &names, first_total)?,
            languages: match &r.by_language {
                Some(l) => Some(attribution(
                    &l.languages
                        .iter()
                        .map(|g| {
                            (
                                format!("{} ({})", g.name, g.language),
                                crate::report::GroupReport {
                                    files: g.pieces,
                                    bytes: g.bytes,
                                    chars: g.chars,
                                    lines: 0,
                                    tokens: g.tokens.clone(),
                                    tokens_p50: Default::default(),
                                    tokens_p90: Default::default(),
                                },
                            )
                        })
                        .collect(),
                    &names,
                    first_total,
                )?),
                None => None,
            },
            languages_by: r
                .by_language
                .as_ref()
                .map_or(String::new(), |l| l.detected_by.to_string()),
            categories_are_folders: view::categories_are_folders(r),
            distribution,
            largest: r
                .largest
                .iter()
                .map(|l| (l.path.clone(), thousands(l.tokens)))
                .collect(),
            overflows,
            overflows_chart,
            comparison,
            transcripts,
            skipped_reasons: by_reason
                .iter()
                .map(|(k, n)| (k.to_string(), thousands(*n)))
                .collect(),
            skipped: r
                .skipped
                .iter()
                .take(SKIPPED_LISTED)
                .map(|s| SkippedRow {
                    path: s.path.clone(),
                    reason: s.reason.clone(),
                    bytes: human_bytes(s.bytes),
                })
                .collect(),
            skipped_more: r.skipped.len().saturating_sub(SKIPPED_LISTED) as u64,
            provenance,
            provenance_tokenizers: p
                .tokenizers
                .iter()
                .map(|t| {
                    [
                        t.name.clone(),
                        t.family.clone(),
                        t.source.clone(),
                        t.sha256.clone(),
                    ]
                })
                .collect(),
        })
    }
}

/// The chat transcripts: input, output and replayed input per tokenizer;
/// the chart for the first tokenizer.
fn transcripts(r: &Report, names: &[&str]) -> Result<Option<TranscriptsView>, String> {
    let Some(t) = &r.transcripts else {
        return Ok(None);
    };
    let rows: Vec<[String; 5]> = names
        .iter()
        .map(|n| {
            [
                n.to_string(),
                thousands(tokens_of(&t.input_tokens, n)),
                thousands(tokens_of(&t.output_tokens, n)),
                thousands(tokens_of(&t.replayed_input_tokens, n)),
                thousands(tokens_of(&t.replayed_cached_input_tokens, n)),
            ]
        })
        .collect();
    let first = names.first().copied().unwrap_or("");
    let chart = charts::bars(
        &[
            ("input", &t.input_tokens),
            ("output", &t.output_tokens),
            ("replayed input", &t.replayed_input_tokens),
            ("replayed, cacheable", &t.replayed_cached_input_tokens),
        ]
        .iter()
        .map(|(label, map)| Bar {
            label: label.to_string(),
            value: tokens_of(map, first) as f64,
            alert: false,
        })
        .collect::<Vec<_>>(),
        &format!("tokens ({first})"),
        &compact,
        &[],
    )?;
    Ok(Some(TranscriptsView {
        conversations: thousands(t.conversations),
        messages: thousands(t.messages),
        malformed: thousands(t.malformed.count),
        rows,
        chart,
        tokenizer: first.to_string(),
        malformed_records: t
            .malformed
            .records
            .iter()
            .map(|m| [m.path.clone(), m.line.to_string(), m.reason.clone()])
            .collect(),
        malformed_more: t
            .malformed
            .count
            .saturating_sub(t.malformed.records.len() as u64),
        costs: view::transcript_cost_rows(r),
        costs_header: view::TRANSCRIPT_COST_HEADER,
        costs_note: view::TRANSCRIPT_COST_NOTE,
        images: view::image_estimate_line(&t.image_tokens_estimate),
    }))
}

/// Bins per decade of tokens per document in the histogram.
const BINS_PER_DECADE: f64 = 4.0;

/// The report's fine histogram buckets (lower bound, documents; about 1%
/// wide) summed into bins of a quarter decade, `(from, to, documents)` with
/// `to` exclusive, every bin from the first to the last (empty ones too):
/// a chart of the fine buckets is a comb of one-document spikes.
fn coarse_bins(buckets: &[(u64, u64)]) -> Vec<(u64, u64, u64)> {
    let bin = |lb: u64| ((lb.max(1) as f64).log10() * BINS_PER_DECADE + 1e-9).floor() as i64;
    let edge = |k: i64| (10f64.powf(k as f64 / BINS_PER_DECADE)).ceil() as u64;
    let (Some(first), Some(last)) = (buckets.first(), buckets.last()) else {
        return Vec::new();
    };
    let (k0, k1) = (bin(first.0), bin(last.0));
    let mut bins: Vec<(u64, u64, u64)> = (k0..=k1).map(|k| (edge(k), edge(k + 1), 0)).collect();
    // The first bin starts at the smallest document (0 or 1 tokens included).
    bins[0].0 = bins[0].0.min(first.0);
    for (lb, n) in buckets {
        let i = (bin(*lb) - k0) as usize;
        bins[i].2 += n;
    }
    bins
}

/// Columns of a ratio matrix: past this many groups, the largest (by
/// bytes, as given) are shown and the rest share the last column.
const MATRIX_COLUMNS: usize = 11;

/// The ratio matrix of `groups` (name, bytes, tokens per tokenizer), in
/// the order given; beyond [`MATRIX_COLUMNS`] the smallest groups are
/// summed into one column (`other (k more)`, as in the tables), so that every byte of the corpus
/// is in the table. `None` when there are no groups.
fn ratio_matrix(
    groups: &[(String, u64, &serde_json::Map<String, Value>)],
    names: &[&str],
    reference: &str,
) -> Result<Option<RatioMatrix>, String> {
    if groups.is_empty() {
        return Ok(None);
    }
    let folded;
    let mut shown: Vec<(String, u64, &serde_json::Map<String, Value>)> = groups.to_vec();
    if groups.len() > MATRIX_COLUMNS {
        let rest = shown.split_off(MATRIX_COLUMNS - 1);
        let mut tokens = serde_json::Map::new();
        for n in names.iter().chain([&reference]) {
            let sum: u64 = rest.iter().map(|g| tokens_of(g.2, n)).sum();
            tokens.insert(n.to_string(), Value::from(sum));
        }
        folded = tokens;
        let bytes = rest.iter().map(|g| g.1).sum();
        shown.push((format!("other ({} more)", rest.len()), bytes, &folded));
    }
    let groups = &shown[..];
    let values: Vec<Vec<Option<f64>>> = names
        .iter()
        .map(|n| {
            groups
                .iter()
                .map(|(_, _, t)| {
                    let base = tokens_of(t, reference);
                    (base > 0).then(|| tokens_of(t, n) as f64 / base as f64)
                })
                .collect()
        })
        .collect();
    let columns: Vec<String> = groups.iter().map(|g| g.0.clone()).collect();
    let chart = charts::matrix(
        &names.iter().map(|n| n.to_string()).collect::<Vec<_>>(),
        &columns,
        &values,
    )?;
    Ok(Some(RatioMatrix {
        bytes: groups.iter().map(|g| human_bytes(g.1)).collect(),
        reference_tokens: groups
            .iter()
            .map(|g| thousands(tokens_of(g.2, reference)))
            .collect(),
        rows: names
            .iter()
            .zip(&values)
            .map(|(n, vs)| {
                (
                    n.to_string(),
                    vs.iter()
                        .map(|v| v.map_or("-".to_string(), |v| format!("{v:.3}")))
                        .collect(),
                )
            })
            .collect(),
        columns,
        chart,
    }))
}

/// Each tokenizer's tokens relative to `reference` (by default o200k_base,
/// or the first tokenizer when o200k_base was not counted), over the
/// corpus, per category, per script and per detected language.
fn comparison(
    r: &Report,
    names: &[&str],
    reference: Option<&str>,
) -> Result<Option<Comparison>, String> {
    if names.len() < 2 {
        return Ok(None);
    }
    let reference = match reference {
        Some(b) if names.contains(&b) => b,
        _ if names.contains(&REFERENCE) => REFERENCE,
        _ => names[0],
    };
    let whole = |name: &str| tokens_of(&r.totals.tokens, name);
    let categories = view::top(&r.by_category, &[reference], COMPARED_CATEGORIES);
    // The `other` row of the cut is not a category: compare named ones only.
    let categories: Vec<&view::Row> = categories.iter().filter(|c| c.groups == 1).collect();
    let mut columns = vec!["whole corpus".to_string()];
    columns.extend(categories.iter().map(|c| c.name.clone()));
    let rows = names
        .iter()
        .map(|n| {
            let mut cells = vec![ratio(whole(n), whole(reference))];
            for c in &categories {
                let g = &r.by_category[&c.name];
                cells.push(ratio(
                    tokens_of(&g.tokens, n),
                    tokens_of(&g.tokens, reference),
                ));
            }
            (n.to_string(), cells)
        })
        .collect();
    let chart = charts::bars(
        &names
            .iter()
            .map(|n| Bar {
                label: n.to_string(),
                value: if whole(reference) == 0 {
                    0.0
                } else {
                    whole(n) as f64 / whole(reference) as f64
                },
                alert: false,
            })
            .collect::<Vec<_>>(),
        &format!("tokens relative to {reference} (whole corpus)"),
        &|v| format!("{v:.2}"),
        &[(1.0, format!("{reference} = 1"))],
    )?;
    let scripts: Vec<(String, u64, &serde_json::Map<String, Value>)> = r
        .by_script
        .iter()
        .map(|s| (s.script.to_string(), s.bytes, &s.tokens))
        .collect();
    let (languages, languages_note) = match &r.by_language {
        Some(l) => {
            let groups: Vec<(String, u64, &serde_json::Map<String, Value>)> = l
                .languages
                .iter()
                .map(|g| (g.name.to_string(), g.bytes, &g.tokens))
                .collect();
            let pieces: u64 = l.languages.iter().map(|g| g.pieces).sum();
            let reliable: u64 = l.languages.iter().map(|g| g.reliable_pieces).sum();
            (
                ratio_matrix(&groups, names, reference)?,
                format!(
                    "Languages detected by {}; {} of {} pieces detected reliably.",
                    l.detected_by,
                    thousands(reliable),
                    thousands(pieces)
                ),
            )
        }
        None => (None, String::new()),
    };
    Ok(Some(Comparison {
        reference: reference.to_string(),
        columns,
        rows,
        chart,
        scripts: ratio_matrix(&scripts, names, reference)?,
        languages,
        languages_note,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_matrix_of_more_groups_than_columns_sums_the_rest_into_one() {
        let maps: Vec<serde_json::Map<String, Value>> = (0..13u64)
            .map(|i| {
                serde_json::json!({"a": 100 + i, "b": 50 + i})
                    .as_object()
                    .unwrap()
                    .clone()
            })
            .collect();
        let groups: Vec<(String, u64, &serde_json::Map<String, Value>)> = maps
            .iter()
            .enumerate()
            .map(|(i, m)| (format!("g{i}"), 1000 - i as u64, m))
            .collect();
        let m = ratio_matrix(&groups, &["a", "b"], "a").unwrap().unwrap();
        assert_eq!(m.columns.len(), MATRIX_COLUMNS);
        assert_eq!(
            m.columns[..10],
            groups[..10].iter().map(|g| g.0.clone()).collect::<Vec<_>>()[..]
        );
        // g10, g11, g12: a = 110+111+112, b = 60+61+62.
        assert_eq!(m.columns[10], "other (3 more)");
        assert_eq!(m.reference_tokens[10], thousands(333));
        let b = &m.rows.iter().find(|r| r.0 == "b").unwrap().1;
        assert_eq!(b[10], format!("{:.3}", 183.0 / 333.0));
        assert_eq!(b[0], format!("{:.3}", 50.0 / 100.0));
        // Every group's bytes are in the table.
        assert_eq!(m.bytes[10], human_bytes(990 + 989 + 988));
    }

    #[test]
    fn fine_buckets_sum_into_quarter_decades_without_losing_a_document() {
        let fine = [(3, 2), (5, 1), (9, 4), (10, 1), (170, 3), (171, 1)];
        let bins = coarse_bins(&fine);
        assert_eq!(bins.iter().map(|b| b.2).sum::<u64>(), 12);
        // Contiguous from at most the smallest bucket to past the largest.
        assert!(bins.first().unwrap().0 <= 3);
        for w in bins.windows(2) {
            assert_eq!(w[0].1, w[1].0);
        }
        assert!(bins.last().unwrap().1 > 171);
        // 10 opens its own bin: 6..10 holds 9 (4 documents), 10..18 holds 10.
        assert!(bins.contains(&(6, 10, 4)));
        assert!(bins.contains(&(10, 18, 1)));
    }
}
