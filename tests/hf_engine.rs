//! tokenizer.json files counted by our engine (`hf_bpe`) must count exactly
//! what the `tokenizers` crate counts: on the shared multilingual and
//! adversarial texts (whole and chunked), on text with added-token text in
//! it, on text that NFC or NFKC changes, on random strings, and (ignored by default)
//! on megabytes of the real benchmark corpus.

mod common;

use common::{corpus, count_chunked, installed_dir, load};
use tokenaudit::tokenize::hf_bpe;
use tokenaudit::tokenize::reference::{reference, ReferenceCount};
use tokenaudit::tokenize::SharedTokenizer;

/// The files the engine is expected to take, with the sample's count.
const ENGINE: &[(&str, u64)] = &[
    ("deepseek-v3", 22),
    ("deepseek-v4", 22),
    ("qwen3", 26),
    ("claude-legacy", 22),
    ("gemma3", 26),
    ("mistral-v1", 29),
];

/// Files that must stay on the crate, and why.
const CRATE: &[&str] = &[
    // Every split of a token is a merge (converted from tiktoken ranks).
    "llama3-hf",
    // WordPiece.
    "bert",
];

fn engine_pairs() -> Vec<(&'static str, SharedTokenizer, ReferenceCount)> {
    ENGINE
        .iter()
        .filter_map(|&(name, _)| {
            let dir = installed_dir(name)?;
            Some((name, load(name)?, reference(name, &dir)?))
        })
        .collect()
}

#[test]
fn eligible_files_use_the_engine_and_others_the_crate() {
    for &(name, sample) in ENGINE {
        let Some(t) = load(name) else { continue };
        assert_eq!(t.info().family, hf_bpe::FAMILY, "{name}");
        assert_eq!(t.counter().count(common::SAMPLE), sample, "{name}");
    }
    for name in CRATE {
        let Some(t) = load(name) else { continue };
        assert_eq!(t.info().family, "huggingface", "{name}");
    }
}

#[test]
fn engine_equals_the_crate_whole_and_chunked() {
    let texts = corpus(2_000);
    for (name, t, mut reference) in engine_pairs() {
        let mut c = t.counter();
        for (label, text) in &texts {
            let expected = reference(text);
            assert_eq!(c.count(text), expected, "{name}, {label}");
            for target in [1, 40] {
                assert_eq!(
                    count_chunked(&t, text, target).0,
                    expected,
                    "{name}, {label}"
                );
            }
        }
    }
}

#[test]
fn added_token_text_and_nfc_text_are_exact() {
    let texts = [
        "<｜begin▁of▁sentence｜>Hi<｜User｜>what<｜Assistant｜>ok<｜end▁of▁sentence｜>",
        "<|im_start|>user\nhi<|im_end|><think>\nhmm</think><tool_call>{}</tool_call>",
        "<|begin_of_text|><|endoftext|> <s></s> [CLS] <<|im_end|>> <think<think>>",
        // Decomposed marks NFC composes; a mark after an added token; Hangul
        // jamo that compose into syllables; a singleton (Å Angstrom sign).
        "e\u{301}te\u{301} <think>\u{301}a A\u{30A} \u{212B} \u{1100}\u{1161}\u{11A8} q\u{323}\u{307}",
        "Ω\u{2126} ﬁ \u{FB01} ｶﾞ \u{3099}か\u{3099} \u{0958}",
        // SentencePiece files: specials, a literal ▁ (the same symbol as a
        // space), byte-token text, characters that fall back to bytes.
        "<start_of_turn>user\nHi▁there ▁▁ x<end_of_turn>\n<s>a</s> b",
        "<0x41> \u{E000}\u{10FFFD} 𝔘𝔫 \u{0} \u{7f} ▁",
    ];
    for (name, t, mut reference) in engine_pairs() {
        let mut c = t.counter();
        for text in texts {
            assert_eq!(c.count(text), reference(text), "{name}: {text:?}");
            assert_eq!(
                t.encode(text).len() as u64,
                reference(text),
                "{name}: {text:?}"
            );
        }
    }
}

/// The engine's ids are the file's ids, not just the same number of them.
#[test]
fn ids_match_the_crate() {
    let text = format!("{}\n<think>x</think>", corpus(50)[10].1);
    for &(name, _) in ENGINE {
        let Some(dir) = installed_dir(name) else {
            continue;
        };
        let t = load(name).unwrap();
        let path = dir.path().join(format!("{name}.json"));
        let crate_t = tokenizers::Tokenizer::from_file(path).unwrap();
        let expected = crate_t.encode(text.as_str(), false).unwrap();
        assert_eq!(t.encode(&text), expected.get_ids(), "{name}");
    }
}

mod props {
    use super::*;
    use proptest::prelude::*;
    use std::sync::{Mutex, OnceLock};

    type Pairs = Vec<(&'static str, SharedTokenizer, ReferenceCount)>;

    fn pairs() -> &'static Mutex<Pairs> {
        static PAIRS: OnceLock<Mutex<Pairs>> = OnceLock::new();
        PAIRS.get_or_init(|| Mutex::new(engine_pairs()))
    }

    const ALPHABET: &[&str] = &[
        " ",
        "  ",
        "\n",
        "\r",
        "\t",
        "a",
        "Z",
        "1",
        "23",
        "٣",
        "'s",
        "'",
        "!",
        "?.",
        "-",
        "\\",
        "🙂",
        "\u{301}",
        "中",
        "文",
        "か",
        "カ",
        "한",
        "\u{1161}",
        "\u{A0}",
        "\u{3000}",
        "Å",
        "e",
        "ſ",
        "ǅ",
        "ʰ",
        "$",
        "+",
        "_",
        "<think>",
        "<｜User｜>",
        "x",
        "ab",
        "the",
        "▁",
        "<s>",
        "</s>",
        "<start_of_turn>",
        "<0x41>",
        "\u{E000}",
        "𝔘",
    ];

    fn check(text: &str) {
        let mut pairs = pairs().lock().unwrap();
        for (name, t, reference) in pairs.iter_mut() {
            assert_eq!(t.counter().count(text), reference(text), "{name}: {text:?}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        #[test]
        fn tricky_strings(parts in proptest::collection::vec(proptest::sample::select(ALPHABET), 0..30)) {
            check(&parts.concat());
        }

        #[test]
        fn arbitrary_strings(text in "\\PC{0,40}") {
            check(&text);
        }
    }
}

/// `cargo test --release --test hf_engine -- --ignored`: the first
/// `TOKENAUDIT_BENCH_MB` (default 4) megabytes of the benchmark corpus, line
/// by line in blocks, against the crate.
#[test]
#[ignore = "needs bench-corpus/ (scripts/fetch-bench-corpus); slow in debug builds"]
fn bench_corpus_prefix_is_exact() {
    // Run by hand (it is ignored), so a missing corpus is a failure to
    // report, not a pass.
    let path = std::env::var("TOKENAUDIT_BENCH_CORPUS")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/bench-corpus/all.txt").into());
    let data = std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{path}: {e} (run scripts/fetch-bench-corpus)"));
    let mb: usize = std::env::var("TOKENAUDIT_BENCH_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4);
    let mut end = (mb << 20).min(data.len());
    while end < data.len() && (data[end] & 0xC0) == 0x80 {
        end += 1;
    }
    let text = std::str::from_utf8(&data[..end]).unwrap();
    for (name, t, mut reference) in engine_pairs() {
        let mut c = t.counter();
        // Blocks of ~64 KB keep the crate's memory small and localise a
        // difference.
        for block in tokenaudit::tokenize::chunk::pieces(text, 64 << 10) {
            assert_eq!(
                c.count(block),
                reference(block),
                "{name}: {:?}",
                &block[..block.len().min(200)]
            );
        }
        println!("{name}: {mb} MB exact");
    }
}
