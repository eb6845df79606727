/*!
What the renderers for people (Markdown, HTML) share: the report's groups cut
to the largest N plus one `other` row, so that a corpus of hundreds of
categories still gives a table and a chart one can read, and the totals
still add up (the `other` row carries the rest).
*/

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::{GroupReport, Report};
use crate::format::{human_bytes, thousands};

/// The per-format table of a report that read documents: a header
/// (format, files, pages, bytes, characters, then tokens per tokenizer)
/// and a row per format, `text` and `chat` included so that the rows add
/// up to the totals. `None` when every file was text or chat: then the
/// table would only repeat the totals.
pub fn formats(report: &Report, names: &[&str]) -> Option<(Vec<String>, Vec<Vec<String>>)> {
    if !report.by_format.keys().any(|k| k != "text" && k != "chat") {
        return None;
    }
    let mut header = vec![
        "format".to_string(),
        "files".into(),
        "pages".into(),
        "bytes".into(),
        "chars".into(),
    ];
    header.extend(names.iter().map(|n| n.to_string()));
    let rows = report
        .by_format
        .iter()
        .map(|(key, f)| {
            let mut row = vec![
                key.clone(),
                thousands(f.files),
                thousands(f.pages),
                human_bytes(f.bytes),
                thousands(f.chars),
            ];
            row.extend(names.iter().map(|n| thousands(tokens_of(&f.tokens, n))));
            row
        })
        .collect();
    Some((header, rows))
}

/// What the pages column of [`formats`] counts.
pub const FORMATS_NOTE: &str =
    "pages: of PDFs; sheets, slides, messages of spreadsheets, decks, mailboxes";

/// Categories, extensions or folders shown by name; the rest are summed.
pub const TOP: usize = 15;

/// One row of a cut group table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub name: String,
    pub files: u64,
    pub bytes: u64,
    pub chars: u64,
    /// Tokens per tokenizer, in the report's tokenizer order.
    pub tokens: Vec<u64>,
    /// Groups summed into this row (1 unless it is `other`).
    pub groups: usize,
}

pub fn tokens_of(map: &Map<String, Value>, name: &str) -> u64 {
    map.get(name).and_then(Value::as_u64).unwrap_or(0)
}

/// The `n` groups with the most tokens of the first tokenizer (ties by
/// name), then one `other (k)` row with the rest, if any.
pub fn top(groups: &BTreeMap<String, GroupReport>, names: &[&str], n: usize) -> Vec<Row> {
    let mut rows: Vec<Row> = groups
        .iter()
        .map(|(k, g)| Row {
            name: k.clone(),
            files: g.files,
            bytes: g.bytes,
            chars: g.chars,
            tokens: names.iter().map(|t| tokens_of(&g.tokens, t)).collect(),
            groups: 1,
        })
        .collect();
    rows.sort_by(|a, b| {
        let key = |r: &Row| std::cmp::Reverse(r.tokens.first().copied().unwrap_or(0));
        key(a).cmp(&key(b)).then_with(|| a.name.cmp(&b.name))
    });
    if rows.len() > n + 1 {
        let rest = rows.split_off(n);
        let mut other = Row {
            name: format!("other ({} more)", rest.len()),
            files: 0,
            bytes: 0,
            chars: 0,
            tokens: vec![0; names.len()],
            groups: rest.len(),
        };
        for r in rest {
            other.files += r.files;
            other.bytes += r.bytes;
            other.chars += r.chars;
            for (a, b) in other.tokens.iter_mut().zip(&r.tokens) {
                *a += b;
            }
        }
        rows.push(other);
    }
    rows
}

/// A share as a percentage with one decimal: `12.3%`.
pub fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "0.0%".to_string();
    }
    format!("{:.1}%", part as f64 * 100.0 / whole as f64)
}

/// A calibrated estimate's tokens as `≈central (low–high)`, or the plain
/// count when the cost has no band.
pub fn tokens_banded(c: &crate::pricing::ModelCost) -> String {
    use crate::format::thousands;
    match &c.estimate_band {
        Some(b) => format!(
            "≈{} ({}–{})",
            thousands(b.input_tokens.estimate),
            thousands(b.input_tokens.estimate_low),
            thousands(b.input_tokens.estimate_high)
        ),
        None => thousands(c.input_tokens),
    }
}

/// A calibrated estimate's cost as `≈central (low–high)`, or the plain
/// cost when it has no band.
pub fn cost_banded(c: &crate::pricing::ModelCost) -> String {
    use crate::format::format_usd;
    match &c.estimate_band {
        Some(b) => format!(
            "≈{} ({}–{})",
            format_usd(b.input_cost_usd.estimate),
            format_usd(b.input_cost_usd.estimate_low),
            format_usd(b.input_cost_usd.estimate_high)
        ),
        None => format_usd(c.input_cost_usd),
    }
}

/// The columns of the transcripts' cost table (terminal, Markdown, HTML).
pub const TRANSCRIPT_COST_HEADER: [&str; 9] = [
    "model",
    "tokenizer",
    "input",
    "output",
    "replayed input",
    "input cost",
    "output cost",
    "replay cost",
    "replay, cached",
];

/// What the transcripts' cost table says under it.
pub const TRANSCRIPT_COST_NOTE: &str = "Input and replayed input (the conversation resent at \
    each turn) at the input price, output at the output price.\nreplay, cached: the part of each \
    turn the previous turn sent at the cached-input price, the rest at the cache-write\nprice \
    where there is one, else input; a best case (providers cache only prefixes over a minimum \
    length).\nA dash: the model has no such price; * or (estimate): counted with a proxy tokenizer.";

/// One priced model's transcripts row: whether its tokens are an estimate,
/// and the cells in [`TRANSCRIPT_COST_HEADER`] order (tokens marked ≈ when
/// a calibrated ratio scaled them).
pub fn transcript_cost_rows(r: &Report) -> Vec<(bool, [String; 9])> {
    use crate::format::{format_usd, thousands};
    let usd = |d: Option<rust_decimal::Decimal>| d.map(format_usd).unwrap_or_else(|| "-".into());
    r.costs
        .iter()
        .filter_map(|c| {
            let t = c.transcripts.as_ref()?;
            let mark = if t.proxy_multiplier.is_some() {
                "≈"
            } else {
                ""
            };
            let tokens = |n: u64| format!("{mark}{}", thousands(n));
            Some((
                t.estimate,
                [
                    c.model.clone(),
                    c.tokenizer.clone(),
                    tokens(t.input_tokens),
                    tokens(t.output_tokens),
                    tokens(t.replayed_input_tokens),
                    format_usd(t.input_cost_usd),
                    usd(t.output_cost_usd),
                    format_usd(t.replay_cost_usd),
                    usd(t.replay_cached_cost_usd),
                ],
            ))
        })
        .collect()
}

/// The images' estimated tokens in one sentence, or `None` without images.
pub fn image_estimate_line(e: &crate::count::vision::ImageEstimate) -> Option<String> {
    use crate::format::thousands;
    if e.images == 0 {
        return None;
    }
    Some(format!(
        "images: {} ({} with a size, {} at low detail), estimated at {} tokens by OpenAI's tile rule \
         (gpt-4o class) and {} by Anthropic's (width × height) / 750; estimates, not in the figures above",
        thousands(e.images),
        thousands(e.with_size),
        thousands(e.low_detail),
        thousands(e.openai_tile_tokens),
        thousands(e.anthropic_tokens),
    ))
}

/// Whether the categories are the top folders (no `--category` rule took
/// a file): the same names holding the same files.
pub fn categories_are_folders(r: &Report) -> bool {
    r.by_category.len() == r.by_folder.len()
        && r.by_category
            .iter()
            .zip(&r.by_folder)
            .all(|((c, a), (f, b))| c == f && a.files == b.files && a.bytes == b.bytes)
}
