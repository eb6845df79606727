//! Throughput of the counting engine against tiktoken-rs and bpe-openai, one
//! thread, on a file or generated text; plus the long-run worst cases.
//!
//! ```text
//! cargo run --release --example engine_speed -- /path/to/corpus.txt
//! cargo run --release --example engine_speed -- startup   # time to first count
//! ```
//! Each figure is the best of `TOKENAUDIT_REPS` (default 3) runs.
//!
//! For profiles and instruction counts of one engine (BENCHMARKS.md, issue
//! 17): `TOKENAUDIT_PROFILE=o200k_base TOKENAUDIT_PASSES=8` makes eight
//! passes with one counter (the first cold, the rest warm) and prints the
//! total, e.g. under `valgrind --tool=cachegrind` or `perf record`.

use std::time::{Duration, Instant};

use tokenaudit::tokenize::sources::builtin::{self, Reference};
use tokenaudit::tokenize::Tokenizer;

fn best<T>(reps: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut out = None;
    for _ in 0..reps {
        let t = Instant::now();
        let r = f();
        best = best.min(t.elapsed());
        out = Some(r);
    }
    (best, out.unwrap())
}

/// Wall and CPU (user + system) seconds of `f`, and its result.
fn timed<T>(f: impl FnOnce() -> T) -> (f64, f64, T) {
    let (t, c) = (Instant::now(), cpu_seconds());
    let out = f();
    (t.elapsed().as_secs_f64(), cpu_seconds() - c, out)
}

#[path = "common/cpu.rs"]
mod cpu;
use cpu::cpu_seconds;

fn mbps(bytes: usize, d: Duration) -> f64 {
    bytes as f64 / 1e6 / d.as_secs_f64()
}

fn main() {
    let arg = std::env::args().nth(1);
    if arg.as_deref() == Some("startup") {
        // Process start to the first count, as the CLI would see it.
        let t = Instant::now();
        let ranks = builtin::ranks("o200k_base").unwrap();
        let parse = t.elapsed();
        let engine = builtin::engine("o200k_base").unwrap();
        let t2 = Instant::now();
        let mut counter = engine.counter();
        let made = t2.elapsed();
        counter.count("hello world");
        println!(
            "o200k ranks parsed in {parse:?} ({} tokens), counter made in {made:?}",
            ranks.len()
        );
        let t = Instant::now();
        let tok = tokenaudit::tokenize::sources::builtin::resolve("o200k_base").unwrap();
        let n = tok.counter().count("hello world");
        let o200k = t.elapsed();
        let t = Instant::now();
        let tok = tokenaudit::tokenize::sources::builtin::resolve("cl100k_base").unwrap();
        let m = tok.counter().count("hello world");
        let cl100k = t.elapsed();
        let t = Instant::now();
        let r = tiktoken_rs::o200k_base().unwrap();
        let k = r.encode_ordinary("hello world").len();
        let reference = t.elapsed();
        println!(
            "ready+first count: engine o200k {o200k:?} ({n}), cl100k {cl100k:?} ({m}); tiktoken-rs o200k {reference:?} ({k})"
        );
        return;
    }
    let reps: usize = std::env::var("TOKENAUDIT_REPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let text = match &arg {
        Some(path) => std::fs::read_to_string(path).expect("corpus is UTF-8 text"),
        None => "The quick brown fox jumps over the lazy dog; it's 42. ".repeat(100_000),
    };
    println!("corpus: {} bytes, best of {reps}", text.len());
    if let Ok(name) = std::env::var("TOKENAUDIT_PROFILE") {
        // Engine only, for `perf record`.
        let engine = builtin::engine(&name).unwrap();
        if let Some(passes) = std::env::var("TOKENAUDIT_PASSES")
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
        {
            let mut counter = engine.counter();
            let total: u64 = (0..passes).map(|_| counter.count(&text)).sum();
            println!("{name}: {passes} passes, {total} tokens");
            return;
        }
        let (d, n) = best(reps, || engine.counter().count(&text));
        println!("{name}: engine {:.1} MB/s, {n} tokens", mbps(text.len(), d));
        if std::env::var_os("TOKENAUDIT_ENGINE_JSON").is_some() {
            // For scripts/bench-peers: one cold pass (a fresh counter) and
            // one warm pass (the same counter again), wall and CPU seconds.
            let mut counter = engine.counter();
            let (cold_s, cold_cpu, count) = timed(|| counter.count(&text));
            let (warm_s, warm_cpu, _) = timed(|| counter.count(&text));
            println!(
                "engine-json {{\"count\": {count}, \"cold_s\": {cold_s}, \"cold_cpu\": {cold_cpu}, \"warm_s\": {warm_s}, \"warm_cpu\": {warm_cpu}}}"
            );
        }
        return;
    }

    for name in ["cl100k_base", "o200k_base"] {
        let engine = builtin::engine(name).unwrap();
        let reference = Reference::new(name).unwrap();
        let (d_engine, n_engine) = best(reps, || engine.counter().count(&text));
        let mut warm = engine.counter();
        warm.count(&text);
        let (d_warm, _) = best(reps, || warm.count(&text));
        let (d_ref, n_ref) = best(reps, || reference.counter().count(&text));
        let bpe = if name == "cl100k_base" {
            bpe_openai::cl100k_base()
        } else {
            bpe_openai::o200k_base()
        };
        let (d_bpe, n_bpe) = best(reps, || bpe.count(text.as_str()) as u64);
        println!(
            "{name}: engine {:.1} MB/s (warm cache {:.1}), tiktoken-rs {:.1} MB/s, bpe-openai {:.1} MB/s; \
             speedup {:.1}x / {:.1}x; tokens {n_engine} (ref {n_ref}, bpe-openai {n_bpe})",
            mbps(text.len(), d_engine),
            mbps(text.len(), d_warm),
            mbps(text.len(), d_ref),
            mbps(text.len(), d_bpe),
            d_ref.as_secs_f64() / d_engine.as_secs_f64(),
            d_bpe.as_secs_f64() / d_engine.as_secs_f64(),
        );
        assert_eq!(
            n_engine, n_ref,
            "{name}: engine count differs from tiktoken-rs"
        );
    }

    // Worst cases: one piece of a megabyte, against 1 MB of the corpus.
    let prose: String = {
        let mut end = text.len().min(1_000_000);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text[..end].to_string()
    };
    for name in ["cl100k_base", "o200k_base"] {
        let engine = builtin::engine(name).unwrap();
        let (d_prose, _) = best(reps, || engine.counter().count(&prose));
        for (label, run) in [
            ("1 MB of 'a'", "a".repeat(1_000_000)),
            ("1 MB of '🙂'", "🙂".repeat(250_000)),
            ("1 MB of ' '", " ".repeat(1_000_000)),
            ("1 MB of '='", "=".repeat(1_000_000)),
        ] {
            let (d, n) = best(reps, || engine.counter().count(&run));
            println!(
                "{name}: {label}: {:.1} ms, {n} tokens ({:.1}x the time of 1 MB of the corpus, {:.1} ms)",
                d.as_secs_f64() * 1e3,
                d.as_secs_f64() / d_prose.as_secs_f64(),
                d_prose.as_secs_f64() * 1e3,
            );
        }
    }
}
