//! The named tokenizers against their real files: counts of a fixed sentence,
//! vocabulary sizes, the other spec forms, and the errors for missing and
//! corrupted files. Tests that need a fetched file skip (with a message) when
//! the tokenizer directory lacks it; `.ci/run` fetches them first.

use crate::common;

use crate::common::{installed_dir, load, SAMPLE};
use tokenaudit::tokenize::sources::registry::{self, Family};
use tokenaudit::tokenize::{self, TokenizerDir, TokenizerError};

/// Counts of [`SAMPLE`], from the reference implementations (README.md, "Tokenizers":
/// Python tiktoken/tokenizers and the Rust crates agreed on each).
const EXPECTED: &[(&str, u64)] = &[
    ("o200k_base", 20),
    ("cl100k_base", 24),
    ("p50k_base", 25),
    ("r50k_base", 25),
    ("llama3", 22),
    ("llama4", 22),
    ("qwen2", 26),
    ("qwen3.5", 24),
    ("mistral-tekken", 24),
    ("mistral-v1", 29),
    ("deepseek-v3", 22),
    ("deepseek-v4", 22),
    ("gemma3", 26),
    ("claude-legacy", 22),
    ("bert", 17),
    ("llama3-hf", 22),
];

#[test]
fn sample_sentence_counts_match_the_references() {
    for &(name, expected) in EXPECTED {
        let Some(t) = load(name) else { continue };
        let got = t.counter().count(SAMPLE);
        println!("{name}: {got}");
        assert_eq!(got, expected, "{name}");
    }
}

/// qwen3 has no published figure: check it against the tokenizers crate
/// directly, with padding and truncation off.
#[test]
fn qwen3_matches_the_tokenizers_crate() {
    let Some(dir) = installed_dir("qwen3") else {
        return;
    };
    let Some(t) = load("qwen3") else { return };
    let path = dir.file(registry::named("qwen3").unwrap());
    let mut reference = tokenizers::Tokenizer::from_file(&path).unwrap();
    reference.with_padding(None);
    reference.with_truncation(None).unwrap();
    let expected = reference.encode(SAMPLE, false).unwrap().len() as u64;
    let got = t.counter().count(SAMPLE);
    println!("qwen3: {got}");
    assert_eq!(got, expected);
    assert_eq!(got, 26);
}

#[test]
fn vocabulary_sizes_match_the_table() {
    for named in registry::NAMED {
        let Some(t) = load(named.name) else { continue };
        let info = t.info();
        assert_eq!(info.vocab_size, named.vocab_size, "{}", named.name);
        if named.family != Family::Builtin {
            // A tokenizer.json counted by our engine says so.
            let engine = named.family == Family::Huggingface
                && info.family == tokenaudit::tokenize::hf::ENGINE_FAMILY;
            if !engine {
                assert_eq!(info.family, named.family.as_str(), "{}", named.name);
            }
            assert_eq!(info.sha256, named.sha256, "{}", named.name);
            assert!(info.source.contains(named.package), "{}", info.source);
        }
    }
}

#[test]
fn bert_padding_and_truncation_are_off() {
    let Some(t) = load("bert") else { return };
    let long = common::ENGLISH.repeat(20);
    let n = t.counter().count(&long);
    assert!(n > 128 * 4, "bert counted {n} tokens of a long text");
    assert_eq!(t.counter().count("hello world"), 2);
}

#[test]
fn missing_file_names_the_fetch_command() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = TokenizerDir::new(tmp.path());
    for name in common::file_names() {
        let err = tokenize::resolve(name, &dir, None)
            .err()
            .expect("no file, no tokenizer");
        let TokenizerError::NotInstalled { ref fetch, .. } = err else {
            panic!("{name}: {err}")
        };
        let message = err.to_string();
        assert!(fetch.starts_with("scripts/fetch-tokenizers"), "{fetch}");
        assert!(fetch.ends_with(&format!(" {name}")), "{fetch}");
        assert!(message.contains(fetch.as_str()), "{message}");
        assert!(
            message.contains(&tmp.path().display().to_string()),
            "{message}"
        );
    }
    // Built-ins need no file.
    assert!(tokenize::resolve("o200k_base", &dir, None).is_ok());
}

fn assert_checksum_error(err: TokenizerError, expected: &str, path: &std::path::Path) {
    let message = err.to_string();
    let TokenizerError::Checksum {
        expected: e,
        actual,
        path: p,
    } = err
    else {
        panic!("expected a checksum error, got {message}")
    };
    assert_eq!(e, expected);
    assert_eq!(actual.len(), 64);
    assert_ne!(actual, expected);
    assert_eq!(p, path.display().to_string());
    assert!(
        message.contains(&e) && message.contains(&actual),
        "{message}"
    );
}

#[test]
fn a_file_with_other_content_is_a_checksum_error() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = TokenizerDir::new(tmp.path());
    let named = registry::named("llama3").unwrap();
    std::fs::write(dir.file(named), "SGVsbG8= 0\n").unwrap();
    let err = tokenize::resolve("llama3", &dir, None).err().unwrap();
    assert_checksum_error(err, named.sha256, &dir.file(named));
}

#[test]
fn a_corrupted_fetched_file_is_a_checksum_error() {
    let Some(real) = installed_dir("bert") else {
        return;
    };
    let named = registry::named("bert").unwrap();
    let mut data = std::fs::read(real.file(named)).unwrap();
    let middle = data.len() / 2;
    data[middle] ^= 0x01;
    let tmp = tempfile::tempdir().unwrap();
    let dir = TokenizerDir::new(tmp.path());
    std::fs::write(dir.file(named), data).unwrap();
    let err = tokenize::resolve("bert", &dir, None).err().unwrap();
    assert_checksum_error(err, named.sha256, &dir.file(named));
}

#[test]
fn unknown_names_list_the_valid_ones() {
    let dir = TokenizerDir::new("/nonexistent");
    let err = tokenize::resolve("llama9", &dir, None).err().unwrap();
    let message = err.to_string();
    assert!(matches!(err, TokenizerError::Unknown { .. }), "{message}");
    for named in registry::NAMED {
        assert!(message.contains(named.name), "{message}");
    }
}

#[test]
fn the_other_spec_forms_load_the_same_vocabularies() {
    let Some(dir) = installed_dir("qwen2") else {
        return;
    };
    let file = |name: &str| {
        dir.file(registry::named(name).unwrap())
            .display()
            .to_string()
    };

    let by_name = load("qwen2").unwrap().counter().count(SAMPLE);
    let spec = format!("tiktoken:{}", file("qwen2"));
    let by_path = tokenize::resolve(&spec, &dir, Some("qwen2")).unwrap();
    assert_eq!(by_path.counter().count(SAMPLE), by_name);
    assert_eq!(by_path.info().name, spec);
    // A regex works as well as a name.
    let by_regex = tokenize::resolve(&spec, &dir, Some(tokenize::pretok::patterns::QWEN2)).unwrap();
    assert_eq!(by_regex.counter().count(SAMPLE), by_name);
    // A rank file without a pattern is refused, naming the option.
    let err = tokenize::resolve(&spec, &dir, None)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("--pattern"), "{err}");
    // A pattern with anything but tiktoken: is refused.
    assert!(tokenize::resolve("qwen2", &dir, Some("qwen2")).is_err());

    if installed_dir("mistral-tekken").is_some() {
        let t =
            tokenize::resolve(&format!("tekken:{}", file("mistral-tekken")), &dir, None).unwrap();
        assert_eq!(t.counter().count(SAMPLE), 24);
        assert_eq!(t.info().family, "tekken");
    }
    if installed_dir("deepseek-v3").is_some() {
        let t = tokenize::resolve(&file("deepseek-v3"), &dir, None).unwrap();
        assert_eq!(t.counter().count(SAMPLE), 22);
        assert_eq!(
            t.info().sha256,
            registry::named("deepseek-v3").unwrap().sha256
        );
    }
    let err = tokenize::resolve("no/such/tokenizer.json", &dir, None)
        .err()
        .unwrap();
    assert!(
        err.to_string()
            .starts_with("no/such/tokenizer.json: cannot read"),
        "{err}"
    );
}

#[test]
fn listing_reports_what_is_installed() {
    let tmp = tempfile::tempdir().unwrap();
    let empty = tokenize::list(&TokenizerDir::new(tmp.path()));
    assert_eq!(empty.len(), registry::NAMED.len());
    for row in &empty {
        let builtin = row.family == Family::Builtin;
        assert_eq!(row.installed, builtin, "{}", row.name);
        assert_eq!(row.fetch.is_some(), !builtin, "{}", row.name);
    }
    let table = tokenize::render_table(&empty);
    assert!(
        table.contains("llama3") && table.contains("not installed"),
        "{table}"
    );
    let json = serde_json::to_value(&empty).unwrap();
    assert_eq!(json[0]["name"], "o200k_base");
    assert_eq!(json[4]["family"], "tiktoken");

    let dir = TokenizerDir::locate(None);
    let all_there = common::file_names()
        .iter()
        .all(|n| installed_dir(n).is_some());
    if all_there {
        let rows = tokenize::list(&dir);
        assert!(rows.iter().all(|r| r.installed), "{rows:?}");
        println!("{}", tokenize::render_table(&rows));
    }
}
