/*!
The default output: a readable summary of a [`Report`] for a terminal.

Only a view: every figure here is also in the JSON, which remains the record.
*/

use std::collections::BTreeMap;
use std::fmt::Write;

use super::view::{self, tokens_of};
use serde_json::Value;

use super::{GroupReport, Report};
use crate::format::{format_usd, human_bytes, thousands};

/// How many skipped files are listed by name before the list is summarised.
const SKIPPED_LISTED: usize = 20;

/// A simple column layout: first column left-aligned, others right-aligned.
pub(crate) struct Grid {
    pub rows: Vec<Vec<String>>,
}

impl Grid {
    pub fn render(&self, out: &mut String) {
        let cols = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        let widths: Vec<usize> = (0..cols)
            .map(|c| {
                self.rows
                    .iter()
                    .filter_map(|r| r.get(c))
                    .map(|s| s.chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        for row in &self.rows {
            let mut line = String::new();
            for (c, cell) in row.iter().enumerate() {
                let pad = widths[c] - cell.chars().count();
                if c == 0 {
                    line.push_str(cell);
                    line.extend(std::iter::repeat_n(' ', pad));
                } else {
                    line.push_str("  ");
                    line.extend(std::iter::repeat_n(' ', pad));
                    line.push_str(cell);
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
    }
}

fn group_grid(title: &str, groups: &BTreeMap<String, GroupReport>, names: &[&str]) -> Grid {
    let mut header = vec![title.to_string(), "files".into(), "bytes".into()];
    header.extend(names.iter().map(|n| n.to_string()));
    let mut rows = vec![header];
    for (key, g) in groups {
        let mut row = vec![key.clone(), thousands(g.files), human_bytes(g.bytes)];
        row.extend(names.iter().map(|n| thousands(tokens_of(&g.tokens, n))));
        rows.push(row);
    }
    Grid { rows }
}

pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let t = &report.totals;
    let names = report.tokenizer_names();
    let _ = writeln!(
        out,
        "{} files seen: {} counted, {} skipped; {} counted of {} seen",
        thousands(t.files_seen),
        thousands(t.files_counted),
        thousands(t.files_skipped),
        human_bytes(t.bytes_counted),
        human_bytes(t.bytes),
    );
    out.push('\n');

    let mut rows = vec![vec![
        "tokenizer".to_string(),
        "tokens".into(),
        "tokens/KB".into(),
        "chars/token".into(),
        "p50".into(),
        "p90".into(),
        "p99".into(),
        "max".into(),
    ]];
    for pt in &t.per_tokenizer {
        let d = report.distribution.get(&pt.tokenizer);
        let q = |k: &str| {
            d.and_then(|d| d.get(k))
                .and_then(Value::as_u64)
                .map(thousands)
                .unwrap_or_default()
        };
        rows.push(vec![
            pt.tokenizer.clone(),
            thousands(pt.tokens),
            format!("{:.1}", pt.tokens_per_kb),
            format!("{:.2}", pt.chars_per_token),
            q("p50"),
            q("p90"),
            q("p99"),
            q("max"),
        ]);
    }
    Grid { rows }.render(&mut out);
    out.push_str("(p50..max: tokens per document)\n\n");

    if !report.by_category.is_empty() {
        group_grid("category", &report.by_category, &names).render(&mut out);
        out.push('\n');
    }

    if let Some((header, mut rows)) = view::formats(report, &names) {
        rows.insert(0, header);
        Grid { rows }.render(&mut out);
        let _ = writeln!(out, "({})\n", view::FORMATS_NOTE);
    }

    if let Some(langs) = &report.by_language {
        let mut header = vec![
            "language (detected)".to_string(),
            "pieces".into(),
            "reliable".into(),
            "bytes".into(),
        ];
        header.extend(names.iter().map(|n| n.to_string()));
        let mut rows = vec![header];
        for l in &langs.languages {
            let mut row = vec![
                format!("{} {}", l.language, l.name),
                thousands(l.pieces),
                thousands(l.reliable_pieces),
                human_bytes(l.bytes),
            ];
            row.extend(names.iter().map(|n| thousands(tokens_of(&l.tokens, n))));
            rows.push(row);
        }
        Grid { rows }.render(&mut out);
        let _ = writeln!(out, "(languages detected by {})\n", langs.detected_by);
    }

    if !report.largest.is_empty() {
        let _ = writeln!(out, "largest documents ({})", names.first().unwrap_or(&""));
        let width = report
            .largest
            .iter()
            .map(|l| thousands(l.tokens).len())
            .max()
            .unwrap_or(0);
        for l in &report.largest {
            let _ = writeln!(out, "{:>width$}  {}", thousands(l.tokens), l.path);
        }
        out.push('\n');
    }

    render_transcripts(report, &mut out);
    render_fields(report, &mut out);
    render_costs(report, &mut out);
    render_transcript_costs(report, &mut out);
    render_projection(report, &mut out);

    if !report.skipped.is_empty() {
        let mut by_reason: BTreeMap<&str, u64> = BTreeMap::new();
        for s in &report.skipped {
            *by_reason.entry(s.reason_key).or_default() += 1;
        }
        let summary: Vec<String> = by_reason.iter().map(|(k, n)| format!("{n} {k}")).collect();
        let _ = writeln!(
            out,
            "skipped {} files ({}):",
            report.skipped.len(),
            summary.join(", ")
        );
        for s in report.skipped.iter().take(SKIPPED_LISTED) {
            let _ = writeln!(out, "  {}: {}", s.path, s.reason);
        }
        if report.skipped.len() > SKIPPED_LISTED {
            let _ = writeln!(
                out,
                "  ... and {} more (--json or --csv lists them all)",
                report.skipped.len() - SKIPPED_LISTED
            );
        }
    }
    // Provenance, in short (the JSON has it all): which data, which tool.
    let p = &report.provenance;
    if let Some(d) = &p.corpus_digest {
        let _ = writeln!(
            out,
            "\ncorpus sha256 {} ({} files); {} {} ({})",
            d.sha256,
            thousands(d.files),
            p.tool,
            p.version,
            p.commit
        );
    }
    out
}

fn approx(d: Option<rust_decimal::Decimal>) -> String {
    d.map(|d| format!("≈{}", format_usd(d)))
        .unwrap_or_else(|| "-".to_string())
}

/// Chat files: conversations, malformed records, and per tokenizer what
/// they send, return, and send again when replayed turn by turn.
fn render_transcripts(report: &Report, out: &mut String) {
    let Some(t) = &report.transcripts else {
        return;
    };
    let _ = writeln!(
        out,
        "transcripts: {} records: {} conversations ({} messages), {} malformed",
        thousands(t.records),
        thousands(t.conversations),
        thousands(t.messages),
        thousands(t.malformed.count),
    );
    let mut rows = vec![vec![
        "tokenizer".to_string(),
        "chat format".into(),
        "input".into(),
        "output".into(),
        "replayed input".into(),
        "of which cacheable".into(),
    ]];
    let mut estimates = false;
    for name in report.tokenizer_names() {
        let format = t.chat_format.get(name);
        let estimate = format
            .and_then(|f| f.get("estimate"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        estimates |= estimate;
        let format = format
            .and_then(|f| f.get("format"))
            .and_then(Value::as_str)
            .unwrap_or("");
        rows.push(vec![
            name.to_string(),
            if estimate {
                format!("{format}*")
            } else {
                format.to_string()
            },
            thousands(tokens_of(&t.input_tokens, name)),
            thousands(tokens_of(&t.output_tokens, name)),
            thousands(tokens_of(&t.replayed_input_tokens, name)),
            thousands(tokens_of(&t.replayed_cached_input_tokens, name)),
        ]);
    }
    Grid { rows }.render(out);
    if estimates {
        out.push_str("* estimate: per-message overhead not from the model's own template\n");
    }
    if !t.non_text.is_empty() {
        let kinds: Vec<String> = t.non_text.iter().map(|(k, n)| format!("{n} {k}")).collect();
        let _ = writeln!(out, "non-text parts (not tokenized): {}", kinds.join(", "));
    }
    if let Some(line) = super::view::image_estimate_line(&t.image_tokens_estimate) {
        let _ = writeln!(out, "{line}");
    }
    for m in t.malformed.records.iter().take(SKIPPED_LISTED) {
        let _ = writeln!(out, "  malformed {}:{}: {}", m.path, m.line, m.reason);
    }
    if t.malformed.count > SKIPPED_LISTED as u64 {
        let _ = writeln!(
            out,
            "  ... and {} more malformed records (--json lists the first {})",
            t.malformed.count - SKIPPED_LISTED as u64,
            t.malformed.kept
        );
    }
    out.push('\n');
}

/// CSV and JSON fields files: rows read, documents, malformed rows, and
/// per tokenizer the input and output documents' tokens.
fn render_fields(report: &Report, out: &mut String) {
    let Some(f) = &report.fields else {
        return;
    };
    let _ = writeln!(
        out,
        "fields: {} records: {} documents ({} output), {} malformed",
        thousands(f.records),
        thousands(f.documents),
        thousands(f.output_documents),
        thousands(f.malformed.count),
    );
    let mut rows = vec![vec![
        "tokenizer".to_string(),
        "input".into(),
        "output".into(),
    ]];
    for name in report.tokenizer_names() {
        rows.push(vec![
            name.to_string(),
            thousands(tokens_of(&f.input_tokens, name)),
            thousands(tokens_of(&f.output_tokens, name)),
        ]);
    }
    Grid { rows }.render(out);
    for m in f.malformed.records.iter().take(SKIPPED_LISTED) {
        let _ = writeln!(out, "  malformed {}:{}: {}", m.path, m.line, m.reason);
    }
    if f.malformed.count > SKIPPED_LISTED as u64 {
        let _ = writeln!(
            out,
            "  ... and {} more malformed records (--json lists the first {})",
            f.malformed.count - SKIPPED_LISTED as u64,
            f.malformed.kept
        );
    }
    out.push('\n');
}

fn opt_usd(d: Option<rust_decimal::Decimal>) -> String {
    d.map(format_usd).unwrap_or_else(|| "-".to_string())
}

/// One line per priced model: the cost of sending the corpus once.
fn render_costs(report: &Report, out: &mut String) {
    if report.costs.is_empty() {
        return;
    }
    let _ = writeln!(out, "cost of sending the corpus once as input");
    let mut rows = vec![vec![
        "model".to_string(),
        "tokenizer".into(),
        "input tokens".into(),
        "$/Mtok".into(),
        "standard".into(),
        "cached".into(),
        "batch".into(),
        "over window".into(),
    ]];
    let mut estimates = false;
    let mut banded = false;
    for c in &report.costs {
        estimates |= c.estimate && c.estimate_band.is_none();
        banded |= c.estimate_band.is_some();
        let (tokens, standard, cached, batch) = match &c.estimate_band {
            Some(b) => (
                format!(
                    "≈{} ({}–{})",
                    thousands(b.input_tokens.estimate),
                    thousands(b.input_tokens.estimate_low),
                    thousands(b.input_tokens.estimate_high)
                ),
                format!(
                    "≈{} ({}–{})",
                    format_usd(b.input_cost_usd.estimate),
                    format_usd(b.input_cost_usd.estimate_low),
                    format_usd(b.input_cost_usd.estimate_high)
                ),
                approx(c.cached_input_cost_usd),
                approx(c.batch_input_cost_usd),
            ),
            None => (
                thousands(c.input_tokens),
                format_usd(c.input_cost_usd),
                opt_usd(c.cached_input_cost_usd),
                opt_usd(c.batch_input_cost_usd),
            ),
        };
        rows.push(vec![
            c.model.clone(),
            if c.estimate && c.estimate_band.is_none() {
                format!("{}*", c.tokenizer)
            } else if c.estimate {
                format!("≈{}", c.tokenizer)
            } else {
                c.tokenizer.clone()
            },
            tokens,
            c.input_usd_per_mtok.normalize().to_string(),
            standard,
            cached,
            batch,
            thousands(c.over_context.len() as u64),
        ]);
    }
    Grid { rows }.render(out);
    if banded {
        out.push_str(
            "≈ estimate: a proxy tokenizer's count corrected per content class (data/calibration.toml, \
             or as --count-api fitted it on this corpus), with its range; --count-api makes it exact\n",
        );
    }
    if estimates {
        out.push_str(
            "* estimate: counted with a proxy tokenizer (the model's own is not public)\n",
        );
    }
    for r in &report.count_api {
        let _ = writeln!(
            out,
            "count API ({}): {} documents ({}) sent to {}, {} requests, {} answers from the cache",
            r.provider.name(),
            thousands(r.documents_sent),
            human_bytes(r.bytes_sent),
            r.endpoint,
            thousands(r.requests),
            thousands(r.cached_answers)
        );
        for m in &r.models {
            let fits: Vec<String> = m
                .fitted
                .iter()
                .map(|f| {
                    format!(
                        "{} {} ({}–{}, {} documents)",
                        f.class, f.multiplier, f.low, f.high, f.documents
                    )
                })
                .collect();
            let _ = writeln!(
                out,
                "  {}: {} documents counted exactly; fitted {}",
                m.model,
                thousands(m.documents),
                fits.join(", ")
            );
        }
        for w in &r.warnings {
            let _ = writeln!(out, "  warning: {w}");
        }
    }
    if let Some(p) = &report.provenance.prices {
        let _ = writeln!(out, "prices: {} (as of {})", p.source, p.as_of);
    }
    out.push('\n');
}

/// One line per priced model: what the chat transcripts cost as an API
/// bills them.
fn render_transcript_costs(report: &Report, out: &mut String) {
    let priced = super::view::transcript_cost_rows(report);
    if priced.is_empty() {
        return;
    }
    let _ = writeln!(out, "cost of the chat transcripts (input, output, replay)");
    let mut rows = vec![super::view::TRANSCRIPT_COST_HEADER
        .iter()
        .map(|s| s.to_string())
        .collect::<Vec<_>>()];
    for (estimate, mut cells) in priced {
        if estimate {
            cells[1].push('*');
        }
        rows.push(cells.to_vec());
    }
    Grid { rows }.render(out);
    let _ = writeln!(out, "{}", super::view::TRANSCRIPT_COST_NOTE);
    out.push('\n');
}

/// The scenario's monthly projection per phase: the token story.
fn render_projection(report: &Report, out: &mut String) {
    let Some(p) = &report.projection else {
        return;
    };
    let _ = writeln!(out, "projection: {}", p.scenario);
    let mut rows = vec![vec![
        "phase".to_string(),
        "input tok/month".into(),
        "output tok/month".into(),
        "cost/month".into(),
        "p50..p90".into(),
        "budget".into(),
        "".into(),
    ]];
    for ph in &p.phases {
        rows.push(vec![
            ph.phase.clone(),
            thousands(ph.input_tokens_per_month),
            thousands(ph.output_tokens_per_month),
            format_usd(ph.cost_usd_per_month),
            format!(
                "{}..{}",
                format_usd(ph.cost_usd_per_month_p50),
                format_usd(ph.cost_usd_per_month_p90)
            ),
            opt_usd(ph.budget_usd_per_month),
            match ph.within_budget {
                Some(true) => "within".into(),
                Some(false) => "OVER".into(),
                None => String::new(),
            },
        ]);
    }
    Grid { rows }.render(out);
    if let Some(last) = p.phases.last() {
        let mut rows = vec![vec![
            format!("{} by workload", last.phase),
            "model".into(),
            "calls/month".into(),
            "input tok/call".into(),
            "cost/month".into(),
        ]];
        for w in &last.workloads {
            rows.push(vec![
                format!("  {}", w.workload),
                if w.estimate {
                    format!("{}*", w.model)
                } else {
                    w.model.clone()
                },
                w.calls_per_month.round().to_string(),
                w.input_tokens_per_call.mean.round().to_string(),
                format_usd(w.cost_usd_per_month),
            ]);
        }
        Grid { rows }.render(out);
    }
    if let Some(v) = &p.value_hypothesis {
        let _ = writeln!(
            out,
            "value hypothesis: {}",
            v.split_whitespace().collect::<Vec<_>>().join(" ")
        );
    }
    for n in &p.notes {
        let _ = writeln!(out, "note: {n}");
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_numbers() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
    }
}
