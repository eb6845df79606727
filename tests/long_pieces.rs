//! Long pieces stay linear. A megabyte of one character is a single
//! pre-token; tiktoken-rs 0.12.1 is quadratic on some of them. Exactness on
//! long runs is checked against tiktoken-rs up to 30k characters in
//! `exact_builtin.rs`; here the engine's time must grow about linearly from
//! 50 KB to 500 KB, and (ignored by default: slow in a debug build) a full
//! megabyte is compared with the reference.

use std::time::{Duration, Instant};

use tokenaudit::tokenize::builtin::{self, Reference};
use tokenaudit::tokenize::Tokenizer;

const RUNS: [&str; 4] = ["a", "🙂", " ", "="];

/// The best of three runs: the first touches of a new counter's tables
/// (page faults, huge-page zeroing) and a busy machine only ever add time.
fn time(mut f: impl FnMut() -> u64) -> (Duration, u64) {
    (0..3)
        .map(|_| {
            let t = Instant::now();
            let n = f();
            (t.elapsed(), n)
        })
        .min()
        .unwrap()
}

#[test]
fn count_time_grows_linearly_with_run_length() {
    for name in ["cl100k_base", "o200k_base"] {
        let engine = builtin::engine(name).unwrap();
        // One counter for all: only the count is timed, not making one.
        // (Pieces this long bypass the piece cache, so every run merges.)
        let mut counter = engine.counter();
        for c in RUNS {
            let small = c.repeat(50_000 / c.len());
            let large = c.repeat(500_000 / c.len());
            let (t_small, n_small) = time(|| counter.count(&small));
            let (t_large, n_large) = time(|| counter.count(&large));
            // Linear is 10x; quadratic would be 100x. The bound leaves room
            // for a loaded machine and n log n sorting.
            let ratio = t_large.as_secs_f64() / t_small.as_secs_f64().max(1e-6);
            assert!(
                ratio < 30.0,
                "{name} {c:?}: 50 KB {t_small:?}, 500 KB {t_large:?} ({ratio:.1}x)"
            );
            // Ten times the text is about ten times the tokens.
            let tokens = n_large as f64 / n_small as f64;
            assert!(
                (9.0..=11.0).contains(&tokens),
                "{name} {c:?}: {n_small} vs {n_large}"
            );
        }
    }
}

#[test]
#[ignore = "tiktoken-rs on 1 MB runs takes minutes in a debug build; run with --release"]
fn one_megabyte_runs_match_tiktoken_rs() {
    for name in ["o200k_base", "cl100k_base", "p50k_base", "r50k_base"] {
        let engine = builtin::engine(name).unwrap();
        let reference = Reference::new(name).unwrap();
        for c in RUNS {
            let run = c.repeat(1_000_000 / c.len());
            // tiktoken-rs panics on some of these: its split regex exceeds
            // fancy-regex's backtrack limit (o200k on 1 MB of spaces).
            let Ok(expected) =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| reference.encode(&run)))
            else {
                eprintln!("{name} {c:?}: the reference fails on this input; skipped");
                continue;
            };
            assert_eq!(engine.encode(&run), expected, "{name} {c:?}");
            assert_eq!(
                engine.counter().count(&run),
                expected.len() as u64,
                "{name} {c:?}"
            );
        }
    }
}
