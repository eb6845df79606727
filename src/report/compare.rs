/*!
The tokenizer comparison (`tokenaudit compare`): a view of a [`Report`] that
puts the tokenizers side by side, over the whole corpus, by category and by
the dominant script of each piece of text, in tokens relative to a baseline,
in dollars per priced model, and in counting speed.

Nothing is counted here: every figure comes from the report of one audit
(the same pass, the same counts as `tokenaudit audit`), so compare's token
counts equal audit's by construction. The view is its own JSON document,
`tokenaudit.compare/v1`, rendered to a terminal table, CSV and Markdown.

Tables for people are transposed (a row per tokenizer, a column per group)
and split into several tables when wider than [`MAX_WIDTH`], so that 17
tokenizers and a dozen scripts stay readable on a terminal.
*/

use std::fmt::Write;

use super::view::tokens_of;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::{Map, Value};

use super::markdown::Table;
use super::table::Grid;
use super::{significant, view, Report};
use crate::format::{format_usd, human_bytes, thousands};

/// The `schema` of a comparison.
pub const SCHEMA: &str = "tokenaudit.compare/v1";

/// The preferred baseline: the encoding of OpenAI's current models.
pub const DEFAULT_BASELINE: &str = "o200k_base";

/// Categories shown by name in the tables for people; the rest are summed
/// into one `other` column (the JSON has every category).
const CATEGORIES_SHOWN: usize = 10;

/// Terminal tables wider than this many characters are split.
const MAX_WIDTH: usize = 100;

/// The comparison of the tokenizers of one audit.
#[derive(Debug, Serialize)]
pub struct Comparison {
    /// [`SCHEMA`].
    pub schema: &'static str,
    /// The tokenizer every `relative` figure divides by.
    pub baseline: String,
    /// What was counted.
    pub corpus: Corpus,
    /// One entry per tokenizer, in selection order.
    pub tokenizers: Vec<TokenizerRow>,
    /// Per category (as in `audit`), every category.
    pub by_category: Vec<Breakdown>,
    /// Per dominant script of each piece of text (a file, or a 256 KiB
    /// piece of a large one), in the order of the script table.
    pub by_script: Vec<Breakdown>,
    /// Per detected language of each piece of text (`--lang`; absent
    /// without it), largest first, `und` (undetermined) last; `name` is the
    /// ISO 639-3 code. A guess per piece: see `language_detection`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub by_language: Vec<Breakdown>,
    /// How `by_language` was detected (absent without `--lang`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language_detection: Option<LanguageDetection>,
    /// Per priced model (`-m`): the corpus's cost and its ratio to the
    /// cheapest. Empty without `-m`.
    pub costs: Vec<CostRow>,
    /// How the speeds were measured.
    pub throughput: Throughput,
    /// Repeated runs (`--bench`); null otherwise.
    pub bench: Option<Bench>,
}

/// The corpus the comparison is over.
#[derive(Debug, Serialize)]
pub struct Corpus {
    pub roots: Vec<String>,
    pub files_seen: u64,
    pub files_counted: u64,
    pub files_skipped: u64,
    pub bytes_counted: u64,
    pub chars: u64,
    /// The report's corpus digest (sha256 over every file seen).
    pub digest: Option<String>,
}

/// One tokenizer over the whole corpus.
#[derive(Debug, Serialize)]
pub struct TokenizerRow {
    pub tokenizer: String,
    pub family: String,
    pub tokens: u64,
    pub tokens_per_kb: f64,
    pub chars_per_token: f64,
    /// Tokens divided by the baseline's tokens.
    pub relative: f64,
    /// Text bytes counted per second of this tokenizer's counter, on one
    /// thread (see [`Throughput`]); null when nothing was timed.
    pub mb_per_second: Option<f64>,
    /// Seconds spent in this tokenizer's counter, summed over threads.
    pub counter_seconds: f64,
}

/// One group (a category, a script, a language) counted by every tokenizer.
#[derive(Clone, Debug, Serialize)]
pub struct Breakdown {
    pub name: String,
    /// Files (categories) or pieces of text (scripts).
    pub units: u64,
    pub bytes: u64,
    /// Characters; for categories and scripts alike, of the counted text.
    pub chars: u64,
    /// Tokenizer → tokens.
    pub tokens: Map<String, Value>,
    /// Tokenizer → tokens relative to the baseline's in this group.
    pub relative: Map<String, Value>,
    /// Tokenizer → characters per token.
    pub chars_per_token: Map<String, Value>,
}

/// How the languages of `by_language` were told.
#[derive(Debug, Serialize)]
pub struct LanguageDetection {
    /// The detector, and that its answers are detected, not declared.
    pub detected_by: &'static str,
    /// Language code → English name.
    pub names: Map<String, Value>,
    /// Language code → pieces whose detection whatlang deems reliable.
    pub reliable_pieces: Map<String, Value>,
}

/// One priced model.
#[derive(Debug, Serialize)]
pub struct CostRow {
    pub model: String,
    pub tokenizer: String,
    /// True when the model's tokenizer is not public (a proxy's count).
    pub estimate: bool,
    pub input_tokens: u64,
    /// The cost of sending the corpus once as input (as `audit` prices it:
    /// long-context tiers, calibrated estimates).
    pub input_cost_usd: Decimal,
    /// This cost over the cheapest model's.
    pub relative_to_cheapest: f64,
    /// Script → the part of `input_cost_usd` of the pieces in that script,
    /// in proportion to the model's tokenizer's tokens there.
    pub by_script: Map<String, Value>,
}

/// How the speeds were measured.
#[derive(Debug, Serialize)]
pub struct Throughput {
    /// Worker threads the audit counted on.
    pub threads: usize,
    pub method: &'static str,
}

const METHOD: &str = "text bytes counted / seconds spent in the tokenizer's counter, summed \
over the worker threads: the speed of one thread, on the same pieces for every tokenizer";

/// Repeated runs of the same comparison (`compare --bench`).
#[derive(Clone, Debug, Serialize)]
pub struct Bench {
    pub runs: usize,
    pub threads: usize,
    pub machine: Machine,
    pub tool_version: &'static str,
    pub commit: &'static str,
    pub corpus_digest: Option<String>,
    /// The process's peak resident set size over all runs (getrusage).
    pub peak_rss_bytes: Option<u64>,
    /// Wall time of each whole run (walk, read, extract, every tokenizer).
    pub wall_seconds: Spread,
    /// One per tokenizer, in selection order: MB/s of one thread.
    pub tokenizers: Vec<BenchRow>,
}

/// The machine a benchmark ran on.
#[derive(Clone, Debug, Serialize)]
pub struct Machine {
    /// `model name` from /proc/cpuinfo, when there is one.
    pub cpu: Option<String>,
    /// Logical cores the process may use.
    pub cores: usize,
    pub os: &'static str,
    pub arch: &'static str,
}

/// The median, minimum and maximum of repeated measurements.
#[derive(Clone, Debug, Serialize)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub samples: Vec<f64>,
}

impl Spread {
    /// `None` for no samples.
    pub fn of(samples: &[f64]) -> Option<Spread> {
        if samples.is_empty() {
            return None;
        }
        let mut sorted = samples.to_vec();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let median = if n % 2 == 1 {
            sorted[n / 2]
        } else {
            (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
        };
        Some(Spread {
            median: significant(median),
            min: significant(sorted[0]),
            max: significant(sorted[n - 1]),
            samples: samples.iter().map(|x| significant(*x)).collect(),
        })
    }
}

/// One tokenizer's speed over the runs.
#[derive(Clone, Debug, Serialize)]
pub struct BenchRow {
    pub tokenizer: String,
    pub mb_per_second: Spread,
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        round3(a as f64 / b as f64)
    }
}

/// The baseline among `names`: `wanted` if given and present, else
/// [`DEFAULT_BASELINE`] if present, else the first tokenizer.
pub fn choose_baseline(names: &[&str], wanted: Option<&str>) -> Option<String> {
    wanted
        .filter(|w| names.contains(w))
        .or_else(|| names.iter().copied().find(|n| *n == DEFAULT_BASELINE))
        .or_else(|| names.first().copied())
        .map(str::to_string)
}

fn breakdown(
    name: String,
    units: u64,
    bytes: u64,
    chars: u64,
    tokens: &Map<String, Value>,
    names: &[&str],
    baseline: &str,
) -> Breakdown {
    let base = tokens_of(tokens, baseline);
    let get = |n: &str| tokens_of(tokens, n);
    Breakdown {
        name,
        units,
        bytes,
        chars,
        tokens: names
            .iter()
            .map(|n| (n.to_string(), Value::from(get(n))))
            .collect(),
        relative: names
            .iter()
            .map(|n| (n.to_string(), Value::from(ratio(get(n), base))))
            .collect(),
        chars_per_token: names
            .iter()
            .map(|n| {
                let t = get(n);
                let cpt = if t == 0 {
                    0.0
                } else {
                    round3(chars as f64 / t as f64)
                };
                (n.to_string(), Value::from(cpt))
            })
            .collect(),
    }
}

impl Comparison {
    /// The comparison of `report`'s tokenizers against `baseline` (see
    /// [`choose_baseline`]).
    pub fn new(report: &Report, baseline: Option<&str>) -> Comparison {
        let names = report.tokenizer_names();
        let baseline = choose_baseline(&names, baseline).unwrap_or_default();
        let totals = &report.totals;
        let base_tokens = tokens_of(&totals.tokens, &baseline);
        let threads = report.run.threads;
        let tokenizers = report
            .totals
            .per_tokenizer
            .iter()
            .zip(&report.provenance.tokenizers)
            .map(|(t, info)| {
                let timing = report
                    .run
                    .counters
                    .iter()
                    .find(|c| c.tokenizer == t.tokenizer);
                TokenizerRow {
                    tokenizer: t.tokenizer.clone(),
                    family: info.family.clone(),
                    tokens: t.tokens,
                    tokens_per_kb: t.tokens_per_kb,
                    chars_per_token: t.chars_per_token,
                    relative: ratio(t.tokens, base_tokens),
                    mb_per_second: timing.and_then(|c| c.mb_per_second()),
                    counter_seconds: timing.map_or(0.0, |c| round3(c.seconds)),
                }
            })
            .collect();
        let by_category = report
            .by_category
            .iter()
            .map(|(k, g)| {
                breakdown(
                    k.clone(),
                    g.files,
                    g.bytes,
                    g.chars,
                    &g.tokens,
                    &names,
                    &baseline,
                )
            })
            .collect();
        let by_script: Vec<Breakdown> = report
            .by_script
            .iter()
            .map(|s| {
                breakdown(
                    s.script.to_string(),
                    s.pieces,
                    s.bytes,
                    s.chars,
                    &s.tokens,
                    &names,
                    &baseline,
                )
            })
            .collect();
        let languages = report.by_language.as_ref();
        let by_language = languages
            .map(|l| {
                l.languages
                    .iter()
                    .map(|g| {
                        breakdown(
                            g.language.to_string(),
                            g.pieces,
                            g.bytes,
                            g.chars,
                            &g.tokens,
                            &names,
                            &baseline,
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let language_detection = languages.map(|l| LanguageDetection {
            detected_by: l.detected_by,
            names: l
                .languages
                .iter()
                .map(|g| (g.language.to_string(), Value::from(g.name)))
                .collect(),
            reliable_pieces: l
                .languages
                .iter()
                .map(|g| (g.language.to_string(), Value::from(g.reliable_pieces)))
                .collect(),
        });
        let cheapest = report
            .costs
            .iter()
            .map(|c| c.input_cost_usd)
            .filter(|c| !c.is_zero())
            .min();
        let costs = report
            .costs
            .iter()
            .map(|c| {
                let total = tokens_of(&totals.tokens, &c.tokenizer);
                CostRow {
                    model: c.model.clone(),
                    tokenizer: c.tokenizer.clone(),
                    estimate: c.estimate,
                    input_tokens: c.input_tokens,
                    input_cost_usd: c.input_cost_usd,
                    relative_to_cheapest: match cheapest {
                        Some(min) => round3((c.input_cost_usd / min).to_f64().unwrap_or(0.0)),
                        None => 0.0,
                    },
                    by_script: by_script
                        .iter()
                        .map(|s| {
                            let part = tokens_of(&s.tokens, &c.tokenizer);
                            let usd = if total == 0 {
                                Decimal::ZERO
                            } else {
                                (c.input_cost_usd * Decimal::from(part) / Decimal::from(total))
                                    .round_dp(6)
                            };
                            (
                                s.name.clone(),
                                serde_json::to_value(usd).unwrap_or_default(),
                            )
                        })
                        .collect(),
                }
            })
            .collect();
        Comparison {
            schema: SCHEMA,
            baseline,
            corpus: Corpus {
                roots: report.provenance.roots.clone(),
                files_seen: totals.files_seen,
                files_counted: totals.files_counted,
                files_skipped: totals.files_skipped,
                bytes_counted: totals.bytes_counted,
                chars: totals.chars,
                digest: report
                    .provenance
                    .corpus_digest
                    .as_ref()
                    .map(|d| d.sha256.clone()),
            },
            tokenizers,
            by_category,
            by_script,
            by_language,
            language_detection,
            costs,
            throughput: Throughput {
                threads,
                method: METHOD,
            },
            bench: None,
        }
    }

    /// The comparison as JSON, pretty-printed, with a final newline.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("a comparison always serializes");
        s.push('\n');
        s
    }

    fn names(&self) -> Vec<&str> {
        self.tokenizers
            .iter()
            .map(|t| t.tokenizer.as_str())
            .collect()
    }

    /// The categories shown to people: the largest by the baseline's
    /// tokens, then one `other` column summing the rest.
    fn shown_categories(&self) -> Vec<Breakdown> {
        self.shown(&self.by_category)
    }

    /// The detected languages shown to people, by English name: the largest
    /// by the baseline's tokens, then one `other` column.
    fn shown_languages(&self) -> Vec<Breakdown> {
        let Some(detection) = &self.language_detection else {
            return Vec::new();
        };
        let named: Vec<Breakdown> = self
            .by_language
            .iter()
            .map(|b| {
                let mut b = b.clone();
                if let Some(name) = detection.names.get(&b.name).and_then(Value::as_str) {
                    b.name = name.to_string();
                }
                b
            })
            .collect();
        self.shown(&named)
    }

    /// A line saying what detected the languages and how surely.
    fn language_note(&self) -> String {
        let Some(d) = &self.language_detection else {
            return String::new();
        };
        let pieces: u64 = self.by_language.iter().map(|b| b.units).sum();
        let reliable: u64 = d.reliable_pieces.values().filter_map(Value::as_u64).sum();
        format!(
            "{}; {} of {} pieces detected reliably",
            d.detected_by,
            thousands(reliable),
            thousands(pieces)
        )
    }

    /// `groups` as shown to people: the largest by the baseline's tokens,
    /// then one `other` column summing the rest.
    fn shown(&self, all: &[Breakdown]) -> Vec<Breakdown> {
        let names = self.names();
        let mut order: Vec<&str> = vec![self.baseline.as_str()];
        order.extend(names.iter().filter(|n| **n != self.baseline));
        let groups = all
            .iter()
            .map(|b| {
                (
                    b.name.clone(),
                    super::GroupReport {
                        files: b.units,
                        bytes: b.bytes,
                        chars: b.chars,
                        lines: 0,
                        tokens: b.tokens.clone(),
                        tokens_p50: Map::new(),
                        tokens_p90: Map::new(),
                    },
                )
            })
            .collect();
        view::top(&groups, &order, CATEGORIES_SHOWN)
            .into_iter()
            .map(|row| {
                let tokens: Map<String, Value> = order
                    .iter()
                    .zip(&row.tokens)
                    .map(|(n, t)| (n.to_string(), Value::from(*t)))
                    .collect();
                breakdown(
                    row.name,
                    row.files,
                    row.bytes,
                    row.chars,
                    &tokens,
                    &names,
                    &self.baseline,
                )
            })
            .collect()
    }

    /// The terminal tables.
    pub fn render_table(&self) -> String {
        let mut out = String::new();
        let c = &self.corpus;
        let _ = writeln!(
            out,
            "Tokenizers compared: {} files counted ({}), {} skipped; baseline {}",
            thousands(c.files_counted),
            human_bytes(c.bytes_counted),
            thousands(c.files_skipped),
            self.baseline
        );
        out.push('\n');
        Grid {
            rows: self.overall_rows(false),
        }
        .render(&mut out);
        let _ = writeln!(
            out,
            "MB/s: one thread's speed in the tokenizer's counter ({} threads counted)",
            self.throughput.threads
        );
        if !self.by_script.is_empty() {
            out.push('\n');
            let _ = writeln!(
                out,
                "By script (the dominant script of each piece), tokens relative to {}:",
                self.baseline
            );
            self.split_grid(&self.by_script, "script", &mut out);
        }
        let languages = self.shown_languages();
        if !languages.is_empty() {
            out.push('\n');
            let _ = writeln!(
                out,
                "By detected language ({}), tokens relative to {}:",
                self.language_note(),
                self.baseline
            );
            self.split_grid(&languages, "language (detected)", &mut out);
        }
        let categories = self.shown_categories();
        if !categories.is_empty() {
            out.push('\n');
            let _ = writeln!(out, "By category, tokens relative to {}:", self.baseline);
            self.split_grid(&categories, "category", &mut out);
        }
        if !self.costs.is_empty() {
            out.push('\n');
            let _ = writeln!(out, "Cost of sending the corpus once, per model:");
            Grid {
                rows: self.cost_rows(false),
            }
            .render(&mut out);
            out.push('\n');
            let _ = writeln!(out, "Cost by script (USD):");
            let mut header = vec!["model".to_string()];
            header.extend(self.by_script.iter().map(|s| s.name.clone()));
            let mut rows = vec![header];
            for m in &self.costs {
                let mut row = vec![m.model.clone()];
                row.extend(self.by_script.iter().map(|s| usd_of(&m.by_script, &s.name)));
                rows.push(row);
            }
            render_split(rows, &mut out);
        }
        if let Some(b) = &self.bench {
            out.push('\n');
            render_bench(b, &mut out);
        }
        out
    }

    /// Header and a row per tokenizer: tokens, density, ratio, speed.
    fn overall_rows(&self, markdown: bool) -> Vec<Vec<String>> {
        let mut rows = vec![vec![
            "tokenizer".to_string(),
            "tokens".into(),
            "tokens/KB".into(),
            "chars/token".into(),
            format!("× {}", self.baseline),
            "MB/s".into(),
        ]];
        for t in &self.tokenizers {
            let name = if markdown {
                format!("`{}`", t.tokenizer)
            } else {
                t.tokenizer.clone()
            };
            rows.push(vec![
                name,
                thousands(t.tokens),
                format!("{:.1}", t.tokens_per_kb),
                format!("{:.2}", t.chars_per_token),
                format!("{:.3}", t.relative),
                t.mb_per_second.map_or("–".to_string(), |m| m.to_string()),
            ]);
        }
        rows
    }

    fn cost_rows(&self, markdown: bool) -> Vec<Vec<String>> {
        let mut rows = vec![vec![
            "model".to_string(),
            "tokenizer".into(),
            "tokens".into(),
            "cost".into(),
            "× cheapest".into(),
        ]];
        for m in &self.costs {
            let star = if m.estimate { " (estimate)" } else { "" };
            let model = if markdown {
                format!("`{}`{star}", m.model)
            } else {
                format!("{}{star}", m.model)
            };
            rows.push(vec![
                model,
                m.tokenizer.clone(),
                thousands(m.input_tokens),
                format_usd(m.input_cost_usd),
                format!("{:.3}", m.relative_to_cheapest),
            ]);
        }
        rows
    }

    /// A row per tokenizer, a column per group: tokens relative to the
    /// baseline, under a header of the group's size and baseline tokens.
    fn group_rows(&self, groups: &[Breakdown], title: &str) -> Vec<Vec<String>> {
        let mut header = vec![title.to_string()];
        header.extend(groups.iter().map(|g| g.name.clone()));
        let mut size = vec!["bytes".to_string()];
        size.extend(groups.iter().map(|g| human_bytes(g.bytes)));
        let mut base = vec![format!("{} tokens", self.baseline)];
        base.extend(
            groups
                .iter()
                .map(|g| thousands(tokens_of(&g.tokens, &self.baseline))),
        );
        let mut rows = vec![header, size, base];
        for t in &self.tokenizers {
            let mut row = vec![t.tokenizer.clone()];
            row.extend(groups.iter().map(|g| {
                g.relative
                    .get(&t.tokenizer)
                    .and_then(Value::as_f64)
                    .map_or("–".to_string(), |r| format!("{r:.2}"))
            }));
            rows.push(row);
        }
        rows
    }

    fn split_grid(&self, groups: &[Breakdown], title: &str, out: &mut String) {
        render_split(self.group_rows(groups, title), out);
    }

    /// The comparison as Markdown tables.
    pub fn render_markdown(&self) -> String {
        let mut out = String::new();
        let c = &self.corpus;
        let _ = writeln!(out, "## Tokenizers compared\n");
        let _ = writeln!(
            out,
            "{} files counted ({}), {} skipped; baseline `{}`; MB/s is one thread's speed \
             in the tokenizer's counter ({} threads counted).\n",
            thousands(c.files_counted),
            human_bytes(c.bytes_counted),
            thousands(c.files_skipped),
            self.baseline,
            self.throughput.threads
        );
        markdown_table(self.overall_rows(true), &mut out);
        if !self.by_script.is_empty() {
            let _ = writeln!(
                out,
                "### By script\n\nTokens relative to `{}`, by the dominant script of each piece of text.\n",
                self.baseline
            );
            markdown_table(self.group_rows(&self.by_script, "script"), &mut out);
        }
        let languages = self.shown_languages();
        if !languages.is_empty() {
            let _ = writeln!(
                out,
                "### By language (detected)\n\nTokens relative to `{}`; {}.\n",
                self.baseline,
                self.language_note()
            );
            markdown_table(self.group_rows(&languages, "language (detected)"), &mut out);
        }
        let categories = self.shown_categories();
        if !categories.is_empty() {
            let _ = writeln!(
                out,
                "### By category\n\nTokens relative to `{}`.\n",
                self.baseline
            );
            markdown_table(self.group_rows(&categories, "category"), &mut out);
        }
        if !self.costs.is_empty() {
            let _ = writeln!(out, "### Cost of sending the corpus once\n");
            markdown_table(self.cost_rows(true), &mut out);
        }
        if let Some(b) = &self.bench {
            let _ = writeln!(out, "### Benchmark\n");
            let _ = writeln!(out, "{}\n", bench_line(b));
            markdown_table(bench_rows(b), &mut out);
        }
        out
    }

    /// The comparison as CSV, one row per (section, group, tokenizer):
    /// `section` is `total`, `category`, `script` or, with `--lang`,
    /// `language (detected)` (its `name` an ISO 639-3 code).
    pub fn render_csv(&self) -> Result<String, csv::Error> {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record([
            "section",
            "name",
            "tokenizer",
            "units",
            "bytes",
            "chars",
            "tokens",
            "relative",
            "chars_per_token",
            "mb_per_second",
        ])?;
        for t in &self.tokenizers {
            w.write_record([
                "total",
                "",
                &t.tokenizer,
                &self.corpus.files_counted.to_string(),
                &self.corpus.bytes_counted.to_string(),
                &self.corpus.chars.to_string(),
                &t.tokens.to_string(),
                &t.relative.to_string(),
                &t.chars_per_token.to_string(),
                &t.mb_per_second.map_or(String::new(), |m| m.to_string()),
            ])?;
        }
        for (section, groups) in [
            ("category", &self.by_category),
            ("script", &self.by_script),
            ("language (detected)", &self.by_language),
        ] {
            for g in groups {
                for t in &self.tokenizers {
                    let n = &t.tokenizer;
                    let f =
                        |m: &Map<String, Value>| m.get(n).map_or(String::new(), Value::to_string);
                    w.write_record([
                        section,
                        &g.name,
                        n,
                        &g.units.to_string(),
                        &g.bytes.to_string(),
                        &g.chars.to_string(),
                        &f(&g.tokens),
                        &f(&g.relative),
                        &f(&g.chars_per_token),
                        "",
                    ])?;
                }
            }
        }
        let bytes = w.into_inner().map_err(|e| e.into_error())?;
        Ok(String::from_utf8(bytes).expect("the CSV writer writes UTF-8"))
    }
}

fn usd_of(map: &Map<String, Value>, key: &str) -> String {
    map.get(key)
        .and_then(|v| serde_json::from_value::<Decimal>(v.clone()).ok())
        .map_or("–".to_string(), format_usd)
}

fn markdown_table(rows: Vec<Vec<String>>, out: &mut String) {
    let mut rows = rows.into_iter();
    let Some(header) = rows.next() else {
        return;
    };
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let right: Vec<bool> = (0..header.len()).map(|i| i > 0).collect();
    Table {
        header: &header,
        right: &right,
        rows: rows.collect(),
    }
    .render(out);
}

/// Renders `rows` (a header first) as one grid, or, when wider than
/// [`MAX_WIDTH`], as several, each repeating the first column.
fn render_split(rows: Vec<Vec<String>>, out: &mut String) {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let width = |c: usize| {
        rows.iter()
            .filter_map(|r| r.get(c))
            .map(|s| s.chars().count())
            .max()
            .unwrap_or(0)
    };
    let first = width(0);
    let mut chunks: Vec<Vec<usize>> = Vec::new();
    let mut line = first;
    for c in 1..cols {
        let w = width(c) + 2;
        match chunks.last_mut() {
            Some(chunk) if line + w <= MAX_WIDTH => {
                chunk.push(c);
                line += w;
            }
            _ => {
                chunks.push(vec![c]);
                line = first + w;
            }
        }
    }
    for (i, chunk) in chunks.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let part = rows
            .iter()
            .map(|r| {
                std::iter::once(r[0].clone())
                    .chain(chunk.iter().map(|&c| r.get(c).cloned().unwrap_or_default()))
                    .collect()
            })
            .collect();
        Grid { rows: part }.render(out);
    }
}

fn bench_line(b: &Bench) -> String {
    format!(
        "{} runs on {} ({} cores, {} threads counted), tokenaudit {} ({}); wall {:.2} s median \
         ({:.2}–{:.2}); peak RSS {}; corpus sha256 {}",
        b.runs,
        b.machine.cpu.as_deref().unwrap_or("an unknown CPU"),
        b.machine.cores,
        b.threads,
        b.tool_version,
        b.commit,
        b.wall_seconds.median,
        b.wall_seconds.min,
        b.wall_seconds.max,
        b.peak_rss_bytes.map_or("unknown".to_string(), human_bytes),
        b.corpus_digest.as_deref().unwrap_or("unknown"),
    )
}

fn bench_rows(b: &Bench) -> Vec<Vec<String>> {
    let mut rows = vec![vec![
        "tokenizer".to_string(),
        "MB/s (median)".into(),
        "min–max".into(),
    ]];
    for t in &b.tokenizers {
        let s = &t.mb_per_second;
        rows.push(vec![
            t.tokenizer.clone(),
            s.median.to_string(),
            format!("{}–{}", s.min, s.max),
        ]);
    }
    rows
}

fn render_bench(b: &Bench, out: &mut String) {
    let _ = writeln!(out, "Benchmark: {}", bench_line(b));
    Grid {
        rows: bench_rows(b),
    }
    .render(out);
}
