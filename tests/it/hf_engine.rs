//! tokenizer.json files counted by our engine (`hf_bpe`) must count exactly
//! what the `tokenizers` crate counts: on the shared multilingual and
//! adversarial texts (whole and chunked), on text with added-token text in
//! it, on text that NFC or NFKC changes, on random strings, and (ignored by default)
//! on megabytes of the real benchmark corpus.

use crate::common;

use crate::common::{corpus, count_chunked, installed_dir, load};
use tokenaudit::tokenize::hf;
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
    ("bert", 17),
    // Every split of a token is a merge (converted from tiktoken ranks).
    ("llama3-hf", 22),
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

/// Every named tokenizer.json is counted by one of our engines (files the
/// engines refuse are in `llama3_hf`: a changed Llama 3 file).
#[test]
fn eligible_files_use_the_engine() {
    for &(name, sample) in ENGINE {
        let Some(t) = load(name) else { continue };
        assert_eq!(t.info().family, hf::ENGINE_FAMILY, "{name}");
        assert_eq!(t.counter().count(common::SAMPLE), sample, "{name}");
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
        // WordPiece files: specials, accents, case that lowercases to two
        // characters, controls, ideographs, punctuation of other scripts,
        // and a word over the 100-character limit.
        "[CLS] Héllo, WORLD! [SEP] İstanbul ﬁ 中文字 \u{0}\u{FFFD}\t\u{200B}x\u{AD}y",
        "«quote» ¿qué? 「日本」 naïve café Ⅻ ǅ ß ẞ \u{1F600}",
        "supercalifragilisticexpialidocioussupercalifragilisticexpialidocioussupercalifragilisticexpialidociousx",
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
        let mut crate_t = tokenizers::Tokenizer::from_file(path).unwrap();
        // bert's file truncates and pads every input to 128 tokens.
        crate_t.with_truncation(None).unwrap();
        crate_t.with_padding(None);
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
        // A failed case must not poison the lock for the ones proptest
        // tries while shrinking (they would all fail, down to "").
        let mut pairs = pairs().lock().unwrap_or_else(|e| e.into_inner());
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
        for block in tokenaudit::tokenize::pretok::chunk::pieces(text, 64 << 10) {
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

/// The newer spelling of SentencePiece files: no normalizer, a `Metaspace`
/// pre-tokenizer. No named file uses it, so mistral-v1's vocabulary is
/// rewritten into each variant, and the engine must count what the crate
/// counts with the same rewritten file: whole, chunked, and on text that
/// starts with spaces or an added token.
#[test]
fn metaspace_variants_of_a_sentencepiece_file_are_exact() {
    let Some(dir) = installed_dir("mistral-v1") else {
        return;
    };
    let original: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("mistral-v1.json")).unwrap())
            .unwrap();
    let mut texts = corpus(300);
    for text in [
        " lead",
        "  two",
        "<s> after a special</s>x",
        "<s>hello",
        "a  b   c\n d",
        "\u{2581}mark and\u{2581}\u{2581}marks",
        "",
        " ",
    ] {
        texts.push(("spaces", text.to_string()));
    }
    // Random strings over parts where the variants differ (a fixed seed).
    let parts = [
        " ", "  ", "\u{2581}", "a", "the", "<s>", "</s>", "\n", "中", "🙂", "x y",
    ];
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..200 {
        let mut text = String::new();
        for _ in 0..(seed % 12) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            text.push_str(parts[(seed % parts.len() as u64) as usize]);
        }
        texts.push(("random", text));
    }
    let variants = [
        serde_json::json!({"type": "Metaspace", "replacement": "\u{2581}", "prepend_scheme": "first", "split": false}),
        serde_json::json!({"type": "Metaspace", "replacement": "\u{2581}", "prepend_scheme": "first", "split": true}),
        serde_json::json!({"type": "Metaspace", "replacement": "\u{2581}", "prepend_scheme": "always", "split": false}),
        serde_json::json!({"type": "Metaspace", "replacement": "\u{2581}", "prepend_scheme": "never", "split": true}),
        serde_json::json!({"type": "Metaspace", "replacement": "\u{2581}", "add_prefix_space": true}),
    ];
    for pre in variants {
        let mut file = original.clone();
        file["normalizer"] = serde_json::Value::Null;
        file["pre_tokenizer"] = pre.clone();
        let data = serde_json::to_vec(&file).unwrap();
        let info = tokenaudit::tokenize::TokenizerInfo {
            name: "metaspace".into(),
            family: String::new(),
            source: "test".into(),
            sha256: String::new(),
            vocab_size: 0,
        };
        let t = tokenaudit::tokenize::hf::build(info, &data, "metaspace.json").unwrap();
        assert_eq!(t.info().family, hf::ENGINE_FAMILY, "{pre}");
        let reference = tokenizers::Tokenizer::from_bytes(&data).unwrap();
        let mut c = t.counter();
        for (label, text) in &texts {
            let expected = reference.encode(text.as_str(), false).unwrap();
            let expected_ids = expected.get_ids();
            assert_eq!(
                c.count(text),
                expected_ids.len() as u64,
                "{pre} {label} {text:?}"
            );
            assert_eq!(t.encode(text), expected_ids, "{pre} {label} {text:?}");
            for target in [1, 40] {
                let chunked = count_chunked(&t, text, target).0;
                assert_eq!(chunked, expected_ids.len() as u64, "{pre} {label} chunked");
            }
        }
    }
}
