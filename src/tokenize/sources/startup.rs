/*!
Loading a vocabulary file through the start-up cache (`tokenize::compiled`):
the cached engine tables when they are provably from this file, else the
file converted as always, and its tables cached for the next run.

Every file converted at run time is cached: tokenizer.json files our
engines count (every named one), Tekken's JSON, and rank files (`.tiktoken`:
decoding 128–250 k base64 lines and placing them took Llama 3's and Qwen
3.5's 26–55 ms of start-up, against ~2.5 ms for a built-in encoding read in
place). A file the `tokenizers` crate counts has no recipe: the crate builds
its own structures from the JSON. A rank file's recipe holds the split
pattern it was loaded with, and is only used for a load with the same one
(`tiktoken:F --pattern` may name another for the same file).
*/

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::tokenize::compiled::{CompiledCache, Entry, Fingerprint};
use crate::tokenize::hf;
use crate::tokenize::sources::ranked;
use crate::tokenize::{SharedTokenizer, TokenizerError, TokenizerInfo};

/// A vocabulary file's engine tables, as the cache keeps them.
#[derive(Serialize, Deserialize)]
pub enum Recipe {
    Hf(hf::Recipe),
    Ranked(ranked::Recipe),
}

impl Recipe {
    fn build(self, info: TokenizerInfo) -> Result<SharedTokenizer, String> {
        match self {
            Recipe::Hf(r) => r.build(info),
            Recipe::Ranked(r) => ranked::from_recipe(info, &r),
        }
    }
}

/// How a load went through the cache.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CacheUse {
    /// Built from this cache file, without converting the vocabulary file.
    Read(PathBuf),
    /// Converted, and the tables written to this cache file.
    Written(PathBuf),
    /// Converted; the tables could not be written (why).
    NotWritten(String),
    /// Converted; this file has no tables to cache (the `tokenizers` crate
    /// counts it), or it is built in.
    NotCacheable,
    /// Converted; the cache is off (`TOKENAUDIT_NO_COMPILED_CACHE`).
    Off,
}

/// A tokenizer and how it was loaded.
pub struct Loaded {
    pub tokenizer: SharedTokenizer,
    pub cache: CacheUse,
    /// The file's sha256 (from the cache's record when the file was not read).
    pub sha256: String,
}

/// Converts a file's bytes into a tokenizer; with `true`, also the recipe
/// to cache (when the file has one).
pub type Convert<'a> = dyn FnOnce(&[u8], TokenizerInfo, bool) -> Result<(SharedTokenizer, Option<Recipe>), TokenizerError>
    + 'a;

/// Loads `path` through `cache`. `info` has everything but the sha256 (and
/// the family and vocabulary size, which the engine sets). With `expected`
/// (a named file's registry sha256), a file whose metadata is unchanged since
/// its tables were cached is not read at all; a file that is read and
/// hashes otherwise is [`TokenizerError::Checksum`].
pub fn load(
    cache: &CompiledCache,
    path: &Path,
    info: TokenizerInfo,
    expected: Option<&str>,
    pattern: Option<&str>,
    convert: Box<Convert<'_>>,
) -> Result<Loaded, TokenizerError> {
    let with_sha = |sha: &str| TokenizerInfo {
        sha256: sha.to_string(),
        ..info.clone()
    };
    // Taken before the file is read: if it changes in between, the record
    // is older than the content, and the next run hashes it again.
    let fingerprint = Fingerprint::of(path);
    let mut known = None;
    if let Some(sha) = expected {
        if let Some(entry) = cache.read(sha) {
            if entry.vouches_for(fingerprint.as_ref()) {
                if let Some(tokenizer) = from_entry(&entry, with_sha(sha), pattern) {
                    return Ok(Loaded {
                        tokenizer,
                        cache: CacheUse::Read(entry.path),
                        sha256: sha.to_string(),
                    });
                }
            } else {
                known = Some(entry);
            }
        }
    }
    let data = std::fs::read(path).map_err(|e| TokenizerError::Invalid {
        path: path.display().to_string(),
        message: format!("cannot read the tokenizer file: {e}"),
    })?;
    let actual = super::registry::sha256_hex(&data);
    if let Some(sha) = expected.filter(|&sha| sha != actual) {
        return Err(TokenizerError::Checksum {
            path: path.display().to_string(),
            expected: sha.to_string(),
            actual,
        });
    }
    // The content is now proven: an entry made from it may be used, and is
    // written again with the file's new metadata.
    let entry = known.or_else(|| cache.read(&actual));
    if let Some(entry) = entry {
        if let Some(tokenizer) = from_entry(&entry, with_sha(&actual), pattern) {
            let cache_use = match cache.write(&actual, fingerprint.as_ref(), entry.payload()) {
                Ok(path) => CacheUse::Read(path),
                Err(_) => CacheUse::Read(entry.path),
            };
            return Ok(Loaded {
                tokenizer,
                cache: cache_use,
                sha256: actual,
            });
        }
    }
    let off = cache.dirs().is_empty();
    let (tokenizer, recipe) = convert(&data, with_sha(&actual), !off)?;
    let cache_use = match recipe {
        None if off => CacheUse::Off,
        None => CacheUse::NotCacheable,
        Some(recipe) => match postcard::to_stdvec(&recipe) {
            Err(e) => CacheUse::NotWritten(e.to_string()),
            Ok(bytes) => match cache.write(&actual, fingerprint.as_ref(), &bytes) {
                Ok(path) => CacheUse::Written(path),
                Err(e) => CacheUse::NotWritten(e),
            },
        },
    };
    Ok(Loaded {
        tokenizer,
        cache: cache_use,
        sha256: actual,
    })
}

/// The tokenizer an entry's recipe builds, or `None` if it does not decode
/// or build (the file is then converted, and the entry replaced). `pattern`
/// is the split pattern a rank file is loaded with.
fn from_entry(
    entry: &Entry,
    info: TokenizerInfo,
    pattern: Option<&str>,
) -> Option<SharedTokenizer> {
    let recipe: Recipe = postcard::from_bytes(entry.payload()).ok()?;
    // Entries are keyed by the file's content alone: one converted for the
    // other family (the same file given as `tekken:F` and as `F`), or a rank
    // file's with another split pattern, is not this load's, whose
    // conversion may differ or fail.
    let fits = match &recipe {
        Recipe::Hf(_) => info.family == "huggingface",
        Recipe::Ranked(r) => match info.family.as_str() {
            "tekken" => true,
            "tiktoken" => pattern == Some(r.pattern()),
            _ => false,
        },
    };
    if !fits {
        return None;
    }
    recipe.build(info).ok()
}
