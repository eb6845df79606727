//! The start-up cache (`tokenize::compiled`): every named tokenizer whose file
//! is converted at run time gives the same ids, counts and provenance when
//! built from its cached tables as when converted from the file, and a
//! damaged, stale, foreign or outdated cache is never trusted.
//!
//! Each test writes its cache into a folder of its own, never into the
//! machine's tokenizer directory.

use std::fs;
use std::path::{Path, PathBuf};

use crate::common::{corpus, count_chunked, installed_dir};
use tokenaudit::tokenize::compiled::CompiledCache;
use tokenaudit::tokenize::sources::registry::{self, Family, Named};
use tokenaudit::tokenize::sources::startup::{CacheUse, Loaded};
use tokenaudit::tokenize::{SharedTokenizer, TokenizerDir, TokenizerError};

/// The named files converted at run time (rank files, tokenizer.json and
/// Tekken).
fn converted_names() -> Vec<&'static Named> {
    registry::NAMED
        .iter()
        .filter(|n| n.family != Family::Builtin)
        .collect()
}

fn with_cache(dir: &TokenizerDir, cache: &Path) -> TokenizerDir {
    dir.clone()
        .with_compiled_cache(CompiledCache::in_dirs(vec![cache.to_path_buf()]))
}

fn load(named: &Named, dir: &TokenizerDir) -> Loaded {
    registry::load_named_traced(named, dir).unwrap_or_else(|e| panic!("{}: {e}", named.name))
}

/// Same ids on every text, and the same counts whole and chunked.
fn assert_same(name: &str, converted: &SharedTokenizer, cached: &SharedTokenizer) {
    assert_eq!(converted.info(), cached.info(), "{name}: provenance");
    let (mut a, mut b) = (converted.counter(), cached.counter());
    for (label, text) in corpus(300) {
        assert_eq!(
            converted.encode(&text),
            cached.encode(&text),
            "{name}, {label}: ids"
        );
        assert_eq!(a.count(&text), b.count(&text), "{name}, {label}: count");
        assert_eq!(
            count_chunked(converted, &text, 40),
            count_chunked(cached, &text, 40),
            "{name}, {label}: chunked"
        );
    }
}

#[test]
fn every_converted_tokenizer_is_the_same_from_its_cache() {
    let tmp = tempfile::tempdir().unwrap();
    let mut checked = Vec::new();
    for named in converted_names() {
        let Some(dir) = installed_dir(named.name) else {
            continue;
        };
        let dir = with_cache(&dir, &tmp.path().join(named.name));
        let first = load(named, &dir);
        let written = match &first.cache {
            CacheUse::Written(path) => path.clone(),
            other => panic!("{}: first load {other:?}", named.name),
        };
        assert_eq!(
            written.file_name().unwrap().to_str().unwrap(),
            format!("{}.bin", named.sha256)
        );
        let second = load(named, &dir);
        assert_eq!(second.cache, CacheUse::Read(written), "{}", named.name);
        assert_eq!(second.sha256, named.sha256);
        assert_same(named.name, &first.tokenizer, &second.tokenizer);
        checked.push(named.name);
    }
    println!("checked from the cache: {checked:?}");
}

/// A copy of `bert`'s file (small) in a folder of its own, with its cache in
/// `compiled/` beside it; returns the folder and the named entry.
fn own_copy(tmp: &Path) -> Option<(TokenizerDir, &'static Named)> {
    let named = registry::named("bert").unwrap();
    let real = installed_dir("bert")?;
    fs::copy(real.file(named), tmp.join(named.file)).unwrap();
    let dir = TokenizerDir::new(tmp)
        .with_compiled_cache(CompiledCache::in_dirs(vec![tmp.join("compiled")]));
    Some((dir, named))
}

fn cache_file(tmp: &Path, named: &Named) -> PathBuf {
    tmp.join("compiled").join(format!("{}.bin", named.sha256))
}

#[test]
fn a_damaged_cache_is_rebuilt_not_trusted() {
    let tmp = tempfile::tempdir().unwrap();
    let Some((dir, named)) = own_copy(tmp.path()) else {
        return;
    };
    let reference = load(named, &dir);
    assert!(matches!(reference.cache, CacheUse::Written(_)));
    let path = cache_file(tmp.path(), named);
    let good = fs::read(&path).unwrap();
    let damaged: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("truncated", good[..good.len() / 2].to_vec()),
        ("one byte short", good[..good.len() - 1].to_vec()),
        ("flipped in the tables", {
            let mut d = good.clone();
            let at = d.len() * 3 / 4;
            d[at] ^= 0x01;
            d
        }),
        ("another format", {
            let mut d = good.clone();
            d[8] ^= 0xff;
            d
        }),
        ("not a cache", b"{\"model\": {}}".to_vec()),
    ];
    for (what, bytes) in damaged {
        fs::write(&path, &bytes).unwrap();
        let loaded = load(named, &dir);
        assert!(
            matches!(loaded.cache, CacheUse::Written(_)),
            "{what}: {:?}",
            loaded.cache
        );
        assert_same(what, &reference.tokenizer, &loaded.tokenizer);
        // And rewritten whole.
        assert_eq!(
            load(named, &dir).cache,
            CacheUse::Read(path.clone()),
            "{what}"
        );
    }
}

#[test]
fn a_cache_made_from_another_file_is_not_used() {
    let tmp = tempfile::tempdir().unwrap();
    let Some((dir, named)) = own_copy(tmp.path()) else {
        return;
    };
    let Some(mistral) = installed_dir("mistral-v1") else {
        return;
    };
    // mistral-v1's tables, cached under bert's sha256.
    let other = registry::named("mistral-v1").unwrap();
    let cache = tmp.path().join("other");
    let written = load(other, &with_cache(&mistral, &cache));
    let CacheUse::Written(other_file) = written.cache else {
        panic!("{:?}", written.cache)
    };
    fs::create_dir_all(tmp.path().join("compiled")).unwrap();
    fs::copy(other_file, cache_file(tmp.path(), named)).unwrap();
    let loaded = load(named, &dir);
    assert!(
        matches!(loaded.cache, CacheUse::Written(_)),
        "{:?}",
        loaded.cache
    );
    assert_eq!(loaded.tokenizer.info().vocab_size, named.vocab_size);
}

#[test]
fn a_changed_file_is_hashed_again_and_a_different_one_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let Some((dir, named)) = own_copy(tmp.path()) else {
        return;
    };
    let file = dir.file(named);
    assert!(matches!(load(named, &dir).cache, CacheUse::Written(_)));
    // Same content, new metadata (a copy over itself): hashed, still the
    // registry's file, so the cache is used and recorded with the new metadata.
    let content = fs::read(&file).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    fs::write(&file, &content).unwrap();
    let again = load(named, &dir);
    assert!(
        matches!(again.cache, CacheUse::Read(_)),
        "{:?}",
        again.cache
    );
    assert_eq!(load(named, &dir).cache, again.cache);
    // Different content (same length): a checksum error, cache or not.
    let mut changed = content.clone();
    let at = changed.len() / 2;
    changed[at] = if changed[at] == b'a' { b'b' } else { b'a' };
    fs::write(&file, &changed).unwrap();
    match registry::load_named_traced(named, &dir) {
        Err(TokenizerError::Checksum { expected, .. }) => assert_eq!(expected, named.sha256),
        Err(e) => panic!("{e}"),
        Ok(l) => panic!("loaded a changed file ({:?})", l.cache),
    }
}

#[test]
fn a_cache_that_cannot_be_written_costs_nothing_but_time() {
    let tmp = tempfile::tempdir().unwrap();
    let Some((dir, named)) = own_copy(tmp.path()) else {
        return;
    };
    // A file where the cache folder should be.
    let blocked = tmp.path().join("blocked");
    fs::write(&blocked, b"").unwrap();
    let dir = dir.with_compiled_cache(CompiledCache::in_dirs(vec![blocked.join("compiled")]));
    let first = load(named, &dir);
    assert!(
        matches!(first.cache, CacheUse::NotWritten(_)),
        "{:?}",
        first.cache
    );
    let off = dir.with_compiled_cache(CompiledCache::disabled());
    let converted = load(named, &off);
    assert_eq!(converted.cache, CacheUse::Off);
    assert_same("unwritable", &converted.tokenizer, &first.tokenizer);
}

#[test]
fn a_file_given_by_path_is_cached_by_its_sha256() {
    let tmp = tempfile::tempdir().unwrap();
    let Some((dir, named)) = own_copy(tmp.path()) else {
        return;
    };
    let spec = dir.file(named).display().to_string();
    let first = tokenaudit::tokenize::resolve(&spec, &dir, None).unwrap();
    assert!(cache_file(tmp.path(), named).is_file());
    let second = tokenaudit::tokenize::resolve(&spec, &dir, None).unwrap();
    assert_eq!(second.info().sha256, named.sha256);
    assert_same("by path", &first, &second);
}

/// `name`'s file copied into `tmp`, and two tokenizer directories there: one
/// with its cache in `tmp/compiled`, one with the cache off.
fn copied_with_and_without_cache(
    tmp: &Path,
    name: &str,
) -> Option<(PathBuf, TokenizerDir, TokenizerDir)> {
    let named = registry::named(name).unwrap();
    let real = installed_dir(name)?;
    let file = tmp.join(named.file);
    fs::copy(real.file(named), &file).unwrap();
    let cached = TokenizerDir::new(tmp)
        .with_compiled_cache(CompiledCache::in_dirs(vec![tmp.join("compiled")]));
    let uncached = TokenizerDir::new(tmp).with_compiled_cache(CompiledCache::disabled());
    Some((file, cached, uncached))
}

/// A rank file's entry holds the split pattern it was loaded with: the same
/// file loaded with another pattern must count with that pattern, not with
/// the cached one.
#[test]
fn a_rank_file_entry_is_used_only_with_its_pattern() {
    let tmp = tempfile::tempdir().unwrap();
    let named = registry::named("llama3").unwrap();
    let Some((file, cached, uncached)) = copied_with_and_without_cache(tmp.path(), "llama3") else {
        return;
    };
    let spec = format!("tiktoken:{}", file.display());
    // Digits: Llama 3's pattern takes them three at a time, `\S+` whole.
    let text = "1234567 7654321 12345678901234567890";
    let count = |dir: &TokenizerDir, pattern: &str| {
        let t = tokenaudit::tokenize::resolve(&spec, dir, Some(pattern)).unwrap();
        t.counter().count(text)
    };
    let llama = count(&cached, "llama3");
    assert!(cache_file(tmp.path(), named).is_file());
    let whole = count(&cached, r"\S+|\s+");
    assert_eq!(whole, count(&uncached, r"\S+|\s+"));
    assert_ne!(
        whole, llama,
        "the two patterns must count this text differently"
    );
    assert_eq!(count(&cached, "llama3"), llama);
}

/// An entry is keyed by the file's content: the same Tekken file given as
/// `tekken:F` and then as `F` (read as tokenizer.json) must load the second
/// time as it would with no cache, not from the Tekken entry.
#[test]
fn an_entry_converted_for_another_family_is_not_used() {
    let tmp = tempfile::tempdir().unwrap();
    let named = registry::named("mistral-tekken").unwrap();
    let Some((file, cached, uncached)) =
        copied_with_and_without_cache(tmp.path(), "mistral-tekken")
    else {
        return;
    };
    let path = file.display().to_string();
    let tekken = tokenaudit::tokenize::resolve(&format!("tekken:{path}"), &cached, None).unwrap();
    assert_eq!(tekken.info().family, "tekken");
    assert!(cache_file(tmp.path(), named).is_file());
    let family = |dir: &TokenizerDir| {
        tokenaudit::tokenize::resolve(&path, dir, None)
            .map(|t| t.info().family.clone())
            .map_err(|e| e.to_string())
    };
    assert_eq!(family(&cached), family(&uncached));
}
