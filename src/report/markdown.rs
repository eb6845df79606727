/*!
`--markdown FILE`: the report's summary as GitHub-flavoured Markdown tables,
fit to paste into a pull request or a wiki page, or for a CI job to post as
a comment (`check --markdown`).

A view of the [`Report`] like the terminal table: every figure is also in the
JSON. Tables run down, not across: one row per tokenizer, per model, per
category (the largest [`view::TOP`] and `other`), so that an audit with
fifteen tokenizers still fits a page.
*/

use std::collections::BTreeMap;
use std::fmt::Write;

use super::{view, Report};
use crate::format::{format_usd, human_bytes, thousands};

/// A table cell: a `|` would end the cell and a newline the row.
fn cell(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace(['\n', '\r'], " ")
}

/// Text in backticks, as code: paths and names keep their underscores and
/// asterisks. A backtick inside is replaced, as Markdown cannot escape it
/// there.
fn code(s: &str) -> String {
    format!("`{}`", s.replace('`', "'"))
}

pub(crate) struct Table<'a> {
    pub header: &'a [&'a str],
    /// `true` for columns aligned right (numbers).
    pub right: &'a [bool],
    pub rows: Vec<Vec<String>>,
}

impl Table<'_> {
    pub fn render(&self, out: &mut String) {
        let _ = writeln!(out, "| {} |", self.header.join(" | "));
        let rule: Vec<&str> = self
            .right
            .iter()
            .map(|&r| if r { "---:" } else { "---" })
            .collect();
        let _ = writeln!(out, "|{}|", rule.join("|"));
        for row in &self.rows {
            let cells: Vec<String> = row.iter().map(|c| cell(c)).collect();
            let _ = writeln!(out, "| {} |", cells.join(" | "));
        }
        out.push('\n');
    }
}

pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let t = &report.totals;
    let names = report.tokenizer_names();
    out.push_str("## Token audit\n\n");
    let _ = writeln!(
        out,
        "{} files seen: **{} counted**, {} skipped; {} counted of {} seen.\n",
        thousands(t.files_seen),
        thousands(t.files_counted),
        thousands(t.files_skipped),
        human_bytes(t.bytes_counted),
        human_bytes(t.bytes),
    );

    let mut rows = Vec::new();
    for pt in &t.per_tokenizer {
        let d = report.distribution.get(&pt.tokenizer);
        let q = |k: &str| {
            d.and_then(|d| d.get(k))
                .and_then(serde_json::Value::as_u64)
                .map(thousands)
                .unwrap_or_default()
        };
        rows.push(vec![
            code(&pt.tokenizer),
            thousands(pt.tokens),
            format!("{:.1}", pt.tokens_per_kb),
            q("p50"),
            q("p90"),
            q("p99"),
        ]);
    }
    out.push_str("### Tokens per tokenizer\n\n");
    Table {
        header: &["tokenizer", "tokens", "tokens/KB", "p50", "p90", "p99"],
        right: &[false, true, true, true, true, true],
        rows,
    }
    .render(&mut out);
    out.push_str("p50, p90, p99: tokens per document.\n\n");

    render_costs(report, &mut out);
    render_projection(report, &mut out);
    render_transcripts(report, &names, &mut out);

    // Top folders only when --category rules made them differ.
    let folders =
        (!view::categories_are_folders(report)).then_some(("top folder", &report.by_folder));
    for (what, groups) in [("category", &report.by_category)]
        .into_iter()
        .chain(folders)
    {
        if groups.is_empty() {
            continue;
        }
        let first = names.first().copied().unwrap_or("");
        let _ = writeln!(out, "### By {what} ({})\n", code(first));
        let rows = view::top(groups, &names, view::TOP)
            .into_iter()
            .map(|r| {
                let tokens = r.tokens.first().copied().unwrap_or(0);
                vec![
                    cell(&r.name),
                    thousands(r.files),
                    human_bytes(r.bytes),
                    thousands(tokens),
                    view::percent(
                        tokens,
                        t.per_tokenizer.first().map(|p| p.tokens).unwrap_or(0),
                    ),
                ]
            })
            .collect();
        Table {
            header: &[what, "files", "bytes", "tokens", "share"],
            right: &[false, true, true, true, true],
            rows,
        }
        .render(&mut out);
    }

    if let Some((header, rows)) = view::formats(report, &names) {
        out.push_str("### By format\n\n");
        let header: Vec<&str> = header.iter().map(String::as_str).collect();
        let right: Vec<bool> = (0..header.len()).map(|i| i > 0).collect();
        Table {
            header: &header,
            right: &right,
            rows,
        }
        .render(&mut out);
        let _ = writeln!(out, "{}.\n", view::FORMATS_NOTE);
    }

    if !report.skipped.is_empty() {
        let mut by_reason: BTreeMap<&str, u64> = BTreeMap::new();
        for s in &report.skipped {
            *by_reason.entry(s.reason_key).or_default() += 1;
        }
        out.push_str("### Skipped\n\n");
        Table {
            header: &["reason", "files"],
            right: &[false, true],
            rows: by_reason
                .iter()
                .map(|(k, n)| vec![k.to_string(), thousands(*n)])
                .collect(),
        }
        .render(&mut out);
        out.push_str("The JSON and CSV reports list every skipped file with its reason.\n\n");
    }

    render_provenance(report, &mut out);
    out
}

fn render_costs(report: &Report, out: &mut String) {
    if report.costs.is_empty() {
        return;
    }
    out.push_str("### Cost of sending the corpus once (input)\n\n");
    let rows = report
        .costs
        .iter()
        .map(|c| {
            vec![
                code(&c.model),
                if c.estimate {
                    format!("{} (estimate)", code(&c.tokenizer))
                } else {
                    code(&c.tokenizer)
                },
                view::tokens_banded(c),
                c.input_usd_per_mtok.normalize().to_string(),
                view::cost_banded(c),
                thousands(c.over_context.len() as u64),
            ]
        })
        .collect();
    Table {
        header: &[
            "model",
            "tokenizer",
            "input tokens",
            "USD/Mtok",
            "cost",
            "over window",
        ],
        right: &[false, false, true, true, true, true],
        rows,
    }
    .render(out);
    if report.costs.iter().any(|c| c.estimate) {
        out.push_str(
            "An estimate is counted with a proxy tokenizer: the model's own is not public.\n\n",
        );
    }
    if report.costs.iter().any(|c| c.estimate_band.is_some()) {
        out.push_str(
            "≈ a proxy's count corrected per content class (`data/calibration.toml`, or as \
             `--count-api` fitted it on this corpus), with its range (low–high); `--count-api` \
             makes it exact.\n\n",
        );
    }
    for r in &report.count_api {
        let _ = writeln!(
            out,
            "Count API ({}): {} documents ({}) sent to `{}`, {} requests, {} answers from the cache.\n",
            r.provider.name(),
            thousands(r.documents_sent),
            human_bytes(r.bytes_sent),
            r.endpoint,
            thousands(r.requests),
            thousands(r.cached_answers)
        );
        for m in &r.models {
            for f in &m.fitted {
                let _ = writeln!(
                    out,
                    "- `{}` {}: fitted {} ({}–{}) on {} documents",
                    m.model, f.class, f.multiplier, f.low, f.high, f.documents
                );
            }
        }
        for w in &r.warnings {
            let _ = writeln!(out, "- warning: {w}");
        }
        out.push('\n');
    }
}

fn render_projection(report: &Report, out: &mut String) {
    let Some(p) = &report.projection else {
        return;
    };
    let _ = writeln!(out, "### Monthly projection: {}\n", cell(&p.scenario));
    let rows = p
        .phases
        .iter()
        .map(|ph| {
            vec![
                cell(&ph.phase),
                thousands(ph.input_tokens_per_month),
                thousands(ph.output_tokens_per_month),
                format_usd(ph.cost_usd_per_month),
                format!(
                    "{}..{}",
                    format_usd(ph.cost_usd_per_month_p50),
                    format_usd(ph.cost_usd_per_month_p90)
                ),
                ph.budget_usd_per_month
                    .map(format_usd)
                    .unwrap_or_else(|| "-".into()),
                match ph.within_budget {
                    Some(true) => "within".into(),
                    Some(false) => "**over**".into(),
                    None => String::new(),
                },
            ]
        })
        .collect();
    Table {
        header: &[
            "phase",
            "input tokens/month",
            "output tokens/month",
            "cost/month",
            "p50..p90",
            "budget",
            "",
        ],
        right: &[false, true, true, true, true, true, false],
        rows,
    }
    .render(out);
    if let Some(v) = &p.value_hypothesis {
        let _ = writeln!(
            out,
            "Value hypothesis: {}\n",
            v.split_whitespace().collect::<Vec<_>>().join(" ")
        );
    }
    for n in &p.notes {
        let _ = writeln!(out, "- {}", n.replace('\n', " "));
    }
    if !p.notes.is_empty() {
        out.push('\n');
    }
}

fn render_transcripts(report: &Report, names: &[&str], out: &mut String) {
    let Some(t) = &report.transcripts else {
        return;
    };
    let _ = writeln!(
        out,
        "### Chat transcripts\n\n{} conversations, {} messages, {} malformed records.\n",
        thousands(t.conversations),
        thousands(t.messages),
        thousands(t.malformed.count)
    );
    Table {
        header: &[
            "tokenizer",
            "input",
            "output",
            "replayed input",
            "of which cacheable",
        ],
        right: &[false, true, true, true, true],
        rows: names
            .iter()
            .map(|n| {
                vec![
                    code(n),
                    thousands(view::tokens_of(&t.input_tokens, n)),
                    thousands(view::tokens_of(&t.output_tokens, n)),
                    thousands(view::tokens_of(&t.replayed_input_tokens, n)),
                    thousands(view::tokens_of(&t.replayed_cached_input_tokens, n)),
                ]
            })
            .collect(),
    }
    .render(out);
    if let Some(line) = view::image_estimate_line(&t.image_tokens_estimate) {
        let _ = writeln!(out, "{line}.\n");
    }
    let priced = view::transcript_cost_rows(report);
    if !priced.is_empty() {
        out.push_str("#### Cost of the chat transcripts\n\n");
        Table {
            header: &view::TRANSCRIPT_COST_HEADER,
            right: &[false, false, true, true, true, true, true, true, true],
            rows: priced
                .into_iter()
                .map(|(estimate, mut cells)| {
                    cells[0] = code(&cells[0]);
                    cells[1] = if estimate {
                        format!("{} (estimate)", code(&cells[1]))
                    } else {
                        code(&cells[1])
                    };
                    cells.to_vec()
                })
                .collect(),
        }
        .render(out);
        out.push_str(view::TRANSCRIPT_COST_NOTE);
        out.push_str("\n\n");
    }
}

fn render_provenance(report: &Report, out: &mut String) {
    let p = &report.provenance;
    out.push_str("### Provenance\n\n");
    let mut rows = vec![
        vec![
            "tool".to_string(),
            format!("{} {} ({})", p.tool, p.version, code(p.commit)),
        ],
        vec!["command".into(), code(&report.run.command_line.join(" "))],
        vec!["started".into(), report.run.started_utc.clone()],
    ];
    if let Some(d) = &p.corpus_digest {
        rows.push(vec![
            "corpus digest".into(),
            format!("{} ({} files)", code(&d.sha256), thousands(d.files)),
        ]);
    }
    if let Some(prices) = &p.prices {
        rows.push(vec![
            "prices".into(),
            format!("{} (as of {})", prices.source, prices.as_of),
        ]);
        for o in &prices.overrides {
            rows.push(vec!["price override".into(), o.clone()]);
        }
    }
    Table {
        header: &["", ""],
        right: &[false, false],
        rows,
    }
    .render(out);
    Table {
        header: &["tokenizer", "family", "source", "sha256"],
        right: &[false, false, false, false],
        rows: p
            .tokenizers
            .iter()
            .map(|t| {
                vec![
                    code(&t.name),
                    t.family.clone(),
                    t.source.clone(),
                    code(&t.sha256),
                ]
            })
            .collect(),
    }
    .render(out);
}
