//! Exactness of every named tokenizer against its reference implementation,
//! whole and chunked: tiktoken-rs `CoreBPE` built from the family's ranks and
//! pattern for rank files, the `tokenizers` crate's `encode(text, false)`
//! (padding and truncation off) for tokenizer.json files.
//!
//! Chunked means cut by `chunk::pieces` with a small target so that most lines
//! are their own piece: the first counted with `count`, the rest with
//! `count_continuation`. This is the test the rule in `chunk.rs` defers to.
//!
//! Runs of one character are 2,000 long here; `long_runs_are_exact` (ignored by
//! default, run it with `cargo test --release -- --ignored`) repeats the check
//! at 20,000.

use crate::common;

use std::collections::HashMap;

use crate::common::{corpus, corpus_with, count_chunked, installed_dir, load};
use tokenaudit::tokenize::reference::reference;
use tokenaudit::tokenize::sources::registry::{self, Family};

/// Checks `name` on every text, whole and chunked; returns the counts.
fn check(name: &str, texts: &[(&'static str, String)]) -> Option<Vec<u64>> {
    let t = load(name)?;
    let mut reference = reference(name, &installed_dir(name)?)?;
    let mut counter = t.counter();
    let mut counts = Vec::new();
    let mut all_pieces = 0;
    for (label, text) in texts {
        let expected = reference(text);
        assert_eq!(counter.count(text), expected, "{name}, {label}, whole");
        for target in [1, 40] {
            let (chunked, pieces) = count_chunked(&t, text, target);
            all_pieces += pieces;
            assert_eq!(chunked, expected, "{name}, {label}, {pieces} pieces");
        }
        counts.push(expected);
    }
    // Lines that start with Arabic or Cyrillic letters are not cut (see
    // chunk.rs), but the other texts must have been cut many times.
    assert!(
        all_pieces > 5 * texts.len(),
        "{name}: only {all_pieces} pieces"
    );
    Some(counts)
}

#[test]
fn every_named_tokenizer_is_exact_whole_and_chunked() {
    let texts = corpus(2_000);
    for named in registry::NAMED {
        if let Some(counts) = check(named.name, &texts) {
            println!("{}: {counts:?}", named.name);
        }
    }
}

/// The rank file and the tokenizer.json of Llama 3 are two encodings of one
/// vocabulary: they must agree everywhere except on special-token text, which
/// tokenizer.json files match as special tokens.
#[test]
fn llama3_rank_file_agrees_with_its_tokenizer_json() {
    let texts = corpus_with(2_000, false);
    let (Some(a), Some(b)) = (load("llama3"), load("llama3-hf")) else {
        return;
    };
    let (mut a, mut b) = (a.counter(), b.counter());
    let mut seen = HashMap::new();
    for (label, text) in &texts {
        let n = a.count(text);
        assert_eq!(n, b.count(text), "{label}");
        seen.insert(*label, n);
    }
    println!("llama3 = llama3-hf on {seen:?}");
}

/// tokenizer.json files with a start-of-input rule are the ones that need
/// `count_continuation`; without it a continuation would gain a token.
#[test]
fn sentencepiece_prefix_applies_only_at_the_document_start() {
    let Some(t) = load("mistral-v1") else { return };
    let mut c = t.counter();
    // "▁one" "<0x0A>" "你" "好"; alone, "你好" is "▁" "你" "好".
    let whole = c.count("one\n你好");
    assert_eq!(whole, 4);
    assert_eq!(c.count("one\n") + c.count_continuation("你好"), whole);
    assert_eq!(c.count("one\n") + c.count("你好"), whole + 1);
}

/// A tokenizer.json counter cuts long texts into pieces of about
/// `hf::PIECE_BYTES` by itself; the total must still be the reference count.
#[test]
fn long_texts_are_cut_inside_the_counter_and_stay_exact() {
    let all = &corpus_with(2_000, true)[10].1;
    let text =
        format!("{}\n", all).repeat(2 * tokenaudit::tokenize::hf::PIECE_BYTES / all.len() + 1);
    assert!(
        tokenaudit::tokenize::pretok::chunk::pieces(&text, tokenaudit::tokenize::hf::PIECE_BYTES)
            .len()
            >= 3
    );
    for named in registry::NAMED
        .iter()
        .filter(|n| n.family == Family::Huggingface)
    {
        let Some(dir) = installed_dir(named.name) else {
            continue;
        };
        let (Some(t), Some(mut reference)) = (load(named.name), reference(named.name, &dir)) else {
            continue;
        };
        assert_eq!(t.counter().count(&text), reference(&text), "{}", named.name);
    }
}

#[test]
#[ignore = "slow in debug builds: run with --release -- --ignored"]
fn long_runs_are_exact() {
    let texts = vec![("adversarial 20k", common::adversarial(20_000))];
    for named in registry::NAMED {
        check(named.name, &texts);
    }
}
