/*!
The report: everything an audit found, in one structure that every output
format is rendered from.

The canonical form is the JSON (`tokenaudit.report/v1`, fields in a stable
order). Everything that depends on the machine or the moment (wall time,
threads, the command line) lives in `run`, so that the rest is identical for
identical input, whatever the thread count.
*/

pub mod compare;
pub mod csv;
pub mod focus;
pub mod html;
pub mod junit;
pub mod markdown;
pub mod partial;
pub mod rows;
pub mod table;
pub mod transcripts;
pub mod view;
pub mod write;

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::count::chat_format::Overheads;
use crate::digest::CorpusDigest;
use crate::language;
use crate::pricing::{Charge, ModelCost, PriceProvenance, Priced, Projection};
use crate::script::ScriptGroup;
use crate::tally::{Group, Histogram, Tally};
use crate::tokenize::TokenizerInfo;
use transcripts::{FieldsReport, TranscriptsReport};

/// The `schema` of every report this version writes.
pub const SCHEMA: &str = "tokenaudit.report/v1";

/// Everything an audit found; every output format is a view of it, and its
/// JSON is the canonical record (ARCHITECTURE.md, "The report schema").
#[derive(Debug, Serialize)]
pub struct Report {
    /// [`SCHEMA`].
    pub schema: &'static str,
    /// Where every figure came from: tool, tokenizers, prices, corpus digest.
    pub provenance: Provenance,
    /// Files, bytes and tokens of the whole audit.
    pub totals: Totals,
    /// The same sums per category (`--category`; the top folder by default).
    pub by_category: BTreeMap<String, GroupReport>,
    /// The same sums per file extension.
    pub by_extension: BTreeMap<String, GroupReport>,
    /// The same sums per top folder (the first folder below the root, `.`
    /// for files directly in it), whatever `--category` rules say.
    pub by_folder: BTreeMap<String, GroupReport>,
    /// By what files were read as: `text`, or a document format (`pdf`,
    /// `docx`, ...) whose extracted text was counted.
    pub by_format: BTreeMap<String, FormatReport>,
    /// By the dominant script of each piece of text (a file, or a piece of
    /// a large one; see `script`), in the script table's order, `none` (no
    /// letters) last.
    pub by_script: Vec<ScriptReport>,
    /// By the detected language of each piece of text (`--lang`; absent
    /// without it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by_language: Option<LanguagesReport>,
    /// Tokens per document, per tokenizer: quantiles and histogram.
    pub distribution: Map<String, Value>,
    /// The largest documents by the first tokenizer's count.
    pub largest: Vec<LargestEntry>,
    /// Chat transcripts (files read as `chat`): conversations, malformed
    /// records, input/output/replayed tokens. Absent when there were none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transcripts: Option<TranscriptsReport>,
    /// CSV/TSV rows and JSON/JSONL records read by `--column`/`--field`:
    /// records, documents, malformed rows, input/output tokens. Absent when
    /// there were none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<FieldsReport>,
    /// Per priced model (`-m`): one-pass input cost, documents over its
    /// context window. Empty when no model is priced.
    pub costs: Vec<ModelCost>,
    /// The scenario's monthly projection (`--scenario`), or null.
    pub projection: Option<Projection>,
    /// `costs` and `projection` as priced lines (model, category, meter,
    /// rate): what the FOCUS export is written from.
    pub charges: Vec<Charge>,
    /// Per provider asked with `--count-api`: documents and bytes sent, the
    /// endpoint, the fitted multipliers, warnings. Empty otherwise.
    pub count_api: Vec<crate::count_api::CountApiReport>,
    /// Every file seen and not counted, with its reason, in path order.
    pub skipped: Vec<SkippedEntry>,
    /// A shard's report only (`audit --shard`): its shard and the state
    /// `merge` adds up. Absent from a whole run's report and a merged one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partial: Option<partial::Partial>,
    /// What depends on the machine and the moment (timings, threads, the
    /// command line): everything else is identical for identical input.
    pub run: Run,
}

#[derive(Debug, Serialize)]
pub struct Provenance {
    pub tool: &'static str,
    pub version: &'static str,
    /// The git commit the binary was built from (`unknown` when built
    /// outside a git checkout), `-dirty` when the tree had changes.
    pub commit: &'static str,
    pub parse: String,
    pub roots: Vec<String>,
    pub tokenizers: Vec<TokenizerInfo>,
    /// The price catalog's source and as-of date, when anything is priced.
    pub prices: Option<PriceProvenance>,
    /// Which bytes were audited (see `digest`); set by the audit.
    pub corpus_digest: Option<CorpusDigest>,
}

/// Sums over the whole audit: `files_seen = files_counted + files_skipped`
/// and `bytes = bytes_counted + bytes_skipped`.
#[derive(Debug, Serialize)]
pub struct Totals {
    /// Every file the walk reached.
    pub files_seen: u64,
    /// Files counted.
    pub files_counted: u64,
    /// Files skipped, each listed in [`Report::skipped`] with its reason.
    pub files_skipped: u64,
    /// Bytes of every file seen.
    pub bytes: u64,
    /// Bytes of the files counted.
    pub bytes_counted: u64,
    /// Bytes of the files skipped.
    pub bytes_skipped: u64,
    /// Characters of the counted text.
    pub chars: u64,
    /// Lines of the counted text.
    pub lines: u64,
    /// Tokenizer name → tokens.
    pub tokens: Map<String, Value>,
    /// Per tokenizer: tokens and their density.
    pub per_tokenizer: Vec<TokenizerTotals>,
}

#[derive(Debug, Serialize)]
pub struct TokenizerTotals {
    pub tokenizer: String,
    pub tokens: u64,
    /// Tokens per 1,000 bytes of counted text.
    pub tokens_per_kb: f64,
    pub chars_per_token: f64,
}

#[derive(Debug, Serialize)]
pub struct GroupReport {
    pub files: u64,
    pub bytes: u64,
    pub chars: u64,
    pub lines: u64,
    pub tokens: Map<String, Value>,
    /// Tokenizer name → median tokens per document.
    pub tokens_p50: Map<String, Value>,
    /// Tokenizer name → 90th percentile of tokens per document.
    pub tokens_p90: Map<String, Value>,
}

/// What one format's files came to: pages (sheets, slides, messages) and
/// the characters extracted from them, beside their tokens.
#[derive(Debug, Serialize)]
pub struct FormatReport {
    pub files: u64,
    pub pages: u64,
    pub bytes: u64,
    /// Characters of extracted text (of the text itself, for `text`).
    pub chars: u64,
    pub tokens: Map<String, Value>,
}

/// The pieces of text whose dominant script is one group.
#[derive(Debug, Serialize)]
pub struct ScriptReport {
    /// `latin`, `cyrillic`, `greek`, `arabic`, `hebrew`, `indic`, `han`,
    /// `kana`, `hangul`, `thai`, `other`, or `none`.
    pub script: &'static str,
    pub pieces: u64,
    pub bytes: u64,
    pub chars: u64,
    pub tokens: Map<String, Value>,
}

/// The pieces of text by detected language.
#[derive(Debug, Serialize)]
pub struct LanguagesReport {
    /// What detected them: a statistical guess per piece, not a declared
    /// language ([`language::DETECTOR`]).
    pub detected_by: &'static str,
    /// Largest first (bytes), the undetermined last.
    pub languages: Vec<LanguageReport>,
}

/// The pieces of text detected as one language.
#[derive(Debug, Serialize)]
pub struct LanguageReport {
    /// ISO 639-3 code (`eng`, `fra`, `cmn`, ...), or `und`.
    pub language: &'static str,
    /// English name (`English`, ...), or `undetermined`.
    pub name: &'static str,
    pub pieces: u64,
    /// Pieces whose detection whatlang deems reliable.
    pub reliable_pieces: u64,
    pub bytes: u64,
    pub chars: u64,
    pub tokens: Map<String, Value>,
}

#[derive(Debug, Serialize)]
pub struct LargestEntry {
    pub path: String,
    /// Tokens of the first selected tokenizer.
    pub tokens: u64,
}

#[derive(Debug, Serialize)]
pub struct SkippedEntry {
    pub path: String,
    pub category: String,
    pub bytes: u64,
    pub reason: String,
    pub reason_key: &'static str,
}

/// Facts about this run rather than about the corpus.
#[derive(Debug, Default, Serialize, serde::Deserialize)]
pub struct Run {
    pub command_line: Vec<String>,
    /// When the audit started, UTC (`2026-12-04T21:58:37Z`).
    pub started_utc: String,
    pub threads: usize,
    pub wall_seconds: f64,
    pub mb_per_second: f64,
    /// Per tokenizer: the time spent in its counter, summed over threads.
    pub counters: Vec<CounterTime>,
}

/// The time one tokenizer's counters spent, over every thread, and the bytes
/// of text they were given.
#[derive(Clone, Debug, Default, Serialize, serde::Deserialize)]
pub struct CounterTime {
    pub tokenizer: String,
    pub seconds: f64,
    pub text_bytes: u64,
}

impl CounterTime {
    /// Text megabytes (10^6 bytes) per second of this counter: the speed of
    /// one thread. `None` when it was not timed.
    pub fn mb_per_second(&self) -> Option<f64> {
        (self.seconds > 0.0).then(|| significant(self.text_bytes as f64 / 1e6 / self.seconds))
    }
}

/// `x` to three significant digits: a speed is not known closer than that,
/// and a small one must not round to zero.
pub fn significant(x: f64) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let scale = 10f64.powi(2 - x.abs().log10().floor() as i32);
    (x * scale).round() / scale
}

fn by_name(names: &[String], values: &[u64]) -> Map<String, Value> {
    names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.clone(), Value::from(values.get(i).copied().unwrap_or(0))))
        .collect()
}

fn group(names: &[String], g: &Group) -> GroupReport {
    GroupReport {
        files: g.files,
        bytes: g.bytes,
        chars: g.chars,
        lines: g.lines,
        tokens: by_name(names, &g.tokens),
        tokens_p50: by_name(names, &quantiles(&g.distribution, 0.5)),
        tokens_p90: by_name(names, &quantiles(&g.distribution, 0.9)),
    }
}

fn quantiles(hs: &[Histogram], q: f64) -> Vec<u64> {
    hs.iter().map(|h| h.quantile(q)).collect()
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn distribution(h: &Histogram) -> Value {
    serde_json::json!({
        "documents": h.count(),
        "p50": h.quantile(0.5),
        "p90": h.quantile(0.9),
        "p99": h.quantile(0.99),
        "max": h.max(),
        "relative_error": Histogram::RELATIVE_ERROR,
        "buckets": h.buckets().map(|(lb, n)| [lb, n]).collect::<Vec<_>>(),
    })
}

impl Report {
    pub fn new(
        tally: &Tally,
        tokenizers: Vec<TokenizerInfo>,
        roots: Vec<String>,
        parse: String,
        prices: Option<PriceProvenance>,
        priced: Priced,
        run: Run,
    ) -> Report {
        let names: Vec<String> = tokenizers.iter().map(|t| t.name.clone()).collect();
        let c = &tally.counted;
        let per_tokenizer = names
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let tokens = c.tokens.get(i).copied().unwrap_or(0);
                TokenizerTotals {
                    tokenizer: n.clone(),
                    tokens,
                    tokens_per_kb: if c.bytes == 0 {
                        0.0
                    } else {
                        round2(tokens as f64 * 1000.0 / c.bytes as f64)
                    },
                    chars_per_token: if tokens == 0 {
                        0.0
                    } else {
                        round2(c.chars as f64 / tokens as f64)
                    },
                }
            })
            .collect();
        Report {
            schema: SCHEMA,
            provenance: Provenance {
                tool: "tokenaudit",
                version: env!("CARGO_PKG_VERSION"),
                commit: env!("TOKENAUDIT_COMMIT"),
                parse,
                roots,
                tokenizers,
                prices,
                corpus_digest: None,
            },
            totals: Totals {
                files_seen: tally.files_seen(),
                files_counted: c.files,
                files_skipped: tally.skipped.len() as u64,
                bytes: tally.bytes_seen(),
                bytes_counted: c.bytes,
                bytes_skipped: tally.bytes_skipped,
                chars: c.chars,
                lines: c.lines,
                tokens: by_name(&names, &c.tokens),
                per_tokenizer,
            },
            by_category: tally
                .by_category
                .iter()
                .map(|(k, g)| (k.clone(), group(&names, g)))
                .collect(),
            by_extension: tally
                .by_extension
                .iter()
                .map(|(k, g)| (k.clone(), group(&names, g)))
                .collect(),
            by_folder: tally
                .by_folder
                .iter()
                .map(|(k, g)| (k.clone(), group(&names, g)))
                .collect(),
            by_format: tally
                .by_format
                .iter()
                .map(|(k, g)| {
                    let report = FormatReport {
                        files: g.files,
                        pages: g.pages,
                        bytes: g.bytes,
                        chars: g.chars,
                        tokens: by_name(&names, &g.tokens),
                    };
                    (k.clone(), report)
                })
                .collect(),
            by_script: tally
                .by_script
                .iter()
                .filter(|(k, _)| k.is_some())
                .chain(tally.by_script.iter().filter(|(k, _)| k.is_none()))
                .map(|(k, t)| ScriptReport {
                    script: ScriptGroup::name_of(*k),
                    pieces: t.pieces,
                    bytes: t.bytes,
                    chars: t.chars,
                    tokens: by_name(&names, &t.tokens),
                })
                .collect(),
            by_language: languages_report(tally, &names),
            distribution: names
                .iter()
                .zip(&tally.counted.distribution)
                .map(|(n, h)| (n.clone(), distribution(h)))
                .collect(),
            largest: tally
                .largest
                .entries
                .iter()
                .map(|(t, p)| LargestEntry {
                    path: p.display().to_string(),
                    tokens: *t,
                })
                .collect(),
            transcripts: None,
            fields: None,
            costs: priced.costs,
            projection: priced.projection,
            charges: priced.charges,
            count_api: priced.count_api,
            skipped: tally
                .skipped
                .iter()
                .map(|s| SkippedEntry {
                    path: s.path.display().to_string(),
                    category: s.category.clone(),
                    bytes: s.bytes,
                    reason: s.reason.to_string(),
                    reason_key: s.reason.key(),
                })
                .collect(),
            partial: None,
            run,
        }
    }

    /// Adds the `transcripts` section from the tally's chat files.
    pub fn with_transcripts(mut self, tally: &Tally, formats: &[Overheads]) -> Report {
        let names: Vec<String> = self
            .provenance
            .tokenizers
            .iter()
            .map(|t| t.name.clone())
            .collect();
        self.transcripts = tally
            .transcripts
            .as_ref()
            .map(|t| TranscriptsReport::new(t, &names, formats));
        self.fields = tally.fields.as_ref().map(|f| FieldsReport::new(f, &names));
        self
    }

    pub fn tokenizer_names(&self) -> Vec<&str> {
        self.provenance
            .tokenizers
            .iter()
            .map(|t| t.name.as_str())
            .collect()
    }

    /// The canonical JSON, pretty-printed, with a final newline.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("a report always serializes");
        s.push('\n');
        s
    }
}

/// `by_language`, when `--lang` detected any (largest first, `und` last).
fn languages_report(tally: &Tally, names: &[String]) -> Option<LanguagesReport> {
    if tally.by_language.is_empty() {
        return None;
    }
    let mut languages: Vec<LanguageReport> = tally
        .by_language
        .iter()
        .map(|(code, t)| LanguageReport {
            language: code,
            name: language::name(code),
            pieces: t.pieces,
            reliable_pieces: t.reliable_pieces,
            bytes: t.bytes,
            chars: t.chars,
            tokens: by_name(names, &t.tokens),
        })
        .collect();
    languages.sort_by_key(|l| {
        (
            l.language == language::UNDETERMINED,
            std::cmp::Reverse(l.bytes),
        )
    });
    Some(LanguagesReport {
        detected_by: language::DETECTOR,
        languages,
    })
}
