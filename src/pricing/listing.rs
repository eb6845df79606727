/*!
The `tokenaudit models` table: every priced model, its tokenizer (marked when
it is an estimate), context window and unit prices. `--json` serialises the
[`Catalog`] itself instead.
*/

use std::fmt::Write;

use rust_decimal::Decimal;

use super::catalog::Catalog;

fn price(p: Option<Decimal>) -> String {
    p.map(|d| d.normalize().to_string())
        .unwrap_or_else(|| "-".into())
}

fn tokens(n: Option<u64>) -> String {
    match n {
        None => "-".into(),
        Some(n) if n >= 1_000_000 && n % 1_000 == 0 => format!("{}k", n / 1_000),
        Some(n) if n % 1_000 == 0 => format!("{}k", n / 1_000),
        Some(n) => n.to_string(),
    }
}

/// A plain-text table, one row per model, with a legend: prices are USD per
/// million tokens; `~` marks a tokenizer used as a proxy (estimate); tiers
/// are shown as `>THRESHOLD: input price`.
pub fn render_models_table(catalog: &Catalog) -> String {
    let header = [
        "model",
        "provider",
        "tokenizer",
        "in ctx",
        "out max",
        "input",
        "cached",
        "batch in",
        "output",
        "long context",
    ];
    let mut rows: Vec<[String; 10]> = Vec::new();
    for m in &catalog.models {
        let provider = match &m.host {
            Some(h) => format!("{} via {h}", m.provider),
            None => m.provider.clone(),
        };
        let tok = if m.estimate {
            format!("~{}", m.tokenizer)
        } else {
            m.tokenizer.clone()
        };
        let tiers: Vec<String> = m
            .tiers
            .iter()
            .map(|t| {
                format!(
                    ">{}: {}",
                    tokens(Some(t.above_input_tokens)),
                    price(Some(t.prices.input))
                )
            })
            .collect();
        rows.push([
            m.id.clone(),
            provider,
            tok,
            tokens(m.max_input_tokens),
            tokens(m.max_output_tokens),
            price(Some(m.prices.input)),
            price(m.prices.cached_input),
            price(m.prices.batch_input),
            price(m.prices.output),
            if tiers.is_empty() {
                "-".into()
            } else {
                tiers.join(", ")
            },
        ]);
    }
    let mut widths = header.map(str::len);
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    // Numbers right-aligned, words left-aligned.
    let right = [
        false, false, false, true, true, true, true, true, true, false,
    ];
    let mut out = String::new();
    let line = |out: &mut String, cells: &[String]| {
        let mut s = String::new();
        for (i, cell) in cells.iter().enumerate() {
            let pad = widths[i] - cell.chars().count();
            if i > 0 {
                s.push_str("  ");
            }
            if right[i] {
                s.push_str(&" ".repeat(pad));
                s.push_str(cell);
            } else {
                s.push_str(cell);
                if i + 1 < cells.len() {
                    s.push_str(&" ".repeat(pad));
                }
            }
        }
        out.push_str(s.trim_end());
        out.push('\n');
    };
    line(&mut out, &header.map(String::from));
    for r in &rows {
        line(&mut out, r);
    }
    let _ = writeln!(
        out,
        "\nPrices: USD per million tokens. ~ = tokenizer is a proxy (estimate). Long context: a request above the threshold is billed at that input price.\nSource: {} (as of {}){}",
        catalog.source,
        catalog.as_of,
        if catalog.overrides.is_empty() {
            String::new()
        } else {
            format!("; {}", catalog.overrides.join("; "))
        }
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_lists_every_model_with_estimate_marks_and_source() {
        let c = Catalog::embedded();
        let t = render_models_table(&c);
        assert_eq!(
            t.lines()
                .filter(|l| l.starts_with("claude-sonnet-4-6 "))
                .count(),
            1
        );
        let row = t
            .lines()
            .find(|l| l.starts_with("claude-sonnet-4-6 "))
            .unwrap();
        assert!(row.contains("~o200k_base"), "{row}");
        let row = t.lines().find(|l| l.starts_with("gpt-4o ")).unwrap();
        assert!(row.contains(" o200k_base"), "{row}");
        assert!(t.contains(&c.source));
        // one line per model + header + blank + 2 legend lines
        assert_eq!(t.lines().count(), c.models.len() + 4);
    }
}
