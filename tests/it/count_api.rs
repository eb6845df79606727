//! `--count-api` against mock count endpoints served from this test on
//! 127.0.0.1 (no test reaches the internet). The Anthropic mock answers
//! 1.4 × the text's o200k_base count plus a framing of 7 tokens; the audit
//! must fit 1.4 for the sampled class, subtract the framing, estimate the
//! corpus within 2% of what the mock would count for all of it, cache the
//! answers, retry 429s, and fall back to the table when the endpoint fails.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::common::*;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde_json::Value;
use tokenaudit::tokenize::sources::builtin;

const FRAMING: u64 = 7;

/// How the mock misbehaves.
#[derive(Clone, Copy, Default)]
struct Faults {
    /// Answer 429 (Retry-After: 0) to this many requests first.
    too_many_first: usize,
    /// Answer every request with this status.
    always: Option<u16>,
    /// Read the request, then never answer.
    silent: bool,
}

/// What the mock saw.
#[derive(Default)]
struct Seen {
    requests: Vec<(String, String)>, // (request line, x-api-key)
}

fn o200k(text: &str) -> u64 {
    builtin::resolve("o200k_base")
        .unwrap()
        .counter()
        .count(text)
}

/// The mock's rule: 1.4 × o200k_base, rounded, plus the framing.
fn rule(text: &str) -> u64 {
    (o200k(text) as f64 * 1.4).round() as u64 + FRAMING
}

const GEMINI_FRAMING: u64 = 3;

/// The Gemini mock's rule: a token per three bytes begun (so the probe
/// `a` is one), plus its framing.
fn gemini_rule(text: &str) -> u64 {
    text.len().div_ceil(3) as u64 + GEMINI_FRAMING
}

fn serve(faults: Faults) -> (String, Arc<Mutex<Seen>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Seen::default()));
    let log = Arc::clone(&seen);
    let served = Arc::new(AtomicUsize::new(0));
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let mut stream = stream.unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut first = String::new();
            reader.read_line(&mut first).unwrap();
            let (mut length, mut key) = (0usize, String::new());
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                    break;
                }
                let (name, value) = line.split_once(':').unwrap();
                match name.trim().to_ascii_lowercase().as_str() {
                    "content-length" => length = value.trim().parse().unwrap(),
                    "x-api-key" | "x-goog-api-key" => key = value.trim().to_string(),
                    _ => {}
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            log.lock()
                .unwrap()
                .requests
                .push((first.trim().to_string(), key));
            let n = served.fetch_add(1, Ordering::SeqCst);
            if faults.silent {
                // Hold the connection open without a word; the client must
                // give up on its own.
                std::thread::spawn(move || {
                    std::thread::sleep(std::time::Duration::from_secs(30));
                    drop(stream);
                });
                continue;
            }
            let (status, answer) = if let Some(code) = faults.always {
                (
                    format!("{code} Failing"),
                    "{\"error\": \"down\"}".to_string(),
                )
            } else if n < faults.too_many_first {
                ("429 Too Many Requests".into(), "{}".into())
            } else if first.starts_with("POST /v1/messages/count_tokens ") {
                let v: Value = serde_json::from_slice(&body).unwrap();
                let text = v["messages"][0]["content"].as_str().unwrap();
                (
                    "200 OK".into(),
                    format!("{{\"input_tokens\": {}}}", rule(text)),
                )
            } else if first.starts_with("POST /v1beta/models/") && first.contains(":countTokens ") {
                let v: Value = serde_json::from_slice(&body).unwrap();
                let text = v["contents"][0]["parts"][0]["text"].as_str().unwrap();
                (
                    "200 OK".into(),
                    format!("{{\"totalTokens\": {}}}", gemini_rule(text)),
                )
            } else {
                ("404 Not Found".into(), "{}".into())
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nRetry-After: 0\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                answer.len()
            );
        }
    });
    (endpoint, seen)
}

/// Ten English documents of different lengths, cut from the fixture
/// contract, in one category.
fn corpus(dir: &Path) -> Vec<String> {
    let text =
        std::fs::read_to_string("fixtures/corpus/contracts/master-services-agreement.txt").unwrap();
    let words: Vec<&str> = text.split_whitespace().collect();
    assert!(words.len() > 300, "the fixture is too short for this test");
    let docs_dir = dir.join("docs");
    std::fs::create_dir_all(&docs_dir).unwrap();
    (0..10)
        .map(|i| {
            let start = (i * 37) % (words.len() - 150);
            let doc = words[start..start + 80 + i * 7].join(" ");
            std::fs::write(docs_dir.join(format!("d{i:02}.txt")), &doc).unwrap();
            doc
        })
        .collect()
}

fn audit(dir: &Path, endpoint: &str, extra: &[&str]) -> (std::process::Output, Value) {
    let out = dir.join("report.json");
    let mut args: Vec<String> = vec![
        "audit".into(),
        dir.join("docs").display().to_string(),
        "-m".into(),
        "claude-opus-4-7".into(),
        "--count-api".into(),
        "anthropic".into(),
        "--count-api-cache".into(),
        dir.join("cache").display().to_string(),
        "--json".into(),
        out.display().to_string(),
    ];
    if !extra.contains(&"--count-api-rpm") {
        args.extend(["--count-api-rpm".into(), "0".into()]);
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    let o = Command::new(bin())
        .args(&args)
        .env("ANTHROPIC_API_KEY", "test-key")
        .env("ANTHROPIC_BASE_URL", endpoint)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let report = json(&out);
    (o, report)
}

fn dec(v: &Value) -> Decimal {
    v.as_str().unwrap().parse().unwrap()
}

#[test]
fn fits_the_rule_subtracts_the_framing_and_estimates_the_corpus() {
    let (endpoint, seen) = serve(Faults::default());
    let tmp = tempfile::tempdir().unwrap();
    let docs = corpus(tmp.path());
    let md = tmp.path().join("r.md");
    let html = tmp.path().join("r.html");
    let (o, report) = audit(
        tmp.path(),
        &endpoint,
        &[
            "--count-api-sample",
            "3",
            "--markdown",
            md.to_str().unwrap(),
            "--html",
            html.to_str().unwrap(),
        ],
    );
    // The table says what was sent where, and what was fitted.
    let table = stdout(&o);
    assert!(
        table.contains("count API (anthropic): 3 documents ("),
        "{table}"
    );
    assert!(
        table.contains(&format!(
            "sent to {endpoint}/v1/messages/count_tokens, 4 requests"
        )),
        "{table}"
    );
    let fitted_text = report["count_api"][0]["models"][0]["fitted"][0]["multiplier"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        table.contains(&format!(
            "claude-opus-4-7: 3 documents counted exactly; fitted latin-prose {fitted_text}"
        )),
        "{table}"
    );
    let md = std::fs::read_to_string(&md).unwrap();
    assert!(
        md.contains(&format!(
            "`claude-opus-4-7` latin-prose: fitted {fitted_text}"
        )),
        "{md}"
    );
    let html = std::fs::read_to_string(&html).unwrap();
    assert!(
        html.contains(&format!(
            "<li>claude-opus-4-7 latin-prose: fitted {fitted_text}"
        )),
        "the HTML page lacks the fit"
    );
    assert!(html.contains("Count API (anthropic): 3 documents"));

    let api = &report["count_api"][0];
    assert_eq!(api["provider"], "anthropic");
    assert_eq!(
        api["endpoint"],
        format!("{endpoint}/v1/messages/count_tokens")
    );
    // One stratum (one category, all prose): three documents and the probe.
    assert_eq!(api["documents_sent"], 3);
    assert_eq!(api["requests"], 4);
    assert!(api["warnings"].as_array().unwrap().is_empty(), "{api}");
    let m = &api["models"][0];
    assert_eq!(m["model"], "claude-opus-4-7");
    assert_eq!(m["framing_tokens"], FRAMING);
    let fit = &m["fitted"][0];
    assert_eq!(fit["class"], "latin-prose");
    let fitted = dec(&fit["multiplier"]).to_f64().unwrap();
    assert!((fitted - 1.4).abs() / 1.4 <= 0.02, "fitted {fitted}");
    // Sent bytes are the three documents' and the probe's.
    let seen = seen.lock().unwrap();
    assert!(seen.requests.iter().all(|(_, key)| key == "test-key"));
    drop(seen);

    let truth: u64 = docs.iter().map(|d| rule(d) - FRAMING).sum();
    let band = &report["costs"][0]["estimate_band"];
    let est = band["input_tokens"]["estimate"].as_u64().unwrap();
    let off = (est as f64 - truth as f64).abs() / truth as f64;
    assert!(off <= 0.02, "estimate {est} vs the mock's {truth}");
    assert_eq!(band["exact"]["documents"], 3);
    assert_eq!(band["classes"][0]["method"], "count-api");
    let proxy: u64 = docs.iter().map(|d| o200k(d)).sum();
    assert_eq!(band["proxy_tokens"].as_u64(), Some(proxy));
}

#[test]
fn all_documents_counted_give_the_exact_total_and_a_rerun_sends_nothing() {
    let (endpoint, seen) = serve(Faults::default());
    let tmp = tempfile::tempdir().unwrap();
    let docs = corpus(tmp.path());
    let truth: u64 = docs.iter().map(|d| rule(d) - FRAMING).sum();
    let (_, first) = audit(tmp.path(), &endpoint, &["--count-api-sample", "all"]);
    let band = &first["costs"][0]["estimate_band"];
    assert_eq!(band["input_tokens"]["estimate"].as_u64(), Some(truth));
    assert_eq!(band["input_tokens"]["estimate_low"].as_u64(), Some(truth));
    assert_eq!(band["input_tokens"]["estimate_high"].as_u64(), Some(truth));
    let sent = seen.lock().unwrap().requests.len();
    assert_eq!(sent, 11);

    let (_, again) = audit(tmp.path(), &endpoint, &["--count-api-sample", "all"]);
    assert_eq!(
        seen.lock().unwrap().requests.len(),
        sent,
        "the rerun asked again"
    );
    let api = &again["count_api"][0];
    assert_eq!(api["requests"], 0);
    assert_eq!(api["documents_sent"], 0);
    assert_eq!(api["cached_answers"], 11);
    assert_eq!(
        again["costs"][0]["estimate_band"]["input_tokens"],
        first["costs"][0]["estimate_band"]["input_tokens"]
    );
}

#[test]
fn too_many_requests_are_retried() {
    let (endpoint, seen) = serve(Faults {
        too_many_first: 2,
        ..Faults::default()
    });
    let tmp = tempfile::tempdir().unwrap();
    corpus(tmp.path());
    let (_, report) = audit(tmp.path(), &endpoint, &["--count-api-sample", "2"]);
    let api = &report["count_api"][0];
    assert!(api["warnings"].as_array().unwrap().is_empty(), "{api}");
    assert_eq!(api["requests"], 2 + 3);
    assert_eq!(seen.lock().unwrap().requests.len(), 5);
    assert_eq!(api["models"][0]["documents"], 2);
}

#[test]
fn a_failing_endpoint_falls_back_to_the_table_with_a_warning() {
    let (endpoint, _) = serve(Faults {
        always: Some(500),
        ..Faults::default()
    });
    let tmp = tempfile::tempdir().unwrap();
    let docs = corpus(tmp.path());
    let (o, report) = audit(tmp.path(), &endpoint, &[]);
    let warning = stderr(&o);
    assert!(
        warning.contains("warning") && warning.contains("calibration table"),
        "{warning}"
    );
    let api = &report["count_api"][0];
    assert_eq!(api["warnings"].as_array().unwrap().len(), 1, "{api}");
    assert!(api["models"].as_array().unwrap().is_empty());
    // The probe was tried five times (four retries), then nothing else.
    assert_eq!(api["requests"], 5);
    let band = &report["costs"][0]["estimate_band"];
    assert_eq!(band["classes"][0]["method"], "table");
    assert!(band["exact"].is_null());
    let proxy: u64 = docs.iter().map(|d| o200k(d)).sum();
    assert!(band["input_tokens"]["estimate"].as_u64().unwrap() > proxy);
}

#[test]
fn nothing_is_sent_without_the_flag_and_a_missing_key_is_an_error() {
    let (endpoint, seen) = serve(Faults::default());
    let tmp = tempfile::tempdir().unwrap();
    corpus(tmp.path());
    let o = Command::new(bin())
        .args(["audit", tmp.path().join("docs").to_str().unwrap()])
        .args(["-m", "claude-opus-4-7"])
        .env("ANTHROPIC_API_KEY", "test-key")
        .env("ANTHROPIC_BASE_URL", &endpoint)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(seen.lock().unwrap().requests.is_empty());

    let o = Command::new(bin())
        .args(["audit", tmp.path().join("docs").to_str().unwrap()])
        .args(["-m", "claude-opus-4-7", "--count-api", "anthropic"])
        .env_remove("ANTHROPIC_API_KEY")
        .env("ANTHROPIC_BASE_URL", &endpoint)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("ANTHROPIC_API_KEY"), "{}", stderr(&o));
}

#[test]
fn gemini_is_asked_at_its_own_path_with_its_own_key_and_framing() {
    let (endpoint, seen) = serve(Faults::default());
    let tmp = tempfile::tempdir().unwrap();
    let docs = corpus(tmp.path());
    let out = tmp.path().join("report.json");
    let o = Command::new(bin())
        .args(["audit", tmp.path().join("docs").to_str().unwrap()])
        .args(["-m", "gemini-2.5-flash", "--count-api", "gemini"])
        .args(["--count-api-rpm", "0", "--count-api-sample", "4"])
        .arg("--count-api-cache")
        .arg(tmp.path().join("cache"))
        .arg("--json")
        .arg(&out)
        .env("GEMINI_API_KEY", "gemini-key")
        .env("GEMINI_BASE_URL", &endpoint)
        .env_remove("ANTHROPIC_API_KEY")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let report = json(&out);
    let api = &report["count_api"][0];
    assert_eq!(api["provider"], "gemini");
    assert_eq!(
        api["endpoint"],
        format!("{endpoint}/v1beta/models/gemini-2.5-flash:countTokens")
    );
    assert!(api["warnings"].as_array().unwrap().is_empty(), "{api}");
    let seen = seen.lock().unwrap();
    assert_eq!(seen.requests.len(), 5);
    for (line, key) in &seen.requests {
        assert!(
            line.starts_with("POST /v1beta/models/gemini-2.5-flash:countTokens "),
            "{line}"
        );
        assert_eq!(key, "gemini-key");
    }
    drop(seen);
    let m = &api["models"][0];
    assert_eq!(m["framing_tokens"], GEMINI_FRAMING);
    assert_eq!(m["documents"], 4);
    // The four sent documents' exact counts, framing subtracted: the fit is
    // their total over their proxy total.
    let fit = &m["fitted"][0];
    let api_tokens = fit["api_tokens"].as_u64().unwrap();
    let proxy_tokens = fit["proxy_tokens"].as_u64().unwrap();
    assert_eq!(m["api_tokens"].as_u64(), Some(api_tokens));
    let counts: Vec<u64> = docs
        .iter()
        .map(|d| gemini_rule(d) - GEMINI_FRAMING)
        .collect();
    let plausible = (0..1u32 << docs.len())
        .filter(|s| s.count_ones() == 4)
        .any(|s| {
            (0..docs.len())
                .filter(|i| s & (1 << i) != 0)
                .map(|i| counts[i])
                .sum::<u64>()
                == api_tokens
        });
    assert!(plausible, "{api_tokens} is not four documents' counts");
    let fitted = dec(&fit["multiplier"]).to_f64().unwrap();
    assert!((fitted - api_tokens as f64 / proxy_tokens as f64).abs() < 1e-3);
    let band = &report["costs"][0]["estimate_band"];
    assert_eq!(band["exact"]["documents"], 4);
    assert_eq!(band["classes"][0]["method"], "count-api");
}

#[test]
fn a_silent_endpoint_times_out_and_falls_back() {
    let (endpoint, seen) = serve(Faults {
        silent: true,
        ..Faults::default()
    });
    let tmp = tempfile::tempdir().unwrap();
    corpus(tmp.path());
    let started = std::time::Instant::now();
    let (o, report) = audit(
        tmp.path(),
        &endpoint,
        &["--count-api-timeout", "1", "--count-api-retries", "1"],
    );
    let took = started.elapsed();
    // Two attempts of one second each and a half-second backoff, well
    // under the mock's 30 s.
    assert!(took.as_secs() < 15, "took {took:?}");
    assert_eq!(seen.lock().unwrap().requests.len(), 2);
    let api = &report["count_api"][0];
    assert_eq!(api["requests"], 2);
    let warning = api["warnings"][0].as_str().unwrap();
    assert!(warning.contains("calibration table"), "{warning}");
    assert!(stderr(&o).contains("warning"), "{}", stderr(&o));
    let band = &report["costs"][0]["estimate_band"];
    assert_eq!(band["classes"][0]["method"], "table");
}

#[test]
fn requests_are_paced_by_the_rate_limit() {
    let (endpoint, seen) = serve(Faults::default());
    let tmp = tempfile::tempdir().unwrap();
    corpus(tmp.path());
    let started = std::time::Instant::now();
    // 300 a minute: 0.2 s between requests; the probe and 4 documents make
    // 5 requests, so at least 0.8 s.
    let (_, report) = audit(
        tmp.path(),
        &endpoint,
        &["--count-api-sample", "4", "--count-api-rpm", "300"],
    );
    let took = started.elapsed();
    assert_eq!(report["count_api"][0]["requests"], 5);
    assert_eq!(seen.lock().unwrap().requests.len(), 5);
    assert!(took.as_millis() >= 800, "took {took:?}");
}
