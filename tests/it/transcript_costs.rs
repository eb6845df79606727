//! End-to-end: chat transcripts priced per model (`-m`), and images'
//! token estimates. Tokens are derived from tiktoken-rs counts by the OpenAI
//! cookbook's rule (3 per message plus the role, 3 priming each reply);
//! money from those tokens and the unit prices the report states, in exact
//! decimals.

use std::str::FromStr;

use rust_decimal::Decimal;
use serde_json::{json, Value};

use crate::common::*;

fn msg(role: &str, content: &str) -> u64 {
    3 + o200k(role) + o200k(content)
}

fn d(v: &Value) -> Decimal {
    Decimal::from_str(
        v.as_str()
            .unwrap_or_else(|| panic!("a decimal string: {v}")),
    )
    .unwrap()
}

fn cost(tokens: u64, usd_per_mtok: Decimal) -> Decimal {
    (Decimal::from(tokens) * usd_per_mtok / Decimal::from(1_000_000u64)).normalize()
}

/// Two conversations: three turns, and one.
fn corpus() -> (tempfile::TempDir, [u64; 4]) {
    let dir = tempfile::tempdir().unwrap();
    let long = [
        ("system", "You are a terse travel agent."),
        ("user", "I want to see Lisbon in May."),
        ("assistant", "Fly to LIS; stay in Alfama."),
        ("user", "Budget for four nights?"),
        ("assistant", "About 900 euros with flights."),
        ("user", "And in August?"),
        ("assistant", "Nearer 1,300 euros."),
    ];
    let short = [("user", "Hello"), ("assistant", "Hi! Where to?")];
    let line = |turns: &[(&str, &str)]| {
        json!({"messages": turns.iter().map(|(r, t)| json!({"role": r, "content": t})).collect::<Vec<_>>()})
            .to_string()
    };
    std::fs::write(
        dir.path().join("chats.jsonl"),
        format!("{}\n{}\n", line(&long), line(&short)),
    )
    .unwrap();
    let m: Vec<u64> = long.iter().map(|(r, t)| msg(r, t)).collect();
    let (s, u1, a1, u2, a2, u3) = (m[0], m[1], m[2], m[3], m[4], m[5]);
    let input = s + u1 + u2 + u3 + msg("user", "Hello");
    let output = [2, 4, 6].iter().map(|&i| o200k(long[i].1)).sum::<u64>() + o200k("Hi! Where to?");
    // Each reply resends everything before it, primed with 3; of that, the
    // previous reply's prefix was sent already (cacheable).
    let p1 = s + u1;
    let p2 = p1 + a1 + u2;
    let p3 = p2 + a2 + u3;
    let replayed = (p1 + 3) + (p2 + 3) + (p3 + 3) + (msg("user", "Hello") + 3);
    let cached = p1 + p2;
    (dir, [input, output, replayed, cached])
}

#[test]
fn transcripts_are_priced_input_output_and_replay_with_and_without_a_cache() {
    let (dir, [input, output, replayed, cached]) = corpus();
    let out_dir = tempfile::tempdir().unwrap();
    let md = out_dir.path().join("r.md");
    let html = out_dir.path().join("r.html");
    let out = run(&[
        "audit",
        dir.path().to_str().unwrap(),
        "-m",
        "gpt-5.4-mini,claude-sonnet-4-6",
        "--json",
        "-",
        "--markdown",
        md.to_str().unwrap(),
        "--html",
        html.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let t = &report["transcripts"];
    assert_eq!(t["input_tokens"]["o200k_base"], input);
    assert_eq!(t["replayed_cached_input_tokens"]["o200k_base"], cached);

    // An OpenAI model: its own tokenizer; a cache with no write price.
    let gpt = &report["costs"][0]["transcripts"];
    assert_eq!(report["costs"][0]["model"], "gpt-5.4-mini");
    assert_eq!(gpt["estimate"], false);
    assert!(gpt["proxy_multiplier"].is_null());
    assert_eq!(
        [
            &gpt["input_tokens"],
            &gpt["output_tokens"],
            &gpt["replayed_input_tokens"],
            &gpt["replayed_cached_input_tokens"]
        ],
        [input, output, replayed, cached]
            .map(Value::from)
            .each_ref()
    );
    let (i, o, r) = (
        d(&gpt["input_usd_per_mtok"]),
        d(&gpt["output_usd_per_mtok"]),
        d(&gpt["cached_input_usd_per_mtok"]),
    );
    assert!(gpt["cache_write_usd_per_mtok"].is_null());
    assert_eq!(d(&gpt["input_cost_usd"]), cost(input, i));
    assert_eq!(d(&gpt["output_cost_usd"]), cost(output, o));
    assert_eq!(d(&gpt["replay_cost_usd"]), cost(replayed, i));
    assert_eq!(
        d(&gpt["replay_cached_cost_usd"]),
        (cost(cached, r) + cost(replayed - cached, i)).normalize()
    );

    // A Claude model: counted by its proxy, scaled by the calibrated ratio
    // the corpus cost used; cache writes at the write price.
    let claude_cost = &report["costs"][1];
    let claude = &claude_cost["transcripts"];
    assert_eq!(claude["estimate"], true);
    let band = &claude_cost["estimate_band"];
    let ratio = (Decimal::from(band["input_tokens"]["estimate"].as_u64().unwrap())
        / Decimal::from(band["proxy_tokens"].as_u64().unwrap()))
    .round_dp(4);
    assert_eq!(d(&claude["proxy_multiplier"]), ratio);
    let scaled = |n: u64| u64::try_from((Decimal::from(n) * ratio).round()).unwrap();
    let (input, output) = (scaled(input), scaled(output));
    let (replayed, cached) = (scaled(replayed), scaled(cached));
    assert_eq!(claude["input_tokens"], input);
    assert_eq!(claude["replayed_input_tokens"], replayed);
    let (i, o, r, w) = (
        d(&claude["input_usd_per_mtok"]),
        d(&claude["output_usd_per_mtok"]),
        d(&claude["cached_input_usd_per_mtok"]),
        d(&claude["cache_write_usd_per_mtok"]),
    );
    assert_eq!(d(&claude["output_cost_usd"]), cost(output, o));
    assert_eq!(d(&claude["replay_cost_usd"]), cost(replayed, i));
    assert_eq!(
        d(&claude["replay_cached_cost_usd"]),
        (cost(cached, r) + cost(replayed - cached, w)).normalize()
    );

    // Every view shows them.
    let table = run(&["audit", dir.path().to_str().unwrap(), "-m", "gpt-5.4-mini"]);
    let table = stdout(&table);
    assert!(
        table.contains("cost of the chat transcripts (input, output, replay)"),
        "{table}"
    );
    let row = table
        .lines()
        .skip_while(|l| !l.starts_with("cost of the chat transcripts"))
        .find(|l| l.starts_with("gpt-5.4-mini"))
        .unwrap_or_else(|| panic!("a transcripts cost row in {table}"));
    assert!(
        row.contains(&crate_usd(d(&gpt["replay_cost_usd"]))),
        "{row}"
    );
    let md = std::fs::read_to_string(&md).unwrap();
    assert!(md.contains("#### Cost of the chat transcripts"), "{md}");
    assert!(
        md.contains("| `claude-sonnet-4-6` | `o200k_base` (estimate) |"),
        "{md}"
    );
    let html = std::fs::read_to_string(&html).unwrap();
    assert!(html.contains("data-table=\"transcript-costs\""));
    assert!(html.contains(&crate_usd(d(&gpt["replay_cached_cost_usd"]))));
}

/// A dollar amount as the reports print it.
fn crate_usd(x: Decimal) -> String {
    tokenaudit::format::format_usd(x)
}

/// A PNG's first bytes (signature, IHDR with width and height), as the PNG
/// specification lays them out; enough for a header reader.
fn png(w: u32, h: u32) -> String {
    use base64::Engine;
    let mut b = vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];
    b.extend_from_slice(&13u32.to_be_bytes());
    b.extend_from_slice(b"IHDR");
    b.extend_from_slice(&w.to_be_bytes());
    b.extend_from_slice(&h.to_be_bytes());
    b.extend_from_slice(&[8, 6, 0, 0, 0, 0, 0, 0, 0]);
    base64::engine::general_purpose::STANDARD.encode(b)
}

#[test]
fn images_are_counted_by_kind_and_estimated_where_their_size_is_known() {
    let dir = tempfile::tempdir().unwrap();
    let openai = json!({"messages": [
        {"role": "user", "content": [
            {"type": "text", "text": "Compare these."},
            {"type": "image_url", "image_url": {"url": format!("data:image/png;base64,{}", png(2048, 4096))}},
            {"type": "image_url", "image_url": {"url": "https://example.com/a.png", "detail": "low"}},
            {"type": "image_url", "image_url": {"url": "https://example.com/b.png"}},
            {"type": "input_audio", "input_audio": {"data": "", "format": "wav"}}]},
        {"role": "assistant", "content": "The first is taller."}]});
    let anthropic = json!({"messages": [
        {"role": "user", "content": [
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": png(1000, 1000)}},
            {"type": "text", "text": "What is it?"}]},
        {"role": "assistant", "content": "A square."}]});
    std::fs::write(
        dir.path().join("vision.jsonl"),
        format!("{openai}\n{anthropic}\n"),
    )
    .unwrap();
    let out = run(&["audit", dir.path().to_str().unwrap(), "--json", "-"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let t = &report["transcripts"];
    assert_eq!(t["non_text"], json!({"audio": 1, "image": 4}));
    // OpenAI's rule: 2048 × 4096 → 1024 × 2048 → 768 × 1536, 2 × 3 tiles:
    // 85 + 6 × 170; low detail 85; 1000 × 1000 → 768 × 768, 4 tiles: 765;
    // the remote image without a size: none.
    // Anthropic's: 2048 × 4096 is over both limits; the token limit binds
    // (scale √(1,600 × 750 / (2048 × 4096)) = 0.3782 < 1568 / 4096): 774 ×
    // 1549, 1,599 tokens (ceil of 1,598.6); 1000 × 1000 / 750 → 1,334.
    let tall = 1599;
    assert_eq!(
        t["image_tokens_estimate"],
        json!({
            "images": 4,
            "with_size": 2,
            "low_detail": 1,
            "openai_tile_tokens": (85 + 6 * 170) + 85 + 765,
            "anthropic_tokens": tall + 1334,
        })
    );
    // The estimates are not in the token figures: input is the text only.
    let input =
        3 + o200k("user") + o200k("Compare these.") + 3 + o200k("user") + o200k("What is it?");
    assert_eq!(t["input_tokens"]["o200k_base"], input);
    let table = stdout(&run(&["audit", dir.path().to_str().unwrap()]));
    assert!(
        table.contains("images: 4 (2 with a size, 1 at low detail), estimated at"),
        "{table}"
    );
}
