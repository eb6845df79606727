//! `--html`: the page parsed with an HTML parser (scraper, on html5ever):
//! every section and chart is there, each chart beside a table of its
//! numbers, its totals are the JSON's, and nothing outside the file is
//! referenced. And its size: a 700-file corpus of hundreds of categories,
//! counted by 14 tokenizers and priced for 5 models, stays under 2 MB.

use crate::common;

use std::path::Path;

use crate::common::*;
use scraper::{Html, Selector};
use tokenaudit::format::{format_usd, thousands};

fn sel(s: &str) -> Selector {
    Selector::parse(s).unwrap()
}

fn audit_html(root: &Path, args: &[&str], dir: &Path) -> (Html, serde_json::Value, usize) {
    let html = dir.join("r.html");
    let json = dir.join("r.json");
    let mut all = vec![
        "audit",
        root.to_str().unwrap(),
        "-q",
        "--html",
        html.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
    ];
    all.extend_from_slice(args);
    let o = run(&all);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&html).unwrap();
    (Html::parse_document(&text), common::json(&json), text.len())
}

/// Nothing the browser would fetch: no script, stylesheet link, image,
/// frame, object or form target; links only to anchors in the page; no
/// `url(` or `@import` in the style; no URL in any attribute but the SVG
/// namespace declarations (names, not requests).
fn assert_self_contained(page: &Html) {
    for tag in [
        "script", "link", "img", "iframe", "object", "embed", "video", "audio", "source", "image",
        "use", "form", "base",
    ] {
        assert!(page.select(&sel(tag)).next().is_none(), "a <{tag}> element");
    }
    for el in page.select(&sel("*")) {
        for (name, value) in el.value().attrs() {
            let external = value.contains("://") || value.trim_start().starts_with("//");
            let namespace = name == "xmlns" || name.starts_with("xmlns:");
            assert!(
                !external || namespace,
                "<{} {name}=\"{value}\">",
                el.value().name()
            );
            if name == "href" {
                assert!(value.starts_with('#'), "a link out of the page: {value}");
            }
            assert!(
                !["src", "srcset", "action", "poster", "data"].contains(&name),
                "<{} {name}>",
                el.value().name()
            );
        }
    }
    for style in page.select(&sel("style")) {
        let css = style.text().collect::<String>();
        assert!(!css.contains("url(") && !css.contains("@import"), "{css}");
    }
    // Print: a stylesheet for paper that keeps charts and tables whole.
    let css: String = page.select(&sel("style")).flat_map(|s| s.text()).collect();
    assert!(css.contains("@media print") && css.contains("break-inside: avoid"));
}

/// The chart and the table beside it, both present and not empty.
fn assert_chart(page: &Html, name: &str) {
    let figure = page
        .select(&sel(&format!("figure[data-chart=\"{name}\"]")))
        .next()
        .unwrap_or_else(|| panic!("no {name} chart"));
    let svg = figure
        .select(&sel("svg"))
        .next()
        .unwrap_or_else(|| panic!("the {name} chart has no SVG"));
    assert!(svg.value().attr("viewBox").is_some(), "{name}: scalable");
    assert!(
        svg.select(&sel("rect")).count() > 1,
        "{name}: no bars drawn"
    );
    let rows = page
        .select(&sel(&format!("table[data-table=\"{name}\"] tbody tr")))
        .count();
    assert!(rows > 0, "the {name} chart has no table of its numbers");
}

fn cell_texts(page: &Html, table: &str) -> Vec<Vec<String>> {
    page.select(&sel(&format!("table[data-table=\"{table}\"] tbody tr")))
        .map(|tr| {
            tr.select(&sel("td"))
                .map(|td| td.text().collect::<String>().trim().to_string())
                .collect()
        })
        .collect()
}

#[test]
fn every_section_and_chart_is_there_with_the_jsons_totals_and_nothing_external() {
    let dir = tempfile::tempdir().unwrap();
    // A second root with one document longer than text-embedding-3-small's
    // 8,191-token window, so the overflow chart has something to draw.
    let long = dir.path().join("long");
    std::fs::create_dir_all(long.join("manuals")).unwrap();
    std::fs::write(
        long.join("manuals/handbook.txt"),
        "The operator shall inspect the valve weekly and log the pressure.\n".repeat(1200),
    )
    .unwrap();
    let (page, report, _) = audit_html(
        Path::new("fixtures/corpus"),
        &[
            long.to_str().unwrap(),
            "-t",
            "o200k_base,cl100k_base",
            "-m",
            "gpt-5.4-mini,claude-sonnet-4-6,text-embedding-3-small",
            "--scenario",
            "fixtures/scenario.toml",
        ],
        dir.path(),
    );
    assert_self_contained(&page);
    for section in [
        "summary",
        "story",
        "attribution",
        "distribution",
        "context",
        "comparison",
        "transcripts",
        "skipped",
        "provenance",
    ] {
        assert!(
            page.select(&sel(&format!("section[data-section=\"{section}\"]")))
                .next()
                .is_some(),
            "no {section} section"
        );
    }
    for chart in [
        "tokenizers",
        "costs",
        "projection",
        "categories",
        "extensions",
        "folders",
        "distribution",
        "overflows",
        "comparison",
        "comparison-scripts",
        "transcripts",
    ] {
        assert_chart(&page, chart);
    }
    // The transcripts' input and output, as the JSON has them.
    let transcripts = cell_texts(&page, "transcripts");
    let t = &report["transcripts"];
    for row in &transcripts {
        let name = &row[0];
        assert_eq!(row[1], thousands(t["input_tokens"][name].as_u64().unwrap()));
        assert_eq!(
            row[2],
            thousands(t["output_tokens"][name].as_u64().unwrap())
        );
    }
    // The histogram marks its quantiles.
    let histogram: String = page
        .select(&sel("figure[data-chart=\"distribution\"] text"))
        .flat_map(|t| t.text())
        .collect();
    for q in ["p50", "p90", "p99"] {
        assert!(histogram.contains(q), "{q} not marked");
    }

    // The same totals as the JSON: tokens per tokenizer, files, costs,
    // the projection per phase, the digest.
    let tokens = cell_texts(&page, "tokenizers");
    for (name, n) in report["totals"]["tokens"].as_object().unwrap() {
        let row = tokens.iter().find(|r| r[0] == *name).unwrap();
        assert_eq!(row[1], thousands(n.as_u64().unwrap()), "{name}");
    }
    let cards: Vec<String> = page
        .select(&sel(".card .v"))
        .map(|c| c.text().collect())
        .collect();
    assert_eq!(
        cards[0],
        thousands(report["totals"]["files_seen"].as_u64().unwrap())
    );
    let costs = cell_texts(&page, "costs");
    for c in report["costs"].as_array().unwrap() {
        let row = costs.iter().find(|r| r[0] == c["model"]).unwrap();
        let usd = |v: &serde_json::Value| format_usd(v.as_str().unwrap().parse().unwrap());
        // A calibrated estimate shows its central cost and its range.
        let expected = match c.get("estimate_band").filter(|b| !b.is_null()) {
            Some(b) => {
                let b = &b["input_cost_usd"];
                format!(
                    "≈{} ({}–{})",
                    usd(&b["estimate"]),
                    usd(&b["estimate_low"]),
                    usd(&b["estimate_high"])
                )
            }
            None => usd(&c["input_cost_usd"]),
        };
        assert_eq!(row[4], expected);
        assert_eq!(
            row[1].contains("estimate"),
            c["estimate"].as_bool().unwrap()
        );
    }
    let phases = cell_texts(&page, "projection");
    for ph in report["projection"]["phases"].as_array().unwrap() {
        let row = phases.iter().find(|r| r[0] == ph["phase"]).unwrap();
        let usd = ph["cost_usd_per_month"].as_str().unwrap().parse().unwrap();
        assert_eq!(row[3], format_usd(usd));
    }
    let overflows = cell_texts(&page, "overflows");
    let small = overflows
        .iter()
        .find(|r| r[0] == "text-embedding-3-small")
        .unwrap();
    assert_eq!(
        small[2], "1",
        "the long handbook is over the 8,191-token window"
    );
    let provenance: String = page
        .select(&sel("section[data-section=\"provenance\"]"))
        .flat_map(|s| s.text())
        .collect();
    let prov = &report["provenance"];
    assert!(provenance.contains(prov["corpus_digest"]["sha256"].as_str().unwrap()));
    assert!(provenance.contains(prov["commit"].as_str().unwrap()));
    for t in prov["tokenizers"].as_array().unwrap() {
        assert!(provenance.contains(t["sha256"].as_str().unwrap()));
    }
}

#[test]
fn sections_without_data_are_left_out_and_names_are_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("c");
    std::fs::create_dir_all(corpus.join("<b>bold&amp;")).unwrap();
    std::fs::write(corpus.join("<b>bold&amp;/a.txt"), "hello there\n").unwrap();
    std::fs::write(corpus.join("bin.dat"), b"\x00\x01binary").unwrap();
    let (page, _, _) = audit_html(&corpus, &[], dir.path());
    assert_self_contained(&page);
    // One tokenizer, nothing priced, no scenario.
    for absent in ["story", "context", "comparison"] {
        assert!(
            page.select(&sel(&format!("section[data-section=\"{absent}\"]")))
                .next()
                .is_none(),
            "{absent} shown without data"
        );
    }
    assert!(
        page.select(&sel("b")).next().is_none(),
        "a name became markup"
    );
    let categories = cell_texts(&page, "categories");
    assert!(categories.iter().any(|r| r[0] == "<b>bold&amp;"));
    let skipped = cell_texts(&page, "skipped");
    assert!(skipped.iter().any(|r| r[0].ends_with("bin.dat")));
}

/// With `--category` rules the categories are no longer folders; the page
/// still attributes the tokens by top folder, as the JSON's `by_folder`,
/// whose groups sum to the totals.
#[test]
fn top_folders_are_attributed_beside_category_rules() {
    let dir = tempfile::tempdir().unwrap();
    let (page, report, _) = audit_html(
        Path::new("fixtures/corpus"),
        &[
            "--category",
            "legal=contracts/**",
            "--category",
            "multilingual=**/*-{zh,ja,ko,ru,ar,fa}.txt",
        ],
        dir.path(),
    );
    assert_chart(&page, "categories");
    assert_chart(&page, "folders");
    let category_names: Vec<String> = cell_texts(&page, "categories")
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    assert!(category_names.contains(&"legal".to_string()));
    assert!(category_names.contains(&"multilingual".to_string()));
    let folders = cell_texts(&page, "folders");
    let mut names: Vec<&str> = folders.iter().map(|r| r[0].as_str()).collect();
    names.sort();
    assert_eq!(names, [".", "code", "contracts", "prompts", "transcripts"]);
    let by_folder = report["by_folder"].as_object().unwrap();
    let (mut files, mut tokens) = (0, 0);
    for row in &folders {
        let g = &by_folder[&row[0]];
        assert_eq!(row[1], thousands(g["files"].as_u64().unwrap()));
        let t = g["tokens"]["o200k_base"].as_u64().unwrap();
        assert_eq!(row[3], thousands(t));
        files += g["files"].as_u64().unwrap();
        tokens += t;
    }
    assert_eq!(files, report["totals"]["files_counted"].as_u64().unwrap());
    assert_eq!(
        tokens,
        report["totals"]["tokens"]["o200k_base"].as_u64().unwrap()
    );
    // The six non-Latin prompts left their folder's category, not their folder.
    assert_eq!(by_folder["prompts"]["files"].as_u64().unwrap(), 8);
    assert_eq!(
        report["by_category"]["multilingual"]["files"]
            .as_u64()
            .unwrap(),
        6
    );
    let note: String = page
        .select(&sel("section[data-section=\"attribution\"] p.note"))
        .flat_map(|p| p.text())
        .collect();
    assert!(note.contains("whatever the --category rules say"), "{note}");
}

/// `compare --html`: the audit's page, its comparison relative to the
/// baseline, by script and by detected language (`--lang`) as matrices
/// whose tables hold the compare JSON's ratios.
#[test]
fn compare_writes_the_page_with_its_comparison_by_script_and_language() {
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("c.html");
    let json = dir.path().join("c.json");
    let o = run(&[
        "compare",
        "fixtures/corpus",
        "-q",
        "-t",
        "o200k_base,cl100k_base,p50k_base",
        "--baseline",
        "cl100k_base",
        "--lang",
        "--html",
        html.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let page = Html::parse_document(&std::fs::read_to_string(&html).unwrap());
    let c = common::json(&json);
    assert_self_contained(&page);
    for chart in [
        "comparison",
        "comparison-scripts",
        "comparison-languages",
        "languages",
    ] {
        assert_chart(&page, chart);
    }
    // The attribution by detected language: its pieces and tokens are
    // compare's, and they sum to the whole corpus.
    let langs = cell_texts(&page, "languages");
    let names = &c["language_detection"]["names"];
    let mut sum = 0;
    for g in c["by_language"].as_array().unwrap() {
        let code = g["name"].as_str().unwrap();
        let label = format!("{} ({code})", names[code].as_str().unwrap());
        let row = langs
            .iter()
            .find(|r| r[0] == label)
            .expect("every language");
        assert_eq!(row[1], thousands(g["units"].as_u64().unwrap()));
        let t = g["tokens"]["o200k_base"].as_u64().unwrap();
        assert_eq!(row[3], thousands(t));
        sum += t;
    }
    assert_eq!(sum, c["tokenizers"][0]["tokens"].as_u64().unwrap());
    let note: String = page
        .select(&sel("section[data-section=\"comparison\"]"))
        .flat_map(|s| s.text())
        .collect();
    assert!(note.contains("divided by cl100k_base"), "the baseline");
    assert!(
        note.contains("detected by whatlang"),
        "labelled as detected"
    );
    for (table, section, key) in [
        ("comparison-scripts", "by_script", None),
        ("comparison-languages", "by_language", Some("names")),
    ] {
        let header: Vec<String> = page
            .select(&sel(&format!("table[data-table=\"{table}\"] th")))
            .map(|th| th.text().collect())
            .collect();
        let rows = cell_texts(&page, table);
        let groups = c[section].as_array().unwrap();
        assert!(!groups.is_empty());
        // Past 11 groups, the first 10 have columns of their own and the
        // rest share one.
        let own = if groups.len() > 11 { 10 } else { groups.len() };
        if groups.len() > 11 {
            let other = format!("other ({} more)", groups.len() - 10);
            assert!(header.contains(&other), "{table}: no {other} in {header:?}");
        }
        for g in groups.iter().take(own) {
            let code = g["name"].as_str().unwrap();
            let label = match key {
                Some(k) => c["language_detection"][k][code].as_str().unwrap(),
                None => code,
            };
            let col = header
                .iter()
                .position(|h| h == label)
                .unwrap_or_else(|| panic!("{table}: no column {label} in {header:?}"));
            for row in rows.iter().skip(2) {
                let expected = g["relative"][&row[0]].as_f64().unwrap();
                let shown: f64 = row[col].parse().unwrap();
                assert!(
                    (shown - expected).abs() < 0.001,
                    "{table} {label} {}",
                    row[0]
                );
            }
            // The baseline's own column is 1.
            let base = rows.iter().find(|r| r[0] == "cl100k_base").unwrap();
            assert_eq!(base[col], "1.000");
        }
    }
}

/// 700 files in 350 categories, counted by 14 tokenizers and priced for 5
/// models: under 2 MB, and the categories cut to a readable chart.
#[test]
fn a_700_file_audit_with_14_tokenizers_and_5_models_is_under_2_mb() {
    let tokenizers = [
        "o200k_base",
        "cl100k_base",
        "p50k_base",
        "r50k_base",
        "llama3",
        "llama4",
        "qwen2",
        "qwen3",
        "mistral-tekken",
        "mistral-v1",
        "deepseek-v3",
        "gemma3",
        "claude-legacy",
        "bert",
    ];
    for t in tokenizers {
        assert!(
            installed_dir(t).is_some(),
            "{t} is not installed: run scripts/fetch-tokenizers (scripts/test does)"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("corpus");
    let texts = [
        "The parties agree that the supplier shall deliver the goods.\n",
        "Die Vertragsparteien vereinbaren Folgendes über die Lieferung.\n",
        "当事人双方同意供应商应交付货物。\n",
        "Стороны договорились о поставке товаров в срок.\n",
        "fn main() { println!(\"{}\", 42); }\n",
    ];
    let extensions = ["txt", "md", "rs", "json", "csv", "html", "py"];
    for i in 0..700 {
        let folder = corpus.join(format!("team-{:03}", i / 2));
        std::fs::create_dir_all(&folder).unwrap();
        let text = texts[i % texts.len()].repeat(1 + i % 40);
        std::fs::write(
            folder.join(format!("doc-{i}.{}", extensions[i % extensions.len()])),
            text,
        )
        .unwrap();
    }
    let (page, report, size) = audit_html(
        &corpus,
        &[
            "-t",
            &tokenizers.join(","),
            "-m",
            "gpt-5.4-mini,gpt-5.4,claude-sonnet-4-6,gemini-2.5-flash,deepseek-v3.2",
        ],
        dir.path(),
    );
    assert_eq!(report["totals"]["files_counted"].as_u64().unwrap(), 700);
    assert_eq!(report["costs"].as_array().unwrap().len(), 5);
    assert!(size < 2 * 1024 * 1024, "{size} bytes");
    eprintln!("HTML for 700 files, 14 tokenizers, 5 models: {size} bytes");
    assert_self_contained(&page);
    // 350 categories: the largest 15 by name and one `other` row.
    let categories = cell_texts(&page, "categories");
    assert_eq!(categories.len(), 16);
    assert!(categories[15][0].starts_with("other (335 more)"));
    // Every tokenizer in the table and the comparison.
    assert_eq!(cell_texts(&page, "tokenizers").len(), 14);
    assert_eq!(cell_texts(&page, "comparison").len(), 14);
}
