//! Cutting a document into pieces must never change its count: for every
//! tokenizer, the sum over pieces cut by `chunk::pieces` equals the count of
//! the whole text, on multilingual text and on text built to stress the cut
//! rule (every kind of line ending, whitespace, emoji, marks, digits next to
//! the cuts).

use crate::common;

use tokenaudit::tokenize::chunk;
use tokenaudit::tokenize::sources::registry;

/// A small deterministic generator, so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

const FRAGMENTS: &[&str] = &[
    "word",
    "Word",
    "WORD",
    " ",
    "  ",
    "\t",
    "\n",
    "\r\n",
    "\r",
    "\n\n",
    " \n",
    "\n ",
    "'s",
    "'S",
    "'ll",
    "'re",
    "don't",
    "123",
    "4567",
    "1,000.50",
    "!",
    "?!",
    "...",
    "/",
    "//",
    "===",
    "👩‍👩‍👧",
    "🙂",
    "🇩🇪",
    "e\u{301}",
    "\u{301}",
    "ñ",
    "Ünïcödé",
    "你好",
    "世界",
    "こんにちは",
    "カタカナ",
    "한국어",
    "привет",
    "Мир",
    "مرحبا",
    "سلام",
    "हिन्दी",
    "\u{a0}",
    "\u{3000}",
    "\u{200b}",
    "<|endoftext|>",
    "{\"k\": [1, 2]}",
    "fn main() {}",
    "    indented",
    "\u{0}",
    "\u{7f}",
];

fn adversarial(seed: u64, lines: usize) -> String {
    let mut rng = Rng(seed);
    let mut out = String::new();
    for _ in 0..lines {
        let n = 1 + rng.next() % 8;
        for _ in 0..n {
            out.push_str(rng.pick(FRAGMENTS));
        }
        out.push_str(rng.pick(&["\n", "\n", "\r\n", "\n\n", " \n"]));
        // Lines starting with a letter are where cuts happen.
        out.push_str(rng.pick(&["A", "z", "你", "ア", "한", "Ж", "", " ", "1", "\u{301}"]));
    }
    out
}

fn multilingual() -> String {
    let mut text = String::new();
    for entry in walk("fixtures/corpus") {
        text.push_str(&std::fs::read_to_string(entry).unwrap());
        text.push('\n');
    }
    text
}

fn walk(dir: &str) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(p.to_str().unwrap()));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// Every named tokenizer whose file is installed (all of them in CI, where
/// `scripts/test` fetches them first), built-ins included.
fn installed() -> Vec<&'static str> {
    registry::NAMED
        .iter()
        .map(|n| n.name)
        .filter(|n| common::installed_dir(n).is_some())
        .collect()
}

fn assert_chunking_exact(name: &str, text: &str, target: usize) {
    let tok = common::load(name).unwrap();
    let mut counter = tok.counter();
    let whole = counter.count(text);
    let pieces = chunk::pieces(text, target);
    assert_eq!(pieces.concat(), text);
    let mut sum = 0;
    for (i, p) in pieces.iter().enumerate() {
        sum += if i == 0 {
            counter.count(p)
        } else {
            counter.count_continuation(p)
        };
    }
    assert_eq!(
        sum,
        whole,
        "{name}: {} pieces of target {target}",
        pieces.len()
    );
}

#[test]
fn chunked_equals_whole_for_every_tokenizer() {
    let real = multilingual();
    for name in installed() {
        for target in [1, 64, 1000] {
            assert_chunking_exact(name, &real, target);
        }
        for seed in 1..=8 {
            let text = adversarial(seed, 300);
            assert!(
                chunk::pieces(&text, 16).len() > 20,
                "the generator makes cuts"
            );
            assert_chunking_exact(name, &text, 16);
        }
    }
}

#[test]
fn long_runs_have_no_cut_and_count_whole() {
    // Nothing to cut in one long line: a single piece.
    let run = "a".repeat(20_000);
    assert_eq!(chunk::pieces(&run, 64).len(), 1);
    let spaces = format!("x{}\ny", " ".repeat(5_000));
    for name in installed() {
        assert_chunking_exact(name, &spaces, 8);
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]
    /// Cut at the exact-safe boundaries, any Unicode text counts the same
    /// in pieces as whole, for every tokenizer.
    #[test]
    fn chunked_equals_whole_for_arbitrary_unicode_and_every_tokenizer(
        text in proptest::prop_oneof![
            proptest::prelude::any::<String>(),
            "(\\PC|[ \\t\\n\\r]){0,300}",
            "([a-zA-Z0-9 ]|\\n\\n|'s|'LL| {2,5}|\\p{Han}|\\p{Arabic}|\\p{Thai}|\\p{Hangul}){0,300}",
        ],
        target in 1usize..48,
    ) {
        for name in installed() {
            assert_chunking_exact(name, &text, target);
        }
    }
}
