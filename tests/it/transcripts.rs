//! End-to-end: chat transcripts through the real binary. Every expected
//! figure is derived from tiktoken-rs counts of the pieces and the OpenAI
//! cookbook's rule (3 per message plus the role, 3 priming the reply).

use crate::common::*;

/// A prompt/completion record and its figures: input, output, replayed.
fn pair(prompt: &str, completion: &str) -> (String, u64, u64, u64) {
    let line = serde_json::json!({"prompt": prompt, "completion": completion}).to_string();
    let input = 3 + o200k("user") + o200k(prompt);
    (line, input, o200k(completion), input + 3)
}

#[test]
fn broken_lines_in_the_middle_are_reported_and_every_other_line_counted() {
    let dir = tempfile::tempdir().unwrap();
    let good = [
        pair("Translate 'cat' to French.", "chat"),
        pair("2 + 2 =", "4"),
        pair("Name a prime number.", "Seven."),
        pair("Capital of Japan?", "Tokyo"),
    ];
    let lines = [
        good[0].0.clone(),
        good[1].0.clone(),
        "{\"prompt\": \"unterminated".to_string(),
        good[2].0.clone(),
        "{\"id\": 7, \"label\": \"spam\"}".to_string(),
        String::new(),
        good[3].0.clone(),
    ];
    let path = dir.path().join("log.jsonl");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let out_dir = tempfile::tempdir().unwrap();
    let csv_path = out_dir.path().join("rows.csv");
    let out = run(&[
        "audit",
        dir.path().to_str().unwrap(),
        "--json",
        "-",
        "--csv",
        csv_path.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let t = &report["transcripts"];
    assert_eq!(t["records"], 6);
    assert_eq!(t["conversations"], 4);
    assert_eq!(t["messages"], 8);
    assert_eq!(t["malformed"]["count"], 2);
    let malformed: Vec<(u64, String)> = t["malformed"]["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["line"].as_u64().unwrap(),
                m["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(malformed[0].0, 3);
    assert!(
        malformed[0].1.starts_with("not valid JSON"),
        "{malformed:?}"
    );
    assert_eq!(
        malformed[1],
        (
            5,
            "unknown shape: an object with keys id, label".to_string()
        )
    );
    let sum = |f: fn(&(String, u64, u64, u64)) -> u64| good.iter().map(f).sum::<u64>();
    assert_eq!(t["input_tokens"]["o200k_base"], sum(|g| g.1));
    assert_eq!(t["output_tokens"]["o200k_base"], sum(|g| g.2));
    assert_eq!(t["replayed_input_tokens"]["o200k_base"], sum(|g| g.3));
    assert_eq!(t["chat_format"]["o200k_base"]["format"], "openai");
    // The file's tokens are what its conversations send and return.
    assert_eq!(
        report["totals"]["tokens"]["o200k_base"],
        sum(|g| g.1) + sum(|g| g.2)
    );
    let rows = csv_rows(&csv_path);
    assert_eq!(rows[0]["parse"], "chat");
    assert_eq!(rows[0]["records"], "6");
    assert_eq!(rows[0]["malformed"], "2");

    let strict = run(&["audit", dir.path().to_str().unwrap(), "--strict"]);
    assert_eq!(strict.status.code(), Some(2));
    assert!(
        stderr(&strict).contains("2 chat records were malformed"),
        "{}",
        stderr(&strict)
    );
    // As text, the same file is one document, counted whole.
    let text = run(&[
        "audit",
        dir.path().to_str().unwrap(),
        "--parse",
        "text",
        "--json",
        "-",
    ]);
    let report: serde_json::Value = serde_json::from_slice(&text.stdout).unwrap();
    assert!(report.get("transcripts").is_none());
    let whole = std::fs::read_to_string(&path).unwrap();
    assert_eq!(report["totals"]["tokens"]["o200k_base"], o200k(&whole));
}

#[test]
fn a_large_jsonl_file_is_read_in_pieces_with_exact_line_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let (line, input, output, replayed) =
        pair("Summarise the attached note in one line.", "A note.");
    // Over 2 MiB: counted in line-bounded pieces on every thread.
    let n = 40_000u64;
    let broken = [7u64, 19_999, 20_000, 39_998];
    let mut text = String::new();
    for i in 1..=n {
        if broken.contains(&i) {
            text.push_str("{not json\n");
        } else {
            text.push_str(&line);
            text.push('\n');
        }
    }
    assert!(text.len() > 2 * 1024 * 1024);
    std::fs::write(dir.path().join("big.jsonl"), &text).unwrap();
    for threads in ["1", "2"] {
        let out = run(&[
            "audit",
            dir.path().to_str().unwrap(),
            "-j",
            threads,
            "--json",
            "-",
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let t = &report["transcripts"];
        let good = n - broken.len() as u64;
        assert_eq!(t["records"], n);
        assert_eq!(t["conversations"], good);
        let lines: Vec<u64> = t["malformed"]["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["line"].as_u64().unwrap())
            .collect();
        assert_eq!(lines, broken);
        assert_eq!(t["input_tokens"]["o200k_base"], good * input);
        assert_eq!(t["output_tokens"]["o200k_base"], good * output);
        assert_eq!(t["replayed_input_tokens"]["o200k_base"], good * replayed);
        assert_eq!(report["totals"]["lines"], n);
    }
}

#[test]
fn a_jsonl_file_of_messages_is_one_conversation() {
    let report: serde_json::Value = serde_json::from_slice(
        &run(&["audit", "fixtures/corpus/transcripts", "--json", "-"]).stdout,
    )
    .unwrap();
    let t = &report["transcripts"];
    // support-2026-03-02.jsonl (a message per line) and claim-2026-03-05.json.
    assert_eq!(t["conversations"], 2);
    assert_eq!(t["malformed"]["count"], 0);
    let file =
        std::fs::read_to_string("fixtures/corpus/transcripts/support-2026-03-02.jsonl").unwrap();
    let messages: Vec<serde_json::Value> = file
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut by_role = std::collections::BTreeMap::<String, u64>::new();
    for m in &messages {
        *by_role
            .entry(m["role"].as_str().unwrap().to_string())
            .or_default() += o200k(m["content"].as_str().unwrap());
    }
    let claim: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string("fixtures/corpus/transcripts/claim-2026-03-05.json").unwrap(),
    )
    .unwrap();
    for m in claim["messages"].as_array().unwrap() {
        *by_role
            .entry(m["role"].as_str().unwrap().to_string())
            .or_default() += o200k(m["content"].as_str().unwrap());
    }
    for (role, tokens) in &by_role {
        assert_eq!(t["content_by_role"][role]["o200k_base"], *tokens, "{role}");
    }
}
