//! `llama3-hf`, a tokenizer.json converted from Meta's tiktoken ranks with
//! every split of every token as a merge, is counted by our engine
//! (`hf::byte_level`'s second route, ties between splits of one token broken
//! by the parts' ids, as the crate's merge list orders them): its ids equal
//! the `tokenizers` crate's on varied text and on the inputs where two
//! splits of one token could meet, and a file whose merges are not exactly
//! every split in the converter's order goes back to the crate.

use std::collections::HashMap;

use base64::Engine as _;

use crate::common::{corpus, installed_dir, load};
use tokenaudit::tokenize::compiled::CompiledCache;
use tokenaudit::tokenize::hf;
use tokenaudit::tokenize::sources::registry;
use tokenaudit::tokenize::sources::startup::CacheUse;
use tokenaudit::tokenize::{self, TokenizerDir};

/// The file's bytes and the crate's tokenizer of it.
fn reference() -> Option<(Vec<u8>, tokenizers::Tokenizer)> {
    let dir = installed_dir("llama3-hf")?;
    let data = std::fs::read(dir.file(registry::named("llama3-hf").unwrap())).unwrap();
    let t = tokenizers::Tokenizer::from_bytes(&data).unwrap();
    Some((data, t))
}

fn crate_ids(t: &tokenizers::Tokenizer, text: &str) -> Vec<u32> {
    t.encode(text, false).unwrap().get_ids().to_vec()
}

/// Llama 3's tokens by rank, from the rank file (its ranks are the
/// tokenizer.json's ids).
fn tiktoken_tokens() -> Option<HashMap<Vec<u8>, u32>> {
    let dir = installed_dir("llama3")?;
    let text = std::fs::read_to_string(dir.file(registry::named("llama3").unwrap())).unwrap();
    let b64 = base64::engine::general_purpose::STANDARD;
    Some(
        text.lines()
            .filter(|l| !l.is_empty())
            .map(|l| {
                let (token, rank) = l.split_once(' ').unwrap();
                (b64.decode(token).unwrap(), rank.parse().unwrap())
            })
            .collect(),
    )
}

/// Inputs where two splits of one token can be candidates side by side:
/// for every token `T` with a border `y` (a prefix that is also a suffix)
/// such that `x = T - y` (the rest before the suffix), `y` and `z = T - y`
/// (the rest after the prefix) are tokens, the text `x y z` (`[x][y][z]`
/// has both `x y` and `y z` joining into `T`), alone, after a space, and
/// twice. Only those that are UTF-8.
fn border_texts(tokens: &HashMap<Vec<u8>, u32>) -> Vec<String> {
    let mut out = Vec::new();
    for t in tokens.keys() {
        for k in 1..t.len() {
            let (y, x, z) = (&t[t.len() - k..], &t[..t.len() - k], &t[k..]);
            if t[..k] != *y || !tokens.contains_key(x) || !tokens.contains_key(y) {
                continue;
            }
            if !tokens.contains_key(z) {
                continue;
            }
            let Ok(text) = String::from_utf8([x, y, z].concat()) else {
                continue;
            };
            out.push(format!(" {text}"));
            out.push(text.repeat(2));
            out.push(text);
        }
    }
    out.sort();
    out
}

#[test]
fn counted_by_the_engine_and_cached() {
    let Some(dir) = installed_dir("llama3-hf") else {
        return;
    };
    let named = registry::named("llama3-hf").unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = dir.with_compiled_cache(CompiledCache::in_dirs(vec![tmp.path().to_path_buf()]));
    let first = registry::load_named_traced(named, &dir).unwrap();
    assert_eq!(first.tokenizer.info().family, hf::ENGINE_FAMILY);
    let CacheUse::Written(path) = first.cache else {
        panic!("first load: {:?}", first.cache);
    };
    let second = registry::load_named_traced(named, &dir).unwrap();
    assert_eq!(second.cache, CacheUse::Read(path));
    assert_eq!(second.tokenizer.info().family, hf::ENGINE_FAMILY);
}

#[test]
fn ids_equal_the_crate_on_varied_text() {
    let (Some((_, reference)), Some(t)) = (reference(), load("llama3-hf")) else {
        return;
    };
    let mut texts: Vec<(String, String)> = corpus(2_000)
        .into_iter()
        .map(|(label, text)| (label.to_string(), text))
        .collect();
    for (name, text) in [
        ("README", include_str!("../../README.md")),
        ("BENCHMARKS", include_str!("../../BENCHMARKS.md")),
        ("bpe source", include_str!("../../src/tokenize/bpe/mod.rs")),
    ] {
        texts.push((name.to_string(), text.to_string()));
    }
    // Runs of one character (long pieces, the linked merge and the cut).
    for c in [" ", "a", "=", "-", "\n", "0", "é", "中", "🙂", "ab", "aba"] {
        for n in [2, 3, 5, 17, 64, 65, 300] {
            texts.push((format!("{c:?} x {n}"), c.repeat(n)));
        }
    }
    let mut counter = t.counter();
    for (label, text) in &texts {
        let expected = crate_ids(&reference, text);
        assert_eq!(t.encode(text), expected, "{label}");
        assert_eq!(counter.count(text), expected.len() as u64, "{label}");
    }
}

/// The texts where two splits of one token could meet are merged as the
/// crate merges them, and (from single bytes both tie-breaks agree: the
/// lemma in `hf::byte_level`) as the rank file `llama3` merges them with
/// tiktoken's leftmost-first rule.
#[test]
fn ids_equal_the_crate_where_splits_of_one_token_meet() {
    let (Some((_, reference)), Some(t), Some(tiktoken), Some(tokens)) = (
        reference(),
        load("llama3-hf"),
        load("llama3"),
        tiktoken_tokens(),
    ) else {
        return;
    };
    let texts = border_texts(&tokens);
    // 6257 (T, y) pairs in Llama 3; most are UTF-8.
    assert!(texts.len() > 9_000, "{} texts", texts.len());
    let mut counter = t.counter();
    for text in &texts {
        let expected = crate_ids(&reference, text);
        assert_eq!(t.encode(text), expected, "{text:?}");
        assert_eq!(counter.count(text), expected.len() as u64, "{text:?}");
        assert_eq!(tiktoken.encode(text), expected, "{text:?}");
    }
}

/// Each change the route must notice, on the real file: the converted
/// tables are refused (the crate counts the file, and its counts stand).
#[test]
fn a_file_with_one_merge_moved_is_refused() {
    let Some((data, _)) = reference() else {
        return;
    };
    let file: serde_json::Value = serde_json::from_slice(&data).unwrap();
    assert!(hf::byte_level::convert(&data).is_ok());
    type Change = fn(&mut serde_json::Value);
    let changes: [(&str, Change); 4] = [
        // Merges 1..=3 are the three splits of `ĠĠĠĠ` (four spaces).
        ("two splits of one token swapped", |f| {
            f["model"]["merges"].as_array_mut().unwrap().swap(1, 2)
        }),
        ("a split moved to the end", |f| {
            let merges = f["model"]["merges"].as_array_mut().unwrap();
            let m = merges.remove(3);
            merges.push(m);
        }),
        ("a split left out", |f| {
            f["model"]["merges"].as_array_mut().unwrap().remove(2000);
        }),
        ("ignore_merges off", |f| {
            f["model"]["ignore_merges"] = false.into()
        }),
    ];
    let tmp = tempfile::tempdir().unwrap();
    for (i, (what, change)) in changes.into_iter().enumerate() {
        let mut changed = file.clone();
        change(&mut changed);
        let bytes = serde_json::to_vec(&changed).unwrap();
        let why = hf::byte_level::convert(&bytes).err();
        let why = why.unwrap_or_else(|| panic!("{what}: accepted"));
        assert!(why.contains("not every split"), "{what}: {why}");
        if i == 1 {
            // Loaded: the crate counts it, with its own answer.
            let path = tmp.path().join("moved.json");
            std::fs::write(&path, &bytes).unwrap();
            let dir = TokenizerDir::new(tmp.path()).with_compiled_cache(CompiledCache::disabled());
            let t = tokenize::resolve(path.to_str().unwrap(), &dir, None).unwrap();
            assert_eq!(t.info().family, "huggingface", "{what}");
            let text = &corpus(200)[3].1;
            let moved = tokenizers::Tokenizer::from_bytes(&bytes).unwrap();
            assert_eq!(t.encode(text), crate_ids(&moved, text), "{what}");
        }
    }
}
