//! Long pieces. A megabyte of one character is a single pre-token;
//! tiktoken-rs 0.12.1 is quadratic on some of them. That the merge's work
//! grows linearly is a unit test in `tokenize::bpe` (candidates counted, not
//! time); how long such pieces take is measured by `scripts/bench-audit`.
//! Exactness on long runs is checked against tiktoken-rs up to 30k
//! characters in `exact_builtin.rs`; here the whole counter (splitter and
//! merge) must give ten times the tokens for ten times a run, and (ignored
//! by default: slow in a debug build) a full megabyte is compared with the
//! reference.

use tokenaudit::tokenize::sources::builtin::{self, Reference};
use tokenaudit::tokenize::Tokenizer;

const RUNS: [&str; 4] = ["a", "🙂", " ", "="];

#[test]
fn ten_times_a_run_is_ten_times_the_tokens() {
    for name in ["cl100k_base", "o200k_base"] {
        let engine = builtin::engine(name).unwrap();
        let mut counter = engine.counter();
        for c in RUNS {
            let small = counter.count(&c.repeat(50_000 / c.len()));
            let large = counter.count(&c.repeat(500_000 / c.len()));
            let ratio = large as f64 / small as f64;
            assert!(
                (9.0..=11.0).contains(&ratio),
                "{name} {c:?}: {small} vs {large}"
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
